// Rules files read the way augenrules merges them and auditctl -R loads them; each rule is built by libaudit (the
// functions auditctl itself calls), so syscall names, field names, operators and values are resolved exactly as
// they would be, and then normalised from the resulting struct audit_rule_data, the same way kernel rules are.
#include "rules.hpp"

#include <libaudit.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "plumb/config/text.hpp"

// libaudit's per-rule parser state; auditctl resets it before every rule (reset_vars). Exported by libaudit.so.
extern "C" {
extern int _audit_permadded;
extern int _audit_archadded;
extern int _audit_syscalladded;
extern int _audit_exeadded;
extern int _audit_filterfsadded;
extern unsigned int _audit_elf;
}

namespace plumb::auditd {
namespace {

using config::split_lines;

constexpr std::uint32_t kClassMaskLastWord = 0x0000ffffu;  // the top AUDIT_SYSCALL_CLASSES bits are class markers
constexpr unsigned kMaxSyscallBit = kMaskWords * 32 - 16;
constexpr std::size_t kMaxCachedLines = 16384;  // ParseCache: distinct line texts before it starts afresh

// libaudit's parser keeps global state: one rule at a time in this process.
std::mutex& libaudit_mutex() {
    static std::mutex m;
    return m;
}

void reset_libaudit_state() {
    _audit_permadded = 0;
    _audit_archadded = 0;
    _audit_syscalladded = 0;
    _audit_exeadded = 0;
    _audit_filterfsadded = 0;
    _audit_elf = 0;
}

void quiet_libaudit() {
    static std::once_flag once;
    std::call_once(once, [] { set_aumessage_mode(MSG_QUIET, DBG_NO); });
}

struct RuleDataDeleter {
    void operator()(audit_rule_data* p) const { audit_rule_free_data(p); }
};
using RuleDataPtr = std::unique_ptr<audit_rule_data, RuleDataDeleter>;

bool is_string_field(std::uint32_t f) {
    switch (f) {
        case AUDIT_WATCH:
        case AUDIT_DIR:
        case AUDIT_FILTERKEY:
        case AUDIT_SUBJ_USER:
        case AUDIT_SUBJ_ROLE:
        case AUDIT_SUBJ_TYPE:
        case AUDIT_SUBJ_SEN:
        case AUDIT_SUBJ_CLR:
        case AUDIT_OBJ_USER:
        case AUDIT_OBJ_ROLE:
        case AUDIT_OBJ_TYPE:
        case AUDIT_OBJ_LEV_LOW:
        case AUDIT_OBJ_LEV_HIGH:
        case AUDIT_EXE:
            return true;
        default:
            return false;
    }
}

bool is_id_field(std::uint32_t f) {
    switch (f) {
        case AUDIT_UID:
        case AUDIT_EUID:
        case AUDIT_SUID:
        case AUDIT_FSUID:
        case AUDIT_LOGINUID:
        case AUDIT_OBJ_UID:
        case AUDIT_GID:
        case AUDIT_EGID:
        case AUDIT_SGID:
        case AUDIT_FSGID:
        case AUDIT_OBJ_GID:
            return true;
        default:
            return false;
    }
}

// libaudit's error numbers (lib/errormsg.h), for messages.
std::string libaudit_error(int rc, const std::string& opt) {
    static const std::map<int, const char*> table = {
        {-1, "-F missing operation for"},
        {-2, "-F unknown field:"},
        {-3, "must be before -S"},
        {-4, "machine type not found"},
        {-5, "elf mapping not found"},
        {-6, "requested bit level not supported by machine"},
        {-7, "can only be used with exit filter list"},
        {-8, "-F unknown message type -"},
        {-9, "msgtype field can only be used with exclude filter list"},
        {-11, "String value too long"},
        {-12, "Only msgtype field can be used with exclude filter"},
        {-13, "only takes = or != operators"},
        {-14, "Permission can only contain 'rwxa'"},
        {-15, "-F unknown errno -"},
        {-16, "-F unknown file type -"},
        {-17, "can only be used with exit and entry filter list"},
        {-19, "Key field needs a watch or syscall given prior to it"},
        {-20, "-F missing value after operation for"},
        {-21, "-F value should be number for"},
        {-22, "-F missing field name before operator for"},
        {-24, "-C missing field name before operator for"},
        {-25, "-C missing value after operation for"},
        {-26, "-C unknown field:"},
        {-27, "-C unknown right hand value for comparison with:"},
    };
    auto it = table.find(rc);
    if (it == table.end()) return "libaudit rejects " + opt + " (error " + std::to_string(rc) + ")";
    return std::string(it->second) + " " + opt;
}

Rule from_data(const audit_rule_data& d, std::size_t buflen_available) {
    Rule r;
    r.list = d.flags & ~static_cast<std::uint32_t>(AUDIT_FILTER_PREPEND);
    r.prepend = (d.flags & AUDIT_FILTER_PREPEND) != 0;
    r.action = d.action;
    for (std::size_t i = 0; i < kMaskWords; ++i) r.mask[i] = d.mask[i];
    r.mask[kMaskWords - 1] &= kClassMaskLastWord;
    std::size_t off = 0;
    for (std::uint32_t i = 0; i < d.field_count && i < AUDIT_MAX_FIELDS; ++i) {
        Field f;
        f.id = d.fields[i];
        f.op = d.fieldflags[i] & AUDIT_OPERATORS;
        if (is_string_field(f.id)) {
            std::size_t len = d.values[i];
            if (off + len > buflen_available) len = off < buflen_available ? buflen_available - off : 0;
            f.text.assign(d.buf + off, len);
            f.is_string = true;
            off += d.values[i];
        } else {
            f.value = d.values[i];
        }
        if (f.id == AUDIT_FILTERKEY) {
            std::size_t start = 0;
            while (start <= f.text.size()) {
                auto sep = f.text.find(static_cast<char>(AUDIT_KEY_SEPARATOR), start);
                if (sep == std::string::npos) sep = f.text.size();
                r.keys.push_back(f.text.substr(start, sep - start));
                start = sep + 1;
            }
            continue;
        }
        r.raw_fields.push_back(f);
    }
    r.fields = r.raw_fields;
    std::sort(r.fields.begin(), r.fields.end());
    std::sort(r.keys.begin(), r.keys.end());
    return r;
}

int machine_of(const Rule& r) {
    for (const auto& f : r.fields)
        if (f.id == AUDIT_ARCH) {
            int m = audit_elf_to_machine(f.value);
            if (m >= 0) return m;
        }
    return audit_detect_machine();
}

std::string syscall_name(int nr, int machine) {
    const char* n = machine >= 0 ? audit_syscall_to_name(nr, machine) : nullptr;
    return n ? n : std::to_string(nr);
}

bool bit(const std::array<std::uint32_t, kMaskWords>& m, unsigned b) { return (m[b / 32] >> (b % 32)) & 1u; }

std::string perm_text(std::uint32_t v) {
    std::string s;
    if (v & AUDIT_PERM_READ) s += 'r';
    if (v & AUDIT_PERM_WRITE) s += 'w';
    if (v & AUDIT_PERM_EXEC) s += 'x';
    if (v & AUDIT_PERM_ATTR) s += 'a';
    return s;
}

std::string field_value_text(const Field& f) {
    if (f.is_string) return f.text;
    switch (f.id) {
        case AUDIT_ARCH: {
            // auditctl -l prints b32/b64 for the machine's own pair
            int m = audit_elf_to_machine(f.value);
            int host = audit_detect_machine();
            if (m >= 0 && m == host) return "b64";
            if (m >= 0 && host >= 0 && m != host) {
                const char* n = audit_machine_to_name(m);
                if (m == MACH_X86 || m == MACH_PPC || m == MACH_S390 || m == MACH_ARM) return "b32";
                return n ? n : std::to_string(f.value);
            }
            return std::to_string(f.value);
        }
        case AUDIT_PERM: return perm_text(f.value);
        case AUDIT_MSGTYPE: {
            const char* n = audit_msg_type_to_name(static_cast<int>(f.value));
            return n ? n : std::to_string(f.value);
        }
        case AUDIT_FILETYPE: {
            const char* n = audit_ftype_to_name(static_cast<int>(f.value));
            return n ? n : std::to_string(f.value);
        }
        case AUDIT_EXIT: {
            auto v = static_cast<std::int32_t>(f.value);
            if (v < 0) {
                const char* n = audit_errno_to_name(-v);
                if (n) return std::string("-") + n;
            }
            return std::to_string(v);
        }
        case AUDIT_ARG0:
        case AUDIT_ARG1:
        case AUDIT_ARG2:
        case AUDIT_ARG3: {
            char buf[16];
            std::snprintf(buf, sizeof buf, "0x%x", f.value);
            return buf;
        }
        default:
            if (is_id_field(f.id) && f.value == 4294967295u) return "-1";  // "unset"
            return std::to_string(f.value);
    }
}

std::string field_text(const Field& f) {
    const char* name = audit_field_to_name(static_cast<int>(f.id));
    const char* op = audit_operator_to_symbol(static_cast<int>(f.op));
    return std::string(name ? name : std::to_string(f.id)) + (op ? op : "?") + field_value_text(f);
}

const char* list_name(std::uint32_t list) {
    const char* n = audit_flag_to_name(static_cast<int>(list));
    return n ? n : "?";
}

// ---- auditctl command line ----

struct Argv {
    std::vector<std::string> args;
};

// fileopt(): skip leading spaces; "\ " and "\\" escapes; split on ' ' only (tabs stay inside tokens).
std::optional<Argv> split_auditctl_line(std::string_view line) {
    std::size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i == line.size()) return std::nullopt;
    Argv a;
    std::string cur;
    bool have = false;
    for (std::size_t k = i; k < line.size(); ++k) {
        char c = line[k];
        if (c == '\\' && k + 1 < line.size() && (line[k + 1] == ' ' || line[k + 1] == '\\')) {
            cur += line[++k];
            have = true;
        } else if (c == ' ') {
            if (have) a.args.push_back(cur);
            cur.clear();
            have = false;
        } else {
            cur += c;
            have = true;
        }
    }
    if (have) a.args.push_back(cur);
    if (a.args.empty()) return std::nullopt;
    return a;
}

bool lookup_filter(const std::string& s, int& filter, bool& exclude) {
    if (s == "task") filter = AUDIT_FILTER_TASK;
    else if (s == "entry") filter = AUDIT_FILTER_ENTRY;
    else if (s == "exit") filter = AUDIT_FILTER_EXIT;
    else if (s == "user") filter = AUDIT_FILTER_USER;
    else if (s == "filesystem") filter = AUDIT_FILTER_FS;
    else if (s == "io_uring") filter = AUDIT_FILTER_URING_EXIT;
    else if (s == "exclude") {
        filter = AUDIT_FILTER_EXCLUDE;
        exclude = true;
    } else
        return false;
    return true;
}

// 0 ok, 1 "possible" (deprecated), 2 error
int lookup_action(const std::string& s, int& act) {
    if (s == "never") act = AUDIT_NEVER;
    else if (s == "always") act = AUDIT_ALWAYS;
    else if (s == "possible") return 1;
    else return 2;
    return 0;
}

// audit_rule_setup(): "list,action" in either order; entry becomes exit.
int rule_setup(const std::string& opt, int& filter, int& act, bool& exclude) {
    auto comma = opt.find(',');
    if (comma == std::string::npos || opt.find(',', comma + 1) != std::string::npos) return 2;
    std::string a = opt.substr(0, comma), b = opt.substr(comma + 1);
    if (!lookup_filter(a, filter, exclude)) {
        int rc = lookup_action(a, act);
        if (rc != 0) return rc;
        if (!lookup_filter(b, filter, exclude)) return 2;
    } else {
        int rc = lookup_action(b, act);
        if (rc != 0) return rc;
    }
    if (filter == AUDIT_FILTER_ENTRY) filter = AUDIT_FILTER_EXIT;
    return 0;
}

}  // namespace

