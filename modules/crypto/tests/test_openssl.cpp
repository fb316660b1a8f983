// crypto.openssl_fips_provider / crypto.openssl_fips_properties: real OpenSSL 3 queries on this host (no mocks),
// and the offline image checks, which only look for files.
#include <openssl/crypto.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;
using plumb::test::has_reason;

namespace {


// Whether this host's OpenSSL has a FIPS provider module where it looks for one.
std::string modules_dir() {
    std::string v = OpenSSL_version(OPENSSL_MODULES_DIR);  // MODULESDIR: "/usr/lib/x86_64-linux-gnu/ossl-modules"
    return v.substr(v.find('"') + 1, v.rfind('"') - v.find('"') - 1);
}

bool host_has_fips_module() {
    struct stat st{};
    return ::stat((modules_dir() + "/fips.so").c_str(), &st) == 0;
}

const char* kFipsProperties =
    "openssl_conf = openssl_init\n[openssl_init]\nalg_section = evp_properties\n[evp_properties]\ndefault_properties = fips=yes\n";
const char* kPlainConfig = "openssl_conf = openssl_init\n[openssl_init]\nalg_section = evp_properties\n[evp_properties]\n";
const char* kActivateFips =
    "openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n[provider_sect]\nfips = fips_sect\n"
    "default = default_sect\n[fips_sect]\nactivate = 1\n[default_sect]\nactivate = 1\n";

}  // namespace

TEST(CryptoOpenssl, FipsProviderOnThisHost) {
    ModuleHarness live("/", true);
    auto o = live.run("crypto.openssl_fips_provider", nlohmann::json::object());
    if (host_has_fips_module()) {
        EXPECT_TRUE(o.status == Status::pass) << describe(o);
        return;
    }
    // Debian 12's openssl ships no fips.so: a clear failure that says what OpenSSL tried and why it failed.
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_TRUE(has_reason(o, "fips_provider_unavailable",
                           {"cannot load the FIPS provider", modules_dir() + "/fips.so does not exist", "could not load the shared library"}))
        << describe(o);
}

TEST(CryptoOpenssl, ConfigActivatingAMissingProviderFailsWithOpensslsReason) {
    if (host_has_fips_module()) GTEST_SKIP() << "this host has a FIPS provider";
    TempRoot t;
    // OpenSSL 3.0 carries on when a configured provider fails to activate: the provider check still fails.
    t.write("/activate.cnf", kActivateFips);
    ModuleHarness live("/", true);
    auto q = live.run("crypto.openssl_fips_provider", {{"config", t / "activate.cnf"}});
    EXPECT_EQ(q.status, Status::fail) << describe(q);
    EXPECT_TRUE(has_reason(q, "fips_provider_unavailable", {"does not exist"})) << describe(q);
    // A configuration OpenSSL cannot parse fails for every application: reported with OpenSSL's reason.
    t.write("/broken.cnf", "openssl_conf = openssl_init\n[openssl_init\nproviders = x\n");
    auto o = live.run("crypto.openssl_fips_provider", {{"config", t / "broken.cnf"}});
    EXPECT_EQ(o.status, Status::fail) << describe(o);
    EXPECT_TRUE(has_reason(o, "config_not_loaded", {t / "broken.cnf", "line 2"})) << describe(o);
    auto p = live.run("crypto.openssl_fips_properties", {{"config", t / "broken.cnf"}});
    EXPECT_EQ(p.status, Status::fail) << describe(p);
    EXPECT_TRUE(has_reason(p, "config_not_loaded", {"applications fail the same way"})) << describe(p);
}

TEST(CryptoOpenssl, DefaultPropertiesFromTheConfiguration) {
    TempRoot t;
    t.write("/fips-props.cnf", kFipsProperties);
    t.write("/plain.cnf", kPlainConfig);
    ModuleHarness live("/", true);
    auto yes = live.run("crypto.openssl_fips_properties", {{"config", t / "fips-props.cnf"}});
    EXPECT_EQ(yes.status, Status::pass) << describe(yes);
    EXPECT_TRUE(has_reason(yes, "fips_properties", {"fips=yes"})) << describe(yes);
    auto no = live.run("crypto.openssl_fips_properties", {{"config", t / "plain.cnf"}});
    EXPECT_EQ(no.status, Status::fail) << describe(no);
    EXPECT_TRUE(has_reason(no, "fips_not_required", {t / "plain.cnf"})) << describe(no);
    // The host's own configuration (Debian: /usr/lib/ssl/openssl.cnf) does not require FIPS.
    auto host = live.run("crypto.openssl_fips_properties", nlohmann::json::object());
    EXPECT_EQ(host.status, Status::fail) << describe(host);
}

TEST(CryptoOpenssl, OfflineImageFilesOnly) {
    TempRoot img;
    ModuleHarness none(img.path());
    auto missing = none.run("crypto.openssl_fips_provider", nlohmann::json::object());
    EXPECT_EQ(missing.status, Status::fail) << describe(missing);
    EXPECT_TRUE(has_reason(missing, "fips_provider_missing", {"/usr/lib64/ossl-modules", "no fipsmodule.cnf"})) << describe(missing);
    EXPECT_EQ(none.run("crypto.openssl_fips_properties", nlohmann::json::object()).status, Status::notapplicable);

    // A file named fips.so is never loaded from an image: its presence is all that is checked.
    img.write("/usr/lib64/ossl-modules/fips.so", "not an ELF file");
    ModuleHarness so_only(img.path());
    auto present = so_only.run("crypto.openssl_fips_provider", nlohmann::json::object());
    EXPECT_EQ(present.status, Status::pass) << describe(present);
    EXPECT_TRUE(has_reason(present, "fips_provider_present", {"/usr/lib64/ossl-modules/fips.so", "no fipsmodule.cnf"})) << describe(present);
    auto strict = so_only.run("crypto.openssl_fips_provider", {{"fipsmodule_cnf", "required"}});
    EXPECT_EQ(strict.status, Status::fail) << describe(strict);
    EXPECT_TRUE(has_reason(strict, "fips_module_config_missing")) << describe(strict);

    img.write("/etc/pki/tls/fipsmodule.cnf", "[fips_sect]\nactivate = 1\n");
    ModuleHarness both(img.path());
    auto ok = both.run("crypto.openssl_fips_provider", {{"fipsmodule_cnf", "required"}});
    EXPECT_EQ(ok.status, Status::pass) << describe(ok);
    EXPECT_TRUE(has_reason(ok, "fips_provider_present", {"/etc/pki/tls/fipsmodule.cnf"})) << describe(ok);
}
