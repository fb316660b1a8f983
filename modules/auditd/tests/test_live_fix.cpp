// The live half of auditd remediation against this machine's kernel: the module's apply_live, driven through
// RunContext::apply_live with live actions as the module plans them, adds exactly the planned rules (checked with
// `auditctl -l`) and its undo deletes exactly those. Never a `plumb fix --root /`: only the kernel's rule list
// changes, and the guard from live_support.hpp puts the previous rule set back.
#include <algorithm>

#include <gtest/gtest.h>

#include "live_support.hpp"
#include "plumb/plan.hpp"
#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::run_process;
using plumb::test::TempRoot;
using namespace plumb::auditd::test;

namespace {

plumb::PlannedLiveAction load_action(const std::vector<std::string>& rules) {
    return {"auditd", "load_rules", "test", json{{"add", rules}}, json{{"delete", rules}}, "test"};
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }


}  // namespace

TEST(AuditdLiveFix, ApplyLiveAddsExactlyThePlannedRulesAndUndoRemovesExactlyThem) {
    if (auto why = live_unavailable(); !why.empty()) GTEST_SKIP() << why;
    KernelRulesGuard guard;
    ASSERT_GE(guard.fd(), 0);
    delete_all(guard.fd());
    // A rule of the site's, loaded before: it must survive both the load and its undo.
    ASSERT_EQ(run_process({kAuditctl, "-a", "always,exit", "-F", "arch=b64", "-S", "mount", "-k", "plumb_site"}).exit_code, 0);
    const auto site = auditctl_list();
    ASSERT_EQ(site.size(), 1u);

    // The canonical spellings the module writes are exactly what auditctl -l prints back.
    const std::vector<std::string> rules = {
        "-a always,exit -F arch=b64 -S chmod -F auid>=1000 -F auid!=-1 -F key=plumb_perm_mod",
        "-a always,exit -F arch=b32 -S chmod -F auid>=1000 -F auid!=-1 -F key=plumb_perm_mod",
        "-w /etc/plumb-test-passwd -p wa -k plumb_identity",
    };
    TempRoot root;
    ModuleHarness live(root.path(), true);
    auto o = live.context().apply_live(load_action(rules), false);
    ASSERT_EQ(o.status, Status::pass) << describe(o);
    auto loaded = auditctl_list();
    EXPECT_EQ(loaded.size(), site.size() + rules.size());
    EXPECT_TRUE(contains(loaded, site[0]));
    for (const auto& rule : rules) EXPECT_TRUE(contains(loaded, rule)) << rule << " not in auditctl -l";

    o = live.context().apply_live(load_action(rules), true);
    ASSERT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(auditctl_list(), site);
    // the undo of rules already gone succeeds: a rollback after a partial apply must not fail on them
    o = live.context().apply_live(load_action(rules), true);
    EXPECT_EQ(o.status, Status::pass) << describe(o);
}

TEST(AuditdLiveFix, AFailingRuleLeavesNothingLoaded) {
    if (auto why = live_unavailable(); !why.empty()) GTEST_SKIP() << why;
    KernelRulesGuard guard;
    ASSERT_GE(guard.fd(), 0);
    delete_all(guard.fd());
    TempRoot root;
    ModuleHarness live(root.path(), true);
    // The kernel refuses the second rule (a dir= tree watch needs an existing path): the first is taken back.
    auto o = live.context().apply_live(load_action({"-a always,exit -F arch=b64 -S chmod -k plumb_a",
                                                    "-a always,exit -F arch=b64 -S chmod -F dir=/nonexistent-plumb-dir -k plumb_b"}),
                                       false);
    EXPECT_EQ(o.status, Status::error) << describe(o);
    EXPECT_TRUE(plumb::test::has_reason(o, "add_failed")) << describe(o);
    EXPECT_TRUE(auditctl_list().empty());
    // A line the parser refuses never reaches the kernel.
    o = live.context().apply_live(load_action({"-a always,exit -S no_such_syscall"}), false);
    EXPECT_EQ(o.status, Status::error) << describe(o);
    EXPECT_TRUE(plumb::test::has_reason(o, "invalid_rule")) << describe(o);
    EXPECT_TRUE(auditctl_list().empty());
}

TEST(AuditdLiveFix, RemediationOnALiveHostPlansOnlyWhatTheKernelLacks) {
    if (auto why = live_unavailable(); !why.empty()) GTEST_SKIP() << why;
    KernelRulesGuard guard;
    ASSERT_GE(guard.fd(), 0);
    delete_all(guard.fd());
    // b64 is loaded already, b32 is not; neither is on disk.
    ASSERT_EQ(run_process({kAuditctl, "-a", "always,exit", "-F", "arch=b64", "-S", "sethostname", "-k", "plumb_net"}).exit_code, 0);
    TempRoot root;
    root.mkdir("/etc/audit/rules.d");
    ModuleHarness live(root.path(), true);
    plumb::Plan plan;
    const json args = {{"rule", "-a always,exit -S sethostname"}, {"key", "plumb_net"}, {"arches", {"b32", "b64"}}};
    auto o = live.context().remediate("auditd", "rule_present", args, plan, "net");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    const auto* file = plan.file("/etc/audit/rules.d/50-plumb.rules");
    ASSERT_NE(file, nullptr);
    EXPECT_NE(file->content->find("-a always,exit -F arch=b32 -S sethostname -F key=plumb_net\n"), std::string::npos);
    EXPECT_NE(file->content->find("-a always,exit -F arch=b64 -S sethostname -F key=plumb_net\n"), std::string::npos);
    ASSERT_EQ(plan.live_actions.size(), 1u);
    const auto& action = plan.live_actions[0];
    EXPECT_EQ(action.payload, json({{"add", {"-a always,exit -F arch=b32 -S sethostname -F key=plumb_net"}}}));
    EXPECT_EQ(action.undo, json({{"delete", {"-a always,exit -F arch=b32 -S sethostname -F key=plumb_net"}}}));
    EXPECT_TRUE(plan.notices.empty());

    o = live.context().apply_live(action, false);
    ASSERT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(auditctl_list().size(), 2u);
    ModuleHarness check(root.path(), true);
    auto k = check.run("auditd.rule_present", {{"rule", "-a always,exit -S sethostname"}, {"key", "plumb_net"},
                                                {"arches", {"b32", "b64"}}, {"source", "kernel"}});
    EXPECT_EQ(k.status, Status::pass) << describe(k);
    o = live.context().apply_live(action, true);
    ASSERT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(auditctl_list(), std::vector<std::string>{"-a always,exit -F arch=b64 -S sethostname -F key=plumb_net"});
}
