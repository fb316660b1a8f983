// crypto.policy, crypto.subpolicy and crypto.sshd_uses_policy on fixture roots (tests/fixtures/crypto), and the
// crypto-policies parsers they rest on.
#include <gtest/gtest.h>

#include "plumb_test.hpp"
#include "policy.hpp"

using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;
using plumb::test::has_reason;
namespace cp = plumb::crypto;

namespace {



const nlohmann::json kCisPolicy = {{"equals", "DEFAULT"}, {"not_one_of", {"LEGACY"}}};

struct Sub {
    const char* name;
    const char* effect;
};
const Sub kSubs[] = {{"NO-SHA1", "no_sha1_signatures"},
                     {"NO-WEAKMAC", "no_weak_macs"},
                     {"NO-SSHCBC", "no_ssh_cbc"},
                     {"NO-SSHWEAKMACS", "no_ssh_weak_macs"}};

}  // namespace

// --- parsers ------------------------------------------------------------------------------------------------------

TEST(CryptoParse, ConfigLikeUpdateCryptoPolicies) {
    auto c = cp::parse_policy_config("# header\n\n default:no-sha1 # x\nNO-SSHCBC:\n#NO-WEAKMAC\nno-weakmac\n");
    EXPECT_EQ(c.policy, "DEFAULT");
    EXPECT_EQ(c.line, 3u);
    EXPECT_EQ(cp::to_string(c), "DEFAULT:NO-SHA1:NO-SSHCBC:NO-WEAKMAC");
    // Blanks around ':' are part of the names, as for the tool: "DEFAULT " is not DEFAULT.
    EXPECT_EQ(cp::parse_policy_config("DEFAULT :NO-SHA1\n").policy, "DEFAULT ");
    EXPECT_TRUE(cp::parse_policy_config("# only comments\n\n").empty());
}

TEST(CryptoParse, ModuleDirectives) {
    auto d = cp::parse_policy_module("# c\ncipher@SSH = -*-CBC # trailing\nmac = AEAD \\\n  HMAC-SHA2-256\nsha1_in_certs=0\n", "m");
    ASSERT_TRUE(d) << d.error().message;
    ASSERT_EQ(d->size(), 5u);
    EXPECT_EQ((*d)[0].property, "cipher");
    EXPECT_EQ((*d)[0].scope, "ssh");
    EXPECT_EQ((*d)[0].op, cp::Op::omit);
    EXPECT_EQ((*d)[0].value, "*-CBC");
    EXPECT_EQ((*d)[1].op, cp::Op::reset);
    EXPECT_EQ((*d)[1].line, 3u);
    EXPECT_EQ((*d)[3].value, "HMAC-SHA2-256");
    EXPECT_EQ((*d)[4].op, cp::Op::set_value);
    auto mixed = cp::parse_policy_module("x\nmac = AEAD -UMAC-64\n", "f.pmod");
    ASSERT_FALSE(mixed);
    EXPECT_NE(mixed.error().message.find("f.pmod:1"), std::string::npos) << mixed.error().message;
    auto mixed2 = cp::parse_policy_module("mac = AEAD -UMAC-64\n", "f.pmod");
    ASSERT_FALSE(mixed2);
    EXPECT_NE(mixed2.error().message.find("f.pmod:1"), std::string::npos);
}

