// plumb_journald: systemd-journald's configuration and storage, judged the way journald 252 itself reads them.
//
// The configuration is /etc/systemd/journald.conf plus journald.conf.d drop-ins (plumb::config::load_with_dropins),
// [Journal] section only, merged once per run. Each setting is replayed through journald's own parsing rules: an
// assignment journald cannot parse is ignored by journald and the previous value stays in effect, so that is what is
// compared; an empty value is a reset only where journald treats it so (Compress=).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/config/ini.hpp"
#include "plumb/config/ini_edit.hpp"
#include "plumb/config/keyvalue.hpp"
#include "plumb/config/text.hpp"
#include "plumb/config/units.hpp"
#include "plumb/module.hpp"

namespace {

using nlohmann::json;
using plumb::config::Assignment;
using plumb::config::MergedIni;
namespace cfg = plumb::config;
using cfg::join;
using cfg::octal;

constexpr const char* kMainFile = "/etc/systemd/journald.conf";
constexpr const char* kDropinDir = "systemd/journald.conf.d";
constexpr const char* kSection = "Journal";
// plumb's own drop-in: sorts after the usual NN- prefixes so its values win over site and vendor drop-ins.
constexpr const char* kPlumbDropin = "/etc/systemd/journald.conf.d/99-plumb.conf";
constexpr const char* kPlumbDropinHeader =
    "# Written by plumb (plumb fix): journald settings required by the compliance baseline.\n"
    "# Change them through the baseline's tailoring, not here: plumb fix sets them again.\n";
constexpr std::uint64_t kGiB = 1024ULL * 1024 * 1024;
constexpr std::uint64_t kMiB = 1024ULL * 1024;

enum class Kind { enumeration, boolean, compress, level, size, count, timespan, path };

struct Option {
    const char* name;
    Kind kind;
    const char* default_text;                  // as journald.conf(5) of systemd 252 documents it
    std::vector<const char*> values = {};      // enumeration: what journald accepts (case-sensitive)
    std::vector<const char*> aliases = {};     // legacy names writing the same setting
    bool zero_is_unlimited = false;            // timespan: 0 (and infinity) turn the limit off
    std::uint64_t default_cap = 0;             // size: default is a share of the file system, capped here
    const char* default_note = "";             // how the default is computed, for messages
};

const std::vector<Option>& options() {
    static const std::vector<Option> table = {
        {"Storage", Kind::enumeration, "auto", {"volatile", "persistent", "auto", "none"}},
        {"Compress", Kind::compress, "yes"},
        {"Seal", Kind::boolean, "yes"},
        {"SplitMode", Kind::enumeration, "uid", {"uid", "none"}},
        {"SyncIntervalSec", Kind::timespan, "5min"},
        {"RateLimitIntervalSec", Kind::timespan, "30s", {}, {"RateLimitInterval"}},
        {"RateLimitBurst", Kind::count, "10000"},
        {"SystemMaxUse", Kind::size, "", {}, {}, false, 4 * kGiB, "10% of the file system, capped at 4G"},
        {"SystemKeepFree", Kind::size, "", {}, {}, false, 4 * kGiB, "15% of the file system, capped at 4G"},
        {"SystemMaxFileSize", Kind::size, "", {}, {}, false, 128 * kMiB, "1/8 of SystemMaxUse, capped at 128M"},
        {"SystemMaxFiles", Kind::count, "100"},
        {"RuntimeMaxUse", Kind::size, "", {}, {}, false, 4 * kGiB, "10% of the file system, capped at 4G"},
        {"RuntimeKeepFree", Kind::size, "", {}, {}, false, 4 * kGiB, "15% of the file system, capped at 4G"},
        {"RuntimeMaxFileSize", Kind::size, "", {}, {}, false, 128 * kMiB, "1/8 of RuntimeMaxUse, capped at 128M"},
        {"RuntimeMaxFiles", Kind::count, "100"},
        {"MaxRetentionSec", Kind::timespan, "0", {}, {}, true},
        {"MaxFileSec", Kind::timespan, "1month", {}, {}, true},
        {"ForwardToSyslog", Kind::boolean, "no"},  // "yes" on Debian and derivatives, see forward_to_syslog_default
        {"ForwardToKMsg", Kind::boolean, "no"},
        {"ForwardToConsole", Kind::boolean, "no"},
        {"ForwardToWall", Kind::boolean, "yes"},
        {"TTYPath", Kind::path, "/dev/console"},
        {"MaxLevelStore", Kind::level, "debug"},
        {"MaxLevelSyslog", Kind::level, "debug"},
        {"MaxLevelKMsg", Kind::level, "notice"},
        {"MaxLevelConsole", Kind::level, "info"},
        {"MaxLevelWall", Kind::level, "emerg"},
        {"LineMax", Kind::size, "48K"},
        {"ReadKMsg", Kind::boolean, "yes"},
        {"Audit", Kind::boolean, "no"},
    };
    return table;
}

const Option* find_option(const std::string& name) {
    for (const auto& o : options())
        if (name == o.name) return &o;
    return nullptr;
}

const char* const kLevels[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};

// log_level_from_string(): names or 0..7.
std::optional<std::uint64_t> parse_level(const std::string& s) {
    for (std::uint64_t i = 0; i < 8; ++i)
        if (s == kLevels[i]) return i;
    if (s.size() == 1 && s[0] >= '0' && s[0] <= '7') return static_cast<std::uint64_t>(s[0] - '0');
    return std::nullopt;
}

// safe_atou / safe_atou64: optional leading whitespace, digits (strtoul base 0 also takes 0x.. and 0..), no sign.
std::optional<std::uint64_t> parse_count(const std::string& s) {
    std::size_t i = s.find_first_not_of(" \t\n\r");
    if (i == std::string::npos || s[i] == '-') return std::nullopt;
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(s.c_str() + i, &end, 0);
    if (errno != 0 || end == s.c_str() + i || *end != '\0') return std::nullopt;
    return v;
}

// One value of a setting as journald holds it.
struct Value {
    bool flag = false;          // boolean, compress
    std::uint64_t number = 0;   // size (bytes), count, timespan (usec), level
    std::string text;           // enumeration, path
    bool unlimited = false;     // timespan with zero_is_unlimited: 0 or infinity
    bool unknown_share = false; // size default depending on the file system: somewhere in [0, default_cap]
};

std::string show(const Option& o, const Value& v) {
    switch (o.kind) {
        case Kind::boolean:
        case Kind::compress: return v.flag ? "yes" : "no";
        case Kind::enumeration:
        case Kind::path: return v.text;
        case Kind::level: return kLevels[v.number];
        case Kind::count: return std::to_string(v.number);
        case Kind::size: return v.unknown_share ? std::string(o.default_note) : cfg::format_size(v.number);
        case Kind::timespan:
            if (v.unlimited) return v.number == 0 ? "0 (no limit)" : "infinity (no limit)";
            return cfg::format_timespan_usec(v.number);
    }
    return "";
}

// What journald makes of one assignment; nullopt when it would log "Failed to parse ..., ignoring".
std::optional<Value> parse_value(const Option& o, const std::string& raw) {
    Value v;
    switch (o.kind) {
        case Kind::enumeration:
            if (std::find_if(o.values.begin(), o.values.end(), [&](const char* x) { return raw == x; }) == o.values.end())
                return std::nullopt;
            v.text = raw;
            return v;
        case Kind::path:
            // config_parse_path: an absolute path; empty resets to the built-in default
            if (raw.empty()) {
                v.text = o.default_text;
                return v;
            }
            if (raw.front() != '/') return std::nullopt;
            v.text = raw;
            return v;
        case Kind::boolean: {
            auto b = cfg::parse_boolean(raw);
            if (!b) return std::nullopt;
            v.flag = *b;
            return v;
        }
        case Kind::compress: {
            // config_parse_compress: empty = default (on); 1/0; boolean; else a size threshold that enables it
            if (raw.empty() || raw == "1") {
                v.flag = true;
                return v;
            }
            if (raw == "0") return v;
            if (auto b = cfg::parse_boolean(raw)) {
                v.flag = *b;
                return v;
            }
            if (cfg::parse_size(raw)) {
                v.flag = true;
                return v;
            }
            return std::nullopt;
        }
        case Kind::level: {
            auto l = parse_level(raw);
            if (!l) return std::nullopt;
            v.number = *l;
            return v;
        }
        case Kind::size: {
            auto s = cfg::parse_size(raw);
            if (!s) return std::nullopt;
            v.number = *s;
            return v;
        }
        case Kind::count: {
            auto c = parse_count(raw);
            if (!c) return std::nullopt;
            v.number = *c;
            return v;
        }
        case Kind::timespan: {
            auto t = cfg::parse_timespan_usec(raw);
            if (!t) return std::nullopt;
            v.number = *t;
            v.unlimited = o.zero_is_unlimited && (*t == 0 || *t == cfg::usec_infinity);
            return v;
        }
    }
    return std::nullopt;
}

std::string accepted_values(const Option& o) {
    switch (o.kind) {
        case Kind::enumeration:
            return "one of " + join(std::vector<std::string>(o.values.begin(), o.values.end()), ", ") + " (lower case)";
        case Kind::boolean: return "a boolean (yes/no, true/false, on/off, 1/0)";
        case Kind::compress: return "a boolean or a size threshold";
        case Kind::level: return "a log level (emerg..debug or 0..7)";
        case Kind::size: return "a size in bytes with an optional K, M, G, T, P or E suffix (no percentages)";
        case Kind::count: return "a non-negative integer";
        case Kind::timespan: return "a time span such as 30s, 5min, 1month, 1y";
        case Kind::path: return "an absolute path";
    }
    return "";
}

std::string where(const Assignment& a) { return a.file + ":" + std::to_string(a.line); }

struct Expectation {
    std::string op;        // "equals", "at_most", "at_least"
    Value value;
    std::string shown;     // as written in the arguments
};

std::string json_text(const json& j) { return j.is_string() ? j.get<std::string>() : j.dump(); }

// Turns an expected value from the arguments into a Value of the option's kind; error message when it is not one.
std::optional<std::string> expected_value(const Option& o, const json& j, Value& out) {
    std::string text = json_text(j);
    switch (o.kind) {
        case Kind::boolean:
        case Kind::compress:
            if (j.is_boolean()) {
                out.flag = j.get<bool>();
                return std::nullopt;
            }
            if (auto b = cfg::parse_boolean(text)) {
                out.flag = *b;
                return std::nullopt;
            }
            break;
        case Kind::count:
            if (j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0)) {
                out.number = j.get<std::uint64_t>();
                return std::nullopt;
            }
            if (j.is_string())
                if (auto c = parse_count(text)) {
                    out.number = *c;
                    return std::nullopt;
                }
            break;
        case Kind::timespan:
            if (j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0)) {
                text = std::to_string(j.get<std::uint64_t>());  // seconds, as journald reads a bare number
            }
            if (auto v = parse_value(o, text)) {
                out = *v;
                return std::nullopt;
            }
            break;
        case Kind::size:
            if (j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0)) {
                out.number = j.get<std::uint64_t>();
                return std::nullopt;
            }
            [[fallthrough]];
        default:
            if (j.is_string())
                if (auto v = parse_value(o, text)) {
                    out = *v;
                    return std::nullopt;
                }
            break;
    }
    return "expected value " + text + " for " + o.name + " is not " + accepted_values(o);
}

