// key=value and "Key value" files. One pass over the lines; the Syntax decides the separator, the comment
// characters, quoting and which occurrence of a key wins.
#include "plumb/config/keyvalue.hpp"

#include "plumb/config/text.hpp"

namespace plumb::config {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool keys_equal(std::string_view a, std::string_view b, bool case_insensitive) {
    if (!case_insensitive) return a == b;
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// Shell-style quotes around the whole value: '...' literally, "..." with \" \\ \$ \` escapes.
std::string unquote(std::string_view v) {
    if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') return std::string(v.substr(1, v.size() - 2));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        std::string out;
        std::string_view inner = v.substr(1, v.size() - 2);
        for (std::size_t i = 0; i < inner.size(); ++i) {
            if (inner[i] == '\\' && i + 1 < inner.size() &&
                std::string_view("\"\\$`").find(inner[i + 1]) != std::string_view::npos)
                ++i;
            out += inner[i];
        }
        return out;
    }
    return std::string(v);
}

}  // namespace

const KeyValue* KeyValueFile::find(std::string_view key) const {
    const KeyValue* found = nullptr;
    for (const auto& e : entries) {
        if (!keys_equal(e.key, key, syntax.case_insensitive_keys)) continue;
        if (syntax.first_wins) return &e;
        found = &e;
    }
    return found;
}

KeyValueFile parse_key_value(std::string_view text, const std::string& file, const KeyValueSyntax& syntax) {
    KeyValueFile out;
    out.file = file;
    out.syntax = syntax;
    unsigned line_no = 0;
    for (const auto& raw : split_lines(text)) {
        ++line_no;

        std::string_view line = trim(raw);
        if (line.empty() || syntax.comment_chars.find(line.front()) != std::string::npos) continue;

        std::size_t key_end = std::string_view::npos;
        std::size_t value_start = std::string_view::npos;
        using Sep = KeyValueSyntax::Separator;
        if (syntax.separator == Sep::equals) {
            key_end = line.find('=');
            if (key_end != std::string_view::npos) value_start = key_end + 1;
        } else {
            std::string_view stops = syntax.separator == Sep::whitespace ? std::string_view(" \t") : std::string_view(" \t=");
            key_end = line.find_first_of(stops);
            if (key_end != std::string_view::npos) {
                value_start = line.find_first_not_of(" \t", key_end);
                // "Key = value" and "Key=value" for equals_or_whitespace
                if (syntax.separator == Sep::equals_or_whitespace && value_start != std::string_view::npos &&
                    line[value_start] == '=')
                    ++value_start;
                if (value_start == std::string_view::npos) value_start = line.size();
            }
        }
        if (key_end == std::string_view::npos) {
            out.warnings.push_back(file + ":" + std::to_string(line_no) + ": no separator, line ignored");
            continue;
        }
        std::string_view key = trim(line.substr(0, key_end));
        if (key.empty()) {
            out.warnings.push_back(file + ":" + std::to_string(line_no) + ": missing key name, line ignored");
            continue;
        }
        std::string_view value = trim(line.substr(value_start));
        out.entries.push_back(KeyValue{std::string(key), syntax.strip_quotes ? unquote(value) : std::string(value), line_no});
    }
    return out;
}

}  // namespace plumb::config
