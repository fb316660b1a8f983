// selinux.mode / selinux.policy_type and core.kernel_cmdline (selinux=0, enforcing=0) on fixture roots: audit, and
// the remediation plans (file contents, relabel and reboot notices), through the engine's module host.
#include <gtest/gtest.h>

#include "plumb/plan.hpp"
#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;

namespace {

std::string code(const plumb::Outcome& o) { return o.reasons.empty() ? "" : o.reasons.back().code; }
std::string phrase(const plumb::Outcome& o) { return o.reasons.empty() ? "" : o.reasons.back().phrase; }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
bool has_notice(const plumb::Plan& p, const std::string& kind) {
    for (const auto& n : p.notices)
        if (n.kind == kind) return true;
    return false;
}

}  // namespace

TEST(SelinuxMode, CompliantNonCompliantTrickyMissing) {
    TempRoot good, bad, tricky, missing;
    good.copy_from("selinux/compliant");
    bad.copy_from("selinux/noncompliant");
    tricky.copy_from("selinux/tricky");
    const json enforcing = {{"equals", "enforcing"}};

    auto o = ModuleHarness(good.path()).run("selinux.mode", enforcing);
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(phrase(o), "SELINUX=enforcing at /etc/selinux/config:7 is enforcing");

    o = ModuleHarness(bad.path()).run("selinux.mode", enforcing);
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "value_mismatch");
    EXPECT_EQ(phrase(o), "SELINUX=disabled at /etc/selinux/config:2; expected enforcing");

    o = ModuleHarness(tricky.path()).run("selinux.mode", enforcing);
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(has(phrase(o), "/etc/selinux/config:6 (read as enforcing)")) << phrase(o);
    EXPECT_TRUE(has(phrase(o), "line 2 \" SELINUX=permissive\" is ignored")) << phrase(o);
    EXPECT_TRUE(has(phrase(o), "line 7 is never read")) << phrase(o);
    o = ModuleHarness(tricky.path()).run("selinux.mode", {{"equals", "disabled"}});
    EXPECT_EQ(o.status, Status::fail);  // the disabled lines are all ignored or never read

    o = ModuleHarness(missing.path()).run("selinux.mode", enforcing);
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "config_missing");
}

TEST(SelinuxPolicyType, ExplicitDefaultAndDuplicates) {
    TempRoot good, bad, tricky, missing;
    good.copy_from("selinux/compliant");
    bad.copy_from("selinux/noncompliant");
    tricky.copy_from("selinux/tricky");
    const json targeted = {{"equals", "targeted"}, {"require_explicit", true}};

    EXPECT_EQ(ModuleHarness(good.path()).run("selinux.policy_type", targeted).status, Status::pass);
    auto o = ModuleHarness(bad.path()).run("selinux.policy_type", targeted);
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(phrase(o), "SELINUXTYPE=mls at /etc/selinux/config:4; expected targeted");
    o = ModuleHarness(tricky.path()).run("selinux.policy_type", targeted);
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(has(phrase(o), "line 8 is overridden")) << phrase(o);
    EXPECT_TRUE(has(phrase(o), "line 9 \"SELINUXTYPE =minimum\" is ignored")) << phrase(o);

    o = ModuleHarness(missing.path()).run("selinux.policy_type", targeted);
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set");
    o = ModuleHarness(missing.path()).run("selinux.policy_type", {{"equals", "targeted"}});
    EXPECT_EQ(o.status, Status::pass);  // libselinux's default
    EXPECT_EQ(code(o), "default_ok");
}

TEST(SelinuxMode, DisabledToEnforcingPlansRelabelAndReboot) {
    TempRoot r;
    r.copy_from("selinux/noncompliant");
    ModuleHarness h(r.path());
    plumb::Plan plan;
    auto o = h.context().remediate("selinux", "mode", {{"equals", "enforcing"}}, plan, "selinux_state");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(code(o), "planned");
    const auto* cfg = plan.file("/etc/selinux/config");
    ASSERT_NE(cfg, nullptr);
    EXPECT_EQ(*cfg->content, "# This file controls the state of SELinux on the system.\nSELINUX=enforcing\n"
                             "# site: MLS evaluation\nSELINUXTYPE=mls\nSETLOCALDEFS=0\n");
    const auto* relabel = plan.file("/.autorelabel");
    ASSERT_NE(relabel, nullptr);
    EXPECT_EQ(*relabel->content, "");
    EXPECT_FALSE(relabel->original);
    EXPECT_TRUE(has_notice(plan, "relabel_required"));
    EXPECT_TRUE(has_notice(plan, "reboot_required"));
}

