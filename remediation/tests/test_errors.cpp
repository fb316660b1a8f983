// I/O errors during apply: a full filesystem (ENOSPC), a read-only one (EROFS), an immutable file or directory
// (EPERM: as root, EACCES cannot be provoked on a local filesystem; both take the same path). Each time the files
// already changed are restored, the failing one is intact, and the error names the file and the errno text. The
// mounts live in a private mount namespace of this test process, so the host never sees them.
#include <linux/fs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "plumb/transaction.hpp"
#include "plumb_test.hpp"

namespace {

using namespace plumb;
using namespace plumb::remediation;
using plumb::test::TempRoot;

// "" when this process now has a private mount namespace, else why not (the test is skipped with it).
std::string private_mount_namespace() {
    static std::string why = [] {
        if (unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
        if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
            return std::string("making / private: ") + std::strerror(errno);
        return std::string();
    }();
    return why;
}

struct Mounted {
    std::string path;
    ~Mounted() { umount2(path.c_str(), MNT_DETACH); }
};

// Sets or clears FS_IMMUTABLE_FL (chattr +i); cleared again on destruction so the fixture can be deleted.
struct Immutable {
    std::string path;
    bool set(bool on) {
        int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) return false;
        int flags = 0;
        bool ok = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
        flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
        ok = ok && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
        ::close(fd);
        return ok;
    }
    ~Immutable() { set(false); }
};

// a.conf (applied first, must come back) and then the file that fails; everything must be as before.
void expect_failure_leaves_originals(TempRoot& dir, const std::vector<FileChange>& changes, int err,
                                     const std::string& failing, const std::vector<std::pair<std::string, std::string>>& intact) {
    auto root = SafeRoot::open(dir.path());
    ASSERT_TRUE(root);
    auto journal = Journal::open(*root);
    ASSERT_TRUE(journal) << journal.error().message;
    auto id = journal->prepare(changes, {});
    ASSERT_TRUE(id) << id.error().message;
    auto r = journal->apply(*id);
    ASSERT_FALSE(r) << "apply should fail";
    EXPECT_EQ(r.error().code, err) << r.error().message;
    std::printf("[error] %s\n", r.error().message.c_str());
    EXPECT_NE(r.error().message.find(failing), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(std::strerror(err)), std::string::npos) << r.error().message;
    EXPECT_EQ(journal->info(*id)->state, TxState::rolled_back);
    for (const auto& [path, content] : intact) EXPECT_EQ(dir.read(path), content) << path;
    // No temporary left anywhere in the tree.
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path()))
        EXPECT_EQ(e.path().filename().string().find(".plumb-"), std::string::npos) << e.path();
}

TEST(TransactionErrors, NoSpaceLeftOnDevice) {
    if (auto why = private_mount_namespace(); !why.empty()) GTEST_SKIP() << why;
    TempRoot dir;
    dir.write("/etc/a.conf", "a=1\n");
    dir.mkdir("/etc/small");
    Mounted m{dir / "etc/small"};
    ASSERT_EQ(mount("tmpfs", m.path.c_str(), "tmpfs", 0, "size=64k,mode=0755"), 0) << std::strerror(errno);
    dir.write("/etc/small/f.conf", "small=1\n");
    expect_failure_leaves_originals(dir,
                                    {{"/etc/a.conf", "a=2\n", 0644, "a=1\n"},
                                     {"/etc/small/f.conf", std::string(1 << 20, 'x'), 0644, "small=1\n"}},
                                    ENOSPC, "/etc/small/f.conf", {{"/etc/a.conf", "a=1\n"}, {"/etc/small/f.conf", "small=1\n"}});
}

TEST(TransactionErrors, ReadOnlyFilesystem) {
    if (auto why = private_mount_namespace(); !why.empty()) GTEST_SKIP() << why;
    TempRoot dir;
    dir.write("/etc/a.conf", "a=1\n");
    dir.write("/etc/ro/f.conf", "ro=1\n");
    Mounted m{dir / "etc/ro"};
    ASSERT_EQ(mount(m.path.c_str(), m.path.c_str(), nullptr, MS_BIND, nullptr), 0) << std::strerror(errno);
    ASSERT_EQ(mount(nullptr, m.path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr), 0) << std::strerror(errno);
    expect_failure_leaves_originals(dir, {{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/ro/f.conf", "ro=2\n", 0644, "ro=1\n"}},
                                    EROFS, "/etc/ro/f.conf", {{"/etc/a.conf", "a=1\n"}, {"/etc/ro/f.conf", "ro=1\n"}});
    // Creating and removing fail the same way.
    expect_failure_leaves_originals(dir, {{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/ro/new.conf", "n\n", 0644, std::nullopt}},
                                    EROFS, "/etc/ro/new.conf", {{"/etc/a.conf", "a=1\n"}});
    expect_failure_leaves_originals(dir, {{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/ro/f.conf", std::nullopt, 0644, "ro=1\n"}},
                                    EROFS, "/etc/ro/f.conf", {{"/etc/a.conf", "a=1\n"}, {"/etc/ro/f.conf", "ro=1\n"}});
}

TEST(TransactionErrors, ImmutableFileAndDirectory) {
    TempRoot dir;
    dir.write("/etc/a.conf", "a=1\n");
    dir.write("/etc/imm.conf", "imm=1\n");
    dir.write("/etc/locked/f.conf", "locked=1\n");
    Immutable file{dir / "etc/imm.conf"}, directory{dir / "etc/locked"};
    if (!file.set(true) || !directory.set(true))
        GTEST_SKIP() << "FS_IOC_SETFLAGS (chattr +i) not permitted here: " << std::strerror(errno);
    // Renaming over an immutable file.
    expect_failure_leaves_originals(dir, {{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/imm.conf", "imm=2\n", 0644, "imm=1\n"}},
                                    EPERM, "/etc/imm.conf", {{"/etc/a.conf", "a=1\n"}, {"/etc/imm.conf", "imm=1\n"}});
    // No temporary file can be created in an immutable directory.
    expect_failure_leaves_originals(dir,
                                    {{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/locked/f.conf", "locked=2\n", 0644, "locked=1\n"}},
                                    EPERM, "/etc/locked/f.conf", {{"/etc/a.conf", "a=1\n"}, {"/etc/locked/f.conf", "locked=1\n"}});
}

}  // namespace
