// key=value / "Key value" files under the different syntaxes plumb's modules use.
#include <gtest/gtest.h>

#include "plumb/config/keyvalue.hpp"

using namespace plumb::config;

TEST(ConfigKeyValue, EqualsLastWins) {
    auto f = parse_key_value("# comment\n\nlog_file = /var/log/audit/audit.log\nmax_log_file=8\nmax_log_file = 32 \n",
                             "/etc/audit/auditd.conf", {});
    ASSERT_EQ(f.entries.size(), 3u);
    EXPECT_EQ(f.entries[0].key, "log_file");
    EXPECT_EQ(f.entries[0].value, "/var/log/audit/audit.log");
    EXPECT_EQ(f.entries[0].line, 3u);
    ASSERT_NE(f.find("max_log_file"), nullptr);
    EXPECT_EQ(f.find("max_log_file")->value, "32");
    EXPECT_EQ(f.find("max_log_file")->line, 5u);
    EXPECT_EQ(f.find("MAX_LOG_FILE"), nullptr);
    EXPECT_TRUE(f.warnings.empty());
}

TEST(ConfigKeyValue, CaseInsensitiveKeys) {
    KeyValueSyntax s;
    s.case_insensitive_keys = true;
    auto f = parse_key_value("Max_Log_File = 8\n", "/f", s);
    ASSERT_NE(f.find("max_log_file"), nullptr);
    EXPECT_EQ(f.find("MAX_LOG_FILE")->value, "8");
}

TEST(ConfigKeyValue, ShellQuotes) {
    KeyValueSyntax s;
    s.strip_quotes = true;
    auto f = parse_key_value("ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nA='single \"kept\"'\n"
                             "B=\"esc \\\"q\\\" \\\\ \\$x\"\nC=\"unterminated\n",
                             "/etc/os-release", s);
    EXPECT_EQ(f.find("ID")->value, "debian");
    EXPECT_EQ(f.find("PRETTY_NAME")->value, "Debian GNU/Linux 12 (bookworm)");
    EXPECT_EQ(f.find("A")->value, "single \"kept\"");
    EXPECT_EQ(f.find("B")->value, "esc \"q\" \\ $x");
    EXPECT_EQ(f.find("C")->value, "\"unterminated");
}

TEST(ConfigKeyValue, WhitespaceSeparatedFirstWins) {
    KeyValueSyntax s;
    s.separator = KeyValueSyntax::Separator::whitespace;
    s.case_insensitive_keys = true;
    s.first_wins = true;
    auto f = parse_key_value("PermitRootLogin no\n\tPasswordAuthentication   yes  \npermitrootlogin yes\nLonely\n",
                             "/etc/ssh/sshd_config", s);
    ASSERT_EQ(f.entries.size(), 3u);
    EXPECT_EQ(f.find("PermitRootLogin")->value, "no");
    EXPECT_EQ(f.find("passwordauthentication")->value, "yes");
    ASSERT_EQ(f.warnings.size(), 1u);
    EXPECT_EQ(f.warnings[0], "/etc/ssh/sshd_config:4: no separator, line ignored");
}

TEST(ConfigKeyValue, EqualsOrWhitespace) {
    KeyValueSyntax s;
    s.separator = KeyValueSyntax::Separator::equals_or_whitespace;
    auto f = parse_key_value("A=1\nB 2\nC = 3\nD\t=\t4\nE=\n", "/f", s);
    ASSERT_EQ(f.entries.size(), 5u);
    EXPECT_EQ(f.find("A")->value, "1");
    EXPECT_EQ(f.find("B")->value, "2");
    EXPECT_EQ(f.find("C")->value, "3");
    EXPECT_EQ(f.find("D")->value, "4");
    EXPECT_EQ(f.find("E")->value, "");
}

TEST(ConfigKeyValue, CommentCharsAndMalformed) {
    KeyValueSyntax s;
    s.comment_chars = "#;";
    auto f = parse_key_value("; c\n  # c\nnoequals\n=v\nk=v # not a comment\r\n", "/f", s);
    ASSERT_EQ(f.entries.size(), 1u);
    EXPECT_EQ(f.entries[0].value, "v # not a comment");  // trailing \r of a CRLF file is dropped
    ASSERT_EQ(f.warnings.size(), 2u);
    EXPECT_EQ(f.warnings[0], "/f:3: no separator, line ignored");
    EXPECT_EQ(f.warnings[1], "/f:4: missing key name, line ignored");
}
