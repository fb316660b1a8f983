// auditd.setting: auditd.conf read as auditd 3.x reads it, on fixture roots through the engine's module host.
#include <gtest/gtest.h>

#include <string>

#include "conf.hpp"
#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;

namespace {

const std::string kConf = "/etc/audit/auditd.conf";

std::string code(const plumb::Outcome& o) { return o.reasons.empty() ? "" : o.reasons.back().code; }
std::string phrase(const plumb::Outcome& o) { return o.reasons.empty() ? "" : o.reasons.back().phrase; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(AuditdSetting, CompliantFixture) {
    TempRoot root;
    root.copy_from("auditd/compliant");
    ModuleHarness h(root.path());
    const json checks[] = {
        {{"key", "max_log_file"}, {"at_least", 6}},
        {{"key", "max_log_file"}, {"equals", 8}},
        {{"key", "max_log_file"}, {"equals", "8"}},
        {{"key", "max_log_file_action"}, {"equals", "keep_logs"}},
        {{"key", "space_left_action"}, {"equals", "email"}},
        {{"key", "admin_space_left_action"}, {"one_of", {"single", "halt"}}},
        {{"key", "action_mail_acct"}, {"equals", "root"}},
        {{"key", "disk_full_action"}, {"one_of", {"single", "halt"}}},
        {{"key", "disk_error_action"}, {"equals", "HALT"}},
    };
    for (const auto& args : checks) {
        auto o = h.run("auditd.setting", args);
        EXPECT_EQ(o.status, Status::pass) << args.dump() << "\n" << describe(o);
        EXPECT_EQ(code(o), "value_ok") << args.dump();
        EXPECT_TRUE(contains(phrase(o), kConf + ":")) << phrase(o);
    }
}

TEST(AuditdSetting, NonCompliantFixtureNamesExpectedActualAndLine) {
    TempRoot root;
    root.copy_from("auditd/noncompliant");
    ModuleHarness h(root.path());
    auto o = h.run("auditd.setting", {{"key", "max_log_file"}, {"at_least", 6}});
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(code(o), "value_mismatch");
    EXPECT_EQ(phrase(o), "max_log_file = 4 at /etc/audit/auditd.conf:2; expected at least 6");

    o = h.run("auditd.setting", {{"key", "max_log_file_action"}, {"equals", "keep_logs"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(phrase(o), "max_log_file_action = ROTATE at /etc/audit/auditd.conf:3; expected keep_logs");

    o = h.run("auditd.setting", {{"key", "action_mail_acct"}, {"equals", "root"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(contains(phrase(o), "admin@example.com")) << phrase(o);

    // not set: auditd's built-in default (ignore) is not halt
    o = h.run("auditd.setting", {{"key", "admin_space_left_action"}, {"equals", "halt"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set_default");
    EXPECT_EQ(phrase(o), "admin_space_left_action is not set in /etc/audit/auditd.conf; auditd's default "
                         "admin_space_left_action = ignore is not halt");
    o = h.run("auditd.setting", {{"key", "disk_error_action"}, {"equals", "syslog"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(code(o), "default_ok");
    o = h.run("auditd.setting", {{"key", "disk_error_action"}, {"equals", "syslog"}, {"require_explicit", true}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set");
}

TEST(AuditdSetting, TrickyCaseSpacingCommentsAndDuplicates) {
    TempRoot root;
    root.copy_from("auditd/tricky");
    ModuleHarness h(root.path());
    // MAX_LOG_FILE = 5 then max_log_file = 10 (extra spaces): keywords are case-insensitive, the last one wins
    auto o = h.run("auditd.setting", {{"key", "max_log_file"}, {"equals", 10}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(contains(phrase(o), "auditd.conf:4")) << phrase(o);
    o = h.run("auditd.setting", {{"key", "max_log_file_action"}, {"equals", "keep_logs"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);  // KEEP_LOGS: values are case-insensitive
    o = h.run("auditd.setting", {{"key", "space_left_action"}, {"equals", "email"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("auditd.setting", {{"key", "disk_full_action"}, {"equals", "exec"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);  // exec takes the program as a third token
}

TEST(AuditdSetting, FilesAuditdRefuses) {
    struct Case {
        const char* text;
        const char* fragment;
    };
    const Case cases[] = {
        {"max_log_file=8\n", "auditd.conf:1: Wrong number of arguments"},
        {"max_log_file 8\n", "auditd.conf:1: Missing equal sign"},
        {"max_log_file\t=\t8\n", "auditd.conf:1: Wrong number of arguments"},  // tabs are not separators
        {"max_log_file = 8 # MB\n", "has invalid option \"#\" (auditd has no end-of-line comments)"},
        {"max_log_file = 8M\n", "Value 8M should only be numbers"},
        {"max_log_file = 8\nmax_log_file_action = delete\n", "auditd.conf:2: Option delete not found"},
        {"disk_full_action = email\n", "Option email not found"},
        {"space_left_action = exec\n", "exec needs an absolute executable path"},
        {"max_log_size = 8\n", "Unknown keyword \"max_log_size\""},
    };
    for (const auto& c : cases) {
        TempRoot root;
        root.write(kConf, c.text);
        ModuleHarness h(root.path());
        auto o = h.run("auditd.setting", {{"key", "max_log_file"}, {"at_least", 6}});
        EXPECT_EQ(o.status, Status::fail) << c.text << describe(o);
        EXPECT_EQ(code(o), "config_invalid") << c.text;
        EXPECT_TRUE(contains(phrase(o), c.fragment)) << c.text << " -> " << phrase(o);
    }
}

TEST(AuditdSetting, SkippedLinesAndFilePermissions) {
    {
        // the last line without a newline is skipped by auditd's fgets loop: the default applies
        TempRoot root;
        root.write(kConf, "max_log_file_action = keep_logs\nmax_log_file = 8");
        ModuleHarness h(root.path());
        auto o = h.run("auditd.setting", {{"key", "max_log_file"}, {"at_least", 6}});
        EXPECT_EQ(o.status, Status::fail) << describe(o);
        EXPECT_EQ(code(o), "not_set_default");
        EXPECT_TRUE(plumb::test::describe(o).find("last line has no newline") != std::string::npos) << describe(o);
    }
    {
        TempRoot root;
        root.write(kConf, "max_log_file = 8\n", 0666);
        ModuleHarness h(root.path());
        auto o = h.run("auditd.setting", {{"key", "max_log_file"}, {"at_least", 6}});
        EXPECT_EQ(code(o), "config_invalid");
        EXPECT_TRUE(contains(phrase(o), "world writable")) << phrase(o);
    }
    {
        TempRoot root;  // no auditd.conf: auditd runs on its defaults
        ModuleHarness h(root.path());
        auto o = h.run("auditd.setting", {{"key", "action_mail_acct"}, {"equals", "root"}});
        EXPECT_EQ(o.status, Status::pass) << describe(o);
        EXPECT_TRUE(contains(phrase(o), "does not exist")) << phrase(o);
        o = h.run("auditd.setting", {{"key", "max_log_file"}, {"at_least", 6}});
        EXPECT_EQ(o.status, Status::fail);
    }
}

TEST(AuditdConfParser, LongLinesAreSkipped) {
    std::string long_line = "action_mail_acct = " + std::string(150, 'a') + "\n";
    auto conf = plumb::auditd::parse_auditd_conf(long_line + "max_log_file = 8\n", "/c");
    EXPECT_FALSE(conf.fatal.has_value());
    EXPECT_EQ(conf.find("action_mail_acct"), nullptr);
    ASSERT_NE(conf.find("MAX_LOG_FILE"), nullptr);
    EXPECT_EQ(conf.find("max_log_file")->line, 2u);
    ASSERT_EQ(conf.notes.size(), 1u);
    EXPECT_TRUE(contains(conf.notes[0], "/c:1: line too long")) << conf.notes[0];
}
