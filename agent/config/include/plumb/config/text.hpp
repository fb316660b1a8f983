// Small text helpers shared by the engine and the modules, so that every place trims, splits, joins and formats
// modes the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::config {

// Without leading and trailing white space (" \t\n\v\f\r", what isspace() takes in the C locale).
std::string_view trim(std::string_view s);
// The lines of `text` without their '\n'; a trailing newline adds no empty line.
std::vector<std::string> split_lines(std::string_view text);

// Lines with their "\n" (or "\r\n") terminators kept, for edits that must reproduce untouched lines byte for byte.
// The views point into `text`.
std::vector<std::string_view> lines_with_endings(std::string_view text);
// The items separated by `sep` (an empty item adds no separator before the next one).
std::string join(const std::vector<std::string>& items, std::string_view sep);
// A whole decimal integer with an optional sign ('+' or '-'), white space around it allowed.
std::optional<long long> parse_integer(std::string_view s);
// A permission mode as four octal digits: 02755 -> "2755", 0640 -> "0640" (bits above 07777 are dropped).
std::string octal(std::uint32_t mode);

}  // namespace plumb::config
