#include "json_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <set>
#include <utility>
#include <vector>

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

namespace {

// Walks text nlohmann has already accepted, recording positions and rejecting duplicate keys and nesting deeper than
// max_nesting. Only the rare paths run it: an error to word with LINE:COL, or the first Document::where().
class Scanner {
public:
    Scanner(std::string_view text, const std::string& source, std::unordered_map<std::string, Position>& positions)
        : t_(text), source_(source), positions_(positions) {}

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
        positions_.try_emplace(ptr, position_of_cached(i_));
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
            positions_.try_emplace(child, position_of_cached(key_at));
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
    std::unordered_map<std::string, Position>& positions_;
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

// Builds the DOM from SAX events like nlohmann's own json_sax_dom_parser, and notes (without wording it) a duplicate
// key or a too-deep nesting: the Scanner words those, once the whole text is known to be free of syntax errors.
class DomBuilder {
public:
    explicit DomBuilder(json& root) : root_(root) {}

    bool null() { return place(nullptr), true; }
    bool boolean(bool b) { return place(b), true; }
    bool number_integer(json::number_integer_t n) { return place(n), true; }
    bool number_unsigned(json::number_unsigned_t n) { return place(n), true; }
    bool number_float(json::number_float_t n, const json::string_t& /*as written*/) { return place(n), true; }
    bool string(json::string_t& s) { return place(s), true; }
    bool binary(json::binary_t& b) { return place(json::binary(b)), true; }

    bool start_object(std::size_t /*unknown for JSON text*/) { return open(json::value_t::object); }
    bool start_array(std::size_t /*unknown for JSON text*/) { return open(json::value_t::array); }
    bool end_object() { return stack_.pop_back(), true; }
    bool end_array() { return stack_.pop_back(), true; }

    bool key(json::string_t& k) {
        auto [it, fresh] = stack_.back().node->get_ref<json::object_t&>().try_emplace(k);
        if (!fresh) suspect_ = true;
        member_ = &it->second;
        return true;
    }

    bool parse_error(std::size_t position, const std::string& /*last_token*/, const json::exception& ex) {
        syntax_error_ = true;
        if (dynamic_cast<const json::parse_error*>(&ex) != nullptr) {
            error_offset_ = position;
            error_ = parse_error_detail(ex.what());
        } else {
            error_ = ex.what();  // e.g. out_of_range 406 "number overflow": no position, as json::parse reported it
        }
        return false;
    }

    bool suspect() const { return suspect_; }
    bool syntax_error() const { return syntax_error_; }
    // The message after "FILE:" / "FILE:LINE:COL:"; error_offset() is npos when it has no position.
    const std::string& error() const { return error_; }
    std::size_t error_offset() const { return error_offset_; }

private:
    struct Open {
        json* node;  // stable: a container's parent gets no new elements while the container is open
        bool array;
    };

    json* place(json&& v) {
        if (stack_.empty()) {
            root_ = std::move(v);
            return &root_;
        }
        if (stack_.back().array) return &stack_.back().node->get_ref<json::array_t&>().emplace_back(std::move(v));
        *member_ = std::move(v);
        return member_;
    }

    bool open(json::value_t type) {
        if (stack_.size() >= static_cast<std::size_t>(max_nesting)) suspect_ = true;
        stack_.push_back({place(json(type)), type == json::value_t::array});
        return true;
    }

    json& root_;
    std::vector<Open> stack_;
    json* member_ = nullptr;  // the value slot of the key just read
    bool suspect_ = false;
    bool syntax_error_ = false;
    std::string error_;
    std::size_t error_offset_ = std::string::npos;
};

// json::parse's DOM parser would also link each value to its parent; DomBuilder does not.
static_assert(JSON_DIAGNOSTICS == 0, "DomBuilder does not maintain JSON_DIAGNOSTICS parent pointers");

}  // namespace

struct Document::Lazy {
    std::string text;
    std::once_flag once;  // where() is const and may be called from several threads
    std::unordered_map<std::string, Position> positions;
};

const std::unordered_map<std::string, Position>& Document::positions() const {
    static const std::unordered_map<std::string, Position> none;
    if (!lazy_) return none;
    std::call_once(lazy_->once, [&lazy = *lazy_] {
        lazy.positions.clear();  // a previous attempt may have thrown half-way
        const std::string no_source;
        (void)Scanner(lazy.text, no_source, lazy.positions).run();  // the text was accepted: no error to report
    });
    return lazy_->positions;
}

std::string Document::where(const std::string& source, const std::string& pointer) const {
    const auto& known = positions();
    std::string shown = pointer.empty() ? "(document root)" : pointer;
    std::string p = pointer;
    while (true) {
        if (auto it = known.find(p); it != known.end())
            return source + ":" + std::to_string(it->second.line) + ": at " + shown;
        if (p.empty()) return source + ": at " + shown;
        p.erase(p.rfind('/'));
    }
}

Result<Document> parse(std::string_view text, const std::string& source) {
    try {
        Document doc;
        DomBuilder builder(doc.value);
        json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true, /*ignore_comments=*/true);
        if (builder.syntax_error()) {
            if (builder.error_offset() == std::string::npos) return fail_invalid(source + ": " + builder.error());
            // The offset counts the characters read, so the offending one is at offset - 1.
            std::size_t offset = builder.error_offset();
            Position p = position_of(text, offset == 0 ? 0 : offset - 1);
            return fail_invalid(source + ":" + std::to_string(p.line) + ":" + std::to_string(p.column) + ": " +
                                builder.error());
        }
        if (builder.suspect()) {
            std::unordered_map<std::string, Position> positions;
            if (auto r = Scanner(text, source, positions).run(); !r) return std::unexpected(r.error());
            // Unreachable: the Scanner rejects whatever DomBuilder noted; never let a last-wins duplicate through.
            return fail_invalid(source + ": duplicate key or nesting deeper than " + std::to_string(max_nesting) +
                                " levels");
        }
        doc.lazy_ = std::make_shared<Document::Lazy>();
        doc.lazy_->text.assign(text);
        return doc;
    } catch (const std::exception& e) {  // e.g. allocation failure: never let it escape the API
        return fail_invalid(source + ": " + e.what());
    }
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
