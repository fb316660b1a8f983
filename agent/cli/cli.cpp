// The plumb command line: a thin layer over the engine (load, gather, evaluate, write a report).
#include "cli.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

#include "plumb/baseline_loader.hpp"
#include "plumb/evaluator.hpp"
#include "plumb/module_host.hpp"
#include "plumb/report.hpp"

namespace plumb::cli {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

constexpr const char* kUsage = R"(usage: plumb <command> [options]

commands:
  audit                 check this system (or --root DIR) against a baseline
  rules                 list the rules of a baseline
  explain RULE          show a rule: description, rationale, references, parameters, expressions
  baseline validate F   check a baseline file against the schema and the installed modules
  fix                   audit, plan the changes failing rules need, apply them in one transaction, verify
  history               list remediation transactions
  rollback [ID]         restore the state before transaction ID (default: the latest applied one)
  modules               list the installed modules and their procedures
  version               print the version

options:
  --root DIR            audit an offline image mounted at DIR (live-only rules report notapplicable)
  --baseline ID|FILE    baseline id (installed) or file; default: cis
  --tailoring FILE      tailoring: select/deselect rules, set parameter values
  --waivers FILE        waivers: rule, justification, expiry date
  --rule ID             only this rule (repeatable)
  --format text|json    output format (default text)
  --dry-run             fix: print the plan (unified diffs, service actions, notices) and change nothing
  --output FILE         write the report to FILE instead of standard output
  --module-dir DIR      load modules from DIR instead of the installed ones
  --development         accept module files not owned by root (build trees; also PLUMB_DEVELOPMENT=1)
  -v, --verbose         print module diagnostics on standard error

exit status: 0 all rules pass (or waived / notapplicable), 2 a rule failed or errored, 1 usage or tool error
)";


Result<Options> parse_args(int argc, char** argv) {
    Options o;
    std::vector<std::string> args(argv + 1, argv + argc);
    auto need_value = [&](size_t& i) -> Result<std::string> {
        if (i + 1 >= args.size()) return fail_invalid(args[i] + " needs a value");
        return args[++i];
    };
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        std::string key = a, inline_value;
        bool has_inline = false;
        if (a.starts_with("--") && a.find('=') != std::string::npos) {
            key = a.substr(0, a.find('='));
            inline_value = a.substr(a.find('=') + 1);
            has_inline = true;
        }
        auto value = [&]() -> Result<std::string> { return has_inline ? Result<std::string>(inline_value) : need_value(i); };
        auto set = [&](auto& field) -> Result<void> {
            auto v = value();
            if (!v) return std::unexpected(v.error());
            field = *v;
            return {};
        };
        Result<void> ok;
        if (key == "--root") {
            ok = set(o.root);
            o.root_given = true;
        } else if (key == "--baseline") ok = set(o.baseline);
        else if (key == "--tailoring") ok = set(o.tailoring);
        else if (key == "--waivers") ok = set(o.waivers);
        else if (key == "--output") ok = set(o.output);
        else if (key == "--module-dir") ok = set(o.module_dir);
        else if (key == "--format") ok = set(o.format);
        else if (key == "--rule") {
            std::string r;
            ok = set(r);
            o.rules.push_back(r);
        } else if (key == "--development") o.development = true;
        else if (key == "--dry-run") o.dry_run = true;
        else if (key == "-v" || key == "--verbose") o.verbose = 1;
        else if (key == "-h" || key == "--help") o.command = "help";
        else if (a.starts_with("-") && a != "-") return fail_invalid("unknown option " + a);
        else if (o.command.empty()) o.command = a;
        else o.positional.push_back(a);
        if (!ok) return std::unexpected(ok.error());
    }
    if (o.format != "text" && o.format != "json") return fail_invalid("--format must be text or json, not '" + o.format + "'");
    if (const char* d = std::getenv("PLUMB_DEVELOPMENT"); d && std::string(d) == "1") o.development = true;
    return o;
}

}  // namespace

