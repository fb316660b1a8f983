// core.file_exists, core.file_absent, core.file_permissions, core.file_regex on fixture roots.
#include <unistd.h>

#include "core_test_util.hpp"

using namespace plumb;
using namespace plumb::test;

namespace {

class CoreFiles : public ::testing::Test {
protected:
    void SetUp() override {
        root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n+nis::::::\nsshd:x:105:65534::/run/sshd:/usr/sbin/nologin\n"
                                  "auditor:x:1001:1001::/home/auditor:/bin/sh\n");
        root.write("/etc/group", "root:x:0:\nshadow:x:42:\nauditor:x:1001:\n");
        root.write("/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
        root.write("/usr/share/ssh/sshd_config", "PermitRootLogin no\n#PermitRootLogin yes\nPasswordAuthentication yes\n");
        // Absolute link: must resolve inside the root, never to the host's /usr/share/ssh.
        root.symlink("/usr/share/ssh/sshd_config", "/etc/ssh/sshd_config");
        root.symlink("/nonexistent/target", "/etc/dangling");
        root.mkdir("/var/log/audit", 0750);
    }
    TempRoot root;
};

TEST_F(CoreFiles, ExistsByType) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/shadow"}}), Status::pass, "file_present", "/etc/shadow");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/shadow"}, {"type", "file"}}), Status::pass, "file_present");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/var/log/audit"}, {"type", "directory"}}), Status::pass,
                   "file_present");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/var/log/audit"}, {"type", "file"}}), Status::fail,
                   "file_wrong_type", "is a directory", "expected a regular file");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/nothing"}}), Status::fail, "file_missing",
                   "/etc/nothing", "does not exist");
}

TEST_F(CoreFiles, ExistsFollowsSymlinksInsideRoot) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/ssh/sshd_config"}, {"type", "file"}}), Status::pass,
                   "file_present", "symbolic link to \"/usr/share/ssh/sshd_config\"");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/ssh/sshd_config"}, {"type", "symlink"}}), Status::pass,
                   "file_present");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/shadow"}, {"type", "symlink"}}), Status::fail,
                   "file_wrong_type", "is a regular file", "expected a symbolic link");
    // A dangling link exists as an entry but not as a file.
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/dangling"}}), Status::pass, "file_present");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/etc/dangling"}, {"type", "file"}}), Status::fail,
                   "symlink_dangling", "/nonexistent/target");
}

TEST_F(CoreFiles, Absent) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_absent", {{"path", "/etc/hosts.equiv"}}), Status::pass, "file_absent");
    EXPECT_OUTCOME(h.run("core.file_absent", {{"path", "/etc/shadow"}}), Status::fail, "file_present",
                   "/etc/shadow", "a regular file");
    EXPECT_OUTCOME(h.run("core.file_absent", {{"path", "/etc/dangling"}}), Status::fail, "file_present");
    EXPECT_OUTCOME(h.run("core.file_absent", {{"path", "/etc/dangling"}, {"type", "file"}}), Status::pass,
                   "file_absent", "dangling");
    EXPECT_OUTCOME(h.run("core.file_absent", {{"path", "/var/log/audit"}, {"type", "file"}}), Status::pass,
                   "file_absent");
    EXPECT_OUTCOME(h.run("core.file_absent", {{"path", "/var/log/audit"}, {"type", "directory"}}), Status::fail,
                   "file_present");
}

TEST_F(CoreFiles, PermissionsModes) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"max_mode", "0640"}}), Status::pass,
                   "permissions_ok", "0640");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"max_mode", "0600"}}), Status::fail,
                   "mode_too_permissive", "/etc/shadow", "mode 0640", "bits 0040", "allowed 0600");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"mode", "640"}}), Status::pass,
                   "permissions_ok");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"mode", "0000"}}), Status::fail,
                   "mode_mismatch", "mode is 0640", "expected exactly 0000");
    // Through a symbolic link: the target's mode.
    root.chmod("/usr/share/ssh/sshd_config", 0604);
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/ssh/sshd_config"}, {"max_mode", "0600"}}),
                   Status::fail, "mode_too_permissive", "0604", "bits 0004");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/missing"}, {"mode", "0600"}}), Status::fail,
                   "file_missing");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/missing"}, {"mode", "0600"}, {"missing", "pass"}}),
                   Status::pass, "file_missing");
}

