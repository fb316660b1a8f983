// Pieces every plumb command shares: installation layout, loading modules and baselines, opening the root,
// writing reports. Compiled into the plumb executable and into the remediation commands' plugin (plumb-fix.so).
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include "cli.hpp"
#include "plumb/baseline_loader.hpp"

namespace plumb::cli {

Result<Layout> discover_layout() {
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) return fail_errno(errno, "/proc/self/exe");
    std::string exe(buf, static_cast<size_t>(n));
    std::string bindir = exe.substr(0, exe.rfind('/'));
    std::string prefix = bindir.substr(0, bindir.rfind('/'));
    return Layout{prefix + "/" PLUMB_MODULE_SUBDIR, prefix + "/" PLUMB_DATA_SUBDIR, prefix + "/" PLUMB_PLUGIN_SUBDIR "/plumb-fix.so"};
}

std::string utc_now(const char* fmt) {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, fmt, &tm);
    return buf;
}

namespace {

bool looks_like_file(const std::string& s) {
    return s.find('/') != std::string::npos || s.ends_with(".json") || s.ends_with(".jsonc");
}

}  // namespace

Result<Loaded> load_all(const Options& o, bool with_waivers) {
    Loaded l;
    auto layout = discover_layout();
    if (!layout) return std::unexpected(layout.error());
    l.layout = *layout;
    set_schema_directory(l.layout.data_dir + "/baselines");
    auto registry = ModuleRegistry::load_directory(o.module_dir.value_or(l.layout.module_dir),
                                                   ModuleLoadPolicy{.development = o.development});
    if (!registry) return std::unexpected(registry.error());
    l.registry = std::move(*registry);
    std::string file = looks_like_file(o.baseline) ? o.baseline : l.layout.data_dir + "/baselines/" + o.baseline + ".json";
    if (!looks_like_file(o.baseline) && access(file.c_str(), F_OK) != 0)
        return fail(ENOENT, "no installed baseline '" + o.baseline + "' (looked for " + file + ")");
    auto baseline = load_baseline_file(file, *l.registry);
    if (!baseline) return std::unexpected(baseline.error());
    l.baseline = std::move(*baseline);
    if (o.tailoring)
        if (auto ok = apply_tailoring_file(l.baseline, *o.tailoring, *l.registry); !ok) return std::unexpected(ok.error());
    if (with_waivers && o.waivers) {
        auto w = load_waivers_file(*o.waivers, l.baseline);
        if (!w) return std::unexpected(w.error());
        l.waivers = std::move(*w);
    }
    for (const auto& id : o.rules)
        if (!l.baseline.rule(id)) return fail_invalid("--rule " + id + ": baseline " + l.baseline.id + " has no such rule");
    return l;
}

Result<void> write_output(const Options& o, const std::string& text) {
    if (!o.output) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return {};
    }
    std::ofstream out(*o.output, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return fail_errno(errno ? errno : EIO, "--output " + *o.output);
    return {};
}

std::string hostname_of(RunContext& ctx) {
    if (ctx.live()) {
        char buf[256] = {};
        if (gethostname(buf, sizeof buf - 1) == 0) return buf;
    }
    auto h = ctx.read("/etc/hostname");
    if (!h) return "";
    std::string s(*h);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
    return s;
}

int tool_error(const Error& e) {
    std::fprintf(stderr, "plumb: %s\n", e.message.c_str());
    return 1;
}

Result<OpenedRoot> open_root(const Options& o, const std::function<void(const SafeRoot&)>& recover) {
    struct stat st {};
    if (::stat(o.root.c_str(), &st) != 0) return fail_errno(errno, "--root " + o.root);
    if (!S_ISDIR(st.st_mode)) return fail_errno(ENOTDIR, "--root " + o.root);
    auto root = SafeRoot::open(o.root);
    if (!root) return std::unexpected(root.error());
    char real[PATH_MAX];
    bool live = realpath(o.root.c_str(), real) && std::string(real) == "/";
    // A transaction a killed plumb left unfinished is rolled back before anything else looks at the files. (Only
    // where a journal exists: an audit never creates one.)
    if (root->stat(kJournalDir)) recover(*root);
    return OpenedRoot{std::move(*root), live};
}

void fill_header(Report& report, const std::string& command, const Loaded& loaded, const Options& o, bool live,
                 const std::string& started) {
    report.tool_version = PLUMB_VERSION;
    report.command = command;
    report.baseline_id = loaded.baseline.id;
    report.baseline_version = loaded.baseline.version;
    report.baseline_title = loaded.baseline.title;
    report.root = o.root;
    report.live = live;
    report.started_at = started;
}

std::string render(const Options& o, const Report& report) {
    if (o.format == "json") return to_json(report).dump(2) + "\n";
    bool colour = !o.output && isatty(STDOUT_FILENO) && !std::getenv("NO_COLOR");
    return to_text(report, colour);
}


}  // namespace plumb::cli
