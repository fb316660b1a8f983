// Minimal key=value edits: only the line concerned changes, and the family's parser sees the intended value after.
#include <gtest/gtest.h>

#include <stdexcept>

#include "plumb/config/keyvalue.hpp"
#include "plumb/config/keyvalue_edit.hpp"

using namespace plumb::config;

namespace {

const KeyValueSyntax kAuditd{KeyValueSyntax::Separator::equals, true};

std::string effective(const std::string& text, const std::string& key, const KeyValueSyntax& syntax) {
    auto parsed = parse_key_value(text, "t.conf", syntax);
    const KeyValue* e = parsed.find(key);
    return e ? e->value : "<unset>";
}

}  // namespace

TEST(KeyValueSet, ReplacesOnlyTheEffectiveLineKeepingSpacingAndComments) {
    const std::string in =
        "#\n# auditd.conf\n#\nlog_file = /var/log/audit/audit.log\nmax_log_file = 2\n# keep me\nmax_log_file  =   4\n"
        "num_logs = 5\n";
    std::string out = key_value_set(in, "max_log_file", "8", kAuditd, " = ");
    EXPECT_EQ(out,
              "#\n# auditd.conf\n#\nlog_file = /var/log/audit/audit.log\nmax_log_file = 2\n# keep me\nmax_log_file  =   8\n"
              "num_logs = 5\n");
    EXPECT_EQ(effective(out, "max_log_file", kAuditd), "8");
}

TEST(KeyValueSet, KeepsTheKeysSpellingAndDropsATrailingOption) {
    // auditd keywords are case-insensitive; the rest of the line after the separator is the old value.
    const std::string in = "Space_Left_Action = exec /usr/local/bin/notify\r\nflush = INCREMENTAL_ASYNC\r\n";
    std::string out = key_value_set(in, "space_left_action", "email", kAuditd, " = ");
    EXPECT_EQ(out, "Space_Left_Action = email\r\nflush = INCREMENTAL_ASYNC\r\n");
}

TEST(KeyValueSet, AppendsWithTheGivenSeparatorAndFixesAMissingFinalNewline) {
    EXPECT_EQ(key_value_set("log_file = /x\nnum_logs = 5", "max_log_file", "6", kAuditd, " = "),
              "log_file = /x\nnum_logs = 5\nmax_log_file = 6\n");
    EXPECT_EQ(key_value_set("", "max_log_file", "6", kAuditd, " = "), "max_log_file = 6\n");
    // a commented-out assignment is not an assignment
    EXPECT_EQ(key_value_set("#max_log_file = 6\n", "max_log_file", "8", kAuditd, " = "), "#max_log_file = 6\nmax_log_file = 8\n");
}

TEST(KeyValueSet, FirstWinsAndWhitespaceSeparatedSyntaxes) {
    const KeyValueSyntax sshd{KeyValueSyntax::Separator::whitespace, true, false, "#", true};
    const std::string in = "  PermitRootLogin\tyes\nPermitRootLogin no\n";
    std::string out = key_value_set(in, "permitrootlogin", "prohibit-password", sshd, " ");
    EXPECT_EQ(out, "  PermitRootLogin\tprohibit-password\nPermitRootLogin no\n");
    EXPECT_EQ(effective(out, "PermitRootLogin", sshd), "prohibit-password");

    const KeyValueSyntax shell{KeyValueSyntax::Separator::equals, false, true};
    out = key_value_set("GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"quiet\"\n", "GRUB_CMDLINE_LINUX", "\"quiet audit=1\"", shell, "=");
    EXPECT_EQ(out, "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"quiet audit=1\"\n");
    EXPECT_EQ(effective(out, "GRUB_CMDLINE_LINUX", shell), "quiet audit=1");
    // case-sensitive keys: a differently spelled key is another key
    EXPECT_EQ(key_value_set("grub_timeout=5\n", "GRUB_TIMEOUT", "1", shell, "="), "grub_timeout=5\nGRUB_TIMEOUT=1\n");
}

TEST(KeyValueReplace, EmptyValueKeepsTheFilesSpacingStyle) {
    EXPECT_EQ(key_value_replace("action_mail_acct =\n", 1, "root", kAuditd), "action_mail_acct = root\n");
    EXPECT_EQ(key_value_replace("a=\nb=2\n", 1, "1", kAuditd), "a=1\nb=2\n");
}

TEST(KeyValueReplace, RefusesWhatIsNotAnAssignment) {
    EXPECT_THROW(key_value_replace("# comment\n", 1, "x", kAuditd), std::invalid_argument);
    EXPECT_THROW(key_value_replace("no separator\n", 1, "x", kAuditd), std::invalid_argument);
    EXPECT_THROW(key_value_replace("a = 1\n", 2, "x", kAuditd), std::out_of_range);
    EXPECT_THROW(key_value_replace("a = 1\n", 1, "x\ny = 2", kAuditd), std::invalid_argument);
    EXPECT_THROW(key_value_append("", "a", "x\n", " = "), std::invalid_argument);
}
