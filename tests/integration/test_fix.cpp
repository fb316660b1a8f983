// plumb fix end to end on fixture images: journald remediation through the transaction layer, checked against
// systemd's own merge (systemd-analyze cat-config), idempotence, dry runs, history and exact rollback.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "plumb/config/ini.hpp"
#include "plumb/json_schema.hpp"
#include "plumb_test.hpp"

using plumb::test::run_plumb;
using plumb::test::statuses;
using plumb::test::TempRoot;

namespace {

const std::vector<std::string> kJournaldRules = {"journald_storage",          "journald_compress",
                                                 "journald_forward_to_syslog", "journald_system_max_use",
                                                 "journald_system_keep_free",  "journald_runtime_max_use",
                                                 "journald_max_retention"};

std::vector<std::string> with_rules(std::vector<std::string> args) {
    for (const auto& r : kJournaldRules) {
        args.push_back("--rule");
        args.push_back(r);
    }
    return args;
}

// A RHEL-like image whose journald configuration violates most cis rules, with the usual vendor and site files.
void noncompliant_image(const TempRoot& r) {
    r.write("/etc/os-release", "ID=rhel\nID_LIKE=fedora\n");
    r.write("/etc/hostname", "fix-image\n");
    r.write("/etc/systemd/journald.conf", "#  This file is part of systemd.\n[Journal]\n#Storage=auto\nCompress=no\n", 0644);
    r.write("/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=volatile\nSystemMaxUse=8G\n");
    // A site drop-in that sorts after plumb's own and sets one of the values again: must be neutralised in place.
    r.write("/etc/systemd/journald.conf.d/99-zz-site.conf", "# site\n[Journal]\nCompress=no\nSeal=yes\n", 0640);
    // A vendor drop-in sorting last: masked by a copy in /etc with only the offending line commented out.
    r.write("/usr/lib/systemd/journald.conf.d/99-zzz-vendor.conf", "[Journal]\nRuntimeMaxUse=1G\nSplitMode=uid\n");
}

nlohmann::json run_json(std::vector<std::string> args, int expected_exit) {
    args.push_back("--format");
    args.push_back("json");
    return plumb::test::run_plumb_json(args, expected_exit);
}

void expect_report_schema(const nlohmann::json& report) {
    std::ifstream in(plumb::test::source_dir() + "/agent/report.schema.json");
    auto schema = plumb::JsonSchema::compile(nlohmann::json::parse(in));
    ASSERT_TRUE(schema) << schema.error().message;
    auto violations = schema->validate(report);
    EXPECT_TRUE(violations.empty()) << violations[0].pointer << ": " << violations[0].message;
}


// The effective [Journal] values according to systemd itself.
std::map<std::string, std::string> systemd_merge(const TempRoot& r) {
    auto res = plumb::test::run_process({"/usr/bin/systemd-analyze", "--root=" + r.path(), "cat-config", "systemd/journald.conf"}, 30);
    EXPECT_EQ(res.exit_code, 0) << res.err;
    auto parsed = plumb::config::parse_ini(res.out, "cat-config");
    std::map<std::string, std::string> values;
    for (const auto& a : parsed.assignments)
        if (a.section == "Journal") values[a.key] = a.value;
    return values;
}

const std::vector<std::string> kSkip = {"/var/lib/plumb"};

TEST(Fix, JournaldEndToEndWithSystemdOracleAndExactRollback) {
    TempRoot r;
    noncompliant_image(r);
    auto before = plumb::test::snapshot_tree(r.path());

    auto fixed = run_json(with_rules({"fix", "--root", r.path()}), 0);
    for (const auto& [id, status] : statuses(fixed)) EXPECT_TRUE(status == "fixed" || status == "pass") << id << ": " << fixed.dump(2);
    EXPECT_EQ(statuses(fixed)["journald_storage"], "fixed");
    EXPECT_EQ(statuses(fixed)["journald_compress"], "fixed");
    ASSERT_TRUE(fixed.contains("transaction")) << fixed.dump(2);
    const std::string tx = fixed["transaction"];
    expect_report_schema(fixed);
    // Offline: the restart is reported, not done.
    ASSERT_EQ(fixed["plan"]["services"].size(), 1u);
    EXPECT_EQ(fixed["plan"]["services"][0]["unit"], "systemd-journald.service");
    EXPECT_NE(std::string(fixed["plan"]["services"][0]["status"]).find("offline root"), std::string::npos);

    // The audit agrees, and so does systemd's own merge of the configuration.
    auto audit = run_json(with_rules({"audit", "--root", r.path()}), 0);
    for (const auto& [id, status] : statuses(audit)) EXPECT_EQ(status, "pass") << id;
    auto merged = systemd_merge(r);
    EXPECT_EQ(merged["Storage"], "persistent");
    EXPECT_EQ(merged["Compress"], "yes");
    EXPECT_EQ(merged["ForwardToSyslog"], "yes");
    EXPECT_EQ(merged["SystemMaxUse"], "2G");
    EXPECT_EQ(merged["SystemKeepFree"], "1G");
    EXPECT_EQ(merged["RuntimeMaxUse"], "256M");
    EXPECT_EQ(merged["MaxRetentionSec"], "1year");
    EXPECT_EQ(merged["Seal"], "yes");        // other settings of the edited files survive
    EXPECT_EQ(merged["SplitMode"], "uid");   // ... including the masked vendor file's

    // Minimal edits: plumb's drop-in, the site drop-in changed on one line only (mode kept), a masking copy.
    EXPECT_EQ(r.read("/etc/systemd/journald.conf.d/99-zz-site.conf"),
              "# site\n[Journal]\n# disabled by plumb (Compress is set in /etc/systemd/journald.conf.d/99-plumb.conf): "
              "Compress=no\nSeal=yes\n");
    struct stat st {};
    ASSERT_EQ(::stat((r / "etc/systemd/journald.conf.d/99-zz-site.conf").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(r.read("/usr/lib/systemd/journald.conf.d/99-zzz-vendor.conf"), "[Journal]\nRuntimeMaxUse=1G\nSplitMode=uid\n");
    EXPECT_TRUE(std::filesystem::exists(r / "etc/systemd/journald.conf.d/99-zzz-vendor.conf"));
    std::string ours = r.read("/etc/systemd/journald.conf.d/99-plumb.conf");
    EXPECT_NE(ours.find("Storage=persistent\n"), std::string::npos) << ours;
    EXPECT_EQ(ours.find("=\n"), std::string::npos) << "never an empty value:\n" << ours;

    // History lists it; rollback restores the tree exactly (content, modes, owners), journal excepted.
    auto history = run_plumb({"history", "--root", r.path(), "--format", "json"});
    ASSERT_EQ(history.exit_code, 0) << history.err;
    auto h = nlohmann::json::parse(history.out);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0]["id"], tx);
    EXPECT_EQ(h[0]["state"], "committed");
    auto rb = run_plumb({"rollback", tx, "--root", r.path()});
    EXPECT_EQ(rb.exit_code, 0) << rb.out << rb.err;
    auto after = plumb::test::snapshot_tree(r.path(), kSkip);
    before.erase("/var");  // created by the journal (parents of /var/lib/plumb)
    after.erase("/var");
    after.erase("/var/lib");
    EXPECT_EQ(after, before);
}

TEST(Fix, SecondRunPlansNothingAndChangesNothing) {
    TempRoot r;
    noncompliant_image(r);
    run_json(with_rules({"fix", "--root", r.path()}), 0);
    auto between = plumb::test::snapshot_tree(r.path());
    auto second = run_json(with_rules({"fix", "--root", r.path()}), 0);
    EXPECT_TRUE(second["plan"]["files"].empty()) << second.dump(2);
    EXPECT_TRUE(second["plan"]["services"].empty());
    EXPECT_FALSE(second.contains("transaction"));
    for (const auto& [id, status] : statuses(second)) EXPECT_EQ(status, "pass") << id;
    EXPECT_EQ(plumb::test::snapshot_tree(r.path()), between);
}

TEST(Fix, DryRunShowsDiffsAndChangesNothing) {
    TempRoot r;
    noncompliant_image(r);
    auto before = plumb::test::snapshot_tree(r.path());
    auto res = run_plumb(with_rules({"fix", "--dry-run", "--root", r.path()}));
    EXPECT_EQ(res.exit_code, 2) << res.err;  // the rules still fail: nothing was changed
    EXPECT_NE(res.out.find("Plan (dry run: nothing was changed)"), std::string::npos) << res.out;
    EXPECT_NE(res.out.find("create /etc/systemd/journald.conf.d/99-plumb.conf"), std::string::npos) << res.out;
    EXPECT_NE(res.out.find("--- /dev/null\n+++ b/etc/systemd/journald.conf.d/99-plumb.conf\n"), std::string::npos) << res.out;
    EXPECT_NE(res.out.find("+Storage=persistent\n"), std::string::npos) << res.out;
    EXPECT_NE(res.out.find("-Compress=no\n+# disabled by plumb"), std::string::npos) << res.out;
    EXPECT_NE(res.out.find("restart systemd-journald.service"), std::string::npos) << res.out;
    EXPECT_EQ(plumb::test::snapshot_tree(r.path()), before);
    EXPECT_FALSE(std::filesystem::exists(r / "var/lib/plumb"));

    auto j = run_json(with_rules({"fix", "--dry-run", "--root", r.path()}), 2);
    EXPECT_EQ(j["dry_run"], true);
    expect_report_schema(j);
    EXPECT_EQ(j["plan"]["files"].size(), 3u) << j["plan"].dump(2);
    EXPECT_EQ(plumb::test::snapshot_tree(r.path()), before);
}

TEST(Fix, NoSafeChangeIsAnErrorAndChangesNothing) {
    TempRoot r;
    noncompliant_image(r);
    // journald stops reading at this drop-in (unterminated section header): no drop-in after it, plumb's included,
    // would take effect, so no change can make the rules pass and none is made.
    r.write("/etc/systemd/journald.conf.d/50-broken.conf", "[Journal\nStorage=volatile\n");
    auto before = plumb::test::snapshot_tree(r.path());
    auto j = run_json({"fix", "--root", r.path(), "--rule", "journald_storage"}, 2);
    ASSERT_EQ(j["results"].size(), 1u);
    EXPECT_EQ(j["results"][0]["status"], "error") << j.dump(2);
    bool no_safe_change = false;
    for (const auto& reason : j["results"][0]["reasons"]) no_safe_change = no_safe_change || reason["code"] == "no_safe_change";
    EXPECT_TRUE(no_safe_change) << j.dump(2);
    EXPECT_EQ(plumb::test::snapshot_tree(r.path()), before);
}

// A module whose remediation does not achieve what its audit wants (the test module's "write" argument makes it
// write other content): verification fails, the whole transaction — the other rule's file too — is rolled back.
TEST(Fix, RuleThatStillFailsAfterApplyRollsEverythingBack) {
    TempRoot r;
    r.write("/etc/a.conf", "old a", 0600);
    r.write("/etc/b.conf", "old b", 0644);
    r.write("/baseline.json", R"({"id": "sabotage", "version": "1", "title": "t", "rules": [
      {"id": "good", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
       "audit": {"call": "probe.file_equals", "args": {"path": "/etc/a.conf", "content": "new a"}}},
      {"id": "bad", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
       "audit": {"call": "probe.file_equals", "args": {"path": "/etc/b.conf", "content": "new b", "write": "wrong b"}}},
      {"id": "created", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
       "audit": {"call": "probe.file_equals", "args": {"path": "/etc/new.d/c.conf", "content": "c"}}}]})");
    auto before = plumb::test::snapshot_tree(r.path());
    std::vector<std::string> common{"--root", r.path(), "--baseline", r / "baseline.json", "--module-dir",
                                    plumb::test::build_dir() + "/tests/modules/good"};
    std::vector<std::string> fix{"fix"};
    fix.insert(fix.end(), common.begin(), common.end());
    auto j = run_json(fix, 2);
    auto st = statuses(j);
    EXPECT_EQ(st["bad"], "error") << j.dump(2);
    EXPECT_EQ(st["good"], "error");  // its change was rolled back with the rest
    bool rolled_back = false;
    for (const auto& reason : j["results"][1]["reasons"])
        rolled_back = rolled_back || (reason["code"] == "remediation_rolled_back" &&
                                      std::string(reason["phrase"]).find("rule bad still does not pass") != std::string::npos);
    EXPECT_TRUE(rolled_back) << j.dump(2);
    auto after = plumb::test::snapshot_tree(r.path(), kSkip);
    after.erase("/var");
    after.erase("/var/lib");
    EXPECT_EQ(after, before);
    auto history = run_plumb({"history", "--root", r.path(), "--format", "json"});
    auto h = nlohmann::json::parse(history.out);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0]["state"], "rolled_back");
}

