// Unit actions over sd-bus: the org.freedesktop.systemd1.Manager methods systemctl itself uses.
//
// Job actions (start, stop, restart, ...) return a job path at once; the job's outcome only arrives later in a
// JobRemoved signal. We add the signal match and Subscribe (systemd emits job signals only while some client is
// subscribed) before the first job call, so the signal cannot slip past between the reply and our waiting.
#include "plumb/unit_actions.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

namespace plumb::remediation {

namespace {

constexpr const char* kService = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";

struct BusCloser {
    void operator()(sd_bus* b) const { sd_bus_flush_close_unref(b); }
};
struct MessageUnref {
    void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
struct SlotUnref {
    void operator()(sd_bus_slot* s) const { sd_bus_slot_unref(s); }
};
using BusPtr = std::unique_ptr<sd_bus, BusCloser>;
using MessagePtr = std::unique_ptr<sd_bus_message, MessageUnref>;
using SlotPtr = std::unique_ptr<sd_bus_slot, SlotUnref>;

class BusError {
public:
    BusError() = default;
    ~BusError() { sd_bus_error_free(&e_); }
    BusError(const BusError&) = delete;
    BusError& operator=(const BusError&) = delete;
    sd_bus_error* get() { return &e_; }
    // "org.freedesktop.systemd1.NoSuchUnit: Unit x.service not found.", or the errno text without a D-Bus error.
    std::string describe(int rc) const {
        if (e_.name) return std::string(e_.name) + (e_.message ? std::string(": ") + e_.message : "");
        return std::strerror(-rc);
    }

private:
    sd_bus_error e_ = SD_BUS_ERROR_NULL;
};

enum class Kind { job, enable, disable };
struct ActionSpec {
    const char* action;
    const char* method;
    Kind kind;
};
constexpr ActionSpec kActions[] = {
    {"restart", "RestartUnit", Kind::job},         {"reload", "ReloadUnit", Kind::job},
    {"try-restart", "TryRestartUnit", Kind::job},  {"start", "StartUnit", Kind::job},
    {"stop", "StopUnit", Kind::job},               {"enable", "EnableUnitFiles", Kind::enable},
    {"disable", "DisableUnitFiles", Kind::disable},
};

const ActionSpec* find_action(const std::string& action) {
    for (const auto& a : kActions)
        if (action == a.action) return &a;
    return nullptr;
}

// Results of the jobs whose JobRemoved signal has arrived, by job path.
struct JobResults {
    std::map<std::string, std::string> by_path;
};

int on_job_removed(sd_bus_message* m, void* userdata, sd_bus_error*) {
    uint32_t id = 0;
    const char* path = nullptr;
    const char* unit = nullptr;
    const char* result = nullptr;
    // A malformed signal is not ours to fail on; the wait then ends by its timeout.
    if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) >= 0)
        static_cast<JobResults*>(userdata)->by_path[path] = result;
    return 0;
}

class Manager {
public:
    static Result<Manager> connect(int timeout_ms) {
        Manager mgr;
        mgr.timeout_ = std::chrono::milliseconds(timeout_ms);
        sd_bus* bus = nullptr;
        int rc;
        const char* address = secure_getenv("PLUMB_SYSTEM_BUS_ADDRESS");
        if (address && *address) {
            mgr.where_ = address;
            rc = sd_bus_new(&bus);
            mgr.bus_.reset(bus);
            if (rc >= 0) rc = sd_bus_set_address(bus, address);
            if (rc >= 0) rc = sd_bus_set_bus_client(bus, 1);
            if (rc >= 0) rc = sd_bus_start(bus);
        } else {
            mgr.where_ = "the system bus";
            rc = sd_bus_open_system(&bus);
            mgr.bus_.reset(bus);
        }
        if (rc >= 0) rc = sd_bus_set_method_call_timeout(bus, static_cast<uint64_t>(timeout_ms) * 1000);
        if (rc < 0) return fail_errno(-rc, "connecting to systemd on " + mgr.where_);
        // The match and the results live on the heap so that moving the Manager keeps the callback's pointer valid.
        mgr.jobs_ = std::make_unique<JobResults>();
        return mgr;
    }

    Result<void> run(const UnitAction& a, const ActionSpec& spec) {
        const std::string what = spec.action + std::string(" ") + a.unit;
        switch (spec.kind) {
            case Kind::job: return run_job(a, spec, what);
            case Kind::enable:
            case Kind::disable: {
                BusError error;
                sd_bus_message* reply = nullptr;
                int rc = spec.kind == Kind::enable
                             ? sd_bus_call_method(bus_.get(), kService, kPath, kManager, spec.method, error.get(), &reply,
                                                  "asbb", 1, a.unit.c_str(), 0, 0)
                             : sd_bus_call_method(bus_.get(), kService, kPath, kManager, spec.method, error.get(), &reply,
                                                  "asb", 1, a.unit.c_str(), 0);
                MessagePtr hold(reply);
                if (rc < 0) return call_failed(rc, what, spec.method, error);
                // Unit file changes take effect for systemd only after a daemon reload.
                BusError reload_error;
                rc = sd_bus_call_method(bus_.get(), kService, kPath, kManager, "Reload", reload_error.get(), nullptr, "");
                if (rc < 0) return call_failed(rc, what, "Reload", reload_error);
                return {};
            }
        }
        return fail_invalid(what + ": unknown action");
    }

private:
    Manager() = default;

