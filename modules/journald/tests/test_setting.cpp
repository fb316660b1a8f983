// journald.setting on fixture roots, through the engine's module host.
#include <gtest/gtest.h>

#include <string>

#include "plumb_test.hpp"

using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;
using nlohmann::json;

namespace {

const std::string kMain = "/etc/systemd/journald.conf";
const std::string kDropins = "/etc/systemd/journald.conf.d/";

plumb::Outcome run(const TempRoot& root, const json& args) {
    ModuleHarness h(root.path());
    return h.run("journald.setting", args);
}

std::string code(const plumb::Outcome& o) { return o.reasons.empty() ? "" : o.reasons.back().code; }
std::string phrase(const plumb::Outcome& o) { return o.reasons.empty() ? "" : o.reasons.back().phrase; }
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(JournaldSetting, CompliantFixture) {
    TempRoot root;
    root.copy_from("journald/compliant");
    ModuleHarness h(root.path());
    const json checks[] = {
        {{"option", "Storage"}, {"equals", "persistent"}},
        {{"option", "Compress"}, {"equals", true}},
        {{"option", "ForwardToSyslog"}, {"equals", "no"}},
        {{"option", "SystemMaxUse"}, {"at_most", "1G"}},
        {{"option", "SystemKeepFree"}, {"at_least", "1G"}},
        {{"option", "RuntimeMaxUse"}, {"at_most", "256M"}},
        {{"option", "MaxRetentionSec"}, {"at_most", "1y"}},
        {{"option", "MaxRetentionSec"}, {"at_least", "6month"}},
        {{"option", "MaxFileSec"}, {"equals", "1M"}},
        {{"option", "Storage"}, {"equals", "persistent"}, {"require_explicit", true}},
    };
    for (const auto& args : checks) {
        auto o = h.run("journald.setting", args);
        EXPECT_EQ(o.status, Status::pass) << args.dump() << "\n" << describe(o);
        EXPECT_EQ(code(o), "value_ok") << args.dump();
        EXPECT_TRUE(contains(phrase(o), "/etc/systemd/journald.conf.d/60-cis.conf:")) << phrase(o);
    }
}

TEST(JournaldSetting, NonCompliantFixture) {
    TempRoot root;
    root.copy_from("journald/noncompliant");
    ModuleHarness h(root.path());

    auto o = h.run("journald.setting", {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_EQ(code(o), "value_mismatch");
    EXPECT_EQ(phrase(o), "Storage=volatile from /etc/systemd/journald.conf:2; expected persistent");

    o = h.run("journald.setting", {{"option", "Compress"}, {"equals", "yes"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(phrase(o), "Compress=no from /etc/systemd/journald.conf:3; expected yes");

    o = h.run("journald.setting", {{"option", "ForwardToSyslog"}, {"equals", false}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(contains(phrase(o), "ForwardToSyslog=yes from /etc/systemd/journald.conf:4")) << phrase(o);

    // journald 252 does not take percentages for SystemMaxUse=: it ignores the line and keeps its default.
    o = h.run("journald.setting", {{"option", "SystemMaxUse"}, {"at_most", "1G"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "invalid_value");
    EXPECT_TRUE(contains(phrase(o), "SystemMaxUse=10% at /etc/systemd/journald.conf:5")) << phrase(o);
    EXPECT_TRUE(contains(phrase(o), "journald ignores it")) << phrase(o);
    EXPECT_TRUE(contains(phrase(o), "systemd default")) << phrase(o);

    // MaxRetentionSec=0 turns the time limit off: it is not "at most 1 year".
    o = h.run("journald.setting", {{"option", "MaxRetentionSec"}, {"at_most", "1y"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "value_mismatch");
    EXPECT_EQ(phrase(o), "MaxRetentionSec=0 (no limit) from /etc/systemd/journald.conf:6; expected at most 1y");
    o = h.run("journald.setting", {{"option", "MaxRetentionSec"}, {"at_least", "1y"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
}

TEST(JournaldSetting, DefaultsWhenNotSet) {
    TempRoot root;
    root.write("/etc/os-release", "ID=fedora\n");
    ModuleHarness h(root.path());

    auto o = h.run("journald.setting", {{"option", "Storage"}, {"equals", "auto"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(code(o), "default_ok");
    EXPECT_TRUE(contains(phrase(o), "systemd default auto")) << phrase(o);

    o = h.run("journald.setting", {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set_default");
    EXPECT_EQ(phrase(o), "Storage is not set; the systemd default auto is not persistent; expected persistent");

    o = h.run("journald.setting", {{"option", "Storage"}, {"equals", "auto"}, {"require_explicit", true}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set");

    o = h.run("journald.setting", {{"option", "Compress"}, {"equals", true}});
    EXPECT_EQ(o.status, Status::pass);
    o = h.run("journald.setting", {{"option", "ForwardToSyslog"}, {"equals", false}});  // upstream default: no
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("journald.setting", {{"option", "MaxRetentionSec"}, {"at_most", "1y"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_TRUE(contains(phrase(o), "systemd default 0 (no limit)")) << phrase(o);

    // Size defaults are a share of the file system capped at 4G: decidable only against the cap.
    o = h.run("journald.setting", {{"option", "SystemMaxUse"}, {"at_most", "4G"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    o = h.run("journald.setting", {{"option", "SystemMaxUse"}, {"at_most", "1G"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set_default");
    EXPECT_TRUE(contains(phrase(o), "10% of the file system, capped at 4G")) << phrase(o);
}

TEST(JournaldSetting, DebianForwardsToSyslogByDefault) {
    TempRoot root;
    root.write("/etc/os-release", "ID=ubuntu\nID_LIKE=debian\n");
    ModuleHarness h(root.path());
    auto o = h.run("journald.setting", {{"option", "ForwardToSyslog"}, {"equals", false}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "not_set_default");
    EXPECT_TRUE(contains(phrase(o), "systemd default on Debian yes")) << phrase(o);
}

TEST(JournaldSetting, CommentsSpacingContinuationDuplicates) {
    TempRoot root;
    root.write(kMain,
               "# Storage=none\n"
               "  ; Storage=none\n"
               "[Journal]\n"
               "   Storage   =   volatile   \n"
               "Storage=persistent\n"
               "SystemMaxUse=1G \\\n"
               "# a comment inside the continuation is skipped\n"
               "  512M\n"
               "[Upload]\n"
               "Storage=none\n"
               "Compress=no\n");
    ModuleHarness h(root.path());
    auto o = h.run("journald.setting", {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(phrase(o), "Storage=persistent from /etc/systemd/journald.conf:5 satisfies persistent");
    o = h.run("journald.setting", {{"option", "SystemMaxUse"}, {"equals", "1.5G"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(contains(phrase(o), "journald.conf:8")) << phrase(o);
    o = h.run("journald.setting", {{"option", "Compress"}, {"equals", true}});  // [Upload] does not count
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(code(o), "default_ok");
}

TEST(JournaldSetting, DropinMaskingAndPriority) {
    TempRoot root;
    root.write(kMain, "[Journal]\nStorage=auto\n");
    root.write("/usr/lib/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=volatile\nCompress=no\n");
    root.write("/run/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=persistent\n");
    root.write("/usr/lib/systemd/journald.conf.d/40-fwd.conf", "[Journal]\nForwardToSyslog=yes\n");
    root.symlink("/dev/null", "/etc/systemd/journald.conf.d/40-fwd.conf");
    ModuleHarness h(root.path());
    auto o = h.run("journald.setting", {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(contains(phrase(o), "/run/systemd/journald.conf.d/50-vendor.conf:2")) << phrase(o);
    o = h.run("journald.setting", {{"option", "Compress"}, {"equals", true}});  // masked by /run's copy
    EXPECT_EQ(code(o), "default_ok") << describe(o);
    root.write("/etc/os-release", "ID=arch\n");
    ModuleHarness h2(root.path());
    o = h2.run("journald.setting", {{"option", "ForwardToSyslog"}, {"equals", false}});  // masked via /dev/null
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(code(o), "default_ok");
}

TEST(JournaldSetting, InvalidValueFallsBackToPreviousAssignment) {
    TempRoot root;
    root.write(kMain, "[Journal]\nStorage=persistent\n");
    root.write(kDropins + "90-typo.conf", "[Journal]\nStorage=disk\n");
    auto o = run(root, {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "invalid_value");
    EXPECT_EQ(phrase(o),
              "Storage=disk at /etc/systemd/journald.conf.d/90-typo.conf:2 is not one of volatile, persistent, auto, "
              "none (lower case); journald ignores it and uses Storage=persistent (from "
              "/etc/systemd/journald.conf:2); expected persistent");

    // Case matters to journald: "Persistent" is ignored too.
    root.write(kDropins + "90-typo.conf", "[Journal]\nStorage=Persistent\n");
    o = run(root, {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(code(o), "invalid_value");
}

TEST(JournaldSetting, EmptyValueSemantics) {
    TempRoot root;
    // Compress= (empty) resets to the default (on); SystemMaxUse= (empty) is rejected by journald 252 and ignored.
    root.write(kMain, "[Journal]\nCompress=no\nSystemMaxUse=1G\n");
    root.write(kDropins + "99-reset.conf", "[Journal]\nCompress=\nSystemMaxUse=\n");
    ModuleHarness h(root.path());
    auto o = h.run("journald.setting", {{"option", "Compress"}, {"equals", true}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_TRUE(contains(phrase(o), "99-reset.conf:2")) << phrase(o);
    o = h.run("journald.setting", {{"option", "SystemMaxUse"}, {"at_most", "1G"}});
    EXPECT_EQ(o.status, Status::fail);
    EXPECT_EQ(code(o), "invalid_value");
    EXPECT_TRUE(contains(phrase(o), "uses SystemMaxUse=1G (from /etc/systemd/journald.conf:3)")) << phrase(o);
}

TEST(JournaldSetting, BooleanSpellingsAndCompressThreshold) {
    TempRoot root;
    root.write(kMain, "[Journal]\nForwardToSyslog=OFF\nCompress=4K\nSeal=1\nForwardToWall=False\n");
    ModuleHarness h(root.path());
    EXPECT_EQ(h.run("journald.setting", {{"option", "ForwardToSyslog"}, {"equals", "no"}}).status, Status::pass);
    EXPECT_EQ(h.run("journald.setting", {{"option", "Compress"}, {"equals", true}}).status, Status::pass);
    EXPECT_EQ(h.run("journald.setting", {{"option", "Seal"}, {"equals", "yes"}}).status, Status::pass);
    EXPECT_EQ(h.run("journald.setting", {{"option", "ForwardToWall"}, {"equals", false}}).status, Status::pass);
}

TEST(JournaldSetting, TimeSpansAndLevels) {
    TempRoot root;
    root.write(kMain, "[Journal]\nMaxRetentionSec=2 weeks\nMaxFileSec=infinity\nRateLimitInterval=10s\n"
                      "MaxLevelStore=info\nRateLimitBurst=500\n");
    ModuleHarness h(root.path());
    EXPECT_EQ(h.run("journald.setting", {{"option", "MaxRetentionSec"}, {"at_most", "1month"}}).status, Status::pass);
    EXPECT_EQ(h.run("journald.setting", {{"option", "MaxRetentionSec"}, {"at_least", "15d"}}).status, Status::fail);
    EXPECT_EQ(h.run("journald.setting", {{"option", "MaxRetentionSec"}, {"equals", 1209600}}).status, Status::pass);
    EXPECT_EQ(h.run("journald.setting", {{"option", "MaxFileSec"}, {"at_most", "1y"}}).status, Status::fail);
    // the legacy name RateLimitInterval= sets RateLimitIntervalSec
    auto o = h.run("journald.setting", {{"option", "RateLimitIntervalSec"}, {"equals", "10s"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    EXPECT_EQ(h.run("journald.setting", {{"option", "MaxLevelStore"}, {"at_least", "info"}}).status, Status::pass);
    EXPECT_EQ(h.run("journald.setting", {{"option", "MaxLevelStore"}, {"at_least", "debug"}}).status, Status::fail);
    EXPECT_EQ(h.run("journald.setting", {{"option", "RateLimitBurst"}, {"at_most", 1000}}).status, Status::pass);
}

TEST(JournaldSetting, MalformedFileStopsLaterDropins) {
    TempRoot root;
    root.write(kMain, "[Journal]\nStorage=persistent\n");
    root.write(kDropins + "10-broken.conf", "[Journal\nStorage=none\n");
    root.write(kDropins + "20-later.conf", "[Journal]\nStorage=volatile\n");
    auto o = run(root, {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::pass) << describe(o);
    ASSERT_EQ(o.reasons.size(), 2u) << describe(o);
    EXPECT_EQ(o.reasons[0].code, "parse_aborted");
    EXPECT_TRUE(contains(o.reasons[0].phrase, "10-broken.conf:1")) << o.reasons[0].phrase;
    EXPECT_TRUE(contains(o.reasons[0].phrase, "not applied: /etc/systemd/journald.conf.d/20-later.conf"));
}

TEST(JournaldSetting, UnreadableConfigurationIsAnError) {
    TempRoot root;
    root.mkdir(kDropins + "10-dir.conf");
    auto o = run(root, {{"option", "Storage"}, {"equals", "persistent"}});
    EXPECT_EQ(o.status, Status::error) << describe(o);
    EXPECT_EQ(code(o), "config_unreadable");
    EXPECT_TRUE(contains(phrase(o), "10-dir.conf")) << phrase(o);
}

TEST(JournaldSetting, ParsedOncePerRun) {
    TempRoot root;
    root.copy_from("journald/compliant");
    ModuleHarness h(root.path());
    h.run("journald.setting", {{"option", "Storage"}, {"equals", "persistent"}});
    auto reads = h.context().disk_reads();
    h.run("journald.setting", {{"option", "Compress"}, {"equals", true}});
    h.run("journald.setting", {{"option", "SystemMaxUse"}, {"at_most", "2G"}});
    EXPECT_EQ(h.context().disk_reads(), reads);
}

TEST(JournaldSetting, SchemaRejectsWhatCannotBeChecked) {
    TempRoot root;
    ModuleHarness h(root.path());
    const auto* module = h.registry().module("journald");
    ASSERT_NE(module, nullptr);
    const auto* proc = module->procedure("setting");
    ASSERT_NE(proc, nullptr);
    auto valid = [&](const json& args) { return proc->validator.validate(args).empty(); };
    EXPECT_TRUE(valid({{"option", "Storage"}, {"equals", "persistent"}}));
    EXPECT_TRUE(valid({{"option", "SystemMaxUse"}, {"at_most", "1G"}, {"require_explicit", true}}));
    EXPECT_TRUE(valid({{"option", "MaxRetentionSec"}, {"at_least", "6month"}, {"at_most", "1y"}}));
    EXPECT_TRUE(valid({{"option", "ForwardToSyslog"}, {"equals", false}}));
    EXPECT_FALSE(valid({{"option", "Storage"}, {"equals", "disk"}}));
    EXPECT_FALSE(valid({{"option", "Storage"}, {"at_most", "persistent"}}));  // no order on enumerations
    EXPECT_FALSE(valid({{"option", "SystemMaxUse"}, {"at_most", "10%"}}));    // journald takes no percentages
    EXPECT_FALSE(valid({{"option", "Compress"}, {"equals", "maybe"}}));
    EXPECT_FALSE(valid({{"option", "Storage"}}));                             // nothing to compare
    EXPECT_FALSE(valid({{"option", "NoSuchOption"}, {"equals", "x"}}));
}
