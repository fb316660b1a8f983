// plumb_firewall: nftables (read and changed over netlink through libnftnl) and firewalld (its configuration files and,
// when it runs, its D-Bus interface).
//
// The nftables checks ask what the ruleset does to probe packets (eval.hpp) instead of looking for one spelling of a
// rule. On a running system they check the kernel's ruleset; offline (--root) the ruleset the distribution's
// boot-time file loads. Remediation is lockout-safe: every change of one remediation is one netlink batch (all or
// nothing), a batch that leaves input traffic dropped by default also carries the rules that keep established
// connections, loopback and the management port open, and the batch is checked against probe packets on the
// ruleset as it is at apply time before it is sent. The same ruleset is written to a file the boot-time
// configuration includes, so that the fix survives a reboot.
#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval.hpp"
#include "firewalld.hpp"
#include "model.hpp"
#include "netlink.hpp"
#include "nft_plan.hpp"
#include "plumb/config/os_release.hpp"
#include "plumb/module.hpp"
#include "text.hpp"

namespace {

using nlohmann::json;
using plumb::sdk::Planner;
using plumb::sdk::Reporter;
namespace nft = plumb::firewall::nft;
namespace fw = plumb::firewall;
namespace fwd = plumb::firewall::firewalld;

constexpr const char* kLiveCommit = "nft_commit";

std::string table_text(const fw::Where& w) { return std::string(nft::family_name(w.family)) + " " + w.table; }

class Firewall : public plumb::sdk::Instance {
public:
    using Instance::Instance;

    plumb_status table(const json& args, Reporter& r);
    plumb_status base_chains(const json& args, Reporter& r);
    plumb_status policy(const json& args, Reporter& r);
    plumb_status loopback(const json& args, Reporter& r);
    plumb_status established(const json& args, Reporter& r);
    plumb_status management_port(const json& args, Reporter& r);
    plumb_status persistent(const json& args, Reporter& r);

    plumb_status fix_table(const json& args, Planner& p, Reporter& r);
    plumb_status fix_base_chains(const json& args, Planner& p, Reporter& r);
    plumb_status fix_policy(const json& args, Planner& p, Reporter& r);
    plumb_status fix_loopback(const json& args, Planner& p, Reporter& r);
    plumb_status fix_established(const json& args, Planner& p, Reporter& r);
    plumb_status fix_management_port(const json& args, Planner& p, Reporter& r);
    plumb_status fix_persistent(const json& args, Planner& p, Reporter& r);

    plumb_status fwd_backend(const json& a, Reporter& r) { return fwd::backend(host(), a, r); }
    plumb_status fwd_default_zone(const json& a, Reporter& r) { return fwd::default_zone(host(), a, r); }
    plumb_status fwd_loopback_trusted(const json& a, Reporter& r) { return fwd::loopback_trusted(host(), a, r); }
    plumb_status fwd_zone_services(const json& a, Reporter& r) { return fwd::zone_services(host(), a, r); }
    plumb_status fwd_zone_target(const json& a, Reporter& r) { return fwd::zone_target(host(), a, r); }
    plumb_status fwd_runtime(const json& a, Reporter& r) { return fwd::runtime_state(host(), a, r); }
    plumb_status fix_fwd_backend(const json& a, Planner& p, Reporter& r) { return fwd::remediate_backend(host(), a, p, r); }
    plumb_status fix_fwd_default_zone(const json& a, Planner& p, Reporter& r) { return fwd::remediate_default_zone(host(), a, p, r); }
    plumb_status fix_fwd_loopback_trusted(const json& a, Planner& p, Reporter& r) {
        return fwd::remediate_loopback_trusted(host(), a, p, r);
    }
    plumb_status fix_fwd_zone_services(const json& a, Planner& p, Reporter& r) { return fwd::remediate_zone_services(host(), a, p, r); }
    plumb_status fix_fwd_zone_target(const json& a, Planner& p, Reporter& r) { return fwd::remediate_zone_target(host(), a, p, r); }