TEST(CryptoParse, ScopesAndEffects) {
    const std::set<std::string> server = {"openssh-server", "openssh", "ssh"}, tls = {"openssl", "tls", "ssl"};
    EXPECT_TRUE(cp::scope_matches("*", tls));
    EXPECT_TRUE(cp::scope_matches("SSH", server));
    EXPECT_FALSE(cp::scope_matches("ssh", tls));
    EXPECT_TRUE(cp::scope_matches("!ssh", tls));
    EXPECT_FALSE(cp::scope_matches("!{ssh,ipsec}", server));
    EXPECT_TRUE(cp::scope_matches("{tls,ssh}", server));
    EXPECT_TRUE(cp::scope_matches("openssh-*", server));

    const auto* cbc = cp::find_effect("no_ssh_cbc");
    ASSERT_NE(cbc, nullptr);
    auto parse = [](const char* text) { return cp::LoadedModule{"M", "M.pmod", *cp::parse_policy_module(text, "M.pmod")}; };
    EXPECT_TRUE(cp::effect_gaps(*cbc, {parse("cipher@SSH = -*-CBC\n")}).empty());
    EXPECT_TRUE(cp::effect_gaps(*cbc, {parse("cipher = -*-CBC\n")}).empty());
    // Only the server: the client and libssh still offer CBC.
    auto partial = cp::effect_gaps(*cbc, {parse("cipher@openssh-server = -*-CBC\n")});
    EXPECT_FALSE(partial.empty());
    EXPECT_EQ(partial.front().why, "no module disables it");
    // A later module re-enabling one cipher undoes it, and says where.
    auto undone = cp::effect_gaps(*cbc, {parse("cipher@SSH = -*-CBC\n"), {"X", "X.pmod", *cp::parse_policy_module("cipher = +AES-256-CBC\n", "X.pmod")}});
    ASSERT_FALSE(undone.empty());
    EXPECT_EQ(undone.front().algorithm, "AES-256-CBC");
    EXPECT_EQ(undone.front().why, "re-enabled by X.pmod:1");
    // A plain list is a new list: everything not named is off.
    EXPECT_TRUE(cp::effect_gaps(*cp::find_effect("no_ssh_weak_macs"), {parse("mac@ssh = AEAD HMAC-SHA2-512\n")}).empty());
    EXPECT_FALSE(cp::effect_gaps(*cp::find_effect("no_weak_macs"), {parse("mac@SSH = -*-64\n")}).empty());  // TLS keeps it
    EXPECT_FALSE(cp::effect_gaps(*cp::find_effect("no_sha1_signatures"), {parse("hash = -SHA1\n")}).empty());
}

// --- procedures on fixture roots -------------------------------------------------------------------------------------

TEST(CryptoPolicy, CompliantFixturePasses) {
    TempRoot r;
    r.copy_from("crypto/compliant");
    ModuleHarness h(r.path());
    EXPECT_OUTCOME(h.run("crypto.policy", kCisPolicy), Status::pass, "policy_ok",
                   "DEFAULT:NO-SHA1:NO-WEAKMAC:NO-SSHCBC:NO-SSHWEAKMACS", "/etc/crypto-policies/config:2", "applied");
    for (const auto& s : kSubs)
        EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", s.name}, {"effect", s.effect}}), Status::pass, "subpolicy_ok", s.name);
    // NO-SHA1 comes from the shipped modules, the others from /etc.
    EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", "NO-SHA1"}, {"effect", "no_sha1_signatures"}}), Status::pass,
                   "subpolicy_ok", "/usr/share/crypto-policies/policies/modules/NO-SHA1.pmod");
    // The back-end file sshd includes sets Ciphers: that is the policy, not an override.
    EXPECT_OUTCOME(h.run("crypto.sshd_uses_policy", {{"sysconfig", "/etc/sysconfig/sshd"}}), Status::pass, "sshd_uses_policy",
                   "/etc/ssh/sshd_config.d/50-redhat.conf");
}

TEST(CryptoPolicy, NonCompliantFixtureFailsWithReasons) {
    TempRoot r;
    r.copy_from("crypto/noncompliant");
    ModuleHarness h(r.path());
    auto p = h.run("crypto.policy", kCisPolicy);
    EXPECT_OUTCOME(p, Status::fail, "policy_mismatch", "LEGACY", "/etc/crypto-policies/config:2", "expected DEFAULT");
    EXPECT_TRUE(has_reason(p, "policy_forbidden", {"must not be LEGACY"})) << describe(p);
    auto sha1 = h.run("crypto.subpolicy", {{"name", "NO-SHA1"}, {"effect", "no_sha1_signatures"}});
    EXPECT_OUTCOME(sha1, Status::fail, "subpolicy_not_configured", "NO-SHA1", "the policy is LEGACY");
    auto cbc = h.run("crypto.subpolicy", {{"name", "NO-SSHCBC"}, {"effect", "no_ssh_cbc"}});
    EXPECT_OUTCOME(cbc, Status::fail, "module_ineffective", "NO-SSHCBC.pmod", "AES-256-CBC", "cipher@SSH = -*-CBC");
    EXPECT_FALSE(has_reason(cbc, "module_ineffective", {"AES-128-CBC,"})) << describe(cbc);  // that one is off
    EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", "NO-WEAKMAC"}, {"effect", "no_weak_macs"}}), Status::fail,
                   "module_missing", "NO-WEAKMAC.pmod");
    auto sshd = h.run("crypto.sshd_uses_policy", {{"sysconfig", "/etc/sysconfig/sshd"}});
    EXPECT_OUTCOME(sshd, Status::fail, "sshd_overrides_policy", "Ciphers aes128-cbc,aes256-ctr at /etc/ssh/sshd_config:1");
    EXPECT_TRUE(has_reason(sshd, "sshd_overrides_policy", {"MACs", "/etc/ssh/sshd_config.d/40-legacy.conf:2"})) << describe(sshd);
    EXPECT_TRUE(has_reason(sshd, "sshd_overrides_policy", {"kexalgorithms", "40-legacy.conf:4"})) << describe(sshd);
    EXPECT_TRUE(has_reason(sshd, "sshd_overrides_policy", {"CRYPTO_POLICY=-oCiphers=aes256-cbc", "/etc/sysconfig/sshd:2"}))
        << describe(sshd);
    // Without the sysconfig argument only sshd's own files count (the baseline checks it with core.file_regex).
    EXPECT_EQ(h.run("crypto.sshd_uses_policy", {{"keys", {"PermitRootLogin"}}}).status, Status::fail);
}

