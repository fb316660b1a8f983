// core.unit_state: offline symlink analysis on fixture roots, the live fallback when systemd is not running, and
// the live D-Bus path against a private dbus-daemon with a small GetUnitFileState service in a thread.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

#include <systemd/sd-bus.h>

#include "core_test_util.hpp"

extern char** environ;

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

class PrivateBus {
public:
    PrivateBus() {
        config_ = dir_ / "bus.conf";
        socket_ = dir_ / "bus.socket";
        dir_.write("bus.conf",
                   "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                   " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                   "<busconfig>\n  <type>custom</type>\n  <listen>unix:path=" + socket_ + "</listen>\n"
                   "  <auth>EXTERNAL</auth>\n"
                   "  <policy context=\"default\">\n    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n"
                   "    <allow send_destination=\"*\"/>\n    <allow receive_sender=\"*\"/>\n  </policy>\n</busconfig>\n");
        int fds[2];
        if (::pipe(fds) != 0) throw std::runtime_error("pipe");
        ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
        std::string print = "--print-address=" + std::to_string(fds[1]);
        std::string conf = "--config-file=" + config_;
        const char* argv[] = {"dbus-daemon", "--nofork", conf.c_str(), print.c_str(), nullptr};
        int rc = ::posix_spawnp(&pid_, "dbus-daemon", nullptr, nullptr, const_cast<char* const*>(argv), environ);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            throw std::runtime_error("cannot start dbus-daemon");
        }
        // The daemon prints its address once it listens.
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, 10000) == 1) {
            char buf[512];
            ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
            if (n > 0) address_.assign(buf, static_cast<std::size_t>(n));
        }
        ::close(fds[0]);
        while (!address_.empty() && (address_.back() == '\n' || address_.back() == ' ')) address_.pop_back();
        if (address_.empty()) throw std::runtime_error("dbus-daemon did not print its address");
    }
    ~PrivateBus() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    const std::string& address() const { return address_; }

private:
    TempRoot dir_;
    std::string config_, socket_, address_;
    pid_t pid_ = -1;
};

// Answers org.freedesktop.systemd1.Manager.GetUnitFileState from a table and records the calls.
class FakeSystemd {
public:
    FakeSystemd(const std::string& address, std::map<std::string, std::string> table) : table_(std::move(table)) {
        static const sd_bus_vtable kVtable[] = {
            SD_BUS_VTABLE_START(0),
            SD_BUS_METHOD("GetUnitFileState", "s", "s", &FakeSystemd::get_unit_file_state, SD_BUS_VTABLE_UNPRIVILEGED),
            SD_BUS_VTABLE_END,
        };
        int r = sd_bus_new(&bus_);
        if (r >= 0) r = sd_bus_set_address(bus_, address.c_str());
        if (r >= 0) r = sd_bus_set_bus_client(bus_, 1);
        if (r >= 0) r = sd_bus_start(bus_);
        if (r >= 0) r = sd_bus_add_object_vtable(bus_, nullptr, "/org/freedesktop/systemd1",
                                                 "org.freedesktop.systemd1.Manager", kVtable, this);
        if (r >= 0) r = sd_bus_request_name(bus_, "org.freedesktop.systemd1", 0);
        if (r < 0) throw std::runtime_error(std::string("fake systemd: ") + std::strerror(-r));
        thread_ = std::thread([this] {
            while (!stop_) {
                int r = sd_bus_process(bus_, nullptr);
                if (r < 0) break;
                if (r == 0) sd_bus_wait(bus_, 100 * 1000);
            }
        });
    }
    ~FakeSystemd() {
        stop_ = true;
        thread_.join();
        sd_bus_flush_close_unref(bus_);
    }
    std::vector<std::string> calls() {
        std::lock_guard lock(mutex_);
        return calls_;
    }

private:
    static int get_unit_file_state(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        auto* self = static_cast<FakeSystemd*>(userdata);
        const char* name = nullptr;
        int r = sd_bus_message_read(m, "s", &name);
        if (r < 0) return r;
        {
            std::lock_guard lock(self->mutex_);
            self->calls_.emplace_back(name);
        }
        auto it = self->table_.find(name);
        if (it == self->table_.end())
            return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND, "No such file or directory");
        return sd_bus_reply_method_return(m, "s", it->second.c_str());
    }

    sd_bus* bus_ = nullptr;
    std::map<std::string, std::string> table_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mutex_;
    std::vector<std::string> calls_;
};

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
    EXPECT_OUTCOME(unit(h, "ssh", "enabled"), Status::pass, "unit_state_ok", "ssh.service is enabled",
                   "GetUnitFileState on " + bus.address());
    EXPECT_OUTCOME(unit(h, "rsync.service", "enabled"), Status::fail, "unit_state_mismatch", "is disabled");
    EXPECT_OUTCOME(unit(h, "ctrl-alt-del.target", "masked"), Status::pass, "unit_state_ok", "is masked");
    EXPECT_OUTCOME(unit(h, "systemd-journald.service", "disabled"), Status::fail, "unit_state_mismatch", "is static");
    EXPECT_OUTCOME(unit(h, "telnet.socket", "disabled"), Status::pass, "unit_not_found", "telnet.socket is not-found");
    EXPECT_EQ(systemd.calls(), (std::vector<std::string>{"ssh.service", "rsync.service", "ctrl-alt-del.target",
                                                        "systemd-journald.service", "telnet.socket"}));
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
