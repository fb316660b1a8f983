// C++ helpers for writing a plumb module on top of the C ABI in module_abi.h.
//
// A module defines a class derived from plumb::sdk::Instance (one object per run, so it can cache what it parsed),
// a table of procedures pointing at its member functions, and exports the entry point with PLUMB_MODULE:
//
//     class Journald : public plumb::sdk::Instance {
//     public:
//         using Instance::Instance;
//         plumb_status option(const nlohmann::json& args, plumb::sdk::Reporter& r);
//     };
//     static const plumb::sdk::Procedure<Journald> procedures[] = {
//         {"option", "journald option has a value", R"({"type":"object", ...})", 0, &Journald::option},
//     };
//     PLUMB_MODULE(journald, "1.0.0", "systemd-journald configuration", Journald, procedures)
//
// Exceptions never cross the C boundary: the trampolines turn them into PLUMB_STATUS_ERROR with a reason.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <exception>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/file_source.hpp"
#include "plumb/module_abi.h"

namespace plumb::sdk {

// The engine's services, as a FileSource for the config parsers.
class Host final : public FileSource {
public:
    Host(const plumb_host_api* api, plumb_host* host) : api_(api), host_(host) {}

    bool is_live() const { return api_->is_live(host_) != 0; }
    std::string root_path() const { return api_->root_path(host_); }
    const plumb_host_api* api() const { return api_; }

    Result<std::string_view> read(const std::string& path) override {
        const char* data = nullptr;
        size_t size = 0;
        int rc = api_->read_file(host_, path.c_str(), &data, &size);
        if (rc < 0) return fail_errno(-rc, path);
        return std::string_view(data, size);
    }
    Result<FileStat> stat(const std::string& path, bool follow_symlinks = true) override {
        plumb_stat st{};
        int rc = api_->stat(host_, path.c_str(), follow_symlinks ? 1 : 0, &st);
        if (rc < 0) return fail_errno(-rc, path);
        return FileStat{static_cast<FileType>(st.type), st.mode, st.uid, st.gid, st.size, st.mtime_sec};
    }
    Result<std::vector<std::string>> list_dir(const std::string& path) override {
        const char* const* names = nullptr;
        size_t count = 0;
        int rc = api_->list_dir(host_, path.c_str(), &names, &count);
        if (rc < 0) return fail_errno(-rc, path);
        return std::vector<std::string>(names, names + count);
    }
    Result<std::string> read_link(const std::string& path) override {
        const char* target = nullptr;
        int rc = api_->read_link(host_, path.c_str(), &target);
        if (rc < 0) return fail_errno(-rc, path);
        return std::string(target);
    }
    // A new read-only descriptor inside the root; the caller closes it.
    Result<int> open_read(const std::string& path) {
        int fd = api_->open_read(host_, path.c_str());
        if (fd < 0) return fail_errno(-fd, path);
        return fd;
    }
    void log(int level, const std::string& message) { api_->log(host_, level, message.c_str()); }

private:
    const plumb_host_api* api_;
    plumb_host* host_;
};

// Collects the reasons of one procedure call.
class Reporter {
public:
    Reporter(const plumb_host_api* api, plumb_reporter* reporter) : api_(api), reporter_(reporter) {}
    void reason(std::string_view code, std::string_view phrase) {
        api_->add_reason(reporter_, std::string(code).c_str(), std::string(phrase).c_str());
    }
    // Convenience: records a reason and returns the status, for `return r.fail("code", "...")`.
    plumb_status pass(std::string_view code, std::string_view phrase) { return with(PLUMB_STATUS_PASS, code, phrase); }
    plumb_status fail(std::string_view code, std::string_view phrase) { return with(PLUMB_STATUS_FAIL, code, phrase); }
    plumb_status error(std::string_view code, std::string_view phrase) { return with(PLUMB_STATUS_ERROR, code, phrase); }
    plumb_status not_applicable(std::string_view code, std::string_view phrase) {
        return with(PLUMB_STATUS_NOTAPPLICABLE, code, phrase);
    }

private:
    plumb_status with(plumb_status s, std::string_view code, std::string_view phrase) {
        reason(code, phrase);
        return s;
    }
    const plumb_host_api* api_;
    plumb_reporter* reporter_;
};

// Records the changes one remediation call plans (nothing changes until the engine applies the whole plan).
class Planner {
public:
    Planner(const plumb_host_api* api, plumb_planner* planner) : api_(api), planner_(planner) {}
    Result<void> write_file(const std::string& path, std::string_view content, uint32_t mode_if_new, const std::string& why) {
        return check(api_->plan_write_file(planner_, path.c_str(), content.data(), content.size(), mode_if_new, why.c_str()), path);
    }
    Result<void> remove_file(const std::string& path, const std::string& why) {
        return check(api_->plan_remove_file(planner_, path.c_str(), why.c_str()), path);
    }
    Result<void> service(const std::string& unit, const std::string& action, const std::string& why) {
        return check(api_->plan_service(planner_, unit.c_str(), action.c_str(), why.c_str()), unit);
    }
    Result<void> notice(const std::string& kind, const std::string& phrase) {
        return check(api_->plan_notice(planner_, kind.c_str(), phrase.c_str()), kind);
    }
    Result<void> live_action(const std::string& name, const std::string& description, const nlohmann::json& payload,
                             const nlohmann::json& undo = nullptr) {
        std::string p = payload.dump(), u = undo.dump();
        return check(api_->plan_live_action(planner_, name.c_str(), description.c_str(), p.c_str(), undo.is_null() ? nullptr : u.c_str()), name);
    }