// nullopt: cannot be decided (a size default that depends on the file system).
std::optional<bool> satisfies(const Option& o, const Value& actual, const Expectation& e) {
    switch (o.kind) {
        case Kind::boolean:
        case Kind::compress: return actual.flag == e.value.flag;
        case Kind::enumeration:
        case Kind::path: return actual.text == e.value.text;
        case Kind::level:
        case Kind::count:
            if (e.op == "equals") return actual.number == e.value.number;
            return e.op == "at_most" ? actual.number <= e.value.number : actual.number >= e.value.number;
        case Kind::size:
            if (actual.unknown_share) {
                // the default lies in [0, cap]
                if (e.op == "at_most" && o.default_cap <= e.value.number) return true;
                if (e.op == "at_least" && e.value.number == 0) return true;
                return std::nullopt;
            }
            if (e.op == "equals") return actual.number == e.value.number;
            return e.op == "at_most" ? actual.number <= e.value.number : actual.number >= e.value.number;
        case Kind::timespan: {
            // "no limit" is larger than every limit
            if (e.op == "equals") {
                if (actual.unlimited || e.value.unlimited) return actual.unlimited == e.value.unlimited;
                return actual.number == e.value.number;
            }
            if (e.op == "at_most") {
                if (e.value.unlimited) return true;
                return !actual.unlimited && actual.number <= e.value.number;
            }
            if (actual.unlimited) return true;
            return !e.value.unlimited && actual.number >= e.value.number;
        }
    }
    return false;
}

