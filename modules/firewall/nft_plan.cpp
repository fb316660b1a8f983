#include "nft_plan.hpp"

#include <algorithm>

#include "eval.hpp"
#include "netlink.hpp"
#include "plumb/config/os_release.hpp"

namespace plumb::firewall {

using nlohmann::json;

namespace {

constexpr const char* kCommentLoopback = "plumb: loopback";
constexpr const char* kCommentForged = "plumb: forged loopback source";
constexpr const char* kCommentEstablished = "plumb: established connections";
constexpr const char* kCommentManagement = "plumb: management port";

std::string table_text(nft::Family f, const std::string& table) { return std::string(nft::family_name(f)) + " " + table; }

const char* op_text(Step::Op op) {
    switch (op) {
        case Step::Op::add_table: return "add_table";
        case Step::Op::add_chain: return "add_chain";
        case Step::Op::set_policy: return "set_policy";
        case Step::Op::insert_rule: return "insert_rule";
        case Step::Op::delete_rule: return "delete_rule";
        case Step::Op::delete_chain: return "delete_chain";
        case Step::Op::delete_table: return "delete_table";
    }
    return "?";
}

Step table_step(Step::Op op, const Where& w) {
    Step s;
    s.op = op;
    s.family = w.family;
    s.table = w.table;
    return s;
}

Step rule_step(const Where& w, const std::string& chain, nft::Rule rule) {
    Step s = table_step(Step::Op::insert_rule, w);
    s.chain = chain;
    s.rule = std::move(rule);
    return s;
}

nft::Rule accept_rule(std::vector<nft::Match> matches, const char* comment) {
    nft::Rule r;
    r.matches = std::move(matches);
    r.verdict.kind = nft::VerdictKind::accept;
    r.comment = comment;
    return r;
}

std::vector<nft::Match> with_deps(nft::Family family, nft::Proto proto, nft::Match m) {
    auto deps = nft::dependencies(family, proto);
    deps.push_back(std::move(m));
    return deps;
}

nft::Rule loopback_accept(const char* field = "iif") {
    return accept_rule({nft::match(*nft::field_by_name(field), nft::Op::eq, nft::host(1, 4))}, kCommentLoopback);
}

nft::Rule established_accept() {
    nft::Match m;
    m.sel = nft::field_by_name("ct state")->sel;
    m.mask = nft::host(nft::kCtEstablished | nft::kCtRelated, 4);
    m.op = nft::Op::neq;
    m.value = nft::host(0, 4);
    nft::canonicalize(m);
    return accept_rule({m}, kCommentEstablished);
}

nft::Rule management_accept(nft::Family family, uint16_t port) {
    return accept_rule(with_deps(family, nft::Proto::tcp, nft::match(*nft::field_by_name("tcp dport"), nft::Op::eq, nft::be(port, 2))),
                       kCommentManagement);
}

nft::Rule forged_drop(nft::Family table_family, nft::Family ip) {
    nft::Rule r;
    if (ip == nft::Family::ip6) {
        nft::Bytes one(16, 0);
        one[15] = 1;
        r.matches = with_deps(table_family, nft::Proto::ip6, nft::match(*nft::field_by_name("ip6 saddr"), nft::Op::eq, one));
    } else {
        r.matches = with_deps(table_family, nft::Proto::ip, nft::prefix_match(*nft::field_by_name("ip saddr"), {127, 0, 0, 0}, 8));
    }
    r.statements.push_back({nft::Statement::Kind::counter, {}});
    r.verdict.kind = nft::VerdictKind::drop;
    r.comment = kCommentForged;
    return r;
}

Result<nft::Rule> parse_rule(nft::Family family, const std::string& text) {
    std::string doc = "table " + std::string(nft::family_name(family)) + " plumb {\n\tchain plumb {\n\t\t" + text + "\n\t}\n}\n";
    auto parsed = nft::parse_text(doc, "planned rule");
    if (!parsed) return std::unexpected(parsed.error());
    const auto& tables = parsed->ruleset.tables;
    if (tables.size() != 1 || tables[0].chains.size() != 1 || tables[0].chains[0].rules.size() != 1)
        return fail_invalid("planned rule `" + text + "` is not one rule");
    nft::Rule r = tables[0].chains[0].rules[0];
    if (!r.opaque.empty()) return fail_invalid("planned rule `" + text + "` uses what plumb cannot build: " + r.opaque);
    return r;
}

}  // namespace

std::vector<Where> tables_of(const json& args) {
    std::vector<Where> out;
    for (const auto& t : args.value("tables", json::array({{{"family", "inet"}, {"table", "filter"}}})))
        out.push_back({nft::family_from_name(t.value("family", "inet")).value_or(nft::Family::inet), t.value("table", "filter")});
    return out;
}

std::vector<nft::Family> probe_families(const Where& w, bool ipv6) {
    if (w.family == nft::Family::ip) return {nft::Family::ip};
    if (w.family == nft::Family::ip6) return {nft::Family::ip6};
    if (ipv6) return {nft::Family::ip, nft::Family::ip6};
    return {nft::Family::ip};
}

plumb_status worse(plumb_status a, plumb_status b) {
    auto rank = [](plumb_status s) { return s == PLUMB_STATUS_ERROR ? 3 : s == PLUMB_STATUS_FAIL ? 2 : s == PLUMB_STATUS_PASS ? 1 : 0; };
    return rank(a) >= rank(b) ? a : b;
}

nft::Chain* base_chain(nft::Table& t, std::string_view hook) {
    nft::Chain* best = nullptr;
    for (auto& c : t.chains)
        if (c.hook && c.hook->type == "filter" && c.hook->hook == hook && (!best || c.hook->priority < best->hook->priority)) best = &c;
    return best;
}
const nft::Chain* base_chain(const nft::Table& t, std::string_view hook) { return base_chain(const_cast<nft::Table&>(t), hook); }

Result<std::vector<Step>> apply_step(nft::Ruleset& rs, const Step& s) {
    const std::string where = table_text(s.family, s.table);
    std::vector<Step> undo;
    Where w{s.family, s.table};
    if (s.op == Step::Op::add_table) {
        if (rs.table(s.family, s.table)) return fail(EEXIST, "table " + where + " exists already");
        nft::Table t;
        t.family = s.family;
        t.name = s.table;
        rs.tables.push_back(std::move(t));
        undo.push_back(table_step(Step::Op::delete_table, w));
        return undo;
    }
    nft::Table* t = rs.table(s.family, s.table);
    if (!t) {
        if (s.op == Step::Op::delete_table || s.op == Step::Op::delete_chain || s.op == Step::Op::delete_rule) return undo;  // already gone
        return fail(ENOENT, "table " + where + " does not exist");
    }
    if (s.op == Step::Op::delete_table) {
        std::erase_if(rs.tables, [&](const nft::Table& x) { return x.family == s.family && x.name == s.table; });
        return undo;
    }
    if (s.op == Step::Op::add_chain) {
        if (t->chain(s.chain)) return fail(EEXIST, "chain " + where + " " + s.chain + " exists already");
        nft::Chain c;
        c.name = s.chain;
        c.hook = s.hook;
        c.policy = s.policy;
        t->chains.push_back(std::move(c));
        Step u = table_step(Step::Op::delete_chain, w);
        u.chain = s.chain;
        undo.push_back(u);
        return undo;
    }
    nft::Chain* c = t->chain(s.chain);
    if (!c) {
        if (s.op == Step::Op::delete_chain || s.op == Step::Op::delete_rule) return undo;
        return fail(ENOENT, "chain " + where + " " + s.chain + " does not exist");
    }
    switch (s.op) {
        case Step::Op::set_policy: {
            if (!c->hook) return fail_invalid("chain " + where + " " + s.chain + " is not a base chain and has no policy");
            Step u = s;
            u.policy = c->policy;
            c->policy = s.policy;
            undo.push_back(u);
            return undo;
        }
        case Step::Op::insert_rule: {
            c->rules.insert(c->rules.begin(), s.rule);
            Step u = s;
            u.op = Step::Op::delete_rule;
            undo.push_back(u);
            return undo;
        }
        case Step::Op::delete_rule: {
            auto it = std::find_if(c->rules.begin(), c->rules.end(),
                                   [&](const nft::Rule& r) { return r.comment == s.rule.comment && nft::same_rule(r, s.rule); });
            if (it != c->rules.end()) c->rules.erase(it);
            return undo;
        }
        case Step::Op::delete_chain:
            std::erase_if(t->chains, [&](const nft::Chain& x) { return x.name == s.chain; });
            return undo;
        default: break;
    }
    return undo;
}

std::string describe(const Step& s) {
    const std::string where = table_text(s.family, s.table);
    switch (s.op) {
        case Step::Op::add_table: return "add table " + where;
        case Step::Op::delete_table: return "delete table " + where;
        case Step::Op::add_chain:
            if (!s.hook) return "add chain " + where + " " + s.chain;
            return "add chain " + where + " " + s.chain + " { type " + s.hook->type + " hook " + s.hook->hook + " priority " +
                   std::to_string(s.hook->priority) + "; policy " + std::string(nft::verdict_name(s.policy)) + "; }";
        case Step::Op::delete_chain: return "delete chain " + where + " " + s.chain;
        case Step::Op::set_policy:
            return "set the policy of chain " + where + " " + s.chain + " to " + std::string(nft::verdict_name(s.policy));
        case Step::Op::insert_rule: return "insert rule " + where + " " + s.chain + " " + nft::print_rule(s.rule, s.family);
        case Step::Op::delete_rule: return "delete rule " + where + " " + s.chain + " " + nft::print_rule(s.rule, s.family);
    }
    return "?";
}

json steps_to_json(const std::vector<Step>& steps) {
    json out = json::array();
    for (const auto& s : steps) {
        json j = {{"op", op_text(s.op)}, {"family", nft::family_name(s.family)}, {"table", s.table}};
        if (!s.chain.empty()) j["chain"] = s.chain;
        if (s.hook) j["hook"] = {{"type", s.hook->type}, {"hook", s.hook->hook}, {"priority", s.hook->priority}};
        if (s.op == Step::Op::add_chain || s.op == Step::Op::set_policy) j["policy"] = nft::verdict_name(s.policy);
        if (s.op == Step::Op::insert_rule || s.op == Step::Op::delete_rule) j["rule"] = nft::print_rule(s.rule, s.family);
        out.push_back(std::move(j));
    }
    return out;
}

Result<std::vector<Step>> steps_from_json(const json& j) {
    std::vector<Step> steps;
    if (!j.is_array()) return fail_invalid("steps: expected an array");
    for (size_t i = 0; i < j.size(); ++i) {
        const json& e = j[i];
        const std::string at = "steps/" + std::to_string(i);
        Step s;
        std::string op = e.value("op", "");
        bool known = false;
        for (auto o : {Step::Op::add_table, Step::Op::add_chain, Step::Op::set_policy, Step::Op::insert_rule, Step::Op::delete_rule,
                       Step::Op::delete_chain, Step::Op::delete_table})
            if (op == op_text(o)) s.op = o, known = true;
        if (!known) return fail_invalid(at + "/op: unknown operation '" + op + "'");
        auto family = nft::family_from_name(e.value("family", ""));
        if (!family) return fail_invalid(at + "/family: expected an nftables family");
        s.family = *family;
        s.table = e.value("table", "");
        s.chain = e.value("chain", "");
        if (s.table.empty()) return fail_invalid(at + "/table: expected a table name");
        if (e.contains("hook")) {
            const json& h = e.at("hook");
            s.hook = nft::Hook{h.value("type", "filter"), h.value("hook", ""), h.value("priority", 0), ""};
        }
        if (e.contains("policy")) s.policy = e.at("policy") == "drop" ? nft::VerdictKind::drop : nft::VerdictKind::accept;
        if (e.contains("rule")) {
            auto rule = parse_rule(s.family, e.at("rule").get<std::string>());
            if (!rule) return fail_invalid(at + "/rule: " + rule.error().message);
            s.rule = std::move(*rule);
        }
        steps.push_back(std::move(s));
    }
    return steps;
}

LockoutGuard guard_of(const json& args, const Where& w) {
    LockoutGuard g;
    g.family = w.family;
    g.ipv6 = args.value("ipv6", true);
    g.management_port = static_cast<uint16_t>(args.value("port", 22));
    return g;
}

json guard_to_json(const LockoutGuard& g) {
    return {{"family", nft::family_name(g.family)}, {"ipv6", g.ipv6}, {"port", g.management_port}, {"established", g.established}, {"loopback", g.loopback}};
}

LockoutGuard guard_from_json(const json& j) {
    LockoutGuard g;
    g.family = nft::family_from_name(j.value("family", "inet")).value_or(nft::Family::inet);
    g.ipv6 = j.value("ipv6", true);
    g.management_port = static_cast<uint16_t>(j.value("port", 22));
    g.established = j.value("established", true);
    g.loopback = j.value("loopback", true);
    return g;
}

std::optional<std::string> lockout_problem(const nft::Ruleset& rs, const LockoutGuard& g) {
    for (nft::Family f : probe_families({g.family, ""}, g.ipv6)) {
        std::vector<std::pair<nft::Packet, std::string>> probes;
        if (g.management_port) probes.push_back({nft::probe_new_tcp(f, g.management_port), "a new connection to the management port"});
        if (g.established) probes.push_back({nft::probe_established(f), "traffic of established connections"});
        if (g.loopback) probes.push_back({nft::probe_loopback(f), "loopback traffic"});
        for (const auto& [probe, what] : probes) {
            nft::Decision d = nft::decide(rs, probe);
            if (d.fate != nft::Fate::accept)
                return what + " (" + probe.describe() + ") would be " + nft::describe_fate(d.fate) + " on input by " + d.by;
        }
        // What this host sends: the answers on the operator's connections, and its own loopback traffic.
        std::vector<std::pair<nft::Packet, std::string>> out;
        if (g.established) out.push_back({nft::probe_reply_out(f, g.management_port ? g.management_port : 22), "replies on established connections"});
        if (g.loopback) out.push_back({nft::probe_loopback_out(f), "loopback traffic"});
        for (const auto& [probe, what] : out) {
            nft::Decision d = nft::decide(rs, probe, "output");
            if (d.fate != nft::Fate::accept)
                return what + " (" + probe.describe() + ") would be " + nft::describe_fate(d.fate) + " on output by " + d.by;
        }
    }
    return std::nullopt;
}

std::vector<Step> ensure_table(const nft::Ruleset& rs, const Where& w) {
    if (rs.table(w.family, w.table)) return {};
    return {table_step(Step::Op::add_table, w)};
}

std::vector<Step> ensure_base_chains(const nft::Ruleset& rs, const Where& w, const std::vector<std::string>& hooks) {
    std::vector<Step> steps = ensure_table(rs, w);
    const nft::Table* t = rs.table(w.family, w.table);
    for (const auto& hook : hooks) {
        if (t && base_chain(*t, hook)) continue;
        Step s = table_step(Step::Op::add_chain, w);
        s.chain = (t && t->chain(hook)) ? "plumb_" + hook : hook;  // a regular chain may hold the name already
        s.hook = nft::Hook{"filter", hook, 0, ""};
        s.policy = nft::VerdictKind::accept;  // a policy that drops is ensure_policy's job, after the access rules
        steps.push_back(std::move(s));
    }
    return steps;
}

std::vector<Step> ensure_access(const nft::Ruleset& rs, const Where& w, const LockoutGuard& g) {
    const nft::Table* t = rs.table(w.family, w.table);
    if (!t) return {};
    const nft::Chain* input = base_chain(*t, "input");
    const nft::Chain* output = base_chain(*t, "output");
    auto accepted = [&](const nft::Packet& p, const char* hook) { return nft::decide(rs, p, hook).fate == nft::Fate::accept; };
    bool need_mgmt = false, need_est = false, need_lo = false, need_est_out = false, need_lo_out = false;
    for (nft::Family f : probe_families(w, g.ipv6)) {
        if (g.management_port && !accepted(nft::probe_new_tcp(f, g.management_port), "input")) need_mgmt = true;
        if (g.established && !accepted(nft::probe_established(f), "input")) need_est = true;
        if (g.loopback && !accepted(nft::probe_loopback(f), "input")) need_lo = true;
        if (g.established && !accepted(nft::probe_reply_out(f, g.management_port ? g.management_port : 22), "output")) need_est_out = true;
        if (g.loopback && !accepted(nft::probe_loopback_out(f), "output")) need_lo_out = true;
    }
    // Each step inserts at the head of the chain: the last inserted ends up first (loopback, established, management).
    std::vector<Step> steps;
    if (input) {
        if (need_mgmt) steps.push_back(rule_step(w, input->name, management_accept(w.family, g.management_port)));
        if (need_est) steps.push_back(rule_step(w, input->name, established_accept()));
        if (need_lo) steps.push_back(rule_step(w, input->name, loopback_accept()));
    }
    if (output) {
        if (need_est_out) steps.push_back(rule_step(w, output->name, established_accept()));
        if (need_lo_out) steps.push_back(rule_step(w, output->name, loopback_accept("oif")));
    }
    return steps;
}

std::vector<Step> ensure_loopback(const nft::Ruleset& rs, const Where& w, bool ipv6, uint16_t port) {
    const nft::Table* t = rs.table(w.family, w.table);
    const nft::Chain* input = t ? base_chain(*t, "input") : nullptr;
    if (!input) return {};
    std::vector<Step> steps;
    bool need_lo = false;
    auto families = probe_families(w, ipv6);
    for (auto it = families.rbegin(); it != families.rend(); ++it) {
        if (nft::decide(rs, nft::probe_forged_loopback(*it, port)).fate != nft::Fate::drop)
            steps.push_back(rule_step(w, input->name, forged_drop(w.family, *it)));
        if (nft::decide(rs, nft::probe_loopback(*it)).fate != nft::Fate::accept) need_lo = true;
    }
    // The forged-source drops must not come before the loopback accept (lo carries 127.0.0.1 legitimately), so when
    // drops are added the accept goes in front of them even if a later rule accepts lo already.
    if (need_lo || !steps.empty()) steps.push_back(rule_step(w, input->name, loopback_accept()));
    return steps;
}

std::vector<Step> ensure_policy(const nft::Ruleset& rs, const Where& w, std::string_view hook, nft::VerdictKind policy) {
    const nft::Table* t = rs.table(w.family, w.table);
    const nft::Chain* c = t ? base_chain(*t, hook) : nullptr;
    if (!c || c->policy == policy) return {};
    Step s = table_step(Step::Op::set_policy, w);
    s.chain = c->name;
    s.policy = policy;
    return {s};
}

namespace {

// One attempt: read, resolve, check the guard, commit conditional on the generation that was read.
Result<void> commit_once(const std::vector<Step>& steps, const LockoutGuard* guard) {
    auto live = nft::read_ruleset();
    if (!live) return std::unexpected(live.error());
    nft::Ruleset after = *live;
    std::vector<nft::Change> changes;
    for (const auto& s : steps) {
        nft::Change c;
        c.family = s.family;
        c.table = s.table;
        c.chain = s.chain;
        switch (s.op) {
            case Step::Op::add_table:
                if (after.table(s.family, s.table)) continue;  // created meanwhile: nothing to do
                c.kind = nft::Change::Kind::add_table;
                break;
            case Step::Op::add_chain: {
                const nft::Table* t = after.table(s.family, s.table);
                if (t && t->chain(s.chain)) continue;
                c.kind = nft::Change::Kind::add_chain;
                c.chain_def.name = s.chain;
                c.chain_def.hook = s.hook;
                c.chain_def.policy = s.policy;
                break;
            }
            case Step::Op::set_policy:
                c.kind = nft::Change::Kind::set_policy;
                c.policy = s.policy;
                break;
            case Step::Op::insert_rule:
                c.kind = nft::Change::Kind::insert_rule;
                c.rule = s.rule;
                break;
            case Step::Op::delete_rule: {
                const nft::Table* t = after.table(s.family, s.table);
                const nft::Chain* ch = t ? t->chain(s.chain) : nullptr;
                const nft::Rule* found = nullptr;
                if (ch)
                    for (const auto& r : ch->rules)
                        if (r.comment == s.rule.comment && nft::same_rule(r, s.rule)) {
                            found = &r;
                            break;
                        }
                if (!found) continue;  // gone already: undo wants exactly that
                c.kind = nft::Change::Kind::delete_rule;
                c.handle = found->handle;
                break;
            }
            case Step::Op::delete_chain: {
                const nft::Table* t = after.table(s.family, s.table);
                if (!t || !t->chain(s.chain)) continue;
                c.kind = nft::Change::Kind::delete_chain;
                break;
            }
            case Step::Op::delete_table:
                if (!after.table(s.family, s.table)) continue;
                c.kind = nft::Change::Kind::delete_table;
                break;
        }
        if (auto applied = apply_step(after, s); !applied) return std::unexpected(applied.error());
        changes.push_back(std::move(c));
    }
    if (guard)
        if (auto problem = lockout_problem(after, *guard)) return fail(EPERM, "refused to change the running ruleset: " + *problem);
    if (changes.empty()) return {};
    auto committed = nft::commit(changes, live->generation);
    if (!committed) return std::unexpected(committed.error());
    return {};
}

}  // namespace

Result<void> commit_steps(const std::vector<Step>& steps, const LockoutGuard* guard) {
    // The guard was checked against exactly the ruleset the batch applies to: when another program changed it in
    // between, the kernel refuses the batch (ERESTART) and the whole check is done again on the new ruleset.
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        auto done = commit_once(steps, guard);
        if (done || done.error().code != ERESTART || attempt == kAttempts) return done;
    }
}

