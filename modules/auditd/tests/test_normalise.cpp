// The audit rule normalisation: equivalent auditctl spellings compare equal, different rules do not; auditctl's
// refusals; and the replay of a rules file as auditctl -R loads it.
#include <gtest/gtest.h>

#include <libaudit.h>

#include <set>
#include <string>

#include "rules.hpp"

using namespace plumb::auditd;

namespace {

const std::set<std::string> kDirs = {"/etc/sudoers.d", "/etc/selinux", "/var/log/faillock"};
bool is_dir(const std::string& p) { return kDirs.count(p) != 0; }

Rule parse(const std::string& text) {
    auto r = parse_rule(text, is_dir);
    EXPECT_TRUE(r.has_value()) << text << ": " << (r ? "" : r.error().message);
    return r ? *r : Rule{};
}

bool x86_64() { return audit_detect_machine() == MACH_86_64; }

struct Pair {
    const char* a;
    const char* b;
    bool equal;
};

const Pair kPairs[] = {
    // equivalent spellings
    {"-a always,exit -F arch=b64 -S chmod -k x", "-a exit,always -F arch=b64 -S chmod -k x", true},
    {"-a always,exit -F arch=b64 -S chmod -S fchmod -k x", "-a always,exit -F arch=b64 -S chmod,fchmod -k x", true},
    {"-a always,exit -F arch=b64 -S fchmod,chmod -k x", "-a always,exit -F arch=b64 -S chmod,fchmod -k x", true},
    {"-a always,exit -F arch=b64 -S chmod -k x", "-a always,exit -F arch=b64 -S chmod -F key=x", true},
    {"-a always,exit -F arch=b64 -S chmod -F auid>=1000 -F auid!=unset", "-a always,exit -F arch=b64 -S chmod -F auid!=unset -F auid>=1000", true},
    {"-a always,exit -F arch=b64 -S chmod -F auid!=unset", "-a always,exit -F arch=b64 -S chmod -F auid!=-1", true},
    {"-a always,exit -F arch=b64 -S chmod -F auid!=unset", "-a always,exit -F arch=b64 -S chmod -F auid!=4294967295", true},
    {"-a always,exit -F arch=b64 -S chmod -F loginuid>=1000", "-a always,exit -F arch=b64 -S chmod -F auid>=1000", true},
    {"-w /etc/passwd -p wa -k k", "-a always,exit -F path=/etc/passwd -F perm=wa -k k", true},
    {"-w /etc/passwd -p wa", "-w /etc/passwd -p aw", true},
    {"-w /etc/sudoers.d/ -p wa -k a", "-a always,exit -F dir=/etc/sudoers.d -F perm=wa -F key=a", true},
    {"-w /etc/sudoers.d/ -p wa", "-w /etc/sudoers.d -p wa", true},
    {"-w /etc/passwd -k k -p wa", "-w /etc/passwd -p wa -k k", true},
    {"-a always,exit -F arch=b64 -S open -F exit=-EACCES", "-a always,exit -F arch=b64 -S open -F exit=-13", true},
    {"-a always,entry -F arch=b64 -S chmod", "-a always,exit -F arch=b64 -S chmod", true},
    {"-a always,exit -F arch=b64 -S chmod -k a -k b", "-a always,exit -F arch=b64 -S chmod -k b -k a", true},
    {"-a always,exit -F arch=b64 -S all -F path=/x -F perm=w", "-a always,exit -F arch=b64 -F path=/x -F perm=w", true},
    {"-a always,exit -F arch=b64 -Fauid>=1000 -S chmod", "-a always,exit -F arch=b64 -F auid>=1000 -S chmod", true},
    {"-a  always,exit   -F arch=b64  -S chmod  ", "-a always,exit -F arch=b64 -S chmod", true},
    {"-A always,exit -F arch=b64 -S chmod", "-a always,exit -F arch=b64 -S chmod", true},
    {"-a always,exit -F arch=b64 -S clock_settime -F a0=0x0", "-a always,exit -F arch=b64 -S clock_settime -F a0=0", true},
    {"-a always,exit -F arch=b64 -S chmod -F uid=root", "-a always,exit -F arch=b64 -S chmod -F uid=0", true},
    {"-a always,exit -F arch=b64 -S chmod -F auid>=1000 -F auid!=unset -k x",
     "-a always,exit -F key=x -F auid!=-1 -F arch=b64 -F auid>=1000 -S chmod", false /* -F key before -S: refused */},
    {"-a always,exit -F arch=b64 -S chmod -F success=0", "-a always,exit -F arch=b64 -S chmod -F success=0", true},
    {"-w /etc/hosts -p rwxa", "-w /etc/hosts", true /* without -p a watch gets every permission */},
    // different rules
    {"-a always,exit -F arch=b32 -S chmod", "-a always,exit -F arch=b64 -S chmod", false},
    {"-a always,exit -F arch=b64 -S chmod", "-a always,exit -F arch=b64 -S fchmod", false},
    {"-a always,exit -S chmod", "-a always,exit -F arch=b64 -S chmod", false},
    {"-w /etc/passwd -p wa", "-w /etc/passwd -p w", false},
    {"-a always,exit -F arch=b64 -S chmod -k x", "-a always,exit -F arch=b64 -S chmod -k y", false},
    {"-a always,exit -F arch=b64 -S chmod -F auid>=1000", "-a always,exit -F arch=b64 -S chmod -F auid>1000", false},
    {"-a always,exit -F arch=b64 -S chmod -F auid>=1000", "-a always,exit -F arch=b64 -S chmod -F auid>=500", false},
    {"-a always,exit -F arch=b64 -S chmod", "-a never,exit -F arch=b64 -S chmod", false},
    {"-w /etc/sudoers.d -p wa", "-a always,exit -F path=/etc/sudoers.d -F perm=wa", false /* dir= is a tree watch */},
    {"-a always,exit -F arch=b64 -S open -F exit=-EACCES", "-a always,exit -F arch=b64 -S open -F exit=-EPERM", false},
    {"-a always,exit -F arch=b64 -S chmod", "-a always,exit -F arch=b64 -S chmod -F uid=0", false},
    {"-w /etc/passwd -p wa", "-w /etc/shadow -p wa", false},
    {"-a always,exit -F arch=b64 -S chmod", "-a always,exit -F arch=b64 -S chmod,fchmod", false},
};

}  // namespace

