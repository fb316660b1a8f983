// plumb fix / history / rollback: audit, plan, apply in one transaction, verify, commit or roll back.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "cli.hpp"
#include "plumb/diff.hpp"
#include "plumb/evaluator.hpp"
#include "plumb/module_abi.h"
#include "plumb/report.hpp"
#include "plumb/transaction.hpp"
#include "plumb/unit_actions.hpp"

namespace plumb::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The calls that remediate a rule: its remediation expression, or else its audit expression. allOf remediates every
// part, anyOf its first alternative (the preferred fix); a negation has no remediation.
Result<std::vector<const Expr*>> remediation_calls(const Rule& rule) {
    std::vector<const Expr*> calls;
    std::function<Result<void>(const Expr&)> walk = [&](const Expr& e) -> Result<void> {
        switch (e.kind) {
            case Expr::Kind::call: calls.push_back(&e); return {};
            case Expr::Kind::all_of:
                for (const auto& c : e.children)
                    if (auto ok = walk(c); !ok) return ok;
                return {};
            case Expr::Kind::any_of: return walk(e.children.front());
            case Expr::Kind::not_: return fail_invalid("a negation (" + e.pointer + ") has no remediation");
        }
        return {};
    };
    if (auto ok = walk(rule.remediation ? *rule.remediation : rule.audit); !ok) return std::unexpected(ok.error());
    return calls;
}

struct RulePlan {
    enum class Kind { planned, nothing, none, error } kind = Kind::none;
    std::vector<Reason> reasons;
};

// Asks the modules for the changes every failing rule needs. Nothing is touched.
std::map<std::string, RulePlan> plan_rules(const std::vector<RuleResult>& results, RunContext& ctx, Plan& plan) {
    std::map<std::string, RulePlan> out;
    for (const auto& r : results) {
        if (r.status != Status::fail) continue;
        RulePlan rp;
        auto calls = remediation_calls(*r.rule);
        if (!calls) {
            rp.kind = RulePlan::Kind::none;
            rp.reasons.push_back({"no_remediation", calls.error().message});
            out[r.rule->id] = std::move(rp);
            continue;
        }
        bool planned = false, error = false, remediable = false;
        for (const Expr* call : *calls) {
            Outcome o = ctx.remediate(call->module, call->procedure, resolve_arguments(*r.rule, call->args), plan, r.rule->id);
            rp.reasons.insert(rp.reasons.end(), o.reasons.begin(), o.reasons.end());
            if (o.status == Status::fail) planned = remediable = true;
            if (o.status == Status::pass) remediable = true;
            if (o.status == Status::error) error = true;
        }
        rp.kind = error ? RulePlan::Kind::error : planned ? RulePlan::Kind::planned : remediable ? RulePlan::Kind::nothing : RulePlan::Kind::none;
        if (rp.kind == RulePlan::Kind::none) rp.reasons = {{"no_remediation", "no procedure of this rule can plan a fix"}};
        out[r.rule->id] = std::move(rp);
    }
    return out;
}

nlohmann::json plan_json(const Plan& plan, const std::map<std::string, std::string>& service_status) {
    nlohmann::json files = nlohmann::json::array(), services = nlohmann::json::array(), notices = nlohmann::json::array(),
                   live = nlohmann::json::array();
    bool reboot = false;
    for (const PlannedFile* f : plan.changed_files()) {
        std::string action = !f->original ? "create" : !f->content ? "remove" : "modify";
        files.push_back({{"path", f->path},
                         {"action", action},
                         {"diff", remediation::unified_diff(f->original ? &*f->original : nullptr, f->content ? &*f->content : nullptr, f->path)},
                         {"why", f->why},
                         {"rules", f->rules}});
    }
    for (const auto& s : plan.services) {
        auto st = service_status.find(s.unit + " " + s.action);
        services.push_back({{"unit", s.unit}, {"action", s.action}, {"why", s.why}, {"rules", s.rules},
                            {"status", st == service_status.end() ? "planned" : st->second}});
    }
    for (const auto& n : plan.notices) {
        reboot = reboot || n.kind == PLUMB_NOTICE_REBOOT_REQUIRED;
        notices.push_back({{"kind", n.kind}, {"phrase", n.phrase}, {"rule", n.rule}});
    }
    for (const auto& a : plan.live_actions)
        live.push_back({{"module", a.module}, {"name", a.name}, {"description", a.description}, {"rule", a.rule}});
    return {{"files", files}, {"services", services}, {"notices", notices}, {"live_actions", live}, {"reboot_required", reboot}};
}

