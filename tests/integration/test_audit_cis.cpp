// `plumb audit` with the shipped default baseline (cis) on fixture images: compliant, non-compliant, tricky.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

using plumb::test::run_plumb;
using plumb::test::TempRoot;

namespace {

// A RHEL 9-like image whose journald configuration satisfies every cis rule.
void compliant_image(const TempRoot& r) {
    r.write("/etc/os-release", "NAME=\"Red Hat Enterprise Linux\"\nID=\"rhel\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n");
    r.write("/etc/hostname", "cis-image\n");
    r.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    r.write("/etc/group", "root:x:0:\nsystemd-journal:x:190:\n");
    r.write("/etc/systemd/journald.conf", "#  This file is part of systemd.\n[Journal]\n#Storage=auto\n#Compress=yes\n");
    r.write("/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=volatile\nSystemMaxUse=8G\n");
    r.write("/etc/systemd/journald.conf.d/60-cis.conf",
            "# site policy\n[Journal]\nStorage=persistent\nCompress=yes\nForwardToSyslog=yes\nSystemMaxUse=1G\n"
            "SystemKeepFree=2G\nRuntimeMaxUse=128M\nMaxRetentionSec=6month\n");
    r.mkdir("/var/log/journal", 02755);
    EXPECT_EQ(::chown((r / "var/log/journal").c_str(), 0, 190), 0);
    ::chmod((r / "var/log/journal").c_str(), 02755);
    r.write("/var/log/journal/0123456789abcdef0123456789abcdef/system.journal", "LPKSHHRH", 0640);
    r.write("/usr/lib/systemd/system/systemd-journald.service", "[Unit]\nDescription=Journal Service\n[Service]\nType=notify\n");
    // auditd: the CIS rules files and auditd.conf, the package, the enabled unit, the kernel arguments and a
    // separate /var/log/audit with nodev,nosuid,noexec.
    r.copy_from("auditd/compliant");
    r.copy_from("crypto/compliant");
    r.copy_from("selinux/compliant");
    // firewall: firewalld installed and enabled, public zone with ssh, lo in the trusted zone.
    r.copy_from("firewall/compliant");
    r.symlink("/usr/lib/systemd/system/firewalld.service", "/etc/systemd/system/multi-user.target.wants/firewalld.service");
    r.write("/var/lib/dpkg/status", "Package: audit\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.7-104.el9\n\n"
            "Package: libselinux\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.6-1.el9\n\n"
            "Package: firewalld\nStatus: install ok installed\nArchitecture: all\nVersion: 1.3.4-1.el9\n\n");
    r.write("/usr/lib/systemd/system/auditd.service",
            "[Unit]\nDescription=Security Auditing Service\n[Service]\nType=forking\nExecStart=/sbin/auditd\n"
            "[Install]\nWantedBy=multi-user.target\n");
    r.symlink("/usr/lib/systemd/system/auditd.service", "/etc/systemd/system/multi-user.target.wants/auditd.service");
    r.write("/etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_CMDLINE_LINUX=\"crashkernel=auto audit=1 audit_backlog_limit=8192\"\n");
    r.write("/etc/fstab", "UUID=0a1b / xfs defaults 0 0\nUUID=2c3d /var/log/audit xfs defaults,nodev,nosuid,noexec 0 0\n");
}

nlohmann::json audit_json(const TempRoot& r, std::vector<std::string> extra, int expected_exit) {
    std::vector<std::string> args{"audit", "--root", r.path(), "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto res = run_plumb(args);
    EXPECT_EQ(res.exit_code, expected_exit) << res.out << res.err;
    auto j = nlohmann::json::parse(res.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << res.out << res.err;
    return j;
}

std::map<std::string, nlohmann::json> by_id(const nlohmann::json& report) {
    std::map<std::string, nlohmann::json> m;
    for (const auto& r : report["results"]) m[r["id"]] = r;
    return m;
}

TEST(AuditCis, DefaultBaselineIsCisAndCompliantImagePasses) {
    TempRoot r;
    compliant_image(r);
    auto j = audit_json(r, {}, 0);
    EXPECT_EQ(j["baseline"]["id"], "cis");
    EXPECT_EQ(j["host"]["name"], "cis-image");
    for (const auto& res : j["results"]) EXPECT_EQ(res["status"], "pass") << res.dump(2);
    auto results = by_id(j);
    EXPECT_EQ(results["journald_storage"]["references"]["ssg"], "journald_storage");
    EXPECT_EQ(results["service_systemd_journald_enabled"]["references"]["ssg"], "service_systemd-journald_enabled");
}

TEST(AuditCis, NonCompliantImageFailsWithExpectedActualAndSource) {
    TempRoot r;
    compliant_image(r);
    // A later drop-in undoes the site policy; /var/log/journal is world-writable.
    r.write("/etc/systemd/journald.conf.d/90-local.conf", "[Journal]\nStorage=volatile\nCompress=no\nSystemMaxUse=3G\n");
    ::chmod((r / "var/log/journal").c_str(), 0777);
    auto j = audit_json(r, {}, 2);
    auto results = by_id(j);
    const auto& storage = results["journald_storage"];
    EXPECT_EQ(storage["status"], "fail");
    std::string phrase = storage["reasons"][0]["phrase"];
    EXPECT_EQ(storage["reasons"][0]["code"], "value_mismatch");
    EXPECT_NE(phrase.find("persistent"), std::string::npos) << phrase;
    EXPECT_NE(phrase.find("volatile"), std::string::npos) << phrase;
    EXPECT_NE(phrase.find("/etc/systemd/journald.conf.d/90-local.conf:2"), std::string::npos) << phrase;
    EXPECT_EQ(results["journald_compress"]["status"], "fail");
    EXPECT_EQ(results["journald_system_max_use"]["status"], "fail");
    EXPECT_EQ(results["journald_log_directory"]["status"], "fail");
    EXPECT_EQ(results["journald_log_directory"]["reasons"][0]["code"], "mode_too_permissive");
    EXPECT_EQ(results["journald_forward_to_syslog"]["status"], "pass");
    EXPECT_EQ(j["summary"]["fail"], 4);
}

TEST(AuditCis, AuditdRulesReportKeyMismatchAndSource) {
    TempRoot r;
    compliant_image(r);
    // The identity watches under CIS's key name instead of the profile's, max_log_file too small, -e 2 undone.
    r.write("/etc/audit/rules.d/50-identity.rules",
            "-w /etc/group -p wa -k identity\n-w /etc/passwd -p wa -k identity\n-w /etc/gshadow -p wa -k identity\n"
            "-w /etc/shadow -p wa -k identity\n-w /etc/security/opasswd -p wa -k identity\n");
    r.write("/etc/audit/rules.d/99-finalize.rules", "-e 1\n");
    r.write("/etc/audit/auditd.conf", "max_log_file = 4\nmax_log_file_action = keep_logs\nspace_left_action = email\n"
                                      "admin_space_left_action = halt\n");
    auto j = audit_json(r, {}, 2);
    auto results = by_id(j);
    const auto& passwd = results["audit_rules_usergroup_modification_passwd"];
    EXPECT_EQ(passwd["status"], "fail");
    EXPECT_EQ(passwd["reasons"][0]["code"], "key_mismatch") << passwd.dump(2);
    std::string phrase = passwd["reasons"][0]["phrase"];
    EXPECT_NE(phrase.find("/etc/audit/rules.d/50-identity.rules:2 (key \"identity\")"), std::string::npos) << phrase;
    EXPECT_EQ(results["audit_rules_immutable"]["status"], "fail");
    EXPECT_EQ(results["auditd_data_retention_max_log_file"]["reasons"][0]["phrase"],
              "max_log_file = 4 at /etc/audit/auditd.conf:1; expected at least 6");
    EXPECT_EQ(results["auditd_data_retention_action_mail_acct"]["status"], "pass");  // auditd's default is root
    EXPECT_EQ(results["auditd_data_disk_full_action"]["status"], "fail");  // auditd's default is suspend
    EXPECT_EQ(results["auditd_data_disk_error_action"]["status"], "pass");  // auditd's default syslog is allowed
    EXPECT_EQ(j["summary"]["fail"], 8);  // 5 identity watches, -e, max_log_file, disk_full_action
}

TEST(AuditCis, EmptyImageReportsSystemdDefaults) {
    TempRoot r;
    r.write("/etc/os-release", "ID=rhel\n");
    auto j = audit_json(r, {}, 2);
    auto results = by_id(j);
    const auto& storage = results["journald_storage"];
    EXPECT_EQ(storage["status"], "fail");
    EXPECT_EQ(storage["reasons"][0]["code"], "not_set_default");
    EXPECT_NE(std::string(storage["reasons"][0]["phrase"]).find("systemd default"), std::string::npos);
    EXPECT_EQ(results["journald_compress"]["status"], "pass");  // Compress=yes is the default
    EXPECT_EQ(results["service_systemd_journald_enabled"]["status"], "fail");  // no unit file in this image
}

TEST(AuditCis, TailoringAdaptsSitePolicy) {
    TempRoot r;
    compliant_image(r);
    r.write("/etc/systemd/journald.conf.d/90-local.conf", "[Journal]\nForwardToSyslog=no\nSystemMaxUse=3G\n");
    r.write("/tailoring.json", R"({
      "tailoring": {"id": "journald_only", "baseline": "cis"},
      "values": {"journald_forward_to_syslog": {"forward": false}, "journald_system_max_use": {"max": "4G"}}
    })");
    auto j = audit_json(r, {"--tailoring", r / "tailoring.json"}, 0);
    auto results = by_id(j);
    EXPECT_EQ(results["journald_forward_to_syslog"]["status"], "pass");
    EXPECT_EQ(results["journald_forward_to_syslog"]["parameters"]["forward"], false);
    EXPECT_EQ(results["journald_system_max_use"]["status"], "pass");

    r.write("/bad-tailoring.json", R"({"tailoring": {"id": "t", "baseline": "cis"},
      "values": {"journald_system_max_use": {"max": "lots"}}})");
    auto bad = run_plumb({"audit", "--root", r.path(), "--tailoring", r / "bad-tailoring.json"});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find(r / "bad-tailoring.json"), std::string::npos) << bad.err;
    EXPECT_NE(bad.err.find("/values/journald_system_max_use/max"), std::string::npos) << bad.err;
}

