// Minimal INI edits: only the lines concerned change, and the parser sees the intended value afterwards.
#include <gtest/gtest.h>

#include "plumb/config/ini.hpp"
#include "plumb/config/ini_edit.hpp"

using namespace plumb::config;

namespace {

std::string effective(const std::string& text, const std::string& section, const std::string& key) {
    const Assignment* last = nullptr;
    auto parsed = parse_ini(text, "t.conf");
    for (const auto& a : parsed.assignments)
        if (a.section == section && a.key == key) last = &a;
    return last ? last->value : "<unset>";
}

TEST(IniSet, ReplacesTheLastAssignmentOnly) {
    std::string in = "# header\n[Journal]\nStorage=auto\n# keep me\nStorage=volatile\nCompress=no\n";
    std::string out = ini_set(in, "Journal", "Storage", "persistent");
    EXPECT_EQ(out, "# header\n[Journal]\nStorage=auto\n# keep me\nStorage=persistent\nCompress=no\n");
    EXPECT_EQ(effective(out, "Journal", "Storage"), "persistent");
}

TEST(IniSet, AppendsToTheSectionsLastBlock) {
    std::string in = "[Journal]\nCompress=no\n\n[Other]\nX=1\n[Journal]\nSeal=yes\n\n# trailing comment\n";
    std::string out = ini_set(in, "Journal", "Storage", "persistent");
    EXPECT_EQ(out, "[Journal]\nCompress=no\n\n[Other]\nX=1\n[Journal]\nSeal=yes\nStorage=persistent\n\n# trailing comment\n");
    EXPECT_EQ(effective(out, "Journal", "Storage"), "persistent");
}

TEST(IniSet, AddsSectionToEmptyOrSectionlessFiles) {
    EXPECT_EQ(ini_set("", "Journal", "Storage", "persistent"), "[Journal]\nStorage=persistent\n");
    EXPECT_EQ(ini_set("# comment only", "Journal", "Storage", "persistent"), "# comment only\n\n[Journal]\nStorage=persistent\n");
    // Other sections' keys of the same name are not this section's.
    std::string out = ini_set("[Other]\nStorage=x\n", "Journal", "Storage", "persistent");
    EXPECT_EQ(effective(out, "Other", "Storage"), "x");
    EXPECT_EQ(effective(out, "Journal", "Storage"), "persistent");
}

TEST(IniSet, ReplacesContinuedAssignmentsWholeAndKeepsCrlf) {
    std::string in = "[Journal]\r\nStorage=vol\\\r\natile\r\nCompress=no\r\n";
    std::string out = ini_set(in, "Journal", "Storage", "persistent");
    EXPECT_EQ(out, "[Journal]\r\nStorage=persistent\r\nCompress=no\r\n");
}

TEST(IniSet, RefusesEmptyOrMultilineValues) {
    EXPECT_THROW(ini_set("", "Journal", "Storage", ""), std::invalid_argument);
    EXPECT_THROW(ini_set("", "Journal", "Storage", "a\nb"), std::invalid_argument);
}

TEST(IniCommentOut, CommentsTheWholeAssignment) {
    std::string in = "[Journal]\nStorage=vol\\\natile\nCompress=no\n";
    auto parsed = parse_ini(in, "t.conf");
    ASSERT_EQ(parsed.assignments.at(0).key, "Storage");
    std::string out = ini_comment_out(in, parsed.assignments[0].line, "disabled by plumb");
    EXPECT_EQ(out, "[Journal]\n# disabled by plumb: Storage=vol\\\n# disabled by plumb: atile\nCompress=no\n");
    EXPECT_EQ(effective(out, "Journal", "Storage"), "<unset>");
    EXPECT_EQ(effective(out, "Journal", "Compress"), "no");
    EXPECT_THROW(ini_comment_out(in, 99, "x"), std::out_of_range);
}

}  // namespace
