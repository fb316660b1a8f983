// plumb_auditd: the Linux audit daemon's configuration (auditd.conf), its rules as augenrules and auditctl load them,
// and, on a live system, the rules and status the kernel actually holds (read through libaudit's netlink calls).
// Remediation plans through the engine (it never writes a file itself): auditd.conf is edited on the line concerned;
// missing rules and controls go into plumb's own /etc/audit/rules.d/50-plumb.rules (or /etc/audit/audit.rules when
// rules.d is not used), -e into 99-finalize.rules; on a live host the added rules are loaded into the kernel through
// libaudit by apply_live, unless the kernel's rules are locked (-e 2), in which case the plan says a reboot is needed.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "conf.hpp"
#include "kernel.hpp"
#include "plumb/config/ini.hpp"
#include "plumb/config/keyvalue_edit.hpp"
#include "plumb/config/text.hpp"
#include "plumb/config/units.hpp"
#include "plumb/module.hpp"
#include "rules.hpp"

namespace {

using nlohmann::json;
using plumb::Result;
using plumb::sdk::Planner;
using plumb::sdk::Reporter;
using namespace plumb::auditd;
namespace cfg = plumb::config;

constexpr const char* kConfFile = "/etc/audit/auditd.conf";
constexpr const char* kRulesDir = "/etc/audit/rules.d";
constexpr const char* kAuditRules = "/etc/audit/audit.rules";
// plumb's rules file: one file, so that what plumb added is easy to see and to take back.
constexpr const char* kPlumbRules = "/etc/audit/rules.d/50-plumb.rules";
// augenrules keeps only the last -e of the files in `ls -v` order and puts it at the very end; 99-finalize.rules
// (the name CIS uses) sorts after the usual NN- prefixes. A later file with its own -e is neutralised in place.
constexpr const char* kFinalizeRules = "/etc/audit/rules.d/99-finalize.rules";
constexpr const char* kPlumbRulesHeader =
    "## Written by plumb (plumb fix): audit rules required by the compliance baseline.\n"
    "## Change them through the baseline's tailoring, not here: plumb fix adds missing rules again.\n";
constexpr const char* kFinalizeHeader = "## Written by plumb (plumb fix): make the audit configuration immutable (until reboot).\n";
// Mode of a file plumb creates under /etc/audit (CIS: audit configuration 0640 or stricter).
constexpr std::uint32_t kNewFileMode = 0640;
constexpr const char* kLiveAction = "load_rules";
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

// Reasons gathered before they are reported, so that a remediation can run a check again (against the planned
// files) without reporting that check. Same calls as Reporter.
class Collect {
public:
    void reason(std::string_view code, std::string_view phrase) { reasons_.emplace_back(code, phrase); }
    plumb_status pass(std::string_view code, std::string_view phrase) { return with(PLUMB_STATUS_PASS, code, phrase); }
    plumb_status fail(std::string_view code, std::string_view phrase) { return with(PLUMB_STATUS_FAIL, code, phrase); }
    plumb_status error(std::string_view code, std::string_view phrase) { return with(PLUMB_STATUS_ERROR, code, phrase); }
    plumb_status not_applicable(std::string_view code, std::string_view phrase) {
        return with(PLUMB_STATUS_NOTAPPLICABLE, code, phrase);
    }
    plumb_status emit(Reporter& r, plumb_status s) const {
        for (const auto& [code, phrase] : reasons_) r.reason(code, phrase);
        return s;
    }
    std::string summary() const {
        std::vector<std::string> phrases;
        for (const auto& [code, phrase] : reasons_) phrases.push_back(phrase);
        return cfg::join(phrases, "; ");
    }

private:
    plumb_status with(plumb_status s, std::string_view code, std::string_view phrase) {
        reason(code, phrase);
        return s;
    }
    std::vector<std::pair<std::string, std::string>> reasons_;
};

// How a required rule stands against a list of rules.
struct Coverage {
    bool ok = false;
    std::string code;  // rule_found, key_mismatch, syscalls_missing, rule_missing
    std::string phrase;
    std::string other_keys_at;  // key_mismatch: where the same rule is with another key
};

Coverage coverage(const std::vector<Rule>& rules, const Rule& want, bool any_key, const std::string& source_name) {
    std::array<std::uint32_t, kMaskWords> keyed{}, unkeyed{};
    std::vector<std::string> keyed_at, other_keys_at;
    for (const auto& have : rules) {
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
    if (mask_covers(keyed, want)) return {true, "rule_found", shown + " is in " + source_name + " at " + cfg::join(keyed_at, ", "), ""};
    std::array<std::uint32_t, kMaskWords> both{};
    for (std::size_t i = 0; i < kMaskWords; ++i) both[i] = keyed[i] | unkeyed[i];
    const std::string want_key = want.keys.empty() ? "no key" : "key \"" + cfg::join(want.keys, "\", \"") + "\"";
    if (!other_keys_at.empty() && mask_covers(both, want))
        return {false, "key_mismatch",
                shown + ": the same rule is in " + source_name + " at " + cfg::join(other_keys_at, ", ") +
                    " with a different key; expected " + want_key,
                cfg::join(other_keys_at, ", ")};
    if (!keyed_at.empty() || !other_keys_at.empty()) {
        std::vector<std::string> at = keyed_at;
        at.insert(at.end(), other_keys_at.begin(), other_keys_at.end());
        return {false, "syscalls_missing", shown + ": rules with the same fields at " + cfg::join(at, ", ") +
                                               " do not cover syscalls " + missing_syscalls(want, both), ""};
    }
    return {false, "rule_missing", shown + " is not in " + source_name, ""};
}

// The value remediation writes: the required value, the bound of a limit (at_most when both are given, as journald
// does), or the first of one_of.
struct SettingTarget {
    std::string key;    // canonical (lower case)
    std::string value;
};

// Lines with their terminators kept.
std::vector<std::string> lines_of(std::string_view text) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        out.emplace_back(text.substr(pos, end - pos));
        pos = end;
    }
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l;
    return out;
}

