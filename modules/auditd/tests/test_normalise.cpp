// The audit rule normalisation: equivalent auditctl spellings compare equal, different rules do not; auditctl's
// refusals; and the replay of a rules file as auditctl -R loads it.
#include <gtest/gtest.h>

#include <libaudit.h>

#include <cerrno>
#include <map>
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

// ---- the parse cache planning uses ----

namespace {

bool same_rule_exactly(const Rule& a, const Rule& b) {
    return a.list == b.list && a.action == b.action && a.prepend == b.prepend && a.mask == b.mask &&
           a.fields == b.fields && a.raw_fields == b.raw_fields && a.keys == b.keys && a.origin == b.origin;
}

void expect_same_set(const RuleSet& a, const RuleSet& b) {
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.files, b.files);
    ASSERT_EQ(a.rules.size(), b.rules.size());
    for (std::size_t i = 0; i < a.rules.size(); ++i)
        EXPECT_TRUE(same_rule_exactly(a.rules[i], b.rules[i]))
            << i << ": " << render(a.rules[i]) << " vs " << render(b.rules[i]);
    ASSERT_EQ(a.controls.size(), b.controls.size());
    for (std::size_t i = 0; i < a.controls.size(); ++i) {
        EXPECT_EQ(a.controls[i].control.option, b.controls[i].control.option);
        EXPECT_EQ(a.controls[i].control.value, b.controls[i].control.value);
        EXPECT_EQ(a.controls[i].origin, b.controls[i].origin);
    }
    EXPECT_EQ(a.errors, b.errors);
    EXPECT_EQ(a.stopped_at, b.stopped_at);
    EXPECT_EQ(a.notes, b.notes);
}

// Duplicates, -D, -A, -W, -w on a directory and on a file, ignored and rejected lines under -i, then -e 2.
const std::vector<std::pair<std::string, std::string>> kTrickyLines = {
    {"f:1", "-i"},
    {"f:2", "-a always,exit -F arch=b64 -S chmod -k a"},
    {"f:3", "-w /etc/sudoers.d/ -p wa -k actions"},
    {"f:4", "-w /etc/passwd -p wa -k identity"},
    {"f:5", "-D"},
    {"f:6", "# a comment"},
    {"f:7", ""},
    {"f:8", "-a always,exit -F arch=b64 -S chmod -k a"},
    {"f:9", "-a always,exit -F arch=b64 -S chmod -k a"},  // refused: the same rule
    {"f:10", "-w /etc/sudoers.d -p wa -k actions"},
    {"f:11", "-w /etc/passwd -p wa -k identity"},
    {"f:12", "-W /etc/passwd -p wa -k identity"},
    {"f:13", "-W /etc/passwd -p wa -k identity"},  // refused: not loaded any more
    {"f:14", "-a possible,exit -S chmod"},
    {"f:15", "-a always,exit -S nosuchcall"},
    {"f:16", "-A always,exit -F arch=b64 -S unlink -k d"},
    {"f:17", "-b 8192"},
    {"f:18", "-w /etc/selinux/ -p wa"},
    {"f:19", "-e 2"},
    {"f:20", "-a always,exit -F arch=b64 -S mount -k m"},  // refused: locked
    {"f:21", "-w /etc/sudoers.d/ -p wa -k actions"},
};

}  // namespace

TEST(AuditRuleParseCache, ReplayGivesTheSameRuleSetWithAndWithoutTheCache) {
    const RuleSet plain = replay(kTrickyLines, is_dir, RuleSet::Mode::audit_rules);
    ASSERT_EQ(plain.rules.size(), 4u);  // the guard against a vacuous comparison
    ASSERT_FALSE(plain.stopped_at.has_value());
    ParseCache cache;
    expect_same_set(replay(kTrickyLines, is_dir, RuleSet::Mode::audit_rules, &cache), plain);
    const std::size_t first_misses = cache.misses();
    EXPECT_LT(first_misses, kTrickyLines.size());  // repeated lines were reused already
    expect_same_set(replay(kTrickyLines, is_dir, RuleSet::Mode::audit_rules, &cache), plain);
    EXPECT_EQ(cache.misses(), first_misses);  // everything from the cache the second time
    // Without -i the first rejected line stops the load: the same with cached errors.
    auto strict = kTrickyLines;
    strict.erase(strict.begin());
    expect_same_set(replay(strict, is_dir, RuleSet::Mode::augenrules, &cache),
                    replay(strict, is_dir, RuleSet::Mode::augenrules));
}

