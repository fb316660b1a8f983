// Audit rules as the kernel holds them, parsed from auditctl syntax the way auditctl -R does (libaudit builds the
// struct audit_rule_data) and normalised so that equivalent spellings compare equal:
//   -a always,exit == -a exit,always; -S a -S b == -S a,b; -k x == -F key=x; field order; syscall names vs numbers
//   (resolved per arch by libaudit); -w P -p wa == -a always,exit -F path=P -F perm=wa (dir= for a directory);
//   auid!=unset == auid!=-1 == auid!=4294967295.
// Kept literal: auid>=1000 is compared as the number 1000, never as UID_MIN from login.defs (auditctl 3.0.9 refuses
// auid>=UID_MIN as an unknown user).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plumb/error.hpp"
#include "plumb/file_source.hpp"

struct audit_rule_data;

namespace plumb::auditd {

constexpr std::size_t kMaskWords = 64;  // AUDIT_BITMASK_SIZE

struct Field {
    std::uint32_t id = 0;     // AUDIT_* field number
    std::uint32_t op = 0;     // AUDIT_EQUAL, AUDIT_NOT_EQUAL, ...
    std::uint32_t value = 0;  // numeric fields
    std::string text;         // string fields (path, dir, subj_*, obj_*, exe)
    bool is_string = false;
    auto operator<=>(const Field&) const = default;
};

struct Rule {
    std::uint32_t list = 0;    // AUDIT_FILTER_EXIT, _USER, _TASK, _EXCLUDE, _FS
    std::uint32_t action = 0;  // AUDIT_ALWAYS or AUDIT_NEVER
    bool prepend = false;      // -A: inserted at the head of its list
    std::array<std::uint32_t, kMaskWords> mask{};  // syscalls (the kernel's class bits cleared)
    std::vector<Field> fields;      // sorted, without the key
    std::vector<Field> raw_fields;  // as sent, without the key: the kernel's duplicate check is order sensitive
    std::vector<std::string> keys;  // sorted
    std::string origin;             // "file:line" or "kernel"
};

// Same list, action, syscalls, fields and keys (origin and -a/-A do not matter).
bool same_rule(const Rule& a, const Rule& b);
// Same except the keys.
bool same_except_keys(const Rule& a, const Rule& b);
// True when every syscall of `required` is in `mask`.
bool mask_covers(const std::array<std::uint32_t, kMaskWords>& mask, const Rule& required);
bool all_syscalls(const Rule& r);
// auditctl -l style text, e.g. "-a always,exit -F arch=b64 -S chmod,fchmod -F auid>=1000 -F auid!=-1 -F key=x".
std::string render(const Rule& r);
// Syscall names in `mask` missing from `have`, for messages.
std::string missing_syscalls(const Rule& required, const std::array<std::uint32_t, kMaskWords>& have);

// A kernel rule (AUDIT_LIST_RULES reply payload of `size` bytes).
Result<Rule> from_kernel(const audit_rule_data& data, std::size_t size);

// One line of a rules file. Watch paths are classified as directory or not by `is_dir` (auditctl stats them on the
// host it runs on; plumb looks inside the audited root).
using IsDirFn = std::function<bool(const std::string& path)>;

struct Control {
    std::string option;  // "-e", "-b", "-f", "-r", "--backlog_wait_time", "--loginuid-immutable", "-D", ...
    std::string value;   // "" when the option takes none
};

struct ParsedLine {
    enum class Kind { empty, rule, delete_rule, control, ignored } kind = Kind::empty;
    Rule rule;           // rule and delete_rule
    Control control;     // control
    bool ignore_errors = false;     // -i or -c on the line
    std::string note;               // ignored: why (e.g. "possible" is deprecated)
};

// Error: what auditctl would reject the line for.
Result<ParsedLine> parse_line(std::string_view line, const IsDirFn& is_dir);

// parse_line memoised by the line's text: planning re-reads the rules files after every planned change, and libaudit's
// parse dominates that. A line's result depends only on its text and on the is_dir answers its parse asked for (only
// -w/-W lines ask), so each entry keeps those answers and is reused only while is_dir still gives them; then one
// cache may serve several roots. Thread-safe.
class ParseCache {
public:
    Result<ParsedLine> parse(std::string_view line, const IsDirFn& is_dir);
    std::size_t hits() const;
    std::size_t misses() const;

private:
    struct Entry {
        std::vector<std::pair<std::string, bool>> asked;  // is_dir(path) -> answer, in the order the parse asked
        Result<ParsedLine> result;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::vector<Entry>, Hash, std::equal_to<>> entries_;  // one per set of answers
    std::size_t hits_ = 0, misses_ = 0;
};

// Convenience for a single rule in auditctl syntax (baseline arguments): must be a rule. Through `cache` if given.
Result<Rule> parse_rule(std::string_view text, const IsDirFn& is_dir, ParseCache* cache = nullptr);

// One rule as auditctl sends it: the struct audit_rule_data with its string buffer, for audit_add_rule_data and
// audit_delete_rule_data (which take the list flags and action separately).
struct RuleData {
    std::vector<char> bytes;  // sizeof(audit_rule_data) + buflen; operator new's alignment suits the struct
    std::uint32_t flags = 0;  // list, with AUDIT_FILTER_PREPEND for -A
    std::uint32_t action = 0;
    Rule rule;                // the same rule, normalised
    audit_rule_data* get();
};
// Builds the kernel's form of one rule line in auditctl syntax (-a/-A/-w); errors as parse_line.
Result<RuleData> build_rule_data(std::string_view text, const IsDirFn& is_dir);

// The rules the kernel ends up with after auditctl -R loads the effective rules file.
struct RuleSet {
    enum class Mode { augenrules, audit_rules } mode = Mode::augenrules;
    std::vector<std::string> files;  // the files read, in load order
    std::vector<Rule> rules;         // loaded, in kernel list order (per list, -A at the head)
    struct Applied {
        Control control;
        std::string origin;
    };
    std::vector<Applied> controls;     // applied controls in load order
    std::vector<std::string> errors;   // "file:line: why" lines auditctl rejects
    std::optional<std::string> stopped_at;  // "file:line": auditctl stops here (no -i/-c): later lines not loaded
    std::vector<std::string> notes;    // "file:line: ..." lines augenrules or auditctl skip without an error
    // The last applied control with this option, or nullptr.
    const Applied* last(std::string_view option) const;
};

// Reads /etc/audit/rules.d/*.rules as augenrules merges them (version order, -D/-b/-f first, the last -e at the
// end) when /etc/audit/rules.d exists, else /etc/audit/audit.rules, and replays them as auditctl -R would.
// Lines are parsed through `cache` when given; watch paths are classified by `is_dir`, by default files.stat.
Result<RuleSet> load_rules(FileSource& files, ParseCache* cache = nullptr, const IsDirFn& is_dir = nullptr);
// Same, from text already merged (one file), for tests.
RuleSet replay(const std::vector<std::pair<std::string, std::string>>& lines_with_origin, const IsDirFn& is_dir,
               RuleSet::Mode mode, ParseCache* cache = nullptr);

// GNU ls -v order (filevercmp) of two names, simplified to digit runs compared as numbers.
bool version_less(std::string_view a, std::string_view b);

}  // namespace plumb::auditd
