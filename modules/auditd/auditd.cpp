// plumb_auditd: the Linux audit daemon's configuration (auditd.conf), its rules as augenrules and auditctl load them,
// and, on a live system, the rules and status the kernel actually holds (read through libaudit's netlink calls).
// Audit only: nothing here writes a file or changes the kernel's audit state.
#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conf.hpp"
#include "kernel.hpp"
#include "plumb/config/text.hpp"
#include "plumb/module.hpp"
#include "rules.hpp"

namespace {

using nlohmann::json;
using plumb::Result;
using plumb::sdk::Reporter;
using namespace plumb::auditd;
namespace cfg = plumb::config;

constexpr const char* kConfFile = "/etc/audit/auditd.conf";
constexpr std::size_t kMaxListedDifferences = 20;

const char* const kSettingSchema = R"J({
  "type": "object",
  "properties": {
    "key": {"enum": ["max_log_file", "max_log_file_action", "space_left", "space_left_action", "admin_space_left",
                     "admin_space_left_action", "action_mail_acct", "disk_full_action", "disk_error_action",
                     "num_logs", "freq", "flush", "log_format", "log_group", "log_file", "write_logs", "local_events",
                     "verify_email", "priority_boost", "name_format", "overflow_action", "q_depth"]},
    "equals": {"type": ["string", "integer"], "description": "required value (case-insensitive for auditd's keywords)"},
    "one_of": {"type": "array", "minItems": 1, "items": {"type": "string"}, "description": "any of these values"},
    "at_least": {"type": "integer", "minimum": 0, "description": "numeric settings: lower bound"},
    "at_most": {"type": "integer", "minimum": 0, "description": "numeric settings: upper bound"},
    "require_explicit": {"type": "boolean", "description": "fail when only auditd's built-in default applies"}
  },
  "required": ["key"],
  "additionalProperties": false
})J";

const char* const kRulePresentSchema = R"J({
  "type": "object",
  "properties": {
    "rule": {"type": "string", "minLength": 2, "description": "the required rule in auditctl syntax (-a ... or -w ...)"},
    "arches": {"type": "array", "minItems": 1, "uniqueItems": true, "items": {"enum": ["b32", "b64"]},
               "description": "check the -a rule once per arch, with -F arch=<arch> added (the rule must not have one)"},
    "key": {"type": "string", "pattern": "^[^\\s]+$", "description": "the key the rule must carry (added as -k; the rule then has none)"},
    "key_match": {"enum": ["exact", "any"], "description": "exact (default): a different key fails with key_mismatch"},
    "source": {"enum": ["disk", "kernel", "both"],
               "description": "disk (default): the rules files; kernel: the loaded rules (live only); both"}
  },
  "required": ["rule"],
  "additionalProperties": false
})J";

const char* const kImmutableSchema = R"J({"type": "object", "additionalProperties": false})J";

const char* const kRulesControlSchema = R"J({
  "type": "object",
  "properties": {
    "option": {"enum": ["backlog", "failure", "enabled", "rate", "backlog_wait_time"],
               "description": "-b, -f, -e, -r or --backlog_wait_time of the rules files"},
    "equals": {"type": "integer", "minimum": 0},
    "at_least": {"type": "integer", "minimum": 0},
    "at_most": {"type": "integer", "minimum": 0}
  },
  "required": ["option"],
  "additionalProperties": false
})J";

const char* const kKernelStatusSchema = R"J({
  "type": "object",
  "properties": {
    "field": {"enum": ["enabled", "failure", "backlog_limit", "rate_limit", "backlog_wait_time"]},
    "equals": {"type": "integer", "minimum": 0},
    "at_least": {"type": "integer", "minimum": 0},
    "at_most": {"type": "integer", "minimum": 0}
  },
  "required": ["field"],
  "additionalProperties": false
})J";

const char* const kLoadedRulesMatchSchema = R"J({"type": "object", "additionalProperties": false})J";

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

