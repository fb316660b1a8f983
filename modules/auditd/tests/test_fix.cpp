// plumb fix end to end on auditd fixture images: every auditd rule of cis is fixed, the audit passes afterwards, a
// second fix plans nothing and plumb rollback restores the tree exactly. Also the edits themselves: auditd.conf on
// the lines concerned, one plumb rules file, -e 2 last, audit.rules without rules.d.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

#include "plumb/plan.hpp"
#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::run_plumb;
using plumb::test::run_plumb_json;
using plumb::test::statuses;
using plumb::test::snapshot_tree;
using plumb::test::TempRoot;

namespace {

void collect_calls(const json& e, std::set<std::string>& calls) {
    if (e.is_object()) {
        if (e.contains("call")) calls.insert(e["call"].get<std::string>());
        for (const auto& [k, v] : e.items()) collect_calls(v, calls);
    } else if (e.is_array()) {
        for (const auto& v : e) collect_calls(v, calls);
    }
}

// Every rule of the shipped cis baseline that calls the auditd module, read from the baseline itself.
std::vector<std::string> cis_auditd_rules() {
    std::ifstream in(plumb::test::source_dir() + "/baselines/cis.json");
    json baseline = json::parse(in, nullptr, true, true);
    std::vector<std::string> ids;
    for (const auto& rule : baseline["rules"]) {
        std::set<std::string> calls;
        collect_calls(rule["audit"], calls);
        for (const auto& c : calls)
            if (c.starts_with("auditd.")) {
                ids.push_back(rule["id"]);
                break;
            }
    }
    return ids;
}

std::vector<std::string> with_rules(std::vector<std::string> args, const std::vector<std::string>& rules) {
    for (const auto& r : rules) {
        args.push_back("--rule");
        args.push_back(r);
    }
    args.push_back("--format");
    args.push_back("json");
    return args;
}



const char* const kRhelUnit =
    "[Unit]\nDescription=Security Auditing Service\n[Service]\nType=forking\nExecStart=/sbin/auditd\n"
    "ExecReload=/bin/kill -HUP $MAINPID\nRefuseManualStop=yes\n[Install]\nWantedBy=multi-user.target\n";

void noncompliant_image(const TempRoot& r) {
    r.copy_from("auditd/noncompliant");
    r.write("/etc/os-release", "ID=rhel\nID_LIKE=fedora\n");
    r.write("/usr/lib/systemd/system/auditd.service", kRhelUnit);
}

// The rollback check: the journal under /var/lib/plumb (and the /var, /var/lib it creates) is not the image.
void expect_restored(const TempRoot& r, std::map<std::string, std::string> before, const std::string& tx) {
    auto rb = run_plumb({"rollback", tx, "--root", r.path()});
    EXPECT_EQ(rb.exit_code, 0) << rb.out << rb.err;
    auto after = snapshot_tree(r.path(), {"/var/lib/plumb"});
    for (const char* created : {"/var", "/var/lib"})
        if (!before.contains(created)) after.erase(created);
    EXPECT_EQ(after, before);
}

}  // namespace