TEST(CryptoPolicy, TrickyFixturePasses) {
    // Lower case and multi-line config, comments everywhere, continuations, brace scopes, a plain MAC list, a local
    // module shadowing an ineffective shipped one, a relative Include and a non-.conf file the glob skips.
    TempRoot r;
    r.copy_from("crypto/tricky");
    ModuleHarness h(r.path());
    EXPECT_OUTCOME(h.run("crypto.policy", kCisPolicy), Status::pass, "policy_ok", "config:4");
    for (const auto& s : kSubs)
        EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", s.name}, {"effect", s.effect}}), Status::pass, "subpolicy_ok", s.name);
    EXPECT_OUTCOME(h.run("crypto.sshd_uses_policy", {{"sysconfig", "/etc/sysconfig/sshd"}}), Status::pass, "sshd_uses_policy",
                   "/etc/ssh/sshd_config.d/10-site.conf");
}

TEST(CryptoPolicy, ConfigStateMismatchMeansUpdateNotRun) {
    TempRoot r;
    r.copy_from("crypto/compliant");
    r.write("/etc/crypto-policies/state/current", "DEFAULT\n");
    ModuleHarness h(r.path());
    EXPECT_OUTCOME(h.run("crypto.policy", kCisPolicy), Status::fail, "update_not_run", "records DEFAULT",
                   "update-crypto-policies was not run");
    EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", "NO-SHA1"}, {"effect", "no_sha1_signatures"}}), Status::fail, "update_not_run");
}

TEST(CryptoPolicy, MissingFilesAndFallbacks) {
    TempRoot r;
    r.write("/etc/os-release", "ID=rhel\n");
    ModuleHarness h(r.path());
    EXPECT_OUTCOME(h.run("crypto.policy", kCisPolicy), Status::fail, "no_policy", "/etc/crypto-policies/config");
    EXPECT_OUTCOME(h.run("crypto.sshd_uses_policy", nlohmann::json::object()), Status::pass, "sshd_uses_policy", "none exists");

    // Without /etc/crypto-policies/config the shipped default-config is what update-crypto-policies uses.
    TempRoot d;
    d.write("/usr/share/crypto-policies/default-config", "# default\nDEFAULT\n");
    ModuleHarness hd(d.path());
    EXPECT_OUTCOME(hd.run("crypto.policy", {{"equals", "DEFAULT"}}), Status::pass, "policy_ok",
                   "/usr/share/crypto-policies/default-config:2");
    EXPECT_OUTCOME(hd.run("crypto.policy", {{"equals", "FIPS"}}), Status::fail, "policy_mismatch", "expected FIPS");
    EXPECT_OUTCOME(hd.run("crypto.policy", {{"one_of", {"FUTURE", "FIPS"}}}), Status::fail, "policy_mismatch", "one of FUTURE, FIPS");
}