std::string describe_expectation(const Expectation& e) {
    if (e.op == "equals") return e.shown;
    return (e.op == "at_most" ? "at most " : "at least ") + e.shown;
}

struct SettingCheck;

class Journald : public plumb::sdk::Instance {
public:
    using Instance::Instance;

    plumb_status setting(const json& args, plumb::sdk::Reporter& r);
    plumb_status remediate_setting(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r);
    plumb_status journal_files(const json& args, plumb::sdk::Reporter& r);

private:
    SettingCheck check_setting(const json& args);
    const plumb::Result<MergedIni>& config() {
        if (!config_) config_ = cfg::load_with_dropins(host(), kMainFile, kDropinDir);
        return *config_;
    }
    // Debian (and derivatives) patch journald to forward to syslog by default; upstream 252 does not.
    bool debian_family() {
        if (!debian_) {
            debian_ = false;
            for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
                auto text = host().read(path);
                if (!text) continue;
                cfg::KeyValueSyntax syntax;
                syntax.strip_quotes = true;
                auto kv = cfg::parse_key_value(*text, path, syntax);
                std::string ids;
                if (auto* id = kv.find("ID")) ids += " " + id->value;
                if (auto* like = kv.find("ID_LIKE")) ids += " " + like->value;
                ids += " ";
                debian_ = ids.find(" debian ") != std::string::npos;
                break;
            }
        }
        return *debian_;
    }
    Value default_value(const Option& o, std::string& note) {
        Value v;
        note = "systemd default";
        if (o.kind == Kind::size && o.default_cap != 0) {
            v.unknown_share = true;
            return v;
        }
        std::string text = o.default_text;
        if (std::string(o.name) == "ForwardToSyslog" && debian_family()) {
            text = "yes";
            note = "systemd default on Debian";
        }
        return *parse_value(o, text);
    }

    std::optional<plumb::Result<MergedIni>> config_;
    std::optional<bool> debian_;
};