TEST(AuditdFix, EveryCisAuditdRuleIsFixedAuditedAndRolledBackExactly) {
    const auto ids = cis_auditd_rules();
    ASSERT_GE(ids.size(), 45u) << "the cis baseline lost its auditd rules";
    TempRoot r;
    noncompliant_image(r);
    const auto before = snapshot_tree(r.path());

    auto pre = run_plumb_json(with_rules({"audit", "--root", r.path()}, ids), 2);
    std::size_t failing = 0;
    for (const auto& [id, status] : statuses(pre)) failing += status == "fail";
    EXPECT_GE(failing, 40u) << pre.dump(2);

    auto fixed = run_plumb_json(with_rules({"fix", "--root", r.path()}, ids), 0);
    ASSERT_EQ(statuses(fixed).size(), ids.size());
    for (const auto& [id, status] : statuses(fixed)) EXPECT_TRUE(status == "fixed" || status == "pass") << id << ": " << fixed.dump(2);
    EXPECT_EQ(statuses(fixed)["audit_rules_immutable"], "fixed");
    EXPECT_EQ(statuses(fixed)["auditd_data_retention_max_log_file"], "fixed");
    ASSERT_TRUE(fixed.contains("transaction")) << fixed.dump(2);
    // RHEL's unit refuses restarts but reloads (SIGHUP): auditd.conf is re-read that way. Offline: reported only.
    ASSERT_EQ(fixed["plan"]["services"].size(), 1u) << fixed["plan"].dump(2);
    EXPECT_EQ(fixed["plan"]["services"][0]["unit"], "auditd.service");
    EXPECT_EQ(fixed["plan"]["services"][0]["action"], "reload");
    EXPECT_TRUE(fixed["plan"]["live_actions"].empty()) << "offline: nothing is loaded into this machine's kernel";

    auto audit = run_plumb_json(with_rules({"audit", "--root", r.path()}, ids), 0);
    for (const auto& [id, status] : statuses(audit)) EXPECT_EQ(status, "pass") << id;

    // auditd.conf: the lines concerned changed in place, the missing one appended, the rest byte for byte.
    EXPECT_EQ(r.read("/etc/audit/auditd.conf"),
              "log_file = /var/log/audit/audit.log\nmax_log_file = 6\nmax_log_file_action = keep_logs\n"
              "space_left_action = email\naction_mail_acct = root\ndisk_full_action = halt\nadmin_space_left_action = halt\n");
    // The site's rules file is untouched (its -w /etc/group with key "identity" stays beside plumb's keyed rule).
    std::ifstream site(plumb::test::source_dir() + "/tests/fixtures/auditd/noncompliant/etc/audit/rules.d/50-cis.rules");
    EXPECT_EQ(r.read("/etc/audit/rules.d/50-cis.rules"), std::string(std::istreambuf_iterator<char>(site), {}));
    const std::string ours = r.read("/etc/audit/rules.d/50-plumb.rules");
    EXPECT_TRUE(ours.starts_with("## Written by plumb")) << ours;
    EXPECT_NE(ours.find("\n-w /etc/group -p wa -k audit_rules_usergroup_modification\n"), std::string::npos) << ours;
    EXPECT_NE(ours.find("\n-a always,exit -F arch=b32 -S chown -F auid>=1000 -F auid!=-1 -F key=perm_mod\n"), std::string::npos) << ours;
    // sorted, one rule per line, no duplicates
    std::vector<std::string> lines;
    for (std::size_t s = 0; s < ours.size();) {
        auto nl = ours.find('\n', s);
        std::string l = ours.substr(s, nl - s);
        if (!l.starts_with("#")) lines.push_back(l);
        s = nl + 1;
    }
    EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end())) << ours;
    EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), lines.size()) << ours;
    EXPECT_EQ(r.read("/etc/audit/rules.d/99-finalize.rules"),
              "## Written by plumb (plumb fix): make the audit configuration immutable (until reboot).\n-e 2\n");

    // A second fix plans nothing and changes nothing.
    auto between = snapshot_tree(r.path());
    auto second = run_plumb_json(with_rules({"fix", "--root", r.path()}, ids), 0);
    EXPECT_TRUE(second["plan"]["files"].empty()) << second["plan"].dump(2);
    EXPECT_TRUE(second["plan"]["services"].empty()) << second["plan"].dump(2);
    EXPECT_TRUE(second["plan"]["notices"].empty()) << second["plan"].dump(2);
    EXPECT_FALSE(second.contains("transaction"));
    for (const auto& [id, status] : statuses(second)) EXPECT_EQ(status, "pass") << id;
    EXPECT_EQ(snapshot_tree(r.path()), between);

    expect_restored(r, before, fixed["transaction"]);
}

