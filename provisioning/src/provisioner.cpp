#include "provisioner.hpp"

#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "baseline_step.hpp"
#include "identity.hpp"
#include "imds.hpp"
#include "log.hpp"
#include "ovf.hpp"
#include "plan.hpp"
#include "report.hpp"
#include "seed.hpp"
#include "steps.hpp"

namespace plumb::provision {

namespace {

using clock_type = std::chrono::steady_clock;

bool is_live_root(const std::string& root) {
    char resolved[PATH_MAX];
    return ::realpath(root.c_str(), resolved) && std::string(resolved) == "/";
}

// Transport trouble (unreachable, timed out, refused by status) moves on to the next source; content that is
// there but wrong (hostile or malformed metadata) stops provisioning: it must never be papered over.
bool content_error(const Error& e) { return e.code == EINVAL || e.code == EFBIG || e.code == EBADMSG; }

Result<Metadata> get_metadata(const ProvisionConfig& config, const SafeRoot& root) {
    std::string tried;
    for (const auto& source : config.sources) {
        const auto t0 = clock_type::now();
        Result<std::optional<Metadata>> got = std::optional<Metadata>();
        if (source == "imds") {
            auto m = fetch_imds(config);
            if (m) got = std::optional(std::move(*m));
            else got = std::unexpected(m.error());
        } else if (source == "ovf") {
            got = read_ovf(config);
        } else {
            got = read_seed(root, config);
        }
        if (got && *got) {
            log_line("metadata: from " + source + " (" + std::to_string(static_cast<long>(ms_since(t0))) + " ms)");
            return std::move(**got);
        }
        if (!got && content_error(got.error())) return std::unexpected(got.error());
        std::string why = got ? "not present" : got.error().message;
        log_line("metadata: " + source + ": " + why);
        tried += (tried.empty() ? "" : "; ") + source + ": " + why;
    }
    return fail(ENODATA, "no metadata source answered (" + tried + ")");
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

class Run {
public:
    // Runs one named step with timing; false when it failed (the error is kept for the NotReady report).
    bool step(const std::string& name, const std::function<Result<void>()>& body) {
        const auto t0 = clock_type::now();
        auto r = body();
        double ms = ms_since(t0);
        steps_.push_back({{"step", name}, {"ms", ms}, {"ok", r.has_value()}});
        char took[32];
        std::snprintf(took, sizeof took, "%.1f ms", ms);
        if (!r) {
            error_ = name + ": " + r.error().message;
            log_line("step " + name + ": FAILED (" + took + "): " + r.error().message);
            return false;
        }
        log_line("step " + name + ": ok (" + took + ")");
        return true;
    }
    const std::string& error() const { return error_; }
    void set_error(std::string e) { error_ = std::move(e); }
    nlohmann::json& steps() { return steps_; }
    nlohmann::json& baseline() { return baseline_; }

private:
    nlohmann::json steps_ = nlohmann::json::array();
    nlohmann::json baseline_;
    std::string error_;
};

bool wanted(const Options& o, const std::string& step) {
    return o.only.empty() || std::find(o.only.begin(), o.only.end(), step) != o.only.end();
}

}  // namespace

int run_provisioner(const Options& options) {
    const auto start = clock_type::now();
    auto root = SafeRoot::open(options.root);
    if (!root) {
        log_line("error: " + root.error().message);
        return 1;
    }
    const bool live = is_live_root(options.root);
    auto config = load_config(*root);
    if (!config) {
        log_line("configuration: " + config.error().message);
        return 1;
    }
    for (const auto& w : config->warnings) log_line("configuration: " + w);

    auto vm_id = read_vm_id(*root, *config);
    if (!vm_id) {
        log_line("error: " + vm_id.error().message);
        return 1;
    }
    const std::string marker = marker_path(*config, *vm_id);

    if (options.mode == Options::Mode::clean) {
        auto removed = remove_file(*root, marker);
        if (!removed) {
            log_line("clean: " + removed.error().message);
            return 1;
        }
        log_line(std::string("clean: ") + (*removed ? "removed " : "no marker at ") + marker);
        return 0;
    }
    const bool full = options.only.empty();
    if (full && root->stat(marker, false)) {
        log_line("VM " + *vm_id + " is already provisioned (" + marker + "); nothing to do");
        return 0;
    }
    log_line("provisioning VM " + *vm_id + (live ? "" : " in root " + options.root));

    Run run;
    auto report = [&](bool ready) -> bool {
        if (!config->report) return true;
        HealthReport h{ready, ready ? "" : run.error()};
        bool ok = run.step(ready ? "report-ready" : "report-not-ready", [&]() -> Result<void> {
            auto channel = report_health(*config, h);
            if (!channel) return std::unexpected(channel.error());
            log_line(std::string(ready ? "Ready" : "NotReady") + " taken by the " + *channel);
            return {};
        });
        return ok;
    };

    // Steps that need metadata fetch it and validate all of it first: nothing changes unless the whole plan is valid.
    static const std::vector<std::string> kMetadataSteps = {"hostname", "user", "sudoers", "sshd", "keys", "user-data"};
    std::optional<Plan> plan;
    if (std::any_of(kMetadataSteps.begin(), kMetadataSteps.end(), [&](const auto& s) { return wanted(options, s); })) {
        bool ok = run.step("metadata", [&]() -> Result<void> {
            auto m = get_metadata(*config, *root);
            if (!m) return std::unexpected(m.error());
            auto p = make_plan(*m, *config, *root);
            if (!p) return std::unexpected(p.error());
            plan = std::move(*p);
            return {};
        });
        if (!ok) {
            if (full) report(false);
            return 1;
        }
    }

    const StepContext ctx{*config, *root, live};
    const std::vector<std::pair<std::string, Result<void> (*)(const StepContext&, const Plan&)>> steps = {
        {"hostname", step_hostname}, {"user", step_user}, {"sudoers", step_sudoers},
        {"sshd", step_sshd},         {"keys", step_keys}, {"user-data", step_user_data}};
    for (const auto& [name, fn] : steps) {
        if (!wanted(options, name)) continue;
        if (!run.step(name, [&] { return fn(ctx, *plan); })) {
            if (full) report(false);
            return 1;
        }
    }

    if (wanted(options, "baseline")) {
        if (config->baseline.empty()) {
            log_line("baseline: none configured ([Baseline] Baseline= is empty)");
        } else {
            bool ok = run.step("baseline", [&]() -> Result<void> {
                auto b = apply_baseline(*config, *root, live);
                if (!b) return std::unexpected(b.error());
                run.baseline() = {{"baseline", b->baseline}, {"fix_exit", b->fix_exit}, {"transaction", b->transaction},
                                  {"pass", b->pass},         {"fixed", b->fixed},      {"fail", b->fail},
                                  {"error", b->error},       {"report", b->report_path}};
                log_line("baseline " + b->baseline + ": " + std::to_string(b->fixed) + " fixed, " +
                         std::to_string(b->pass) + " pass, " + std::to_string(b->fail) + " still fail, " +
                         std::to_string(b->error) + " error" +
                         (b->transaction.empty() ? "" : "; transaction " + b->transaction) + "; report in " + b->report_path);
                return {};
            });
            if (!ok) {
                if (full) report(false);
                return 1;
            }
        }
    }

    if (wanted(options, "report-ready") && !report(true)) {
        log_line("Ready was not delivered; no marker written, so the next boot provisions (idempotently) and reports again");
        return 1;
    }
    if (!full) return 0;

    bool marked = run.step("marker", [&]() -> Result<void> {
        if (auto d = ensure_directory(*root, config->state_dir, 0700, {}, true); !d) return std::unexpected(d.error());
        nlohmann::json record = {{"vm_id", *vm_id},        {"provisioned_at", utc_now()}, {"source", plan->source},
                                 {"user", plan->user},     {"steps", run.steps()},        {"baseline", run.baseline()}};
        return write_file_atomic(*root, marker, record.dump(2) + "\n", 0644);
    });
    if (!marked) return 1;
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);  // this process only; helpers (useradd, plumb fix) are separate processes
    log_line("provisioned in " + std::to_string(static_cast<long>(ms_since(start))) + " ms, peak RSS " +
             std::to_string(self.ru_maxrss) + " KiB");
    return 0;
}

}  // namespace plumb::provision