// Service actions after files changed (or were restored): through systemd when it runs, otherwise reported.
std::map<std::string, std::string> run_services(const Plan& plan, bool live, std::vector<std::string>& problems) {
    std::map<std::string, std::string> status;
    std::string why;
    bool systemd = live && remediation::systemd_available(&why);
    for (const auto& s : plan.services) {
        const std::string key = s.unit + " " + s.action;
        if (!live) {
            status[key] = "required: offline root, do it when the image boots";
            continue;
        }
        if (!systemd) {
            status[key] = "required: " + why;
            continue;
        }
        auto ok = remediation::run_unit_actions({{s.unit, s.action}});
        status[key] = ok ? "done" : "failed: " + ok.error().message;
        if (!ok) problems.push_back(ok.error().message);
    }
    return status;
}

void recover(const SafeRoot& root) {
    auto journal = remediation::Journal::open(root);
    if (!journal) {
        std::fprintf(stderr, "plumb: warning: cannot open the transaction journal: %s\n", journal.error().message.c_str());
        return;
    }
    auto recovered = journal->recover();
    if (!recovered)
        std::fprintf(stderr, "plumb: warning: could not roll back an unfinished transaction: %s\n",
                     recovered.error().message.c_str());
    else
        for (const auto& id : *recovered) std::fprintf(stderr, "plumb: rolled back unfinished transaction %s\n", id.c_str());
}

