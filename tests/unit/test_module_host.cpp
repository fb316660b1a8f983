// Module loading (ownership policy, ABI checks, broken modules) and the host services modules get.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "plumb/module_host.hpp"
#include "plumb_test.hpp"

using namespace plumb;
using plumb::test::TempRoot;
namespace fs = std::filesystem;

namespace {

std::string testmod_dir(const std::string& variant) { return plumb::test::build_dir() + "/tests/modules/" + variant; }

std::unique_ptr<ModuleRegistry> load(const std::string& dir, bool development) {
    auto r = ModuleRegistry::load_directory(dir, {.development = development});
    EXPECT_TRUE(r) << r.error().message;
    return r ? std::move(*r) : nullptr;
}

// A private copy of the good module in a directory whose ownership and mode the test controls.
struct ModuleCopy {
    TempRoot dir;
    std::string file;
    ModuleCopy() {
        file = dir.path() + "/plumb_probe.so";
        fs::copy_file(testmod_dir("good") + "/plumb_probe.so", file);
        ::chmod(file.c_str(), 0755);
        ::chmod(dir.path().c_str(), 0755);
    }
};

TEST(ModuleRegistry, LoadsRawCModule) {
    auto reg = load(testmod_dir("good"), true);
    ASSERT_TRUE(reg);
    const LoadedModule* m = reg->module("probe");
    ASSERT_TRUE(m);
    ASSERT_TRUE(m->abi) << m->load_error;
    EXPECT_EQ(m->version, "1.0");
    ASSERT_EQ(m->procedures.size(), 3u);
    EXPECT_EQ(reg->find("probe", "echo").kind, ProcedureCatalog::Lookup::Kind::found);
    EXPECT_EQ(reg->find("probe", "nope").kind, ProcedureCatalog::Lookup::Kind::no_such_procedure);
    auto missing = reg->find("nosuch", "x");
    EXPECT_EQ(missing.kind, ProcedureCatalog::Lookup::Kind::module_unavailable);
    EXPECT_EQ(missing.reason, "module 'nosuch' is not installed");
}

TEST(ModuleRegistry, BrokenModulesAreUnavailableWithReasonsAndOthersStillLoad) {
    auto reg = load(testmod_dir("mixed"), true);
    ASSERT_TRUE(reg);
    ASSERT_TRUE(reg->module("probe") && reg->module("probe")->abi);
    const LoadedModule* bad = reg->module("badabi");
    ASSERT_TRUE(bad);
    EXPECT_FALSE(bad->abi);
    EXPECT_NE(bad->load_error.find("module ABI version 99 does not match the engine's 1"), std::string::npos) << bad->load_error;
    const LoadedModule* misnamed = reg->module("misnamed");
    ASSERT_TRUE(misnamed);
    EXPECT_NE(misnamed->load_error.find("module calls itself 'other', file name says 'misnamed'"), std::string::npos);
    const LoadedModule* noentry = reg->module("noentry");
    ASSERT_TRUE(noentry);
    EXPECT_NE(noentry->load_error.find("no plumb_module_entry symbol"), std::string::npos);
    auto lookup = reg->find("badabi", "echo");
    EXPECT_EQ(lookup.kind, ProcedureCatalog::Lookup::Kind::module_unavailable);
}

TEST(ModuleRegistry, NonElfFileIsUnavailable) {
    ModuleCopy copy;
    std::string junk = copy.dir.path() + "/plumb_junk.so";
    copy.dir.write("/plumb_junk.so", "not an ELF file");
    auto reg = load(copy.dir.path(), true);
    ASSERT_TRUE(reg);
    const LoadedModule* m = reg->module("junk");
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->abi);
    EXPECT_NE(m->load_error.find(junk), std::string::npos) << m->load_error;
    EXPECT_TRUE(reg->module("probe")->abi);
}

TEST(ModuleRegistry, RefusesGroupOrWorldWritableModuleOutsideDevelopmentMode) {
    ModuleCopy copy;
    ::chmod(copy.file.c_str(), 0775);
    auto reg = load(copy.dir.path(), false);
    ASSERT_TRUE(reg);
    const LoadedModule* m = reg->module("probe");
    ASSERT_TRUE(m);
    EXPECT_FALSE(m->abi);
    EXPECT_NE(m->load_error.find("has mode 0775: group/world-writable, refused"), std::string::npos) << m->load_error;
    ::chmod(copy.file.c_str(), 0757);
    EXPECT_FALSE(load(copy.dir.path(), false)->module("probe")->abi);
    // Development mode (build trees, tests) accepts it.
    EXPECT_TRUE(load(copy.dir.path(), true)->module("probe")->abi);
}

TEST(ModuleRegistry, RefusesWritableModuleDirectory) {
    ModuleCopy copy;
    ::chmod(copy.dir.path().c_str(), 0777);
    auto r = ModuleRegistry::load_directory(copy.dir.path(), {.development = false});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("module directory " + copy.dir.path() + " has mode 0777"), std::string::npos)
        << r.error().message;
    ::chmod(copy.dir.path().c_str(), 0755);
}

