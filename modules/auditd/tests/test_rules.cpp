// auditd.rule_present, rules_immutable and rules_control on fixture roots: augenrules' merge order, equivalent
// spellings, key mismatches, missing files.
#include <gtest/gtest.h>

#include <string>

#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;

namespace {

bool has(const plumb::Outcome& o, const std::string& code, const std::string& part = "") {
    for (const auto& r : o.reasons)
        if (r.code == code && r.phrase.find(part) != std::string::npos) return true;
    return false;
}

json present(const std::string& rule, const std::string& key, bool arches = false) {
    json a = {{"rule", rule}, {"key", key}};
    if (arches) a["arches"] = {"b32", "b64"};
    return a;
}

}  // namespace

TEST(AuditdRules, CompliantFixtureHasTheCisRules) {
    TempRoot root;
    root.copy_from("auditd/compliant");
    ModuleHarness h(root.path());
    const json checks[] = {
        present("-a always,exit -S chmod -F auid>=1000 -F auid!=unset", "perm_mod", true),
        present("-a always,exit -S fremovexattr -F auid=0", "perm_mod", true),
        present("-a always,exit -S renameat -F auid>=1000 -F auid!=unset", "delete", true),
        present("-a always,exit -S openat -F exit=-EPERM -F auid>=1000 -F auid!=unset", "access", true),
        present("-a always,exit -S clock_settime -F a0=0x0", "time-change", true),
        present("-a always,exit -F arch=b32 -S stime", "audit_time_rules"),
        present("-w /etc/sudoers.d/ -p wa", "actions"),
        present("-w /etc/security/opasswd -p wa", "audit_rules_usergroup_modification"),
        present("-a always,exit -F path=/etc/passwd -F perm=wa", "audit_rules_usergroup_modification"),
    };
    for (const auto& args : checks) {
        auto o = h.run("auditd.rule_present", args);
        EXPECT_EQ(o.status, Status::pass) << args.dump() << "\n" << describe(o);
        EXPECT_TRUE(has(o, "rule_found", "/etc/audit/rules.d/")) << describe(o);
    }
    auto o = h.run("auditd.rules_immutable", json::object());
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(has(o, "immutable", "/etc/audit/rules.d/99-finalize.rules:1")) << describe(o);
    o = h.run("auditd.rules_control", {{"option", "backlog"}, {"at_least", 8192}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("auditd.rules_control", {{"option", "backlog_wait_time"}, {"equals", 60000}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // offline: the kernel is not consulted
    o = h.run("auditd.rule_present", {{"rule", "-w /etc/passwd -p wa"}, {"source", "kernel"}});
    EXPECT_EQ(o.status, Status::notapplicable) << describe(o);
}

TEST(AuditdRules, NonCompliantFixture) {
    TempRoot root;
    root.copy_from("auditd/noncompliant");
    ModuleHarness h(root.path());
    // the same rule under another key: reported as a key mismatch, with the key found and the line
    auto o = h.run("auditd.rule_present", present("-a always,exit -S chmod -F auid>=1000 -F auid!=unset", "perm_mod", true));
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_TRUE(has(o, "key_mismatch", "/etc/audit/rules.d/50-cis.rules:3 (key \"perms\")")) << describe(o);
    EXPECT_TRUE(has(o, "key_mismatch", "expected key \"perm_mod\"")) << describe(o);
    // the same rule with any key passes when the site says keys do not matter
    auto args = present("-a always,exit -S chmod -F auid>=1000 -F auid!=unset", "perm_mod", true);
    args["key_match"] = "any";
    o = h.run("auditd.rule_present", args);
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // b64 only: the b32 half is missing
    o = h.run("auditd.rule_present", present("-a always,exit -S unlink -F auid>=1000 -F auid!=unset", "delete", true));
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "rule_found", "arch=b64")) << describe(o);
    EXPECT_TRUE(has(o, "rule_missing", "arch=b32")) << describe(o);
    // -p w is not -p wa
    o = h.run("auditd.rule_present", present("-w /etc/passwd -p wa", "audit_rules_usergroup_modification"));
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "rule_missing", "-w /etc/passwd -p wa")) << describe(o);
    // a rule that covers only some of the syscalls
    o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S open,creat -F exit=-EACCES -F auid>=1000 -F auid!=unset", "access"));
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "syscalls_missing", "do not cover syscalls creat")) << describe(o);

    o = h.run("auditd.rules_immutable", json::object());
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "not_immutable", "-e 1 at /etc/audit/rules.d/50-cis.rules:9")) << describe(o);
    o = h.run("auditd.rules_control", {{"option", "backlog"}, {"at_least", 8192}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "value_mismatch", "-b 320 at /etc/audit/rules.d/50-cis.rules:2; expected at least 8192")) << describe(o);
}

