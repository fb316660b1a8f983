// Crash safety: SIGKILL the transaction at every durable step (and at random instants, and again during the
// recovery itself), recover, and check the whole tree byte for byte and its metadata: either exactly the original
// state or, when the kill came after the commit, exactly the new one.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "plumb/transaction.hpp"
#include "plumb_test.hpp"
#include "txn_scenario.hpp"

namespace {

using namespace plumb;
using namespace plumb::remediation;
using plumb::test::TempRoot;

std::string harness() { return plumb::test::build_dir() + "/tests/plumb_txn_harness"; }

int parse_steps(const std::string& out) {
    auto pos = out.find("steps ");
    return pos == std::string::npos ? -1 : std::stoi(out.substr(pos + 6));
}

struct Expected {
    txn_test::Snapshot original, updated;
};

const Expected& expected() {
    static const Expected e = [] {
        TempRoot a, b;
        txn_test::create_original(a.path());
        txn_test::create_expected_new(b.path());
        return Expected{txn_test::snapshot(a.path()), txn_test::snapshot(b.path())};
    }();
    return e;
}

struct Tally {
    int trials = 0, rolled_back = 0, committed = 0;
};

// Recovers the root in this process and checks it is wholly original or (committed) wholly new, with the journal
// agreeing. Returns "" or what is wrong.
std::string recover_and_check(const std::string& root_path, Tally& tally) {
    auto root = SafeRoot::open(root_path);
    if (!root) return root.error().message;
    auto journal = Journal::open(*root);
    if (!journal) return journal.error().message;
    auto recovered = journal->recover();
    if (!recovered) return "recover: " + recovered.error().message;
    auto hist = journal->history();
    if (!hist) return hist.error().message;
    if (hist->size() > 1) return "more than one transaction in the journal";
    bool committed = !hist->empty() && hist->front().state == TxState::committed;
    if (!hist->empty() && !committed && hist->front().state != TxState::rolled_back)
        return "transaction left in state " + std::string(to_string(hist->front().state));
    auto now = txn_test::snapshot(root_path);
    std::string d = txn_test::diff(now, committed ? expected().updated : expected().original);
    if (!d.empty()) return std::string(committed ? "committed" : "rolled back") + " but the tree differs:\n" + d;
    // Recovery of a recovered root is a no-op.
    auto again = journal->recover();
    if (!again || !again->empty()) return "second recover() was not a no-op";
    ++tally.trials;
    ++(committed ? tally.committed : tally.rolled_back);
    return "";
}

int count_run_steps() {
    TempRoot root;
    txn_test::create_original(root.path());
    auto r = plumb::test::run_process({harness(), "run", root.path(), "0"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(txn_test::diff(txn_test::snapshot(root.path()), expected().updated).empty());
    return parse_steps(r.out);
}

TEST(TransactionFaults, KillAtEveryStepThenRecover) {
    int steps = count_run_steps();
    ASSERT_GT(steps, 20) << "the transaction should have many durable steps";
    int rounds = (200 + steps - 1) / steps;
    Tally tally;
    for (int round = 0; round < rounds; ++round) {
        for (int n = 1; n <= steps; ++n) {
            TempRoot root;
            txn_test::create_original(root.path());
            auto r = plumb::test::run_process({harness(), "run", root.path(), std::to_string(n)});
            ASSERT_EQ(r.exit_code, 128 + SIGKILL) << "step " << n << ": " << r.out << r.err;
            std::string bad = recover_and_check(root.path(), tally);
            ASSERT_EQ(bad, "") << "killed at step " << n << " of " << steps;
        }
    }
    std::printf("[kill -9] %d trials over %d steps x %d rounds: %d rolled back, %d committed, 0 torn/mixed\n",
                tally.trials, steps, rounds, tally.rolled_back, tally.committed);
    EXPECT_GE(tally.trials, 200);
    EXPECT_GT(tally.rolled_back, 0);
    EXPECT_GT(tally.committed, 0);  // the last step (commit) is durable before the kill
}

TEST(TransactionFaults, KillDuringRecoveryThenRecoverAgain) {
    int steps = count_run_steps();
    Tally tally;
    int kills = 0;
    for (int n = 1; n <= steps; n += 5) {
        // How many durable steps the recovery of a kill at n has.
        int rsteps;
        {
            TempRoot probe;
            txn_test::create_original(probe.path());
            plumb::test::run_process({harness(), "run", probe.path(), std::to_string(n)});
            auto r = plumb::test::run_process({harness(), "recover", probe.path(), "0"});
            ASSERT_EQ(r.exit_code, 0) << r.err;
            rsteps = parse_steps(r.out);
        }
        for (int k = 1; k <= rsteps; ++k) {
            TempRoot root;
            txn_test::create_original(root.path());
            plumb::test::run_process({harness(), "run", root.path(), std::to_string(n)});
            auto r = plumb::test::run_process({harness(), "recover", root.path(), std::to_string(k)});
            ASSERT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err;
            ++kills;
            std::string bad = recover_and_check(root.path(), tally);
            ASSERT_EQ(bad, "") << "apply killed at step " << n << ", recovery killed at step " << k;
        }
    }
    std::printf("[kill -9 during recovery] %d trials: %d rolled back, %d committed\n", tally.trials,
                tally.rolled_back, tally.committed);
    EXPECT_GT(kills, 20);
}

// No hook: SIGKILL after a random delay within the time a whole run takes.
TEST(TransactionFaults, KillAtRandomInstants) {
    // The time from fork to the end of an uninterrupted run.
    long full_us;
    {
        TempRoot probe;
        txn_test::create_original(probe.path());
        auto t0 = std::chrono::steady_clock::now();
        auto r = plumb::test::run_process({harness(), "run", probe.path(), "0"});
        full_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
        ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    std::mt19937 rng(std::random_device{}());
    std::uniform_int_distribution<long> delay(0, full_us);
    Tally tally;
    int finished = 0;
    for (int i = 0; i < 100; ++i) {
        TempRoot root;
        txn_test::create_original(root.path());
        std::string h = harness(), p = root.path();
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            int devnull = ::open("/dev/null", O_WRONLY);
            dup2(devnull, 1);
            execl(h.c_str(), h.c_str(), "run", p.c_str(), "0", static_cast<char*>(nullptr));
            _exit(127);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status)) {
            ASSERT_EQ(WEXITSTATUS(status), 0);
            ++finished;
        }
        std::string bad = recover_and_check(root.path(), tally);
        ASSERT_EQ(bad, "") << "trial " << i;
    }
    std::printf("[kill -9 random] %d trials within %ld us: %d rolled back, %d committed (%d ran to the end)\n",
                tally.trials, static_cast<long>(full_us), tally.rolled_back, tally.committed, finished);
}

}  // namespace
