// Mirrors systemd 252 parse_size() (src/basic/parse-util.c), parse_time() (src/basic/time-util.c) and
// parse_boolean(). The C library calls (strtoull/strtoll) are kept on purpose: their acceptance of "+", of
// whitespace other than systemd's WHITESPACE and their overflow behaviour are part of what systemd accepts.
#include "plumb/config/units.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>

namespace plumb::config {
namespace {

constexpr const char* kWhitespace = " \t\n\r";  // systemd's WHITESPACE
constexpr const char* kDigits = "0123456789";

bool starts_with(const char* s, const char* prefix) { return std::strncmp(s, prefix, std::strlen(prefix)) == 0; }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

Result<std::uint64_t> parse_size(std::string_view text) {
    struct Unit {
        const char* suffix;
        unsigned long long factor;
    };
    static const Unit iec[] = {
        {"E", 1024ULL * 1024 * 1024 * 1024 * 1024 * 1024}, {"P", 1024ULL * 1024 * 1024 * 1024 * 1024},
        {"T", 1024ULL * 1024 * 1024 * 1024},               {"G", 1024ULL * 1024 * 1024},
        {"M", 1024ULL * 1024},                             {"K", 1024ULL},
        {"B", 1ULL},                                       {"", 1ULL},
    };
    constexpr unsigned n_entries = sizeof(iec) / sizeof(iec[0]);

    // systemd works on a C string: an embedded NUL ends the value there.
    const std::string copy(text);
    const char* p = copy.c_str();
    unsigned long long r = 0;
    unsigned start_pos = 0;
    auto invalid = [&] { return fail_invalid("invalid size " + quoted(text) + " (expected e.g. 512M, 1.5G, 4G)"); };
    auto range = [&] { return fail(ERANGE, "size " + quoted(text) + " is out of range"); };

    do {
        double frac = 0;
        char* e = nullptr;
        p += std::strspn(p, kWhitespace);

        errno = 0;
        unsigned long long l = std::strtoull(p, &e, 10);
        if (errno > 0) return errno == ERANGE ? range() : invalid();
        if (e == p) return invalid();
        if (*p == '-') return range();

        if (*e == '.') {
            e++;
            // strtoull() itself would accept space/+/-
            if (*e >= '0' && *e <= '9') {
                char* e2 = nullptr;
                unsigned long long l2 = std::strtoull(e, &e2, 10);
                if (errno > 0) return errno == ERANGE ? range() : invalid();
                // "10.M" is valid: the fraction is optional
                frac = static_cast<double>(l2);
                for (; e < e2; e++) frac /= 10;
            }
        }

        e += std::strspn(e, kWhitespace);

        unsigned i = start_pos;
        for (; i < n_entries; i++)
            if (starts_with(e, iec[i].suffix)) break;
        if (i >= n_entries) return invalid();

        if (l + (frac > 0) > ULLONG_MAX / iec[i].factor) return range();
        unsigned long long tmp = l * iec[i].factor + static_cast<unsigned long long>(frac * iec[i].factor);
        if (tmp > ULLONG_MAX - r) return range();
        r += tmp;

        p = e + std::strlen(iec[i].suffix);
        start_pos = i + 1;
    } while (*p);

    return static_cast<std::uint64_t>(r);
}

Result<std::variant<std::uint64_t, Percent>> parse_size_or_percent(std::string_view text) {
    std::string_view t = text;
    while (!t.empty() && std::strchr(kWhitespace, t.front())) t.remove_prefix(1);
    while (!t.empty() && std::strchr(kWhitespace, t.back())) t.remove_suffix(1);
    if (!t.empty() && t.back() == '%') {
        // systemd's parse_permyriad(): "N%", "N.N%", "N.NN%", 0..100
        std::string_view n = t.substr(0, t.size() - 1);
        std::size_t dot = n.find('.');
        std::string_view whole = n.substr(0, dot);
        std::string_view decimals = dot == std::string_view::npos ? std::string_view{} : n.substr(dot + 1);
        auto all_digits = [](std::string_view s) {
            return !s.empty() && s.find_first_not_of(kDigits) == std::string_view::npos;
        };
        if (!all_digits(whole) || (dot != std::string_view::npos && (!all_digits(decimals) || decimals.size() > 2)) ||
            whole.size() > 3)
            return fail_invalid("invalid percentage " + quoted(text) + " (expected e.g. 10% or 12.5%)");
        double v = std::strtod(std::string(n).c_str(), nullptr);
        if (v > 100) return fail(ERANGE, "percentage " + quoted(text) + " is above 100%");
        return Percent{v};
    }
    auto size = parse_size(text);
    if (!size) return std::unexpected(size.error());
    return *size;
}

namespace {

constexpr std::uint64_t kUsecPerMsec = 1000ULL;
constexpr std::uint64_t kUsecPerSec = 1000000ULL;
constexpr std::uint64_t kUsecPerMinute = 60 * kUsecPerSec;
constexpr std::uint64_t kUsecPerHour = 60 * kUsecPerMinute;
constexpr std::uint64_t kUsecPerDay = 24 * kUsecPerHour;
constexpr std::uint64_t kUsecPerWeek = 7 * kUsecPerDay;
constexpr std::uint64_t kUsecPerMonth = 2629800ULL * kUsecPerSec;  // 30.44 days
constexpr std::uint64_t kUsecPerYear = 31557600ULL * kUsecPerSec;  // 365.25 days

// Same table and order as systemd's extract_multiplier(): the first prefix that matches wins.
const char* extract_multiplier(const char* p, std::uint64_t* ret) {
    static const struct {
        const char* suffix;
        std::uint64_t usec;
    } table[] = {
        {"seconds", kUsecPerSec},   {"second", kUsecPerSec},   {"sec", kUsecPerSec},       {"s", kUsecPerSec},
        {"minutes", kUsecPerMinute}, {"minute", kUsecPerMinute}, {"min", kUsecPerMinute},  {"months", kUsecPerMonth},
        {"month", kUsecPerMonth},   {"M", kUsecPerMonth},      {"msec", kUsecPerMsec},     {"ms", kUsecPerMsec},
        {"m", kUsecPerMinute},      {"hours", kUsecPerHour},   {"hour", kUsecPerHour},     {"hr", kUsecPerHour},
        {"h", kUsecPerHour},        {"days", kUsecPerDay},     {"day", kUsecPerDay},       {"d", kUsecPerDay},
        {"weeks", kUsecPerWeek},    {"week", kUsecPerWeek},    {"w", kUsecPerWeek},        {"years", kUsecPerYear},
        {"year", kUsecPerYear},     {"y", kUsecPerYear},       {"usec", 1ULL},             {"us", 1ULL},
        {"\xce\xbcs", 1ULL} /* U+03BC GREEK SMALL LETTER MU */, {"\xc2\xb5s", 1ULL} /* U+00B5 MICRO SIGN */,
    };
    for (const auto& u : table) {
        if (starts_with(p, u.suffix)) {
            *ret = u.usec;
            return p + std::strlen(u.suffix);
        }
    }
    return p;
}

}  // namespace

Result<std::uint64_t> parse_timespan_usec(std::string_view text) {
    const std::string copy(text);
    const char* p = copy.c_str();
    auto invalid = [&] {
        return fail_invalid("invalid time span " + quoted(text) + " (expected e.g. 30s, 5min, 1month, 1y, infinity)");
    };
    auto range = [&] { return fail(ERANGE, "time span " + quoted(text) + " is out of range"); };

    p += std::strspn(p, kWhitespace);
    if (starts_with(p, "infinity")) {
        const char* s = p + 8;
        s += std::strspn(s, kWhitespace);
        if (*s != 0) return invalid();
        return usec_infinity;
    }

    std::uint64_t usec = 0;
    for (bool something = false;;) {
        std::uint64_t multiplier = kUsecPerSec;
        char* e = nullptr;

        p += std::strspn(p, kWhitespace);
        if (*p == 0) {
            if (!something) return invalid();
            break;
        }
        if (*p == '-') return range();  // don't allow "-0"

        errno = 0;
        long long l = std::strtoll(p, &e, 10);
        if (errno > 0) return errno == ERANGE ? range() : invalid();
        if (l < 0) return range();

        if (*e == '.') {
            p = e + 1;
            p += std::strspn(p, kDigits);
        } else if (e == p) {
            return invalid();
        } else {
            p = e;
        }

        const char* s = extract_multiplier(p + std::strspn(p, kWhitespace), &multiplier);
        if (s == p && *s != '\0') return invalid();  // "12.34.56" is invalid, "12.34 .56" and "12.34s.56" are not
        p = s;

        if (static_cast<std::uint64_t>(l) >= usec_infinity / multiplier) return range();
        std::uint64_t k = static_cast<std::uint64_t>(l) * multiplier;
        if (k >= usec_infinity - usec) return range();
        usec += k;
        something = true;

        if (*e == '.') {
            std::uint64_t m = multiplier / 10;
            const char* b = e + 1;
            for (; *b >= '0' && *b <= '9'; b++, m /= 10) {
                k = static_cast<std::uint64_t>(*b - '0') * m;
                if (k >= usec_infinity - usec) return range();
                usec += k;
            }
            if (b == e + 1) return invalid();  // "0.-0", "3.+1", "3. 1", "3.sec"
        }
    }
    return usec;
}

Result<std::uint64_t> parse_timespan_sec(std::string_view text) {
    auto usec = parse_timespan_usec(text);
    if (!usec) return usec;
    if (*usec == usec_infinity) return std::numeric_limits<std::uint64_t>::max();
    return *usec / kUsecPerSec;
}

Result<bool> parse_boolean(std::string_view v) {
    auto ieq = [&](std::string_view w) {
        if (v.size() != w.size()) return false;
        for (std::size_t i = 0; i < v.size(); ++i) {
            char c = v[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            if (c != w[i]) return false;
        }
        return true;
    };
    if (v == "1" || ieq("yes") || ieq("y") || ieq("true") || ieq("t") || ieq("on")) return true;
    if (v == "0" || ieq("no") || ieq("n") || ieq("false") || ieq("f") || ieq("off")) return false;
    return fail_invalid("invalid boolean " + quoted(v) + " (expected yes/no, true/false, on/off, 1/0)");
}

std::string format_size(std::uint64_t bytes) {
    static const char* const suffixes[] = {"B", "K", "M", "G", "T", "P", "E"};
    int i = 0;
    std::uint64_t unit = 1;
    while (i < 6 && bytes / unit >= 1024) {
        unit *= 1024;
        ++i;
    }
    if (i == 0) return std::to_string(bytes) + "B";
    std::uint64_t whole = bytes / unit;
    std::uint64_t rest = bytes % unit;
    if (rest == 0) return std::to_string(whole) + suffixes[i];
    // one decimal, truncated, so that "at most 4G" is never shown for 4G + 1 byte as "4.0G"
    std::uint64_t tenth = static_cast<std::uint64_t>((static_cast<long double>(rest) * 10) / unit);
    return std::to_string(whole) + "." + std::to_string(tenth) + suffixes[i] + (tenth == 0 ? "+" : "");
}

std::string format_timespan_usec(std::uint64_t usec) {
    if (usec == usec_infinity) return "infinity";
    if (usec == 0) return "0";
    static const struct {
        const char* suffix;
        std::uint64_t usec;
    } table[] = {
        {"y", kUsecPerYear}, {"month", kUsecPerMonth}, {"w", kUsecPerWeek}, {"d", kUsecPerDay}, {"h", kUsecPerHour},
        {"min", kUsecPerMinute}, {"s", kUsecPerSec}, {"ms", kUsecPerMsec}, {"us", 1},
    };
    std::string out;
    for (const auto& u : table) {
        if (usec >= u.usec) {
            if (!out.empty()) out += ' ';
            out += std::to_string(usec / u.usec) + u.suffix;
            usec %= u.usec;
        }
    }
    return out;
}

}  // namespace plumb::config
