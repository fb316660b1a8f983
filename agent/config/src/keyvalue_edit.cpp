#include "plumb/config/keyvalue_edit.hpp"

#include "plumb/config/text.hpp"

#include <stdexcept>
#include <vector>

namespace plumb::config {
namespace {

void check_value(std::string_view value) {
    if (value.find_first_of("\r\n") != std::string_view::npos)
        throw std::invalid_argument("key=value edit: the value must be a single line");
}

bool blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string key_value_replace(std::string_view text, unsigned line, std::string_view value, const KeyValueSyntax& syntax) {
    check_value(value);
    auto lines = lines_with_endings(text);
    if (line == 0 || line > lines.size()) throw std::out_of_range("key_value_replace: no line " + std::to_string(line));
    std::string_view l = lines[line - 1];
    std::string_view ending = l.ends_with("\r\n") ? "\r\n" : l.ends_with('\n') ? "\n" : "";
    std::string_view body = l.substr(0, l.size() - ending.size());

    // The same split parse_key_value makes: indentation, key, separator, value.
    std::size_t i = 0;
    while (i < body.size() && (blank(body[i]) || body[i] == '\v' || body[i] == '\f' || body[i] == '\r')) ++i;
    if (i == body.size() || syntax.comment_chars.find(body[i]) != std::string::npos)
        throw std::invalid_argument("key_value_replace: line " + std::to_string(line) + " is not an assignment");
    using Sep = KeyValueSyntax::Separator;
    std::size_t sep = syntax.separator == Sep::equals      ? body.find('=', i)
                      : syntax.separator == Sep::whitespace ? body.find_first_of(" \t", i)
                                                            : body.find_first_of(" \t=", i);
    if (sep == std::string_view::npos)
        throw std::invalid_argument("key_value_replace: line " + std::to_string(line) + " has no separator");
    std::size_t value_start = sep;
    if (syntax.separator == Sep::equals) {
        ++value_start;
    } else {
        while (value_start < body.size() && blank(body[value_start])) ++value_start;
        if (syntax.separator == Sep::equals_or_whitespace && value_start < body.size() && body[value_start] == '=') ++value_start;
    }
    while (value_start < body.size() && blank(body[value_start])) ++value_start;
    std::string prefix(body.substr(0, value_start));
    // "key =" with nothing after it: keep the file's "key = value" spacing rather than gluing the value on.
    if (value_start == body.size() && !prefix.empty() && prefix.back() == '=' && prefix.size() >= 2 && blank(prefix[prefix.size() - 2]))
        prefix += ' ';

    std::string out;
    out.reserve(text.size() + value.size());
    for (unsigned n = 1; n <= lines.size(); ++n) {
        if (n == line) {
            out += prefix;
            out += value;
            out += ending;
        } else {
            out += lines[n - 1];
        }
    }
    return out;
}

std::string key_value_append(std::string_view text, std::string_view key, std::string_view value, std::string_view separator) {
    check_value(value);
    std::string out(text);
    if (!out.empty() && !out.ends_with('\n')) out += out.find("\r\n") != std::string::npos ? "\r\n" : "\n";
    out += key;
    out += separator;
    out += value;
    out += '\n';
    return out;
}

std::string key_value_set(std::string_view text, std::string_view key, std::string_view value, const KeyValueSyntax& syntax,
                          std::string_view separator) {
    auto parsed = parse_key_value(text, "", syntax);
    if (const KeyValue* e = parsed.find(key)) return key_value_replace(text, e->line, value, syntax);
    return key_value_append(text, key, value, separator);
}

}  // namespace plumb::config
