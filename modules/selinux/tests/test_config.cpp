// /etc/selinux/config as libselinux 3.x reads it (selinux_getenforcemode / init_selinux_config), and the edits.
#include <gtest/gtest.h>

#include "plumb_test.hpp"
#include "selinux_config.hpp"

namespace se = plumb::selinux;

TEST(SelinuxConfig, StockFileFromFixture) {
    plumb::test::TempRoot root;
    root.copy_from("selinux/compliant");
    auto v = se::parse_config(root.read("/etc/selinux/config"), se::kConfigFile);
    ASSERT_TRUE(v.mode);
    EXPECT_EQ(*v.mode, se::Mode::enforcing);
    EXPECT_EQ(v.mode_line, 7u);
    ASSERT_TRUE(v.policy_type);
    EXPECT_EQ(*v.policy_type, "targeted");
    EXPECT_EQ(v.policy_line, 12u);
    EXPECT_TRUE(v.ignored_mode.empty());
}

TEST(SelinuxConfig, LibselinuxRulesOnTrickyFile) {
    plumb::test::TempRoot root;
    root.copy_from("selinux/tricky");
    auto v = se::parse_config(root.read("/etc/selinux/config"), se::kConfigFile);
    // Column-0, case-sensitive "SELINUX=", first valid value wins, matched as a case-insensitive prefix.
    ASSERT_TRUE(v.mode);
    EXPECT_EQ(*v.mode, se::Mode::enforcing);
    EXPECT_EQ(v.mode_line, 6u);
    ASSERT_EQ(v.ignored_mode.size(), 4u);  // leading blank, lower-case key, blank before '=', bogus value
    EXPECT_EQ(v.ignored_mode[0].line, 2u);
    EXPECT_NE(v.ignored_mode[0].why.find("start of a line"), std::string::npos) << v.ignored_mode[0].why;
    EXPECT_NE(v.ignored_mode[1].why.find("case-sensitively"), std::string::npos) << v.ignored_mode[1].why;
    EXPECT_NE(v.ignored_mode[2].why.find("no blank before"), std::string::npos) << v.ignored_mode[2].why;
    EXPECT_EQ(v.ignored_mode[3].line, 5u);
    EXPECT_EQ(v.later_mode_lines, std::vector<unsigned>{7});
    // SELINUXTYPE: leading blanks and any case allowed, no blank before '=', the last one wins, trailing blanks trimmed.
    ASSERT_TRUE(v.policy_type);
    EXPECT_EQ(*v.policy_type, "targeted");
    EXPECT_EQ(v.policy_line, 10u);
    EXPECT_EQ(v.earlier_policy_lines, std::vector<unsigned>{8});
    ASSERT_EQ(v.ignored_policy.size(), 1u);
    EXPECT_EQ(v.ignored_policy[0].line, 9u);
}

TEST(SelinuxConfig, ValuePrefixAndDefaults) {
    auto v = se::parse_config("SELINUX=permissiveXYZ\n", se::kConfigFile);
    ASSERT_TRUE(v.mode);
    EXPECT_EQ(*v.mode, se::Mode::permissive);
    EXPECT_FALSE(v.policy_type);  // libselinux then uses "targeted"
    auto empty = se::parse_config("", se::kConfigFile);
    EXPECT_FALSE(empty.mode);
    auto quoted = se::parse_config("SELINUX=\"enforcing\"\nSELINUXTYPE=\"targeted\"\n", se::kConfigFile);
    EXPECT_FALSE(quoted.mode);                     // libselinux does not strip quotes
    EXPECT_EQ(*quoted.policy_type, "\"targeted\"");  // ... nor here: no policy of that name
}

TEST(SelinuxConfig, EditsChangeOnlyTheEffectiveLine) {
    const std::string text = "# c\n SELINUX=permissive\nSELINUX=disabled # why\nSELINUX=enforcing\nSELINUXTYPE=mls\nSELINUXTYPE=minimum\nX=1";
    EXPECT_EQ(se::set_mode(text, se::Mode::enforcing),
              "# c\n SELINUX=permissive\nSELINUX=enforcing\nSELINUX=enforcing\nSELINUXTYPE=mls\nSELINUXTYPE=minimum\nX=1");
    EXPECT_EQ(se::set_policy_type(text, "targeted"),
              "# c\n SELINUX=permissive\nSELINUX=disabled # why\nSELINUX=enforcing\nSELINUXTYPE=mls\nSELINUXTYPE=targeted\nX=1");
    // Nothing libselinux accepts: appended (after a newline the file lacked).
    EXPECT_EQ(se::set_mode("selinux=enforcing", se::Mode::enforcing), "selinux=enforcing\nSELINUX=enforcing\n");
    EXPECT_EQ(se::set_policy_type("", "targeted"), "SELINUXTYPE=targeted\n");
    auto after = se::parse_config(se::set_mode(text, se::Mode::permissive), se::kConfigFile);
    EXPECT_EQ(*after.mode, se::Mode::permissive);
}

TEST(SelinuxConfig, ContextType) {
    EXPECT_EQ(se::context_type("system_u:system_r:unconfined_service_t:s0"), "unconfined_service_t");
    EXPECT_EQ(se::context_type("system_u:system_r:initrc_t:s0-s0:c0.c1023"), "initrc_t");
    EXPECT_EQ(se::context_type("system_u:system_r:sshd_t"), "sshd_t");
    EXPECT_EQ(se::context_type("kernel"), "");
}
