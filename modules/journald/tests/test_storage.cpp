// journald.journal_files on fixture roots. (The journal directory itself is checked with core.file_exists and
// core.file_permissions; see modules/core/tests/test_files.cpp.)
#include <gtest/gtest.h>

#include "plumb_test.hpp"

using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;

namespace {

std::string codes(const plumb::Outcome& o) {
    std::string s;
    for (const auto& r : o.reasons) s += r.code + " ";
    return s;
}

}  // namespace

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
