// Sizes and time spans written the systemd way: "4G", "10%", "1month", "2 weeks".
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "plumb/error.hpp"

namespace plumb::config {

struct Percent {
    double value;  // 0..100
    bool operator==(const Percent&) const = default;
};

// parse_size with base 1024 as systemd's parse_size(): optional decimal fraction, suffixes B K M G T P E
// (case as systemd accepts them), whitespace allowed between number and suffix.
Result<std::uint64_t> parse_size(std::string_view text);
// Size or percentage, as journald's SystemMaxUse= etc. accept (config_parse_iec_uint64 plus "%").
Result<std::variant<std::uint64_t, Percent>> parse_size_or_percent(std::string_view text);
// systemd time span in seconds (parse_sec with default unit seconds): "1month", "2w 3d", "0", "infinity" -> UINT64_MAX.
Result<std::uint64_t> parse_timespan_sec(std::string_view text);
// systemd boolean: 1/yes/y/true/t/on and 0/no/n/false/f/off, case-insensitive.
Result<bool> parse_boolean(std::string_view text);

}  // namespace plumb::config