struct Bounds {
    std::optional<long long> equals, at_least, at_most;
    bool any() const { return equals || at_least || at_most; }
    bool ok(long long v) const {
        return (!equals || v == *equals) && (!at_least || v >= *at_least) && (!at_most || v <= *at_most);
    }
    std::string text() const {
        std::vector<std::string> parts;
        if (equals) parts.push_back(std::to_string(*equals));
        if (at_least) parts.push_back("at least " + std::to_string(*at_least));
        if (at_most) parts.push_back("at most " + std::to_string(*at_most));
        return cfg::join(parts, " and ");
    }
};

Bounds bounds_from(const json& args) {
    Bounds b;
    if (args.contains("equals") && args["equals"].is_number_integer()) b.equals = args["equals"].get<long long>();
    if (args.contains("at_least")) b.at_least = args["at_least"].get<long long>();
    if (args.contains("at_most")) b.at_most = args["at_most"].get<long long>();
    return b;
}

// "-a always,exit -S x" + arch b64 -> "-a always,exit -F arch=b64 -S x"
std::optional<std::string> with_arch(const std::string& rule, const std::string& arch) {
    std::vector<std::string> tokens;
    for (std::size_t i = 0; i < rule.size();) {
        while (i < rule.size() && rule[i] == ' ') ++i;
        if (i >= rule.size()) break;
        auto end = rule.find(' ', i);
        if (end == std::string::npos) end = rule.size();
        tokens.push_back(rule.substr(i, end - i));
        i = end;
    }
    for (std::size_t i = 0; i + 1 < tokens.size(); ++i) {
        if (tokens[i] == "-a" || tokens[i] == "-A") {
            tokens.insert(tokens.begin() + static_cast<long>(i) + 2, {"-F", "arch=" + arch});
            return cfg::join(tokens, " ");
        }
    }
    return std::nullopt;
}

class Auditd : public plumb::sdk::Instance {
public:
    using Instance::Instance;

    plumb_status setting(const json& args, Reporter& r);
    plumb_status rule_present(const json& args, Reporter& r);
    plumb_status rules_immutable(const json& args, Reporter& r);
    plumb_status rules_control(const json& args, Reporter& r);
    plumb_status kernel_status(const json& args, Reporter& r);
    plumb_status loaded_rules_match(const json& args, Reporter& r);

private:
    IsDirFn is_dir() {
        return [this](const std::string& p) {
            auto st = host().stat(p, true);
            return st && st->type == plumb::FileType::directory;
        };
    }
    const Result<AuditdConf>& conf();
    const Result<RuleSet>& rules() {
        if (!rules_) rules_ = load_rules(host());
        return *rules_;
    }
    const Result<std::vector<Rule>>& kernel_rules() {
        if (!kernel_rules_) {
            auto sock = AuditSocket::open();
            kernel_rules_ = sock ? sock->list_rules() : Result<std::vector<Rule>>(std::unexpected(sock.error()));
        }
        return *kernel_rules_;
    }
    std::string rules_source() {
        const auto& set = rules();
        if (!set || set->files.empty()) return "/etc/audit/rules.d and /etc/audit/audit.rules";
        return cfg::join(set->files, ", ");
    }
    // Reasons that explain why some lines of the rules files are not loaded.
    void loading_problems(Reporter& r) {
        const auto& set = rules();
        if (!set) return;
        for (const auto& e : set->errors) r.reason("rules_line_rejected", "auditctl rejects " + e);
        if (set->stopped_at)
            r.reason("rules_loading_stops", "auditctl -R stops at " + *set->stopped_at +
                                                " (no -i/-c): the lines after it are not loaded");
    }

    std::optional<Result<AuditdConf>> conf_;
    std::optional<Result<RuleSet>> rules_;
    std::optional<Result<std::vector<Rule>>> kernel_rules_;
};

