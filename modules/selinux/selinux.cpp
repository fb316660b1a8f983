// plumb_selinux: SELinux as configured (/etc/selinux/config, read by libselinux's own rules) and as running (through
// libselinux: is_selinux_enabled, security_getenforce, selinux_getpolicytype, getpidcon).
//
// The kernel command line (selinux=0, enforcing=0) is core.kernel_cmdline's business and the packages are
// core.package_installed's: the baseline combines them, this module does not repeat them.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <selinux/selinux.h>

#include <nlohmann/json.hpp>

#include "plumb/config/text.hpp"
#include "plumb/lazy_library.hpp"
#include "plumb/module.hpp"
#include "selinux_config.hpp"

namespace {

using nlohmann::json;
namespace cfg = plumb::config;
namespace se = plumb::selinux;
using se::Mode;

constexpr const char* kAutorelabel = "/.autorelabel";
constexpr const char* kNewConfigHeader =
    "# Written by plumb (plumb fix): SELinux settings required by the compliance baseline.\n"
    "# SELINUX= is read at boot; SELINUXTYPE= names the policy under /etc/selinux.\n";

// libselinux is needed only on a running system with SELinux: loaded on first use, not at every plumb start-up.
struct SelinuxApi {
    PLUMB_LAZY_FN(is_selinux_enabled);
    PLUMB_LAZY_FN(security_getenforce);
    PLUMB_LAZY_FN(security_setenforce);
    PLUMB_LAZY_FN(selinux_getpolicytype);
    PLUMB_LAZY_FN(getpidcon);
    PLUMB_LAZY_FN(freecon);
};

plumb::sdk::LazyLibrary<SelinuxApi> libselinux("libselinux.so.1", [](auto& lib, SelinuxApi& a) {
    return lib.bind(a.is_selinux_enabled, "is_selinux_enabled") &&
           lib.bind(a.security_getenforce, "security_getenforce") &&
           lib.bind(a.security_setenforce, "security_setenforce") &&
           lib.bind(a.selinux_getpolicytype, "selinux_getpolicytype") &&
           lib.bind(a.getpidcon, "getpidcon") &&
           lib.bind(a.freecon, "freecon");
});

// The loaded API; the SDK turns the exception into an error result naming the library.
const SelinuxApi& sel() { return libselinux.require(); }

struct FreeCon {
    void operator()(char* p) const { sel().freecon(p); }
};
using Con = std::unique_ptr<char, FreeCon>;

std::string where(const se::ConfigView& v, unsigned line) { return v.file + ":" + std::to_string(line); }

// Notes on lines libselinux skips or never reaches, so that a reader of the file is not misled by them.
std::string mode_notes(const se::ConfigView& v) {
    std::string notes;
    for (const auto& i : v.ignored_mode)
        notes += "; line " + std::to_string(i.line) + " \"" + i.text + "\" is ignored: " + i.why;
    for (unsigned l : v.later_mode_lines)
        notes += "; line " + std::to_string(l) + " is never read (libselinux uses the first valid SELINUX= line)";
    return notes;
}

std::string policy_notes(const se::ConfigView& v) {
    std::string notes;
    for (const auto& i : v.ignored_policy)
        notes += "; line " + std::to_string(i.line) + " \"" + i.text + "\" is ignored: " + i.why;
    for (unsigned l : v.earlier_policy_lines)
        notes += "; line " + std::to_string(l) + " is overridden (libselinux uses the last SELINUXTYPE= line)";
    return notes;
}

struct Check {
    plumb_status status = PLUMB_STATUS_ERROR;
    std::string code, phrase;
    std::optional<std::string> text;  // the configuration file, when it exists
    se::ConfigView view;
};

class Selinux : public plumb::sdk::Instance {
public:
    using Instance::Instance;

