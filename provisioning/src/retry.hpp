// The retry discipline shared by the metadata fetch and the health report: a fixed interval between attempts and a
// total deadline; each attempt's own timeout is cut to what is left of the deadline, so the deadline holds even
// when the peer never answers.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "plumb/error.hpp"

namespace plumb::provision {

struct RetryPolicy {
    std::chrono::milliseconds interval{2000};
    std::chrono::milliseconds deadline{300000};
    std::chrono::milliseconds attempt_timeout{30000};
};

struct Attempt {
    enum class Kind { done, retry, fatal };
    Kind kind = Kind::done;
    Error error;  // for retry and fatal
    static Attempt ok() { return {}; }
    static Attempt again(Error e) { return {Kind::retry, std::move(e)}; }
    static Attempt stop(Error e) { return {Kind::fatal, std::move(e)}; }
};

// Calls `attempt(timeout)` until it is done, fails fatally, or the deadline passes (then the error names `what`,
// the number of attempts and the last error).
Result<void> retry_until_deadline(const RetryPolicy& policy, const std::string& what,
                                  const std::function<Attempt(std::chrono::milliseconds timeout)>& attempt);

}  // namespace plumb::provision
