// Step 4, "apply the configured baseline through the remediation layer": runs the installed `plumb fix` (the `plumb`
// binary next to plumb-provision, or [Baseline] Plumb=) on the provisioned root with the configured baseline, argv
// only, with a timeout. plumb fix audits, plans, applies the plan as one transaction (journal under
// <root>/var/lib/plumb), verifies and commits or rolls back; its JSON report is kept in
// <StateDir>/baseline-fix.json and its counts go to the log and the marker.
//   - exit 0 (everything passes or was fixed) or 2 (some rules still fail or have no remediation: recorded, the
//     operator sees them in the report; they do not keep the VM from booting) -> the step succeeds;
//   - exit 1 (tool error: unknown baseline, unreadable root), a timeout, or a plumb that cannot be run -> the step
//     fails, so provisioning reports NotReady and no marker is written.
// The unit (packaging/plumb-provision.service, Before=sshd.service ssh.service) orders this before sshd accepts
// connections.
#pragma once

#include <string>

#include "config.hpp"

namespace plumb::provision {

struct BaselineOutcome {
    std::string baseline;
    int fix_exit = -1;        // plumb fix's exit status (0 all pass or fixed, 2 some rules still fail)
    std::string transaction;  // the transaction that applied the changes ("" when nothing changed)
    long pass = 0, fixed = 0, fail = 0, error = 0;  // summary counts from the report
    std::string report_path;  // inside the root
};

Result<BaselineOutcome> apply_baseline(const ProvisionConfig& config, const SafeRoot& root, bool live);

// The plumb binary used: [Baseline] Plumb= or <directory of this executable>/plumb.
std::string plumb_binary_path(const ProvisionConfig& config);

}  // namespace plumb::provision