TEST(AuditRuleParseCache, AWatchIsParsedAgainWhenIsDirAnswersDifferently) {
    ParseCache cache;
    const std::string line = "-w /some/path/ -p wa -k k";
    auto dir = [](const std::string& p) { return p == "/some/path"; };
    auto file = [](const std::string&) { return false; };
    auto as_dir = parse_rule(line, dir, &cache);
    ASSERT_TRUE(as_dir.has_value());
    EXPECT_EQ(render(*as_dir), render(parse("-a always,exit -F dir=/some/path -F perm=wa -k k")));
    auto as_file = parse_rule(line, file, &cache);
    ASSERT_TRUE(as_file.has_value());
    EXPECT_EQ(render(*as_file), render(parse("-a always,exit -F path=/some/path -F perm=wa -k k")));
    EXPECT_EQ(cache.misses(), 2u);
    // No is_dir at all means "not a directory", as parse_line takes it.
    auto without = parse_rule(line, nullptr, &cache);
    ASSERT_TRUE(without.has_value());
    EXPECT_EQ(render(*without), render(*as_file));
    auto again = parse_rule(line, dir, &cache);
    ASSERT_TRUE(again.has_value());
    EXPECT_TRUE(same_rule_exactly(*again, *as_dir));
    EXPECT_EQ(cache.misses(), 2u);
    EXPECT_EQ(cache.hits(), 2u);

    // A line that never asks is_dir is reused whatever it would answer; a refusal is cached with its message.
    const std::string rule = "-a always,exit -F arch=b64 -S chmod -k x";
    ASSERT_TRUE(cache.parse(rule, dir).has_value());
    ASSERT_TRUE(cache.parse(rule, file).has_value());
    const auto bad = cache.parse("-w relative -p wa", dir);
    ASSERT_FALSE(bad.has_value());
    const auto bad_again = cache.parse("-w relative -p wa", file);
    ASSERT_FALSE(bad_again.has_value());
    EXPECT_EQ(bad_again.error().message, parse_line("-w relative -p wa", file).error().message);
    EXPECT_EQ(cache.misses(), 4u);
    EXPECT_EQ(cache.hits(), 4u);
}

namespace {

// Files and directories by full path (no symbolic links); counts stats, as the engine's host would see them.
class FlatFiles final : public plumb::FileSource {
public:
    std::map<std::string, std::string> files;
    std::set<std::string> dirs;
    int stats = 0;

    plumb::Result<std::string_view> read(const std::string& path) override {
        auto it = files.find(path);
        if (it == files.end()) return plumb::fail_errno(dirs.count(path) ? EISDIR : ENOENT, path);
        return std::string_view(it->second);
    }
    plumb::Result<plumb::FileStat> stat(const std::string& path, bool) override {
        ++stats;
        plumb::FileStat st;
        if (dirs.count(path)) st.type = plumb::FileType::directory;
        else if (files.count(path)) st.type = plumb::FileType::regular;
        else return plumb::fail_errno(ENOENT, path);
        return st;
    }
    plumb::Result<std::vector<std::string>> list_dir(const std::string& path) override {
        if (!dirs.count(path)) return plumb::fail_errno(ENOENT, path);
        std::vector<std::string> out;
        for (const auto& [p, text] : files)
            if (p.starts_with(path + "/") && p.find('/', path.size() + 1) == std::string::npos)
                out.push_back(p.substr(path.size() + 1));
        return out;
    }
    plumb::Result<std::string> read_link(const std::string& path) override { return plumb::fail_errno(EINVAL, path); }
};

}  // namespace

TEST(AuditRuleParseCache, LoadRulesThroughTheCacheFollowsTheRootsDirectories) {
    FlatFiles fs;
    fs.dirs = {"/etc/audit", "/etc/audit/rules.d", "/etc/sudoers.d"};
    fs.files["/etc/audit/rules.d/10-site.rules"] =
        "-i\n-D\n-b 8192\n-w /etc/sudoers.d/ -p wa -k actions\n-w /var/log/lastlog -p wa -k logins\n"
        "-a always,exit -F arch=b64 -S chmod -k perm\n-a always,exit -F arch=b64 -S chmod -k perm\n-e 1\n";
    fs.files["/etc/audit/rules.d/50-plumb.rules"] =
        "-i\n-w /etc/sudoers.d -p wa -k actions\n-a always,exit -F arch=b64 -S unlink -k d\n";
    ParseCache cache;
    auto compare = [&]() -> std::size_t {
        auto plain = load_rules(fs);
        auto cached = load_rules(fs, &cache);
        EXPECT_TRUE(plain.has_value() && cached.has_value());
        if (!plain || !cached) return 0;
        expect_same_set(*cached, *plain);
        return plain->rules.size();
    };
    EXPECT_EQ(compare(), 4u);  // the second -w /etc/sudoers.d and chmod are duplicates (refused, -i goes on)
    // /etc/sudoers.d becomes a file and /var/log/lastlog a directory in another root: the cached watches don't apply.
    fs.dirs = {"/etc/audit", "/etc/audit/rules.d", "/var/log/lastlog"};
    fs.files["/etc/sudoers.d"] = "";
    EXPECT_EQ(compare(), 4u);
    auto cached = load_rules(fs, &cache);
    ASSERT_TRUE(cached.has_value());
    bool lastlog_dir = false;
    for (const auto& r : cached->rules)
        for (const auto& f : r.fields) lastlog_dir = lastlog_dir || (f.id == AUDIT_DIR && f.text == "/var/log/lastlog");
    EXPECT_TRUE(lastlog_dir);

    // A memoised is_dir: each watch path is looked up once however often the files are loaded.
    std::map<std::string, bool> answers;
    IsDirFn memo = [&](const std::string& p) {
        auto it = answers.find(p);
        if (it == answers.end()) it = answers.emplace(p, fs.stat(p, true) && fs.dirs.count(p) != 0).first;
        return it->second;
    };
    fs.stats = 0;
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(load_rules(fs, &cache, memo).has_value());
    EXPECT_EQ(fs.stats, 5 + 2);  // rules.d itself on every load, the two watch paths once
}
