// The plumb command line: shared pieces of the commands (cli.cpp: audit, rules, explain, baseline, modules;
// fix.cpp: fix, history, rollback).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plumb/baseline.hpp"
#include "plumb/error.hpp"
#include "plumb/module_host.hpp"
#include "plumb/report.hpp"

namespace plumb::cli {

struct Options {
    std::string command;
    std::vector<std::string> positional;
    std::string root = "/";
    bool root_given = false;
    std::string baseline = "cis";
    std::optional<std::string> tailoring, waivers, output, module_dir;
    std::vector<std::string> rules;
    std::string format = "text";
    bool development = false;
    bool dry_run = false;
    int verbose = -1;
};

// Installation layout, relative to the executable: <prefix>/bin/plumb, <prefix>/lib/plumb/modules,
// <prefix>/share/plumb. The build tree uses the same layout, so both work without configuration.
struct Layout {
    std::string module_dir;
    std::string data_dir;
};
Result<Layout> discover_layout();

// Everything a command needs: modules and the (tailored) baseline, and the waivers when asked for.
struct Loaded {
    Layout layout;
    std::unique_ptr<ModuleRegistry> registry;
    Baseline baseline;
    std::vector<Waiver> waivers;
};
Result<Loaded> load_all(const Options& o, bool with_waivers);

std::string utc_now(const char* fmt);
Result<void> write_output(const Options& o, const std::string& text);
std::string hostname_of(RunContext& ctx);
// Prints "plumb: <message>" and returns exit status 1.
int tool_error(const Error& e);
// The root directory as a SafeRoot, and whether it is the running system.
struct OpenedRoot {
    SafeRoot root;
    bool live;
};
Result<OpenedRoot> open_root(const Options& o);

void fill_header(Report& report, const std::string& command, const Loaded& loaded, const Options& o, bool live,
                 const std::string& started);
// The report in the format asked for (text with colour only on a terminal without NO_COLOR, or JSON).
std::string render(const Options& o, const Report& report);

int cmd_fix(const Options& o);
int cmd_history(const Options& o);
int cmd_rollback(const Options& o);

// Runs the plumb command line; returns the process exit status (0 pass, 2 rule failures, 1 tool error).
int run_cli(int argc, char** argv);

}  // namespace plumb::cli
