#include "retry.hpp"

#include <thread>

namespace plumb::provision {

Result<void> retry_until_deadline(const RetryPolicy& policy, const std::string& what,
                                  const std::function<Attempt(std::chrono::milliseconds timeout)>& attempt) {
    using clock = std::chrono::steady_clock;
    using std::chrono::milliseconds;
    const auto start = clock::now();
    const auto deadline = start + policy.deadline;
    Error last{ETIMEDOUT, "no attempt made"};
    unsigned attempts = 0;
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
        if (left.count() <= 0) break;
        ++attempts;
        Attempt a = attempt(std::min(policy.attempt_timeout, left));
        if (a.kind == Attempt::Kind::done) return {};
        if (a.kind == Attempt::Kind::fatal) return std::unexpected(std::move(a.error));
        last = std::move(a.error);
        left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
        if (left <= policy.interval) break;  // another attempt could not start before the deadline
        std::this_thread::sleep_for(policy.interval);
    }
    auto took = std::chrono::duration_cast<milliseconds>(clock::now() - start).count();
    return fail(last.code ? last.code : ETIMEDOUT, what + ": gave up after " + std::to_string(attempts) + " attempt(s) in " +
                                                       std::to_string(took) + " ms; last error: " + last.message);
}

}  // namespace plumb::provision