    // This module's live actions planned earlier in the run: [{"name": ..., "payload": ...}, ...].
    Result<nlohmann::json> live_actions_so_far() {
        if (api_->struct_size < offsetof(plumb_host_api, planned_live_actions) + sizeof(api_->planned_live_actions) ||
            !api_->planned_live_actions)
            return nlohmann::json::array();  // an older engine: nothing to build on
        const char* text = nullptr;
        if (int rc = api_->planned_live_actions(planner_, &text); rc < 0) return fail_errno(-rc, "planned live actions");
        return nlohmann::json::parse(text ? text : "[]");
    }

private:
    static Result<void> check(int rc, const std::string& what) {
        if (rc < 0) return fail_errno(-rc, what);
        return {};
    }
    const plumb_host_api* api_;
    plumb_planner* planner_;
};

// Base of a module's per-run state.
class Instance {
public:
    Instance(const plumb_host_api* api, plumb_host* host) : host_(api, host) {}
    virtual ~Instance() = default;
    Host& host() { return host_; }
    // Performs a live action this module planned with Planner::live_action. Returns 0 or -errno (with reasons).
    virtual int apply_live(const std::string& name, const nlohmann::json& payload, Reporter& reporter) {
        reporter.reason("no_live_actions", "module has no live action " + name);
        return -ENOTSUP;
    }

private:
    Host host_;
};

template <class I>
struct Procedure {
    const char* name;
    const char* description;
    const char* args_schema_json;
    uint32_t flags;
    plumb_status (I::*fn)(const nlohmann::json& args, Reporter& reporter);
    // Plans the change that makes fn pass; nullptr when the procedure has no remediation.
    plumb_status (I::*remediate)(const nlohmann::json& args, Planner& planner, Reporter& reporter) = nullptr;
};

// Builds the static plumb_module for instance type I and its procedure table.
template <class I, size_t N>
class ModuleDefinition {
public:
    ModuleDefinition(const char* name, const char* version, const char* description, const Procedure<I> (&procs)[N])
        : procs_(procs) {
        for (size_t i = 0; i < N; ++i)
            infos_[i] = {procs[i].name, procs[i].description, procs[i].args_schema_json,
                         procs[i].flags | (procs[i].remediate ? PLUMB_PROC_REMEDIABLE : 0u)};
        module_ = plumb_module{PLUMB_MODULE_ABI_VERSION, sizeof(plumb_module), name, version, description, infos_, N,
                               &ModuleDefinition::open, &ModuleDefinition::close, &ModuleDefinition::audit,
                               &ModuleDefinition::remediate, &ModuleDefinition::apply_live};
        self_ = this;
    }
    const plumb_module* get(uint32_t host_abi) const { return host_abi == PLUMB_MODULE_ABI_VERSION ? &module_ : nullptr; }

private:
    struct Holder {
        Holder(const plumb_host_api* a, plumb_host* h) : instance(a, h), api(a) {}
        I instance;
        const plumb_host_api* api;
    };
    static void* open(const plumb_host_api* api, plumb_host* host) noexcept {
        try {
            return new Holder(api, host);
        } catch (...) {
            return nullptr;
        }
    }
    static void close(void* p) noexcept { delete static_cast<Holder*>(p); }
    static plumb_status audit(void* p, const char* procedure, const char* args_json, plumb_reporter* rep) noexcept {
        auto* holder = static_cast<Holder*>(p);
        Reporter reporter(holder->api, rep);
        try {
            for (size_t i = 0; i < N; ++i) {
                if (std::strcmp(self_->procs_[i].name, procedure) == 0) {
                    auto args = nlohmann::json::parse(args_json);
                    return (holder->instance.*(self_->procs_[i].fn))(args, reporter);
                }
            }
            return reporter.error("unknown_procedure", std::string("module has no procedure ") + procedure);
        } catch (const std::exception& e) {
            return reporter.error("module_exception", std::string("procedure ") + procedure + " failed: " + e.what());
        } catch (...) {
            return reporter.error("module_exception", std::string("procedure ") + procedure + " failed");
        }
    }

