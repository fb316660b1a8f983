// core.kernel_cmdline on fixture roots: GRUB defaults (with grub.d and shell expansion), BLS entries, /proc/cmdline.
#include "core_test_util.hpp"

using namespace plumb;
using namespace plumb::test;

namespace {

Outcome cmdline(ModuleHarness& h, nlohmann::json args) { return h.run("core.kernel_cmdline", args); }

TEST(CoreKernelCmdline, GrubDefaultsLastOccurrenceWins) {
    TempRoot root;
    root.write("/etc/default/grub", "GRUB_DEFAULT=0\n"
                                    "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet audit=0\"\n"
                                    "GRUB_CMDLINE_LINUX='apparmor=1 security=apparmor'\n");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(cmdline(h, {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}}), Status::fail,
                   "cmdline_value_mismatch", "GRUB defaults", "audit=0",
                   "GRUB_CMDLINE_LINUX_DEFAULT at /etc/default/grub:2", "expected audit=1");
    EXPECT_OUTCOME(cmdline(h, {{"argument", "audit_backlog_limit"}, {"expect", "present"}}), Status::fail,
                   "cmdline_argument_missing", "audit_backlog_limit is not present");
    EXPECT_OUTCOME(cmdline(h, {{"argument", "apparmor"}, {"value", "1"}, {"expect", "present"}}), Status::pass,
                   "cmdline_ok", "GRUB_CMDLINE_LINUX at /etc/default/grub:3");

    root.write("/etc/default/grub.d/50-cis.cfg",
               "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT audit=1 audit_backlog_limit=8192\"\n");
    ModuleHarness h2(root.path());
    EXPECT_OUTCOME(cmdline(h2, {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}}), Status::pass,
                   "cmdline_ok", "audit=1", "/etc/default/grub.d/50-cis.cfg:1", "last of 2 occurrences");
    EXPECT_OUTCOME(cmdline(h2, {{"argument", "audit"}, {"value", "0"}, {"expect", "absent"}}), Status::pass, "cmdline_ok");
    EXPECT_OUTCOME(cmdline(h2, {{"argument", "quiet"}, {"expect", "absent"}}), Status::fail, "cmdline_argument_present",
                   "quiet (no value)");
    EXPECT_OUTCOME(cmdline(h2, {{"argument", "audit_backlog_limit"}, {"value", "8192"}, {"expect", "present"}}),
                   Status::pass, "cmdline_ok");
}

TEST(CoreKernelCmdline, GrubPresentWithWrongValue) {
    TempRoot root;
    root.write("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"ipv6.disable=0 audit=1 audit=0\"\n");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(cmdline(h, {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}}), Status::fail,
                   "cmdline_value_mismatch", "audit=0", "/etc/default/grub:1", "expected audit=1");
    EXPECT_OUTCOME(cmdline(h, {{"argument", "ipv6.disable"}, {"expect", "present"}}), Status::pass, "cmdline_ok");
}

TEST(CoreKernelCmdline, EveryBlsEntryMustComply) {
    TempRoot root;
    root.write("/boot/loader/entries/abc-5.14.0-1.el9.x86_64.conf",
               "title Red Hat Enterprise Linux (5.14.0-1.el9.x86_64) 9.4\nversion 5.14.0-1.el9.x86_64\n"
               "linux /vmlinuz-5.14.0-1.el9.x86_64\noptions root=/dev/mapper/rhel-root ro audit=1 crashkernel=auto\n");
    root.write("/boot/loader/entries/abc-0-rescue.conf",
               "title Rescue\nlinux /vmlinuz-0-rescue\noptions root=/dev/mapper/rhel-root ro\n");
    root.write("/boot/loader/entries/old.conf", "title Old\noptions $kernelopts audit=0\n");
    root.write("/boot/grub2/grubenv", "# GRUB Environment Block\nkernelopts=root=/dev/sda1 ro audit=1\n");
    ModuleHarness h(root.path());
    auto o = cmdline(h, {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}, {"sources", {"bls"}}});
    EXPECT_OUTCOME(o, Status::fail, "cmdline_argument_missing", "BLS entry /boot/loader/entries/abc-0-rescue.conf");
    EXPECT_TRUE(has_reason(o, "cmdline_value_mismatch", {"/boot/loader/entries/old.conf", "audit=0", "last of 2"}))
        << describe(o);
    EXPECT_FALSE(has_reason(o, "cmdline_argument_missing", {"abc-5.14.0-1.el9"})) << describe(o);

    EXPECT_OUTCOME(cmdline(h, {{"argument", "ro"}, {"expect", "present"}, {"sources", {"bls"}}}), Status::pass,
                   "cmdline_ok", "old.conf:2");
    EXPECT_OUTCOME(cmdline(h, {{"argument", "audit"}, {"expect", "present"}, {"sources", {"grub"}}}), Status::error,
                   "source_missing", "/etc/default/grub");
}

TEST(CoreKernelCmdline, ProcIsLiveOnly) {
    TempRoot root;
    root.write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=UUID=1 ro \"acpi_osi=Windows 2020\" audit=1 -- audit=0\n");
    root.write("/etc/default/grub", "GRUB_CMDLINE_LINUX=\"audit=1\"\n");
    {
        ModuleHarness offline(root.path());
        EXPECT_OUTCOME(cmdline(offline, {{"argument", "audit"}, {"expect", "present"}, {"sources", {"proc"}}}),
                       Status::notapplicable, "live_only", "/proc/cmdline");
        // By default offline: the configured sources only.
        auto o = cmdline(offline, {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}});
        EXPECT_OUTCOME(o, Status::pass, "cmdline_ok", "GRUB defaults");
        EXPECT_FALSE(has_reason(o, "cmdline_ok", {"/proc/cmdline"})) << describe(o);
    }
    ModuleHarness live(root.path(), /*live=*/true);
    // Everything after "--" is for init, not the kernel; quotes group a parameter.
    EXPECT_OUTCOME(cmdline(live, {{"argument", "audit"}, {"value", "1"}, {"expect", "present"}, {"sources", {"proc"}}}),
                   Status::pass, "cmdline_ok", "running kernel (/proc/cmdline)");
    EXPECT_OUTCOME(cmdline(live, {{"argument", "acpi_osi"}, {"value", "Windows 2020"}, {"expect", "present"},
                                  {"sources", {"proc"}}}),
                   Status::pass, "cmdline_ok");
    EXPECT_OUTCOME(cmdline(live, {{"argument", "quiet"}, {"expect", "present"}}), Status::fail, "cmdline_argument_missing",
                   "running kernel (/proc/cmdline)");
}

TEST(CoreKernelCmdline, NoSourceIsAnError) {
    TempRoot root;
    root.mkdir("/etc");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(cmdline(h, {{"argument", "audit"}, {"expect", "present"}}), Status::error, "no_cmdline_source");
}

}  // namespace
