// ---------------------------------------------------------------------------------------------------------------
// INTEGRATION POINT — issue 6 step 4, "apply the configured baseline through the remediation layer".
//
// The remediation layer (`plumb fix`, remediation/) does not exist yet, so this step does NOT remediate anything.
// What it does today, for real: it runs the installed `plumb audit` (the `plumb` binary next to plumb-provision,
// or [Baseline] Plumb=) on the provisioned root with the configured baseline, argv only, with a timeout, and
// records the JSON report in <StateDir>/baseline-audit.json and the counts in the log and the marker.
//   - audit exit 0 (all pass) or 2 (some rules fail: nothing can fix them yet) -> the step succeeds, with
//     `remediated = false`;
//   - exit 1 (tool error: unknown baseline, unreadable root), a timeout, or a plumb that cannot be run -> the step
//     fails, so provisioning reports NotReady and no marker is written.
// When the remediation issue lands, apply_baseline() is the one function to change: call the transaction layer
// (or `plumb fix`) instead of `plumb audit`, keep the BaselineOutcome contract, and set `remediated`.
// The unit (packaging/plumb-provision.service, Before=sshd.service ssh.service) already orders this step before
// sshd accepts connections.
// ---------------------------------------------------------------------------------------------------------------
#pragma once

#include <string>

#include "config.hpp"

namespace plumb::provision {

struct BaselineOutcome {
    std::string baseline;
    int audit_exit = -1;      // plumb audit's exit status (0 pass, 2 some rules fail)
    bool remediated = false;  // always false until the remediation layer exists
    long pass = 0, fail = 0, error = 0;  // summary counts from the report
    std::string report_path;  // inside the root
};

Result<BaselineOutcome> apply_baseline(const ProvisionConfig& config, const SafeRoot& root, bool live);

// The plumb binary used: [Baseline] Plumb= or <directory of this executable>/plumb.
std::string plumb_binary_path(const ProvisionConfig& config);

}  // namespace plumb::provision