namespace {

// plumb-fix.so, loaded on first use and kept for the life of the process.
struct FixPlugin {
    FixCommandFn command;
    FixRecoverFn recover;
};

Result<FixPlugin> fix_plugin(const Options& o) {
    static std::optional<Result<FixPlugin>> loaded;
    if (loaded) return *loaded;
    auto load = [&]() -> Result<FixPlugin> {
        auto layout = discover_layout();
        if (!layout) return std::unexpected(layout.error());
        if (auto ok = check_trusted_file(layout->fix_plugin, o.development); !ok) return std::unexpected(ok.error());
        void* handle = dlopen(layout->fix_plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) return fail(ENOENT, std::string("cannot load the remediation plugin: ") + dlerror());
        auto command = reinterpret_cast<FixCommandFn>(dlsym(handle, "plumb_fix_command"));
        auto recover = reinterpret_cast<FixRecoverFn>(dlsym(handle, "plumb_fix_recover"));
        if (!command || !recover) return fail(ENOENT, layout->fix_plugin + ": not a plumb remediation plugin");
        return FixPlugin{command, recover};
    };
    loaded = load();
    return *loaded;
}

// An audit looks at files only after a transaction a killed plumb left unfinished has been rolled back.
void recover_with_plugin(const Options& o, const SafeRoot& root) {
    auto plugin = fix_plugin(o);
    if (!plugin) {
        std::fprintf(stderr, "plumb: warning: a transaction journal exists but %s\n", plugin.error().message.c_str());
        return;
    }
    plugin->recover(&root);
}

int cmd_audit(const Options& o) {
    auto t0 = Clock::now();
    std::string started = utc_now("%Y-%m-%dT%H:%M:%SZ");
    auto opened = open_root(o, [&](const SafeRoot& root) { recover_with_plugin(o, root); });
    if (!opened) return tool_error(opened.error());
    auto loaded = load_all(o, true);
    if (!loaded) return tool_error(loaded.error());
    double load_ms = ms_since(t0);

    auto t1 = Clock::now();
    Selection selection{{o.rules.begin(), o.rules.end()}};
    Report report;
    {
        RunContext ctx(std::move(opened->root), opened->live, *loaded->registry);
        ctx.set_log_level(o.verbose);
        Facts facts = gather_facts(loaded->baseline, selection, ctx);
        report.results = evaluate(loaded->baseline, selection, facts, loaded->waivers, utc_now("%Y-%m-%d"));
        report.host = hostname_of(ctx);
    }
    report.audit_ms = ms_since(t1);
    fill_header(report, "audit", *loaded, o, opened->live, started);
    report.load_ms = load_ms;
    report.total_ms = ms_since(t0);
    if (auto ok = write_output(o, render(o, report)); !ok) return tool_error(ok.error());
    return report.exit_code();
}

int cmd_rules(const Options& o) {
    auto loaded = load_all(o, false);
    if (!loaded) return tool_error(loaded.error());
    const Baseline& b = loaded->baseline;
    std::string text;
    if (o.format == "json") {
        nlohmann::json rules = nlohmann::json::array();
        for (const auto& r : b.rules)
            rules.push_back({{"id", r.id}, {"title", r.title}, {"severity", to_string(r.severity)},
                             {"references", r.references}, {"selected", r.selected}});
        text = nlohmann::json{{"baseline", {{"id", b.id}, {"version", b.version}, {"title", b.title}}}, {"rules", rules}}.dump(2) + "\n";
    } else {
        text = b.id + " " + b.version + ": " + b.title + " (" + std::to_string(b.rules.size()) + " rules)\n";
        for (const auto& r : b.rules) {
            char sev[16];
            std::snprintf(sev, sizeof sev, "%-8s", std::string(to_string(r.severity)).c_str());
            auto ssg = r.references.find("ssg");
            text += std::string(r.selected ? "  " : "- ") + sev + " " + r.id + "  " + r.title +
                    (ssg != r.references.end() ? "  [ssg " + ssg->second + "]" : "") + "\n";
        }
    }
    if (auto ok = write_output(o, text); !ok) return tool_error(ok.error());
    return 0;
}

std::string expr_text(const Expr& e, int indent) {
    std::string pad(static_cast<size_t>(indent) * 2, ' ');
    switch (e.kind) {
        case Expr::Kind::call: return pad + e.module + "." + e.procedure + " " + e.args.dump() + "\n";
        case Expr::Kind::not_: return pad + "not\n" + expr_text(e.children.at(0), indent + 1);
        case Expr::Kind::all_of:
        case Expr::Kind::any_of: {
            std::string s = pad + (e.kind == Expr::Kind::all_of ? "allOf\n" : "anyOf\n");
            for (const auto& c : e.children) s += expr_text(c, indent + 1);
            return s;
        }
    }
    return "";
}

int cmd_explain(const Options& o) {
    if (o.positional.size() != 1) return tool_error(Error::invalid("explain takes one rule id"));
    auto loaded = load_all(o, false);
    if (!loaded) return tool_error(loaded.error());
    const Rule* r = loaded->baseline.rule(o.positional[0]);
    if (!r) return tool_error(Error::invalid("baseline " + loaded->baseline.id + " has no rule '" + o.positional[0] + "'"));
    std::string t = r->id + ": " + r->title + "\n\nseverity: " + std::string(to_string(r->severity)) + "\n";
    for (const auto& [k, v] : r->references) t += "reference " + k + ": " + v + "\n";
    t += "\n" + r->description + "\n\nrationale: " + r->rationale + "\n";
    if (!r->parameters.empty()) {
        t += "\nparameters:\n";
        for (const auto& p : r->parameters) t += "  " + p.name + " (" + p.type + ") = " + p.value.dump() + "  " + p.description + "\n";
    }
    if (r->applicability.live_only) t += "\napplies only to a running system\n";
    if (!r->applicability.distros.empty()) {
        t += "\ndistributions:";
        for (const auto& d : r->applicability.distros) t += " " + d;
        t += "\n";
    }
    t += "\naudit:\n" + expr_text(r->audit, 1);
    if (r->remediation) t += "\nremediation:\n" + expr_text(*r->remediation, 1);
    if (auto ok = write_output(o, t); !ok) return tool_error(ok.error());
    return 0;
}

int cmd_baseline(const Options& o) {
    if (o.positional.size() != 2 || o.positional[0] != "validate")
        return tool_error(Error::invalid("usage: plumb baseline validate FILE"));
    Options v = o;
    v.baseline = o.positional[1].find('/') == std::string::npos ? "./" + o.positional[1] : o.positional[1];
    auto loaded = load_all(v, false);
    if (!loaded) return tool_error(loaded.error());
    const Baseline& b = loaded->baseline;
    std::string t = o.positional[1] + ": valid baseline " + b.id + " " + b.version + " with " + std::to_string(b.rules.size()) + " rules\n";
    for (const auto& m : loaded->registry->modules())
        if (!m.abi) t += "warning: module " + m.name + " unavailable (" + m.load_error + "); its rules will report error\n";
    if (auto ok = write_output(o, t); !ok) return tool_error(ok.error());
    return 0;
}

int cmd_modules(const Options& o) {
    auto layout = discover_layout();
    if (!layout) return tool_error(layout.error());
    auto registry = ModuleRegistry::load_directory(o.module_dir.value_or(layout->module_dir), ModuleLoadPolicy{.development = o.development});
    if (!registry) return tool_error(registry.error());
    std::string t;
    for (const auto& m : (*registry)->modules()) {
        if (!m.abi) {
            t += m.name + ": unavailable: " + m.load_error + "\n";
            continue;
        }
        t += m.name + " " + m.version + ": " + m.description + "\n";
        for (const auto& p : m.procedures)
            t += "  " + m.name + "." + p.name + ((p.flags & PLUMB_PROC_LIVE_ONLY) ? " (live only)" : "") + ": " + p.description + "\n";
    }
    if (auto ok = write_output(o, t); !ok) return tool_error(ok.error());
    return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
    auto parsed = parse_args(argc, argv);
    if (!parsed) {
        std::fprintf(stderr, "plumb: %s\n%s", parsed.error().message.c_str(), kUsage);
        return 1;
    }
    const Options& o = *parsed;
    if (o.command == "help" || o.command.empty()) {
        std::fputs(kUsage, o.command.empty() ? stderr : stdout);
        return o.command.empty() ? 1 : 0;
    }
    if (o.command == "version") {
        std::printf("plumb %s\n", PLUMB_VERSION);
        return 0;
    }
    if (o.command == "audit") return cmd_audit(o);
    if (o.command == "rules") return cmd_rules(o);
    if (o.command == "explain") return cmd_explain(o);
    if (o.command == "baseline") return cmd_baseline(o);
    if (o.command == "modules") return cmd_modules(o);
    if (o.command == "fix" || o.command == "history" || o.command == "rollback") {
        auto plugin = fix_plugin(o);
        if (!plugin) return tool_error(plugin.error());
        return plugin->command(&o);
    }
    std::fprintf(stderr, "plumb: unknown command '%s'\n%s", o.command.c_str(), kUsage);
    return 1;
}

}  // namespace plumb::cli
