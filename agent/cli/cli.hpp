// The plumb command line: shared pieces of the commands (cli.cpp: audit, rules, explain, baseline, modules;
// fix.cpp: fix, history, rollback).
#pragma once

#include <functional>
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
    std::string fix_plugin;  // <prefix>/lib/plumb/plumb-fix.so
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
// The root directory as a SafeRoot, and whether it is the running system. When a transaction journal exists under
// the root, `recover` runs first (it rolls back what a killed plumb left unfinished).
inline constexpr const char* kJournalDir = "/var/lib/plumb/transactions";
struct OpenedRoot {
    SafeRoot root;
    bool live;
};
Result<OpenedRoot> open_root(const Options& o, const std::function<void(const SafeRoot&)>& recover);

void fill_header(Report& report, const std::string& command, const Loaded& loaded, const Options& o, bool live,
                 const std::string& started);
// The report in the format asked for (text with colour only on a terminal without NO_COLOR, or JSON).
std::string render(const Options& o, const Report& report);

// The commands that change things live in a plugin, plumb-fix.so in <prefix>/lib/plumb, loaded only when needed:
// the transaction layer pulls in OpenSSL and libsystemd, which an audit never needs and would pay for at every
// start-up. These are its entry points (fix.cpp).
extern "C" int plumb_fix_command(const Options* o);        // fix, history, rollback
extern "C" void plumb_fix_recover(const SafeRoot* root);  // rolls back unfinished transactions, reports on stderr
using FixCommandFn = int (*)(const Options*);
using FixRecoverFn = void (*)(const SafeRoot*);

// Runs the plumb command line; returns the process exit status (0 pass, 2 rule failures, 1 tool error).
int run_cli(int argc, char** argv);

}  // namespace plumb::cli