// The verdict on one `setting` call, computed without reporting so audit and remediation share it.
struct SettingCheck {
    plumb_status status = PLUMB_STATUS_ERROR;
    std::string code, phrase;
    std::string parse_aborted;                    // a reason to add first, or empty
    const Option* option = nullptr;
    std::vector<Expectation> expectations;
    std::vector<const Assignment*> assignments;   // every assignment of the option, in application order
};

SettingCheck Journald::check_setting(const json& args) {
    SettingCheck c;
    auto error = [&](std::string code, std::string phrase) {
        c.status = PLUMB_STATUS_ERROR;
        c.code = std::move(code);
        c.phrase = std::move(phrase);
        return c;
    };
    const std::string name = args.at("option").get<std::string>();
    const Option* o = find_option(name);
    if (!o) return error("invalid_argument", "journald has no setting " + name);
    c.option = o;

    for (const char* op : {"equals", "at_most", "at_least"}) {
        if (!args.contains(op)) continue;
        Expectation e{op, {}, json_text(args[op])};
        if (auto err = expected_value(*o, args[op], e.value)) return error("invalid_argument", *err);
        c.expectations.push_back(std::move(e));
    }
    if (c.expectations.empty()) return error("invalid_argument", "give equals, at_most or at_least for " + name);
    const bool require_explicit = args.value("require_explicit", false);

    const auto& merged = config();
    if (!merged) return error("config_unreadable", merged.error().message);

    // Replay every assignment the way journald applies it: invalid ones are ignored and leave the previous value.
    std::string default_note;
    Value effective = default_value(*o, default_note);
    const Assignment* source = nullptr;
    const Assignment* ignored = nullptr;  // an invalid assignment after the one in effect
    for (const auto& a : merged->assignments) {
        if (a.section != kSection) continue;
        bool match = a.key == o->name;
        for (const char* alias : o->aliases) match = match || a.key == alias;
        if (!match) continue;
        c.assignments.push_back(&a);
        if (auto v = parse_value(*o, a.value)) {
            effective = *v;
            source = &a;
            ignored = nullptr;
        } else {
            ignored = &a;
        }
    }

    const std::string wanted = [&] {
        std::vector<std::string> parts;
        for (const auto& e : c.expectations) parts.push_back(describe_expectation(e));
        return join(parts, " and ");
    }();
    const std::string origin = source ? "from " + where(*source) : "the " + default_note;
    const std::string actual = name + "=" + show(*o, effective);
    auto verdict = [&](plumb_status status, std::string code, std::string phrase) {
        c.status = status;
        c.code = std::move(code);
        c.phrase = std::move(phrase);
        return c;
    };

    if (!merged->fatal.empty()) {
        c.parse_aborted = merged->fatal;
        if (!merged->not_applied.empty()) c.parse_aborted += "; not applied: " + join(merged->not_applied, ", ");
    }

    if (ignored) {
        return verdict(PLUMB_STATUS_FAIL, "invalid_value",
                       name + "=" + ignored->value + " at " + where(*ignored) + " is not " + accepted_values(*o) +
                           "; journald ignores it and uses " + actual + " (" + origin + "); expected " + wanted);
    }
    if (!source && require_explicit) {
        std::string files = merged->files.empty() ? "no configuration file exists" : "searched " + join(merged->files, ", ");
        return verdict(PLUMB_STATUS_FAIL, "not_set",
                       name + " is not set explicitly (" + files + "); the " + default_note + " is " +
                           show(*o, effective) + "; expected " + wanted + " set explicitly");
    }

    std::vector<std::string> failed;
    bool undecided = false;
    for (const auto& e : c.expectations) {
        auto ok = satisfies(*o, effective, e);
        if (!ok) undecided = true;
        if (!ok || !*ok) failed.push_back(describe_expectation(e));
    }
    if (failed.empty()) {
        if (source) return verdict(PLUMB_STATUS_PASS, "value_ok", actual + " " + origin + " satisfies " + wanted);
        return verdict(PLUMB_STATUS_PASS, "default_ok",
                       name + " is not set; the " + default_note + " " + show(*o, effective) + " satisfies " + wanted);
    }
    if (!source) {
        std::string why = undecided ? " depends on the file system size and cannot be shown to be " : " is not ";
        return verdict(PLUMB_STATUS_FAIL, "not_set_default",
                       name + " is not set; the " + default_note + " " + show(*o, effective) + why +
                           join(failed, " and ") + "; expected " + wanted);
    }
    return verdict(PLUMB_STATUS_FAIL, "value_mismatch", actual + " " + origin + "; expected " + wanted);
}

