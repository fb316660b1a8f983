// The order of issue 6: identify the VM (exit at once when its marker exists), get metadata from the configured
// sources, validate all of it into a plan, apply the steps, apply the baseline (integration point), report to the
// platform, and write the marker only when all of that succeeded. Each step is logged with its duration.
#pragma once

#include <string>
#include <vector>

namespace plumb::provision {

struct Options {
    std::string root = "/";
    enum class Mode { run, clean } mode = Mode::run;
    // Single steps (--only): hostname, user, sudoers, sshd, keys, user-data, baseline, report-ready. Empty: the
    // whole run. Single steps never write the marker.
    std::vector<std::string> only;
};

inline const std::vector<std::string> kStepNames = {"hostname", "user",     "sudoers",      "sshd", "keys",
                                                    "user-data", "baseline", "report-ready"};

// Returns the process exit status: 0 done (or already provisioned), 1 failed.
int run_provisioner(const Options& options);

}  // namespace plumb::provision