TEST_F(CoreFiles, PermissionsOwnersFromTheRootsUserDatabase) {
    ASSERT_EQ(::chown((root / "/etc/shadow").c_str(), 0, 42), 0);
    ASSERT_EQ(::chown((root / "/var/log/audit").c_str(), 1001, 1001), 0);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"owner", "root"}, {"group", "shadow"}}),
                   Status::pass, "permissions_ok", "owner root (uid 0)", "group shadow (gid 42)");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"owner", 0}, {"group", "42"}}),
                   Status::pass, "permissions_ok");
    // "auditor" exists only in the fixture's /etc/passwd (uid 1001), not on the host running the test.
    auto o = h.run("core.file_permissions", {{"path", "/var/log/audit"}, {"owner", "root"}, {"group", "root"}});
    EXPECT_OUTCOME(o, Status::fail, "owner_mismatch", "owner is auditor (uid 1001)", "expected root (uid 0, /etc/passwd:1)");
    EXPECT_TRUE(has_reason(o, "group_mismatch", {"group is auditor (gid 1001)", "expected root (gid 0, /etc/group:1)"}))
        << describe(o);
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/var/log/audit"}, {"owner", "sshd"}}), Status::fail,
                   "owner_mismatch", "expected sshd (uid 105, /etc/passwd:3)");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"owner", "nobody-here"}}), Status::error,
                   "unknown_user", "nobody-here", "/etc/passwd");
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/etc/shadow"}, {"group", "wheel"}}), Status::error,
                   "unknown_group", "wheel", "/etc/group");
}

// The persistent journal directory as the cis baseline checks it (formerly journald.var_log_journal): a setgid
// directory whose group exists only in the root's own /etc/group.
class CoreJournalDirectory : public ::testing::Test {
protected:
    void SetUp() override {
        root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        root.write("/etc/group", "root:x:0:\nadm:x:4:\nsystemd-journal:x:999:\n");
        root.mkdir("/var/log/journal", 02755);
        root.chmod("/var/log/journal", 02755);
        ASSERT_EQ(::chown((root / "/var/log/journal").c_str(), 0, 999), 0);
    }
    nlohmann::json args(const std::string& max_mode) const {
        return {{"path", "/var/log/journal"}, {"max_mode", max_mode}, {"owner", "root"}, {"group", "systemd-journal"}};
    }
    TempRoot root;
};

TEST_F(CoreJournalDirectory, SetgidDirectoryWithinMaximum) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/var/log/journal"}, {"type", "directory"}}), Status::pass,
                   "file_present", "is a directory");
    EXPECT_OUTCOME(h.run("core.file_permissions", args("2755")), Status::pass, "permissions_ok", "mode 2755 within 2755",
                   "owner root (uid 0)", "group systemd-journal (gid 999)");
    EXPECT_OUTCOME(h.run("core.file_permissions", args("2750")), Status::fail, "mode_too_permissive",
                   "/var/log/journal", "mode 2755", "bits 0005", "allowed 2750");
    // The setgid bit itself, so that journal files inherit the group: an exact mode.
    EXPECT_OUTCOME(h.run("core.file_permissions", {{"path", "/var/log/journal"}, {"mode", "2755"}}), Status::pass,
                   "permissions_ok", "mode 2755");
    root.chmod("/var/log/journal", 0755);
    ModuleHarness h2(root.path());
    EXPECT_OUTCOME(h2.run("core.file_permissions", {{"path", "/var/log/journal"}, {"mode", "2755"}}), Status::fail,
                   "mode_mismatch", "mode is 0755", "expected exactly 2755");
}

TEST_F(CoreJournalDirectory, WrongModeOwnerAndGroup) {
    root.chmod("/var/log/journal", 0777);
    ASSERT_EQ(::chown((root / "/var/log/journal").c_str(), 65534, 4), 0);
    ModuleHarness h(root.path());
    auto o = h.run("core.file_permissions", args("2755"));
    EXPECT_OUTCOME(o, Status::fail, "mode_too_permissive", "mode 0777", "bits 0022", "allowed 2755");
    EXPECT_EQ(o.reasons.size(), 3u) << describe(o);
    EXPECT_TRUE(has_reason(o, "owner_mismatch", {"owner is nobody (uid 65534)", "expected root (uid 0, /etc/passwd:1)"}))
        << describe(o);
    // gid 4 and 999 are named by the root's /etc/group, not the host's.
    EXPECT_TRUE(has_reason(o, "group_mismatch", {"group is adm (gid 4)", "expected systemd-journal (gid 999, /etc/group:3)"}))
        << describe(o);
}