plumb_status Journald::setting(const json& args, plumb::sdk::Reporter& r) {
    SettingCheck c = check_setting(args);
    if (!c.parse_aborted.empty()) r.reason("parse_aborted", c.parse_aborted);
    r.reason(c.code, c.phrase);
    return c.status;
}

// The value to write for the expectations: the required value itself, or the bound of a limit (at_most wins when
// both are given: a value at the upper bound satisfies a lower bound below it).
std::string value_to_write(const Option& o, const std::vector<Expectation>& expectations) {
    const Expectation* e = &expectations.front();
    for (const auto& x : expectations)
        if (x.op == "at_most") e = &x;
    switch (o.kind) {
        case Kind::boolean:
        case Kind::compress: return e->value.flag ? "yes" : "no";
        case Kind::enumeration:
        case Kind::path: return e->value.text;
        case Kind::level: return kLevels[e->value.number];
        default: return e->shown;  // sizes, counts and time spans as the baseline wrote them (journald parses them)
    }
}

// Remediation: the value goes into plumb's own drop-in, /etc/systemd/journald.conf.d/99-plumb.conf. Assignments of
// the option in drop-ins applied after it would still win: in /etc or /run they are commented out in place; a
// vendor drop-in (/usr/lib, /usr/local/lib) is masked the systemd way, by a copy of the same name in /etc with only
// that line commented out. journald reads its configuration at start, so it is restarted.
plumb_status Journald::remediate_setting(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r) {
    SettingCheck before = check_setting(args);
    if (before.status == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.phrase);
    if (before.status != PLUMB_STATUS_FAIL) return r.error(before.code, before.phrase);
    const Option& o = *before.option;
    const std::string value = value_to_write(o, before.expectations);

    auto current = host().read(kPlumbDropin);
    std::string text;
    if (current) text = std::string(*current);
    else if (current.error().code == ENOENT) text = kPlumbDropinHeader;
    else return r.error("config_unreadable", current.error().message);
    if (auto ok = planner.write_file(kPlumbDropin, cfg::ini_set(text, kSection, o.name, value), 0644,
                                     std::string("set ") + o.name + "=" + value);
        !ok)
        return r.error("plan_failed", ok.error().message);
    config_.reset();  // reads now see the planned drop-in

    SettingCheck after = check_setting(args);
    for (int round = 0; after.status == PLUMB_STATUS_FAIL && round < 16; ++round) {
        // Find the first assignment of the option applied after plumb's drop-in and neutralise it.
        const Assignment* later = nullptr;
        bool seen_ours = false;
        for (const Assignment* a : after.assignments) {
            if (a->file == kPlumbDropin) seen_ours = true;
            else if (seen_ours) {
                later = a;
                break;
            }
        }
        if (!later) break;
        const std::string note = std::string("disabled by plumb (") + o.name + " is set in " + kPlumbDropin + ")";
        std::string target = later->file;
        if (!target.starts_with("/etc/") && !target.starts_with("/run/"))
            target = std::string("/etc/") + kDropinDir + target.substr(target.rfind('/'));  // masks the vendor file
        auto source_text = host().read(later->file);
        if (!source_text) return r.error("config_unreadable", source_text.error().message);
        if (auto ok = planner.write_file(target, cfg::ini_comment_out(*source_text, later->line, note), 0644,
                                         "comment out " + std::string(o.name) + " at " + where(*later) +
                                             (target == later->file ? "" : " (masking copy of " + later->file + ")"));
            !ok)
            return r.error("plan_failed", ok.error().message);
        config_.reset();
        after = check_setting(args);
    }
    if (after.status != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning " + std::string(o.name) + "=" + value + " in " + kPlumbDropin +
                                             " the setting would still not comply: " + after.phrase);
    if (auto ok = planner.service("systemd-journald.service", "restart", "journald reads journald.conf at start"); !ok)
        return r.error("plan_failed", ok.error().message);
    return r.fail("planned", before.phrase + "; planned " + o.name + "=" + value + " in " + kPlumbDropin);
}