TEST(AuditCis, SymlinkEscapesInTheImageStayInside) {
    // An image whose drop-in is an absolute symlink to a host path must be read as the image's own path.
    TempRoot host_side;
    host_side.write("/evil.conf", "[Journal]\nStorage=persistent\n");
    TempRoot r;
    compliant_image(r);
    r.write("/etc/systemd/journald.conf.d/60-cis.conf", "[Journal]\nStorage=volatile\n");
    r.symlink(host_side / "evil.conf", "/etc/systemd/journald.conf.d/70-link.conf");
    auto j = audit_json(r, {"--rule", "journald_storage"}, 2);
    EXPECT_EQ(j["results"][0]["status"], "fail") << j.dump(2);
}

TEST(AuditCis, ShippedBaselineValidates) {
    auto res = run_plumb({"baseline", "validate", plumb::test::source_dir() + "/baselines/cis.json"});
    EXPECT_EQ(res.exit_code, 0) << res.err;
    auto rules = run_plumb({"rules", "--format", "json"});
    ASSERT_EQ(rules.exit_code, 0);
    auto j = nlohmann::json::parse(rules.out);
    EXPECT_EQ(j["baseline"]["id"], "cis");
    for (const auto& rule : j["rules"]) {
        EXPECT_TRUE(rule["references"].contains("cis")) << rule["id"];
    }
}


