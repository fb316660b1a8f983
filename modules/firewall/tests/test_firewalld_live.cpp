// The firewalld procedures against the REAL firewalld (Debian 12 package firewalld, 1.3): a private dbus-daemon
// (PrivateBus) that firewalld owns org.fedoraproject.FirewallD1 on, and firewalld itself started with --nofork
// --nopid, its configuration directories pointed into a temporary root (--system-config ROOT/etc/firewalld,
// --default-config ROOT/usr/lib/firewalld, the vendor files copied from this machine's package), inside a private
// network namespace (its nftables ruleset is that namespace's, never the host's) and a private mount namespace with
// its own /run (firewalld's /run/firewalld stays private too). The procedures run as on a live host (FakeHost live)
// whose files are that same root, and reach firewalld through PLUMB_SYSTEM_BUS_ADDRESS.
//
// Skipped, with the reason, when firewalld is not installed or namespaces cannot be created (not root).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include "fake_systemd.hpp"
#include "firewalld.hpp"
#include "plumb_test.hpp"
#include "test_firewalld_host.hpp"

extern char** environ;

namespace fwd = plumb::firewall::firewalld;
using nlohmann::json;
using plumb::test::FakeHost;
using plumb::test::FakeOutcome;
using plumb::test::PrivateBus;
using plumb::test::TempRoot;

namespace {

constexpr const char* kFirewalld = "/usr/sbin/firewalld";
constexpr int kNamespaceFailed = 77;

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

plumb_status reload_as_procedure(plumb::sdk::Host& h, const json&, plumb::sdk::Reporter& r) {
    return fwd::firewalld_reload(h, r) == 0 ? PLUMB_STATUS_PASS : PLUMB_STATUS_ERROR;
}

class FirewalldLive : public ::testing::Test {
protected:
    void SetUp() override {
        if (::access(kFirewalld, X_OK) != 0) GTEST_SKIP() << kFirewalld << " is not installed (Debian: apt-get install firewalld)";
        if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
        namespace fs = std::filesystem;
        fs::create_directories(root_ / "usr/lib");
        fs::copy("/usr/lib/firewalld", root_ / "usr/lib/firewalld", fs::copy_options::recursive);
        root_.write("/etc/firewalld/firewalld.conf",
                    "# test configuration\nDefaultZone=public\nFirewallBackend=nftables\nCleanupModulesOnExit=no\nLogDenied=off\n");
        bus_ = std::make_unique<PrivateBus>();
        const char* old = std::getenv("PLUMB_SYSTEM_BUS_ADDRESS");
        if (old) saved_address_ = old;
        ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", bus_->address().c_str(), 1);
        start();
    }

    void TearDown() override {
        stop();
        if (saved_address_) ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", saved_address_->c_str(), 1);
        else ::unsetenv("PLUMB_SYSTEM_BUS_ADDRESS");
    }

    void start() {
        const std::string log = root_ / "firewalld.log";
        const std::string etc = root_ / "etc/firewalld", usr = root_ / "usr/lib/firewalld";
        // The environment for firewalld, built before fork (the child only calls async-signal-safe functions).
        std::vector<std::string> env_store;
        for (char** e = environ; *e; ++e)
            if (!std::string_view(*e).starts_with("DBUS_SYSTEM_BUS_ADDRESS=")) env_store.emplace_back(*e);
        env_store.push_back("DBUS_SYSTEM_BUS_ADDRESS=" + bus_->address());
        std::vector<char*> envp;
        for (auto& e : env_store) envp.push_back(e.data());
        envp.push_back(nullptr);
        const bool private_run = !root_.path().starts_with("/run/");
        pid_ = ::fork();
        ASSERT_GE(pid_, 0);
        if (pid_ == 0) {
            int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            if (::unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) ::_exit(kNamespaceFailed);
            // Mounts stay in this namespace; firewalld's /run is an empty tmpfs of its own.
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(kNamespaceFailed);
            if (private_run && ::mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) ::_exit(kNamespaceFailed);
            const char* argv[] = {kFirewalld, "--nofork", "--nopid", "--system-config", etc.c_str(), "--default-config", usr.c_str(),
                                  "--log-target", "console", nullptr};
            ::execve(kFirewalld, const_cast<char* const*>(argv), envp.data());
            ::_exit(127);
        }
        // Up when it answers RUNNING on the bus (a couple of seconds: firewalld is Python).
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (std::chrono::steady_clock::now() < deadline) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                if (WIFEXITED(status) && WEXITSTATUS(status) == kNamespaceFailed)
                    GTEST_SKIP() << "cannot create network and mount namespaces here";
                FAIL() << "firewalld exited (status " << status << "):\n" << slurp(log);
            }
            auto bus = fwd::Bus::connect();
            if (bus) {
                auto running = (*bus)->firewalld_running();
                if (running && *running) {
                    auto state = (*bus)->state();
                    if (state && *state == "RUNNING") return;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        FAIL() << "firewalld did not reach state RUNNING within 60 s:\n" << slurp(log);
    }

    void stop() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) {
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
                pid_ = -1;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }

    std::unique_ptr<fwd::Bus> bus() {
        auto b = fwd::Bus::connect();
        EXPECT_TRUE(b) << (b ? "" : b.error().message);
        return b ? std::move(*b) : nullptr;
    }

    // A firewalld method the procedures never call (runtime-only changes made by an operator).
    // addService(zone, service, timeout) / removeService(zone, service)
    void call_zone(const char* method, const char* zone, const char* item) {
        const bool timeout = std::string_view(method).starts_with("add");
        sd_bus* b = nullptr;
        ASSERT_GE(sd_bus_new(&b), 0);
        sd_bus_set_address(b, bus_->address().c_str());
        sd_bus_set_bus_client(b, 1);
        ASSERT_GE(sd_bus_start(b), 0);
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char* iface = "org.fedoraproject.FirewallD1.zone";
        int rc = timeout ? sd_bus_call_method(b, "org.fedoraproject.FirewallD1", "/org/fedoraproject/FirewallD1", iface, method, &e,
                                              nullptr, "ssi", zone, item, 0)
                         : sd_bus_call_method(b, "org.fedoraproject.FirewallD1", "/org/fedoraproject/FirewallD1", iface, method, &e,
                                              nullptr, "ss", zone, item);
        EXPECT_GE(rc, 0) << method << ": " << (e.message ? e.message : "");
        sd_bus_error_free(&e);
        sd_bus_flush_close_unref(b);
    }

    std::string log() { return slurp(root_ / "firewalld.log"); }
    // The bus address as the reasons show it (without the guid).
    std::string shown_address() const { return bus_->address().substr(0, bus_->address().find(",guid=")); }

    TempRoot root_;
    std::unique_ptr<PrivateBus> bus_;
    pid_t pid_ = -1;
    std::optional<std::string> saved_address_;
};

}  // namespace

TEST_F(FirewalldLive, RuntimeAndDefaultZoneAgreeWithTheFiles) {
    FakeHost fh(root_.path(), true);
    auto rt = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(rt.status, PLUMB_STATUS_PASS) << rt.text() << log();
    EXPECT_TRUE(rt.has("runtime_ok", {"RUNNING on " + shown_address(), "default zone public (DefaultZone=public at /etc/firewalld/firewalld.conf:2)",
                                      "service ssh", "/usr/lib/firewalld/zones/public.xml", "interface lo in zone (none)"}))
        << rt.text();
    auto dz = fh.audit(fwd::default_zone, {{"zone", "public"}});
    EXPECT_EQ(dz.status, PLUMB_STATUS_PASS) << dz.text();
    EXPECT_TRUE(dz.has("runtime_ok", {"firewalld runs with default zone public (getDefaultZone on " + shown_address() + ")"})) << dz.text();
    auto other = fh.audit(fwd::default_zone, {{"zone", "drop"}});
    EXPECT_EQ(other.status, PLUMB_STATUS_FAIL);
    EXPECT_TRUE(other.has("runtime_mismatch", {"firewalld runs with default zone public", "expected drop"})) << other.text();
}

TEST_F(FirewalldLive, AnEditWithoutReloadIsFoundAndTheReloadActionFixesIt) {
    FakeHost fh(root_.path(), true);
    root_.write("/etc/firewalld/firewalld.conf", "DefaultZone=home\n");
    auto rt = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(rt.status, PLUMB_STATUS_FAIL) << rt.text();
    EXPECT_TRUE(rt.has("default_zone_differs", {"firewalld runs with default zone public", "the permanent configuration says home",
                                                "DefaultZone=home at /etc/firewalld/firewalld.conf:1"}))
        << rt.text();
    auto dz = fh.audit(fwd::default_zone, {{"zone", "home"}});
    EXPECT_EQ(dz.status, PLUMB_STATUS_FAIL);
    EXPECT_TRUE(dz.has("default_zone_ok")) << dz.text();
    EXPECT_TRUE(dz.has("runtime_mismatch", {"firewalld has not been reloaded since firewalld.conf changed"})) << dz.text();

    // The remediation plans no file (home already has ssh), only the reload.
    auto planned = fh.remediate(fwd::remediate_default_zone, {{"zone", "home"}});
    EXPECT_EQ(planned.status, PLUMB_STATUS_FAIL) << planned.text();
    EXPECT_TRUE(fh.planned().empty());
    ASSERT_EQ(fh.live_actions().size(), 1u);
    EXPECT_EQ(fh.live_actions()[0].name, fwd::kReloadAction);
    EXPECT_EQ(fh.live_actions()[0].payload, json::object());

    auto reload = fh.audit(reload_as_procedure, json::object());
    EXPECT_EQ(reload.status, PLUMB_STATUS_PASS) << reload.text() << log();
    EXPECT_TRUE(reload.has("reloaded", {"state RUNNING"})) << reload.text();
    EXPECT_EQ(fh.audit(fwd::default_zone, {{"zone", "home"}}).status, PLUMB_STATUS_PASS);
    auto after = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(after.status, PLUMB_STATUS_PASS) << after.text();
}