const Result<AuditdConf>& Auditd::conf() {
    if (conf_) return *conf_;
    auto text = host().read(kConfFile);
    if (!text) {
        if (text.error().code == ENOENT || text.error().code == ENOTDIR) {
            AuditdConf c;
            c.file = kConfFile;
            conf_ = c;  // auditd: "Config file doesn't exist, skipping" and runs on its defaults
        } else {
            conf_ = std::unexpected(text.error());
        }
        return *conf_;
    }
    AuditdConf c = parse_auditd_conf(*text, kConfFile);
    // load_config(): O_NOFOLLOW, owned by root, not world-writable, a regular file
    auto st = host().stat(kConfFile, false);
    if (st && !c.fatal) {
        if (st->type == plumb::FileType::symlink)
            c.fatal = std::string(kConfFile) + " is a symbolic link; auditd opens it with O_NOFOLLOW and refuses to start";
        else if (st->uid != 0)
            c.fatal = std::string(kConfFile) + " isn't owned by root (uid " + std::to_string(st->uid) + "); auditd refuses to start";
        else if (st->mode & 0002)
            c.fatal = std::string(kConfFile) + " is world writable; auditd refuses to start";
    }
    conf_ = std::move(c);
    return *conf_;
}

plumb_status Auditd::setting(const json& args, Reporter& r) {
    const std::string key = args.at("key").get<std::string>();
    auto kind = conf_kind(key);
    if (!kind) return r.error("invalid_argument", "auditd has no setting " + key);
    Bounds bounds = bounds_from(args);
    std::vector<std::string> allowed;
    if (args.contains("equals") && args["equals"].is_string()) allowed.push_back(args["equals"].get<std::string>());
    if (args.contains("one_of"))
        for (const auto& v : args["one_of"]) allowed.push_back(v.get<std::string>());
    const bool numeric = *kind == ConfKind::number || *kind == ConfKind::percent_or_number;
    if (!bounds.any() && allowed.empty()) return r.error("invalid_argument", "give equals, one_of, at_least or at_most for " + key);
    if (!numeric && (bounds.at_least || bounds.at_most))
        return r.error("invalid_argument", key + " is not numeric: at_least/at_most do not apply");
    if (numeric && !allowed.empty()) {
        for (const auto& a : allowed) {
            auto n = cfg::parse_integer(a);
            if (!n) return r.error("invalid_argument", "expected value " + a + " for " + key + " is not a number");
            bounds.equals = *n;
        }
        allowed.clear();
    }
    const bool case_insensitive = *kind != ConfKind::text;
    auto expected_text = [&] {
        if (numeric) return bounds.text();
        return allowed.size() == 1 ? allowed.front() : "one of " + cfg::join(allowed, ", ");
    };
    auto matches = [&](const std::string& value) -> std::optional<bool> {
        if (numeric) {
            if (!value.empty() && value.back() == '%') return std::nullopt;  // a share of the disk: not comparable
            auto n = cfg::parse_integer(value);
            return n && bounds.ok(*n);
        }
        for (const auto& a : allowed)
            if (case_insensitive ? lower(a) == lower(value) : a == value) return true;
        return false;
    };

    const auto& c = conf();
    if (!c) return r.error("config_unreadable", c.error().message);
    if (c->fatal) return r.fail("config_invalid", "auditd refuses to start on this file: " + *c->fatal + "; expected " + key + " = " + expected_text());
    for (const auto& n : c->notes) r.reason("line_skipped", n);

    const ConfEntry* e = c->find(key);
    if (!e) {
        const std::string def = conf_default(key);
        std::string why = c->exists ? key + " is not set in " + std::string(kConfFile)
                                    : std::string(kConfFile) + " does not exist";
        if (args.value("require_explicit", false))
            return r.fail("not_set", why + "; expected " + key + " = " + expected_text());
        auto ok = matches(def);
        if (ok && *ok) return r.pass("default_ok", why + "; auditd's default " + def + " satisfies " + expected_text());
        return r.fail("not_set_default", why + "; auditd's default " + key + " = " + def + " is not " + expected_text());
    }
    const std::string where = c->file + ":" + std::to_string(e->line);
    auto ok = matches(e->value);
    if (!ok)
        return r.fail("value_not_comparable",
                      key + " = " + e->value + " at " + where + " is a percentage of the disk; expected " + expected_text());
    if (*ok) return r.pass("value_ok", key + " = " + e->value + " at " + where + " (expected " + expected_text() + ")");
    return r.fail("value_mismatch", key + " = " + e->value + " at " + where + "; expected " + expected_text());
}