TEST(AuditdFix, WithoutRulesDTheRulesGoIntoAuditRulesBeforeTheFinalEnable) {
    TempRoot r;
    r.copy_from("auditd/audit-rules-only");
    const auto before = snapshot_tree(r.path());
    const std::vector<std::string> ids = {"audit_rules_usergroup_modification_passwd", "audit_rules_usergroup_modification_shadow",
                                          "audit_rules_time_adjtimex", "audit_rules_immutable",
                                          "auditd_data_retention_max_log_file", "auditd_data_retention_space_left_action"};
    auto fixed = run_plumb_json(with_rules({"fix", "--root", r.path()}, ids), 0);
    auto st = statuses(fixed);
    EXPECT_EQ(st["audit_rules_usergroup_modification_passwd"], "pass");
    EXPECT_EQ(st["audit_rules_immutable"], "pass");
    EXPECT_EQ(st["audit_rules_usergroup_modification_shadow"], "fixed") << fixed.dump(2);
    EXPECT_EQ(st["audit_rules_time_adjtimex"], "fixed") << fixed.dump(2);  // key "time" is not "audit_time_rules"
    EXPECT_EQ(st["auditd_data_retention_space_left_action"], "fixed") << fixed.dump(2);
    EXPECT_FALSE(std::filesystem::exists(r / "etc/audit/rules.d")) << "rules.d would switch the image to augenrules";
    EXPECT_EQ(r.read("/etc/audit/audit.rules"),
              "## audit.rules loaded directly by auditctl -R (no rules.d)\n-D\n-b 8192\n"
              "-w /etc/passwd -p wa -k audit_rules_usergroup_modification\n-a always,exit -F arch=b64 -S adjtimex -k time\n"
              "-a always,exit -F arch=b32 -S adjtimex -F key=audit_time_rules\n"  // planned in baseline order
              "-a always,exit -F arch=b64 -S adjtimex -F key=audit_time_rules\n"
              "-w /etc/shadow -p wa -k audit_rules_usergroup_modification\n"
              "\n## lock the configuration\n-e 2\n");
    // the key_mismatch is said in the plan: the site's rule stays
    bool said = false;
    for (const auto& f : fixed["plan"]["files"])
        for (const auto& why : f["why"]) said = said || why.get<std::string>().find("the site's rule at /etc/audit/audit.rules:5 (key \"time\") is left as it is") != std::string::npos;
    EXPECT_TRUE(said) << fixed["plan"].dump(2);
    EXPECT_EQ(r.read("/etc/audit/auditd.conf"), "# site auditd.conf\nlog_file = /var/log/audit/audit.log\nmax_log_file = 8\nspace_left_action = email\n");
    // no auditd.service in the image: nothing to reload, the plan says auditd reads the file when it starts
    EXPECT_TRUE(fixed["plan"]["services"].empty());
    ASSERT_EQ(fixed["plan"]["notices"].size(), 1u) << fixed["plan"].dump(2);
    EXPECT_EQ(fixed["plan"]["notices"][0]["kind"], "restart_required");

    auto audit = run_plumb_json(with_rules({"audit", "--root", r.path()}, ids), 0);
    for (const auto& [id, status] : statuses(audit)) EXPECT_EQ(status, "pass") << id;
    expect_restored(r, before, fixed["transaction"]);
}

TEST(AuditdFix, ALaterEnableIsCommentedOutAndDebianUnitGetsNoReload) {
    TempRoot r;
    noncompliant_image(r);
    // Debian's unit: no ExecReload, so `systemctl reload` would fail.
    r.write("/usr/lib/systemd/system/auditd.service",
            "[Unit]\nDescription=Security Auditing Service\n[Service]\nType=forking\nExecStart=/sbin/auditd\n"
            "ExecStartPost=-/sbin/augenrules --load\n");
    // sorts after 99-finalize.rules in ls -v order: its -e would be the one augenrules keeps
    r.write("/etc/audit/rules.d/zz-site.rules", "# site\n-e 1\n-w /etc/hosts -p wa -k site\n", 0600);
    const auto before = snapshot_tree(r.path());
    const std::vector<std::string> ids = {"audit_rules_immutable", "auditd_data_retention_space_left_action"};
    auto fixed = run_plumb_json(with_rules({"fix", "--root", r.path()}, ids), 0);
    for (const auto& [id, status] : statuses(fixed)) EXPECT_EQ(status, "fixed") << id << fixed.dump(2);
    EXPECT_EQ(r.read("/etc/audit/rules.d/zz-site.rules"),
              "# site\n## disabled by plumb (-e is set in /etc/audit/rules.d/99-finalize.rules): -e 1\n-w /etc/hosts -p wa -k site\n");
    EXPECT_TRUE(fixed["plan"]["services"].empty()) << fixed["plan"].dump(2);
    ASSERT_EQ(fixed["plan"]["notices"].size(), 1u) << fixed["plan"].dump(2);
    EXPECT_EQ(fixed["plan"]["notices"][0]["kind"], "restart_required");
    EXPECT_NE(fixed["plan"]["notices"][0]["phrase"].get<std::string>().find("has no ExecReload"), std::string::npos);
    auto audit = run_plumb_json(with_rules({"audit", "--root", r.path()}, ids), 0);
    for (const auto& [id, status] : statuses(audit)) EXPECT_EQ(status, "pass") << id;
    expect_restored(r, before, fixed["transaction"]);
}