// ---- persistence

BootFile find_boot_file(FileSource& source) {
    for (const char* path : {"/etc/sysconfig/nftables.conf", "/etc/nftables.conf"})
        if (auto st = source.stat(path); st && st->type == FileType::regular) return {path, true};
    auto ids = config::os_ids(source);
    for (const char* rh : {"rhel", "fedora", "centos", "mariner", "azurelinux"})
        if (config::os_is_like(ids, rh)) return {"/etc/sysconfig/nftables.conf", false};
    return {"/etc/nftables.conf", false};
}

std::string table_file_path(const nft::Table& t) {
    return "/etc/nftables/plumb-" + std::string(nft::family_name(t.family)) + "-" + t.name + ".nft";
}

Result<std::vector<FileToWrite>> persistence_files(const BootFile& boot, const nft::ParsedConfig& cfg, FileSource& source, const nft::Table& t) {
    std::vector<FileToWrite> out;
    const std::string path = table_file_path(t);
    const std::string name = table_text(t.family, t.name);
    std::string content = "#!/usr/sbin/nft -f\n"
                          "# Written by plumb fix: table " + name + " as plumb fix left it.\n"
                          "# " + boot.path + " includes this file; loading it replaces the whole table.\n"
                          "add table " + name + "\n"
                          "delete table " + name + "\n" +
                          nft::print_table(t);
    out.push_back({path, std::move(content), 0600, "make table " + name + " persistent across reboots"});
    if (std::find(cfg.files.begin(), cfg.files.end(), path) != cfg.files.end()) return out;
    std::string text;
    if (boot.exists) {
        auto current = source.read(boot.path);
        if (!current) return std::unexpected(current.error());
        text = std::string(*current);
        if (!text.empty() && text.back() != '\n') text += '\n';
    } else {
        text = "#!/usr/sbin/nft -f\n# Written by plumb fix: the nftables ruleset loaded at boot.\n";
    }
    text += "include \"" + path + "\"\n";
    out.push_back({boot.path, std::move(text), 0600, "load " + path + " at boot"});
    return out;
}

}  // namespace plumb::firewall