// The first auditctl token of a line ("-a", "-e", "--backlog_wait_time"), "" for comments and blank lines.
std::string first_token(std::string_view line) {
    std::string_view t = cfg::trim(line);
    if (t.empty() || t.front() == '#') return "";
    auto end = t.find_first_of(" \t");
    std::string tok(t.substr(0, end));
    if (tok.size() > 2 && tok[0] == '-' && tok[1] != '-') tok.resize(2);  // "-e2" is "-e 2" to auditctl
    if (auto eq = tok.find('='); eq != std::string::npos) tok.resize(eq);  // --backlog_wait_time=N
    return tok;
}

// "file:line" -> {file, line}
std::pair<std::string, unsigned> split_origin(const std::string& origin) {
    auto colon = origin.rfind(':');
    return {origin.substr(0, colon), static_cast<unsigned>(std::stoul(origin.substr(colon + 1)))};
}

// Parsed rules-file lines, kept for the whole process rather than per Instance: the engine closes every instance after
// each planned change, and each audit-rule remediation plans one, so a per-instance cache would parse plumb's own
// (growing) rules file again for every rule. Entries are pure (text + the is_dir answers they were checked against),
// so sharing them across instances and roots cannot change a result.
ParseCache& parse_cache() {
    static ParseCache cache;
    return cache;
}

class Auditd : public plumb::sdk::Instance {
public:
    using Instance::Instance;

    plumb_status setting(const json& args, Reporter& r) {
        Collect c;
        return c.emit(r, check_setting(args, c, nullptr));
    }
    plumb_status rule_present(const json& args, Reporter& r) {
        Collect c;
        return c.emit(r, check_rule_present(args, c, nullptr));
    }
    plumb_status rules_immutable(const json& args, Reporter& r) {
        Collect c;
        return c.emit(r, check_immutable(args, c));
    }
    plumb_status rules_control(const json& args, Reporter& r) {
        Collect c;
        return c.emit(r, check_control(args, c));
    }
    plumb_status kernel_status(const json& args, Reporter& r);
    plumb_status loaded_rules_match(const json& args, Reporter& r);

    plumb_status remediate_setting(const json& args, Planner& planner, Reporter& r);
    plumb_status remediate_rule_present(const json& args, Planner& planner, Reporter& r);
    plumb_status remediate_immutable(const json& args, Planner& planner, Reporter& r);
    plumb_status remediate_control(const json& args, Planner& planner, Reporter& r);
    int apply_live(const std::string& name, const json& payload, Reporter& r) override;

private:
    struct RuleNeeds {
        std::vector<Rule> wanted;
        std::vector<Coverage> disk;  // per wanted rule, when the disk was checked
    };

    plumb_status check_setting(const json& args, Collect& r, SettingTarget* target);
    plumb_status check_rule_present(const json& args, Collect& r, RuleNeeds* needs);
    plumb_status check_immutable(const json& args, Collect& r);
    plumb_status check_control(const json& args, Collect& r);