// rules_control is not in cis: planned through the module host directly.
TEST(AuditdFix, ControlsGoIntoPlumbsFileAndALaterBacklogIsNeutralised) {
    TempRoot r;
    r.copy_from("auditd/noncompliant");
    r.write("/etc/audit/rules.d/60-site.rules", "-b 100\n-a always,exit -F arch=b64 -S mount -k mounts\n");
    ModuleHarness h(r.path());
    const json args = {{"option", "backlog"}, {"at_least", 8192}};
    EXPECT_EQ(h.run("auditd.rules_control", args).status, Status::fail);
    plumb::Plan plan;
    auto o = h.context().remediate("auditd", "rules_control", args, plan, "backlog");
    ASSERT_EQ(o.status, Status::fail) << describe(o);
    const auto* ours = plan.file("/etc/audit/rules.d/50-plumb.rules");
    ASSERT_NE(ours, nullptr);
    EXPECT_NE(ours->content->find("\n-b 8192\n"), std::string::npos) << *ours->content;
    const auto* site = plan.file("/etc/audit/rules.d/60-site.rules");
    ASSERT_NE(site, nullptr);
    EXPECT_EQ(*site->content, "## disabled by plumb (-b is set in /etc/audit/rules.d/50-plumb.rules): -b 100\n"
                              "-a always,exit -F arch=b64 -S mount -k mounts\n");
    // planning again with a new value replaces plumb's own -b line instead of adding a second one
    auto again = h.context().remediate("auditd", "rules_control", {{"option", "backlog"}, {"equals", 16384}}, plan, "backlog");
    ASSERT_EQ(again.status, Status::fail) << describe(again);
    const std::string& text = *plan.file("/etc/audit/rules.d/50-plumb.rules")->content;
    EXPECT_EQ(text.find("-b 8192"), std::string::npos) << text;
    EXPECT_NE(text.find("\n-b 16384\n"), std::string::npos) << text;
}

TEST(AuditdFix, NoSafeChangeWhenAuditdRefusesTheFileForAnotherLine) {
    TempRoot r;
    r.write("/etc/audit/auditd.conf", "max_log_file = 4\nbogus_keyword = 1\n");
    ModuleHarness h(r.path());
    plumb::Plan plan;
    auto o = h.context().remediate("auditd", "setting", {{"key", "max_log_file"}, {"at_least", 6}}, plan, "r");
    EXPECT_EQ(o.status, Status::error) << describe(o);
    bool no_safe_change = false;
    for (const auto& reason : o.reasons) no_safe_change = no_safe_change || reason.code == "no_safe_change";
    EXPECT_TRUE(no_safe_change) << describe(o);
}

TEST(AuditdFix, SettingValuesWrittenForEachKindOfExpectation) {
    TempRoot r;
    r.write("/etc/audit/auditd.conf", "# site\nnum_logs = 2\nlog_group = adm\n", 0640);
    ModuleHarness h(r.path());
    plumb::Plan plan;
    auto plan_for = [&](const json& args) {
        auto o = h.context().remediate("auditd", "setting", args, plan, "r");
        EXPECT_EQ(o.status, Status::fail) << args.dump() << describe(o);
    };
    plan_for({{"key", "num_logs"}, {"at_least", 5}, {"at_most", 9}});
    plan_for({{"key", "log_group"}, {"equals", 0}});
    plan_for({{"key", "flush"}, {"one_of", {"incremental_async", "sync"}}});
    plan_for({{"key", "admin_space_left"}, {"at_least", 50}});  // the default 0 does not satisfy it
    EXPECT_EQ(*plan.file("/etc/audit/auditd.conf")->content,
              "# site\nnum_logs = 9\nlog_group = 0\nflush = incremental_async\nadmin_space_left = 50\n");
    // already compliant after the plan: nothing more
    auto o = h.context().remediate("auditd", "setting", {{"key", "num_logs"}, {"at_least", 5}}, plan, "r");
    EXPECT_EQ(o.status, Status::pass) << describe(o);
}
