// Runs a program without a shell: fork + execve with a fixed environment, output captured, killed at a deadline.
#pragma once

#include <string>
#include <vector>

#include "plumb/error.hpp"

namespace plumb::crypto {

struct RunResult {
    int exit_code = -1;      // 128+signal when killed by a signal
    bool timed_out = false;  // killed (SIGKILL) at the deadline
    std::string output;      // stdout and stderr together, at most 64 KiB
};

// `path` is absolute and executed as is (no PATH search); argv[0] is what the program sees as its name.
Result<RunResult> run_program(const std::string& path, const std::vector<std::string>& argv, int timeout_ms);

}  // namespace plumb::crypto