    int apply_live(const std::string& name, const json& payload, Reporter& r) override;

private:
    // The ruleset the checks look at: the kernel's on a running system, the boot-time file's offline.
    const plumb::Result<nft::Ruleset>& current();
    // What the probe and structural checks need: every table and chain (hook, policy) with the rules of the chains the
    // input and output hooks reach (nft::read_ruleset(scope)); the full current() when that was read already, and
    // offline. decide() on input/output gives the same answer on it as on current().
    const plumb::Result<nft::Ruleset>& probe_view();
    // `current()` with the changes this run has planned so far (remediations build on each other): the engine
    // reopens instances after each planned file change, so the batches planned before are read back from it.
    plumb::Result<nft::Ruleset*> planned(Planner& p);
    std::string source_name() {
        return host().is_live() ? "the running ruleset" : "the ruleset " + boot_file().path + " loads at boot";
    }
    const fw::BootFile& boot_file();
    const plumb::Result<nft::ParsedConfig>& boot_config();

    // Applies `steps` to the planned ruleset and plans them: a netlink batch on a running system (with its undo), and
    // in every case the file that makes the planned table persistent.
    plumb_status plan_steps(const fw::Where& w, std::vector<fw::Step> steps, const fw::LockoutGuard* guard, Planner& p, Reporter& r,
                            const std::string& why);
    plumb_status plan_persistence(const fw::Where& w, Planner& p, Reporter& r);
    template <class Rules>
    plumb_status fix_input_rules(const json& args, Planner& p, Reporter& r, const std::string& why, Rules&& rules);
    plumb_status decision_check(const nft::Packet& probe, nft::Fate wanted, const std::string& what, Reporter& r);