// sfi: Azure Linux secure defaults. Its own rules say where they come from; the rules it shares with cis are
// imported, so the cis-compliant image passes those and fails only what SFI adds (FIPS, a stricter firewall).
TEST(AuditSfi, ShippedBaselineImportsCisAndSaysWhereEachRuleComesFrom) {
    auto res = run_plumb({"baseline", "validate", plumb::test::source_dir() + "/baselines/sfi.json"});
    EXPECT_EQ(res.exit_code, 0) << res.err;
    auto rules = run_plumb({"rules", "--baseline", "sfi", "--format", "json"});
    ASSERT_EQ(rules.exit_code, 0) << rules.err;
    auto j = nlohmann::json::parse(rules.out);
    EXPECT_EQ(j["baseline"]["id"], "sfi");
    size_t own = 0, imported = 0;
    for (const auto& rule : j["rules"]) {
        const std::string id = rule["id"];
        if (id.starts_with("sfi_")) {
            ++own;
            EXPECT_TRUE(rule["references"].contains("sfi")) << id;
        } else {
            ++imported;
            EXPECT_TRUE(rule["references"].contains("cis")) << id;
        }
    }
    EXPECT_EQ(own, 10u);
    EXPECT_GE(imported, 60u);
}

TEST(AuditSfi, CisCompliantImageFailsOnlyWhatSfiAdds) {
    TempRoot r;
    compliant_image(r);
    auto j = audit_json(r, {"--baseline", "sfi"}, 2);
    EXPECT_EQ(j["baseline"]["id"], "sfi");
    auto results = by_id(j);
    for (const auto& [id, res] : results) {
        if (!id.starts_with("sfi_")) EXPECT_EQ(res["status"], "pass") << res.dump(2);
    }
    EXPECT_EQ(results["sfi_firewalld_nftables_backend"]["status"], "pass");
    EXPECT_EQ(results["sfi_firewalld_default_zone"]["status"], "pass");
    EXPECT_EQ(results["sfi_firewalld_deny_inbound"]["status"], "pass") << results["sfi_firewalld_deny_inbound"].dump(2);
    EXPECT_EQ(results["sfi_firewall_running"]["status"], "notapplicable");  // an image: nothing runs
    EXPECT_EQ(results["sfi_fips_kernel_argument"]["status"], "fail");
    EXPECT_EQ(results["sfi_crypto_policy_fips"]["status"], "fail");
}

}  // namespace
