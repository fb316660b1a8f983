// The safe-path layer: every escape attempt stays inside the root.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "plumb/module_host.hpp"
#include "plumb/safe_root.hpp"
#include "plumb_test.hpp"

using plumb::SafeRoot;
using plumb::test::TempRoot;

namespace {

class SafeRootTest : public ::testing::Test {
protected:
    void SetUp() override {
        // A secret next to the root: every escape below aims at it.
        outside.write("/secret", "outside-secret\n");
        root.write("/etc/passwd", "inside-passwd\n");
        root.write("/etc/inside.conf", "inside\n");
    }
    SafeRoot open_root() {
        auto r = SafeRoot::open(root.path());
        EXPECT_TRUE(r) << r.error().message;
        return std::move(*r);
    }
    TempRoot outside;
    TempRoot root;
};

TEST_F(SafeRootTest, ReadsPlainFiles) {
    auto r = open_root();
    auto data = r.read_file("/etc/passwd");
    ASSERT_TRUE(data) << data.error().message;
    EXPECT_EQ(*data, "inside-passwd\n");
    EXPECT_EQ(*r.read_file("etc/passwd"), "inside-passwd\n");
    EXPECT_EQ(*r.read_file("//etc/./passwd"), "inside-passwd\n");
}

TEST_F(SafeRootTest, AbsoluteSymlinkOutsideIsClampedToRoot) {
    root.symlink(outside.path() + "/secret", "/etc/abs-escape");
    auto r = open_root();
    auto data = r.read_file("/etc/abs-escape");
    ASSERT_FALSE(data);  // the target path does not exist inside the root
    EXPECT_EQ(data.error().code, ENOENT);
    // An absolute link to a path that exists inside the root resolves to the root's copy, never the host's.
    root.symlink("/etc/passwd", "/etc/abs-inside");
    EXPECT_EQ(*r.read_file("/etc/abs-inside"), "inside-passwd\n");
}

TEST_F(SafeRootTest, RelativeDotDotSymlinkCannotClimbOut) {
    // Far more ".." than the depth of the temp directory: would reach the host's / without clamping.
    root.symlink("../../../../../../../../../../etc/passwd", "/etc/rel-escape");
    auto r = open_root();
    auto data = r.read_file("/etc/rel-escape");
    ASSERT_TRUE(data) << data.error().message;
    EXPECT_EQ(*data, "inside-passwd\n");  // ".." at the root stays at the root, as in a chroot
    root.symlink("../../../../../../../../.." + outside.path() + "/secret", "/etc/rel-escape2");
    auto d2 = r.read_file("/etc/rel-escape2");
    ASSERT_FALSE(d2);
    EXPECT_EQ(d2.error().code, ENOENT);
}

TEST_F(SafeRootTest, DotDotChainsInTheRequestedPath) {
    auto r = open_root();
    auto data = r.read_file("/../../../../etc/passwd");
    ASSERT_TRUE(data);
    EXPECT_EQ(*data, "inside-passwd\n");
    auto escape = r.read_file("/etc/../../../.." + outside.path() + "/secret");
    ASSERT_FALSE(escape);
    EXPECT_EQ(escape.error().code, ENOENT);
}

TEST_F(SafeRootTest, SymlinkedDirectoryOutsideIsClamped) {
    root.symlink(outside.path(), "/etc/outdir");
    auto r = open_root();
    auto data = r.read_file("/etc/outdir/secret");
    ASSERT_FALSE(data);
    EXPECT_EQ(data.error().code, ENOENT);
    auto listing = r.list_dir("/etc/outdir");
    EXPECT_FALSE(listing);
}

TEST_F(SafeRootTest, SymlinkLoopsFailWithEloop) {
    root.symlink("/loop-b", "/loop-a");
    root.symlink("/loop-a", "/loop-b");
    root.symlink("self", "/self");
    auto r = open_root();
    auto a = r.read_file("/loop-a");
    ASSERT_FALSE(a);
    EXPECT_EQ(a.error().code, ELOOP);
    auto s = r.stat("/self");
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ELOOP);
}

TEST_F(SafeRootTest, ProcMagicLinksAreRefused) {
    // /proc/self/root inside an image pointing at the live /proc would be a way out; the root has no /proc, and a
    // symlink into the host's /proc resolves inside the root.
    root.symlink("/proc/self/root/etc/hostname", "/etc/magic");
    auto r = open_root();
    EXPECT_FALSE(r.read_file("/etc/magic"));
}

TEST_F(SafeRootTest, StatAndLinksDoNotFollowWhenAsked) {
    root.symlink(outside.path() + "/secret", "/etc/link");
    auto r = open_root();
    auto st = r.stat("/etc/link", /*follow_symlinks=*/false);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(st->type, plumb::FileType::symlink);
    auto target = r.read_link("/etc/link");
    ASSERT_TRUE(target);
    EXPECT_EQ(*target, outside.path() + "/secret");
    EXPECT_FALSE(r.read_link("/etc/passwd"));  // not a symlink
}

TEST_F(SafeRootTest, ListDirIsSortedWithoutDots) {
    root.write("/d/b", "");
    root.write("/d/a", "");
    root.write("/d/c", "");
    auto r = open_root();
    auto names = r.list_dir("/d");
    ASSERT_TRUE(names);
    EXPECT_EQ(*names, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(SafeRootTest, OpenParentSplitsEntry) {
    auto r = open_root();
    auto e = r.open_parent("/etc/inside.conf");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->name, "inside.conf");
    EXPECT_EQ(faccessat(e->dir.get(), "inside.conf", F_OK, 0), 0);
    EXPECT_FALSE(r.open_parent("/"));
    EXPECT_FALSE(r.open_parent("/etc/.."));
}

TEST_F(SafeRootTest, MissingRootIsAnErrorNamingThePath) {
    auto r = SafeRoot::open(root.path() + "/does-not-exist");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("does-not-exist"), std::string::npos);
    EXPECT_EQ(r.error().code, ENOENT);
}

TEST_F(SafeRootTest, OversizedFilesAreRefused) {
    root.write("/big", std::string(10000, 'x'));
    auto r = open_root();
    auto data = r.read_file("/big", 4096);
    ASSERT_FALSE(data);
    EXPECT_EQ(data.error().code, EFBIG);
}

TEST(NormalizeRootPath, CanonicalForms) {
    EXPECT_EQ(plumb::normalize_root_path(""), "/");
    EXPECT_EQ(plumb::normalize_root_path("/"), "/");
    EXPECT_EQ(plumb::normalize_root_path("etc//x/./y"), "/etc/x/y");
    EXPECT_EQ(plumb::normalize_root_path("/a/../b/"), "/a/../b");
}

}  // namespace
