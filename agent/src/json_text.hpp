// JSON text as people write it: comments allowed, syntax errors and duplicate keys reported as FILE:LINE:COL, and
// the position of every value (worked out on first use) so that messages about a JSON pointer can name its line.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "plumb/error.hpp"

namespace plumb::json_text {

struct Position {
    std::size_t line = 0;    // 1-based
    std::size_t column = 0;  // 1-based, in bytes
};

// One reference token of a JSON pointer (RFC 6901): "~" -> "~0", "/" -> "~1".
std::string escape_pointer_token(std::string_view token);

// A string as a JSON string literal, for messages: ab"c -> "ab\"c".
std::string quote(std::string_view s);

// 1-based line and column of a byte offset.
Position position_of(std::string_view text, std::size_t offset);

class Document {
public:
    Document() = default;

    nlohmann::json value;

    // JSON pointer -> where the value starts (for object members: where the key starts). Computed from the text on
    // first use: only error messages need it, and parsing stays one pass.
    const std::unordered_map<std::string, Position>& positions() const;

    // "FILE:LINE: at POINTER" using the pointer or its nearest ancestor with a known position.
    std::string where(const std::string& source, const std::string& pointer) const;

private:
    friend Result<Document> parse(std::string_view text, const std::string& source);
    struct Lazy;
    // Shared by copies (the text never changes); null for a default-constructed Document, which has no positions.
    std::shared_ptr<Lazy> lazy_;
};

// Objects and arrays nested deeper than this are rejected (the recursion elsewhere stays bounded).
inline constexpr int max_nesting = 200;

Result<Document> parse(std::string_view text, const std::string& source);

// Reads a whole file (for messages: "FILE: No such file or directory").
Result<std::string> read_file(const std::string& path);

}  // namespace plumb::json_text