plumb_status Journald::journal_files(const json& args, plumb::sdk::Reporter& r) {
    const std::string path = args.value("path", std::string("/var/log/journal"));
    const std::string max_mode_text = args.value("max_mode", std::string("0640"));
    const auto max_mode = static_cast<std::uint32_t>(std::stoul(max_mode_text, nullptr, 8));

    auto top = host().list_dir(path);
    if (!top) {
        if (top.error().code == ENOENT) return r.pass("no_journal_files", path + " does not exist: no persistent journal files");
        return r.error("unreadable", top.error().message);
    }
    // journald writes <path>/<machine-id>/*.journal (and *.journal~ for files it found corrupt)
    std::vector<std::string> candidates;
    for (const auto& name : *top) {
        std::string p = path + "/" + name;
        auto st = host().stat(p, false);
        if (!st) continue;
        if (st->type == plumb::FileType::directory) {
            auto inner = host().list_dir(p);
            if (!inner) return r.error("unreadable", inner.error().message);
            for (const auto& f : *inner) candidates.push_back(p + "/" + f);
        } else {
            candidates.push_back(p);
        }
    }
    std::size_t checked = 0;
    bool ok = true;
    for (const auto& p : candidates) {
        if (!p.ends_with(".journal") && !p.ends_with(".journal~")) continue;
        auto st = host().stat(p, false);
        if (!st) return r.error("unreadable", st.error().message);
        if (st->type != plumb::FileType::regular) continue;
        ++checked;
        if (std::uint32_t extra = st->mode & ~max_mode) {
            r.reason("wrong_mode", p + " has mode " + octal(st->mode) + ", which exceeds the maximum " + octal(max_mode) +
                                       " (extra bits " + octal(extra) + ")");
            ok = false;
        }
    }
    if (!ok) return PLUMB_STATUS_FAIL;
    if (checked == 0) return r.pass("no_journal_files", "no journal files under " + path);
    return r.pass("ok", std::to_string(checked) + " journal files under " + path + " have modes within " + octal(max_mode));
}