// ---- comparison and rendering ----

bool same_except_keys(const Rule& a, const Rule& b) {
    return a.list == b.list && a.action == b.action && a.mask == b.mask && a.fields == b.fields;
}

bool same_rule(const Rule& a, const Rule& b) { return same_except_keys(a, b) && a.keys == b.keys; }

bool mask_covers(const std::array<std::uint32_t, kMaskWords>& mask, const Rule& required) {
    for (std::size_t i = 0; i < kMaskWords; ++i)
        if ((required.mask[i] & ~mask[i]) != 0) return false;
    return true;
}

bool all_syscalls(const Rule& r) {
    for (std::size_t i = 0; i + 1 < kMaskWords; ++i)
        if (r.mask[i] != 0xffffffffu) return false;
    return r.mask[kMaskWords - 1] == kClassMaskLastWord;
}

std::string missing_syscalls(const Rule& required, const std::array<std::uint32_t, kMaskWords>& have) {
    int machine = machine_of(required);
    std::vector<std::string> names;
    for (unsigned b = 0; b < kMaxSyscallBit; ++b)
        if (bit(required.mask, b) && !bit(have, b)) names.push_back(syscall_name(static_cast<int>(b), machine));
    return config::join(names, ",");
}

std::string render(const Rule& r) {
    // auditctl -l prints watches in their -w form
    const Field* watch = nullptr;
    const Field* perm = nullptr;
    bool only_watch_fields = true;  // one path/dir, at most one perm
    for (const auto& f : r.fields) {
        if ((f.id == AUDIT_WATCH || f.id == AUDIT_DIR) && !watch) watch = &f;
        else if (f.id == AUDIT_PERM && !perm) perm = &f;
        else only_watch_fields = false;
    }
    std::string out;
    if (watch && only_watch_fields && watch->op == AUDIT_EQUAL && r.list == AUDIT_FILTER_EXIT &&
        r.action == AUDIT_ALWAYS && all_syscalls(r)) {
        out = "-w " + watch->text;
        if (perm) out += " -p " + perm_text(perm->value);
        for (const auto& k : r.keys) out += " -k " + k;
        return out;
    }
    const char* act = audit_action_to_name(static_cast<int>(r.action));
    out = std::string("-a ") + (act ? act : "?") + "," + list_name(r.list);
    for (const auto& f : r.raw_fields)
        if (f.id == AUDIT_ARCH) out += " -F " + field_text(f);
    if (all_syscalls(r)) {
        if (r.list == AUDIT_FILTER_EXIT) out += " -S all";
    } else {
        int machine = machine_of(r);
        std::vector<std::string> names;
        for (unsigned b = 0; b < kMaxSyscallBit; ++b)
            if (bit(r.mask, b)) names.push_back(syscall_name(static_cast<int>(b), machine));
        if (!names.empty()) out += " -S " + config::join(names, ",");
    }
    for (const auto& f : r.raw_fields)  // the order auditctl -l shows
        if (f.id != AUDIT_ARCH) out += " -F " + field_text(f);
    for (const auto& k : r.keys) out += " -F key=" + k;
    return out;
}

