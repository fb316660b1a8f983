// A stand-in for systemd on D-Bus, shared by every test that talks to org.freedesktop.systemd1: a real dbus-daemon on
// a private unix socket, and a Manager service (served over sd-bus from a thread) that answers the methods plumb
// uses, runs "jobs" that end with a JobRemoved signal, and records every call for assertions.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "plumb_test.hpp"

namespace plumb::test {

// dbus-daemon --nofork with a generated configuration listening on a socket in a temporary directory; stopped
// (SIGTERM, reaped) when the object dies. Throws std::runtime_error when the daemon cannot be started.
class PrivateBus {
public:
    PrivateBus();
    ~PrivateBus();
    PrivateBus(const PrivateBus&) = delete;
    PrivateBus& operator=(const PrivateBus&) = delete;

    const std::string& address() const { return address_; }  // "unix:path=...,guid=..."

private:
    TempRoot dir_;
    std::string address_;
    int pid_ = -1;
};

// One method call the fake received. Arguments are rendered as text: strings and object paths as they are, booleans
// "true"/"false", integers in decimal, arrays as "[a, b]".
struct BusCall {
    std::string method;
    std::vector<std::string> args;
    bool operator==(const BusCall&) const = default;
};
void PrintTo(const BusCall& call, std::ostream* os);  // for gtest messages

struct FakeSystemdOptions {
    // GetUnitFileState answers; other names get org.freedesktop.DBus.Error.FileNotFound, as systemd answers.
    // EnableUnitFiles / DisableUnitFiles update the state of the units they name.
    std::map<std::string, std::string> unit_file_states{};
    // Units the job and unit-file methods know (besides those in unit_file_states and failing_units); others get
    // org.freedesktop.systemd1.NoSuchUnit.
    std::set<std::string> units{};
    // Jobs for these units end with result "failed" instead of "done".
    std::set<std::string> failing_units{};
    // false: jobs never finish (no JobRemoved), like a Manager whose job hangs.
    bool send_job_removed = true;
    // How long after the method reply a job ends.
    std::chrono::milliseconds job_duration{0};
    // Before each job's own JobRemoved, announce the end of an unrelated failed job, which a client must ignore.
    bool unrelated_job_removed_first = false;
};

// Owns the name org.freedesktop.systemd1 on the bus at `address` and serves /org/freedesktop/systemd1
// (org.freedesktop.systemd1.Manager): GetUnitFileState, StartUnit, StopUnit, RestartUnit, ReloadUnit, TryRestartUnit,
// EnableUnitFiles, DisableUnitFiles, Reload, Subscribe. As in systemd, JobRemoved is only emitted once some client
// has called Subscribe. Throws std::runtime_error when it cannot connect or take the name.
class FakeSystemd {
public:
    FakeSystemd(const std::string& address, FakeSystemdOptions options);
    // Just answers GetUnitFileState from a table. The initializer_list form makes FakeSystemd(a, {{"x", "y"}})
    // unambiguous (a braced list would otherwise also aggregate-initialize FakeSystemdOptions).
    FakeSystemd(const std::string& address, std::map<std::string, std::string> unit_file_states);
    FakeSystemd(const std::string& address,
                std::initializer_list<std::pair<const std::string, std::string>> unit_file_states)
        : FakeSystemd(address, std::map<std::string, std::string>(unit_file_states)) {}
    ~FakeSystemd();
    FakeSystemd(const FakeSystemd&) = delete;
    FakeSystemd& operator=(const FakeSystemd&) = delete;

    std::vector<BusCall> calls() const;                                    // every call, in arrival order
    std::vector<std::vector<std::string>> calls_of(const std::string& method) const;  // the arguments of one method's calls
    std::optional<std::string> unit_file_state(const std::string& unit) const;
    std::uint32_t jobs_finished() const;  // JobRemoved signals sent for jobs of the calls

    struct State;  // shared with the server thread

private:
    std::unique_ptr<State> state_;
};

}  // namespace plumb::test
