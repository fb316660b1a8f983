// core.unit_state: offline symlink analysis on fixture roots, the live fallback when systemd is not running, and
// the live D-Bus path against a private dbus-daemon and the shared fake systemd (tests/support/fake_systemd.hpp).
#include "core_test_util.hpp"
#include "fake_systemd.hpp"

using namespace plumb;
using namespace plumb::test;

namespace {

// A Debian-like unit tree.
void write_units(const TempRoot& root) {
    root.write("/lib/systemd/system/ssh.service",
               "[Unit]\nDescription=OpenBSD Secure Shell server\n[Service]\nExecStart=/usr/sbin/sshd -D\n"
               "[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n");
    root.symlink("/lib/systemd/system/ssh.service", "/etc/systemd/system/multi-user.target.wants/ssh.service");
    root.symlink("/lib/systemd/system/ssh.service", "/etc/systemd/system/sshd.service");
    root.write("/lib/systemd/system/rsync.service", "[Service]\nExecStart=/usr/bin/rsync --daemon\n"
                                                    "[Install]\nWantedBy=multi-user.target\n");
    root.write("/lib/systemd/system/ctrl-alt-del.target", "[Unit]\nDescription=Reboot\n");
    root.symlink("/dev/null", "/etc/systemd/system/ctrl-alt-del.target");
    root.write("/lib/systemd/system/systemd-journald.service", "[Service]\nExecStart=/lib/systemd/systemd-journald\n");
    root.write("/lib/systemd/system/getty@.service", "[Service]\nExecStart=-/sbin/agetty %I\n"
                                                     "[Install]\nWantedBy=getty.target\n");
    root.symlink("/lib/systemd/system/getty@.service", "/etc/systemd/system/getty.target.wants/getty@tty1.service");
    root.write("/usr/lib/systemd/system/emptied.service", "");
    root.write("/lib/systemd/system/avahi-daemon.service", "[Service]\nExecStart=/usr/sbin/avahi-daemon\n"
                                                           "[Install]\nWantedBy=multi-user.target\nAlso=avahi-daemon.socket\n");
    // A relative link in a wants directory.
    root.write("/lib/systemd/system/auditd.service", "[Service]\nExecStart=/sbin/auditd\n[Install]\nWantedBy=multi-user.target\n");
    root.symlink("../../../../lib/systemd/system/auditd.service", "/etc/systemd/system/multi-user.target.wants/auditd.service");
}

Outcome unit(ModuleHarness& h, const std::string& name, const std::string& state) {
    return h.run("core.unit_state", {{"unit", name}, {"state", state}});
}

class CoreUnitState : public ::testing::Test {
protected:
    void SetUp() override { ::unsetenv("PLUMB_SYSTEM_BUS_ADDRESS"); }
    void TearDown() override { ::unsetenv("PLUMB_SYSTEM_BUS_ADDRESS"); }
};

TEST_F(CoreUnitState, OfflineEnabledDisabledStatic) {
    TempRoot root;
    write_units(root);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(unit(h, "ssh.service", "enabled"), Status::pass, "unit_state_ok", "ssh.service is enabled",
                   "/etc/systemd/system/multi-user.target.wants/ssh.service");
    EXPECT_OUTCOME(unit(h, "ssh", "disabled"), Status::fail, "unit_state_mismatch", "ssh.service is enabled",
                   "expected disabled");
    EXPECT_OUTCOME(unit(h, "auditd", "enabled"), Status::pass, "unit_state_ok", "auditd.service is enabled");
    EXPECT_OUTCOME(unit(h, "rsync.service", "disabled"), Status::pass, "unit_state_ok", "rsync.service is disabled",
                   "has [Install] rules but no unit links");
    EXPECT_OUTCOME(unit(h, "rsync.service", "enabled"), Status::fail, "unit_state_mismatch", "is disabled",
                   "expected enabled");
    EXPECT_OUTCOME(unit(h, "systemd-journald.service", "enabled"), Status::pass, "unit_state_ok", "is static",
                   "no [Install] rules");
    EXPECT_OUTCOME(unit(h, "systemd-journald.service", "disabled"), Status::fail, "unit_state_mismatch", "is static");
    EXPECT_OUTCOME(unit(h, "sshd.service", "enabled"), Status::pass, "unit_state_ok", "is alias", "an alias of ssh.service");
    EXPECT_OUTCOME(unit(h, "avahi-daemon.service", "disabled"), Status::pass, "unit_state_ok", "is disabled");
}

TEST_F(CoreUnitState, OfflineTemplatesAndInstances) {
    TempRoot root;
    write_units(root);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(unit(h, "getty@tty1.service", "enabled"), Status::pass, "unit_state_ok", "getty@tty1.service is enabled");
    EXPECT_OUTCOME(unit(h, "getty@tty2.service", "enabled"), Status::fail, "unit_state_mismatch",
                   "getty@tty2.service is disabled");
    EXPECT_OUTCOME(unit(h, "getty@.service", "enabled"), Status::pass, "unit_state_ok", "is indirect");
}

TEST_F(CoreUnitState, OfflineMasked) {
    TempRoot root;
    write_units(root);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(unit(h, "ctrl-alt-del.target", "masked"), Status::pass, "unit_state_ok", "is masked",
                   "/etc/systemd/system/ctrl-alt-del.target -> /dev/null");
    EXPECT_OUTCOME(unit(h, "ctrl-alt-del.target", "not-masked"), Status::fail, "unit_state_mismatch", "is masked");
    EXPECT_OUTCOME(unit(h, "ctrl-alt-del.target", "disabled"), Status::pass, "unit_state_ok");
    EXPECT_OUTCOME(unit(h, "emptied.service", "masked"), Status::pass, "unit_state_ok", "empty file");
    EXPECT_OUTCOME(unit(h, "ssh.service", "masked"), Status::fail, "unit_state_mismatch", "is enabled", "expected masked");
    EXPECT_OUTCOME(unit(h, "ssh.service", "not-masked"), Status::pass, "unit_state_ok");
}

TEST_F(CoreUnitState, OfflineNotFoundAndRuntime) {
    TempRoot root;
    write_units(root);
    root.write("/usr/lib/systemd/system/chrony.service", "[Install]\nWantedBy=multi-user.target\n");
    root.symlink("/usr/lib/systemd/system/chrony.service", "/run/systemd/system/multi-user.target.wants/chrony.service");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(unit(h, "telnet.socket", "disabled"), Status::pass, "unit_not_found", "no unit file telnet.socket");
    EXPECT_OUTCOME(unit(h, "telnet.socket", "enabled"), Status::fail, "unit_not_found");
    EXPECT_OUTCOME(unit(h, "chrony.service", "enabled"), Status::pass, "unit_state_ok", "is enabled-runtime");
}

TEST_F(CoreUnitState, LiveWithoutSystemdFallsBackToUnitFiles) {
    TempRoot root;
    write_units(root);
    ModuleHarness h(root.path(), /*live=*/true);
    EXPECT_OUTCOME(unit(h, "ssh.service", "enabled"), Status::pass, "unit_state_ok", "systemd is not running",
                   "from the unit files");
}

// ---- live D-Bus path ----

TEST_F(CoreUnitState, LiveAsksSystemdOverDBus) {
    PrivateBus bus;
    FakeSystemd systemd(bus.address(), {{"ssh.service", "enabled"},
                                        {"rsync.service", "disabled"},
                                        {"ctrl-alt-del.target", "masked"},
                                        {"systemd-journald.service", "static"}});
    ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);
    // The root's unit files say otherwise (nothing is enabled there): the answer must come from the bus.
    TempRoot root;
    root.write("/lib/systemd/system/ssh.service", "[Install]\nWantedBy=multi-user.target\n");
    ModuleHarness h(root.path(), /*live=*/true);
    // Messages name the address without its guid.
    const std::string shown = bus.address().substr(0, bus.address().find(",guid="));
    EXPECT_OUTCOME(unit(h, "ssh", "enabled"), Status::pass, "unit_state_ok", "ssh.service is enabled",
                   "GetUnitFileState on " + shown + ")");
    EXPECT_OUTCOME(unit(h, "rsync.service", "enabled"), Status::fail, "unit_state_mismatch", "is disabled");
    EXPECT_OUTCOME(unit(h, "ctrl-alt-del.target", "masked"), Status::pass, "unit_state_ok", "is masked");
    EXPECT_OUTCOME(unit(h, "systemd-journald.service", "disabled"), Status::fail, "unit_state_mismatch", "is static");
    EXPECT_OUTCOME(unit(h, "telnet.socket", "disabled"), Status::pass, "unit_not_found", "telnet.socket is not-found");
    EXPECT_EQ(systemd.calls(), (std::vector<BusCall>{{"GetUnitFileState", {"ssh.service"}},
                                                     {"GetUnitFileState", {"rsync.service"}},
                                                     {"GetUnitFileState", {"ctrl-alt-del.target"}},
                                                     {"GetUnitFileState", {"systemd-journald.service"}},
                                                     {"GetUnitFileState", {"telnet.socket"}}}));
}

TEST_F(CoreUnitState, OfflineIgnoresTheBusOverride) {
    PrivateBus bus;
    FakeSystemd systemd(bus.address(), {{"ssh.service", "disabled"}});
    ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);
    TempRoot root;
    write_units(root);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(unit(h, "ssh.service", "enabled"), Status::pass, "unit_state_ok", "multi-user.target.wants");
    EXPECT_TRUE(systemd.calls().empty());
}

TEST_F(CoreUnitState, LiveBusFailureIsAnError) {
    TempRoot dir;
    ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", ("unix:path=" + (dir / "no-such-socket")).c_str(), 1);
    TempRoot root;
    write_units(root);
    ModuleHarness h(root.path(), /*live=*/true);
    EXPECT_OUTCOME(unit(h, "ssh.service", "enabled"), Status::error, "systemd_query_failed", "no-such-socket");
}

}  // namespace