Result<Rule> from_kernel(const audit_rule_data& data, std::size_t size) {
    if (size < sizeof(audit_rule_data)) return fail_invalid("short AUDIT_LIST_RULES reply");
    std::size_t avail = std::min<std::size_t>(data.buflen, size - sizeof(audit_rule_data));
    std::lock_guard lock(libaudit_mutex());
    Rule r = from_data(data, avail);
    r.origin = "kernel";
    return r;
}

// ---- one line, as auditctl's setopt() ----

namespace {

// parse_line, and when `raw` is given the struct audit_rule_data (with its string buffer) auditctl would send.
Result<ParsedLine> parse_line_impl(std::string_view line, const IsDirFn& is_dir, std::vector<char>* raw_out) {
    ParsedLine out;
    auto argv = split_auditctl_line(line);
    if (!argv) return out;
    if (!argv->args.front().empty() && argv->args.front()[0] == '#') return out;

    std::lock_guard lock(libaudit_mutex());
    quiet_libaudit();
    reset_libaudit_state();

    RuleDataPtr rule(audit_rule_create_data());
    if (!rule) return fail(ENOMEM, "out of memory");
    int add = AUDIT_FILTER_UNSET, del = AUDIT_FILTER_UNSET, action = -1;
    bool exclude = false;
    int multiple = 0;
    std::string key;
    bool any_option = false;
    std::vector<std::string> leftovers;

    auto flags_of = [&] {
        if (add != AUDIT_FILTER_UNSET) return add & AUDIT_FILTER_MASK;
        if (del != AUDIT_FILTER_UNSET) return del & AUDIT_FILTER_MASK;
        return static_cast<int>(AUDIT_FILTER_UNSET);
    };
    auto setup = [&](const std::string& arg, int& which, bool is_prepend) -> Result<bool> {
        if (++multiple != 1) return fail_invalid("Multiple rule insert/delete operations are not allowed");
        if (arg.find("task") != std::string::npos && _audit_syscalladded)
            return fail_invalid("Syscall auditing requested for task list");
        int rc = rule_setup(arg, which, action, exclude);
        if (rc == 1) return false;  // "possible" is deprecated: auditctl ignores the line
        if (rc == 2) return fail_invalid("bad list,action keyword " + arg);
        if (is_prepend) which |= AUDIT_FILTER_PREPEND;
        return true;
    };

    const std::string arg_opts = "CefrbaAdSFmRwWkpq";
    const auto& a = argv->args;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const std::string& tok = a[i];
        if (tok == "--") {
            for (++i; i < a.size(); ++i) leftovers.push_back(a[i]);
            break;
        }
        if (tok.size() > 2 && tok[0] == '-' && tok[1] == '-') {
            any_option = true;
            std::string name = tok.substr(2), value;
            bool has_value = false;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                has_value = true;
            }
            auto prefix_of = [&](const std::string& full) { return !name.empty() && full.compare(0, name.size(), name) == 0; };
            if (prefix_of("loginuid-immutable")) {
                out.kind = ParsedLine::Kind::control;
                out.control = {"--loginuid-immutable", ""};
            } else if (prefix_of("backlog_wait_time")) {
                if (!has_value) {
                    if (i + 1 >= a.size()) return fail_invalid("option --backlog_wait_time requires an argument");
                    value = a[++i];
                }
                if (value.empty() || !std::isdigit(static_cast<unsigned char>(value[0])))
                    return fail_invalid("Backlog_wait_time must be a numeric value was " + value);
                out.kind = ParsedLine::Kind::control;
                out.control = {"--backlog_wait_time", std::to_string(std::strtoul(value.c_str(), nullptr, 0))};
            } else {
                return fail_invalid("unknown option " + tok);
            }
            continue;
        }
        if (tok.size() < 2 || tok[0] != '-') {
            leftovers.push_back(tok);
            continue;
        }
        for (std::size_t k = 1; k < tok.size(); ++k) {
            char c = tok[k];
            std::string arg;
            if (arg_opts.find(c) != std::string::npos) {
                if (k + 1 < tok.size()) arg = tok.substr(k + 1);
                else if (i + 1 < a.size()) arg = a[++i];
                else return fail_invalid(std::string("option -") + c + " requires an argument");
                k = tok.size();
            }
            any_option = true;
            switch (c) {
                case 'i':
                case 'c':
                    out.ignore_errors = true;
                    break;
                case 's':
                case 'l':
                case 'v':
                    break;  // queries: no effect on the rules
                case 'h':
                    return fail_invalid("-h prints usage and fails");
                case 'R':
                    return fail_invalid("Error - nested rule files not supported");
                case 'm':
                case 't':
                case 'q':
                    out.kind = ParsedLine::Kind::ignored;
                    out.note = std::string("-") + c + " does not change the rules";
                    break;
                case 'e':
                case 'f':
                    if (arg != "0" && arg != "1" && arg != "2")
                        return fail_invalid(std::string(c == 'e' ? "Enable" : "Failure") + " must be 0, 1, or 2 was " + arg);
                    out.kind = ParsedLine::Kind::control;
                    out.control = {std::string("-") + c, arg};
                    break;
                case 'b':
                case 'r':
                    if (arg.empty() || !std::isdigit(static_cast<unsigned char>(arg[0])))
                        return fail_invalid(std::string(c == 'b' ? "Backlog" : "Rate") + " must be a numeric value was " + arg);
                    out.kind = ParsedLine::Kind::control;
                    out.control = {std::string("-") + c, std::to_string(std::strtoul(arg.c_str(), nullptr, 0))};
                    break;
                case 'D':
                    out.kind = ParsedLine::Kind::control;
                    out.control = {"-D", ""};
                    break;
                case 'a':
                case 'A': {
                    auto ok = setup(arg, add, c == 'A');
                    if (!ok) return std::unexpected(ok.error());
                    if (!*ok) {
                        out.kind = ParsedLine::Kind::ignored;
                        out.note = "the \"possible\" action is deprecated; auditctl skips the rule";
                        return out;
                    }
                    break;
                }
                case 'd': {
                    auto ok = setup(arg, del, false);
                    if (!ok) return std::unexpected(ok.error());
                    if (!*ok) {
                        out.kind = ParsedLine::Kind::ignored;
                        out.note = "the \"possible\" action is deprecated";
                        return out;
                    }
                    break;
                }
                case 'S': {
                    int list = flags_of();
                    if (list == AUDIT_FILTER_TASK) return fail_invalid("Error: syscall auditing being added to task list");
                    if (list == AUDIT_FILTER_USER) return fail_invalid("Error: syscall auditing being added to user list");
                    if (exclude) return fail_invalid("Error: syscall auditing cannot be put on exclude list");
                    if (!_audit_elf) {
                        int machine = audit_detect_machine();
                        if (machine < 0) return fail_invalid("Error detecting machine type");
                        unsigned elf = audit_machine_to_elf(machine);
                        if (elf == 0) return fail_invalid("Error looking up elf type");
                        _audit_elf = elf;
                    }
                    std::size_t start = 0;
                    while (start <= arg.size()) {
                        auto comma = arg.find(',', start);
                        std::string name = arg.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
                        if (!name.empty()) {
                            int rc = audit_rule_syscallbyname_data(rule.get(), name.c_str());
                            if (rc == -1) return fail_invalid("Syscall name unknown: " + name);
                            if (rc != 0) return fail_invalid("Elf type unknown for syscall " + name);
                        }
                        if (comma == std::string::npos) break;
                        start = comma + 1;
                    }
                    _audit_syscalladded = 1;
                    break;
                }
                case 'F': {
                    if (add == AUDIT_FILTER_UNSET && del == AUDIT_FILTER_UNSET)
                        return fail_invalid("List must be given before field");
                    audit_rule_data* raw = rule.release();
                    int rc = audit_rule_fieldpair_data(&raw, arg.c_str(), flags_of());
                    rule.reset(raw);
                    if (rc != 0) return fail_invalid(libaudit_error(rc, arg));
                    if (rule->field_count > 0 && rule->fields[rule->field_count - 1] == AUDIT_PERM) _audit_permadded = 1;
                    break;
                }
                case 'C': {
                    audit_rule_data* raw = rule.release();
                    int rc = audit_rule_interfield_comp_data(&raw, arg.c_str(), flags_of());
                    rule.reset(raw);
                    if (rc != 0) return fail_invalid(libaudit_error(rc, arg));
                    break;
                }
                case 'w':
                case 'W': {
                    if (c == 'w' && (add != AUDIT_FILTER_UNSET || del != AUDIT_FILTER_UNSET))
                        return fail_invalid("watch option can't be given with a syscall");
                    std::string path = arg;
                    if (path.empty() || path[0] != '/') return fail_invalid("The path must start with '/'");
                    if (path.size() >= 4096) return fail_invalid("The path passed for the watch is too big");
                    // audit_setup_watch_name(): trailing slashes go; a directory becomes a dir= (tree) watch
                    if (path.size() > 2 && path.back() == '/')
                        while (path.size() > 1 && path.back() == '/') path.pop_back();
                    int type = is_dir && is_dir(path) ? AUDIT_DIR : AUDIT_WATCH;
                    (c == 'w' ? add : del) = AUDIT_FILTER_EXIT;
                    action = AUDIT_ALWAYS;
                    _audit_syscalladded = 1;
                    audit_rule_data* raw = rule.release();
                    int rc = audit_add_watch_dir(type, &raw, path.c_str());
                    rule.reset(raw);
                    if (rc != 0) return fail_invalid("cannot add watch " + path);
                    break;
                }
                case 'p': {
                    if (arg.size() > 4) return fail_invalid("Permission option takes at most 4 letters: " + arg);
                    int val = 0;
                    for (char p : arg) {
                        switch (std::tolower(static_cast<unsigned char>(p))) {
                            case 'r': val |= AUDIT_PERM_READ; break;
                            case 'w': val |= AUDIT_PERM_WRITE; break;
                            case 'x': val |= AUDIT_PERM_EXEC; break;
                            case 'a': val |= AUDIT_PERM_ATTR; break;
                            default: return fail_invalid(std::string("Permission ") + p + " isn't supported");
                        }
                    }
                    if (audit_update_watch_perms(rule.get(), val) != 0)
                        return fail_invalid("permission option needs a watch given prior to it");
                    _audit_permadded = 1;
                    break;
                }
                case 'k':
                    if (!(_audit_syscalladded || _audit_permadded) ||
                        (add == AUDIT_FILTER_UNSET && del == AUDIT_FILTER_UNSET))
                        return fail_invalid("key option needs a watch or syscall given prior to it");
                    if (arg.size() + key.size() + (key.empty() ? 0 : 1) > AUDIT_MAX_KEY_LEN)
                        return fail_invalid("key option exceeds size limit");
                    if (!key.empty()) key += static_cast<char>(AUDIT_KEY_SEPARATOR);
                    key += arg;
                    break;
                default:
                    return fail_invalid(std::string("unknown option -") + c);
            }
        }
    }
    if (!any_option) return fail_invalid("no option given");
    if (!leftovers.empty()) return fail_invalid("parameter passed without an option given: " + leftovers.front());

    if (out.kind == ParsedLine::Kind::control && out.control.option == "-D") return out;
    if (add == AUDIT_FILTER_UNSET && del == AUDIT_FILTER_UNSET) {
        if (out.kind == ParsedLine::Kind::empty && out.ignore_errors) out.kind = ParsedLine::Kind::ignored;
        return out;
    }
    if (!key.empty()) {
        audit_rule_data* raw = rule.release();
        int rc = audit_rule_fieldpair_data(&raw, ("key=" + key).c_str(), flags_of());
        rule.reset(raw);
        if (rc != 0) return fail_invalid(libaudit_error(rc, "key=" + key));
    }
    int which = add != AUDIT_FILTER_UNSET ? add : del;
    // handle_request(): a rule without -S applies to every syscall (task rules have none)
    if ((which & AUDIT_FILTER_MASK) != AUDIT_FILTER_TASK && !_audit_syscalladded)
        audit_rule_syscallbyname_data(rule.get(), "all");
    rule->flags = static_cast<std::uint32_t>(which);
    rule->action = static_cast<std::uint32_t>(action);
    out.kind = add != AUDIT_FILTER_UNSET ? ParsedLine::Kind::rule : ParsedLine::Kind::delete_rule;
    out.rule = from_data(*rule, rule->buflen);
    if (raw_out) {
        const char* begin = reinterpret_cast<const char*>(rule.get());
        raw_out->assign(begin, begin + sizeof(audit_rule_data) + rule->buflen);
    }
    return out;
}

}  // namespace

