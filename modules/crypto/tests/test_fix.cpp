// plumb fix end to end on the crypto fixtures: non-compliant image -> fix -> audit passes -> rollback restores the tree
// byte for byte; an image with generated back-ends is refused offline; the FIPS kernel remediation only plans notices.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "plumb/plan.hpp"
#include "plumb_test.hpp"

using plumb::test::run_plumb;
using plumb::test::statuses;
using plumb::test::snapshot_tree;
using plumb::test::TempRoot;

namespace {

const std::vector<std::string> kRules = {"configure_crypto_policy",    "configure_ssh_crypto_policy", "crypto_policy_no_sha1",
                                         "crypto_policy_no_weak_macs", "crypto_policy_no_ssh_cbc",    "crypto_policy_no_ssh_weak_macs"};
const std::vector<std::string> kSkip = {"/var/lib/plumb"};

nlohmann::json run_json(std::vector<std::string> args, int expected_exit) {
    for (const auto& r : kRules) {
        args.push_back("--rule");
        args.push_back(r);
    }
    args.push_back("--format");
    args.push_back("json");
    return plumb::test::run_plumb_json(args, expected_exit);
}


bool has_notice(const nlohmann::json& report, const std::string& kind, const std::string& part) {
    for (const auto& n : report["plan"]["notices"])
        if (n["kind"] == kind && std::string(n["phrase"]).find(part) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST(CryptoFix, NonCompliantImageIsFixedAndRolledBackExactly) {
    TempRoot r;
    r.copy_from("crypto/noncompliant");
    r.write("/etc/os-release", "ID=rhel\nID_LIKE=fedora\n");
    r.mkdir("/var/lib");  // plumb's journal goes under it; the rollback keeps the journal, not the image
    const auto before = snapshot_tree(r.path(), kSkip);

    auto audit = run_json({"audit", "--root", r.path()}, 2);
    for (const auto& [id, st] : statuses(audit)) EXPECT_EQ(st, "fail") << id;
    ASSERT_EQ(statuses(audit).size(), kRules.size());

    auto fix = run_json({"fix", "--root", r.path()}, 0);
    for (const auto& [id, st] : statuses(fix)) EXPECT_EQ(st, "fixed") << id << "\n" << fix.dump(2);
    // No back-ends generated in this image yet: applying the policy is left to update-crypto-policies at boot.
    EXPECT_TRUE(has_notice(fix, "manual_step", "update-crypto-policies")) << fix["plan"].dump(2);
    bool sshd_restart = false;
    for (const auto& s : fix["plan"]["services"]) sshd_restart = sshd_restart || (s["unit"] == "sshd.service" && s["action"] == "try-restart");
    EXPECT_TRUE(sshd_restart) << fix["plan"].dump(2);

    // The configuration keeps its comment header; the modules plumb authored or completed are there.
    const std::string config = r.read("/etc/crypto-policies/config");
    EXPECT_TRUE(config.starts_with("# Set by the image build\n")) << config;
    auto parsed_line = config.substr(config.find('\n') + 1);
    EXPECT_TRUE(parsed_line.starts_with("DEFAULT:")) << config;
    for (const char* s : {"NO-SHA1", "NO-WEAKMAC", "NO-SSHCBC", "NO-SSHWEAKMACS"}) EXPECT_NE(config.find(s), std::string::npos) << config;
    EXPECT_EQ(r.read("/etc/crypto-policies/policies/modules/NO-SSHCBC.pmod"),
              "# only the one the auditors found\ncipher@SSH = -AES-128-CBC\n"
              "# Added by plumb (plumb fix): disables CBC ciphers for SSH.\ncipher@SSH = -*-CBC\n");
    EXPECT_NE(r.read("/etc/crypto-policies/policies/modules/NO-WEAKMAC.pmod").find("\nmac = -*-64\n"), std::string::npos);
    // NO-SHA1 ships in /usr/share and already does its job: no local copy.
    EXPECT_FALSE(std::filesystem::exists(r / "etc/crypto-policies/policies/modules/NO-SHA1.pmod"));
    // sshd: only the offending lines changed, turned into comments.
    EXPECT_EQ(r.read("/etc/ssh/sshd_config"),
              "# disabled by plumb (sshd follows the system crypto policy): Ciphers aes128-cbc,aes256-ctr\n"
              "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n");
    EXPECT_EQ(r.read("/etc/ssh/sshd_config.d/40-legacy.conf"),
              "# legacy clients\n# disabled by plumb (sshd follows the system crypto policy): MACs hmac-md5,hmac-sha1\nUsePAM yes\n"
              "# disabled by plumb (sshd follows the system crypto policy):   kexalgorithms=diffie-hellman-group1-sha1\n");
    EXPECT_EQ(r.read("/etc/sysconfig/sshd").find("\nCRYPTO_POLICY="), std::string::npos);

    auto after = run_json({"audit", "--root", r.path()}, 0);
    for (const auto& [id, st] : statuses(after)) EXPECT_EQ(st, "pass") << id << "\n" << after.dump(2);
    // Idempotent: nothing left to plan.
    auto again = run_json({"fix", "--root", r.path()}, 0);
    EXPECT_TRUE(again["plan"]["files"].empty()) << again["plan"].dump(2);

    auto rb = run_plumb({"rollback", "--root", r.path()});
    ASSERT_EQ(rb.exit_code, 0) << rb.out << rb.err;
    EXPECT_EQ(snapshot_tree(r.path(), kSkip), before);
}

TEST(CryptoFix, GeneratedBackendsOfflineAreNotTouched) {
    // The image's back-ends were generated for LEGACY: rewriting only the configuration would leave it out of force.
    TempRoot r;
    r.copy_from("crypto/noncompliant");
    r.write("/etc/os-release", "ID=rhel\n");
    r.write("/etc/crypto-policies/state/current", "LEGACY\n");
    const auto before = snapshot_tree(r.path(), kSkip);
    auto res = run_plumb({"fix", "--root", r.path(), "--rule", "configure_crypto_policy", "--format", "json"});
    EXPECT_EQ(res.exit_code, 2) << res.out << res.err;
    auto j = nlohmann::json::parse(res.out);
    const auto& rule = j["results"][0];
    EXPECT_EQ(rule["status"], "error") << rule.dump(2);
    bool reason = false;
    for (const auto& x : rule["reasons"])
        reason = reason || (x["code"] == "apply_needs_live_host" &&
                            std::string(x["phrase"]).find("generated for LEGACY") != std::string::npos);
    EXPECT_TRUE(reason) << rule.dump(2);
    EXPECT_EQ(snapshot_tree(r.path(), kSkip), before);
}

TEST(CryptoFix, FipsKernelRemediationPlansNoticesOnly) {
    // Live (the real /proc): on a host without FIPS mode the plan is a reboot, an initramfs rebuild and the manual
    // kernel-argument step; nothing is written and fips-mode-setup is never run.
    plumb::test::ModuleHarness live("/", true);
    plumb::Plan plan;
    auto o = live.context().remediate("crypto", "fips_kernel", nlohmann::json::object(), plan, "fips_kernel_rule");
    auto audit = live.run("crypto.fips_kernel", nlohmann::json::object());
    if (audit.status == plumb::Status::pass) {
        EXPECT_EQ(o.status, plumb::Status::pass);
        return;
    }
    EXPECT_EQ(o.status, plumb::Status::fail) << plumb::test::describe(o);
    EXPECT_TRUE(plan.files.empty());
    EXPECT_TRUE(plan.live_actions.empty());
    std::set<std::string> kinds;
    for (const auto& n : plan.notices) kinds.insert(n.kind);
    EXPECT_EQ(kinds, (std::set<std::string>{PLUMB_NOTICE_REBOOT_REQUIRED, PLUMB_NOTICE_INITRAMFS_REBUILD, PLUMB_NOTICE_MANUAL_STEP}));
}

TEST(CryptoFix, LiveActionRunsOnlyUpdateCryptoPolicies) {
    // The payload names the program, but the module runs nothing except update-crypto-policies at its known paths.
    plumb::test::ModuleHarness live("/", true);
    plumb::PlannedLiveAction shell{"crypto", "update_crypto_policies", "x", {{"path", "/bin/sh"}, {"argv", {"update-crypto-policies", "-c", "true"}}}, nullptr, "r"};
    auto o = live.context().apply_live(shell, false);
    EXPECT_NE(o.status, plumb::Status::pass) << plumb::test::describe(o);
    bool refused = false;
    for (const auto& r : o.reasons) refused = refused || (r.code == "refused" && r.phrase.find("/bin/sh") != std::string::npos);
    EXPECT_TRUE(refused) << plumb::test::describe(o);
    plumb::PlannedLiveAction argv{"crypto", "update_crypto_policies", "x",
                                  {{"path", "/usr/bin/update-crypto-policies"}, {"argv", {"fips-mode-setup", "--enable"}}}, nullptr, "r"};
    EXPECT_NE(live.context().apply_live(argv, false).status, plumb::Status::pass);
    // On this host the tool is not installed: the action fails with the exec error (127), it is not skipped.
    struct stat st{};
    if (::stat("/usr/bin/update-crypto-policies", &st) != 0) {
        plumb::PlannedLiveAction real{"crypto", "update_crypto_policies", "x",
                                      {{"path", "/usr/bin/update-crypto-policies"}, {"argv", {"update-crypto-policies", "--no-reload"}}}, nullptr, "r"};
        auto res = live.context().apply_live(real, false);
        EXPECT_NE(res.status, plumb::Status::pass);
        bool exit127 = false;
        for (const auto& r : res.reasons) exit127 = exit127 || (r.code == "tool_failed" && r.phrase.find("exited with 127") != std::string::npos);
        EXPECT_TRUE(exit127) << plumb::test::describe(res);
    }
}

TEST(CryptoFix, LivePlanWithoutUpdateToolAsksForTheManualStep) {
    // Plans against this host (nothing is applied): Debian has neither crypto-policies nor update-crypto-policies.
    struct stat st{};
    if (::stat("/etc/crypto-policies", &st) == 0 || ::stat("/usr/bin/update-crypto-policies", &st) == 0)
        GTEST_SKIP() << "this host has crypto-policies";
    plumb::test::ModuleHarness live("/", true);
    plumb::Plan plan;
    auto o = live.context().remediate("crypto", "subpolicy", {{"name", "NO-SSHCBC"}, {"effect", "no_ssh_cbc"}}, plan, "r");
    EXPECT_EQ(o.status, plumb::Status::fail) << plumb::test::describe(o);
    const plumb::PlannedFile* config = plan.file("/etc/crypto-policies/config");
    ASSERT_NE(config, nullptr);
    ASSERT_TRUE(config->content.has_value());
    EXPECT_TRUE(config->content->ends_with("\nDEFAULT:NO-SSHCBC\n")) << *config->content;
    EXPECT_TRUE(config->content->starts_with("# System-wide crypto policy")) << *config->content;
    const plumb::PlannedFile* module = plan.file("/etc/crypto-policies/policies/modules/NO-SSHCBC.pmod");
    ASSERT_NE(module, nullptr);
    EXPECT_NE(module->content->find("\ncipher@SSH = -*-CBC\n"), std::string::npos);
    EXPECT_TRUE(plan.live_actions.empty());
    ASSERT_EQ(plan.notices.size(), 1u);
    EXPECT_EQ(plan.notices[0].kind, PLUMB_NOTICE_MANUAL_STEP);
    EXPECT_NE(plan.notices[0].phrase.find("update-crypto-policies is not installed"), std::string::npos) << plan.notices[0].phrase;
}
