// plumb fix end to end on a non-compliant SELinux image: config file, bootloader arguments, relabel and reboot
// notices; the audit then passes; plumb rollback restores the tree byte for byte.
#include <set>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

using plumb::test::run_plumb;
using plumb::test::run_plumb_json;
using plumb::test::statuses;
using plumb::test::TempRoot;

namespace {

const std::vector<std::string> kRules = {"selinux_state", "selinux_policytype", "grub2_enable_selinux"};
// Offline, confinement can only be judged by SELinux being configured on: selinux_state's fix makes it pass.
const std::string kConfinement = "selinux_confinement_of_daemons";

std::vector<std::string> with_rules(std::vector<std::string> args, std::vector<std::string> rules = kRules) {
    for (const auto& r : rules) {
        args.push_back("--rule");
        args.push_back(r);
    }
    args.push_back("--format");
    args.push_back("json");
    return args;
}



}  // namespace

TEST(SelinuxFix, NonCompliantImageFixedAuditedAndRolledBack) {
    TempRoot r;
    r.copy_from("selinux/noncompliant");
    const auto before = plumb::test::snapshot_tree(r.path());

    auto all = kRules;
    all.push_back(kConfinement);
    auto audit = run_plumb_json(with_rules({"audit", "--root", r.path()}, all), 2);
    for (const auto& id : all) EXPECT_EQ(statuses(audit)[id], "fail") << id << audit.dump(2);

    auto fixed = run_plumb_json(with_rules({"fix", "--root", r.path()}), 0);
    for (const auto& id : kRules) EXPECT_EQ(statuses(fixed)[id], "fixed") << id << fixed.dump(2);
    ASSERT_TRUE(fixed.contains("transaction")) << fixed.dump(2);
    const std::string tx = fixed["transaction"];
    std::set<std::string> kinds;
    for (const auto& n : fixed["plan"]["notices"]) kinds.insert(n["kind"].get<std::string>());
    EXPECT_TRUE(kinds.contains("relabel_required")) << fixed["plan"].dump(2);
    EXPECT_TRUE(kinds.contains("reboot_required"));
    EXPECT_EQ(fixed["plan"]["reboot_required"], true);

    // Minimal edits: only the concerned lines changed; the relabel flag file exists and is empty.
    EXPECT_EQ(r.read("/etc/selinux/config"),
              "# This file controls the state of SELinux on the system.\nSELINUX=enforcing\n# site: MLS evaluation\n"
              "SELINUXTYPE=targeted\nSETLOCALDEFS=0\n");
    EXPECT_EQ(r.read("/.autorelabel"), "");
    EXPECT_EQ(r.read("/etc/default/grub").find("selinux=0"), std::string::npos);
    EXPECT_NE(r.read("/etc/default/grub").find("GRUB_CMDLINE_LINUX=\"crashkernel=1G-4G:192M resume=/dev/mapper/rhel-swap rhgb quiet\""),
              std::string::npos);

    auto again = run_plumb_json(with_rules({"audit", "--root", r.path()}, all), 0);
    for (const auto& id : all) EXPECT_EQ(statuses(again)[id], "pass") << id << again.dump(2);

    auto rb = run_plumb({"rollback", tx, "--root", r.path()});
    ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
    // Exactly the tree before: /.autorelabel gone, every edited file restored; the journal (and its parents) aside.
    auto after = plumb::test::snapshot_tree(r.path(), {"/var/lib/plumb"});
    after.erase("/var");
    after.erase("/var/lib");
    EXPECT_EQ(after, before);
}

TEST(SelinuxFix, DryRunChangesNothing) {
    TempRoot r;
    r.copy_from("selinux/noncompliant");
    const auto before = plumb::test::snapshot_tree(r.path());
    auto plan = run_plumb_json(with_rules({"fix", "--dry-run", "--root", r.path()}), 2);
    EXPECT_FALSE(plan["plan"]["files"].empty());
    EXPECT_EQ(plumb::test::snapshot_tree(r.path()), before);
}