Result<ParsedLine> parse_line(std::string_view line, const IsDirFn& is_dir) { return parse_line_impl(line, is_dir, nullptr); }

audit_rule_data* RuleData::get() { return reinterpret_cast<audit_rule_data*>(bytes.data()); }

Result<RuleData> build_rule_data(std::string_view text, const IsDirFn& is_dir) {
    RuleData d;
    auto p = parse_line_impl(text, is_dir, &d.bytes);
    if (!p) return std::unexpected(p.error());
    if (p->kind != ParsedLine::Kind::rule) return fail_invalid("not an audit rule (-a, -A or -w): " + std::string(text));
    d.rule = std::move(p->rule);
    d.flags = d.get()->flags;
    d.action = d.get()->action;
    return d;
}

Result<ParsedLine> ParseCache::parse(std::string_view line, const IsDirFn& is_dir) {
    // parse_line takes an empty is_dir as "never a directory": answer the same way, so that entries compare.
    auto answer = [&is_dir](const std::string& path) { return is_dir ? is_dir(path) : false; };
    std::lock_guard lock(mutex_);
    auto it = entries_.find(line);
    if (it != entries_.end()) {
        for (const auto& e : it->second) {
            // Same answers to the same questions: the parse would take the same path to the same result.
            bool same = std::all_of(e.asked.begin(), e.asked.end(),
                                    [&](const auto& q) { return answer(q.first) == q.second; });
            if (same) {
                ++hits_;
                return e.result;
            }
        }
    }
    ++misses_;
    Entry e;
    IsDirFn recording = [&](const std::string& path) {
        bool d = answer(path);
        e.asked.emplace_back(path, d);
        return d;
    };
    e.result = parse_line(line, recording);
    Result<ParsedLine> out = e.result;
    if (it == entries_.end()) {
        if (entries_.size() >= kMaxCachedLines) entries_.clear();  // bounded: a long-lived process sees many files
        it = entries_.try_emplace(std::string(line)).first;
    }
    it->second.push_back(std::move(e));
    return out;
}

