// The environment of the live firewall tests, in one place: the test process moves into a private network namespace
// before the first test (netns.hpp) and the nft binary, the oracle some tests compare with, is looked up once.
// Include it in a test file and call live_skip() at the start of each live test; nft_path() names the binary.
#pragma once

#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "netns.hpp"

namespace plumb::firewall::test {

struct LiveState {
    std::string skip;  // why the live tests cannot run here ("" when they can)
    std::string nft;   // path of the nft binary
};

inline LiveState& live_state() {
    static LiveState state;
    return state;
}

class LiveEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        LiveState& s = live_state();
        s.nft = find_tool("nft");
        if (!enter_private_netns(&s.skip)) return;
        if (s.nft.empty()) s.skip = "the nft command (package nftables) is not installed";
    }
};

// Registered once per test program, before main() runs the tests (and before any thread exists).
[[maybe_unused]] inline ::testing::Environment* const kLiveEnvironment = ::testing::AddGlobalTestEnvironment(new LiveEnvironment);

inline const std::string& live_skip() { return live_state().skip; }
inline const std::string& nft_path() { return live_state().nft; }

}  // namespace plumb::firewall::test
