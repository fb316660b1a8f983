#include "baseline_step.hpp"

#include <limits.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "atomic_file.hpp"
#include "exec.hpp"

namespace plumb::provision {

std::string plumb_binary_path(const ProvisionConfig& config) {
    if (!config.plumb_binary.empty()) return config.plumb_binary;
    char buf[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return "/usr/bin/plumb";
    std::string exe(buf, static_cast<size_t>(n));
    return exe.substr(0, exe.rfind('/')) + "/plumb";
}

Result<BaselineOutcome> apply_baseline(const ProvisionConfig& config, const SafeRoot& root, bool live) {
    BaselineOutcome outcome;
    outcome.baseline = config.baseline;
    const std::string plumb = plumb_binary_path(config);
    std::vector<std::string> argv{plumb, "fix", "--baseline", config.baseline, "--format", "json"};
    if (!live) {
        argv.push_back("--root");
        argv.push_back(root.path());
    }
    auto r = run_command(argv, config.baseline_timeout, 64u << 20);
    if (!r) return fail(r.error().code, "baseline " + config.baseline + ": cannot run " + plumb + ": " + r.error().message);
    outcome.fix_exit = r->exit_code;
    if (r->timed_out || (r->exit_code != 0 && r->exit_code != 2))
        return fail(EIO, "baseline " + config.baseline + ": " + r->describe("plumb fix"));

    auto report = nlohmann::json::parse(r->out, nullptr, false);
    if (report.is_discarded() || !report.contains("summary") || !report["summary"].is_object())
        return fail(EBADMSG, "baseline " + config.baseline + ": plumb fix did not print a JSON report");
    const auto& s = report["summary"];
    outcome.pass = s.value("pass", 0L);
    outcome.fixed = s.value("fixed", 0L);
    outcome.transaction = report.value("transaction", std::string());
    outcome.fail = s.value("fail", 0L);
    outcome.error = s.value("error", 0L);

    outcome.report_path = config.state_dir + "/baseline-fix.json";
    if (auto d = ensure_directory(root, config.state_dir, 0700, {}, true); !d) return std::unexpected(d.error());
    if (auto w = write_file_atomic(root, outcome.report_path, r->out, 0600); !w) return std::unexpected(w.error());
    return outcome;
}

}  // namespace plumb::provision