TEST_F(CoreJournalDirectory, MissingNotADirectoryAndUnknownGroup) {
    TempRoot empty;
    empty.write("/etc/group", "root:x:0:\n");
    empty.write("/var/log/journal2", "file");
    ModuleHarness h(empty.path());
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/var/log/journal"}, {"type", "directory"}}), Status::fail,
                   "file_missing", "/var/log/journal", "expected a directory");
    EXPECT_OUTCOME(h.run("core.file_permissions", args("2755")), Status::fail, "file_missing", "/var/log/journal");
    EXPECT_OUTCOME(h.run("core.file_exists", {{"path", "/var/log/journal2"}, {"type", "directory"}}), Status::fail,
                   "file_wrong_type", "is a regular file", "expected a directory");
    empty.mkdir("/var/log/journal", 02755);
    ModuleHarness h2(empty.path());
    EXPECT_OUTCOME(h2.run("core.file_permissions", {{"path", "/var/log/journal"}, {"group", "systemd-journal"}}),
                   Status::error, "unknown_group", "systemd-journal", "/etc/group");
}

TEST(CoreFilesSchema, PermissionsRejectsNonOctalModes) {
    TempRoot root;
    ModuleHarness h(root.path());
    const auto* module = h.registry().module("core");
    ASSERT_NE(module, nullptr);
    const auto* proc = module->procedure("file_permissions");
    ASSERT_NE(proc, nullptr);
    EXPECT_FALSE(proc->validator.validate({{"path", "/var/log/journal"}, {"max_mode", "999"}}).empty());
    EXPECT_TRUE(proc->validator.validate({{"path", "/var/log/journal"}, {"max_mode", "2755"}}).empty());
}

TEST_F(CoreFiles, RegexPerLine) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "^PermitRootLogin\\s+no"},
                                             {"expect", "match"}}),
                   Status::pass, "pattern_found", "/etc/ssh/sshd_config:1");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "^PasswordAuthentication\\s+yes"},
                                             {"expect", "nomatch"}}),
                   Status::fail, "pattern_found", "/etc/ssh/sshd_config:3", "PasswordAuthentication yes");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "PermitRootLogin"},
                                             {"expect", "match"}, {"min_count", 3}}),
                   Status::fail, "too_few_matches", "2 matching lines", "at least 3");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "^permitrootlogin"},
                                             {"expect", "match"}}),
                   Status::fail, "pattern_not_found");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "^permitrootlogin"},
                                             {"expect", "match"}, {"case_insensitive", true}}),
                   Status::pass, "pattern_found");
}

TEST_F(CoreFiles, RegexMultilineMissingAndInvalid) {
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "no\\n#Permit"},
                                             {"expect", "match"}, {"multiline", true}}),
                   Status::pass, "pattern_found", "/etc/ssh/sshd_config:1");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/ssh/sshd_config"}, {"pattern", "^#Permit.*$"},
                                             {"expect", "nomatch"}, {"multiline", true}}),
                   Status::fail, "pattern_found", "/etc/ssh/sshd_config:2");
    // A missing file has no lines: nomatch holds, match does not, unless told otherwise.
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/hosts.equiv"}, {"pattern", "^\\+"}, {"expect", "nomatch"}}),
                   Status::pass, "pattern_not_found", "missing, treated as empty");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/hosts.equiv"}, {"pattern", "x"}, {"expect", "match"}}),
                   Status::fail, "pattern_not_found");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/hosts.equiv"}, {"pattern", "x"}, {"expect", "nomatch"},
                                             {"missing", "fail"}}),
                   Status::fail, "file_missing");
    EXPECT_OUTCOME(h.run("core.file_regex", {{"path", "/etc/shadow"}, {"pattern", "(unclosed"}, {"expect", "match"}}),
                   Status::error, "invalid_pattern", "(unclosed");
}

}  // namespace