TEST(ModuleRegistry, RefusesModuleNotOwnedByRoot) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to chown the module to another user";
    ModuleCopy copy;
    ASSERT_EQ(::chown(copy.file.c_str(), 65534, 65534), 0);
    auto reg = load(copy.dir.path(), false);
    const LoadedModule* m = reg->module("probe");
    EXPECT_FALSE(m->abi);
    EXPECT_NE(m->load_error.find("is owned by uid 65534, expected root (uid 0)"), std::string::npos) << m->load_error;
    ASSERT_EQ(::chown(copy.dir.path().c_str(), 65534, 65534), 0);
    EXPECT_FALSE(ModuleRegistry::load_directory(copy.dir.path(), {.development = false}));
}

TEST(ModuleRegistry, MissingDirectoryIsAnError) {
    auto r = ModuleRegistry::load_directory("/nonexistent/plumb/modules", {.development = true});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, "module directory /nonexistent/plumb/modules: No such file or directory");
}

class RunContextTest : public ::testing::Test {
protected:
    void SetUp() override {
        registry = load(testmod_dir("good"), true);
        root.write("/etc/a.conf", "alpha");
    }
    std::unique_ptr<RunContext> context(bool live = false) {
        auto safe = SafeRoot::open(root.path());
        return std::make_unique<RunContext>(std::move(*safe), live, *registry);
    }
    TempRoot root;
    std::unique_ptr<ModuleRegistry> registry;
};

TEST_F(RunContextTest, CallsModuleAndCollectsReasons) {
    auto ctx = context();
    Outcome o = ctx->call("probe", "echo", {{"status", "fail"}, {"code", "value_mismatch"}, {"phrase", "expected x"}});
    EXPECT_EQ(o.status, Status::fail);
    ASSERT_EQ(o.reasons.size(), 1u);
    EXPECT_EQ(o.reasons[0], (Reason{"value_mismatch", "expected x"}));
}

TEST_F(RunContextTest, FilesAreReadOnceHoweverManyCallsAskForThem) {
    auto ctx = context();
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(ctx->call("probe", "file_equals", {{"path", "/etc/a.conf"}, {"content", "alpha"}}).status, Status::pass);
    EXPECT_EQ(ctx->call("probe", "file_equals", {{"path", "/etc/./a.conf"}, {"content", "beta"}}).status, Status::fail);
    EXPECT_EQ(ctx->disk_reads(), 1u);
}

TEST_F(RunContextTest, LiveOnlyProceduresAreNotApplicableOffline) {
    auto offline = context(false);
    Outcome o = offline->call("probe", "live", {{"status", "pass"}});
    EXPECT_EQ(o.status, Status::notapplicable);
    ASSERT_EQ(o.reasons.size(), 1u);
    EXPECT_EQ(o.reasons[0].code, "live_only");
    EXPECT_NE(o.reasons[0].phrase.find(root.path()), std::string::npos);
    auto live = context(true);
    EXPECT_EQ(live->call("probe", "live", {{"status", "pass"}}).status, Status::pass);
}

TEST_F(RunContextTest, LiveOnlyTreesAreRefusedOffline) {
    root.write("/proc/cmdline", "fake image content");
    auto ctx = context(false);
    auto r = ctx->read("/proc/cmdline");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EREMOTE);
    EXPECT_FALSE(ctx->list_dir("/sys"));
    EXPECT_FALSE(ctx->stat("/proc/cmdline"));
    EXPECT_TRUE(ctx->read("/etc/a.conf"));
    EXPECT_TRUE(ctx->read("/process.conf").error().code == ENOENT);  // only the /proc tree, not the prefix
}

TEST_F(RunContextTest, BadArgumentsUnknownProceduresAndUnavailableModulesAreErrors) {
    auto ctx = context();
    Outcome bad = ctx->call("probe", "echo", {{"status", "maybe"}});
    EXPECT_EQ(bad.status, Status::error);
    EXPECT_EQ(bad.reasons.at(0).code, "invalid_arguments");
    Outcome unknown = ctx->call("probe", "nope", nlohmann::json::object());
    EXPECT_EQ(unknown.status, Status::error);
    EXPECT_EQ(unknown.reasons.at(0).code, "unknown_procedure");
    Outcome missing = ctx->call("nosuch", "x", nlohmann::json::object());
    EXPECT_EQ(missing.status, Status::error);
    EXPECT_EQ(missing.reasons.at(0).code, "module_unavailable");
}

TEST_F(RunContextTest, ErrorWithoutReasonGetsOne) {
    auto ctx = context();
    Outcome o = ctx->call("probe", "echo", {{"status", "error"}});
    EXPECT_EQ(o.status, Status::error);
    ASSERT_EQ(o.reasons.size(), 1u);
    EXPECT_EQ(o.reasons[0].code, "module_error");
}

}  // namespace
