// Results: statuses and reasons, shared by the evaluator, the reports and the modules' host.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace plumb {

enum class Status { pass, fail, error, notapplicable, waived, fixed };
std::string_view to_string(Status s);

struct Reason {
    std::string code;    // stable, snake_case: "value_mismatch", "live_only", "module_unavailable", ...
    std::string phrase;  // for people: expected value, actual value, and the file:line it came from
    bool operator==(const Reason&) const = default;
};

struct Outcome {
    Status status = Status::error;
    std::vector<Reason> reasons;
};

}  // namespace plumb