    bool uses_rules_d() {
        auto st = host().stat(kRulesDir, true);
        return st && st->type == plumb::FileType::directory;
    }
    Result<std::string> read_or_empty(const std::string& path, bool* exists = nullptr);
    // Plans `lines` (rules or controls, auditctl syntax) into plumb's rules file, or audit.rules without rules.d.
    // Lines of plumb's file whose first token is in `replaces` go (a control set again). Returns the file written.
    Result<std::string> plan_rule_lines(const std::vector<std::string>& lines, const std::vector<std::string>& replaces,
                                        Planner& planner, const std::string& why);
    // Plans `-e value` as the last -e augenrules or auditctl -R applies.
    Result<std::string> plan_enable(const std::string& value, Planner& planner);
    // Comments out the applied `option` lines from files other than `ours` until ours is the one applied (a later
    // file's -e, -b, -f wins in augenrules).
    Result<void> neutralise_later(const std::string& option, const std::string& ours, Planner& planner);
    // On a live host: a live action loading `texts` (canonical rules) that the kernel does not hold yet, or the
    // notice that they take effect at the next boot when the kernel's rules are locked.
    Result<void> plan_live(const std::vector<std::string>& texts, bool any_key, const std::string& file, Planner& planner,
                           std::string& outcome);
    // The unit action that makes auditd re-read auditd.conf, or nullopt (then a notice says what to do).
    std::optional<std::string> reload_action(std::string& why);

    IsDirFn is_dir() {
        return [this](const std::string& p) {
            auto st = host().stat(p, true);
            return st && st->type == plumb::FileType::directory;
        };
    }
    // is_dir for checks and planning, memoised: planned changes only write or remove files (a planned file can never
    // replace a directory, the engine cannot read one), so no answer changes while this instance lives. Not for
    // apply_live, which runs after the files are applied.
    IsDirFn planning_is_dir() {
        return [this](const std::string& p) {
            auto it = dir_answers_.find(p);
            if (it == dir_answers_.end()) {
                auto st = host().stat(p, true);
                it = dir_answers_.emplace(p, st && st->type == plumb::FileType::directory).first;
            }
            return it->second;
        };
    }
    const Result<AuditdConf>& conf();
    const Result<RuleSet>& rules() {
        if (!rules_) rules_ = load_rules(host(), &parse_cache(), planning_is_dir());
        return *rules_;
    }
    const Result<std::vector<Rule>>& kernel_rules() {
        if (!kernel_rules_) {
            auto sock = AuditSocket::open();
            kernel_rules_ = sock ? sock->list_rules() : Result<std::vector<Rule>>(std::unexpected(sock.error()));
        }
        return *kernel_rules_;
    }
    // After a planned change: reads see the plan, so parse again.
    void forget_files() {
        conf_.reset();
        rules_.reset();
    }
    std::string rules_source() {
        const auto& set = rules();
        if (!set || set->files.empty()) return "/etc/audit/rules.d and /etc/audit/audit.rules";
        return cfg::join(set->files, ", ");
    }
    // Reasons that explain why some lines of the rules files are not loaded.
    template <class R>
    void loading_problems(R& r) {
        const auto& set = rules();
        if (!set) return;
        for (const auto& e : set->errors) r.reason("rules_line_rejected", "auditctl rejects " + e);
        if (set->stopped_at)
            r.reason("rules_loading_stops", "auditctl -R stops at " + *set->stopped_at +
                                                " (no -i/-c): the lines after it are not loaded");
    }

