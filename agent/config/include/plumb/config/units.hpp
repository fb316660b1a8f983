// Sizes and time spans written the systemd way: "4G", "10%", "1month", "2 weeks".
// The parsers follow systemd 252's src/basic/parse-util.c (parse_size, parse_boolean) and src/basic/time-util.c
// (parse_time) byte for byte, so that a value plumb accepts is a value systemd accepts and vice versa.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <variant>

#include "plumb/error.hpp"

namespace plumb::config {

struct Percent {
    double value;  // 0..100
    bool operator==(const Percent&) const = default;
};

// systemd parse_size(t, 1024): one or more "<number>[.<fraction>] [suffix]" components ("1G 512M"), suffixes
// E P T G M K B (upper case only, each at most once and in decreasing order), whitespace allowed around them, no
// sign. Results that overflow 64 bits fail with ERANGE.
Result<std::uint64_t> parse_size(std::string_view text);
// Size or percentage ("10%", "12.5%", 0..100). Note that journald's SystemMaxUse= and friends do NOT accept
// percentages (they use config_parse_iec_uint64); this is for the settings that do (logind, tmpfs sizes).
Result<std::variant<std::uint64_t, Percent>> parse_size_or_percent(std::string_view text);

inline constexpr std::uint64_t usec_infinity = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint64_t usec_per_sec = 1000000ULL;

// systemd parse_sec(): a time span in microseconds. Default unit seconds; units us/usec/µs, ms/msec,
// s/sec/second(s), m/min/minute(s), h/hr/hour(s), d/day(s), w/week(s), M/month(s) (30.44 days), y/year(s)
// (365.25 days); several components add up ("1h 30min"); "infinity" -> usec_infinity.
Result<std::uint64_t> parse_timespan_usec(std::string_view text);
// The same in whole seconds (fractions of a second are dropped); "infinity" -> UINT64_MAX.
Result<std::uint64_t> parse_timespan_sec(std::string_view text);
// systemd boolean: 1/yes/y/true/t/on and 0/no/n/false/f/off, case-insensitive ("1" and "0" exactly).
Result<bool> parse_boolean(std::string_view text);

// Human-readable forms for messages: 4294967296 -> "4G", 1536 -> "1.5K"; 31557600000000 -> "1y".
std::string format_size(std::uint64_t bytes);
std::string format_timespan_usec(std::uint64_t usec);

}  // namespace plumb::config