int cmd_fix(const Options& o) {
    auto t0 = Clock::now();
    std::string started = utc_now("%Y-%m-%dT%H:%M:%SZ");
    auto opened = open_root(o, recover);  // also rolls back what a killed plumb left unfinished
    if (!opened) return tool_error(opened.error());
    auto loaded = load_all(o, true);
    if (!loaded) return tool_error(loaded.error());
    Report report;
    report.load_ms = ms_since(t0);
    fill_header(report, "fix", *loaded, o, opened->live, started);
    report.dry_run = o.dry_run;
    const std::string today = utc_now("%Y-%m-%d");
    Selection selection{{o.rules.begin(), o.rules.end()}};
    const SafeRoot& root = opened->root;

    // 1. Audit and plan against one context: planning reads what the audit read, from the same cache.
    auto t1 = Clock::now();
    auto safe = SafeRoot::open(o.root);
    if (!safe) return tool_error(safe.error());
    RunContext ctx(std::move(*safe), opened->live, *loaded->registry);
    ctx.set_log_level(o.verbose);
    Facts facts = gather_facts(loaded->baseline, selection, ctx);
    report.results = evaluate(loaded->baseline, selection, facts, loaded->waivers, today);
    report.host = hostname_of(ctx);
    Plan plan;
    auto rule_plans = plan_rules(report.results, ctx, plan);

    std::set<std::string> planned_rules;
    // Failing rules whose remediation found nothing left to plan: another rule's change covers them. They are
    // verified with the others and reported fixed when they pass; one that still fails does not undo the rest.
    std::set<std::string> covered_rules;
    for (auto& r : report.results) {
        auto it = rule_plans.find(r.rule->id);
        if (it == rule_plans.end()) continue;
        const RulePlan& rp = it->second;
        if (rp.kind == RulePlan::Kind::planned) planned_rules.insert(r.rule->id);
        if (rp.kind == RulePlan::Kind::nothing) covered_rules.insert(r.rule->id);
        if (rp.kind == RulePlan::Kind::error) {
            r.status = Status::error;
            r.reasons.insert(r.reasons.end(), rp.reasons.begin(), rp.reasons.end());
        } else if (rp.kind == RulePlan::Kind::none) {
            r.reasons.insert(r.reasons.end(), rp.reasons.begin(), rp.reasons.end());
        }
    }

    auto finish = [&](const std::map<std::string, std::string>& service_status) {
        report.plan = plan_json(plan, service_status);
        report.audit_ms = ms_since(t1);
        report.total_ms = ms_since(t0);
        if (auto ok = write_output(o, render(o, report)); !ok) return tool_error(ok.error());
        return report.exit_code();
    };
    auto changed = plan.changed_files();
    if (o.dry_run || planned_rules.empty() || (changed.empty() && plan.services.empty() && plan.live_actions.empty()))
        return finish({});

    // 2. Apply in one transaction: journal and backups first, then each file atomically.
    std::vector<remediation::FileChange> changes;
    for (const PlannedFile* f : changed) changes.push_back({f->path, f->content, f->mode_if_new, f->original});
    nlohmann::json services = nlohmann::json::array();
    for (const auto& s : plan.services) services.push_back({{"unit", s.unit}, {"action", s.action}});
    // Live actions with an undo are recorded so that `plumb rollback` can undo them too (on a live host).
    nlohmann::json live_undo = nlohmann::json::array();
    if (opened->live)
        for (const auto& a : plan.live_actions)
            if (!a.undo.is_null()) live_undo.push_back({{"module", a.module}, {"name", a.name}, {"description", a.description}, {"undo", a.undo}});
    nlohmann::json metadata = {{"tool_version", PLUMB_VERSION},
                               {"baseline", {{"id", loaded->baseline.id}, {"version", loaded->baseline.version}}},
                               {"rules", planned_rules},
                               {"services", services},
                               {"live_actions", live_undo}};
    auto journal = remediation::Journal::open(root);
    if (!journal) return tool_error(journal.error());
    std::string tx;
    // A transaction also records live actions alone (an nftables batch), so that `plumb rollback` can undo them.
    if (!changes.empty() || !live_undo.empty()) {
        auto id = journal->prepare(changes, metadata);
        if (!id) return tool_error(id.error());
        tx = *id;
        if (auto ok = journal->apply(tx); !ok) return tool_error(ok.error());  // apply restores what it changed
    }
    std::vector<std::string> problems;
    std::vector<const PlannedLiveAction*> done_live;
    if (opened->live) {
        for (const auto& a : plan.live_actions) {
            Outcome lo = ctx.apply_live(a, false);
            if (lo.status != Status::pass) {
                problems.push_back(a.module + " " + a.name + ": " + (lo.reasons.empty() ? "failed" : lo.reasons[0].phrase));
                break;
            }
            done_live.push_back(&a);
        }
    }
    auto service_status = problems.empty() ? run_services(plan, opened->live, problems) : std::map<std::string, std::string>{};

    // 3. Verify: audit the planned rules again on fresh state. A rule that still fails undoes everything.
    std::vector<RuleResult> verify;
    Facts after;
    {
        auto again = SafeRoot::open(o.root);
        if (!again) return tool_error(again.error());
        RunContext check(std::move(*again), opened->live, *loaded->registry);
        std::set<std::string> checked = planned_rules;
        checked.insert(covered_rules.begin(), covered_rules.end());
        Selection planned_selection{checked};
        after = gather_facts(loaded->baseline, planned_selection, check);
        verify = evaluate(loaded->baseline, planned_selection, after, {}, today);
    }
    std::string failing;
    for (const auto& v : verify) {
        if (v.status == Status::pass || !planned_rules.contains(v.rule->id)) continue;
        failing += (failing.empty() ? "" : ", ") + v.rule->id;
        std::string why = v.reasons.empty() ? std::string(to_string(v.status)) : v.reasons.front().phrase;
        problems.push_back("rule " + v.rule->id + " still does not pass after the change: " + why);
    }

    if (!problems.empty()) {
        // Files first, then the live undo: a live action that reloads a service (firewalld) must see the old files.
        std::string rollback_error;
        if (!tx.empty())
            if (auto ok = journal->rollback(tx); !ok) rollback_error = ok.error().message;
        for (auto it = done_live.rbegin(); it != done_live.rend(); ++it)
            if (!(*it)->undo.is_null()) ctx.apply_live(**it, true);
        std::vector<std::string> restart_problems;
        if (!plan.services.empty()) run_services(plan, opened->live, restart_problems);  // pick the old settings up again
        for (auto& r : report.results) {
            if (!planned_rules.contains(r.rule->id)) continue;
            r.status = Status::error;
            for (const auto& p : problems) r.reasons.push_back({"remediation_rolled_back", p + "; every change was rolled back"});
            if (!rollback_error.empty()) r.reasons.push_back({"rollback_failed", rollback_error});
        }
        report.transaction = tx;
        return finish(service_status);
    }

    if (!tx.empty())
        if (auto ok = journal->commit(tx); !ok) return tool_error(ok.error());
    report.transaction = tx;
    std::map<std::string, const RuleResult*> verified;
    for (const auto& v : verify) verified[v.rule->id] = &v;
    for (auto& r : report.results) {
        if (!planned_rules.contains(r.rule->id) && !covered_rules.contains(r.rule->id)) continue;
        const RuleResult* v = verified.at(r.rule->id);
        if (planned_rules.contains(r.rule->id) || v->status == Status::pass) r.status = Status::fixed;
        r.reasons = v->reasons;
    }
    return finish(service_status);
}