    static plumb_status remediate(void* p, const char* procedure, const char* args_json, plumb_planner* pl,
                                  plumb_reporter* rep) noexcept {
        auto* holder = static_cast<Holder*>(p);
        Reporter reporter(holder->api, rep);
        Planner planner(holder->api, pl);
        try {
            for (size_t i = 0; i < N; ++i) {
                if (std::strcmp(self_->procs_[i].name, procedure) != 0) continue;
                if (!self_->procs_[i].remediate)
                    return reporter.not_applicable("no_remediation", std::string("procedure ") + procedure + " has no remediation");
                auto args = nlohmann::json::parse(args_json);
                return (holder->instance.*(self_->procs_[i].remediate))(args, planner, reporter);
            }
            return reporter.error("unknown_procedure", std::string("module has no procedure ") + procedure);
        } catch (const std::exception& e) {
            return reporter.error("module_exception", std::string("remediation of ") + procedure + " failed: " + e.what());
        } catch (...) {
            return reporter.error("module_exception", std::string("remediation of ") + procedure + " failed");
        }
    }
    static int apply_live(void* p, const char* name, const char* payload_json, plumb_reporter* rep) noexcept {
        auto* holder = static_cast<Holder*>(p);
        Reporter reporter(holder->api, rep);
        try {
            return holder->instance.apply_live(name, nlohmann::json::parse(payload_json), reporter);
        } catch (const std::exception& e) {
            reporter.reason("module_exception", std::string("live action ") + name + " failed: " + e.what());
            return -EIO;
        }
    }

    const Procedure<I> (&procs_)[N];
    plumb_procedure infos_[N]{};
    plumb_module module_{};
    static inline ModuleDefinition* self_ = nullptr;
};

}  // namespace plumb::sdk

#define PLUMB_MODULE(NAME, VERSION, DESCRIPTION, INSTANCE, PROCEDURES)                                       \
    namespace {                                                                                               \
    const plumb::sdk::ModuleDefinition<INSTANCE, std::size(PROCEDURES)> plumb_module_definition_{           \
        #NAME, VERSION, DESCRIPTION, PROCEDURES};                                                             \
    }                                                                                                         \
    extern "C" __attribute__((visibility("default"))) const plumb_module* plumb_module_entry(uint32_t abi) { \
        return plumb_module_definition_.get(abi);                                                             \
    }