plumb_status Auditd::rule_present(const json& args, Reporter& r) {
    std::string text = args.at("rule").get<std::string>();
    if (args.contains("key")) {
        if (text.find(" -k") != std::string::npos || text.find("key=") != std::string::npos)
            return r.error("invalid_argument", "rule " + text + " has a key already; drop it or drop the key argument");
        text += " -k " + args["key"].get<std::string>();
    }
    const bool any_key = args.value("key_match", "exact") == "any";
    const std::string source = args.value("source", "disk");

    std::vector<std::string> wanted_texts;
    if (args.contains("arches")) {
        if (text.find("arch=") != std::string::npos)
            return r.error("invalid_argument", "rule " + text + " already has an arch field; drop it or drop arches");
        for (const auto& a : args["arches"]) {
            auto t = with_arch(text, a.get<std::string>());
            if (!t) return r.error("invalid_argument", "arches needs an -a/-A rule; got " + text);
            wanted_texts.push_back(*t);
        }
    } else {
        wanted_texts.push_back(text);
    }
    std::vector<Rule> wanted;
    for (const auto& t : wanted_texts) {
        auto parsed = parse_rule(t, is_dir());
        if (!parsed) return r.error("invalid_argument", "required rule " + t + ": " + parsed.error().message);
        wanted.push_back(std::move(*parsed));
    }

    struct Source {
        std::string name;
        const std::vector<Rule>* rules;
    };
    std::vector<Source> sources;
    bool check_disk = source != "kernel";
    bool check_kernel = source != "disk";
    if (check_kernel && !host().is_live()) {
        if (source == "kernel") return r.not_applicable("offline", "the loaded audit rules exist only on a running system");
        r.reason("kernel_not_checked", "offline image: only the rules files are checked");
        check_kernel = false;
    }
    if (check_disk) {
        const auto& set = rules();
        if (!set) return r.error("rules_unreadable", set.error().message);
        sources.push_back({rules_source(), &set->rules});
    }
    if (check_kernel) {
        const auto& k = kernel_rules();
        if (!k) return r.error("kernel_unavailable", k.error().message);
        sources.push_back({"the rules loaded in the kernel", &*k});
    }

    bool all_ok = true;
    for (const auto& src : sources) {
        for (const auto& want : wanted) {
            std::array<std::uint32_t, kMaskWords> keyed{}, unkeyed{};
            std::vector<std::string> keyed_at, other_keys_at;
            for (const auto& have : *src.rules) {
                if (have.list != want.list || have.action != want.action || have.fields != want.fields) continue;
                bool overlaps = false;  // a rule for other syscalls is no candidate
                for (std::size_t i = 0; i < kMaskWords; ++i) overlaps = overlaps || (have.mask[i] & want.mask[i]) != 0;
                if (!overlaps) continue;
                bool key_ok = any_key || have.keys == want.keys;
                for (std::size_t i = 0; i < kMaskWords; ++i) (key_ok ? keyed : unkeyed)[i] |= have.mask[i];
                std::string keys = have.keys.empty() ? "no key" : "key \"" + cfg::join(have.keys, "\", \"") + "\"";
                (key_ok ? keyed_at : other_keys_at).push_back(have.origin + (key_ok ? "" : " (" + keys + ")"));
            }
            const std::string shown = render(want);
            if (mask_covers(keyed, want)) {
                r.reason("rule_found", shown + " is in " + src.name + " at " + cfg::join(keyed_at, ", "));
                continue;
            }
            all_ok = false;
            std::array<std::uint32_t, kMaskWords> both{};
            for (std::size_t i = 0; i < kMaskWords; ++i) both[i] = keyed[i] | unkeyed[i];
            const std::string want_key = want.keys.empty() ? "no key" : "key \"" + cfg::join(want.keys, "\", \"") + "\"";
            if (!other_keys_at.empty() && mask_covers(both, want)) {
                r.reason("key_mismatch", shown + ": the same rule is in " + src.name + " at " + cfg::join(other_keys_at, ", ") +
                                             " with a different key; expected " + want_key);
            } else if (!keyed_at.empty() || !other_keys_at.empty()) {
                std::vector<std::string> at = keyed_at;
                at.insert(at.end(), other_keys_at.begin(), other_keys_at.end());
                r.reason("syscalls_missing", shown + ": rules with the same fields at " + cfg::join(at, ", ") +
                                                 " do not cover syscalls " + missing_syscalls(want, both));
            } else {
                r.reason("rule_missing", shown + " is not in " + src.name);
            }
        }
    }
    if (!all_ok && check_disk) loading_problems(r);
    return all_ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

plumb_status Auditd::rules_immutable(const json&, Reporter& r) {
    const auto& set = rules();
    if (!set) return r.error("rules_unreadable", set.error().message);
    const auto* e = set->last("-e");
    if (!e) {
        loading_problems(r);
        return r.fail("not_immutable", "no -e control is loaded from " + rules_source() + "; expected -e 2 as the last control");
    }
    if (e->control.value != "2")
        return r.fail("not_immutable", "-e " + e->control.value + " at " + e->origin + " is the last -e loaded from " +
                                           rules_source() + "; expected -e 2");
    // Rules after -e 2 in audit.rules are refused by the locked kernel
    bool refused = false;
    for (const auto& err : set->errors)
        if (err.find("locked by -e 2") != std::string::npos) {
            r.reason("refused_after_lock", "auditctl fails on " + err);
            refused = true;
        }
    if (refused) return r.fail("control_not_last", "-e 2 at " + e->origin + " comes before other rules or controls; it must be the last line");
    return r.pass("immutable", "-e 2 at " + e->origin + " is the last control loaded");
}

plumb_status Auditd::rules_control(const json& args, Reporter& r) {
    static const std::map<std::string, std::pair<std::string, std::string>> options = {
        {"backlog", {"-b", "64 (the kernel's default, or audit_backlog_limit= on the kernel command line)"}},
        {"failure", {"-f", "1 (printk)"}},
        {"enabled", {"-e", "1 once auditd starts"}},
        {"rate", {"-r", "0 (no limit)"}},
        {"backlog_wait_time", {"--backlog_wait_time", "60000 (the kernel's default)"}},
    };
    const std::string name = args.at("option").get<std::string>();
    const auto& [opt, def] = options.at(name);
    Bounds b = bounds_from(args);
    if (!b.any()) return r.error("invalid_argument", "give equals, at_least or at_most for " + name);
    const auto& set = rules();
    if (!set) return r.error("rules_unreadable", set.error().message);
    const auto* c = set->last(opt);
    if (!c) {
        loading_problems(r);
        return r.fail("not_set", opt + " is not set in " + rules_source() + " (kernel default " + def + "); expected " + opt + " " + b.text());
    }
    auto v = cfg::parse_integer(c->control.value);
    if (v && b.ok(*v)) return r.pass("value_ok", opt + " " + c->control.value + " at " + c->origin + " (expected " + b.text() + ")");
    return r.fail("value_mismatch", opt + " " + c->control.value + " at " + c->origin + "; expected " + b.text());
}

plumb_status Auditd::kernel_status(const json& args, Reporter& r) {
    if (!host().is_live()) return r.not_applicable("offline", "the kernel's audit status exists only on a running system");
    const std::string field = args.at("field").get<std::string>();
    Bounds b = bounds_from(args);
    if (!b.any()) return r.error("invalid_argument", "give equals, at_least or at_most for " + field);
    auto sock = AuditSocket::open();
    if (!sock) return r.error("kernel_unavailable", sock.error().message);
    auto st = sock->status();
    if (!st) return r.error("kernel_unavailable", st.error().message);
    std::uint32_t v = field == "enabled"             ? st->enabled
                      : field == "failure"           ? st->failure
                      : field == "backlog_limit"     ? st->backlog_limit
                      : field == "rate_limit"        ? st->rate_limit
                                                     : st->backlog_wait_time;
    std::string shown = std::to_string(v);
    if (field == "enabled") shown += v == 2 ? " (locked)" : v == 1 ? " (on)" : " (off)";
    if (b.ok(v)) return r.pass("value_ok", "kernel audit " + field + " is " + shown + " (expected " + b.text() + ")");
    return r.fail("value_mismatch", "kernel audit " + field + " is " + shown + "; expected " + b.text());
}

plumb_status Auditd::loaded_rules_match(const json&, Reporter& r) {
    if (!host().is_live()) return r.not_applicable("offline", "the loaded audit rules exist only on a running system");
    const auto& set = rules();
    if (!set) return r.error("rules_unreadable", set.error().message);
    const auto& kernel = kernel_rules();
    if (!kernel) return r.error("kernel_unavailable", kernel.error().message);

    std::vector<bool> used(kernel->size(), false);
    std::vector<const Rule*> not_loaded;
    for (const auto& d : set->rules) {
        bool found = false;
        for (std::size_t i = 0; i < kernel->size() && !found; ++i)
            if (!used[i] && same_rule((*kernel)[i], d)) used[i] = found = true;
        if (!found) not_loaded.push_back(&d);
    }
    std::vector<const Rule*> extra;
    for (std::size_t i = 0; i < kernel->size(); ++i)
        if (!used[i]) extra.push_back(&(*kernel)[i]);

    std::size_t listed = 0;
    for (const auto* d : not_loaded)
        if (listed++ < kMaxListedDifferences) r.reason("not_loaded", render(*d) + " at " + d->origin + " is not loaded in the kernel");
    for (const auto* k : extra)
        if (listed++ < kMaxListedDifferences) r.reason("not_on_disk", render(*k) + " is loaded in the kernel but not in " + rules_source());
    if (listed > kMaxListedDifferences)
        r.reason("more_differences", std::to_string(listed - kMaxListedDifferences) + " more differences not listed");
    if (!not_loaded.empty() || !extra.empty()) {
        loading_problems(r);
        return r.fail("rules_differ", std::to_string(not_loaded.size()) + " rule(s) of " + rules_source() + " not loaded, " +
                                          std::to_string(extra.size()) + " loaded rule(s) not on disk");
    }
    // Same rules: the kernel evaluates them in order (never rules first matters), so compare the order too.
    for (std::size_t i = 0; i < set->rules.size(); ++i)
        if (!same_rule(set->rules[i], (*kernel)[i]))
            return r.fail("order_differs", "the kernel's rule " + std::to_string(i + 1) + " is " + render((*kernel)[i]) +
                                               "; the rules files put " + render(set->rules[i]) + " (" + set->rules[i].origin +
                                               ") there");
    return r.pass("rules_match", "the " + std::to_string(kernel->size()) + " rule(s) loaded in the kernel equal those of " +
                                     rules_source() + ", in the same order");
}

const plumb::sdk::Procedure<Auditd> procedures[] = {
    {"setting", "an auditd.conf setting has the required value (auditd's parsing rules and defaults)", kSettingSchema, 0,
     &Auditd::setting},
    {"rule_present", "an audit rule, or an equivalent one, is in the rules files (augenrules) or loaded in the kernel",
     kRulePresentSchema, 0, &Auditd::rule_present},
    {"rules_immutable", "the rules files end with -e 2 (the audit configuration is locked until reboot)", kImmutableSchema,
     0, &Auditd::rules_immutable},
    {"rules_control", "a control (-b, -f, -e, -r, --backlog_wait_time) of the rules files", kRulesControlSchema, 0,
     &Auditd::rules_control},
    {"kernel_status", "the kernel's audit status (enabled, failure, backlog_limit, ...)", kKernelStatusSchema,
     PLUMB_PROC_LIVE_ONLY, &Auditd::kernel_status},
    {"loaded_rules_match", "the rules loaded in the kernel are those of the rules files, rule by rule",
     kLoadedRulesMatchSchema, PLUMB_PROC_LIVE_ONLY, &Auditd::loaded_rules_match},
};

}  // namespace

PLUMB_MODULE(auditd, "1.0.0", "Linux audit: auditd.conf, audit rules (augenrules/auditctl) and the kernel's loaded rules",
             Auditd, procedures)