    std::optional<plumb::Result<nft::Ruleset>> current_;
    std::optional<plumb::Result<nft::Ruleset>> scoped_;  // live only: probe_view()'s scoped read
    std::optional<nft::Ruleset> planned_;
    std::optional<fw::BootFile> boot_file_;
    std::optional<plumb::Result<nft::ParsedConfig>> boot_config_;
};

fw::Where where_of(const json& args) {
    fw::Where w;
    w.family = nft::family_from_name(args.value("family", "inet")).value_or(nft::Family::inet);
    w.table = args.value("table", "filter");
    return w;
}

const fw::BootFile& Firewall::boot_file() {
    if (!boot_file_) boot_file_ = fw::find_boot_file(host());
    return *boot_file_;
}

const plumb::Result<nft::ParsedConfig>& Firewall::boot_config() {
    if (!boot_config_) {
        const auto& bf = boot_file();
        if (!bf.exists) boot_config_ = nft::ParsedConfig{};
        else boot_config_ = nft::parse_config(host(), bf.path);
    }
    return *boot_config_;
}

const plumb::Result<nft::Ruleset>& Firewall::current() {
    if (!current_) {
        if (host().is_live()) {
            current_ = nft::read_ruleset();
        } else {
            const auto& cfg = boot_config();
            if (cfg) current_ = cfg->ruleset;
            else current_ = std::unexpected(cfg.error());
        }
    }
    return *current_;
}

const plumb::Result<nft::Ruleset>& Firewall::probe_view() {
    if (current_ || !host().is_live()) return current();
    if (!scoped_) {
        auto rs = nft::read_ruleset(nft::ReadScope{{"input", "output"}});
        if (rs) scoped_ = std::move(rs->ruleset);
        else scoped_ = std::unexpected(rs.error());
    }
    return *scoped_;
}

plumb::Result<nft::Ruleset*> Firewall::planned(Planner& p) {
    if (!planned_) {
        const auto& cur = current();
        if (!cur) return std::unexpected(cur.error());
        nft::Ruleset rs = *cur;
        auto earlier = p.live_actions_so_far();
        if (!earlier) return std::unexpected(earlier.error());
        for (const auto& a : *earlier) {
            if (a.value("name", "") != kLiveCommit) continue;
            auto steps = fw::steps_from_json(a.at("payload").at("steps"));
            if (!steps) return std::unexpected(steps.error());
            for (const auto& s : *steps) (void)fw::apply_step(rs, s);  // each was checked when it was planned
        }
        planned_ = std::move(rs);
    }
    return &*planned_;
}

// ---- checks

plumb_status Firewall::table(const json& args, Reporter& r) {
    const auto& rs = probe_view();
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    if (rs->table(w.family, w.table)) return r.pass("nft_table_present", "table " + table_text(w) + " exists in " + source_name());
    return r.fail("nft_table_missing", "table " + table_text(w) + " does not exist in " + source_name());
}

plumb_status Firewall::base_chains(const json& args, Reporter& r) {
    const auto& rs = probe_view();
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    const nft::Table* t = rs->table(w.family, w.table);
    if (!t) return r.fail("nft_table_missing", "table " + table_text(w) + " does not exist in " + source_name());
    bool ok = true;
    for (const auto& hook : args.value("hooks", json::array({"input", "forward", "output"}))) {
        const nft::Chain* c = fw::base_chain(*t, hook.get<std::string>());
        if (c) {
            r.reason("nft_base_chain_present", "table " + table_text(w) + " has base chain " + c->name + " (type filter hook " +
                                                   hook.get<std::string>() + " priority " + std::to_string(c->hook->priority) + ")");
        } else {
            ok = false;
            r.reason("nft_base_chain_missing",
                     "table " + table_text(w) + " has no base chain of type filter on hook " + hook.get<std::string>() + " in " + source_name());
        }
    }
    return ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

plumb_status Firewall::policy(const json& args, Reporter& r) {
    const auto& rs = probe_view();
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    const nft::Table* t = rs->table(w.family, w.table);
    if (!t) return r.fail("nft_table_missing", "table " + table_text(w) + " does not exist in " + source_name());
    bool ok = true;
    for (const char* hook : {"input", "forward", "output"}) {
        std::string wanted = args.value(hook, std::string(hook) == "output" ? "any" : "drop");
        if (wanted == "any") continue;
        const nft::Chain* c = fw::base_chain(*t, hook);
        if (!c) {
            ok = false;
            r.reason("nft_base_chain_missing", "table " + table_text(w) + " has no base chain on hook " + hook + " (expected policy " + wanted + ")");
            continue;
        }
        std::string actual(nft::verdict_name(c->policy));
        if (actual == wanted) {
            r.reason("nft_policy_ok", "chain " + table_text(w) + " " + c->name + " has policy " + actual);
        } else {
            ok = false;
            r.reason("nft_policy_wrong", "chain " + table_text(w) + " " + c->name + " has policy " + actual + ", expected " + wanted +
                                             " (" + source_name() + ")");
        }
    }
    return ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

plumb_status Firewall::decision_check(const nft::Packet& probe, nft::Fate wanted, const std::string& what, Reporter& r) {
    const auto& rs = probe_view();
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    nft::Decision d = nft::decide(*rs, probe);
    std::string text = what + " (" + probe.describe() + ") is " + nft::describe_fate(d.fate) + " by " + source_name() + ": " + d.by;
    if (d.fate == wanted) return r.pass("nft_probe_ok", text);
    if (d.fate == nft::Fate::unknown) return r.fail("nft_probe_undecidable", text);
    return r.fail("nft_probe_wrong", text + " (expected " + nft::describe_fate(wanted) + ")");
}

plumb_status Firewall::loopback(const json& args, Reporter& r) {
    std::vector<nft::Family> families = fw::probe_families(where_of(args), args.value("ipv6", true));
    plumb_status worst = PLUMB_STATUS_PASS;
    for (nft::Family f : families) {
        for (plumb_status s : {decision_check(nft::probe_loopback(f), nft::Fate::accept, "loopback traffic", r),
                               decision_check(nft::probe_forged_loopback(f, args.value("port", 22)), nft::Fate::drop, "a loopback source address on another interface", r)})
            worst = fw::worse(worst, s);
    }
    return worst;
}

plumb_status Firewall::established(const json& args, Reporter& r) {
    plumb_status worst = PLUMB_STATUS_PASS;
    for (nft::Family f : fw::probe_families(where_of(args), args.value("ipv6", true)))
        worst = fw::worse(worst, decision_check(nft::probe_established(f), nft::Fate::accept, "traffic of an established connection", r));
    return worst;
}

plumb_status Firewall::management_port(const json& args, Reporter& r) {
    const uint16_t port = args.value("port", 22);
    plumb_status worst = PLUMB_STATUS_PASS;
    for (nft::Family f : fw::probe_families(where_of(args), args.value("ipv6", true)))
        worst = fw::worse(worst, decision_check(nft::probe_new_tcp(f, port), nft::Fate::accept,
                                                "a new connection to the management port " + std::to_string(port) + "/tcp", r));
    return worst;
}

plumb_status Firewall::persistent(const json& args, Reporter& r) {
    const auto& bf = boot_file();
    if (!bf.exists) return r.fail("nft_boot_file_missing", bf.path + " does not exist: nothing loads an nftables ruleset at boot");
    const auto& cfg = boot_config();
    if (!cfg) return r.error("nft_boot_file_invalid", cfg.error().message);
    const auto& rs = current();
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    bool ok = true;
    for (const auto& w : fw::tables_of(args)) {
        const nft::Table* live = rs->table(w.family, w.table);
        const nft::Table* boot = cfg->ruleset.table(w.family, w.table);
        if (!live && !boot) continue;
        if (!live || !boot) {
            ok = false;
            r.reason("nft_not_persistent", "table " + table_text(w) + (live ? " is loaded but " + bf.path + " does not create it"
                                                                           : " is created by " + bf.path + " but is not loaded"));
            continue;
        }
        auto diffs = nft::compare_tables(*live, *boot, "the running ruleset", bf.path);
        if (diffs.empty()) {
            r.reason("nft_persistent", "table " + table_text(w) + " as loaded equals what " + bf.path + " loads at boot");
            continue;
        }
        ok = false;
        const size_t shown = std::min<size_t>(diffs.size(), 10);
        for (size_t i = 0; i < shown; ++i) r.reason("nft_not_persistent", "table " + table_text(w) + ": " + diffs[i]);
        if (diffs.size() > shown) r.reason("nft_not_persistent", "table " + table_text(w) + ": " + std::to_string(diffs.size() - shown) + " more differences");
    }
    return ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

// ---- remediation

plumb_status Firewall::plan_steps(const fw::Where& w, std::vector<fw::Step> steps, const fw::LockoutGuard* guard, Planner& p, Reporter& r,
                                  const std::string& why) {
    auto rs = planned(p);
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    if (steps.empty()) return PLUMB_STATUS_PASS;
    nft::Ruleset before = **rs;
    std::vector<fw::Step> undo;
    for (const auto& s : steps) {
        auto u = fw::apply_step(**rs, s);
        if (!u) {
            **rs = std::move(before);
            return r.error("nft_plan_invalid", u.error().message);
        }
        undo.insert(undo.begin(), u->begin(), u->end());
    }
    if (guard) {
        if (auto unsafe = fw::lockout_problem(**rs, *guard)) {
            **rs = std::move(before);
            return r.error("nft_would_lock_out", "refused: " + *unsafe);
        }
    }
    if (host().is_live()) {
        json payload = {{"steps", fw::steps_to_json(steps)}};
        if (guard) payload["guard"] = fw::guard_to_json(*guard);
        std::string description = why + ": " + std::to_string(steps.size()) + " change(s) to table " + table_text(w) + " in one netlink batch";
        for (const auto& s : steps) description += "\n    " + fw::describe(s);
        if (auto ok = p.live_action(kLiveCommit, description, payload, json{{"steps", fw::steps_to_json(undo)}}); !ok)
            return r.error("plan_failed", ok.error().message);
    }
    // The engine's convention: a remediation that planned a change answers fail (the check fails until it is applied).
    plumb_status persisted = plan_persistence(w, p, r);
    return persisted == PLUMB_STATUS_ERROR ? persisted : PLUMB_STATUS_FAIL;
}

plumb_status Firewall::plan_persistence(const fw::Where& w, Planner& p, Reporter& r) {
    auto rs = planned(p);
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    const nft::Table* t = (*rs)->table(w.family, w.table);
    if (!t) return PLUMB_STATUS_PASS;
    const auto& cfg = boot_config();
    if (!cfg) return r.error("nft_boot_file_invalid", cfg.error().message);
    auto files = fw::persistence_files(boot_file(), *cfg, host(), *t);
    if (!files) return r.error("nft_plan_invalid", files.error().message);
    bool changed = false;
    for (const auto& f : *files) {
        auto now = host().read(f.path);
        if (now && *now == f.content) continue;
        if (auto ok = p.write_file(f.path, f.content, f.mode, f.why); !ok) return r.error("plan_failed", ok.error().message);
        changed = true;
    }
    return changed ? PLUMB_STATUS_FAIL : PLUMB_STATUS_PASS;
}

plumb_status Firewall::fix_table(const json& args, Planner& p, Reporter& r) {
    auto rs = planned(p);
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    return plan_steps(w, fw::ensure_table(**rs, w), nullptr, p, r, "create table " + table_text(w));
}

plumb_status Firewall::fix_base_chains(const json& args, Planner& p, Reporter& r) {
    auto rs = planned(p);
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    std::vector<std::string> hooks;
    for (const auto& h : args.value("hooks", json::array({"input", "forward", "output"}))) hooks.push_back(h.get<std::string>());
    return plan_steps(w, fw::ensure_base_chains(**rs, w, hooks), nullptr, p, r, "create the base chains of table " + table_text(w));
}

plumb_status Firewall::fix_policy(const json& args, Planner& p, Reporter& r) {
    auto rs = planned(p);
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    fw::LockoutGuard guard = fw::guard_of(args, w);
    std::vector<fw::Step> steps = fw::ensure_base_chains(**rs, w, {"input", "forward", "output"});
    nft::Ruleset scratch = **rs;
    for (const auto& s : steps) (void)fw::apply_step(scratch, s);
    std::vector<fw::Step> policies;
    for (const char* hook : {"input", "forward", "output"}) {
        std::string wanted = args.value(hook, std::string(hook) == "output" ? "any" : "drop");
        if (wanted == "any") continue;
        for (auto& s : fw::ensure_policy(scratch, w, hook, wanted == "drop" ? nft::VerdictKind::drop : nft::VerdictKind::accept))
            policies.push_back(std::move(s));
    }
    // The rules that keep the operator in are worked out on the ruleset as it will be with the new policies, and go
    // into the same batch ahead of them: there is no moment at which the policy drops and the rules are missing.
    nft::Ruleset with_policies = scratch;
    for (const auto& s : policies) (void)fw::apply_step(with_policies, s);
    for (auto& s : fw::ensure_access(with_policies, w, guard)) steps.push_back(std::move(s));
    for (auto& s : policies) steps.push_back(std::move(s));
    return plan_steps(w, std::move(steps), &guard, p, r, "default-deny policy for table " + table_text(w));
}

// The remediations that add rules to the table's input chain (creating table and chain when missing): `rules`
// works out the rules on the ruleset as it will be with the chain.
template <class Rules>
plumb_status Firewall::fix_input_rules(const json& args, Planner& p, Reporter& r, const std::string& why, Rules&& rules) {
    auto rs = planned(p);
    if (!rs) return r.error("nft_unreadable", rs.error().message);
    auto w = where_of(args);
    std::vector<fw::Step> steps = fw::ensure_base_chains(**rs, w, {"input"});
    nft::Ruleset scratch = **rs;
    for (const auto& s : steps) (void)fw::apply_step(scratch, s);
    for (auto& s : rules(scratch, w)) steps.push_back(std::move(s));
    return plan_steps(w, std::move(steps), nullptr, p, r, why + " for table " + table_text(w));
}

plumb_status Firewall::fix_loopback(const json& args, Planner& p, Reporter& r) {
    return fix_input_rules(args, p, r, "loopback traffic", [&](const nft::Ruleset& rs, const fw::Where& w) {
        return fw::ensure_loopback(rs, w, args.value("ipv6", true), args.value("port", 22));
    });
}

plumb_status Firewall::fix_established(const json& args, Planner& p, Reporter& r) {
    return fix_input_rules(args, p, r, "established connections", [&](const nft::Ruleset& rs, const fw::Where& w) {
        fw::LockoutGuard only = fw::guard_of(args, w);
        only.management_port = 0;
        only.loopback = false;
        return fw::ensure_access(rs, w, only);
    });
}

plumb_status Firewall::fix_management_port(const json& args, Planner& p, Reporter& r) {
    return fix_input_rules(args, p, r, "management port", [&](const nft::Ruleset& rs, const fw::Where& w) {
        fw::LockoutGuard only = fw::guard_of(args, w);
        only.established = false;
        only.loopback = false;
        return fw::ensure_access(rs, w, only);
    });
}

plumb_status Firewall::fix_persistent(const json& args, Planner& p, Reporter& r) {
    plumb_status worst = PLUMB_STATUS_PASS;
    for (const auto& w : fw::tables_of(args)) worst = fw::worse(worst, plan_persistence(w, p, r));
    return worst;
}

int Firewall::apply_live(const std::string& name, const json& payload, Reporter& r) {
    if (name == fwd::kReloadAction) return fwd::firewalld_reload(host(), r);
    if (name != kLiveCommit) {
        r.reason("unknown_live_action", "firewall has no live action " + name);
        return -ENOTSUP;
    }
    auto steps = fw::steps_from_json(payload.at("steps"));
    if (!steps) {
        r.reason("nft_plan_invalid", steps.error().message);
        return -EINVAL;
    }
    std::optional<fw::LockoutGuard> guard;
    if (payload.contains("guard")) guard = fw::guard_from_json(payload.at("guard"));
    auto done = fw::commit_steps(*steps, guard ? &*guard : nullptr);
    if (!done) {
        r.reason(done.error().code == EPERM ? "nft_would_lock_out" : "nft_commit_failed", done.error().message);
        return -done.error().code;
    }
    current_.reset();
    scoped_.reset();
    planned_.reset();
    return 0;
}

// ---- schemas

constexpr const char* kWhere = R"J("family": {"enum": ["inet", "ip", "ip6"], "description": "table family (default inet)"},
    "table": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$", "description": "table name (default filter)"})J";

const std::string kTableSchema = std::string(R"J({"type": "object", "properties": {)J") + kWhere + R"J(}, "additionalProperties": false})J";
const std::string kBaseChainsSchema = std::string(R"J({"type": "object", "properties": {)J") + kWhere + R"J(,
    "hooks": {"type": "array", "items": {"enum": ["input", "forward", "output"]}, "minItems": 1, "uniqueItems": true}
  }, "additionalProperties": false})J";
constexpr const char* kAccess = R"J(,
    "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "management (ssh) port kept open, default 22"},
    "ipv6": {"type": "boolean", "description": "check IPv6 too (default true; ignored for ip/ip6 tables)"})J";