    std::unexpected<Error> call_failed(int rc, const std::string& what, const char* method, const BusError& error) const {
        return fail(-rc, "cannot " + what + ": " + method + " on " + where_ + " failed: " + error.describe(rc));
    }

    Result<void> subscribe_once(const std::string& what) {
        if (match_) return {};
        sd_bus_slot* slot = nullptr;
        int rc = sd_bus_match_signal(bus_.get(), &slot, kService, kPath, kManager, "JobRemoved", on_job_removed,
                                     jobs_.get());
        if (rc < 0) return fail_errno(-rc, "cannot " + what + ": watching JobRemoved signals on " + where_);
        match_.reset(slot);
        BusError error;
        rc = sd_bus_call_method(bus_.get(), kService, kPath, kManager, "Subscribe", error.get(), nullptr, "");
        if (rc < 0) return call_failed(rc, what, "Subscribe", error);
        return {};
    }

    Result<void> run_job(const UnitAction& a, const ActionSpec& spec, const std::string& what) {
        if (auto s = subscribe_once(what); !s) return s;
        BusError error;
        sd_bus_message* raw = nullptr;
        int rc = sd_bus_call_method(bus_.get(), kService, kPath, kManager, spec.method, error.get(), &raw, "ss",
                                    a.unit.c_str(), "replace");
        MessagePtr reply(raw);
        if (rc < 0) return call_failed(rc, what, spec.method, error);
        const char* job_path = nullptr;
        rc = sd_bus_message_read(reply.get(), "o", &job_path);
        if (rc < 0) return fail_errno(-rc, "cannot " + what + ": reading the " + spec.method + " reply from " + where_);
        const std::string job = job_path;

        const auto deadline = std::chrono::steady_clock::now() + timeout_;
        for (;;) {
            if (auto it = jobs_->by_path.find(job); it != jobs_->by_path.end()) {
                if (it->second == "done") return {};
                return fail(EIO, "cannot " + what + ": job " + job + " finished with result \"" + it->second +
                                     "\" (journalctl -u " + a.unit + " tells why)");
            }
            rc = sd_bus_process(bus_.get(), nullptr);
            if (rc < 0) return fail_errno(-rc, "cannot " + what + ": waiting for job " + job + " on " + where_);
            if (rc > 0) continue;  // more may be queued
            const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline -
                                                                                    std::chrono::steady_clock::now());
            if (left.count() <= 0)
                return fail(ETIMEDOUT, "cannot " + what + ": job " + job + " did not finish within " +
                                           std::to_string(timeout_.count()) + " ms");
            rc = sd_bus_wait(bus_.get(), static_cast<uint64_t>(left.count()));
            if (rc < 0) return fail_errno(-rc, "cannot " + what + ": waiting for job " + job + " on " + where_);
        }
    }

    // Destroyed in reverse order: the match goes before the bus it is registered on.
    BusPtr bus_;
    std::unique_ptr<JobResults> jobs_;
    SlotPtr match_;
    std::string where_;
    std::chrono::milliseconds timeout_{0};
};

}  // namespace

bool systemd_available(std::string* why) {
    const char* address = secure_getenv("PLUMB_SYSTEM_BUS_ADDRESS");
    std::string reason;
    bool ok;
    if (address && *address) {
        reason = std::string("PLUMB_SYSTEM_BUS_ADDRESS names the bus ") + address;
        ok = true;
    } else if (sd_booted() > 0) {  // /run/systemd/system exists
        reason = "systemd is running (/run/systemd/system exists)";
        ok = true;
    } else {
        reason = "systemd is not running (no /run/systemd/system)";
        ok = false;
    }
    if (why) *why = std::move(reason);
    return ok;
}

Result<void> run_unit_actions(const std::vector<UnitAction>& actions, int timeout_ms) {
    if (timeout_ms <= 0) return fail_invalid("unit action timeout must be positive, not " + std::to_string(timeout_ms));
    // Reject a bad list whole before changing anything.
    std::vector<const ActionSpec*> specs;
    for (const auto& a : actions) {
        const ActionSpec* spec = find_action(a.action);
        if (!spec) {
            std::string known;
            for (const auto& k : kActions) known += (known.empty() ? "" : ", ") + std::string(k.action);
            return fail_invalid("unknown unit action \"" + a.action + "\" for " + a.unit + " (expected one of " + known +
                                ")");
        }
        if (a.unit.empty()) return fail_invalid(std::string("unit action ") + spec->action + " without a unit name");
        specs.push_back(spec);
    }
    if (actions.empty()) return {};
    auto mgr = Manager::connect(timeout_ms);
    if (!mgr) return std::unexpected(mgr.error());
    for (std::size_t i = 0; i < actions.size(); ++i)
        if (auto r = mgr->run(actions[i], *specs[i]); !r) return r;
    return {};
}

}  // namespace plumb::remediation
