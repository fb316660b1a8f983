// systemd 252 INI parsing and drop-in merging; see ini.hpp for the rules. Each step below names the systemd
// function it mirrors, because the exact order of checks (comment before BOM, UTF-8 before section, ...) decides
// the result for odd files.
#include "plumb/config/ini.hpp"

#include <cerrno>
#include <cstring>
#include <map>

namespace plumb::config {
namespace {

constexpr std::size_t kLongLineMax = 1U << 20;  // LONG_LINE_MAX
constexpr std::string_view kWhitespace = " \t\n\r";
constexpr std::string_view kBom = "\xef\xbb\xbf";

std::string_view strip(std::string_view s) {
    std::size_t b = s.find_first_not_of(kWhitespace);
    if (b == std::string_view::npos) return {};
    std::size_t e = s.find_last_not_of(kWhitespace);
    return s.substr(b, e - b + 1);
}

// read_line(): splits at \n, \r, NUL. A run of end-of-line characters counts as one line end as long as no kind
// repeats, and a NUL always ends the run ("\r\n", "\n\r", "\n\r\0" are one; "\n\n", "\0\n" are two).
class LineReader {
public:
    explicit LineReader(std::string_view text) : text_(text) {}
    enum class Next { line, eof, too_long };
    Next next(std::string_view& out) {
        if (pos_ >= text_.size()) return Next::eof;
        std::size_t start = pos_;
        while (pos_ < text_.size() && !is_eol(text_[pos_])) {
            ++pos_;
            if (pos_ - start >= kLongLineMax) return Next::too_long;
        }
        out = text_.substr(start, pos_ - start);
        unsigned seen = 0;
        while (pos_ < text_.size()) {
            unsigned kind = eol_kind(text_[pos_]);
            if ((seen & 4u) || kind == 0 || (seen & kind)) break;
            seen |= kind;
            ++pos_;
        }
        return Next::line;
    }

private:
    static bool is_eol(char c) { return c == '\n' || c == '\r' || c == '\0'; }
    static unsigned eol_kind(char c) { return c == '\n' ? 1u : c == '\r' ? 2u : c == '\0' ? 4u : 0u; }
    std::string_view text_;
    std::size_t pos_ = 0;
};

// utf8_is_valid() from src/basic/utf8.c: shortest encodings only, no surrogates, no noncharacters
// U+FDD0..U+FDEF and U+xFFFE/U+xFFFF, nothing above U+10FFFF.
bool utf8_is_valid(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = (c & 0x80) == 0 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 0 || len > s.size() - i) return false;
        if (len == 1) {
            ++i;
            continue;
        }
        for (std::size_t k = 0; k < len; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0x80) != 0x80) return false;
        char32_t ch = c & (len == 2 ? 0x1f : len == 3 ? 0x0f : 0x07);
        for (std::size_t k = 1; k < len; ++k) ch = (ch << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
        std::size_t enc = ch < 0x80 ? 1 : ch < 0x800 ? 2 : ch < 0x10000 ? 3 : 4;
        if (enc != len) return false;
        if (ch >= 0x110000 || (ch & 0xFFFFF800) == 0xD800 || (ch >= 0xFDD0 && ch <= 0xFDEF) || (ch & 0xFFFE) == 0xFFFE)
            return false;
        i += len;
    }
    return true;
}

// string_is_safe(): no control characters, quotes, backslashes or DEL.
bool string_is_safe(std::string_view s) {
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c > 0 && c < ' ') return false;
        if (c == '"' || c == '\'' || c == '\\' || c == 0x7f) return false;
    }
    return true;
}

std::string where(const std::string& file, unsigned line) { return file + ":" + std::to_string(line) + ": "; }

class Parser {
public:
    Parser(const std::string& file, ParsedIni& out) : file_(file), out_(out) {}

    // parse_line(): false when systemd would stop reading.
    bool line(std::string_view l, unsigned line) {
        l = strip(l);
        if (l.empty()) return true;
        if (!utf8_is_valid(l)) return fatal(line, "invalid UTF-8");
        if (l.front() == '[') {
            if (l.back() != ']' || l.size() < 2)
                return fatal(line, "invalid section header '" + std::string(l) + "'");
            std::string_view name = l.substr(1, l.size() - 2);
            if (!string_is_safe(name)) return fatal(line, "bad characters in section header '" + std::string(l) + "'");
            section_ = std::string(name);
            return true;
        }
        std::size_t eq = l.find('=');
        if (eq == std::string_view::npos) {
            out_.warnings.push_back(where(file_, line) + "missing '=', line ignored");
            return true;
        }
        if (eq == 0) {
            out_.warnings.push_back(where(file_, line) + "missing key name before '=', line ignored");
            return true;
        }
        out_.assignments.push_back(
            Assignment{section_, std::string(strip(l.substr(0, eq))), std::string(strip(l.substr(eq + 1))), file_, line});
        return true;
    }