TEST(AuditRuleNormalise, EquivalentAndDifferentPairs) {
    int checked = 0;
    for (const auto& p : kPairs) {
        auto ra = parse_rule(p.a, is_dir);
        auto rb = parse_rule(p.b, is_dir);
        if (!ra || !rb) {
            // a pair whose second spelling auditctl refuses counts as different
            EXPECT_FALSE(p.equal) << p.a << " | " << p.b << ": " << (ra ? rb.error().message : ra.error().message);
            ++checked;
            continue;
        }
        EXPECT_EQ(same_rule(*ra, *rb), p.equal) << p.a << "\n  " << render(*ra) << "\nvs " << p.b << "\n  " << render(*rb);
        ++checked;
    }
    EXPECT_GE(checked, 30);
}

TEST(AuditRuleNormalise, SyscallNumbersPerArch) {
    if (!x86_64()) GTEST_SKIP() << "syscall numbers below are x86_64/i386";
    EXPECT_TRUE(same_rule(parse("-a always,exit -F arch=b64 -S chmod"), parse("-a always,exit -F arch=b64 -S 90")));
    EXPECT_TRUE(same_rule(parse("-a always,exit -F arch=b32 -S chmod"), parse("-a always,exit -F arch=b32 -S 15")));
    EXPECT_FALSE(same_rule(parse("-a always,exit -F arch=b32 -S chmod"), parse("-a always,exit -F arch=b32 -S 90")));
    EXPECT_TRUE(same_rule(parse("-a always,exit -F arch=b64 -S chmod"), parse("-a always,exit -F arch=x86_64 -S chmod")));
    // without an arch, names resolve for the machine's own arch (what auditctl warns about)
    EXPECT_TRUE(same_rule(parse("-a always,exit -S chmod"), parse("-a always,exit -S 90")));
}

TEST(AuditRuleNormalise, KeysAreSeparateFromTheRule) {
    auto a = parse("-a always,exit -F arch=b64 -S chmod -k x");
    auto b = parse("-a always,exit -F arch=b64 -S chmod -F key=y");
    EXPECT_FALSE(same_rule(a, b));
    EXPECT_TRUE(same_except_keys(a, b));
    EXPECT_EQ(a.keys, std::vector<std::string>{"x"});
}

TEST(AuditRuleNormalise, RenderLooksLikeAuditctlList) {
    EXPECT_EQ(render(parse("-a exit,always -F arch=b64 -S fchmod -S chmod -F auid>=1000 -F auid!=unset -k perm_mod")),
              "-a always,exit -F arch=b64 -S chmod,fchmod -F auid>=1000 -F auid!=-1 -F key=perm_mod");
    EXPECT_EQ(render(parse("-a always,exit -F path=/etc/passwd -F perm=aw -F key=id")), "-w /etc/passwd -p wa -k id");
    EXPECT_EQ(render(parse("-a always,exit -F arch=b64 -S open -F exit=-EACCES")),
              "-a always,exit -F arch=b64 -S open -F exit=-EACCES");
}