    std::optional<Result<AuditdConf>> conf_;
    std::optional<Result<RuleSet>> rules_;
    std::map<std::string, bool> dir_answers_;
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

plumb_status Auditd::check_setting(const json& args, Collect& r, SettingTarget* target) {
    const std::string key = args.at("key").get<std::string>();
    auto kind = conf_kind(key);
    if (!kind) return r.error("invalid_argument", "auditd has no setting " + key);
    Bounds bounds = bounds_from(args);
    std::vector<std::string> allowed;
    if (args.contains("equals") && args["equals"].is_string()) allowed.push_back(args["equals"].get<std::string>());
    if (args.contains("one_of"))
        for (const auto& v : args["one_of"]) allowed.push_back(v.get<std::string>());
    const bool numeric = *kind == ConfKind::number || *kind == ConfKind::percent_or_number;
    if (!numeric && bounds.equals) {  // "equals": 0 for log_group: compared as the text auditd reads
        allowed.push_back(std::to_string(*bounds.equals));
        bounds.equals.reset();
    }
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
    if (target) {
        target->key = lower(key);
        if (!numeric) target->value = allowed.front();
        else if (bounds.equals) target->value = std::to_string(*bounds.equals);
        else target->value = std::to_string(bounds.at_most ? *bounds.at_most : *bounds.at_least);
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

plumb_status Auditd::check_rule_present(const json& args, Collect& r, RuleNeeds* needs) {
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
        auto parsed = parse_rule(t, planning_is_dir(), &parse_cache());
        if (!parsed) return r.error("invalid_argument", "required rule " + t + ": " + parsed.error().message);
        wanted.push_back(std::move(*parsed));
    }
    if (needs) needs->wanted = wanted;

    struct Source {
        std::string name;
        const std::vector<Rule>* rules;
        bool disk;
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
        sources.push_back({rules_source(), &set->rules, true});
    }
    if (check_kernel) {
        const auto& k = kernel_rules();
        if (!k) return r.error("kernel_unavailable", k.error().message);
        sources.push_back({"the rules loaded in the kernel", &*k, false});
    }

    bool all_ok = true;
    for (const auto& src : sources) {
        for (const auto& want : wanted) {
            Coverage c = coverage(*src.rules, want, any_key, src.name);
            if (needs && src.disk) needs->disk.push_back(c);
            all_ok = all_ok && c.ok;
            r.reason(c.code, c.phrase);
        }
    }
    if (!all_ok && check_disk) loading_problems(r);
    return all_ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

plumb_status Auditd::check_immutable(const json&, Collect& r) {
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

const std::map<std::string, std::pair<std::string, std::string>>& control_options() {
    static const std::map<std::string, std::pair<std::string, std::string>> options = {
        {"backlog", {"-b", "64 (the kernel's default, or audit_backlog_limit= on the kernel command line)"}},
        {"failure", {"-f", "1 (printk)"}},
        {"enabled", {"-e", "1 once auditd starts"}},
        {"rate", {"-r", "0 (no limit)"}},
        {"backlog_wait_time", {"--backlog_wait_time", "60000 (the kernel's default)"}},
    };
    return options;
}

plumb_status Auditd::check_control(const json& args, Collect& r) {
    const std::string name = args.at("option").get<std::string>();
    const auto& [opt, def] = control_options().at(name);
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

// ---- remediation ----

Result<std::string> Auditd::read_or_empty(const std::string& path, bool* exists) {
    auto text = host().read(path);
    if (exists) *exists = text.has_value();
    if (text) return std::string(*text);
    if (text.error().code == ENOENT) return std::string();
    return std::unexpected(text.error());
}

std::optional<std::string> Auditd::reload_action(std::string& why) {
    for (const char* unit : {"/etc/systemd/system/auditd.service", "/run/systemd/system/auditd.service",
                             "/usr/lib/systemd/system/auditd.service", "/lib/systemd/system/auditd.service"}) {
        auto text = host().read(unit);
        if (!text) continue;
        bool reload = false, refuse_stop = false;
        for (const auto& a : cfg::parse_ini(*text, unit).assignments) {
            if (a.section != "Service" && a.section != "Unit") continue;
            if (a.key == "ExecReload") reload = !a.value.empty();
            if (a.key == "RefuseManualStop") refuse_stop = cfg::parse_boolean(a.value).value_or(false);
        }
        if (reload) {
            why = "auditd re-reads auditd.conf on SIGHUP (ExecReload of " + std::string(unit) + ")";
            return "reload";
        }
        // No ExecReload (Debian's unit): a restart would also run augenrules --load, which applies -e 2 planned in
        // the same fix and locks the kernel's rules until reboot; so plumb leaves the restart to the operator.
        why = std::string(unit) + " has no ExecReload" + (refuse_stop ? " and refuses manual restarts" : "") +
              ": make auditd re-read auditd.conf with `auditctl --signal reload` (SIGHUP)";
        return std::nullopt;
    }
    why = "auditd.service is not installed: auditd reads auditd.conf when it starts";
    return std::nullopt;
}

// auditd.conf: the effective line of the key is rewritten (its spacing, comments and every other line kept), or
// "key = value" is appended. auditd re-reads auditd.conf on SIGHUP, which `systemctl reload auditd` sends where the
// unit has ExecReload (RHEL's refuses `systemctl restart`: RefuseManualStop=yes).
plumb_status Auditd::remediate_setting(const json& args, Planner& planner, Reporter& r) {
    Collect before;
    SettingTarget target;
    plumb_status st = check_setting(args, before, &target);
    if (st == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.summary());
    if (st != PLUMB_STATUS_FAIL) return before.emit(r, st);

    auto lst = host().stat(kConfFile, false);
    if (lst && lst->type != plumb::FileType::regular)
        return r.error("no_safe_change", std::string(kConfFile) + " is not a regular file (auditd opens it with O_NOFOLLOW); "
                                         "plumb does not replace it");
    bool exists = false;
    auto text = read_or_empty(kConfFile, &exists);
    if (!text) return r.error("config_unreadable", text.error().message);
    const auto& c = conf();
    if (!c) return r.error("config_unreadable", c.error().message);
    const ConfEntry* e = c->find(target.key);
    const cfg::KeyValueSyntax syntax{cfg::KeyValueSyntax::Separator::equals, true};
    std::string edited;
    std::string why;
    if (e) {
        edited = cfg::key_value_replace(*text, e->line, target.value, syntax);
        why = "set " + target.key + " = " + target.value + " at " + c->file + ":" + std::to_string(e->line);
    } else {
        edited = cfg::key_value_append(exists ? *text : "# Written by plumb (plumb fix).\n", target.key, target.value, " = ");
        why = "add " + target.key + " = " + target.value;
    }
    if (auto ok = planner.write_file(kConfFile, edited, kNewFileMode, why); !ok) return r.error("plan_failed", ok.error().message);
    forget_files();

    Collect after;
    if (check_setting(args, after, nullptr) != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning " + target.key + " = " + target.value + " in " + kConfFile +
                                             " the setting would still not comply: " + after.summary());
    std::string reload_why;
    if (auto action = reload_action(reload_why)) {
        if (auto ok = planner.service("auditd.service", *action, reload_why); !ok) return r.error("plan_failed", ok.error().message);
    } else if (auto ok = planner.notice(PLUMB_NOTICE_RESTART_REQUIRED, reload_why); !ok) {
        return r.error("plan_failed", ok.error().message);
    }
    return r.fail("planned", before.summary() + "; planned " + target.key + " = " + target.value + " in " + kConfFile);
}

Result<std::string> Auditd::plan_rule_lines(const std::vector<std::string>& lines, const std::vector<std::string>& replaces,
                                            Planner& planner, const std::string& why) {
    if (uses_rules_d()) {
        auto current = read_or_empty(kPlumbRules);
        if (!current) return std::unexpected(current.error());
        std::vector<std::string> kept;
        for (const auto& l : cfg::split_lines(*current)) {
            std::string tok = first_token(l);
            if (tok.empty() || std::find(replaces.begin(), replaces.end(), tok) != replaces.end()) continue;
            kept.emplace_back(cfg::trim(l));
        }
        for (const auto& l : lines)
            if (std::find(kept.begin(), kept.end(), l) == kept.end()) kept.push_back(l);
        // Sorted so that the file does not depend on the order rules were fixed in; order within the exit list
        // does not matter for "always" rules.
        std::stable_sort(kept.begin(), kept.end());
        std::string text = kPlumbRulesHeader;
        for (const auto& l : kept) text += l + "\n";
        if (auto ok = planner.write_file(kPlumbRules, text, kNewFileMode, why); !ok) return std::unexpected(ok.error());
        return std::string(kPlumbRules);
    }
    // audit.rules loaded as is by auditctl -R: the new lines go after the last rule, before the -e lines (with their
    // comments) that end the file, and never after an -e 2 (the locked kernel would refuse them).
    bool exists = false;
    auto current = read_or_empty(kAuditRules, &exists);
    if (!current) return std::unexpected(current.error());
    auto file = lines_of(exists ? *current : std::string(kPlumbRulesHeader));
    std::size_t last_other = 0;  // one past the last line that is not an -e, comment or blank
    std::optional<std::size_t> first_lock;
    for (std::size_t i = 0; i < file.size(); ++i) {
        std::string tok = first_token(file[i]);
        if (tok.empty()) continue;
        if (tok != "-e") last_other = i + 1;
        else if (!first_lock) {
            auto parsed = parse_line(file[i], nullptr);
            if (parsed && parsed->kind == ParsedLine::Kind::control && parsed->control.value == "2") first_lock = i;
        }
    }
    std::size_t pos = file.size();  // right after the last rule when -e lines (and their comments) end the file
    for (std::size_t i = last_other; i < file.size(); ++i)
        if (first_token(file[i]) == "-e") {
            pos = last_other;
            break;
        }
    if (first_lock) pos = std::min(pos, *first_lock);
    if (pos > 0 && !file[pos - 1].ends_with('\n')) file[pos - 1] += '\n';
    std::vector<std::string> added;
    for (const auto& l : lines)
        if (std::find(file.begin(), file.end(), l + "\n") == file.end()) added.push_back(l + "\n");
    file.insert(file.begin() + static_cast<long>(pos), added.begin(), added.end());
    if (auto ok = planner.write_file(kAuditRules, joined(file), kNewFileMode, why); !ok) return std::unexpected(ok.error());
    return std::string(kAuditRules);
}

Result<void> Auditd::neutralise_later(const std::string& option, const std::string& ours, Planner& planner) {
    for (int round = 0; round < 16; ++round) {
        forget_files();
        const auto& set = rules();
        if (!set) return std::unexpected(set.error());
        const auto* applied = set->last(option);
        if (!applied || applied->origin.starts_with(ours + ":")) return {};
        auto [file, line] = split_origin(applied->origin);
        auto text = host().read(file);
        if (!text) return std::unexpected(text.error());
        auto lines = lines_of(*text);
        if (line == 0 || line > lines.size()) return plumb::fail_invalid("no line " + std::to_string(line) + " in " + file);
        std::string& l = lines[line - 1];
        std::string ending = l.ends_with('\n') ? "\n" : "";
        l = "## disabled by plumb (" + option + " is set in " + ours + "): " + l.substr(0, l.size() - ending.size()) + ending;
        if (auto ok = planner.write_file(file, joined(lines), kNewFileMode,
                                         "comment out " + option + " at " + applied->origin + ": augenrules would apply it instead of " + ours);
            !ok)
            return std::unexpected(ok.error());
    }
    return plumb::fail_invalid("too many files set " + option);
}

Result<std::string> Auditd::plan_enable(const std::string& value, Planner& planner) {
    const std::string line = "-e " + value;
    const std::string why = "set " + line + " (the last control loaded)";
    if (uses_rules_d()) {
        bool exists = false;
        auto current = read_or_empty(kFinalizeRules, &exists);
        if (!current) return std::unexpected(current.error());
        auto file = lines_of(exists ? *current : std::string(kFinalizeHeader));
        std::optional<std::size_t> last_e;
        for (std::size_t i = 0; i < file.size(); ++i)
            if (first_token(file[i]) == "-e") last_e = i;
        if (last_e) {
            file[*last_e] = line + (file[*last_e].ends_with('\n') ? "\n" : "");
        } else {
            if (!file.empty() && !file.back().ends_with('\n')) file.back() += '\n';
            file.push_back(line + "\n");
        }
        if (auto ok = planner.write_file(kFinalizeRules, joined(file), kNewFileMode, why); !ok) return std::unexpected(ok.error());
        if (auto ok = neutralise_later("-e", kFinalizeRules, planner); !ok) return std::unexpected(ok.error());
        return std::string(kFinalizeRules);
    }
    bool exists = false;
    auto current = read_or_empty(kAuditRules, &exists);
    if (!current) return std::unexpected(current.error());
    auto file = lines_of(exists ? *current : std::string(kPlumbRulesHeader));
    // The last -e is replaced when nothing but comments follows it; otherwise -e goes at the very end.
    std::optional<std::size_t> last_e;
    std::size_t last_other = 0;
    for (std::size_t i = 0; i < file.size(); ++i) {
        std::string tok = first_token(file[i]);
        if (tok == "-e") last_e = i;
        else if (!tok.empty()) last_other = i + 1;
    }
    if (last_e && *last_e >= last_other) {
        file[*last_e] = line + (file[*last_e].ends_with('\n') ? "\n" : "");
    } else {
        if (!file.empty() && !file.back().ends_with('\n')) file.back() += '\n';
        file.push_back(line + "\n");
    }
    if (auto ok = planner.write_file(kAuditRules, joined(file), kNewFileMode, why); !ok) return std::unexpected(ok.error());
    return std::string(kAuditRules);
}

Result<void> Auditd::plan_live(const std::vector<std::string>& texts, bool any_key, const std::string& file, Planner& planner,
                               std::string& outcome) {
    if (!host().is_live() || texts.empty()) return {};
    auto sock = AuditSocket::open();
    auto st = sock ? sock->status() : Result<KernelStatus>(std::unexpected(sock.error()));
    if (!st) {
        outcome = "not loaded into the kernel (" + st.error().message + ")";
        return planner.notice(PLUMB_NOTICE_MANUAL_STEP, "the kernel's audit interface does not answer (" + st.error().message +
                                                            "): the rules planned in " + file + " are loaded when auditd next starts");
    }
    if (st->enabled == 2) {
        outcome = "not loaded: the kernel's audit rules are locked (-e 2)";
        return planner.notice(PLUMB_NOTICE_REBOOT_REQUIRED, "the kernel's audit rules are locked (-e 2) until reboot: the rules "
                                                            "planned in " + file + " take effect at the next boot");
    }
    auto loaded = sock->list_rules();
    if (!loaded) return std::unexpected(loaded.error());
    // Only what the kernel lacks, so that the undo deletes exactly the rules this action adds.
    std::vector<std::string> add;
    for (const auto& t : texts) {
        auto rule = parse_rule(t, planning_is_dir(), &parse_cache());
        if (!rule) return std::unexpected(rule.error());
        if (!coverage(*loaded, *rule, any_key, "kernel").ok) add.push_back(t);
    }
    if (add.empty()) {
        outcome = "already loaded in the kernel";
        return {};
    }
    outcome = "loaded into the kernel";
    return planner.live_action(kLiveAction, "load " + std::to_string(add.size()) + " audit rule(s) of " + file + " into the kernel",
                               json{{"add", add}}, json{{"delete", add}});
}

// Missing rules go into plumb's rules file in the canonical form `auditctl -l` prints (with the required key); a
// rule the site has with another key stays as it is and the required one is added beside it.
plumb_status Auditd::remediate_rule_present(const json& args, Planner& planner, Reporter& r) {
    Collect before;
    if (check_rule_present(args, before, nullptr) == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.summary());
    const std::string source = args.value("source", "disk");
    const bool any_key = args.value("key_match", "exact") == "any";
    // The files are the lasting fix, whatever the audit looks at.
    json disk_args = args;
    disk_args["source"] = "disk";
    Collect disk_before;
    RuleNeeds needs;
    plumb_status st = check_rule_present(disk_args, disk_before, &needs);
    if (st != PLUMB_STATUS_PASS && st != PLUMB_STATUS_FAIL) return disk_before.emit(r, st);

    std::vector<std::string> to_file, all;
    std::vector<std::string> notes;
    for (std::size_t i = 0; i < needs.wanted.size(); ++i) {
        all.push_back(render(needs.wanted[i]));
        if (i < needs.disk.size() && !needs.disk[i].ok) {
            to_file.push_back(all.back());
            if (needs.disk[i].code == "key_mismatch")
                notes.push_back("the site's rule at " + needs.disk[i].other_keys_at + " is left as it is");
        }
    }
    std::string file = uses_rules_d() ? kPlumbRules : kAuditRules;
    if (!to_file.empty()) {
        std::sort(notes.begin(), notes.end());
        notes.erase(std::unique(notes.begin(), notes.end()), notes.end());
        std::string why = "add " + cfg::join(to_file, "; ") + (notes.empty() ? "" : " (" + cfg::join(notes, "; ") + ")");
        auto written = plan_rule_lines(to_file, {}, planner, why);
        if (!written) return r.error("plan_failed", written.error().message);
        file = *written;
        forget_files();
        Collect after;
        if (check_rule_present(disk_args, after, nullptr) != PLUMB_STATUS_PASS)
            return r.error("no_safe_change", "after adding the rules to " + file + " they would still not be loaded: " + after.summary());
    }
    std::string live;
    if (auto ok = plan_live(source == "disk" ? to_file : all, any_key, file, planner, live); !ok)
        return r.error("plan_failed", ok.error().message);
    if (source != "disk" && live.starts_with("not loaded"))
        return r.error("no_safe_change", "the rules cannot be loaded into the running kernel now: " + live);
    std::string planned = to_file.empty() ? "the rules files have the rules" : "planned " + std::to_string(to_file.size()) + " rule(s) in " + file;
    if (!live.empty()) planned += ", " + live;
    return r.fail("planned", before.summary() + "; " + planned);
}

// -e 2 goes into 99-finalize.rules (or ends audit.rules). The running kernel is not locked now: that would also lock
// out the rollback of this very transaction; augenrules applies it at the next boot.
plumb_status Auditd::remediate_immutable(const json& args, Planner& planner, Reporter& r) {
    Collect before;
    plumb_status st = check_immutable(args, before);
    if (st == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.summary());
    if (st != PLUMB_STATUS_FAIL) return before.emit(r, st);
    auto file = plan_enable("2", planner);
    if (!file) return r.error("plan_failed", file.error().message);
    forget_files();
    Collect after;
    if (check_immutable(args, after) != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning -e 2 in " + *file + " the rules would still not be immutable: " + after.summary());
    if (host().is_live())
        if (auto ok = planner.notice(PLUMB_NOTICE_REBOOT_REQUIRED, "-e 2 in " + *file + " locks the audit rules at the next boot "
                                                                   "(plumb does not lock the running kernel)");
            !ok)
            return r.error("plan_failed", ok.error().message);
    return r.fail("planned", before.summary() + "; planned -e 2 in " + *file);
}

plumb_status Auditd::remediate_control(const json& args, Planner& planner, Reporter& r) {
    Collect before;
    plumb_status st = check_control(args, before);
    if (st == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.summary());
    if (st != PLUMB_STATUS_FAIL) return before.emit(r, st);
    const std::string name = args.at("option").get<std::string>();
    const std::string opt = control_options().at(name).first;
    Bounds b = bounds_from(args);
    const std::string value = std::to_string(b.equals ? *b.equals : b.at_most ? *b.at_most : *b.at_least);
    Result<std::string> file = std::string();
    if (opt == "-e") {
        file = plan_enable(value, planner);
    } else {
        file = plan_rule_lines({opt + " " + value}, {opt}, planner, "set " + opt + " " + value);
        if (file && uses_rules_d())
            if (auto ok = neutralise_later(opt, *file, planner); !ok) file = std::unexpected(ok.error());
    }
    if (!file) return r.error("plan_failed", file.error().message);
    forget_files();
    Collect after;
    if (check_control(args, after) != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning " + opt + " " + value + " in " + *file + " it would still not comply: " + after.summary());
    if (host().is_live())
        if (auto ok = planner.notice(PLUMB_NOTICE_MANUAL_STEP, opt + " " + value + " in " + *file +
                                                               " applies when augenrules loads the rules (auditd start or boot)");
            !ok)
            return r.error("plan_failed", ok.error().message);
    return r.fail("planned", before.summary() + "; planned " + opt + " " + value + " in " + *file);
}

// load_rules: {"add": [rule, ...]} adds the rules to the kernel through libaudit (all or none: the ones added are
// deleted again when one fails); {"delete": [rule, ...]} is its undo. The rules are auditctl lines parsed by the
// same parser the audit uses, so a watch on a directory becomes the same dir= rule auditctl would send.
int Auditd::apply_live(const std::string& name, const json& payload, Reporter& r) {
    if (name != kLiveAction) {
        r.reason("unknown_live_action", "auditd has no live action " + name);
        return -ENOTSUP;
    }
    const bool adding = payload.contains("add");
    const json& list = adding ? payload.at("add") : payload.at("delete");
    std::vector<RuleData> rules;
    for (const auto& t : list) {
        auto d = build_rule_data(t.get<std::string>(), is_dir());
        if (!d) {
            r.reason("invalid_rule", t.get<std::string>() + ": " + d.error().message);
            return -EINVAL;
        }
        rules.push_back(std::move(*d));
    }
    auto sock = AuditSocket::open();
    if (!sock) {
        r.reason("kernel_unavailable", sock.error().message);
        return -sock.error().code;
    }
    auto st = sock->status();
    if (!st) {
        r.reason("kernel_unavailable", st.error().message);
        return -st.error().code;
    }
    if (st->enabled == 2) {
        r.reason("rules_locked", "the kernel's audit rules are locked (-e 2) until reboot");
        return -EPERM;
    }
    if (!adding) {
        for (auto& d : rules) {
            auto ok = sock->delete_rule(d);
            if (!ok && ok.error().code != ENOENT) {  // already gone is what undo wants
                r.reason("delete_failed", ok.error().message);
                return -ok.error().code;
            }
        }
        return 0;
    }
    std::vector<RuleData*> added;
    for (auto& d : rules) {
        auto ok = sock->add_rule(d);
        if (ok) {
            added.push_back(&d);
            continue;
        }
        if (ok.error().code == EEXIST) continue;  // loaded since planning: nothing to add
        r.reason("add_failed", ok.error().message);
        for (auto it = added.rbegin(); it != added.rend(); ++it) (void)sock->delete_rule(**it);
        return -ok.error().code;
    }
    return 0;
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
     &Auditd::setting, &Auditd::remediate_setting},
    {"rule_present", "an audit rule, or an equivalent one, is in the rules files (augenrules) or loaded in the kernel",
     kRulePresentSchema, 0, &Auditd::rule_present, &Auditd::remediate_rule_present},
    {"rules_immutable", "the rules files end with -e 2 (the audit configuration is locked until reboot)", kImmutableSchema,
     0, &Auditd::rules_immutable, &Auditd::remediate_immutable},
    {"rules_control", "a control (-b, -f, -e, -r, --backlog_wait_time) of the rules files", kRulesControlSchema, 0,
     &Auditd::rules_control, &Auditd::remediate_control},
    {"kernel_status", "the kernel's audit status (enabled, failure, backlog_limit, ...)", kKernelStatusSchema,
     PLUMB_PROC_LIVE_ONLY, &Auditd::kernel_status},
    {"loaded_rules_match", "the rules loaded in the kernel are those of the rules files, rule by rule",
     kLoadedRulesMatchSchema, PLUMB_PROC_LIVE_ONLY, &Auditd::loaded_rules_match},
};

}  // namespace

PLUMB_MODULE(auditd, "1.0.0", "Linux audit: auditd.conf, audit rules (augenrules/auditctl) and the kernel's loaded rules",
             Auditd, procedures)