int cmd_history(const Options& o) {
    auto opened = open_root(o, recover);
    if (!opened) return tool_error(opened.error());
    if (!opened->root.stat("/var/lib/plumb/transactions")) {
        if (auto ok = write_output(o, o.format == "json" ? "[]\n" : "no transactions\n"); !ok) return tool_error(ok.error());
        return 0;
    }
    auto journal = remediation::Journal::open(opened->root);
    if (!journal) return tool_error(journal.error());
    auto history = journal->history();
    if (!history) return tool_error(history.error());
    std::string text;
    if (o.format == "json") {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& t : *history) {
            nlohmann::json files = nlohmann::json::array();
            for (const auto& f : t.files) files.push_back(f.path);
            out.push_back({{"id", t.id}, {"created_at", t.created_at}, {"state", remediation::to_string(t.state)},
                           {"metadata", t.metadata}, {"files", files}});
        }
        text = out.dump(2) + "\n";
    } else {
        for (const auto& t : *history) {
            text += t.id + "  " + std::string(remediation::to_string(t.state)) + "  " + t.created_at;
            if (t.metadata.contains("rules")) {
                std::string rules;
                for (const auto& r : t.metadata["rules"]) rules += (rules.empty() ? "" : ", ") + r.get<std::string>();
                text += "  rules: " + rules;
            }
            text += "\n";
            for (const auto& f : t.files) text += "    " + f.path + "\n";
        }
        if (history->empty()) text = "no transactions\n";
    }
    if (auto ok = write_output(o, text); !ok) return tool_error(ok.error());
    return 0;
}

int cmd_rollback(const Options& o) {
    if (o.positional.size() > 1) return tool_error(Error::invalid("rollback takes at most one transaction id"));
    auto opened = open_root(o, recover);
    if (!opened) return tool_error(opened.error());
    if (!opened->root.stat("/var/lib/plumb/transactions")) return tool_error(Error{ENOENT, "no transactions under " + o.root});
    auto journal = remediation::Journal::open(opened->root);
    if (!journal) return tool_error(journal.error());
    std::string id;
    if (!o.positional.empty()) {
        id = o.positional[0];
    } else {
        auto history = journal->history();
        if (!history) return tool_error(history.error());
        for (const auto& t : *history)
            if (t.state == remediation::TxState::committed) id = t.id;
        if (id.empty()) return tool_error(Error{ENOENT, "no committed transaction to roll back"});
    }
    auto info = journal->info(id);
    if (!info) return tool_error(info.error());
    if (auto ok = journal->rollback(id); !ok) return tool_error(ok.error());
    // Live actions the transaction performed (kernel audit rules, an applied crypto policy) are undone, newest
    // first, through the modules that made them.
    std::vector<std::string> problems;
    std::string undo_text;
    auto live_actions = info->metadata.value("live_actions", nlohmann::json::array());
    if (opened->live && !live_actions.empty()) {
        auto layout = discover_layout();
        auto registry = layout ? ModuleRegistry::load_directory(o.module_dir.value_or(layout->module_dir), {.development = o.development})
                               : Result<std::unique_ptr<ModuleRegistry>>(std::unexpected(layout.error()));
        if (!registry) return tool_error(registry.error());
        auto safe = SafeRoot::open(o.root);
        if (!safe) return tool_error(safe.error());
        RunContext ctx(std::move(*safe), true, **registry);
        for (auto it = live_actions.rbegin(); it != live_actions.rend(); ++it) {
            PlannedLiveAction a{(*it).at("module"), (*it).at("name"), (*it).value("description", ""), nullptr, (*it).at("undo"), ""};
            Outcome undone = ctx.apply_live(a, true);
            undo_text += "  undo " + a.module + " " + a.name + ": " + std::string(to_string(undone.status)) + "\n";
            if (undone.status != Status::pass)
                problems.push_back(a.module + " " + a.name + ": " + (undone.reasons.empty() ? "failed" : undone.reasons[0].phrase));
        }
    }
    // Services that the transaction restarted read their configuration again.
    Plan services;
    for (const auto& s : info->metadata.value("services", nlohmann::json::array()))
        services.services.push_back({s.at("unit"), s.at("action"), "rollback", {}});
    auto status = run_services(services, opened->live, problems);
    std::string text = "rolled back " + id + "\n";
    for (const auto& f : info->files) text += "  restored " + f.path + "\n";
    text += undo_text;
    for (const auto& p : problems) text += "  problem: " + p + "\n";
    for (const auto& [what, st] : status) text += "  " + what + ": " + st + "\n";
    if (auto ok = write_output(o, text); !ok) return tool_error(ok.error());
    return problems.empty() ? 0 : 2;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int plumb_fix_command(const Options* o) {
    if (o->command == "fix") return cmd_fix(*o);
    if (o->command == "history") return cmd_history(*o);
    if (o->command == "rollback") return cmd_rollback(*o);
    return tool_error(Error::invalid("the remediation plugin has no command '" + o->command + "'"));
}

extern "C" __attribute__((visibility("default"))) void plumb_fix_recover(const SafeRoot* root) { recover(*root); }

}  // namespace plumb::cli