    bool fatal(unsigned line, const std::string& what) {
        out_.fatal = where(file_, line) + what + "; systemd stops reading its configuration here";
        out_.fatal_line = line;
        return false;
    }

private:
    const std::string& file_;
    ParsedIni& out_;
    std::string section_;
};

}  // namespace

ParsedIni parse_ini(std::string_view text, const std::string& file) {
    ParsedIni out;
    Parser parser(file, out);
    LineReader reader(text);
    unsigned line = 0;
    bool bom_seen = false;
    bool continuing = false;
    std::string continuation;

    for (;;) {
        std::string_view buf;
        auto r = reader.next(buf);
        if (r == LineReader::Next::eof) break;
        if (r == LineReader::Next::too_long) {
            parser.fatal(line + 1, "line too long");
            return out;
        }
        ++line;

        // Comment lines are dropped before anything else, also inside a continuation.
        std::size_t first = buf.find_first_not_of(kWhitespace);
        if (first != std::string_view::npos && (buf[first] == '#' || buf[first] == ';')) continue;

        std::string_view l = buf;
        if (!bom_seen && l.starts_with(kBom)) {
            l.remove_prefix(kBom.size());
            bom_seen = true;
        }

        std::string joined;
        if (continuing) {
            if (continuation.size() + l.size() > kLongLineMax) {
                parser.fatal(line, "continuation line too long");
                return out;
            }
            continuation.append(l);
            joined = continuation;
        } else {
            joined = std::string(l);
        }

        bool escaped = false;
        for (char c : joined) escaped = escaped ? false : c == '\\';
        if (escaped) {
            joined.back() = ' ';  // the continuation backslash becomes a space
            continuation = std::move(joined);
            continuing = true;
            continue;
        }

        if (!parser.line(joined, line)) return out;
        continuation.clear();
        continuing = false;
    }

    // A continuation still open at the end of the file is parsed as if one more line followed.
    if (continuing) parser.line(continuation, ++line);
    return out;
}

const Assignment* MergedIni::last(std::string_view section, std::string_view key) const {
    for (auto it = assignments.rbegin(); it != assignments.rend(); ++it)
        if (it->section == section && it->key == key) return &*it;
    return nullptr;
}

std::vector<const Assignment*> MergedIni::all(std::string_view section, std::string_view key) const {
    std::vector<const Assignment*> out;
    for (const auto& a : assignments)
        if (a.section == section && a.key == key) out.push_back(&a);
    return out;
}

namespace {

// A drop-in symlinked to /dev/null is a mask. Inside an offline root /dev/null may not exist, so it is recognised
// by its target rather than read.
bool is_dev_null_link(FileSource& files, const std::string& path) {
    auto st = files.stat(path, false);
    if (!st || st->type != FileType::symlink) return false;
    auto target = files.read_link(path);
    return target && *target == "/dev/null";
}

// Reads and parses one file into `merged`. Returns false (without error) when the file does not exist.
Result<bool> apply_file(FileSource& files, const std::string& path, MergedIni& merged) {
    if (is_dev_null_link(files, path)) {
        merged.files.push_back(path);
        return true;
    }
    auto text = files.read(path);
    if (!text) {
        if (text.error().code == ENOENT) return false;
        return std::unexpected(Error{text.error().code, "cannot read " + text.error().message +
                                                            " (systemd would stop reading its configuration here)"});
    }
    ParsedIni parsed = parse_ini(*text, path);
    merged.files.push_back(path);
    for (auto& a : parsed.assignments) merged.assignments.push_back(std::move(a));
    for (auto& w : parsed.warnings) merged.warnings.push_back(std::move(w));
    if (!parsed.fatal.empty()) merged.fatal = std::move(parsed.fatal);
    return true;
}

}  // namespace

Result<MergedIni> load_with_dropins(FileSource& files, const std::string& main_file, const std::string& dropin_name) {
    MergedIni merged;

    // conf_files_list_strv(): the first directory that has a name wins it; the result is ordered by name.
    std::map<std::string, std::string> dropins;  // file name -> path
    for (const char* prefix : kConfigSearchDirs) {
        std::string dir = std::string(prefix) + dropin_name;
        auto names = files.list_dir(dir);
        if (!names) {
            int err = names.error().code;
            if (err != ENOENT && err != ENOTDIR)
                merged.warnings.push_back(names.error().message + " (drop-in directory skipped, as systemd does)");
            continue;
        }
        for (const auto& name : *names) {
            // FOREACH_DIRENT skips hidden entries; only "*.conf" counts.
            if (name.empty() || name.front() == '.' || !name.ends_with(".conf")) continue;
            dropins.try_emplace(name, dir + "/" + name);
        }
    }

    auto main = apply_file(files, main_file, merged);
    if (!main) return std::unexpected(main.error());

    for (const auto& [name, path] : dropins) {
        if (!merged.fatal.empty()) {
            merged.not_applied.push_back(path);
            continue;
        }
        auto applied = apply_file(files, path, merged);
        if (!applied) return std::unexpected(applied.error());
        if (!*applied) merged.warnings.push_back(path + ": dangling symbolic link, ignored");
    }
    return merged;
}

}  // namespace plumb::config
