// Unit actions against the shared fake systemd on a private dbus-daemon (PLUMB_SYSTEM_BUS_ADDRESS).
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "fake_systemd.hpp"
#include "plumb/unit_actions.hpp"

using namespace plumb;
using namespace plumb::remediation;
using namespace plumb::test;
using namespace std::chrono_literals;

namespace {

class UnitActions : public ::testing::Test {
protected:
    void SetUp() override { ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", bus_.address().c_str(), 1); }
    void TearDown() override { ::unsetenv("PLUMB_SYSTEM_BUS_ADDRESS"); }

    PrivateBus bus_;
};

std::chrono::milliseconds elapsed_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

TEST_F(UnitActions, JobActionsCallTheirMethodAndWaitForTheJob) {
    const std::pair<const char*, const char*> cases[] = {{"restart", "RestartUnit"},
                                                         {"reload", "ReloadUnit"},
                                                         {"try-restart", "TryRestartUnit"},
                                                         {"start", "StartUnit"},
                                                         {"stop", "StopUnit"}};
    for (const auto& [action, method] : cases) {
        SCOPED_TRACE(action);
        // The job ends well after the method returns: returning early would beat the clock.
        FakeSystemd systemd(bus_.address(), FakeSystemdOptions{.units = {"ssh.service"}, .job_duration = 300ms});
        const auto t0 = std::chrono::steady_clock::now();
        auto r = run_unit_actions({{"ssh.service", action}}, 10000);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_GE(elapsed_since(t0), 300ms);
        EXPECT_EQ(systemd.calls(), (std::vector<BusCall>{{"Subscribe", {}}, {method, {"ssh.service", "replace"}}}));
        EXPECT_EQ(systemd.jobs_finished(), 1u);
    }
}

TEST_F(UnitActions, EnableAndDisableChangeUnitFilesThenReload) {
    FakeSystemd systemd(bus_.address(), FakeSystemdOptions{.unit_file_states = {{"auditd.service", "disabled"},
                                                                                {"avahi-daemon.service", "enabled"}}});
    auto r = run_unit_actions({{"auditd.service", "enable"}, {"avahi-daemon.service", "disable"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(systemd.calls(), (std::vector<BusCall>{{"EnableUnitFiles", {"[auditd.service]", "false", "false"}},
                                                     {"Reload", {}},
                                                     {"DisableUnitFiles", {"[avahi-daemon.service]", "false"}},
                                                     {"Reload", {}}}));
    EXPECT_EQ(systemd.unit_file_state("auditd.service"), "enabled");
    EXPECT_EQ(systemd.unit_file_state("avahi-daemon.service"), "disabled");
}

TEST_F(UnitActions, RunsActionsInOrderOnOneSubscription) {
    FakeSystemd systemd(bus_.address(), FakeSystemdOptions{.units = {"ssh.service", "chronyd.service"}});
    auto r = run_unit_actions(
        {{"chronyd.service", "enable"}, {"chronyd.service", "start"}, {"ssh.service", "reload"}, {"ssh.service", "stop"}});
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(systemd.calls(), (std::vector<BusCall>{{"EnableUnitFiles", {"[chronyd.service]", "false", "false"}},
                                                     {"Reload", {}},
                                                     {"Subscribe", {}},
                                                     {"StartUnit", {"chronyd.service", "replace"}},
                                                     {"ReloadUnit", {"ssh.service", "replace"}},
                                                     {"StopUnit", {"ssh.service", "replace"}}}));
    EXPECT_EQ(systemd.jobs_finished(), 3u);
}

TEST_F(UnitActions, IgnoresTheEndOfOtherJobs) {
    // Each job's JobRemoved is preceded by a failed unrelated job's.
    FakeSystemd systemd(bus_.address(),
                        FakeSystemdOptions{.units = {"ssh.service"}, .unrelated_job_removed_first = true});
    auto r = run_unit_actions({{"ssh.service", "restart"}, {"ssh.service", "try-restart"}});
    EXPECT_TRUE(r) << r.error().message;
}

TEST_F(UnitActions, FailedJobIsAnErrorAndStopsTheRun) {
    FakeSystemd systemd(bus_.address(),
                        FakeSystemdOptions{.units = {"ssh.service"}, .failing_units = {"auditd.service"}});
    auto r = run_unit_actions({{"auditd.service", "restart"}, {"ssh.service", "restart"}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("restart auditd.service"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("\"failed\""), std::string::npos) << r.error().message;
    EXPECT_EQ(systemd.calls_of("RestartUnit"), (std::vector<std::vector<std::string>>{{"auditd.service", "replace"}}));
}

TEST_F(UnitActions, UnknownUnitIsAnErrorWithSystemdsMessage) {
    FakeSystemd systemd(bus_.address(), FakeSystemdOptions{.units = {"ssh.service"}});
    for (const char* action : {"start", "enable", "disable"}) {
        SCOPED_TRACE(action);
        auto r = run_unit_actions({{"telnet.socket", action}});
        ASSERT_FALSE(r);
        EXPECT_NE(r.error().message.find(std::string(action) + " telnet.socket"), std::string::npos) << r.error().message;
        EXPECT_NE(r.error().message.find("org.freedesktop.systemd1.NoSuchUnit"), std::string::npos) << r.error().message;
    }
    EXPECT_TRUE(systemd.calls_of("Reload").empty());  // a failed enable/disable does not reload
}

TEST_F(UnitActions, JobThatNeverEndsTimesOut) {
    FakeSystemd systemd(bus_.address(), FakeSystemdOptions{.units = {"ssh.service"}, .send_job_removed = false});
    const auto t0 = std::chrono::steady_clock::now();
    auto r = run_unit_actions({{"ssh.service", "restart"}}, 400);
    const auto took = elapsed_since(t0);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ETIMEDOUT);
    EXPECT_NE(r.error().message.find("restart ssh.service"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("400 ms"), std::string::npos) << r.error().message;
    EXPECT_GE(took, 400ms);
    EXPECT_LT(took, 5000ms);
}

TEST_F(UnitActions, BadActionListIsRejectedBeforeAnyCall) {
    FakeSystemd systemd(bus_.address(), FakeSystemdOptions{.units = {"ssh.service"}});
    auto r = run_unit_actions({{"ssh.service", "restart"}, {"ssh.service", "mask"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().message.find("\"mask\""), std::string::npos) << r.error().message;
    r = run_unit_actions({{"", "start"}});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_TRUE(systemd.calls().empty());
}

TEST_F(UnitActions, UnreachableBusIsAnError) {
    TempRoot dir;
    const std::string address = "unix:path=" + (dir / "no-such-socket");
    ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", address.c_str(), 1);
    auto r = run_unit_actions({{"ssh.service", "restart"}});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(address), std::string::npos) << r.error().message;
}

TEST(SystemdAvailable, ReportsTheBusOverride) {
    ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", "unix:path=/run/plumb-test/bus", 1);
    std::string why;
    EXPECT_TRUE(systemd_available(&why));
    EXPECT_NE(why.find("PLUMB_SYSTEM_BUS_ADDRESS"), std::string::npos) << why;
    EXPECT_NE(why.find("unix:path=/run/plumb-test/bus"), std::string::npos) << why;

    ::unsetenv("PLUMB_SYSTEM_BUS_ADDRESS");
    const bool booted = std::filesystem::is_directory(std::filesystem::symlink_status("/run/systemd/system"));
    EXPECT_EQ(systemd_available(&why), booted) << why;
    EXPECT_NE(why.find("/run/systemd/system"), std::string::npos) << why;
    EXPECT_EQ(systemd_available(), booted);
}

}  // namespace