TEST(Fix, RollbackWithoutIdUndoesTheLatestCommittedTransaction) {
    TempRoot r;
    noncompliant_image(r);
    auto before = r.read("/etc/systemd/journald.conf.d/99-zz-site.conf");
    run_json({"fix", "--root", r.path(), "--rule", "journald_compress"}, 0);
    EXPECT_NE(r.read("/etc/systemd/journald.conf.d/99-zz-site.conf"), before);
    auto rb = run_plumb({"rollback", "--root", r.path()});
    EXPECT_EQ(rb.exit_code, 0) << rb.err;
    EXPECT_EQ(r.read("/etc/systemd/journald.conf.d/99-zz-site.conf"), before);
    EXPECT_FALSE(std::filesystem::exists(r / "etc/systemd/journald.conf.d/99-plumb.conf"));
    auto again = run_plumb({"rollback", "--root", r.path()});
    EXPECT_EQ(again.exit_code, 1);
    EXPECT_NE(again.err.find("no committed transaction to roll back"), std::string::npos) << again.err;
}

}  // namespace

// A failing rule whose remediation finds nothing left to do, because a rule before it planned the change that fixes
// it, is verified with the planned rules and reported fixed (it used to stay `fail` after a successful fix).
TEST(Fix, RuleCoveredByAnotherRulesChangeIsVerifiedAndReportedFixed) {
    TempRoot r;
    r.write("/etc/os-release", "ID=rhel\nID_LIKE=fedora\n");
    r.write("/etc/systemd/journald.conf", "[Journal]\nStorage=volatile\n", 0644);
    const std::string baseline = r / "two.json";
    std::ofstream(baseline) << R"({"id": "two", "version": "1", "title": "t", "rules": [
      {"id": "first", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
       "audit": {"call": "journald.setting", "args": {"option": "Storage", "equals": "persistent"}}},
      {"id": "second", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
       "audit": {"call": "journald.setting", "args": {"option": "Storage", "equals": "persistent"}}}]})";
    auto fixed = run_json({"fix", "--root", r.path(), "--baseline", baseline}, 0);
    auto s = statuses(fixed);
    EXPECT_EQ(s["first"], "fixed");
    EXPECT_EQ(s["second"], "fixed") << fixed.dump(2);
    EXPECT_EQ(fixed["summary"]["fixed"], 2);
}
