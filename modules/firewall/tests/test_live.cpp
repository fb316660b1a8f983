// Every nftables check and remediation against a real kernel ruleset, in a private network namespace: the check
// fails, the remediation plans one batch, applying it makes the check pass, its undo brings the failure back.
// Files (the boot-time configuration) live in a temporary root; the harness runs the module as on a live host.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "live_env.hpp"
#include "netlink.hpp"
#include "plumb/plan.hpp"
#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::has_reason;
using plumb::test::ModuleHarness;
using plumb::test::run_process;
using plumb::test::TempRoot;

namespace {

void load(const std::string& ruleset) {
    const std::string& nft = plumb::firewall::test::nft_path();
    ASSERT_EQ(run_process({nft, "flush", "ruleset"}).exit_code, 0);
    if (ruleset.empty()) return;
    TempRoot tmp;
    tmp.write("/r.nft", ruleset);
    auto r = run_process({nft, "-f", tmp / "r.nft"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
}

std::string listing() { return run_process({plumb::firewall::test::nft_path(), "list", "ruleset"}).out; }

// Check, remediate, apply, check, undo, check: the remediation cycle of one procedure.
void cycle(const std::string& procedure, const json& args, const std::string& failing_code) {
    SCOPED_TRACE(procedure);
    TempRoot root;
    root.write("/etc/os-release", "ID=debian\n");
    const std::string before = listing();
    {
        ModuleHarness h(root.path(), true);
        auto o = h.run("firewall." + procedure, args);
        ASSERT_EQ(o.status, Status::fail) << describe(o);
        EXPECT_TRUE(has_reason(o, failing_code)) << describe(o);
        plumb::Plan plan;
        auto planned = h.context().remediate("firewall", procedure, args, plan, "rule");
        ASSERT_EQ(planned.status, Status::fail) << describe(planned);  // fail = a change is planned
        ASSERT_EQ(plan.live_actions.size(), 1u);
        auto applied = h.context().apply_live(plan.live_actions[0], false);
        ASSERT_EQ(applied.status, Status::pass) << describe(applied);
        ModuleHarness after(root.path(), true);
        auto ok = after.run("firewall." + procedure, args);
        EXPECT_EQ(ok.status, Status::pass) << describe(ok) << "\n" << listing();
        auto undone = h.context().apply_live(plan.live_actions[0], true);
        ASSERT_EQ(undone.status, Status::pass) << describe(undone);
    }
    EXPECT_EQ(listing(), before);
}

const char* const kDropNoAccess = R"(table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
	}
}
)";

}  // namespace

TEST(FirewallLive, TableAndBaseChains) {
    if (!plumb::firewall::test::live_skip().empty()) GTEST_SKIP() << plumb::firewall::test::live_skip();
    load("");
    cycle("nft_table", json::object(), "nft_table_missing");
    load("table inet filter {\n}\n");
    cycle("nft_base_chains", json::object(), "nft_base_chain_missing");
}

TEST(FirewallLive, DefaultDenyKeepsAccess) {
    if (!plumb::firewall::test::live_skip().empty()) GTEST_SKIP() << plumb::firewall::test::live_skip();
    load("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n");
    cycle("nft_default_deny", json{{"output", "drop"}}, "nft_policy_wrong");
}

TEST(FirewallLive, LoopbackEstablishedManagementPort) {
    if (!plumb::firewall::test::live_skip().empty()) GTEST_SKIP() << plumb::firewall::test::live_skip();
    load("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n");
    cycle("nft_loopback", json::object(), "nft_probe_wrong");
    load(kDropNoAccess);
    cycle("nft_established", json::object(), "nft_probe_wrong");
    load(kDropNoAccess);
    cycle("nft_management_port", json{{"port", 2222}}, "nft_probe_wrong");
}