const std::string kPolicySchema = std::string(R"J({"type": "object", "properties": {)J") + kWhere + kAccess + R"J(,
    "input": {"enum": ["drop", "accept", "any"], "description": "policy of the input base chain (default drop)"},
    "forward": {"enum": ["drop", "accept", "any"], "description": "default drop"},
    "output": {"enum": ["drop", "accept", "any"], "description": "default any"}
  }, "additionalProperties": false})J";
const std::string kAccessSchema = std::string(R"J({"type": "object", "properties": {)J") + kWhere + kAccess + R"J(}, "additionalProperties": false})J";
const std::string kPersistentSchema = R"J({"type": "object", "properties": {
    "tables": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {
      "family": {"enum": ["inet", "ip", "ip6", "arp", "bridge", "netdev"]},
      "table": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"}}, "required": ["family", "table"], "additionalProperties": false},
      "description": "tables that must be persistent (default inet filter)"}
  }, "additionalProperties": false})J";

const plumb::sdk::Procedure<Firewall> kProcedures[] = {
    {"nft_table", "an nftables table exists (running ruleset; offline: the boot-time file)", kTableSchema.c_str(), 0, &Firewall::table,
     &Firewall::fix_table},
    {"nft_base_chains", "the table has filter base chains on the input, forward and output hooks", kBaseChainsSchema.c_str(), 0,
     &Firewall::base_chains, &Firewall::fix_base_chains},
    {"nft_default_deny", "the base chains of the table drop by default (input and forward; output as a parameter)", kPolicySchema.c_str(),
     0, &Firewall::policy, &Firewall::fix_policy},
    {"nft_loopback", "loopback traffic is accepted on lo and loopback source addresses are dropped on other interfaces",
     kAccessSchema.c_str(), 0, &Firewall::loopback, &Firewall::fix_loopback},
    {"nft_established", "traffic of established connections is accepted on input", kAccessSchema.c_str(), 0, &Firewall::established,
     &Firewall::fix_established},
    {"nft_management_port", "new connections to the management port are accepted on input", kAccessSchema.c_str(), 0,
     &Firewall::management_port, &Firewall::fix_management_port},
    {"nft_persistent", "the boot-time nftables configuration loads the running tables", kPersistentSchema.c_str(), PLUMB_PROC_LIVE_ONLY,
     &Firewall::persistent, &Firewall::fix_persistent},
    {"firewalld_backend", "firewalld.conf FirewallBackend is the expected backend", fwd::kBackendSchema, 0, &Firewall::fwd_backend,
     &Firewall::fix_fwd_backend},
    {"firewalld_default_zone", "firewalld's default zone (firewalld.conf, and over D-Bus when it runs)", fwd::kDefaultZoneSchema, 0,
     &Firewall::fwd_default_zone, &Firewall::fix_fwd_default_zone},
    {"firewalld_loopback_trusted", "interface lo is bound to the trusted zone only", fwd::kLoopbackTrustedSchema, 0,
     &Firewall::fwd_loopback_trusted, &Firewall::fix_fwd_loopback_trusted},
    {"firewalld_zone_services", "a zone allows the required services/ports and, with an allow-list, nothing else",
     fwd::kZoneServicesSchema, 0, &Firewall::fwd_zone_services, &Firewall::fix_fwd_zone_services},
    {"firewalld_zone_target", "a zone's target is one of the allowed ones (inbound denied by default)", fwd::kZoneTargetSchema, 0,
     &Firewall::fwd_zone_target, &Firewall::fix_fwd_zone_target},
    {"firewalld_runtime", "firewalld runs (RUNNING) and its runtime matches the permanent configuration", fwd::kRuntimeSchema,
     PLUMB_PROC_LIVE_ONLY, &Firewall::fwd_runtime},
};

}  // namespace

PLUMB_MODULE(firewall, "1.0.0", "nftables (netlink) and firewalld", Firewall, kProcedures)