std::size_t ParseCache::hits() const {
    std::lock_guard lock(mutex_);
    return hits_;
}

std::size_t ParseCache::misses() const {
    std::lock_guard lock(mutex_);
    return misses_;
}

Result<Rule> parse_rule(std::string_view text, const IsDirFn& is_dir, ParseCache* cache) {
    auto p = cache ? cache->parse(text, is_dir) : parse_line(text, is_dir);
    if (!p) return std::unexpected(p.error());
    if (p->kind != ParsedLine::Kind::rule) return fail_invalid("not an audit rule (-a, -A or -w): " + std::string(text));
    return p->rule;
}

// ---- replaying a rules file ----

const RuleSet::Applied* RuleSet::last(std::string_view option) const {
    for (auto it = controls.rbegin(); it != controls.rend(); ++it)
        if (it->control.option == option) return &*it;
    return nullptr;
}

RuleSet replay(const std::vector<std::pair<std::string, std::string>>& lines, const IsDirFn& is_dir, RuleSet::Mode mode,
               ParseCache* cache) {
    RuleSet set;
    set.mode = mode;
    std::map<std::uint32_t, std::vector<Rule>> lists;  // kernel list number -> rules in list order
    bool ignore = false;
    std::optional<std::string> immutable_at;
    for (const auto& [origin, text] : lines) {
        auto parsed = cache ? cache->parse(text, is_dir) : parse_line(text, is_dir);
        std::optional<std::string> error;
        if (!parsed) {
            error = parsed.error().message;
        } else {
            if (parsed->ignore_errors) ignore = true;
            using K = ParsedLine::Kind;
            if (parsed->kind == K::empty) continue;
            if (parsed->kind == K::ignored) {
                if (!parsed->note.empty()) set.notes.push_back(origin + ": " + parsed->note);
                continue;
            }
            if (immutable_at) {
                error = "the audit configuration is locked by -e 2 at " + *immutable_at + "; the kernel refuses this change";
            } else if (parsed->kind == K::control) {
                const auto& c = parsed->control;
                if (c.option == "-D") lists.clear();
                if (c.option == "-e" && c.value == "2") immutable_at = origin;
                set.controls.push_back({c, origin});
            } else {
                Rule r = std::move(parsed->rule);  // parsed is this line's own copy
                r.origin = origin;
                auto& list = lists[r.list];
                if (parsed->kind == K::rule) {
                    // the kernel refuses an identical rule (EEXIST); its comparison keeps the field order
                    auto dup = std::find_if(list.begin(), list.end(), [&](const Rule& x) {
                        return x.action == r.action && x.mask == r.mask && x.raw_fields == r.raw_fields && x.keys == r.keys;
                    });
                    if (dup != list.end()) error = "Rule exists (the same rule is at " + dup->origin + ")";
                    else if (r.prepend) list.insert(list.begin(), std::move(r));
                    else list.push_back(std::move(r));
                } else {
                    auto found = std::find_if(list.begin(), list.end(), [&](const Rule& x) { return same_rule(x, r); });
                    if (found == list.end()) error = "-d/-W of a rule that is not loaded";
                    else list.erase(found);
                }
            }
        }
        if (error) {
            set.errors.push_back(origin + ": " + *error);
            if (!ignore) {
                set.stopped_at = origin;
                break;
            }
        }
    }
    for (auto& [n, rules] : lists)
        for (auto& r : rules) set.rules.push_back(std::move(r));
    return set;
}