TEST_F(FirewalldLive, FirewalldAcceptsWhatTheRemediationWrites) {
    FakeHost fh(root_.path(), true);
    // default zone work (the vendor work zone has no ssh: it is added), lo in trusted, public allow-listed, drop target
    auto dz = fh.remediate(fwd::remediate_default_zone, {{"zone", "work"}});
    ASSERT_EQ(dz.status, PLUMB_STATUS_FAIL) << dz.text();
    auto lo = fh.remediate(fwd::remediate_loopback_trusted, json::object());
    ASSERT_EQ(lo.status, PLUMB_STATUS_FAIL) << lo.text();
    auto services = fh.remediate(fwd::remediate_zone_services,
                                 {{"zone", "work"}, {"required", {"ssh", "8443/tcp"}}, {"allowed", {"ssh", "8443/tcp"}}});
    ASSERT_EQ(services.status, PLUMB_STATUS_FAIL) << services.text();
    auto target = fh.remediate(fwd::remediate_zone_target, {{"zone", "work"}, {"targets", {"DROP"}}});
    ASSERT_EQ(target.status, PLUMB_STATUS_FAIL) << target.text();
    EXPECT_EQ(fh.live_actions().size(), 1u) << "one reload, however many changes";
    fh.apply();

    auto reload = fh.audit(reload_as_procedure, json::object());
    ASSERT_EQ(reload.status, PLUMB_STATUS_PASS) << reload.text() << log();
    auto b = bus();
    ASSERT_TRUE(b);
    EXPECT_EQ(b->default_zone().value_or("?"), "work");
    EXPECT_EQ(b->zone_of_interface("lo").value_or("?"), "trusted");
    EXPECT_EQ(b->services("work").value_or(std::vector<std::string>{}), std::vector<std::string>{"ssh"});
    auto ports = b->ports("work");
    ASSERT_TRUE(ports) << ports.error().message;
    EXPECT_EQ(*ports, (std::vector<std::pair<std::string, std::string>>{{"8443", "tcp"}}));

    auto dz_after = fh.audit(fwd::default_zone, {{"zone", "work"}});
    EXPECT_EQ(dz_after.status, PLUMB_STATUS_PASS) << dz_after.text();
    auto lo_after = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(lo_after.status, PLUMB_STATUS_PASS) << lo_after.text();
    auto rt = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(rt.status, PLUMB_STATUS_PASS) << rt.text() << log();
    EXPECT_TRUE(rt.has("runtime_ok", {"interface lo in zone trusted", "port 8443/tcp", "service ssh"})) << rt.text();
    EXPECT_EQ(fh.audit(fwd::zone_target, {{"zone", "work"}, {"targets", {"DROP"}}}).status, PLUMB_STATUS_PASS);
    EXPECT_EQ(fh.audit(fwd::zone_services, {{"zone", "work"}, {"allowed", {"ssh", "8443/tcp"}}}).status, PLUMB_STATUS_PASS);
}

TEST_F(FirewalldLive, RuntimeOnlyChangesAreReported) {
    FakeHost fh(root_.path(), true);
    call_zone("addService", "public", "http");
    call_zone("removeService", "public", "dhcpv6-client");
    auto rt = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(rt.status, PLUMB_STATUS_FAIL) << rt.text();
    EXPECT_TRUE(rt.has("zone_differs", {"only in the runtime: service http",
                                        "only in the permanent /usr/lib/firewalld/zones/public.xml: service dhcpv6-client",
                                        "lost at the next reload"}))
        << rt.text();
}

TEST_F(FirewalldLive, AReloadFirewalldRefusesIsAnError) {
    FakeHost fh(root_.path(), true);
    root_.write("/etc/firewalld/zones/bad.xml", "<zone target=\"bogus\"/>\n");
    auto reload = fh.audit(reload_as_procedure, json::object());
    EXPECT_EQ(reload.status, PLUMB_STATUS_ERROR) << reload.text() << log();
    EXPECT_TRUE(reload.has("reload_failed")) << reload.text();
    // the audits say why, with the file
    auto lo = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(lo.status, PLUMB_STATUS_ERROR);
    EXPECT_TRUE(lo.has("zone_unreadable", {"/etc/firewalld/zones/bad.xml:1: invalid zone target \"bogus\""})) << lo.text();
}

TEST_F(FirewalldLive, AStoppedFirewalldIsNotApplicableAndNotReloaded) {
    stop();
    FakeHost fh(root_.path(), true);
    auto rt = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(rt.status, PLUMB_STATUS_NOTAPPLICABLE) << rt.text();
    EXPECT_TRUE(rt.has("firewalld_not_running", {"nothing owns org.fedoraproject.FirewallD1 on " + shown_address()})) << rt.text();
    auto reload = fh.audit(reload_as_procedure, json::object());
    EXPECT_EQ(reload.status, PLUMB_STATUS_PASS) << reload.text();
    auto planned = fh.remediate(fwd::remediate_default_zone, {{"zone", "home"}});
    EXPECT_EQ(planned.status, PLUMB_STATUS_FAIL) << planned.text();
    EXPECT_TRUE(fh.live_actions().empty()) << "firewalld reads the files when it starts";
}