    plumb_status mode(const json& args, plumb::sdk::Reporter& r) { return report(check_mode(args), r); }
    plumb_status remediate_mode(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r);
    plumb_status policy_type(const json& args, plumb::sdk::Reporter& r) { return report(check_policy(args), r); }
    plumb_status remediate_policy_type(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r);
    plumb_status live_mode(const json& args, plumb::sdk::Reporter& r);
    plumb_status remediate_live_mode(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r);
    plumb_status live_policy_type(const json& args, plumb::sdk::Reporter& r);
    plumb_status unconfined_daemons(const json& args, plumb::sdk::Reporter& r);
    int apply_live(const std::string& name, const json& payload, plumb::sdk::Reporter& r) override;

private:
    static plumb_status report(const Check& c, plumb::sdk::Reporter& r) {
        r.reason(c.code, c.phrase);
        return c.status;
    }
    Check read_config();
    Check check_mode(const json& args);
    Check check_policy(const json& args);
    // nullopt when SELinux runs in this kernel; otherwise the not-applicable reason (code, phrase).
    std::optional<std::pair<std::string, std::string>> not_running();
    plumb_status planned(plumb::sdk::Reporter& r, const Check& before, const Check& after, const std::string& what);
};

Check Selinux::read_config() {
    Check c;
    auto text = host().read(se::kConfigFile);
    if (text) {
        c.text = std::string(*text);
        c.view = se::parse_config(*c.text, se::kConfigFile);
    } else if (text.error().code != ENOENT && text.error().code != ENOTDIR) {
        c.code = "config_unreadable";
        c.phrase = text.error().message;
    }
    c.view.file = se::kConfigFile;
    return c;
}

Check Selinux::check_mode(const json& args) {
    Check c = read_config();
    if (!c.code.empty()) return c;
    const std::string want = args.at("equals");
    auto verdict = [&](plumb_status s, const char* code, std::string phrase) {
        c.status = s;
        c.code = code;
        c.phrase = std::move(phrase);
        return c;
    };
    if (!c.text)
        return verdict(PLUMB_STATUS_FAIL, "config_missing",
                       std::string(se::kConfigFile) + " does not exist, so no SELinux mode is configured; expected SELINUX=" + want);
    const auto& v = c.view;
    if (!v.mode)
        return verdict(PLUMB_STATUS_FAIL, "not_set",
                       std::string(se::kConfigFile) + " has no SELINUX= line libselinux accepts" + mode_notes(v) +
                           "; expected SELINUX=" + want);
    const std::string actual = "SELINUX=" + v.mode_text + " at " + where(v, v.mode_line);
    const std::string read_as = v.mode_text == se::to_string(*v.mode) ? "" : std::string(" (read as ") + se::to_string(*v.mode) + ")";
    if (se::to_string(*v.mode) == want)
        return verdict(PLUMB_STATUS_PASS, "value_ok", actual + read_as + " is " + want + mode_notes(v));
    return verdict(PLUMB_STATUS_FAIL, "value_mismatch", actual + read_as + mode_notes(v) + "; expected " + want);
}

Check Selinux::check_policy(const json& args) {
    Check c = read_config();
    if (!c.code.empty()) return c;
    const std::string want = args.at("equals");
    const bool require_explicit = args.value("require_explicit", false);
    auto verdict = [&](plumb_status s, const char* code, std::string phrase) {
        c.status = s;
        c.code = code;
        c.phrase = std::move(phrase);
        return c;
    };
    const auto& v = c.view;
    if (!v.policy_type) {
        std::string why = c.text ? std::string(se::kConfigFile) + " has no SELINUXTYPE= line" + policy_notes(v)
                                 : std::string(se::kConfigFile) + " does not exist";
        std::string actual = why + "; libselinux uses its default " + se::kDefaultPolicyType;
        if (require_explicit) return verdict(PLUMB_STATUS_FAIL, "not_set", actual + "; expected SELINUXTYPE=" + want + " set explicitly");
        if (want == se::kDefaultPolicyType) return verdict(PLUMB_STATUS_PASS, "default_ok", actual);
        return verdict(PLUMB_STATUS_FAIL, "not_set_default", actual + "; expected " + want);
    }
    const std::string actual = "SELINUXTYPE=" + *v.policy_type + " at " + where(v, v.policy_line);
    if (*v.policy_type == want) return verdict(PLUMB_STATUS_PASS, "value_ok", actual + " is " + want + policy_notes(v));
    return verdict(PLUMB_STATUS_FAIL, "value_mismatch", actual + policy_notes(v) + "; expected " + want);
}

plumb_status Selinux::planned(plumb::sdk::Reporter& r, const Check& before, const Check& after, const std::string& what) {
    if (after.status != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning " + what + " the setting would still not comply: " + after.phrase);
    return r.fail("planned", before.phrase + "; planned " + what);
}

// Remediation of SELINUX=: only the line libselinux reads changes (or one is appended). Turning SELinux on where it
// was off leaves files unlabelled, so it is never done silently: /.autorelabel makes the next boot relabel the file
// systems, and the plan says a relabel and a reboot are needed.
plumb_status Selinux::remediate_mode(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r) {
    Check before = check_mode(args);
    if (before.status == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.phrase);
    if (before.status != PLUMB_STATUS_FAIL) return r.error(before.code, before.phrase);
    const Mode target = *se::mode_from_string(args.at("equals").get<std::string>());
    const std::string line = std::string("SELINUX=") + se::to_string(target);
    std::string content = before.text ? se::set_mode(*before.text, target) : std::string(kNewConfigHeader) + line + "\n";
    if (auto ok = planner.write_file(se::kConfigFile, content, 0644, "set " + line); !ok)
        return r.error("plan_failed", ok.error().message);

    const std::optional<Mode> previous = before.view.mode;
    const bool was_off = !previous || *previous == Mode::disabled;
    std::string consequences;
    if (target != Mode::disabled && was_off) {
        if (auto ok = planner.write_file(kAutorelabel, "", 0644, "relabel every file system at the next boot (SELinux was disabled)"); !ok)
            return r.error("plan_failed", ok.error().message);
        const std::string from = previous ? "disabled" : "not configured";
        if (auto ok = planner.notice(PLUMB_NOTICE_RELABEL_REQUIRED,
                                     "SELinux goes from " + from + " to " + se::to_string(target) +
                                         ": files created while it was off have no labels; " + kAutorelabel +
                                         " makes the next boot relabel every file system (this can take long)");
            !ok)
            return r.error("plan_failed", ok.error().message);
        consequences = ", " + std::string(kAutorelabel) + " (relabel) and a reboot";
    }
    if (target == Mode::disabled || was_off) {
        if (auto ok = planner.notice(PLUMB_NOTICE_REBOOT_REQUIRED,
                                     line + " takes effect at the next boot (the running kernel cannot switch SELinux on or off)");
            !ok)
            return r.error("plan_failed", ok.error().message);
        if (consequences.empty()) consequences = " and a reboot";
    }
    return planned(r, before, check_mode(args), line + " in " + se::kConfigFile + consequences);
}

plumb_status Selinux::remediate_policy_type(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r) {
    Check before = check_policy(args);
    if (before.status == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.phrase);
    if (before.status != PLUMB_STATUS_FAIL) return r.error(before.code, before.phrase);
    const std::string want = args.at("equals");
    const std::string line = "SELINUXTYPE=" + want;
    std::string content = before.text ? se::set_policy_type(*before.text, want) : std::string(kNewConfigHeader) + line + "\n";
    if (auto ok = planner.write_file(se::kConfigFile, content, 0644, "set " + line); !ok)
        return r.error("plan_failed", ok.error().message);
    // A different policy means different file contexts: the files need relabelling under the new one.
    const std::string previous = before.view.policy_type.value_or(se::kDefaultPolicyType);
    std::string consequences;
    if (previous != want) {
        if (auto ok = planner.write_file(kAutorelabel, "", 0644, "relabel for the " + want + " policy at the next boot"); !ok)
            return r.error("plan_failed", ok.error().message);
        if (auto ok = planner.notice(PLUMB_NOTICE_RELABEL_REQUIRED, "the policy changes from " + previous + " to " + want +
                                                                        ": the next boot relabels every file system");
            !ok)
            return r.error("plan_failed", ok.error().message);
        if (auto ok = planner.notice(PLUMB_NOTICE_REBOOT_REQUIRED, line + " is loaded at the next boot"); !ok)
            return r.error("plan_failed", ok.error().message);
        consequences = ", " + std::string(kAutorelabel) + " (relabel) and a reboot";
    }
    return planned(r, before, check_policy(args), line + " in " + se::kConfigFile + consequences);
}

// --- the running system ----------------------------------------------------------------------------------------

std::optional<std::pair<std::string, std::string>> Selinux::not_running() {
    if (sel().is_selinux_enabled() == 1) return std::nullopt;
    // Tell a kernel built without SELinux from one booted with it off.
    bool in_kernel = false;
    if (auto fs = host().read("/proc/filesystems"))
        for (const auto& l : cfg::split_lines(*fs))
            if (cfg::trim(l).ends_with("selinuxfs")) in_kernel = true;
    if (!in_kernel)
        return std::pair<std::string, std::string>{
            "selinux_not_in_kernel",
            "the running kernel has no SELinux: /sys/fs/selinux is not mounted and /proc/filesystems has no selinuxfs; "
            "only the configuration can be checked"};
    return std::pair<std::string, std::string>{
        "selinux_disabled",
        "SELinux is disabled in the running kernel (selinuxfs is not mounted: booted with selinux=0 or SELINUX=disabled); "
        "the configured mode applies from the next boot"};
}

plumb_status Selinux::live_mode(const json& args, plumb::sdk::Reporter& r) {
    if (auto na = not_running()) return r.not_applicable(na->first, na->second);
    const std::string want = args.at("equals");
    int enforce = sel().security_getenforce();
    if (enforce < 0) return r.error("getenforce_failed", std::string("security_getenforce: ") + std::strerror(errno));
    const std::string actual = enforce == 1 ? "enforcing" : "permissive";
    if (actual == want) return r.pass("live_ok", "the running kernel enforces SELinux mode " + actual);
    return r.fail("live_mismatch", "the running kernel is in SELinux mode " + actual + "; expected " + want);
}

// Only permissive -> enforcing is done live (security_setenforce); going the other way, or switching SELinux on or
// off, is a boot-time change that the configuration rule plans.
plumb_status Selinux::remediate_live_mode(const json& args, plumb::sdk::Planner& planner, plumb::sdk::Reporter& r) {
    if (!host().is_live()) return r.not_applicable("live_only", "the running mode exists only on a live system");
    if (auto na = not_running()) return r.not_applicable(na->first, na->second);
    const std::string want = args.at("equals");
    int enforce = sel().security_getenforce();
    if (enforce < 0) return r.error("getenforce_failed", std::string("security_getenforce: ") + std::strerror(errno));
    if ((enforce == 1) == (want == "enforcing")) return r.pass("nothing_to_do", "the running mode is already " + want);
    if (want != "enforcing")
        return r.error("no_live_change", "plumb does not lower enforcement on a running system; the configured mode "
                                         "applies at the next boot");
    if (auto ok = planner.live_action("setenforce", "switch the running SELinux mode from permissive to enforcing",
                                      json{{"enforce", 1}}, json{{"enforce", 0}});
        !ok)
        return r.error("plan_failed", ok.error().message);
    return r.fail("planned", "the running kernel is permissive; planned security_setenforce(1)");
}

int Selinux::apply_live(const std::string& name, const json& payload, plumb::sdk::Reporter& r) {
    if (name != "setenforce") return Instance::apply_live(name, payload, r);
    const int value = payload.at("enforce").get<int>();
    if (sel().security_setenforce(value) < 0) {
        int e = errno;
        r.reason("setenforce_failed", "security_setenforce(" + std::to_string(value) + "): " + std::strerror(e));
        return -e;
    }
    return 0;
}

plumb_status Selinux::live_policy_type(const json& args, plumb::sdk::Reporter& r) {
    if (auto na = not_running()) return r.not_applicable(na->first, na->second);
    const std::string want = args.at("equals");
    char* raw = nullptr;
    if (sel().selinux_getpolicytype(&raw) < 0) return r.error("getpolicytype_failed", "selinux_getpolicytype failed");
    std::unique_ptr<char, decltype(&std::free)> type(raw, &std::free);
    if (want == type.get()) return r.pass("live_ok", std::string("libselinux reports policy type ") + type.get());
    return r.fail("live_mismatch", std::string("libselinux reports policy type ") + type.get() + "; expected " + want);
}

// SSG selinux_confinement_of_daemons: no process may run in a domain for services the policy does not confine.
plumb_status Selinux::unconfined_daemons(const json& args, plumb::sdk::Reporter& r) {
    if (auto na = not_running()) return r.not_applicable(na->first, na->second);
    std::vector<std::string> types = args.value("types", std::vector<std::string>{"unconfined_service_t", "initrc_t"});
    auto pids = host().list_dir("/proc");
    if (!pids) return r.error("proc_unreadable", pids.error().message);
    std::size_t checked = 0, flagged = 0;
    for (const auto& name : *pids) {
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        char* raw = nullptr;
        if (sel().getpidcon(std::stoi(name), &raw) < 0) continue;  // the process exited meanwhile
        Con con(raw);
        ++checked;
        const std::string type = se::context_type(con.get());
        if (std::find(types.begin(), types.end(), type) == types.end()) continue;
        std::string comm = "?";
        if (auto c = host().read("/proc/" + name + "/comm")) comm = std::string(cfg::trim(*c));
        r.reason("unconfined_daemon", "pid " + name + " (" + comm + ") runs as " + con.get());
        ++flagged;
    }
    if (flagged) return PLUMB_STATUS_FAIL;
    return r.pass("none_unconfined", "none of " + std::to_string(checked) + " processes runs as " + cfg::join(types, " or "));
}

constexpr const char* kModeSchema = R"J({
  "type": "object",
  "properties": {"equals": {"enum": ["enforcing", "permissive", "disabled"]}},
  "required": ["equals"],
  "additionalProperties": false
})J";
constexpr const char* kLiveModeSchema = R"J({
  "type": "object",
  "properties": {"equals": {"enum": ["enforcing", "permissive"]}},
  "required": ["equals"],
  "additionalProperties": false
})J";
constexpr const char* kPolicySchema = R"J({
  "type": "object",
  "properties": {
    "equals": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$", "description": "policy name: targeted, mls, minimum"},
    "require_explicit": {"type": "boolean", "description": "fail when SELINUXTYPE= is not set (libselinux default targeted)"}
  },
  "required": ["equals"],
  "additionalProperties": false
})J";
constexpr const char* kLivePolicySchema = R"J({
  "type": "object",
  "properties": {"equals": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"}},
  "required": ["equals"],
  "additionalProperties": false
})J";
constexpr const char* kUnconfinedSchema = R"J({
  "type": "object",
  "properties": {
    "types": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z0-9_]+$"},
              "description": "SELinux types no process may run as; default unconfined_service_t, initrc_t"}
  },
  "additionalProperties": false
})J";

const plumb::sdk::Procedure<Selinux> kProcedures[] = {
    {"mode", "SELINUX= in /etc/selinux/config, as libselinux reads it at boot", kModeSchema, 0, &Selinux::mode,
     &Selinux::remediate_mode},
    {"policy_type", "SELINUXTYPE= in /etc/selinux/config, as libselinux reads it", kPolicySchema, 0,
     &Selinux::policy_type, &Selinux::remediate_policy_type},
    {"live_mode", "the running SELinux mode (security_getenforce)", kLiveModeSchema, PLUMB_PROC_LIVE_ONLY,
     &Selinux::live_mode, &Selinux::remediate_live_mode},
    {"live_policy_type", "the policy type libselinux reports on the running system (selinux_getpolicytype)",
     kLivePolicySchema, PLUMB_PROC_LIVE_ONLY, &Selinux::live_policy_type},
    {"unconfined_daemons", "no running process has an unconfined service domain (getpidcon over /proc)",
     kUnconfinedSchema, PLUMB_PROC_LIVE_ONLY, &Selinux::unconfined_daemons},
};

}  // namespace

PLUMB_MODULE(selinux, "1.0.0", "SELinux configuration and running state (libselinux)", Selinux, kProcedures)