TEST(AuditRuleNormalise, WhatAuditctlRefuses) {
    const char* bad[] = {
        "-a always,exit -S chmod -F arch=b64",                  // arch after -S
        "-a always,exit -F arch=b64 -S nosuchcall",             // unknown syscall
        "-a always,exit -F arch=b64 -S chmod -k",               // -k needs an argument
        "-a sometimes,exit -S chmod",                           // bad action
        "-w etc/passwd -p wa",                                  // relative watch
        "-w /etc/passwd -p wq",                                 // bad permission letter
        "-F auid>=1000 -a always,exit -S chmod",                // field before the list
        "-a always,exit -F arch=b64 -S chmod stray",            // a parameter without an option
        "-a\talways,exit -S chmod",                             // a tab is not a separator for auditctl -R
        "-a always,task -S chmod",                              // syscalls on the task list
    };
    for (const char* b : bad) {
        auto p = parse_line(b, is_dir);
        EXPECT_FALSE(p.has_value()) << b << " parsed as " << (p ? render(p->rule) : "");
    }
    // accepted by auditctl 3.0.9 (checked against it): a path rule without -S covers every syscall
    EXPECT_EQ(render(parse("-a always,exit -F arch=b64 -F path=/x -k foo")), "-a always,exit -F arch=b64 -S all -F path=/x -F key=foo");
    auto possible = parse_line("-a possible,exit -S chmod", is_dir);
    ASSERT_TRUE(possible.has_value());
    EXPECT_EQ(possible->kind, ParsedLine::Kind::ignored);
}

TEST(AuditRuleReplay, StopsAtTheFirstErrorUnlessIgnoring) {
    std::vector<std::pair<std::string, std::string>> lines = {
        {"f:1", "-a always,exit -F arch=b64 -S chmod -k a"},
        {"f:2", "-a always,exit -F arch=b64 -S chmod -k a"},  // the kernel refuses a duplicate (EEXIST)
        {"f:3", "-a always,exit -F arch=b64 -S unlink -k d"},
    };
    auto set = replay(lines, is_dir, RuleSet::Mode::audit_rules);
    EXPECT_EQ(set.rules.size(), 1u);
    ASSERT_TRUE(set.stopped_at.has_value());
    EXPECT_EQ(*set.stopped_at, "f:2");
    ASSERT_EQ(set.errors.size(), 1u);
    EXPECT_NE(set.errors[0].find("Rule exists"), std::string::npos) << set.errors[0];

    lines.insert(lines.begin(), {"f:0", "-i"});
    set = replay(lines, is_dir, RuleSet::Mode::audit_rules);
    EXPECT_EQ(set.rules.size(), 2u);
    EXPECT_FALSE(set.stopped_at.has_value());
}

TEST(AuditRuleReplay, ImmutableLocksLaterLinesAndDeleteAllClears) {
    std::vector<std::pair<std::string, std::string>> lines = {
        {"f:1", "-a always,exit -F arch=b64 -S chmod -k a"},
        {"f:2", "-D"},
        {"f:3", "-a always,exit -F arch=b64 -S unlink -k d"},
        {"f:4", "-A always,exit -F arch=b64 -S rename -k r"},
        {"f:5", "-e 2"},
        {"f:6", "-a always,exit -F arch=b64 -S mount -k m"},
    };
    auto set = replay(lines, is_dir, RuleSet::Mode::audit_rules);
    ASSERT_EQ(set.rules.size(), 2u);
    EXPECT_EQ(set.rules[0].keys, std::vector<std::string>{"r"});  // -A puts it first
    EXPECT_EQ(set.rules[1].keys, std::vector<std::string>{"d"});
    ASSERT_TRUE(set.stopped_at.has_value());
    EXPECT_EQ(*set.stopped_at, "f:6");
    ASSERT_NE(set.last("-e"), nullptr);
    EXPECT_EQ(set.last("-e")->control.value, "2");
}

TEST(AuditRuleReplay, VersionOrderLikeLsV) {
    EXPECT_TRUE(version_less("9-early.rules", "10-late.rules"));
    EXPECT_FALSE(version_less("10-late.rules", "9-early.rules"));
    EXPECT_TRUE(version_less("10-a.rules", "10-b.rules"));
    EXPECT_TRUE(version_less("01-x.rules", "2-x.rules"));
    EXPECT_TRUE(version_less("audit.rules", "b.rules"));
}
