#include <cctype>
#include <cstdio>

#include "core.hpp"

namespace plumb::core {

std::string quote_value(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            case '\r': out += "\\r"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\x%02x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

bool is_missing(const Error& e) { return e.code == ENOENT || e.code == ENOTDIR; }

std::string join_path(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (out.empty() || out.back() != '/') out += '/';
    out += name;
    return out;
}

std::string dir_name(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return ".";
    if (slash == 0) return "/";
    return std::string(path.substr(0, slash));
}

std::string base_name(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string truncate_for_message(std::string_view s, std::size_t max) {
    if (s.size() <= max) return std::string(s);
    return std::string(s.substr(0, max)) + "...";
}

Result<std::vector<std::string>> list_dir_if_exists(FileSource& files, const std::string& dir) {
    auto names = files.list_dir(dir);
    if (!names) {
        if (is_missing(names.error())) return std::vector<std::string>{};
        return std::unexpected(names.error());
    }
    return std::move(*names);
}

Result<std::optional<std::string_view>> read_if_exists(FileSource& files, const std::string& path) {
    auto text = files.read(path);
    if (!text) {
        if (is_missing(text.error())) return std::optional<std::string_view>{};
        return std::unexpected(text.error());
    }
    return std::optional<std::string_view>{*text};
}

}  // namespace plumb::core