TEST(CryptoPolicy, LaterModuleUndoingASubPolicyFails) {
    TempRoot r;
    r.copy_from("crypto/compliant");
    r.write("/etc/crypto-policies/config", "DEFAULT:NO-SHA1:NO-WEAKMAC:NO-SSHCBC:NO-SSHWEAKMACS:OLD-CLIENTS\n");
    r.write("/etc/crypto-policies/state/current", "DEFAULT:NO-SHA1:NO-WEAKMAC:NO-SSHCBC:NO-SSHWEAKMACS:OLD-CLIENTS\n");
    r.write("/etc/crypto-policies/policies/modules/OLD-CLIENTS.pmod", "# for a legacy appliance\ncipher@openssh-server = AES-128-CBC+\n");
    ModuleHarness h(r.path());
    EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", "NO-SSHCBC"}, {"effect", "no_ssh_cbc"}}), Status::fail, "effect_undone",
                   "AES-128-CBC for openssh-server", "OLD-CLIENTS.pmod:2");
    EXPECT_EQ(h.run("crypto.subpolicy", {{"name", "NO-SHA1"}, {"effect", "no_sha1_signatures"}}).status, Status::pass);
    // A configured module that exists nowhere: update-crypto-policies would refuse the policy.
    r.write("/etc/crypto-policies/config", "DEFAULT:NO-SHA1:NO-WEAKMAC:NO-SSHCBC:NO-SSHWEAKMACS:GONE\n");
    ModuleHarness h2(r.path());
    EXPECT_OUTCOME(h2.run("crypto.policy", kCisPolicy), Status::fail, "module_missing", "GONE");
}

TEST(CryptoPolicy, SyntaxErrorInModuleIsReported) {
    TempRoot r;
    r.copy_from("crypto/compliant");
    r.write("/etc/crypto-policies/policies/modules/NO-WEAKMAC.pmod", "mac = -*-64 = x\n");
    ModuleHarness h(r.path());
    EXPECT_OUTCOME(h.run("crypto.subpolicy", {{"name", "NO-WEAKMAC"}, {"effect", "no_weak_macs"}}), Status::fail, "module_syntax",
                   "NO-WEAKMAC.pmod:1");
}

TEST(CryptoPolicy, SshdCommentedAndCaseVariants) {
    TempRoot r;
    r.copy_from("crypto/compliant");
    // sshd keywords are case-insensitive and take "Key=Value"; a Match block does not hide them.
    r.write("/etc/ssh/sshd_config.d/60-local.conf", "# local\nciphers=aes256-ctr\nMatch User backup\n  PasswordAuthentication no\n");
    r.write("/etc/sysconfig/sshd", "#CRYPTO_POLICY=\n  CRYPTO_POLICY=\n");
    ModuleHarness h(r.path());
    auto o = h.run("crypto.sshd_uses_policy", {{"sysconfig", "/etc/sysconfig/sshd"}});
    EXPECT_OUTCOME(o, Status::fail, "sshd_overrides_policy", "ciphers aes256-ctr at /etc/ssh/sshd_config.d/60-local.conf:2");
    EXPECT_TRUE(has_reason(o, "sshd_overrides_policy", {"/etc/sysconfig/sshd:2"})) << describe(o);
    EXPECT_EQ(o.reasons.size(), 2u) << describe(o);
}

TEST(CryptoFips, KernelModeIsLiveOnly) {
    TempRoot r;
    ModuleHarness offline(r.path());
    EXPECT_OUTCOME(offline.run("crypto.fips_kernel", nlohmann::json::object()), Status::notapplicable, "live_only");
}

TEST(CryptoFips, KernelModeOnThisHost) {
    // The real /proc: this machine is not booted with fips=1 (Debian has no FIPS kernel setup).
    ModuleHarness live("/", true);
    auto o = live.run("crypto.fips_kernel", nlohmann::json::object());
    std::string want = "0";
    if (FILE* f = std::fopen("/proc/sys/crypto/fips_enabled", "r")) {
        char c = 0;
        if (std::fread(&c, 1, 1, f) == 1) want = std::string(1, c);
        std::fclose(f);
    } else {
        want = "";
    }
    if (want == "1") EXPECT_OUTCOME(o, Status::pass, "fips_enabled");
    else if (want.empty()) EXPECT_OUTCOME(o, Status::fail, "fips_unsupported");
    else EXPECT_OUTCOME(o, Status::fail, "fips_disabled", "/proc/sys/crypto/fips_enabled is " + want, "expected 1");
}
