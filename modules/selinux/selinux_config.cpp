// libselinux's reading of /etc/selinux/config; see selinux_config.hpp for the rules and where they come from.
#include "selinux_config.hpp"

#include <cctype>
#include <strings.h>

#include "plumb/config/keyvalue.hpp"
#include "plumb/config/text.hpp"

namespace plumb::selinux {
namespace {

namespace cfg = plumb::config;

bool iequals_prefix(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && ::strncasecmp(s.data(), prefix.data(), prefix.size()) == 0;
}

std::string_view skip_blanks(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    return s;
}

// Why a line whose key looks like `tag` is not the tag as libselinux matches it.
std::string why_ignored(std::string_view raw, std::string_view tag, bool column0, bool case_sensitive) {
    std::string_view body = column0 ? raw : skip_blanks(raw);
    if (column0 && !raw.empty() && std::isspace(static_cast<unsigned char>(raw.front())))
        return "libselinux reads " + std::string(tag) + " only at the very start of a line";
    std::string_view name = tag.substr(0, tag.size() - 1);
    if (case_sensitive && body.substr(0, name.size()) != name)
        return "libselinux matches " + std::string(tag) + " case-sensitively";
    return "libselinux reads " + std::string(tag) + " with no blank before '='";
}

// Replaces line `n` (1-based) of `text`, keeping every other byte.
std::string replace_line(std::string_view text, unsigned n, std::string_view replacement) {
    std::size_t start = 0;
    for (unsigned i = 1; i < n; ++i) start = text.find('\n', start) + 1;
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    return std::string(text.substr(0, start)) + std::string(replacement) + std::string(text.substr(end));
}

std::string append_line(std::string_view text, std::string_view line) {
    std::string out(text);
    if (!out.empty() && out.back() != '\n') out += '\n';
    return out + std::string(line) + "\n";
}

}  // namespace

const char* to_string(Mode m) {
    switch (m) {
        case Mode::enforcing: return "enforcing";
        case Mode::permissive: return "permissive";
        case Mode::disabled: return "disabled";
    }
    return "";
}

std::optional<Mode> mode_from_string(std::string_view s) {
    for (Mode m : {Mode::enforcing, Mode::permissive, Mode::disabled})
        if (s == to_string(m)) return m;
    return std::nullopt;
}

ConfigView parse_config(std::string_view text, const std::string& file) {
    ConfigView v;
    v.file = file;
    const auto lines = cfg::split_lines(text);
    cfg::KeyValueSyntax syntax;
    syntax.case_insensitive_keys = true;  // candidates; libselinux's exact rules are applied to the raw line below
    for (const auto& e : cfg::parse_key_value(text, file, syntax).entries) {
        const std::string_view raw = lines.at(e.line - 1);
        if (::strcasecmp(e.key.c_str(), "SELINUX") == 0) {
            if (!raw.starts_with("SELINUX=")) {
                v.ignored_mode.push_back({e.line, std::string(raw), why_ignored(raw, "SELINUX=", true, true)});
                continue;
            }
            std::string_view value = skip_blanks(raw.substr(8));
            std::optional<Mode> m;
            for (Mode candidate : {Mode::enforcing, Mode::permissive, Mode::disabled})
                if (iequals_prefix(value, to_string(candidate))) {
                    m = candidate;
                    break;
                }
            if (!m) {
                v.ignored_mode.push_back({e.line, std::string(raw),
                                          "the value is not enforcing, permissive or disabled; libselinux skips the line"});
            } else if (!v.mode) {
                v.mode = m;
                v.mode_line = e.line;
                v.mode_text = std::string(cfg::trim(value));
            } else {
                v.later_mode_lines.push_back(e.line);
            }
        } else if (::strcasecmp(e.key.c_str(), "SELINUXTYPE") == 0) {
            std::string_view body = skip_blanks(raw);
            if (!iequals_prefix(body, "SELINUXTYPE=")) {
                v.ignored_policy.push_back({e.line, std::string(raw), why_ignored(raw, "SELINUXTYPE=", false, false)});
                continue;
            }
            std::string_view value = skip_blanks(body.substr(12));
            while (value.size() > 1 && (std::isspace(static_cast<unsigned char>(value.back())) ||
                                        std::iscntrl(static_cast<unsigned char>(value.back()))))
                value.remove_suffix(1);
            if (v.policy_type) v.earlier_policy_lines.push_back(v.policy_line);
            v.policy_type = std::string(value);
            v.policy_line = e.line;
        }
    }
    return v;
}

std::string set_mode(std::string_view text, Mode mode) {
    const std::string line = std::string("SELINUX=") + to_string(mode);
    ConfigView v = parse_config(text, kConfigFile);
    return v.mode ? replace_line(text, v.mode_line, line) : append_line(text, line);
}

std::string set_policy_type(std::string_view text, std::string_view type) {
    const std::string line = "SELINUXTYPE=" + std::string(type);
    ConfigView v = parse_config(text, kConfigFile);
    return v.policy_type ? replace_line(text, v.policy_line, line) : append_line(text, line);
}

std::string context_type(std::string_view context) {
    // user:role:type[:level]; the level itself may contain ':' (s0-s0:c0.c1023), the type never does
    std::size_t a = context.find(':');
    if (a == std::string_view::npos) return "";
    std::size_t b = context.find(':', a + 1);
    if (b == std::string_view::npos) return "";
    std::size_t c = context.find(':', b + 1);
    std::string_view type = context.substr(b + 1, c == std::string_view::npos ? std::string_view::npos : c - b - 1);
    while (!type.empty() && (type.back() == '\n' || type.back() == '\0')) type.remove_suffix(1);
    return std::string(type);
}

}  // namespace plumb::selinux