TEST(FirewallLive, TheGuardRefusesABatchThatWouldLockOut) {
    if (!plumb::firewall::test::live_skip().empty()) GTEST_SKIP() << plumb::firewall::test::live_skip();
    // Another table drops ssh at a later priority: no rule in inet filter can open it, so the default-deny batch for
    // inet filter is refused, at planning and again at apply time, and the ruleset is left as it was.
    const std::string other = "table ip other {\n\tchain in {\n\t\ttype filter hook input priority 100; policy accept;\n"
                              "\t\ttcp dport 22 drop\n\t}\n}\n";
    load("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n" + other);
    const std::string before = listing();
    TempRoot root;
    ModuleHarness h(root.path(), true);
    plumb::Plan plan;
    auto planned = h.context().remediate("firewall", "nft_default_deny", json::object(), plan, "rule");
    EXPECT_EQ(planned.status, Status::error) << describe(planned);
    EXPECT_TRUE(has_reason(planned, "nft_would_lock_out", {"chain ip other in"})) << describe(planned);
    EXPECT_TRUE(plan.live_actions.empty());
    // A batch planned before the other table appeared is refused when applied.
    load("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n");
    ModuleHarness fresh(root.path(), true);
    plumb::Plan ok_plan;
    ASSERT_EQ(fresh.context().remediate("firewall", "nft_default_deny", json::object(), ok_plan, "rule").status, Status::fail);
    ASSERT_EQ(ok_plan.live_actions.size(), 1u);
    load("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n" + other);
    auto refused = fresh.context().apply_live(ok_plan.live_actions[0], false);
    EXPECT_EQ(refused.status, Status::error) << describe(refused);
    EXPECT_TRUE(has_reason(refused, "nft_would_lock_out", {"management port"})) << describe(refused);
    EXPECT_EQ(listing(), before);
}

TEST(FirewallLive, PersistenceComparesTheBootFileWithTheKernel) {
    if (!plumb::firewall::test::live_skip().empty()) GTEST_SKIP() << plumb::firewall::test::live_skip();
    const std::string table = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n"
                              "\t\tiif \"lo\" accept\n\t\ttcp dport 22 accept\n\t}\n}\n";
    load(table);
    TempRoot root;
    root.write("/etc/os-release", "ID=debian\n");
    root.write("/etc/nftables.conf", "flush ruleset\n" + table);
    ModuleHarness same(root.path(), true);
    EXPECT_OUTCOME(same.run("firewall.nft_persistent", json::object()), Status::pass, "nft_persistent");
    // The running table gains a rule the file does not have: reported rule by rule, then made persistent.
    ASSERT_EQ(run_process({plumb::firewall::test::nft_path(), "add", "rule", "inet", "filter", "input", "tcp", "dport", "80", "accept"}).exit_code, 0);
    ModuleHarness drift(root.path(), true);
    auto o = drift.run("firewall.nft_persistent", json::object());
    EXPECT_OUTCOME(o, Status::fail, "nft_not_persistent", "rule 3", "tcp dport 80 accept", "only in the running ruleset");
    plumb::Plan plan;
    ASSERT_EQ(drift.context().remediate("firewall", "nft_persistent", json::object(), plan, "rule").status, Status::fail);
    for (const auto& f : plan.files) root.write(f.path, *f.content);
    ModuleHarness fixed(root.path(), true);
    EXPECT_OUTCOME(fixed.run("firewall.nft_persistent", json::object()), Status::pass, "nft_persistent");
}

TEST(FirewallLive, ABatchIsRefusedWhenTheRulesetChangedSinceItWasChecked) {
    if (!plumb::firewall::test::live_skip().empty()) GTEST_SKIP() << plumb::firewall::test::live_skip();
    namespace nft = plumb::firewall::nft;
    load("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n");
    auto seen = nft::read_ruleset();
    ASSERT_TRUE(seen.has_value()) << seen.error().message;
    ASSERT_NE(seen->generation, 0u);
    nft::Change policy;
    policy.kind = nft::Change::Kind::set_policy;
    policy.table = "filter";
    policy.chain = "input";
    policy.policy = nft::VerdictKind::drop;
    // Someone else changes the ruleset after plumb read it: the batch checked against the old one is refused whole.
    ASSERT_EQ(run_process({plumb::firewall::test::nft_path(), "add", "rule", "inet", "filter", "input", "tcp", "dport", "22", "drop"}).exit_code, 0);
    const std::string changed = listing();
    auto stale = nft::commit({policy}, seen->generation);
    ASSERT_FALSE(stale.has_value());
    EXPECT_EQ(stale.error().code, ERESTART) << stale.error().message;
    EXPECT_EQ(listing(), changed);
    auto now = nft::read_ruleset();
    ASSERT_TRUE(now.has_value());
    EXPECT_NE(now->generation, seen->generation);
    EXPECT_TRUE(nft::commit({policy}, now->generation).has_value());
}
