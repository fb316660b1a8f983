// Telling the platform how provisioning went (issue 6 step 5): POST <HealthUrl> with {"state":"Ready"} or
// {"state":"NotReady","details":{"subStatus":"ProvisioningFailed","description":...}}; when that endpoint does not
// take it, the wireserver goal-state flow: GET <WireServerUrl>/machine/?comp=goalstate, then POST
// <WireServerUrl>/machine?comp=health with the Health XML for that container, role instance and incarnation.
// Both are retried together with [Report] RetryInterval= until [Report] Deadline=.
#pragma once

#include <string>
#include <string_view>

#include "config.hpp"

namespace plumb::provision {

struct HealthReport {
    bool ready = true;
    std::string description;  // NotReady only; cut to 512 bytes
};

struct GoalState {
    std::string incarnation;
    std::string container_id;
    std::string instance_id;
};

// Same XML rules as ovf-env.xml: no DTD, no entities, no network.
Result<GoalState> parse_goal_state(std::string_view xml);
std::string health_json(const HealthReport& report);
Result<std::string> health_xml(const GoalState& goal, const HealthReport& report);

// Returns which channel took the report ("health endpoint" or "wireserver goal state").
Result<std::string> report_health(const ProvisionConfig& config, const HealthReport& report);

}  // namespace plumb::provision
