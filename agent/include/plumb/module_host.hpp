// Loading modules and running their procedures against a root.
//
// ModuleRegistry finds plumb_<name>.so files in a directory, refuses files and directories that are not owned by
// root or are group/world-writable (unless development mode is on), checks the ABI version and compiles each
// procedure's argument schema. A module that fails to load is remembered with the reason so its rules turn into
// `error` results and the run goes on.
//
// RunContext is one run against one root: the file cache (each file read once per run, whatever asks for it) and
// the module instances, opened on first use and closed when the context ends.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/baseline_loader.hpp"
#include "plumb/file_source.hpp"
#include "plumb/json_schema.hpp"
#include "plumb/module_abi.h"
#include "plumb/outcome.hpp"
#include "plumb/plan.hpp"
#include "plumb/safe_root.hpp"

namespace plumb {

struct LoadedProcedure {
    std::string name;
    std::string description;
    nlohmann::json args_schema;
    JsonSchema validator;
    std::uint32_t flags = 0;
};

struct LoadedModule {
    std::string name;
    std::string version;
    std::string description;
    std::string file;
    const plumb_module* abi = nullptr;  // null when loading failed
    std::string load_error;            // why it is unavailable
    std::vector<LoadedProcedure> procedures;
    const LoadedProcedure* procedure(std::string_view name) const;
};

struct ModuleLoadPolicy {
    bool development = false;  // accept files not owned by root / group- or world-writable (build trees, tests)
};

// Code plumb loads runs as root: a file is trusted when it is a regular file owned by root and not group/world
// writable, in a directory chain that is the same (sticky directories such as /tmp excepted), as sshd's
// StrictModes. Development mode (build trees, tests) skips the checks.
Result<void> check_trusted_file(const std::string& path, bool development);

class ModuleRegistry final : public ProcedureCatalog {
public:
    // Loads every plumb_*.so in `dir`. A missing or unsafe directory is an error for the whole registry; a bad
    // module file only makes that module unavailable.
    static Result<std::unique_ptr<ModuleRegistry>> load_directory(const std::string& dir, ModuleLoadPolicy policy);
    ~ModuleRegistry() override;

    Lookup find(const std::string& module, const std::string& procedure) const override;
    std::vector<std::string> procedures(const std::string& module) const override;
    const JsonSchema* validator(const std::string& module, const std::string& procedure) const override;
    const LoadedModule* module(std::string_view name) const;
    const std::vector<LoadedModule>& modules() const { return modules_; }

private:
    ModuleRegistry() = default;
    std::vector<LoadedModule> modules_;
    std::vector<void*> handles_;
};

class RunContext final : public FileSource {
public:
    // live: the running system is audited (root "/"); false for an offline image (--root).
    RunContext(SafeRoot root, bool live, const ModuleRegistry& registry);
    ~RunContext() override;
    RunContext(const RunContext&) = delete;
    RunContext& operator=(const RunContext&) = delete;

    bool live() const { return live_; }
    const SafeRoot& root() const { return root_; }

    // Runs module.procedure with resolved arguments. Live-only procedures on an offline root, unavailable modules
    // and unknown procedures give notapplicable/error outcomes with reasons; nothing throws.
    Outcome call(const std::string& module, const std::string& procedure, const nlohmann::json& args);

    // Asks the module to plan the change that makes module.procedure(args) pass, recording it in `plan` on behalf of
    // `rule`. While planning, reads through this context see the plan's changes so far (files written or removed),
    // and module instances are reopened after each change so no module works from a stale parse.
    Outcome remediate(const std::string& module, const std::string& procedure, const nlohmann::json& args, Plan& plan,
                      const std::string& rule);
    // Runs a live action a module planned. Returns the outcome (pass or error with reasons).
    Outcome apply_live(const PlannedLiveAction& action, bool undo);

    // FileSource, cached for the run. Live-only trees (/proc, /sys) fail with EREMOTE on an offline root.
    Result<std::string_view> read(const std::string& path) override;
    Result<FileStat> stat(const std::string& path, bool follow_symlinks = true) override;
    Result<std::vector<std::string>> list_dir(const std::string& path) override;
    Result<std::string> read_link(const std::string& path) override;
    Result<UniqueFd> open_read(const std::string& path);

    // Number of files actually read from disk (for the read-once tests).
    std::size_t disk_reads() const { return disk_reads_; }

    void set_log_level(int level) { log_level_ = level; }

private:
    friend struct HostBridge;
    struct CachedFile {
        Result<std::string> content;
    };
    struct CachedDir {
        Result<std::vector<std::string>> names;
        std::vector<const char*> c_names;
    };
    Result<void> check_live_path(const std::string& normalized) const;
    void* instance(const LoadedModule& m);
    void close_instances();
    const PlannedFile* planned(const std::string& normalized) const { return plan_ ? plan_->file(normalized) : nullptr; }

    SafeRoot root_;
    bool live_;
    const ModuleRegistry& registry_;
    int log_level_ = -1;
    std::size_t disk_reads_ = 0;
    std::unordered_map<std::string, std::unique_ptr<CachedFile>> files_;
    std::unordered_map<std::string, std::unique_ptr<CachedDir>> dirs_;
    std::unordered_map<std::string, std::unique_ptr<std::string>> links_;
    std::map<std::string, void*> instances_;      // module name -> instance (nullptr when open failed)
    Plan* plan_ = nullptr;            // set while a remediate() call runs
    std::string live_actions_text_;   // planned_live_actions() answer, valid until the next call
    std::string plan_rule_;
    std::string plan_module_;
    bool plan_changed_ = false;
    std::vector<std::unique_ptr<std::vector<std::string>>> overlay_listings_;  // keeps listed names alive for modules
    std::vector<std::unique_ptr<std::vector<const char*>>> overlay_c_names_;
};

}  // namespace plumb
