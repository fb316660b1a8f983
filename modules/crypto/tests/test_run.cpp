// The process runner behind the update-crypto-policies live action: no shell, captured output, exit codes, deadline.
#include <chrono>

#include <gtest/gtest.h>

#include "run.hpp"

using plumb::crypto::run_program;

TEST(CryptoRun, ExitCodesAndOutput) {
    auto ok = run_program("/bin/sh", {"sh", "-c", "echo out; echo err >&2; exit 3"}, 10'000);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->exit_code, 3);
    EXPECT_FALSE(ok->timed_out);
    EXPECT_NE(ok->output.find("out\n"), std::string::npos);
    EXPECT_NE(ok->output.find("err\n"), std::string::npos);
    // Arguments are passed as they are: no shell sees them.
    auto lit = run_program("/bin/echo", {"echo", "$HOME;", "a b"}, 10'000);
    ASSERT_TRUE(lit);
    EXPECT_EQ(lit->output, "$HOME; a b\n");
    // The environment is fixed, not plumb's own.
    ::setenv("PLUMB_CRYPTO_TEST_LEAK", "x", 1);
    auto env = run_program("/usr/bin/env", {"env"}, 10'000);
    ASSERT_TRUE(env);
    EXPECT_EQ(env->output.find("PLUMB_CRYPTO_TEST_LEAK"), std::string::npos) << env->output;
    EXPECT_NE(env->output.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), std::string::npos) << env->output;
}

TEST(CryptoRun, MissingProgramAndRelativePath) {
    auto missing = run_program("/nonexistent/update-crypto-policies", {"update-crypto-policies"}, 10'000);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->exit_code, 127);
    EXPECT_FALSE(run_program("update-crypto-policies", {"update-crypto-policies"}, 10'000));
}

TEST(CryptoRun, KilledAtTheDeadline) {
    auto start = std::chrono::steady_clock::now();
    auto slow = run_program("/bin/sleep", {"sleep", "30"}, 300);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(slow);
    EXPECT_TRUE(slow->timed_out);
    EXPECT_EQ(slow->exit_code, 128 + 9);
    EXPECT_LT(took, std::chrono::seconds(5));
}
