// `cmake --install` into any prefix gives a working, relocatable plumb: it finds its modules and baselines relative
// to its own location, even after the whole tree is moved elsewhere.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

using plumb::test::run_process;
using plumb::test::TempRoot;

TEST(Install, RelocatablePrefix) {
    TempRoot prefix;
    auto install = run_process({"/usr/bin/cmake", "--install", plumb::test::build_dir(), "--prefix", prefix / "opt/plumb"}, 120);
    ASSERT_EQ(install.exit_code, 0) << install.out << install.err;
    EXPECT_TRUE(std::filesystem::exists(prefix / "opt/plumb/lib/plumb/modules/plumb_journald.so"));
    EXPECT_TRUE(std::filesystem::exists(prefix / "opt/plumb/share/plumb/baselines/cis.json"));
    EXPECT_TRUE(std::filesystem::exists(prefix / "opt/plumb/include/plumb/module_abi.h"));

    // Move the installed tree: nothing may point back at the first prefix or at the build tree.
    std::filesystem::rename(prefix / "opt/plumb", prefix / "moved");
    TempRoot image;
    image.write("/etc/os-release", "ID=rhel\n");
    image.write("/etc/hostname", "moved-host\n");
    // As root the installed tree must pass the module ownership checks by itself (no development mode); an
    // unprivileged developer's copy is owned by them, which only development mode accepts.
    std::string dev = geteuid() == 0 ? "PLUMB_DEVELOPMENT=0" : "PLUMB_DEVELOPMENT=1";
    auto rules = run_process({prefix / "moved/bin/plumb", "rules"}, 60, {dev});
    EXPECT_EQ(rules.exit_code, 0) << rules.err;
    EXPECT_NE(rules.out.find("cis "), std::string::npos) << rules.out;
    auto audit = run_process({prefix / "moved/bin/plumb", "audit", "--root", image.path(), "--format", "json"}, 60,
                             {dev});
    EXPECT_TRUE(audit.exit_code == 0 || audit.exit_code == 2) << audit.err;
    auto j = nlohmann::json::parse(audit.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << audit.out << audit.err;
    EXPECT_EQ(j["baseline"]["id"], "cis");
    EXPECT_EQ(j["host"]["name"], "moved-host");
    // Every module was found and loaded from the moved tree: no rule errs for want of its module. (Rules may still
    // report error on this bare image, e.g. no package database to ask.)
    for (const auto& r : j["results"])
        for (const auto& reason : r["reasons"]) {
            EXPECT_NE(reason["code"], "module_unavailable") << r.dump();
            EXPECT_NE(reason["code"], "module_open_failed") << r.dump();
        }
    EXPECT_GT(j["results"].size(), 60u);
}
