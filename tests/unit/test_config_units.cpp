// systemd size, time span and boolean parsing. Expected values follow systemd 252's parse_size(), parse_sec() and
// parse_boolean() (including what they reject), so journald settings are read the way journald reads them.
#include <gtest/gtest.h>

#include <cerrno>

#include "plumb/config/units.hpp"

using namespace plumb::config;

namespace {
constexpr std::uint64_t K = 1024, M = K * K, G = M * K, T = G * K, E = T * K * K;
constexpr std::uint64_t S = 1000000;  // usec per second

std::uint64_t size_ok(const char* s) {
    auto r = parse_size(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return r.value_or(~0ULL);
}
int size_err(const char* s) {
    auto r = parse_size(s);
    EXPECT_FALSE(r.has_value()) << s << " parsed as " << r.value_or(0);
    return r ? 0 : r.error().code;
}
std::uint64_t usec_ok(const char* s) {
    auto r = parse_timespan_usec(s);
    EXPECT_TRUE(r.has_value()) << s << ": " << (r ? "" : r.error().message);
    return r.value_or(~0ULL - 1);
}
int usec_err(const char* s) {
    auto r = parse_timespan_usec(s);
    EXPECT_FALSE(r.has_value()) << s << " parsed as " << r.value_or(0);
    return r ? 0 : r.error().code;
}
}  // namespace

TEST(ConfigUnits, SizePlainAndSuffixes) {
    EXPECT_EQ(size_ok("0"), 0u);
    EXPECT_EQ(size_ok("512"), 512u);
    EXPECT_EQ(size_ok("5B"), 5u);
    EXPECT_EQ(size_ok("1K"), K);
    EXPECT_EQ(size_ok("100M"), 100 * M);
    EXPECT_EQ(size_ok("4G"), 4 * G);
    EXPECT_EQ(size_ok("2T"), 2 * T);
    EXPECT_EQ(size_ok("1P"), T * K);
    EXPECT_EQ(size_ok("1E"), E);
    EXPECT_EQ(size_ok("1 K"), K);
    EXPECT_EQ(size_ok("  8M"), 8 * M);
    EXPECT_EQ(size_ok("+5"), 5u);  // strtoull accepts a plus sign, and so does systemd
}

TEST(ConfigUnits, SizeFractionsAndSums) {
    EXPECT_EQ(size_ok("1.5K"), 1536u);
    EXPECT_EQ(size_ok("1.25G"), G + G / 4);
    EXPECT_EQ(size_ok("0.5M"), M / 2);
    EXPECT_EQ(size_ok("10.M"), 10 * M);  // systemd: "10.M is valid"
    EXPECT_EQ(size_ok("1.5"), 1u);       // the fraction of a byte is dropped
    EXPECT_EQ(size_ok("1G 512M"), G + 512 * M);
    EXPECT_EQ(size_ok("1G512M"), G + 512 * M);
}

TEST(ConfigUnits, SizeRejectsWhatSystemdRejects) {
    EXPECT_EQ(size_err(""), EINVAL);
    EXPECT_EQ(size_err("   "), EINVAL);
    EXPECT_EQ(size_err("1k"), EINVAL);   // suffixes are upper case only
    EXPECT_EQ(size_err("1KB"), EINVAL);  // one suffix per component
    EXPECT_EQ(size_err("1Ki"), EINVAL);
    EXPECT_EQ(size_err("10%"), EINVAL);
    EXPECT_EQ(size_err("5M "), EINVAL);  // trailing blank starts a component with no number
    EXPECT_EQ(size_err("512M 1G"), EINVAL);  // units must decrease
    EXPECT_EQ(size_err("1G 1G"), EINVAL);
    EXPECT_EQ(size_err("abc"), EINVAL);
    EXPECT_EQ(size_err("-1"), ERANGE);
    EXPECT_EQ(size_err("16E"), ERANGE);
    EXPECT_EQ(size_err("99999999999999999999"), ERANGE);
    EXPECT_EQ(size_ok("18446744073709551615"), ~0ULL);
}

TEST(ConfigUnits, SizeOrPercent) {
    auto p = parse_size_or_percent("10%");
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<Percent>(*p), Percent{10});
    p = parse_size_or_percent("12.5%");
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<Percent>(*p), Percent{12.5});
    p = parse_size_or_percent("4G");
    ASSERT_TRUE(p);
    EXPECT_EQ(std::get<std::uint64_t>(*p), 4 * G);
    EXPECT_EQ(parse_size_or_percent("101%").error().code, ERANGE);
    EXPECT_EQ(parse_size_or_percent("x%").error().code, EINVAL);
    EXPECT_EQ(parse_size_or_percent("%").error().code, EINVAL);
    EXPECT_EQ(parse_size_or_percent("1.234%").error().code, EINVAL);
}