TEST(AuditdRules, TrickyFixtureFollowsAugenrules) {
    TempRoot root;
    root.copy_from("auditd/tricky");
    ModuleHarness h(root.path());
    // -a exit,always ... -S fchmod -S chmod -k perm_mod covers chmod for b64
    auto o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S chmod", "perm_mod"));
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // fields in another order, auid!=-1
    o = h.run("auditd.rule_present", present("-a always,exit -F arch=b32 -S fchmod -F auid>=1000 -F auid!=unset", "perm_mod"));
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // a syscall number for chmod (x86_64) and auid!=4294967295
    o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S chmod -F auid>=1000 -F auid!=unset", "numbers"));
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // the syscall form of a watch, perm=aw
    o = h.run("auditd.rule_present", present("-w /etc/passwd -p wa", "audit_rules_usergroup_modification"));
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // unlink and rename in two rules together cover a required -S unlink,rename
    o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S unlink,rename -F auid>=1000 -F auid!=unset", "delete"));
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    // hidden files, other suffixes and audit.rules are not read when rules.d exists
    for (const char* key : {"hidden", "disabled", "stale"}) {
        o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S mount", key));
        EXPECT_EQ(o.status, Status::fail) << key << describe(o);
    }
    // 9-early.rules comes before 10-late.rules (ls -v): the last -e is 10-late's -e 1
    o = h.run("auditd.rules_immutable", json::object());
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_TRUE(has(o, "not_immutable", "-e 1 at /etc/audit/rules.d/10-late.rules:1")) << describe(o);
}

TEST(AuditdRules, AuditRulesWhenThereIsNoRulesDirectory) {
    TempRoot root;
    root.write("/etc/audit/audit.rules",
               "-D\n-a always,exit -F arch=b64 -S chmod -k perm_mod\n-e 2\n-a always,exit -F arch=b64 -S mount -k export\n");
    ModuleHarness h(root.path());
    auto o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S chmod", "perm_mod"));
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(has(o, "rule_found", "/etc/audit/audit.rules:2")) << describe(o);
    // after -e 2 the kernel refuses the mount rule, and auditctl -R stops there
    o = h.run("auditd.rule_present", present("-a always,exit -F arch=b64 -S mount", "export"));
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "rules_loading_stops", "/etc/audit/audit.rules:4")) << describe(o);
    o = h.run("auditd.rules_immutable", json::object());
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(o.reasons.back().code, "control_not_last") << describe(o);
}

TEST(AuditdRules, ErrorLineStopsTheRestAndMissingFiles) {
    TempRoot root;
    root.write("/etc/audit/rules.d/10-a.rules", "-a always,exit -F arch=b64 -S nosuchcall -k x\n");
    root.write("/etc/audit/rules.d/20-b.rules", "-w /etc/passwd -p wa -k identity\n");
    ModuleHarness h(root.path());
    auto o = h.run("auditd.rule_present", present("-w /etc/passwd -p wa", "identity"));
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_TRUE(has(o, "rules_line_rejected", "10-a.rules:1: Syscall name unknown: nosuchcall")) << describe(o);
    EXPECT_TRUE(has(o, "rules_loading_stops", "10-a.rules:1")) << describe(o);

    TempRoot empty;
    ModuleHarness h2(empty.path());
    o = h2.run("auditd.rule_present", present("-w /etc/passwd -p wa", "identity"));
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "rule_missing")) << describe(o);
    o = h2.run("auditd.rules_immutable", json::object());
    EXPECT_EQ(o.status, Status::fail);

    // a required rule auditctl would refuse is an argument error, not a silent fail
    o = h2.run("auditd.rule_present", present("-a always,exit -S nosuchcall", "x"));
    EXPECT_EQ(o.status, Status::error);
}

TEST(CoreMountOption, FstabAndSeparatePartition) {
    TempRoot root;
    root.write("/etc/fstab",
               "# /etc/fstab\nUUID=1 / xfs defaults 0 0\n"
               "UUID=2 /var/log/audit xfs defaults,nodev 0 0\n"
               "UUID=3 /var/log/audit/ xfs defaults,nodev,nosuid,noexec 0 0\n"
               "UUID=4 /mnt/with\\040space ext4 nodev 0 0\n");
    ModuleHarness h(root.path());
    for (const char* opt : {"nodev", "nosuid", "noexec"}) {
        auto o = h.run("core.mount_option", {{"mount_point", "/var/log/audit"}, {"option", opt}, {"expect", "present"}});
        EXPECT_EQ(o.status, Status::pass) << opt << describe(o);
        EXPECT_TRUE(has(o, "option_ok", "/etc/fstab:4")) << describe(o);  // the last line for the mount point wins
    }
    auto o = h.run("core.mount_option", {{"mount_point", "/var/log/audit"}, {"expect", "separate_partition"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("core.mount_option", {{"mount_point", "/mnt/with space"}, {"option", "nodev"}, {"expect", "present"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("core.mount_option", {{"mount_point", "/"}, {"option", "nodev"}, {"expect", "present"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "option_missing", "/etc/fstab:2")) << describe(o);
    o = h.run("core.mount_option", {{"mount_point", "/var"}, {"expect", "separate_partition"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "not_separate")) << describe(o);

    TempRoot none;
    ModuleHarness h2(none.path());
    o = h2.run("core.mount_option", {{"mount_point", "/var/log/audit"}, {"option", "nodev"}, {"expect", "present"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(has(o, "not_separate", "does not exist")) << describe(o);
}
