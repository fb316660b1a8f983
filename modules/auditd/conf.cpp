#include "conf.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace plumb::auditd {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

struct Keyword {
    ConfKind kind;
    bool takes_option;  // max_options 1: the *_action keywords (exec path)
    const char* def;
};

// auditd 3.0/3.1 keywords (kw_pair keywords[]) with their defaults from clear_config().
const std::map<std::string, Keyword, std::less<>>& keywords() {
    static const std::map<std::string, Keyword, std::less<>> table = {
        {"local_events", {ConfKind::other, false, "yes"}},
        {"write_logs", {ConfKind::other, false, "yes"}},
        {"log_file", {ConfKind::other, false, "/var/log/audit/audit.log"}},
        {"log_format", {ConfKind::other, false, "raw"}},
        {"log_group", {ConfKind::other, false, "0"}},
        {"flush", {ConfKind::other, false, "none"}},
        {"freq", {ConfKind::number, false, "0"}},
        {"num_logs", {ConfKind::number, false, "0"}},
        {"dispatcher", {ConfKind::other, false, ""}},
        {"name_format", {ConfKind::other, false, "none"}},
        {"name", {ConfKind::other, false, ""}},
        {"disp_qos", {ConfKind::other, false, ""}},
        {"max_log_file", {ConfKind::number, false, "0"}},
        {"max_log_file_action", {ConfKind::size_action, false, "ignore"}},
        {"space_left", {ConfKind::percent_or_number, false, "0"}},
        {"space_left_action", {ConfKind::failure_action, true, "ignore"}},
        {"action_mail_acct", {ConfKind::text, false, "root"}},
        {"verify_email", {ConfKind::other, false, "yes"}},
        {"admin_space_left", {ConfKind::percent_or_number, false, "0"}},
        {"admin_space_left_action", {ConfKind::failure_action, true, "ignore"}},
        {"disk_full_action", {ConfKind::disk_action, true, "ignore"}},
        {"disk_error_action", {ConfKind::disk_action, true, "syslog"}},
        {"priority_boost", {ConfKind::number, false, "4"}},
        {"tcp_listen_port", {ConfKind::other, false, ""}},
        {"tcp_listen_queue", {ConfKind::number, false, "5"}},
        {"tcp_max_per_addr", {ConfKind::number, false, "1"}},
        {"use_libwrap", {ConfKind::other, false, "yes"}},
        {"tcp_client_ports", {ConfKind::other, false, ""}},
        {"tcp_client_max_idle", {ConfKind::number, false, "0"}},
        {"transport", {ConfKind::other, false, "tcp"}},
        {"enable_krb5", {ConfKind::other, false, "no"}},
        {"krb5_principal", {ConfKind::other, false, ""}},
        {"krb5_key_file", {ConfKind::other, false, ""}},
        {"distribute_network", {ConfKind::other, false, "no"}},
        {"q_depth", {ConfKind::number, false, "2000"}},
        {"overflow_action", {ConfKind::other, false, "syslog"}},
        {"max_restarts", {ConfKind::number, false, "10"}},
        {"plugin_dir", {ConfKind::other, false, "/etc/audit/plugins.d"}},
        {"end_of_event_timeout", {ConfKind::number, false, "2"}},
    };
    return table;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool one_of(std::string_view v, const std::vector<std::string>& values) {
    std::string l = lower(v);
    return std::find(values.begin(), values.end(), l) != values.end();
}

// audit_strsplit(): tokens separated by runs of ' ' only.
std::vector<std::string> split_spaces(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        if (i >= line.size()) break;
        auto end = line.find(' ', i);
        if (end == std::string_view::npos) end = line.size();
        out.emplace_back(line.substr(i, end - i));
        i = end;
    }
    return out;
}