// --- argument schemas ----------------------------------------------------------------------------------------

json names_of(Kind kind) {
    json names = json::array();
    for (const auto& o : options()) {
        if (o.kind != kind) continue;
        names.push_back(o.name);
        for (const char* a : o.aliases) names.push_back(a);
    }
    return names;
}

json setting_branch(const json& option_names, const json& value_schema, bool ordered) {
    json props = {{"option", {{"enum", option_names}}}, {"equals", value_schema}, {"require_explicit", {{"type", "boolean"}}}};
    if (ordered) {
        props["at_most"] = value_schema;
        props["at_least"] = value_schema;
    }
    return {{"properties", props}, {"additionalProperties", false}};
}

std::string build_setting_schema() {
    const json nonneg = {{"type", "integer"}, {"minimum", 0}};
    const json boolean_value = {{"anyOf", json::array({{{"type", "boolean"}},
                                                       {{"enum", {"yes", "no", "true", "false", "on", "off", "y", "n",
                                                                  "t", "f", "1", "0"}}}})}};
    const json size_value = {{"anyOf", json::array({nonneg, {{"type", "string"},
                                                             {"pattern", "^[0-9]+(\\.[0-9]+)?[KMGTPE]?$"}}})}};
    const json time_value = {{"anyOf", json::array({nonneg, {{"type", "string"},
                                                             {"pattern", "^(infinity|[0-9][0-9a-zA-Z. ]*)$"}}})}};
    json level_names = json::array();
    for (const char* l : kLevels) level_names.push_back(l);
    for (int i = 0; i < 8; ++i) level_names.push_back(std::to_string(i));

    json branches = json::array();
    for (const auto& o : options()) {
        if (o.kind != Kind::enumeration) continue;
        json values = json::array();
        for (const char* v : o.values) values.push_back(v);
        branches.push_back(setting_branch(json::array({o.name}), {{"enum", values}}, false));
    }
    json bool_names = names_of(Kind::boolean);
    for (const auto& n : names_of(Kind::compress)) bool_names.push_back(n);
    branches.push_back(setting_branch(bool_names, boolean_value, false));
    branches.push_back(setting_branch(names_of(Kind::level), {{"enum", level_names}}, true));
    branches.push_back(setting_branch(names_of(Kind::size), size_value, true));
    branches.push_back(setting_branch(names_of(Kind::count), nonneg, true));
    branches.push_back(setting_branch(names_of(Kind::timespan), time_value, true));
    branches.push_back(setting_branch(names_of(Kind::path), {{"type", "string"}, {"pattern", "^/"}}, false));

    json all_names = json::array();
    for (const auto& o : options()) {
        all_names.push_back(o.name);
        for (const char* a : o.aliases) all_names.push_back(a);
    }
    json schema = {
        {"type", "object"},
        {"properties",
         {{"option", {{"type", "string"}, {"enum", all_names}}},
          {"equals", json::object()},
          {"at_most", json::object()},
          {"at_least", json::object()},
          {"require_explicit", {{"type", "boolean"}}}}},
        {"required", {"option"}},
        {"additionalProperties", false},
        {"anyOf", json::array({{{"required", {"equals"}}}, {{"required", {"at_most"}}}, {{"required", {"at_least"}}}})},
        {"oneOf", branches},
    };
    return schema.dump();
}

const std::string kSettingSchema = build_setting_schema();

constexpr const char* kJournalFilesSchema = R"({
  "type": "object",
  "properties": {
    "path": {"type": "string", "pattern": "^/"},
    "max_mode": {"type": "string", "pattern": "^[0-7]{3,4}$"}
  },
  "additionalProperties": false
})";

const plumb::sdk::Procedure<Journald> kProcedures[] = {
    {"setting", "a journald.conf [Journal] setting, merged with drop-ins, compared to an expected value",
     kSettingSchema.c_str(), 0, &Journald::setting, &Journald::remediate_setting},
    {"journal_files", "journal files under the persistent journal directory have modes within a maximum",
     kJournalFilesSchema, 0, &Journald::journal_files},
};

}  // namespace

PLUMB_MODULE(journald, "1.0.0", "systemd-journald configuration and storage", Journald, kProcedures)
