// journald.var_log_journal and journald.journal_files on fixture roots. Owner and group names are resolved through
// the fixture's own /etc/passwd and /etc/group (gid 999 here), never through the host's NSS.
#include <gtest/gtest.h>

#include <unistd.h>

#include "plumb_test.hpp"

using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;

namespace {

void own(const TempRoot& root, const std::string& rel, uid_t uid, gid_t gid) {
    ASSERT_EQ(::lchown((root / rel).c_str(), uid, gid), 0) << rel;
}

std::string codes(const plumb::Outcome& o) {
    std::string s;
    for (const auto& r : o.reasons) s += r.code + " ";
    return s;
}

}  // namespace

TEST(JournaldStorage, CompliantDirectory) {
    TempRoot root;
    root.copy_from("journald/compliant");
    root.chmod("/var/log/journal", 02755);
    own(root, "/var/log/journal", 0, 999);
    ModuleHarness h(root.path());
    auto o = h.run("journald.var_log_journal", nlohmann::json::object());
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("journald.var_log_journal", {{"require_setgid", true}, {"max_mode", "2750"}});
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(codes(o), "wrong_mode ");
    EXPECT_NE(o.reasons[0].phrase.find("mode 2755, which exceeds the maximum 2750 (extra bits 0005)"), std::string::npos)
        << o.reasons[0].phrase;
}

TEST(JournaldStorage, WrongModeOwnerAndGroup) {
    TempRoot root;
    root.copy_from("journald/compliant");
    root.chmod("/var/log/journal", 0777);
    own(root, "/var/log/journal", 65534, 4);
    ModuleHarness h(root.path());
    auto o = h.run("journald.var_log_journal", {{"require_setgid", true}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(codes(o), "wrong_mode wrong_mode wrong_owner wrong_group ") << describe(o);
    EXPECT_NE(o.reasons[3].phrase.find("has gid 4; expected systemd-journal (gid 999 in /etc/group)"), std::string::npos)
        << o.reasons[3].phrase;
}

TEST(JournaldStorage, MissingAndUnknownGroup) {
    TempRoot root;
    root.copy_from("journald/noncompliant");
    ModuleHarness h(root.path());
    auto o = h.run("journald.var_log_journal", nlohmann::json::object());
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(codes(o), "missing ");

    root.mkdir("/var/log/journal", 02755);
    root.write("/etc/group", "root:x:0:\n");
    ModuleHarness h2(root.path());
    o = h2.run("journald.var_log_journal", nlohmann::json::object());
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(codes(o), "unknown_group ") << describe(o);

    root.write("/var/log/journal2", "file");
    o = h2.run("journald.var_log_journal", {{"path", "/var/log/journal2"}});
    EXPECT_EQ(codes(o), "not_directory ");
}

TEST(JournaldStorage, JournalFileModes) {
    TempRoot root;
    root.write("/var/log/journal/0123456789abcdef/system.journal", "x", 0640);
    root.write("/var/log/journal/0123456789abcdef/user-1000.journal", "x", 0644);
    root.write("/var/log/journal/0123456789abcdef/system@x.journal~", "x", 0600);
    root.write("/var/log/journal/0123456789abcdef/notes.txt", "x", 0666);
    ModuleHarness h(root.path());
    auto o = h.run("journald.journal_files", nlohmann::json::object());
    EXPECT_EQ(o.status, Status::fail);
    ASSERT_EQ(codes(o), "wrong_mode ") << describe(o);
    EXPECT_NE(o.reasons[0].phrase.find("user-1000.journal has mode 0644"), std::string::npos);
    root.chmod("/var/log/journal/0123456789abcdef/user-1000.journal", 0640);
    ModuleHarness h2(root.path());
    o = h2.run("journald.journal_files", nlohmann::json::object());
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_NE(o.reasons[0].phrase.find("3 journal files"), std::string::npos) << o.reasons[0].phrase;
}
