#pragma once

namespace plumb {
// Runs the plumb command line; returns the process exit status (0 pass, 2 rule failures, 1 tool error).
int run_cli(int argc, char** argv);
}  // namespace plumb
