#include "json_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

namespace plumb::json_text {

using nlohmann::json;

std::string escape_pointer_token(std::string_view token) {
    std::string out;
    for (char c : token) {
        if (c == '~') out += "~0";
        else if (c == '/') out += "~1";
        else out += c;
    }
    return out;
}

std::string quote(std::string_view s) { return json(std::string(s)).dump(); }

namespace {

// Moves a position over `span`.
void advance(Position& p, std::string_view span) {
    for (char c : span) {
        if (c == '\n') {
            ++p.line;
            p.column = 1;
        } else {
            ++p.column;
        }
    }
}

}  // namespace

Position position_of(std::string_view text, std::size_t offset) {
    Position p{1, 1};
    advance(p, text.substr(0, offset));
    return p;
}

std::string Document::where(const std::string& source, const std::string& pointer) const {
    std::string shown = pointer.empty() ? "(document root)" : pointer;
    std::string p = pointer;
    while (true) {
        if (auto it = positions.find(p); it != positions.end())
            return source + ":" + std::to_string(it->second.line) + ": at " + shown;
        if (p.empty()) return source + ": at " + shown;
        p.erase(p.rfind('/'));
    }
}

namespace {

// Walks text nlohmann has already accepted, recording positions and rejecting duplicate keys (which nlohmann would
// silently resolve to the last value: two "severity" keys in a rule must not pass unnoticed).
class Scanner {
public:
    Scanner(std::string_view text, const std::string& source, Document& doc) : t_(text), source_(source), doc_(doc) {}

    Result<void> run() {
        value("", 0);
        if (!error_.empty()) return fail_invalid(error_);
        return {};
    }

private:
    bool at_end() const { return i_ >= t_.size(); }

    void skip_space() {
        while (!at_end()) {
            char c = t_[i_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++i_;
            } else if (c == '/' && i_ + 1 < t_.size() && t_[i_ + 1] == '/') {
                while (!at_end() && t_[i_] != '\n') ++i_;
            } else if (c == '/' && i_ + 1 < t_.size() && t_[i_ + 1] == '*') {
                std::size_t end = t_.find("*/", i_ + 2);
                i_ = end == std::string_view::npos ? t_.size() : end + 2;
            } else {
                return;
            }
        }
    }

    void error_at(std::size_t offset, const std::string& what) {
        if (!error_.empty()) return;
        Position p = position_of(t_, offset);
        error_ = source_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " + what;
    }

    // Returns the raw string token including quotes.
    std::string_view string_token() {
        std::size_t start = i_++;
        while (!at_end() && t_[i_] != '"') i_ += t_[i_] == '\\' ? 2 : 1;
        ++i_;
        return t_.substr(start, std::min(i_, t_.size()) - start);
    }

    void value(const std::string& ptr, int depth) {
        skip_space();
        if (at_end() || !error_.empty()) return;
        doc_.positions.try_emplace(ptr, position_of_cached(i_));
        char c = t_[i_];
        if (c == '{' || c == '[') {
            if (depth >= max_nesting) {
                error_at(i_, "nesting deeper than " + std::to_string(max_nesting) + " levels");
                return;
            }
            ++i_;
            if (c == '{') members(ptr, depth);
            else elements(ptr, depth);
        } else if (c == '"') {
            string_token();
        } else {
            while (!at_end() && std::string_view(",]} \t\r\n/").find(t_[i_]) == std::string_view::npos) ++i_;
        }
    }

    void members(const std::string& ptr, int depth) {
        std::set<std::string> seen;
        while (error_.empty()) {
            skip_space();
            if (at_end()) return;
            if (t_[i_] == '}') {
                ++i_;
                return;
            }
            if (t_[i_] == ',') {
                ++i_;
                continue;
            }
            std::size_t key_at = i_;
            std::string key = json::parse(string_token()).get<std::string>();
            std::string child = ptr + "/" + escape_pointer_token(key);
            if (!seen.insert(key).second) {
                error_at(key_at, "duplicate key " + json(key).dump() + " in the object at " + (ptr.empty() ? "(document root)" : ptr));
                return;
            }
            doc_.positions.try_emplace(child, position_of_cached(key_at));
            skip_space();
            ++i_;  // ':'
            value(child, depth + 1);
        }
    }

    void elements(const std::string& ptr, int depth) {
        std::size_t index = 0;
        skip_space();
        if (!at_end() && t_[i_] == ']') {
            ++i_;
            return;
        }
        while (error_.empty() && !at_end()) {
            value(ptr + "/" + std::to_string(index++), depth + 1);
            skip_space();
            if (at_end()) return;
            if (t_[i_++] == ']') return;  // otherwise ','
        }
    }

    // Positions are requested in increasing offset order, so line counting continues from the last one.
    Position position_of_cached(std::size_t offset) {
        if (last_offset_ < offset) {
            advance(last_, t_.substr(last_offset_, offset - last_offset_));
            last_offset_ = offset;
        }
        return last_;
    }

    std::string_view t_;
    const std::string& source_;
    Document& doc_;
    std::size_t i_ = 0;
    std::size_t last_offset_ = 0;
    Position last_{1, 1};
    std::string error_;
};

// "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing value - ..." ->
// the part after the position, which says what was found and what was expected.
std::string parse_error_detail(const std::string& what) {
    std::size_t col = what.find(", column ");
    std::size_t colon = col == std::string::npos ? std::string::npos : what.find(": ", col);
    if (colon != std::string::npos) return what.substr(colon + 2);
    std::size_t bracket = what.find("] ");
    return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

}  // namespace

Result<Document> parse(std::string_view text, const std::string& source) {
    Document doc;
    try {
        doc.value = json::parse(text, nullptr, /*allow_exceptions=*/true, /*ignore_comments=*/true);
    } catch (const json::parse_error& e) {
        // e.byte counts the characters read, so the offending one is at byte - 1.
        Position p = position_of(text, e.byte == 0 ? 0 : e.byte - 1);
        return fail_invalid(source + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " +
                            parse_error_detail(e.what()));
    } catch (const std::exception& e) {
        return fail_invalid(source + ": " + e.what());
    }
    try {
        Scanner scanner(text, source, doc);
        if (auto r = scanner.run(); !r) return std::unexpected(r.error());
    } catch (const std::exception& e) {
        return fail_invalid(source + ": " + e.what());
    }
    return doc;
}

namespace {
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};
}  // namespace

Result<std::string> read_file(const std::string& path) {
    constexpr off_t max_size = 64 << 20;  // baselines are text written by people; refuse anything absurd
    Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)};
    if (f.fd < 0) return fail_errno(errno, path);
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) return fail_errno(errno, path);
    if (!S_ISREG(st.st_mode)) return fail(EINVAL, path + ": not a regular file");
    if (st.st_size > max_size) return fail_errno(EFBIG, path);
    std::string out;
    char buf[65536];
    while (true) {
        ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(errno, path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > static_cast<std::size_t>(max_size)) return fail_errno(EFBIG, path);
    }
    return out;
}

}  // namespace plumb::json_text
