// Assertion helpers for the core module's tests.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

namespace plumb::test {

// True when the outcome has a reason with `code` whose phrase contains every one of `parts`.
inline bool has_reason(const Outcome& o, const std::string& code, std::initializer_list<std::string> parts = {}) {
    for (const auto& r : o.reasons) {
        if (r.code != code) continue;
        bool all = true;
        for (const auto& p : parts) all = all && r.phrase.find(p) != std::string::npos;
        if (all) return true;
    }
    return false;
}

#define EXPECT_OUTCOME(outcome, want_status, code, ...)                                              \
    do {                                                                                           \
        const ::plumb::Outcome& o_ = (outcome);                                                    \
        EXPECT_EQ(o_.status, (want_status)) << ::plumb::test::describe(o_);                        \
        EXPECT_TRUE(::plumb::test::has_reason(o_, code, {__VA_ARGS__})) << ::plumb::test::describe(o_); \
    } while (0)

}  // namespace plumb::test
