#include "plumb/evaluator.hpp"

#include <algorithm>
#include <chrono>

#include "plumb/config/keyvalue.hpp"
#include "plumb/module_host.hpp"

namespace plumb {

std::string call_key(const Expr& call, const Rule& rule) {
    return call.module + "." + call.procedure + resolve_arguments(rule, call.args).dump();
}

std::vector<const Rule*> select_rules(const Baseline& baseline, const Selection& selection) {
    std::vector<const Rule*> out;
    for (const auto& rule : baseline.rules) {
        if (selection.rule_ids.empty() ? rule.selected : selection.rule_ids.contains(rule.id)) out.push_back(&rule);
    }
    return out;
}

namespace {

void collect_calls(const Expr& e, std::vector<const Expr*>& out) {
    if (e.kind == Expr::Kind::call)
        out.push_back(&e);
    else
        for (const auto& c : e.children) collect_calls(c, out);
}

// Why a rule does not apply to this system, or nullopt when it does.
std::optional<Reason> inapplicable(const Rule& rule, const Facts& facts) {
    if (rule.applicability.live_only && !facts.live)
        return Reason{"live_only", "rule checks the running system; not applicable to the offline root " + facts.root};
    const auto& distros = rule.applicability.distros;
    if (!distros.empty()) {
        auto matches = [&](const std::string& d) {
            return d == facts.os_id || std::find(facts.os_id_like.begin(), facts.os_id_like.end(), d) != facts.os_id_like.end();
        };
        if (std::none_of(distros.begin(), distros.end(), matches)) {
            std::string list;
            for (const auto& d : distros) list += (list.empty() ? "" : ", ") + d;
            return Reason{"distro_not_applicable", "rule applies to " + list + "; this system is " +
                                                       (facts.os_id.empty() ? std::string("unknown (no os-release)") : facts.os_id)};
        }
    }
    return std::nullopt;
}

// Two calls can explain themselves with the same words (state and not-masked of one unit): say it once.
void append(std::vector<Reason>& to, const std::vector<Reason>& from) {
    for (const auto& r : from)
        if (std::find(to.begin(), to.end(), r) == to.end()) to.push_back(r);
}

Outcome combine(const Expr& e, const Rule& rule, const Facts& facts) {
    switch (e.kind) {
        case Expr::Kind::call: {
            auto it = facts.calls.find(call_key(e, rule));
            if (it == facts.calls.end())
                return {Status::error, {{"not_gathered", e.module + "." + e.procedure + " was not run"}}};
            return it->second;
        }
        case Expr::Kind::not_: {
            Outcome inner = combine(e.children.at(0), rule, facts);
            if (inner.status == Status::pass) {
                inner.status = Status::fail;
                inner.reasons.insert(inner.reasons.begin(), {"negated", "expected the following not to hold"});
            } else if (inner.status == Status::fail) {
                inner.status = Status::pass;
            }
            return inner;
        }
        case Expr::Kind::all_of:
        case Expr::Kind::any_of: {
            std::vector<Outcome> parts;
            for (const auto& c : e.children) parts.push_back(combine(c, rule, facts));
            auto gather = [&](Status s) {
                Outcome o{s, {}};
                for (const auto& p : parts)
                    if (p.status == s) append(o.reasons, p.reasons);
                return o;
            };
            auto any = [&](Status s) { return std::any_of(parts.begin(), parts.end(), [&](const Outcome& p) { return p.status == s; }); };
            bool all_na = std::all_of(parts.begin(), parts.end(), [](const Outcome& p) { return p.status == Status::notapplicable; });
            if (all_na) return gather(Status::notapplicable);
            if (e.kind == Expr::Kind::all_of) {
                // Every part must hold: a failure is a definite answer even beside an error elsewhere.
                if (any(Status::fail)) return gather(Status::fail);
                if (any(Status::error)) return gather(Status::error);
                return gather(Status::pass);
            }
            if (any(Status::pass)) return gather(Status::pass);
            if (any(Status::error)) return gather(Status::error);
            return gather(Status::fail);
        }
    }
    return {Status::error, {{"internal", "unknown expression kind"}}};
}

const Waiver* active_waiver(const std::vector<Waiver>& waivers, const std::string& rule_id) {
    for (const auto& w : waivers)
        if (w.rule_id == rule_id) return &w;
    return nullptr;
}

}  // namespace

Facts gather_facts(const Baseline& baseline, const Selection& selection, RunContext& context) {
    Facts facts;
    facts.live = context.live();
    facts.root = context.root().path();
    for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
        auto text = context.read(path);
        if (!text) continue;
        auto kv = config::parse_key_value(*text, path, {.strip_quotes = true});
        if (const auto* id = kv.find("ID")) facts.os_id = id->value;
        if (const auto* like = kv.find("ID_LIKE")) {
            std::string_view v = like->value;
            while (!v.empty()) {
                auto sp = v.find(' ');
                if (sp != 0) facts.os_id_like.emplace_back(v.substr(0, sp));
                if (sp == std::string_view::npos) break;
                v.remove_prefix(sp + 1);
            }
        }
        break;
    }
    for (const Rule* rule : select_rules(baseline, selection)) {
        if (inapplicable(*rule, facts)) continue;
        std::vector<const Expr*> calls;
        collect_calls(rule->audit, calls);
        auto start = std::chrono::steady_clock::now();
        for (const Expr* call : calls) {
            std::string key = call_key(*call, *rule);
            if (facts.calls.contains(key)) continue;
            facts.calls.emplace(key, context.call(call->module, call->procedure, resolve_arguments(*rule, call->args)));
        }
        facts.rule_ms[rule->id] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    return facts;
}

std::vector<RuleResult> evaluate(const Baseline& baseline, const Selection& selection, const Facts& facts,
                                 const std::vector<Waiver>& waivers, const std::string& today) {
    std::vector<RuleResult> results;
    for (const Rule* rule : select_rules(baseline, selection)) {
        RuleResult r{rule, Status::error, {}, 0};
        if (auto why = inapplicable(*rule, facts)) {
            r.status = Status::notapplicable;
            r.reasons.push_back(*why);
        } else {
            Outcome o = combine(rule->audit, *rule, facts);
            r.status = o.status;
            r.reasons = std::move(o.reasons);
            if (auto it = facts.rule_ms.find(rule->id); it != facts.rule_ms.end()) r.duration_ms = it->second;
        }
        if (const Waiver* w = active_waiver(waivers, rule->id)) {
            if (today <= w->expires) {  // ISO dates compare as strings; the expiry day itself is still covered
                r.reasons.insert(r.reasons.begin(), {"waived", "waived until " + w->expires + ": " + w->justification +
                                                                   " (the check reports " + std::string(to_string(r.status)) + ")"});
                r.status = Status::waived;
            } else {
                r.reasons.push_back({"waiver_expired", "waiver expired on " + w->expires + ": " + w->justification});
            }
        }
        results.push_back(std::move(r));
    }
    return results;
}

}  // namespace plumb
