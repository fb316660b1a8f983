// Running a helper program (useradd, usermod, plumb) without a shell: fork + execve with an argv, a fixed minimal
// environment, stdin from /dev/null, stdout/stderr captured (bounded), and a timeout after which the whole process
// group is killed. The last resort the developer guide allows; callers pass only validated arguments.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "plumb/error.hpp"

namespace plumb::provision {

struct ExecResult {
    int exit_code = -1;      // 128+signal when killed by a signal
    bool timed_out = false;
    std::string out;         // at most max_output bytes each; the rest is read and dropped
    std::string err;
    // "useradd exited with 9: <first line of stderr>" for messages.
    std::string describe(const std::string& program) const;
};

// Fails only when the program cannot be started (not found, fork failure); a non-zero exit is a result.
Result<ExecResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                               std::size_t max_output = 1u << 20);

}  // namespace plumb::provision