TEST(ConfigUnits, TimespanUnits) {
    EXPECT_EQ(usec_ok("0"), 0u);
    EXPECT_EQ(usec_ok("30"), 30 * S);  // default unit: seconds
    EXPECT_EQ(usec_ok("30s"), 30 * S);
    EXPECT_EQ(usec_ok("30sec"), 30 * S);
    EXPECT_EQ(usec_ok("1second"), S);
    EXPECT_EQ(usec_ok("2seconds"), 2 * S);
    EXPECT_EQ(usec_ok("5min"), 300 * S);
    EXPECT_EQ(usec_ok("5m"), 300 * S);
    EXPECT_EQ(usec_ok("1minute"), 60 * S);
    EXPECT_EQ(usec_ok("3minutes"), 180 * S);
    EXPECT_EQ(usec_ok("2h"), 7200 * S);
    EXPECT_EQ(usec_ok("1hr"), 3600 * S);
    EXPECT_EQ(usec_ok("1hour"), 3600 * S);
    EXPECT_EQ(usec_ok("2hours"), 7200 * S);
    EXPECT_EQ(usec_ok("1d"), 86400 * S);
    EXPECT_EQ(usec_ok("3days"), 3 * 86400 * S);
    EXPECT_EQ(usec_ok("1w"), 7 * 86400 * S);
    EXPECT_EQ(usec_ok("2 weeks"), 14 * 86400 * S);
    EXPECT_EQ(usec_ok("1M"), 2629800 * S);  // month: 30.44 days
    EXPECT_EQ(usec_ok("1month"), 2629800 * S);
    EXPECT_EQ(usec_ok("6months"), 6 * 2629800 * S);
    EXPECT_EQ(usec_ok("1y"), 31557600 * S);  // year: 365.25 days
    EXPECT_EQ(usec_ok("1year"), 31557600 * S);
    EXPECT_EQ(usec_ok("2years"), 2 * 31557600 * S);
    EXPECT_EQ(usec_ok("10ms"), 10000u);
    EXPECT_EQ(usec_ok("10msec"), 10000u);
    EXPECT_EQ(usec_ok("7us"), 7u);
    EXPECT_EQ(usec_ok("7usec"), 7u);
    EXPECT_EQ(usec_ok("7\xc2\xb5s"), 7u);
    EXPECT_EQ(usec_ok("7\xce\xbcs"), 7u);
}

TEST(ConfigUnits, TimespanCombinationsAndFractions) {
    EXPECT_EQ(usec_ok("1h 30min"), 5400 * S);
    EXPECT_EQ(usec_ok("1h30min"), 5400 * S);
    EXPECT_EQ(usec_ok("  1y 1M  "), (31557600 + 2629800) * S);
    EXPECT_EQ(usec_ok("1.5h"), 5400 * S);
    EXPECT_EQ(usec_ok("0.5"), S / 2);
    EXPECT_EQ(usec_ok(".5s"), S / 2);
    EXPECT_EQ(usec_ok("5 6"), 11 * S);  // two components, both in seconds
    EXPECT_EQ(usec_ok("12.34 .56"), 12900000u);
    EXPECT_EQ(usec_ok("infinity"), usec_infinity);
    EXPECT_EQ(usec_ok(" infinity "), usec_infinity);
}

TEST(ConfigUnits, TimespanRejectsWhatSystemdRejects) {
    EXPECT_EQ(usec_err(""), EINVAL);
    EXPECT_EQ(usec_err("  "), EINVAL);
    EXPECT_EQ(usec_err("-1"), ERANGE);
    EXPECT_EQ(usec_err("-0"), ERANGE);
    EXPECT_EQ(usec_err("1x"), EINVAL);
    EXPECT_EQ(usec_err("12.34.56"), EINVAL);
    EXPECT_EQ(usec_err("3.sec"), EINVAL);
    EXPECT_EQ(usec_err("3."), EINVAL);
    EXPECT_EQ(usec_err("infinityx"), EINVAL);
    EXPECT_EQ(usec_err("1 infinity"), EINVAL);
    EXPECT_EQ(usec_err("1Y"), EINVAL);  // units are case-sensitive: "M" is month, "Y" is nothing
    EXPECT_EQ(usec_err("600000y"), ERANGE);
}

TEST(ConfigUnits, TimespanSeconds) {
    EXPECT_EQ(parse_timespan_sec("1month").value(), 2629800u);
    EXPECT_EQ(parse_timespan_sec("1500ms").value(), 1u);
    EXPECT_EQ(parse_timespan_sec("infinity").value(), ~0ULL);
    EXPECT_FALSE(parse_timespan_sec("soon"));
}

TEST(ConfigUnits, Boolean) {
    for (const char* s : {"1", "yes", "YES", "Yes", "y", "Y", "true", "TRUE", "t", "on", "On"})
        EXPECT_EQ(parse_boolean(s).value_or(false), true) << s;
    for (const char* s : {"0", "no", "NO", "n", "false", "False", "f", "off", "OFF"})
        EXPECT_EQ(parse_boolean(s).value_or(true), false) << s;
    for (const char* s : {"", "2", "enable", "yess", " yes", "01", "oui"})
        EXPECT_FALSE(parse_boolean(s)) << s;
}

TEST(ConfigUnits, Formatting) {
    EXPECT_EQ(format_size(0), "0B");
    EXPECT_EQ(format_size(512), "512B");
    EXPECT_EQ(format_size(4 * G), "4G");
    EXPECT_EQ(format_size(1536), "1.5K");
    EXPECT_EQ(format_size(128 * M), "128M");
    EXPECT_EQ(format_timespan_usec(0), "0");
    EXPECT_EQ(format_timespan_usec(usec_infinity), "infinity");
    EXPECT_EQ(format_timespan_usec(31557600 * S), "1y");
    EXPECT_EQ(format_timespan_usec(5400 * S), "1h 30min");
    EXPECT_EQ(format_timespan_usec(2629800 * S), "1month");
}
