// Live systemd unit actions through sd-bus (org.freedesktop.systemd1.Manager), for the remediation layer.
#pragma once

#include <string>
#include <vector>

#include "plumb/error.hpp"

namespace plumb::remediation {

// "restart", "reload", "try-restart", "start", "stop" (job-based: waits for the job to finish, with a timeout), and
// "enable", "disable" (unit files; followed by Manager.Reload so systemd sees them).
struct UnitAction {
    std::string unit;    // e.g. "systemd-journald.service"
    std::string action;
};

// Whether unit actions can be carried out here: the host runs systemd (/run/systemd/system exists) or
// PLUMB_SYSTEM_BUS_ADDRESS names a bus (tests). `why` says which, or why not.
bool systemd_available(std::string* why = nullptr);

// Runs the actions in order on the system bus (or PLUMB_SYSTEM_BUS_ADDRESS). Stops at the first failure; the error
// names the unit, the action and systemd's D-Bus error. timeout_ms bounds each call and each job.
Result<void> run_unit_actions(const std::vector<UnitAction>& actions, int timeout_ms = 90000);

}  // namespace plumb::remediation

