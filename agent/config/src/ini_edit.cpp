#include "plumb/config/ini_edit.hpp"

#include <stdexcept>
#include <vector>

#include "plumb/config/ini.hpp"
#include "plumb/config/text.hpp"

namespace plumb::config {

namespace {

// Owned copies of the lines (terminators kept): the edits below replace some of them.
std::vector<std::string> owned_lines(std::string_view text) {
    auto views = lines_with_endings(text);
    return {views.begin(), views.end()};
}

std::string_view body(const std::string& line) {
    std::string_view v = line;
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.remove_suffix(1);
    return v;
}

bool continues(const std::string& line) {
    std::string_view b = body(line);
    size_t n = 0;
    while (n < b.size() && b[b.size() - 1 - n] == '\\') ++n;
    return n % 2 == 1;
}

// First line (0-based) of the assignment ending at 0-based `last`: continuation lines end in a backslash. Comment
// lines inside a continuation belong to it too (systemd skips them).
size_t first_line_of(const std::vector<std::string>& lines, size_t last) {
    size_t first = last;
    while (first > 0) {
        const std::string& prev = lines[first - 1];
        std::string_view t = trim(body(prev));
        bool comment = !t.empty() && (t[0] == '#' || t[0] == ';');
        if (continues(prev) || (comment && first >= 2 && continues(lines[first - 2]))) {
            --first;
            continue;
        }
        break;
    }
    return first;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l;
    return out;
}

std::string_view section_header(const std::string& line) {
    std::string_view t = trim(body(line));
    if (t.size() >= 2 && t.front() == '[' && t.back() == ']') return t.substr(1, t.size() - 2);
    return {};
}

}  // namespace

std::string ini_set(std::string_view text, std::string_view section, std::string_view key, std::string_view value) {
    if (value.empty() || value.find_first_of("\r\n") != std::string_view::npos)
        throw std::invalid_argument("ini_set: value must be a non-empty single line");
    const std::string assignment = std::string(key) + "=" + std::string(value);
    auto parsed = parse_ini(text, "");
    const Assignment* last = nullptr;
    for (const auto& a : parsed.assignments)
        if (a.section == section && a.key == key) last = &a;
    auto lines = owned_lines(text);
    if (last) {
        size_t end = last->line - 1, begin = first_line_of(lines, end);
        std::string ending = lines[end].ends_with("\r\n") ? "\r\n" : "\n";
        lines.erase(lines.begin() + static_cast<long>(begin) + 1, lines.begin() + static_cast<long>(end) + 1);
        lines[begin] = assignment + ending;
        return join_lines(lines);
    }
    // Append to the section's last block: after its last assignment (comments after it may introduce what follows).
    long block_end = -1;
    std::string_view current;
    bool in_section = false;
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view h = section_header(lines[i]);
        if (!h.empty()) {
            current = h;
            in_section = current == section;
            if (in_section) block_end = static_cast<long>(i);
            continue;
        }
        std::string_view t = trim(body(lines[i]));
        if (in_section && !t.empty() && t[0] != '#' && t[0] != ';') block_end = static_cast<long>(i);
    }
    if (block_end >= 0) {
        if (!lines[block_end].ends_with('\n')) lines[block_end] += '\n';
        lines.insert(lines.begin() + block_end + 1, assignment + "\n");
        return join_lines(lines);
    }
    std::string out(text);
    if (!out.empty() && !out.ends_with('\n')) out += '\n';
    if (!out.empty()) out += '\n';
    out += "[" + std::string(section) + "]\n" + assignment + "\n";
    return out;
}

std::string ini_comment_out(std::string_view text, unsigned line, std::string_view note) {
    auto lines = owned_lines(text);
    if (line == 0 || line > lines.size()) throw std::out_of_range("ini_comment_out: no line " + std::to_string(line));
    size_t end = line - 1, begin = first_line_of(lines, end);
    for (size_t i = begin; i <= end; ++i) {
        std::string ending = lines[i].ends_with("\r\n") ? "\r\n" : lines[i].ends_with('\n') ? "\n" : "";
        std::string_view b = body(lines[i]);
        std::string_view t = trim(b);
        if (!t.empty() && (t[0] == '#' || t[0] == ';')) continue;  // already a comment inside the continuation
        lines[i] = "# " + std::string(note) + ": " + std::string(b) + ending;
    }
    return join_lines(lines);
}

}  // namespace plumb::config
