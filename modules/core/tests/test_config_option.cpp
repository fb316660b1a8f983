// core.config_option on fixture roots.
#include "core_test_util.hpp"

using namespace plumb;
using namespace plumb::test;

namespace {

const nlohmann::json kSshd = {{"separator", "whitespace"}, {"case_insensitive_keys", true}, {"first_wins", true}};

TEST(CoreConfigOption, EqualsWithFirstWinsAndDropIns) {
    TempRoot root;
    root.write("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n"
                                       "# PermitRootLogin yes\n"
                                       "PermitRootLogin no\n"
                                       "permitrootlogin yes\n"
                                       "PasswordAuthentication no\n"
                                       "MaxAuthTries 4\n");
    root.write("/etc/ssh/sshd_config.d/50-cloud-init.conf", "PasswordAuthentication yes\n");
    root.write("/etc/ssh/sshd_config.d/README", "PermitRootLogin yes\n");  // not *.conf: ignored
    ModuleHarness h(root.path());

    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/ssh/sshd_config"}, {"key", "PermitRootLogin"},
                                                {"equals", "no"}, {"syntax", kSshd}}),
                   Status::pass, "value_ok", "/etc/ssh/sshd_config:3");
    // Without the drop-in directory the main file's value wins...
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/ssh/sshd_config"}, {"key", "passwordauthentication"},
                                                {"equals", "no"}, {"syntax", kSshd}}),
                   Status::pass, "value_ok");
    // ...with it, the drop-in included at the top comes first and wins.
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/ssh/sshd_config"}, {"key", "PasswordAuthentication"},
                                                {"equals", "no"}, {"syntax", kSshd},
                                                {"include_dir", "/etc/ssh/sshd_config.d"}}),
                   Status::fail, "value_mismatch", "/etc/ssh/sshd_config.d/50-cloud-init.conf:1", "\"yes\"",
                   "expected \"no\"");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/ssh/sshd_config"}, {"key", "PermitRootLogin"},
                                                {"equals", "no"}, {"syntax", kSshd},
                                                {"include_dir", "/etc/ssh/sshd_config.d"}}),
                   Status::pass, "value_ok", "/etc/ssh/sshd_config:3");
}

TEST(CoreConfigOption, LastWinsOneOfAndIntegers) {
    TempRoot root;
    root.write("/etc/audit/auditd.conf", "max_log_file = 8\nmax_log_file_action = ROTATE\nspace_left_action = email\n"
                                         "max_log_file = 32\nnum_logs = many\n");
    ModuleHarness h(root.path());
    const nlohmann::json syntax = {{"separator", "equals"}, {"case_insensitive_keys", true}};
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/audit/auditd.conf"}, {"key", "max_log_file"},
                                                {"at_least", 16}, {"syntax", syntax}}),
                   Status::pass, "value_ok", "/etc/audit/auditd.conf:4");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/audit/auditd.conf"}, {"key", "max_log_file"},
                                                {"at_least", 8}, {"at_most", 16}, {"syntax", syntax}}),
                   Status::fail, "value_too_high", "/etc/audit/auditd.conf:4", "is 32", "at most 16");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/audit/auditd.conf"}, {"key", "max_log_file"},
                                                {"at_least", 64}, {"syntax", syntax}}),
                   Status::fail, "value_too_low", "is 32", "at least 64");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/audit/auditd.conf"}, {"key", "num_logs"},
                                                {"at_least", 5}, {"syntax", syntax}}),
                   Status::fail, "value_not_integer", "/etc/audit/auditd.conf:5", "\"many\"");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/audit/auditd.conf"}, {"key", "space_left_action"},
                                                {"one_of", {"EMAIL", "exec", "single", "halt"}},
                                                {"case_insensitive_values", true}, {"syntax", syntax}}),
                   Status::pass, "value_ok", "\"email\"");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/audit/auditd.conf"}, {"key", "space_left_action"},
                                                {"one_of", {"EMAIL", "halt"}}, {"syntax", syntax}}),
                   Status::fail, "value_mismatch", "\"email\"", "one of \"EMAIL\", \"halt\"");
}

TEST(CoreConfigOption, MissingKeyOrFile) {
    TempRoot root;
    root.write("/etc/default/useradd", "SHELL=/bin/sh\n");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/default/useradd"}, {"key", "INACTIVE"}, {"at_most", 30}}),
                   Status::fail, "option_missing", "INACTIVE is not set in /etc/default/useradd", "at most 30");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/default/useradd"}, {"key", "INACTIVE"}, {"at_most", 30},
                                                {"missing", "pass"}}),
                   Status::pass, "option_missing");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/login.defs"}, {"key", "UMASK"}, {"equals", "027"}}),
                   Status::fail, "option_missing", "none of /etc/login.defs exists");
}

TEST(CoreConfigOption, QuotedValuesThroughASymlink) {
    TempRoot root;
    root.write("/usr/lib/os-release", "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n");
    root.symlink("../usr/lib/os-release", "/etc/os-release");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/os-release"}, {"key", "VERSION_ID"}, {"equals", "12"},
                                                {"syntax", {{"strip_quotes", true}}}}),
                   Status::pass, "value_ok", "/etc/os-release:3");
    EXPECT_OUTCOME(h.run("core.config_option", {{"path", "/etc/os-release"}, {"key", "VERSION_ID"}, {"equals", "12"}}),
                   Status::fail, "value_mismatch", "\"\\\"12\\\"\"");
}

}  // namespace
