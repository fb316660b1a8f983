// Helpers shared by plumb's tests: temporary fixture roots, running module procedures on them, and running the
// built plumb binary.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/module_host.hpp"
#include "plumb/outcome.hpp"

namespace plumb::test {

std::string source_dir();         // the project's source tree
std::string build_dir();          // the build tree
std::string module_dir();         // build tree modules
std::string plumb_binary();       // build tree bin/plumb

// A temporary directory removed (recursively, without following symlinks) when the object dies.
class TempRoot {
public:
    TempRoot();
    ~TempRoot();
    TempRoot(const TempRoot&) = delete;
    TempRoot& operator=(const TempRoot&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& rel) const;  // host path of a path inside the root

    // Creates parent directories as needed. `rel` is a path inside the root ("/etc/x" or "etc/x").
    void write(const std::string& rel, const std::string& content, unsigned mode = 0644) const;
    void mkdir(const std::string& rel, unsigned mode = 0755) const;
    void symlink(const std::string& target, const std::string& rel) const;
    void chmod(const std::string& rel, unsigned mode) const;
    std::string read(const std::string& rel) const;
    // Copies a fixture tree from tests/fixtures/<name> (or an absolute path) into this root.
    void copy_from(const std::string& fixture) const;

private:
    std::string path_;
};

// Runs module procedures on a root the way the engine does (same registry, same host services).
class ModuleHarness {
public:
    explicit ModuleHarness(const std::string& root, bool live = false);
    ~ModuleHarness();
    // qualified: "journald.option". Arguments are validated against the procedure's schema first; a violation fails
    // the test.
    Outcome run(const std::string& qualified, const nlohmann::json& args);
    RunContext& context() { return *context_; }
    const ModuleRegistry& registry() const { return *registry_; }

private:
    std::unique_ptr<ModuleRegistry> registry_;
    std::unique_ptr<RunContext> context_;
};

struct ProcessResult {
    int exit_code = -1;  // 128+signal when killed by a signal
    std::string out;
    std::string err;
};
// Runs a program (no shell) with arguments, capturing stdout and stderr, with a timeout in seconds.
ProcessResult run_process(const std::vector<std::string>& argv, int timeout_sec = 60,
                          const std::vector<std::string>& extra_env = {});
// Runs the built plumb binary with PLUMB_DEVELOPMENT=1.
ProcessResult run_plumb(const std::vector<std::string>& args, int timeout_sec = 60);

// Everything about a tree that a rollback must restore: per path (relative to the root) the type, mode, owner,
// group, content (or symlink target) and xattrs. Two snapshots compare equal when the trees are identical.
std::map<std::string, std::string> snapshot_tree(const std::string& root, const std::vector<std::string>& skip_prefixes = {});

// Phrases a reason list for assertion messages.
std::string describe(const Outcome& outcome);

// True when the outcome has a reason with `code` whose phrase contains every one of `parts`.
bool has_reason(const Outcome& o, const std::string& code, std::initializer_list<std::string> parts = {});

#define EXPECT_OUTCOME(outcome, want_status, code, ...)                                                  \
    do {                                                                                                 \
        const ::plumb::Outcome& o_ = (outcome);                                                          \
        EXPECT_EQ(o_.status, (want_status)) << ::plumb::test::describe(o_);                              \
        EXPECT_TRUE(::plumb::test::has_reason(o_, code, {__VA_ARGS__})) << ::plumb::test::describe(o_); \
    } while (0)

// Runs the built plumb binary (args must ask for --format json), expects `expected_exit` and returns the parsed
// report; a failed expectation or output that is not JSON fails the test.
nlohmann::json run_plumb_json(const std::vector<std::string>& args, int expected_exit);

// rule id -> status word of a JSON report.
std::map<std::string, std::string> statuses(const nlohmann::json& report);

}  // namespace plumb::test