bool version_less(std::string_view a, std::string_view b) {
    std::size_t i = 0, j = 0;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    while (i < a.size() && j < b.size()) {
        if (digit(a[i]) && digit(b[j])) {
            std::size_t i2 = i, j2 = j;
            while (i2 < a.size() && digit(a[i2])) ++i2;
            while (j2 < b.size() && digit(b[j2])) ++j2;
            auto na = a.substr(i, i2 - i), nb = b.substr(j, j2 - j);
            while (na.size() > 1 && na.front() == '0') na.remove_prefix(1);
            while (nb.size() > 1 && nb.front() == '0') nb.remove_prefix(1);
            if (na.size() != nb.size()) return na.size() < nb.size();
            if (na != nb) return na < nb;
            i = i2;
            j = j2;
        } else {
            if (a[i] != b[j]) return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]);
            ++i;
            ++j;
        }
    }
    if ((a.size() - i) != (b.size() - j)) return a.size() - i < b.size() - j;
    return a < b;
}

Result<RuleSet> load_rules(FileSource& files, ParseCache* cache, const IsDirFn& given_is_dir) {
    const std::string dir = "/etc/audit/rules.d";
    const std::string main = "/etc/audit/audit.rules";
    IsDirFn is_dir = given_is_dir ? given_is_dir : IsDirFn([&files](const std::string& p) {
        auto st = files.stat(p, true);
        return st && st->type == FileType::directory;
    });
    auto st = files.stat(dir, true);
    std::vector<std::pair<std::string, std::string>> lines;
    if (st && st->type == FileType::directory) {
        auto names = files.list_dir(dir);
        if (!names) return std::unexpected(names.error());
        std::vector<std::string> rules_files;
        for (const auto& n : *names)
            if (n.size() > 6 && n[0] != '.' && n.ends_with(".rules")) rules_files.push_back(n);
        std::sort(rules_files.begin(), rules_files.end(), [](const auto& x, const auto& y) { return version_less(x, y); });
        // augenrules: -D, -b, -f (the last of each) first, then the rules in order, then the last -e
        std::optional<std::pair<std::string, std::string>> minus_d, minus_b, minus_f, minus_e;
        std::vector<std::pair<std::string, std::string>> rest;
        std::vector<std::string> notes;
        std::vector<std::string> read_files;
        for (const auto& n : rules_files) {
            std::string path = dir + "/" + n;
            auto text = files.read(path);
            if (!text) {
                if (text.error().code == EISDIR) continue;  // cat fails on it; augenrules goes on
                return std::unexpected(text.error());
            }
            read_files.push_back(path);
            unsigned line_no = 0;
            for (const auto& raw : split_lines(*text)) {
                ++line_no;
                if (raw.empty()) continue;
                std::string_view t = raw;
                std::size_t p = t.find_first_not_of(" \t\r\f\v");
                std::string_view s = p == std::string_view::npos ? std::string_view() : t.substr(p);
                if (s.starts_with("#")) continue;
                std::string origin = path + ":" + std::to_string(line_no);
                if (s.starts_with("-e")) minus_e = {origin, raw};
                else if (s.starts_with("-D") && config::trim(s.substr(2)).empty()) minus_d = {origin, raw};
                else if (s.starts_with("-f")) minus_f = {origin, raw};
                else if (s.starts_with("-b")) minus_b = {origin, raw};
                else rest.emplace_back(origin, raw);
            }
        }
        for (auto* c : {&minus_d, &minus_b, &minus_f})
            if (*c) lines.push_back(**c);
        lines.insert(lines.end(), rest.begin(), rest.end());
        if (minus_e) lines.push_back(*minus_e);
        RuleSet set = replay(lines, is_dir, RuleSet::Mode::augenrules, cache);
        set.files = std::move(read_files);
        if (rules_files.empty())
            set.notes.push_back(dir + " has no *.rules files: augenrules replaces " + main + " with an empty rule set");
        return set;
    }
    auto text = files.read(main);
    if (!text) {
        if (text.error().code == ENOENT || text.error().code == ENOTDIR) {
            RuleSet set;
            set.mode = RuleSet::Mode::audit_rules;
            set.notes.push_back("neither " + dir + " nor " + main + " exists: no rules are loaded");
            return set;
        }
        return std::unexpected(text.error());
    }
    unsigned line_no = 0;
    for (const auto& raw : split_lines(*text)) lines.emplace_back(main + ":" + std::to_string(++line_no), raw);
    RuleSet set = replay(lines, is_dir, RuleSet::Mode::audit_rules, cache);
    set.files = {main};
    return set;
}

}  // namespace plumb::auditd