TEST(SelinuxMode, PermissiveToEnforcingNeedsNoRelabel) {
    TempRoot r;
    r.write("/etc/selinux/config", "SELINUX=permissive\nSELINUXTYPE=targeted\n");
    ModuleHarness h(r.path());
    plumb::Plan plan;
    auto o = h.context().remediate("selinux", "mode", {{"equals", "enforcing"}}, plan, "selinux_state");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(*plan.file("/etc/selinux/config")->content, "SELINUX=enforcing\nSELINUXTYPE=targeted\n");
    EXPECT_EQ(plan.file("/.autorelabel"), nullptr);
    EXPECT_TRUE(plan.notices.empty());
}

TEST(SelinuxMode, MissingFileIsCreated) {
    TempRoot r;
    ModuleHarness h(r.path());
    plumb::Plan plan;
    auto o = h.context().remediate("selinux", "policy_type", {{"equals", "targeted"}, {"require_explicit", true}}, plan, "p");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    const auto* cfg = plan.file("/etc/selinux/config");
    ASSERT_NE(cfg, nullptr);
    EXPECT_TRUE(has(*cfg->content, "\nSELINUXTYPE=targeted\n")) << *cfg->content;
    EXPECT_EQ(plan.file("/.autorelabel"), nullptr);  // targeted was already libselinux's default
}

TEST(KernelCmdlineFix, RemovesSelinuxArgumentsKeepingQuotingAndOtherWords) {
    TempRoot r;
    r.copy_from("selinux/noncompliant");
    ModuleHarness h(r.path());
    const json selinux0 = {{"argument", "selinux"}, {"value", "0"}, {"expect", "absent"}};
    const json enforcing0 = {{"argument", "enforcing"}, {"value", "0"}, {"expect", "absent"}};
    ASSERT_EQ(h.run("core.kernel_cmdline", selinux0).status, Status::fail);
    plumb::Plan plan;
    auto o = h.context().remediate("core", "kernel_cmdline", selinux0, plan, "grub2_enable_selinux");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    o = h.context().remediate("core", "kernel_cmdline", enforcing0, plan, "grub2_enable_selinux");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(*plan.file("/etc/default/grub")->content,
              "GRUB_TIMEOUT=5\nGRUB_DISTRIBUTOR=\"$(sed 's, release .*$,,g' /etc/system-release)\"\nGRUB_DEFAULT=saved\n"
              "GRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M resume=/dev/mapper/rhel-swap rhgb quiet\"\n"
              "GRUB_CMDLINE_LINUX_DEFAULT=''\nGRUB_ENABLE_BLSCFG=true\n");
    const auto* bls = plan.file("/boot/loader/entries/0123abcd-5.14.0-427.el9.x86_64.conf");
    ASSERT_NE(bls, nullptr);
    EXPECT_TRUE(has(*bls->content, "\noptions root=/dev/mapper/rhel-root ro crashkernel=1G-4G:192M rhgb quiet\n")) << *bls->content;
    EXPECT_TRUE(has(*bls->content, "\ngrub_users $grub_users\n"));
    EXPECT_TRUE(has_notice(plan, "reboot_required"));
    EXPECT_TRUE(has_notice(plan, "manual_step"));  // grub.cfg is generated from /etc/default/grub
}

TEST(KernelCmdlineFix, TrickyRootNeedsNothingAndPresentIsNotRemediated) {
    TempRoot r;
    r.copy_from("selinux/tricky");
    ModuleHarness h(r.path());
    const json selinux0 = {{"argument", "selinux"}, {"value", "0"}, {"expect", "absent"}};
    EXPECT_EQ(h.run("core.kernel_cmdline", selinux0).status, Status::pass);  // selinux=1, no_selinux=0, a comment
    plumb::Plan plan;
    auto o = h.context().remediate("core", "kernel_cmdline", selinux0, plan, "r");
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(plan.files.empty());
    // Any selinux= (no value given) is forbidden here: selinux=1 is removed from both sources, $VAR words stay.
    o = h.context().remediate("core", "kernel_cmdline", {{"argument", "selinux"}, {"expect", "absent"}}, plan, "r");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(*plan.file("/etc/default/grub")->content,
              "# selinux=0 in a comment is not an argument\nGRUB_CMDLINE_LINUX=\"quiet enforcing=1\"\n"
              "export GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT splash\"\n");
    EXPECT_EQ(*plan.file("/boot/loader/entries/a.conf")->content, "title tricky\noptions root=/dev/sda1 ro no_selinux=0\n");
    o = h.context().remediate("core", "kernel_cmdline", {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}}, plan, "r");
    EXPECT_EQ(o.status, Status::notapplicable);
}