// The keyword parser's verdict on a value: nullopt when auditd accepts it, else why not.
std::optional<std::string> check_value(const std::string& key, ConfKind kind, const std::string& value,
                                       const std::string& option) {
    auto values = conf_values(kind);
    switch (kind) {
        case ConfKind::number:
            if (!all_digits(value)) return "Value " + value + " should only be numbers";
            if (key == "num_logs" && std::stoull(value.substr(0, 6)) > 999) return "num_logs must be 999 or less";
            return std::nullopt;
        case ConfKind::percent_or_number: {
            std::string v = value;
            if (!v.empty() && v.back() == '%') v.pop_back();
            if (!all_digits(v)) return "Value " + value + " should only be numbers or a percentage";
            return std::nullopt;
        }
        case ConfKind::size_action:
        case ConfKind::failure_action:
        case ConfKind::disk_action:
            if (!one_of(value, values)) return "Option " + value + " not found (expected one of " + [&] {
                std::string s;
                for (const auto& x : values) s += (s.empty() ? "" : ", ") + x;
                return s;
            }() + ")";
            if (lower(value) == "exec" && (option.empty() || option[0] != '/'))
                return "exec needs an absolute executable path after the value";
            return std::nullopt;
        case ConfKind::text:
        case ConfKind::other:
            return std::nullopt;
    }
    return std::nullopt;
}

}  // namespace

std::optional<ConfKind> conf_kind(std::string_view key) {
    auto it = keywords().find(lower(key));
    if (it == keywords().end()) return std::nullopt;
    return it->second.kind;
}

std::string conf_default(std::string_view key) {
    auto it = keywords().find(lower(key));
    return it == keywords().end() ? "" : it->second.def;
}

std::vector<std::string> conf_values(ConfKind kind) {
    switch (kind) {
        case ConfKind::size_action: return {"ignore", "syslog", "suspend", "rotate", "keep_logs"};
        case ConfKind::failure_action: return {"ignore", "syslog", "rotate", "email", "exec", "suspend", "single", "halt"};
        // disk_full_action / disk_error_action: email is refused ("Illegal option")
        case ConfKind::disk_action: return {"ignore", "syslog", "rotate", "exec", "suspend", "single", "halt"};
        default: return {};
    }
}

const ConfEntry* AuditdConf::find(std::string_view key) const {
    std::string k = lower(key);
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
        if (it->key == k) return &*it;
    return nullptr;
}

AuditdConf parse_auditd_conf(std::string_view text, const std::string& file) {
    AuditdConf conf;
    conf.file = file;
    conf.exists = true;
    unsigned line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        ++line_no;
        auto nl = text.find('\n', pos);
        bool has_newline = nl != std::string_view::npos;
        std::string_view line = text.substr(pos, has_newline ? nl - pos : std::string_view::npos);
        pos = has_newline ? nl + 1 : text.size();
        const std::string where = file + ":" + std::to_string(line_no);
        // fgets() into char buf[160]: no newline within 159 characters means "too long", skipped
        if (line.size() >= 159 || !has_newline) {
            if (!line.empty() || !has_newline) {
                conf.notes.push_back(where + ": " +
                                     (has_newline ? std::string("line too long (auditd reads at most 159 characters); skipped")
                                                  : std::string("last line has no newline; auditd skips it")));
            }
            continue;
        }
        auto tokens = split_spaces(line);
        if (tokens.empty() || tokens[0][0] == '#') continue;
        if (tokens.size() < 3 || tokens[1] != "=") {
            conf.fatal = where + ": " +
                         (tokens.size() >= 2 && tokens[1] != "=" ? "Missing equal sign (\"=\" must stand alone between spaces)"
                                                                 : "Wrong number of arguments (expected \"name = value\")");
            return conf;
        }
        std::string key = lower(tokens[0]);
        auto kw = keywords().find(key);
        if (kw == keywords().end()) {
            conf.fatal = where + ": Unknown keyword \"" + tokens[0] + "\"";
            return conf;
        }
        std::string option = tokens.size() >= 4 ? tokens[3] : "";
        if (!option.empty() && !kw->second.takes_option) {
            conf.fatal = where + ": Keyword \"" + tokens[0] + "\" has invalid option \"" + option + "\"" +
                         (option[0] == '#' ? " (auditd has no end-of-line comments)" : "");
            return conf;
        }
        if (auto bad = check_value(key, kw->second.kind, tokens[2], option)) {
            conf.fatal = where + ": " + *bad;
            return conf;
        }
        conf.entries.push_back({key, tokens[2], option, line_no});
    }
    return conf;
}

}  // namespace plumb::auditd
