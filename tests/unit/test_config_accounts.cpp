// /etc/passwd and /etc/group of an audited root, parsed as text (plumb::config::parse_account_db).
#include <gtest/gtest.h>

#include "plumb/config/accounts.hpp"

using namespace plumb::config;

TEST(ConfigAccounts, NamesIdsAndLines) {
    auto t = parse_account_db("root:x:0:0:root:/root:/bin/bash\nsshd:x:105:65534::/run/sshd:/usr/sbin/nologin\n"
                              "auditor:x:1001:1001::/home/auditor:/bin/sh\n",
                              "/etc/passwd");
    EXPECT_EQ(t.file, "/etc/passwd");
    ASSERT_EQ(t.entries.size(), 3u);
    EXPECT_EQ(t.entries[1].name, "sshd");
    EXPECT_EQ(t.entries[1].id, 105u);
    EXPECT_EQ(t.entries[1].line, 2u);
    ASSERT_NE(t.by_name("auditor"), nullptr);
    EXPECT_EQ(t.by_name("auditor")->id, 1001u);
    EXPECT_EQ(t.by_name("auditor")->line, 3u);
    ASSERT_NE(t.by_id(0), nullptr);
    EXPECT_EQ(t.by_id(0)->name, "root");
    EXPECT_EQ(t.by_name("nobody"), nullptr);
    EXPECT_EQ(t.by_id(65534), nullptr);  // a primary gid in passwd is not a uid
}

TEST(ConfigAccounts, GroupFileWithoutMemberListOrTrailingNewline) {
    auto t = parse_account_db("root:x:0:\nadm:x:4:syslog,alice\nsystemd-journal:x:999", "/etc/group");
    ASSERT_EQ(t.entries.size(), 3u);
    EXPECT_EQ(t.by_name("adm")->id, 4u);
    EXPECT_EQ(t.by_name("systemd-journal")->id, 999u);
    EXPECT_EQ(t.by_name("systemd-journal")->line, 3u);
    EXPECT_EQ(t.by_id(999)->name, "systemd-journal");
}

TEST(ConfigAccounts, SkipsNisCommentsAndMalformedLinesButCountsThem) {
    auto t = parse_account_db("# users\n"
                              "+nis::::::\n"
                              "-baduser::::::\n"
                              "+:::\n"
                              ":x:7:\n"             // no name
                              "nocolon\n"
                              "short:x\n"           // no id field
                              "neg:x:-1:\n"
                              "big:x:4294967296:\n"  // beyond 32 bits
                              "word:x:abc:\n"
                              "\n"
                              "max:x:4294967295:\n"
                              "last:x:12\n",
                              "/etc/group");
    ASSERT_EQ(t.entries.size(), 2u);
    EXPECT_EQ(t.entries[0].name, "max");
    EXPECT_EQ(t.entries[0].id, 4294967295u);
    EXPECT_EQ(t.entries[0].line, 12u);
    EXPECT_EQ(t.entries[1].name, "last");
    EXPECT_EQ(t.entries[1].id, 12u);
    EXPECT_EQ(t.entries[1].line, 13u);
    EXPECT_EQ(t.by_name("+nis"), nullptr);
    EXPECT_EQ(t.by_name("neg"), nullptr);
}

TEST(ConfigAccounts, FirstEntryWins) {
    auto t = parse_account_db("toor:x:0:0::/root:/bin/sh\nroot:x:0:0::/root:/bin/bash\nroot:x:5:5::/:/bin/sh\n", "/etc/passwd");
    EXPECT_EQ(t.by_id(0)->name, "toor");
    EXPECT_EQ(t.by_name("root")->id, 0u);
    EXPECT_EQ(t.by_name("root")->line, 2u);
}

TEST(ConfigAccounts, EmptyText) {
    auto t = parse_account_db("", "/etc/passwd");
    EXPECT_TRUE(t.entries.empty());
    EXPECT_EQ(t.by_name("root"), nullptr);
}
