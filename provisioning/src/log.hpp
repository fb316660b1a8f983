// One line per event on stderr ("plumb-provision: ..."), which the systemd unit sends to the journal.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace plumb::provision {

inline void log_line(const std::string& message) { std::fprintf(stderr, "plumb-provision: %s\n", message.c_str()); }

inline double ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace plumb::provision
