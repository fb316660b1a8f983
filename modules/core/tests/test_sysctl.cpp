// core.sysctl on fixture roots: sysctl.d precedence and masking, /etc/sysctl.conf, running values (live).
#include "core_test_util.hpp"

using namespace plumb;
using namespace plumb::test;

namespace {

void write_sysctl(const TempRoot& root) {
    root.write("/usr/lib/sysctl.d/50-default.conf", "net.ipv4.conf.all.rp_filter = 2\nkernel.kptr_restrict = 1\n"
                                                    "net.ipv4.ip_forward = 1\n");
    root.write("/usr/lib/sysctl.d/60-masked.conf", "kernel.randomize_va_space = 0\n");
    root.symlink("/dev/null", "/etc/sysctl.d/60-masked.conf");
    root.write("/usr/lib/sysctl.d/70-overridden.conf", "kernel.yama.ptrace_scope = 0\n");
    root.write("/etc/sysctl.d/70-overridden.conf", "; comment\nkernel/yama/ptrace_scope=2\n");
    root.write("/etc/sysctl.d/90-cis.conf", "# CIS\nnet.ipv4.ip_forward = 0\n-fs.suid_dumpable = 0\n"
                                            "net.ipv4.tcp_rmem = 4096  131072 6291456\n");
    root.write("/etc/sysctl.conf", "kernel.kptr_restrict = 2\n");
}

Outcome sysctl(ModuleHarness& h, nlohmann::json args) { return h.run("core.sysctl", args); }

TEST(CoreSysctl, ConfiguredPrecedence) {
    TempRoot root;
    write_sysctl(root);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(sysctl(h, {{"key", "net.ipv4.ip_forward"}, {"value", 0}}), Status::pass, "sysctl_ok",
                   "/etc/sysctl.d/90-cis.conf:2");
    // /etc/sysctl.conf comes last.
    EXPECT_OUTCOME(sysctl(h, {{"key", "kernel.kptr_restrict"}, {"value", "1"}}), Status::fail, "sysctl_value_mismatch",
                   "/etc/sysctl.conf:1", "is \"2\"", "expected \"1\"");
    // Same file name in /etc masks /usr/lib; slash-separated keys are the same key.
    EXPECT_OUTCOME(sysctl(h, {{"key", "kernel/yama/ptrace_scope"}, {"value", 1}, {"compare", "at_least"}}), Status::pass,
                   "sysctl_ok", "/etc/sysctl.d/70-overridden.conf:2");
    // A /dev/null link masks the vendor file entirely.
    EXPECT_OUTCOME(sysctl(h, {{"key", "kernel.randomize_va_space"}, {"value", 2}}), Status::fail,
                   "sysctl_not_configured", "kernel.randomize_va_space is not set");
    EXPECT_OUTCOME(sysctl(h, {{"key", "fs.suid_dumpable"}, {"value", 0}}), Status::pass, "sysctl_ok");
    EXPECT_OUTCOME(sysctl(h, {{"key", "net.ipv4.conf.all.rp_filter"}, {"value", 1}, {"compare", "at_most"}}),
                   Status::fail, "sysctl_value_too_high", "/usr/lib/sysctl.d/50-default.conf:1", "at most 1");
    EXPECT_OUTCOME(sysctl(h, {{"key", "net.ipv4.tcp_rmem"}, {"value", "4096 131072 6291456"}}), Status::pass, "sysctl_ok");
}

TEST(CoreSysctl, KeyCannotLeaveProcSys) {
    TempRoot root;
    root.write("/etc/shadow", "root:secret:1::::::\n");
    ModuleHarness live(root.path(), /*live=*/true);
    auto o = sysctl(live, {{"key", "net/../../../etc/shadow"}, {"value", 0}, {"source", "running"}});
    EXPECT_OUTCOME(o, Status::error, "invalid_argument", "net/../../../etc/shadow");
    EXPECT_EQ(describe(o).find("secret"), std::string::npos) << describe(o);
}

TEST(CoreSysctl, RunningValueIsLiveOnly) {
    TempRoot root;
    write_sysctl(root);
    root.write("/proc/sys/net/ipv4/ip_forward", "1\n");
    root.write("/proc/sys/net/ipv4/tcp_rmem", "4096\t131072\t6291456\n");
    root.write("/proc/sys/kernel/kptr_restrict", "2\n");
    {
        ModuleHarness offline(root.path());
        EXPECT_OUTCOME(sysctl(offline, {{"key", "net.ipv4.ip_forward"}, {"value", 0}, {"source", "running"}}),
                       Status::notapplicable, "live_only", "/proc/sys/net/ipv4/ip_forward");
    }
    ModuleHarness live(root.path(), /*live=*/true);
    // Both by default when live: configured 0 passes, running 1 fails.
    auto o = sysctl(live, {{"key", "net.ipv4.ip_forward"}, {"value", 0}});
    EXPECT_OUTCOME(o, Status::fail, "sysctl_value_mismatch", "/proc/sys/net/ipv4/ip_forward", "running", "is \"1\"");
    EXPECT_FALSE(has_reason(o, "sysctl_value_mismatch", {"90-cis.conf"})) << describe(o);
    EXPECT_OUTCOME(sysctl(live, {{"key", "net.ipv4.ip_forward"}, {"value", 0}, {"source", "configured"}}), Status::pass,
                   "sysctl_ok");
    EXPECT_OUTCOME(sysctl(live, {{"key", "net/ipv4/tcp_rmem"}, {"value", "4096 131072 6291456"}}), Status::pass,
                   "sysctl_ok", "running");
    EXPECT_OUTCOME(sysctl(live, {{"key", "kernel.kptr_restrict"}, {"value", 2}}), Status::pass, "sysctl_ok");
    EXPECT_OUTCOME(sysctl(live, {{"key", "net.ipv6.conf.all.forwarding"}, {"value", 0}, {"source", "running"}}),
                   Status::error, "sysctl_unavailable", "/proc/sys/net/ipv6/conf/all/forwarding");
}

}  // namespace
