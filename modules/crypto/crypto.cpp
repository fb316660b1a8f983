// plumb_crypto: the system-wide crypto policy (crypto-policies), sshd's use of it, and FIPS mode (kernel and
// OpenSSL 3).
//
// The policy is read the way update-crypto-policies reads it (policy.hpp): /etc/crypto-policies/config, or the
// shipped default-config when it is missing; modules from /etc/crypto-policies/policies/modules before
// /usr/share/crypto-policies/policies/modules. What the back-ends actually use is what update-crypto-policies last
// generated, recorded in state/current: a configuration that state/current does not match is not in force.
// OpenSSL is asked through its API, in a private library context, and only on the running system: loading a
// provider means running its code, which must never come from an offline image.
#include <stdexcept>

#include <openssl/conf.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/config/ini_edit.hpp"
#include "plumb/config/keyvalue.hpp"
#include "plumb/config/text.hpp"
#include "plumb/lazy_library.hpp"
#include "plumb/module.hpp"
#include "policy.hpp"
#include "run.hpp"

namespace {

using nlohmann::json;
namespace cfg = plumb::config;
namespace cp = plumb::crypto;
using plumb::sdk::Planner;
using plumb::sdk::Reporter;

constexpr const char* kConfigFile = "/etc/crypto-policies/config";
constexpr const char* kDefaultConfigFile = "/usr/share/crypto-policies/default-config";
constexpr const char* kStateFile = "/etc/crypto-policies/state/current";
constexpr const char* kLocalModules = "/etc/crypto-policies/policies/modules";
constexpr const char* kSharedModules = "/usr/share/crypto-policies/policies/modules";
constexpr const char* kLocalPolicies = "/etc/crypto-policies/policies";
constexpr const char* kSharedPolicies = "/usr/share/crypto-policies/policies";
constexpr const char* kConfigHeader =
    "# System-wide crypto policy: POLICY[:SUB-POLICY...] (see update-crypto-policies(8)).\n"
    "# Written by plumb (plumb fix) for the compliance baseline; apply changes with update-crypto-policies.\n";
constexpr const char* kFipsEnabled = "/proc/sys/crypto/fips_enabled";
// Where distributions install update-crypto-policies; run by absolute path, never looked up in PATH.
const char* const kUpdateTool[] = {"/usr/bin/update-crypto-policies", "/usr/sbin/update-crypto-policies"};
constexpr int kUpdateTimeoutMs = 120'000;
// The CIS sub-policies plumb can author when they are missing (content per crypto-policies(7) syntax).
const struct {
    const char* module;
    const char* effect;
} kKnownModules[] = {
    {"NO-SHA1", "no_sha1_signatures"},
    {"NO-SSHCBC", "no_ssh_cbc"},
    {"NO-SSHWEAKMACS", "no_ssh_weak_macs"},
    {"NO-WEAKMAC", "no_weak_macs"},
};

std::string upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::vector<std::string> strings(const json& args, const char* key) {
    std::vector<std::string> out;
    if (args.contains(key))
        for (const auto& v : args[key]) out.push_back(v.get<std::string>());
    return out;
}

bool contains(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// The configured policy and where it came from.
struct Configured {
    cp::PolicyConfig config;
    std::string file;  // kConfigFile or kDefaultConfigFile; empty when neither exists
    std::string text;  // the file's content
    std::string where() const { return file + (config.line ? ":" + std::to_string(config.line) : ""); }
};

// OpenSSL objects freed on every path.
// libcrypto is needed only for the live OpenSSL checks: loaded on first use, not at every plumb start-up.
struct OpenSslApi {
    PLUMB_LAZY_FN(OSSL_LIB_CTX_free);
    PLUMB_LAZY_FN(OSSL_LIB_CTX_new);
    PLUMB_LAZY_FN(OSSL_LIB_CTX_load_config);
    PLUMB_LAZY_FN(ERR_get_error_all);
    PLUMB_LAZY_FN(ERR_error_string_n);
    PLUMB_LAZY_FN(ERR_clear_error);
    PLUMB_LAZY_FN(OpenSSL_version);
    PLUMB_LAZY_FN(OSSL_PROVIDER_available);
    PLUMB_LAZY_FN(OSSL_PROVIDER_load);
    PLUMB_LAZY_FN(OSSL_PROVIDER_unload);
    PLUMB_LAZY_FN(OSSL_PROVIDER_get_params);
    PLUMB_LAZY_FN(OSSL_PARAM_construct_utf8_ptr);
    PLUMB_LAZY_FN(OSSL_PARAM_construct_end);
    PLUMB_LAZY_FN(EVP_default_properties_is_fips_enabled);
    PLUMB_LAZY_FN(CRYPTO_free);
    PLUMB_LAZY_FN(CONF_get1_default_config_file);
};

plumb::sdk::LazyLibrary<OpenSslApi> libcrypto("libcrypto.so.3", [](auto& lib, OpenSslApi& a) {
    return lib.bind(a.OSSL_LIB_CTX_free, "OSSL_LIB_CTX_free") &&
           lib.bind(a.OSSL_LIB_CTX_new, "OSSL_LIB_CTX_new") &&
           lib.bind(a.OSSL_LIB_CTX_load_config, "OSSL_LIB_CTX_load_config") &&
           lib.bind(a.ERR_get_error_all, "ERR_get_error_all") &&
           lib.bind(a.ERR_error_string_n, "ERR_error_string_n") &&
           lib.bind(a.ERR_clear_error, "ERR_clear_error") &&
           lib.bind(a.OpenSSL_version, "OpenSSL_version") &&
           lib.bind(a.OSSL_PROVIDER_available, "OSSL_PROVIDER_available") &&
           lib.bind(a.OSSL_PROVIDER_load, "OSSL_PROVIDER_load") &&
           lib.bind(a.OSSL_PROVIDER_unload, "OSSL_PROVIDER_unload") &&
           lib.bind(a.OSSL_PROVIDER_get_params, "OSSL_PROVIDER_get_params") &&
           lib.bind(a.OSSL_PARAM_construct_utf8_ptr, "OSSL_PARAM_construct_utf8_ptr") &&
           lib.bind(a.OSSL_PARAM_construct_end, "OSSL_PARAM_construct_end") &&
           lib.bind(a.EVP_default_properties_is_fips_enabled, "EVP_default_properties_is_fips_enabled") &&
           lib.bind(a.CRYPTO_free, "CRYPTO_free") &&
           lib.bind(a.CONF_get1_default_config_file, "CONF_get1_default_config_file");
});

// The loaded API; the SDK turns the exception into an error result naming the library.
const OpenSslApi& ssl() { return libcrypto.require(); }

struct LibCtxFree {
    void operator()(OSSL_LIB_CTX* c) const { ssl().OSSL_LIB_CTX_free(c); }
};
using LibCtx = std::unique_ptr<OSSL_LIB_CTX, LibCtxFree>;
struct OsslStringFree {
    void operator()(char* p) const { ssl().CRYPTO_free(p, __FILE__, __LINE__); }
};

// Everything on this thread's OpenSSL error queue, oldest first, and the queue emptied.
std::string openssl_errors() {
    std::string out;
    char buf[256];
    const char* data = nullptr;
    int flags = 0;
    while (unsigned long e = ssl().ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags)) {
        ssl().ERR_error_string_n(e, buf, sizeof buf);
        out += (out.empty() ? "" : "; ") + std::string(buf);
        // The detail OpenSSL attached (file and line of a config error, the module path that failed to load).
        if ((flags & ERR_TXT_STRING) && data && *data) out += " (" + std::string(data) + ")";
    }
    return out.empty() ? "no OpenSSL error recorded" : out;
}

// Where this libcrypto loads providers from: OpenSSL_version gives 'MODULESDIR: "/usr/lib64/ossl-modules"'.
std::string modules_dir() {
    std::string v = ssl().OpenSSL_version(OPENSSL_MODULES_DIR);
    auto a = v.find('"'), b = v.rfind('"');
    return a != std::string::npos && b > a ? v.substr(a + 1, b - a - 1) : v;
}

class Crypto : public plumb::sdk::Instance {
public:
    using Instance::Instance;

    plumb_status policy(const json& args, Reporter& r);
    plumb_status remediate_policy(const json& args, Planner& p, Reporter& r);
    plumb_status subpolicy(const json& args, Reporter& r);
    plumb_status remediate_subpolicy(const json& args, Planner& p, Reporter& r);
    plumb_status sshd_uses_policy(const json& args, Reporter& r);
    plumb_status remediate_sshd_uses_policy(const json& args, Planner& p, Reporter& r);
    plumb_status fips_kernel(const json& args, Reporter& r);
    plumb_status remediate_fips_kernel(const json& args, Planner& p, Reporter& r);
    plumb_status openssl_fips_provider(const json& args, Reporter& r);
    plumb_status openssl_fips_properties(const json& args, Reporter& r);

    int apply_live(const std::string& name, const json& payload, Reporter& r) override;

private:
    plumb::Result<Configured> configured();
    plumb::Result<std::optional<cp::PolicyConfig>> applied_state();
    std::optional<std::string> module_path(const std::string& name);
    plumb_status check_in_force(const std::vector<std::string>& required, Reporter& r, std::string& summary);
    plumb::Result<std::vector<cp::LoadedModule>> load_modules(const std::vector<std::string>& names);
    std::optional<plumb_status> plan_config(const cp::PolicyConfig& wanted, const Configured& now, Planner& p, Reporter& r);
    std::optional<plumb_status> plan_module(const std::string& name, Planner& p, Reporter& r);
    std::optional<plumb_status> plan_apply(Planner& p, Reporter& r);
    plumb::Result<LibCtx> openssl_context(const json& args, std::string& config_path, std::string& load_error);

    // A reporter that drops reasons: remediation re-runs the audit only for its verdict.
    Reporter silent() {
        silent_api_ = *host().api();
        silent_api_.add_reason = [](plumb_reporter*, const char*, const char*) {};
        return Reporter(&silent_api_, nullptr);
    }

    bool apply_planned_ = false;  // update-crypto-policies runs once per plan, after all files
    plumb_host_api silent_api_{};
};

// --- policy configuration ----------------------------------------------------------------------------------------

plumb::Result<Configured> Crypto::configured() {
    for (const char* file : {kConfigFile, kDefaultConfigFile}) {
        auto text = host().read(file);
        if (!text) {
            if (text.error().code == ENOENT) continue;
            return std::unexpected(text.error());
        }
        return Configured{cp::parse_policy_config(*text), file, std::string(*text)};
    }
    return Configured{};
}

plumb::Result<std::optional<cp::PolicyConfig>> Crypto::applied_state() {
    auto text = host().read(kStateFile);
    if (!text) {
        if (text.error().code == ENOENT) return std::optional<cp::PolicyConfig>{};
        return std::unexpected(text.error());
    }
    return std::optional<cp::PolicyConfig>(cp::parse_policy_config(*text));
}

std::optional<std::string> Crypto::module_path(const std::string& name) {
    for (const char* dir : {kLocalModules, kSharedModules}) {
        std::string path = std::string(dir) + "/" + name + ".pmod";
        if (auto st = host().stat(path); st && st->type == plumb::FileType::regular) return path;
    }
    return std::nullopt;
}

// The configured policy is in force when state/current (if update-crypto-policies ever ran) records the same
// policy, every configured module exists, and `required` sub-policies are among the configured ones.
plumb_status Crypto::check_in_force(const std::vector<std::string>& required, Reporter& r, std::string& summary) {
    auto conf = configured();
    if (!conf) return r.error("config_unreadable", conf.error().message);
    if (conf->config.empty())
        return r.fail("no_policy", std::string("no crypto policy is configured: neither ") + kConfigFile + " nor " +
                                       kDefaultConfigFile + " names one");
    const std::string configured_text = cp::to_string(conf->config);
    bool ok = true;
    std::vector<std::string> missing;
    for (const auto& s : required)
        if (!contains(conf->config.subpolicies, upper(s))) missing.push_back(upper(s));
    if (!missing.empty()) {
        r.reason("subpolicy_not_configured", "sub-policy " + cfg::join(missing, ", ") + " is not configured: the policy is " +
                                                 configured_text + " (" + conf->where() + ")");
        ok = false;
    }
    for (const auto& s : conf->config.subpolicies) {
        if (module_path(s)) continue;
        r.reason("module_missing", "sub-policy " + s + " configured at " + conf->where() + " has no module " + s + ".pmod in " +
                                       kLocalModules + " or " + kSharedModules + ": update-crypto-policies refuses the policy");
        ok = false;
    }
    auto state = applied_state();
    if (!state) return r.error("state_unreadable", state.error().message);
    if (*state && cp::to_string(**state) != configured_text) {
        r.reason("update_not_run", std::string(kStateFile) + " records " + cp::to_string(**state) + " but " + conf->where() +
                                       " configures " + configured_text +
                                       ": update-crypto-policies was not run after the change, so the back-ends still use " +
                                       cp::to_string(**state));
        ok = false;
    }
    summary = configured_text + " (" + conf->where() + (*state ? ", applied per " + std::string(kStateFile) : "") + ")";
    return ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

plumb_status Crypto::policy(const json& args, Reporter& r) {
    auto conf = configured();
    if (!conf) return r.error("config_unreadable", conf.error().message);
    std::string summary;
    plumb_status status = check_in_force(strings(args, "subpolicies"), r, summary);
    if (status == PLUMB_STATUS_ERROR || conf->config.empty()) return status;
    const std::string base = conf->config.policy;
    if (args.contains("equals") && base != upper(args["equals"])) {
        r.reason("policy_mismatch", "base policy is " + base + " at " + conf->where() + "; expected " + upper(args["equals"]));
        status = PLUMB_STATUS_FAIL;
    }
    if (args.contains("one_of")) {
        auto allowed = strings(args, "one_of");
        for (auto& a : allowed) a = upper(a);
        if (!contains(allowed, base)) {
            r.reason("policy_mismatch", "base policy is " + base + " at " + conf->where() + "; expected one of " + cfg::join(allowed, ", "));
            status = PLUMB_STATUS_FAIL;
        }
    }
    if (args.contains("not_one_of")) {
        auto forbidden = strings(args, "not_one_of");
        for (auto& a : forbidden) a = upper(a);
        if (contains(forbidden, base)) {
            r.reason("policy_forbidden", "base policy is " + base + " at " + conf->where() + "; it must not be " + cfg::join(forbidden, ", "));
            status = PLUMB_STATUS_FAIL;
        }
    }
    if (status == PLUMB_STATUS_PASS) r.reason("policy_ok", "crypto policy " + summary);
    return status;
}

// The configuration file with the policy line replaced: comments and blank lines stay, further policy lines (which
// only add sub-policies, now folded into the one line) go.
std::string config_text(const Configured& now, const cp::PolicyConfig& wanted) {
    if (now.file != kConfigFile) return std::string(kConfigHeader) + cp::to_string(wanted) + "\n";
    std::string out;
    bool written = false;
    for (const auto& line : cfg::split_lines(now.text)) {
        std::string_view body = cfg::trim(std::string_view(line).substr(0, line.find('#')));
        if (body.empty()) {
            out += line + "\n";
        } else if (!written) {
            out += cp::to_string(wanted) + "\n";
            written = true;
        }
    }
    if (!written) out += cp::to_string(wanted) + "\n";
    return out;
}

std::optional<plumb_status> Crypto::plan_config(const cp::PolicyConfig& wanted, const Configured& now, Planner& p, Reporter& r) {
    if (now.file == kConfigFile && cp::to_string(now.config) == cp::to_string(wanted)) return std::nullopt;
    if (auto ok = p.write_file(kConfigFile, config_text(now, wanted), 0644, "set the system crypto policy to " + cp::to_string(wanted));
        !ok)
        return r.error("plan_failed", ok.error().message);
    return std::nullopt;
}

// Writes /etc/crypto-policies/policies/modules/NAME.pmod for a CIS sub-policy plumb knows, keeping what an existing
// module (local or shipped) already says and adding the directive it lacks.
std::optional<plumb_status> Crypto::plan_module(const std::string& name, Planner& p, Reporter& r) {
    const cp::Effect* effect = nullptr;
    for (const auto& k : kKnownModules)
        if (name == k.module) effect = cp::find_effect(k.effect);
    auto path = module_path(name);
    if (!effect) {
        if (path) return std::nullopt;
        return r.error("no_safe_change", "sub-policy " + name + " has no module and plumb cannot author it: install " + name +
                                             ".pmod in " + kLocalModules);
    }
    std::string text;
    if (path) {
        auto current = host().read(*path);
        if (!current) return r.error("module_unreadable", current.error().message);
        auto parsed = cp::parse_policy_module(*current, *path);
        if (parsed && cp::effect_gaps(*effect, {{name, *path, *parsed}}).empty()) return std::nullopt;
        if (!parsed) return r.error("no_safe_change", parsed.error().message + "; fix the module by hand");
        text = std::string(*current);
        if (!text.empty() && text.back() != '\n') text += '\n';
        text += "# Added by plumb (plumb fix): disables " + effect->description + ".\n";
    } else {
        text = "# " + name + ": disables " + effect->description + " (CIS).\n# Written by plumb (plumb fix).\n";
    }
    text += effect->directive + "\n";
    const std::string target = std::string(kLocalModules) + "/" + name + ".pmod";
    if (auto ok = p.write_file(target, text, 0644, "sub-policy " + name + " disables " + effect->description); !ok)
        return r.error("plan_failed", ok.error().message);
    return std::nullopt;
}

// The policy reaches the back-ends only through update-crypto-policies. On the running system plumb runs it after
// the files are written; in an image that already has generated back-ends it cannot (it would have to run the
// image's tool), so it refuses rather than leave config and back-ends disagreeing.
std::optional<plumb_status> Crypto::plan_apply(Planner& p, Reporter& r) {
    if (apply_planned_) return std::nullopt;
    std::optional<std::string> tool;
    for (const char* t : kUpdateTool)
        if (auto st = host().stat(t); st && st->type == plumb::FileType::regular) tool = t;
    auto state = applied_state();
    if (!state) return r.error("state_unreadable", state.error().message);
    if (host().is_live() && tool) {
        // Undo sets the previous policy again before the files are restored, so the back-ends match them.
        auto before = configured();
        json undo = nullptr;
        if (before && !before->config.empty())
            undo = {{"path", *tool}, {"argv", {"update-crypto-policies", "--set", cp::to_string(before->config), "--no-reload"}}};
        json payload = {{"path", *tool}, {"argv", {"update-crypto-policies", "--no-reload"}}};
        if (auto ok = p.live_action("update_crypto_policies", "regenerate the crypto back-ends (" + *tool + " --no-reload)", payload, undo); !ok)
            return r.error("plan_failed", ok.error().message);
    } else if (host().is_live() || !*state) {
        std::string why = host().is_live() ? "update-crypto-policies is not installed"
                                           : "the image has no generated policy yet (no " + std::string(kStateFile) + ")";
        if (auto ok = p.notice(PLUMB_NOTICE_MANUAL_STEP,
                               "run update-crypto-policies (on the running system) so the back-ends use the new policy: " + why);
            !ok)
            return r.error("plan_failed", ok.error().message);
    } else {
        return r.error("apply_needs_live_host",
                       std::string("the image's back-ends were generated for ") + cp::to_string(**state) + " (" + kStateFile +
                           "); plumb does not run the image's update-crypto-policies, so changing the configuration offline "
                           "would leave it out of force: run plumb fix on the booted system, or update-crypto-policies --set "
                           "in the image build");
    }
    apply_planned_ = true;
    return std::nullopt;
}

plumb_status Crypto::remediate_policy(const json& args, Planner& p, Reporter& r) {
    Reporter quiet = silent();  // the audit already reported what is wrong
    if (policy(args, quiet) == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", "the crypto policy already complies");
    auto now = configured();
    if (!now) return r.error("config_unreadable", now.error().message);
    cp::PolicyConfig wanted = now->config;
    if (wanted.empty()) wanted.policy = "DEFAULT";
    if (args.contains("equals")) wanted.policy = upper(args["equals"]);
    if (args.contains("one_of")) {
        auto allowed = strings(args, "one_of");
        for (auto& a : allowed) a = upper(a);
        if (!contains(allowed, wanted.policy)) wanted.policy = allowed.front();
    }
    if (args.contains("not_one_of")) {
        auto forbidden = strings(args, "not_one_of");
        for (auto& a : forbidden) a = upper(a);
        if (contains(forbidden, wanted.policy)) {
            if (contains(forbidden, "DEFAULT"))
                return r.error("no_safe_change", "base policy " + wanted.policy + " is forbidden and so is DEFAULT: name the policy with equals or one_of");
            wanted.policy = "DEFAULT";
        }
    }
    for (const auto& s : strings(args, "subpolicies"))
        if (!contains(wanted.subpolicies, upper(s))) wanted.subpolicies.push_back(upper(s));
    for (const auto& s : wanted.subpolicies)
        if (auto st = plan_module(s, p, r)) return *st;
    if (auto st = plan_config(wanted, *now, p, r)) return *st;
    if (auto st = plan_apply(p, r)) return *st;
    return r.fail("planned", "crypto policy set to " + cp::to_string(wanted) + " in " + kConfigFile);
}

// --- sub-policies ------------------------------------------------------------------------------------------------

plumb::Result<std::vector<cp::LoadedModule>> Crypto::load_modules(const std::vector<std::string>& names) {
    std::vector<cp::LoadedModule> out;
    for (const auto& n : names) {
        auto path = module_path(n);
        if (!path) continue;  // reported by check_in_force
        auto text = host().read(*path);
        if (!text) return std::unexpected(text.error());
        auto parsed = cp::parse_policy_module(*text, *path);
        if (!parsed) return std::unexpected(parsed.error());
        out.push_back({n, *path, std::move(*parsed)});
    }
    return out;
}

plumb_status Crypto::subpolicy(const json& args, Reporter& r) {
    const std::string name = upper(args["name"]);
    const cp::Effect* effect = cp::find_effect(args["effect"].get<std::string>());
    if (!effect) return r.error("invalid_argument", "unknown effect " + args["effect"].dump());
    std::string summary;
    plumb_status status = check_in_force({name}, r, summary);
    if (status == PLUMB_STATUS_ERROR) return status;
    auto conf = configured();
    if (!conf) return r.error("config_unreadable", conf.error().message);
    if (!module_path(name) && !contains(conf->config.subpolicies, name))
        r.reason("module_missing", "no module " + name + ".pmod in " + kLocalModules + " or " + kSharedModules);
    // The named module must do it by itself (it is what the baseline asks for) ...
    if (auto path = module_path(name)) {
        auto own = load_modules({name});
        if (!own) return r.fail("module_syntax", own.error().message);
        auto gaps = cp::effect_gaps(*effect, *own);
        if (!gaps.empty()) {
            std::set<std::string> algs;
            for (const auto& g : gaps) algs.insert(g.algorithm);
            r.reason("module_ineffective", *path + " does not disable " + effect->description + " (still allowed: " +
                                               cfg::join({algs.begin(), algs.end()}, ", ") + "); expected a directive such as \"" +
                                               effect->directive + "\"");
            status = PLUMB_STATUS_FAIL;
        }
    } else {
        status = PLUMB_STATUS_FAIL;
    }
    // ... and no later module may undo it.
    if (status == PLUMB_STATUS_PASS) {
        auto all = load_modules(conf->config.subpolicies);
        if (!all) return r.fail("module_syntax", all.error().message);
        auto gaps = cp::effect_gaps(*effect, *all);
        if (!gaps.empty()) {
            r.reason("effect_undone", gaps.front().algorithm + " for " + gaps.front().backend + " is " + gaps.front().why +
                                          " after " + name + " disabled it");
            status = PLUMB_STATUS_FAIL;
        }
    }
    if (status == PLUMB_STATUS_PASS)
        r.reason("subpolicy_ok", name + " (" + *module_path(name) + ") disables " + effect->description + "; policy " + summary);
    return status;
}

plumb_status Crypto::remediate_subpolicy(const json& args, Planner& p, Reporter& r) {
    Reporter quiet = silent();
    if (subpolicy(args, quiet) == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", "the sub-policy is already in force");
    const std::string name = upper(args["name"]);
    const cp::Effect* effect = cp::find_effect(args["effect"].get<std::string>());
    auto now = configured();
    if (!now) return r.error("config_unreadable", now.error().message);
    // The module: written when missing or when it does not do what the baseline asks.
    bool known = false;
    for (const auto& k : kKnownModules) known = known || (name == k.module && effect->name == k.effect);
    auto path = module_path(name);
    std::vector<cp::Gap> own_gaps;
    if (path) {
        auto own = load_modules({name});
        if (!own) return r.error("no_safe_change", own.error().message + "; fix the module by hand");
        own_gaps = cp::effect_gaps(*effect, *own);
    }
    if (!path || !own_gaps.empty()) {
        if (!known)
            return r.error("no_safe_change", "module " + name + " does not disable " + effect->description +
                                                 " and is not one plumb authors; fix it by hand");
        if (auto st = plan_module(name, p, r)) return *st;
    }
    cp::PolicyConfig wanted = now->config;
    if (wanted.empty()) wanted.policy = "DEFAULT";
    if (!contains(wanted.subpolicies, name)) wanted.subpolicies.push_back(name);
    for (const auto& s : wanted.subpolicies)
        if (s != name)
            if (auto st = plan_module(s, p, r)) return *st;
    if (auto st = plan_config(wanted, *now, p, r)) return *st;
    // A later module re-enabling what this one disables is a site decision plumb does not overrule.
    auto all = load_modules(wanted.subpolicies);
    if (!all) return r.error("no_safe_change", all.error().message);
    if (auto gaps = cp::effect_gaps(*effect, *all); !gaps.empty())
        return r.error("no_safe_change", gaps.front().algorithm + " for " + gaps.front().backend + " would still be " +
                                             gaps.front().why + "; remove that directive or module by hand");
    if (auto st = plan_apply(p, r)) return *st;
    return r.fail("planned", "sub-policy " + name + " disables " + effect->description + "; policy " + cp::to_string(wanted));
}

// --- sshd --------------------------------------------------------------------------------------------------------

struct SshdSetting {
    std::string file;
    unsigned line;
    std::string key;
    std::string value;
};

cfg::KeyValueSyntax sshd_syntax() {
    cfg::KeyValueSyntax s;
    s.separator = cfg::KeyValueSyntax::Separator::equals_or_whitespace;
    s.case_insensitive_keys = true;
    s.first_wins = true;
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

struct SshdScan {
    std::vector<SshdSetting> found;
    std::vector<std::string> files;
};

// Reads an sshd configuration file and the files it includes (sshd: relative Include paths are under /etc/ssh,
// globs are expanded in lexical order). The crypto-policies back-end file sshd includes on RHEL is the policy itself.
plumb::Result<void> scan_sshd(plumb::sdk::Host& host, const std::string& path, const std::vector<std::string>& keys,
                              SshdScan& scan, int depth) {
    if (depth > 16) return plumb::fail_invalid(path + ": Include nested too deeply");
    if (path.starts_with("/etc/crypto-policies/back-ends/")) return {};
    if (contains(scan.files, path)) return {};
    auto text = host.read(path);
    if (!text) {
        if (text.error().code == ENOENT) return {};
        return std::unexpected(text.error());
    }
    scan.files.push_back(path);
    auto parsed = cfg::parse_key_value(*text, path, sshd_syntax());
    for (const auto& e : parsed.entries) {
        for (const auto& k : keys)
            if (iequals(e.key, k)) scan.found.push_back({path, e.line, e.key, e.value});
        if (!iequals(e.key, "Include")) continue;
        std::string_view rest = e.value;
        while (!rest.empty()) {
            rest = cfg::trim(rest);
            std::size_t end = rest.find_first_of(" \t");
            std::string pattern(rest.substr(0, end));
            rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
            if (pattern.empty()) continue;
            if (pattern.front() != '/') pattern = "/etc/ssh/" + pattern;
            std::size_t slash = pattern.rfind('/');
            std::string dir = pattern.substr(0, slash), glob = pattern.substr(slash + 1);
            if (glob.find_first_of("*?[") == std::string::npos) {
                if (auto ok = scan_sshd(host, pattern, keys, scan, depth + 1); !ok) return ok;
                continue;
            }
            auto names = host.list_dir(dir);
            if (!names) continue;  // sshd skips a glob that matches nothing
            for (const auto& n : *names)
                if (::fnmatch(glob.c_str(), n.c_str(), FNM_PERIOD) == 0)
                    if (auto ok = scan_sshd(host, dir + "/" + n, keys, scan, depth + 1); !ok) return ok;
        }
    }
    return {};
}

struct SshdFindings {
    std::vector<SshdSetting> sshd;
    std::vector<SshdSetting> sysconfig;
    std::vector<std::string> files;
};

plumb::Result<SshdFindings> sshd_findings(plumb::sdk::Host& host, const json& args) {
    std::vector<std::string> keys = {"Ciphers", "MACs", "KexAlgorithms"};
    if (args.contains("keys")) keys = strings(args, "keys");
    SshdScan scan;
    if (auto ok = scan_sshd(host, args.value("config", std::string("/etc/ssh/sshd_config")), keys, scan, 0); !ok)
        return std::unexpected(ok.error());
    // The drop-in directory counts even when the main file does not include it (an Include may be added later).
    const std::string dir = args.value("include_dir", std::string("/etc/ssh/sshd_config.d"));
    if (auto names = host.list_dir(dir))
        for (const auto& n : *names)
            if (n.ends_with(".conf") && !n.starts_with("."))
                if (auto ok = scan_sshd(host, dir + "/" + n, keys, scan, 1); !ok) return std::unexpected(ok.error());
    SshdFindings f{scan.found, {}, scan.files};
    if (args.contains("sysconfig")) {
        const std::string path = args["sysconfig"];
        auto text = host.read(path);
        if (text) {
            cfg::KeyValueSyntax s;
            s.strip_quotes = true;
            for (const auto& e : cfg::parse_key_value(*text, path, s).entries)
                if (e.key == "CRYPTO_POLICY") f.sysconfig.push_back({path, e.line, e.key, e.value});
            f.files.push_back(path);
        } else if (text.error().code != ENOENT) {
            return std::unexpected(text.error());
        }
    }
    return f;
}

plumb_status Crypto::sshd_uses_policy(const json& args, Reporter& r) {
    auto f = sshd_findings(host(), args);
    if (!f) return r.error("config_unreadable", f.error().message);
    for (const auto& s : f->sshd)
        r.reason("sshd_overrides_policy", s.key + " " + s.value + " at " + s.file + ":" + std::to_string(s.line) +
                                              " overrides the system crypto policy for sshd; expected no " + s.key + " line");
    for (const auto& s : f->sysconfig)
        r.reason("sshd_overrides_policy", "CRYPTO_POLICY=" + s.value + " at " + s.file + ":" + std::to_string(s.line) +
                                              " replaces the system crypto policy for sshd; expected no CRYPTO_POLICY");
    if (!f->sshd.empty() || !f->sysconfig.empty()) return PLUMB_STATUS_FAIL;
    return r.pass("sshd_uses_policy", "no Ciphers, MACs or KexAlgorithms override in " +
                                          (f->files.empty() ? std::string("any sshd configuration file (none exists)") : cfg::join(f->files, ", ")));
}

plumb_status Crypto::remediate_sshd_uses_policy(const json& args, Planner& p, Reporter& r) {
    auto f = sshd_findings(host(), args);
    if (!f) return r.error("config_unreadable", f.error().message);
    if (f->sshd.empty() && f->sysconfig.empty()) return r.pass("nothing_to_do", "sshd uses the system crypto policy");
    std::vector<SshdSetting> all = f->sshd;
    all.insert(all.end(), f->sysconfig.begin(), f->sysconfig.end());
    // One write per file: every offending line commented out in place (line numbers do not move).
    std::set<std::string> files;
    for (const auto& s : all) files.insert(s.file);
    for (const auto& file : files) {
        auto text = host().read(file);
        if (!text) return r.error("config_unreadable", text.error().message);
        std::string edited(*text);
        std::vector<std::string> what;
        for (const auto& s : all) {
            if (s.file != file) continue;
            edited = cfg::ini_comment_out(edited, s.line, "disabled by plumb (sshd follows the system crypto policy)");
            what.push_back(s.key + " at line " + std::to_string(s.line));
        }
        if (auto ok = p.write_file(file, edited, 0600, "comment out " + cfg::join(what, ", ")); !ok)
            return r.error("plan_failed", ok.error().message);
    }
    const std::string unit = args.value("service", std::string("sshd.service"));
    if (auto ok = p.service(unit, "try-restart", "sshd reads its configuration and CRYPTO_POLICY at start"); !ok)
        return r.error("plan_failed", ok.error().message);
    return r.fail("planned", std::to_string(all.size()) + " override(s) commented out; " + unit + " restarts");
}

// --- FIPS --------------------------------------------------------------------------------------------------------

plumb_status Crypto::fips_kernel(const json&, Reporter& r) {
    if (!host().is_live()) return r.not_applicable("live_only", std::string(kFipsEnabled) + " exists only on a running system");
    auto text = host().read(kFipsEnabled);
    if (!text) {
        if (text.error().code == ENOENT)
            return r.fail("fips_unsupported", std::string(kFipsEnabled) + " does not exist: the kernel has no FIPS mode support");
        return r.error("unreadable", text.error().message);
    }
    auto v = cfg::parse_integer(*text);
    if (v && *v == 1) return r.pass("fips_enabled", std::string(kFipsEnabled) + " is 1: the kernel runs in FIPS mode");
    return r.fail("fips_disabled", std::string(kFipsEnabled) + " is " + std::string(cfg::trim(*text)) +
                                       "; expected 1 (boot with fips=1 and a FIPS-enabled initramfs)");
}

// FIPS mode is a boot-time state: plumb only says what it takes (it never runs fips-mode-setup).
plumb_status Crypto::remediate_fips_kernel(const json& args, Planner& p, Reporter& r) {
    Reporter quiet = silent();
    if (fips_kernel(args, quiet) != PLUMB_STATUS_FAIL) return r.pass("nothing_to_do", "the kernel runs in FIPS mode");
    for (auto [kind, phrase] : {std::pair{PLUMB_NOTICE_INITRAMFS_REBUILD,
                                          "rebuild the initramfs with the dracut fips module so the kernel can verify itself in FIPS mode"},
                                std::pair{PLUMB_NOTICE_MANUAL_STEP,
                                          "add fips=1 (and boot=<device of /boot> when /boot is separate) to the kernel command line, "
                                          "set the FIPS crypto policy; fips-mode-setup --enable does all three"},
                                std::pair{PLUMB_NOTICE_REBOOT_REQUIRED, "the kernel enters FIPS mode only at boot"}})
        if (auto ok = p.notice(kind, phrase); !ok) return r.error("plan_failed", ok.error().message);
    return r.fail("planned", "FIPS mode needs an initramfs rebuild, a kernel argument and a reboot");
}

// A private library context loaded from the system configuration: nothing leaks into (or from) other users of
// OpenSSL in this process. config_path is set to the file used; load_error to why it failed to load, if it did.
plumb::Result<LibCtx> Crypto::openssl_context(const json& args, std::string& config_path, std::string& load_error) {
    LibCtx ctx(ssl().OSSL_LIB_CTX_new());
    if (!ctx) return plumb::fail(ENOMEM, "OSSL_LIB_CTX_new failed: " + openssl_errors());
    if (args.contains("config")) {
        config_path = args["config"];
    } else {
        std::unique_ptr<char, OsslStringFree> def(ssl().CONF_get1_default_config_file());
        if (def) config_path = def.get();
    }
    ssl().ERR_clear_error();
    if (!config_path.empty() && ssl().OSSL_LIB_CTX_load_config(ctx.get(), config_path.c_str()) != 1)
        load_error = openssl_errors();
    return ctx;
}

plumb_status Crypto::openssl_fips_provider(const json& args, Reporter& r) {
    if (!host().is_live()) {
        // Offline: whether the provider and its configuration are in the image (never loaded from it).
        std::vector<std::string> dirs = {"/usr/lib64/ossl-modules", "/usr/lib/x86_64-linux-gnu/ossl-modules",
                                         "/usr/lib/aarch64-linux-gnu/ossl-modules", "/usr/lib/ossl-modules",
                                         "/usr/local/lib64/ossl-modules"};
        if (args.contains("module_dirs")) dirs = strings(args, "module_dirs");
        std::vector<std::string> cnfs = {"/etc/pki/tls/fipsmodule.cnf", "/etc/ssl/fipsmodule.cnf", "/usr/lib/ssl/fipsmodule.cnf",
                                         "/usr/local/ssl/fipsmodule.cnf"};
        std::optional<std::string> so, cnf;
        for (const auto& d : dirs)
            if (auto st = host().stat(d + "/fips.so"); st && st->type == plumb::FileType::regular && !so) so = d + "/fips.so";
        for (const auto& c : cnfs)
            if (auto st = host().stat(c); st && st->type == plumb::FileType::regular && !cnf) cnf = c;
        const bool need_cnf = args.value("fipsmodule_cnf", std::string("optional")) == "required";
        if (!so)
            return r.fail("fips_provider_missing", "no OpenSSL FIPS provider (fips.so) in " + cfg::join(dirs, ", ") +
                                                       (cnf ? "; " + *cnf + " exists" : "; no fipsmodule.cnf either"));
        if (!cnf && need_cnf)
            return r.fail("fips_module_config_missing", *so + " exists but no fipsmodule.cnf in " + cfg::join(cnfs, ", ") +
                                                            ": the provider cannot pass its self test");
        return r.pass("fips_provider_present", *so + " exists" + (cnf ? " with " + *cnf : " (no fipsmodule.cnf: not needed by "
                                                                                           "providers that embed their checksum, such as RHEL 9's)") +
                                                   "; loading it is checked on the running system");
    }
    std::string config_path, load_error;
    auto ctx = openssl_context(args, config_path, load_error);
    if (!ctx) return r.error("openssl_error", ctx.error().message);
    if (!load_error.empty()) r.reason("config_not_loaded", "OpenSSL could not load " + config_path + ": " + load_error);
    if (ssl().OSSL_PROVIDER_available(ctx->get(), "fips") == 1)
        return r.pass("fips_provider_active", "the OpenSSL FIPS provider is active per " + config_path);
    ssl().ERR_clear_error();
    OSSL_PROVIDER* prov = ssl().OSSL_PROVIDER_load(ctx->get(), "fips");
    if (!prov) {
        const std::string so = modules_dir() + "/fips.so";
        auto st = host().stat(so);
        return r.fail("fips_provider_unavailable",
                      std::string("OpenSSL ") + ssl().OpenSSL_version(OPENSSL_VERSION_STRING) + " cannot load the FIPS provider: " + so +
                          (st ? " exists but does not load" : " does not exist (no FIPS provider is installed)") + "; OpenSSL says: " +
                          openssl_errors());
    }
    const char* name = nullptr;
    const char* version = nullptr;
    OSSL_PARAM params[] = {ssl().OSSL_PARAM_construct_utf8_ptr("name", const_cast<char**>(&name), 0),
                           ssl().OSSL_PARAM_construct_utf8_ptr("version", const_cast<char**>(&version), 0), ssl().OSSL_PARAM_construct_end()};
    std::string what = "fips";
    if (ssl().OSSL_PROVIDER_get_params(prov, params) == 1 && name) what = std::string(name) + (version ? " " + std::string(version) : "");
    ssl().OSSL_PROVIDER_unload(prov);
    return r.pass("fips_provider_loadable", "the OpenSSL FIPS provider (" + what + ") loads and passes its self test, but " +
                                                config_path + " does not activate it");
}

plumb_status Crypto::openssl_fips_properties(const json& args, Reporter& r) {
    if (!host().is_live())
        return r.not_applicable("live_only", "OpenSSL's default properties are checked by loading the configuration on the running system");
    std::string config_path, load_error;
    auto ctx = openssl_context(args, config_path, load_error);
    if (!ctx) return r.error("openssl_error", ctx.error().message);
    if (!load_error.empty())
        return r.fail("config_not_loaded", "OpenSSL could not load " + config_path + " (applications fail the same way): " + load_error);
    if (ssl().EVP_default_properties_is_fips_enabled(ctx->get()) == 1)
        return r.pass("fips_properties", "the default properties loaded from " + config_path + " require fips=yes");
    return r.fail("fips_not_required", "the default properties loaded from " + config_path +
                                           " do not require fips=yes (expected default_properties = fips=yes in the algorithm section)");
}

// --- live actions ------------------------------------------------------------------------------------------------

int Crypto::apply_live(const std::string& name, const json& payload, Reporter& r) {
    if (name != "update_crypto_policies") return Instance::apply_live(name, payload, r);
    const std::string path = payload.at("path");
    // Only the tool itself, at one of its known locations: the payload never chooses what runs.
    if (std::none_of(std::begin(kUpdateTool), std::end(kUpdateTool), [&](const char* t) { return path == t; })) {
        r.reason("refused", "not running " + path + ": not a known update-crypto-policies location");
        return -EPERM;
    }
    std::vector<std::string> argv = payload.at("argv");
    if (argv.empty() || argv[0] != "update-crypto-policies") {
        r.reason("refused", "unexpected argument vector for update-crypto-policies");
        return -EPERM;
    }
    auto res = cp::run_program(path, argv, kUpdateTimeoutMs);
    if (!res) {
        r.reason("exec_failed", res.error().message);
        return -EIO;
    }
    if (res->timed_out) {
        r.reason("timeout", path + " did not finish within " + std::to_string(kUpdateTimeoutMs / 1000) + " s and was killed");
        return -ETIMEDOUT;
    }
    if (res->exit_code != 0) {
        r.reason("tool_failed", cfg::join(argv, " ") + " exited with " + std::to_string(res->exit_code) + ": " +
                                    std::string(cfg::trim(res->output)));
        return -EIO;
    }
    r.reason("applied", cfg::join(argv, " ") + " regenerated the back-ends");
    return 0;
}

// --- argument schemas --------------------------------------------------------------------------------------------

constexpr const char* kPolicySchema = R"J({
  "type": "object",
  "properties": {
    "equals": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "base policy, e.g. DEFAULT"},
    "one_of": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}, "minItems": 1},
    "not_one_of": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"}, "minItems": 1},
    "subpolicies": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                    "description": "sub-policies that must be configured and applied"}
  },
  "anyOf": [{"required": ["equals"]}, {"required": ["one_of"]}, {"required": ["not_one_of"]}, {"required": ["subpolicies"]}],
  "additionalProperties": false
})J";

constexpr const char* kSubpolicySchema = R"J({
  "type": "object",
  "properties": {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description": "sub-policy (module) name, e.g. NO-SHA1"},
    "effect": {"enum": ["no_sha1_signatures", "no_ssh_cbc", "no_ssh_weak_macs", "no_weak_macs"]}
  },
  "required": ["name", "effect"],
  "additionalProperties": false
})J";

constexpr const char* kSshdSchema = R"J({
  "type": "object",
  "properties": {
    "keys": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z]+$"}, "minItems": 1,
             "description": "sshd keywords that override the policy; default Ciphers, MACs, KexAlgorithms"},
    "config": {"type": "string", "pattern": "^/"},
    "include_dir": {"type": "string", "pattern": "^/"},
    "sysconfig": {"type": "string", "pattern": "^/", "description": "also: no CRYPTO_POLICY= in this environment file"},
    "service": {"type": "string", "pattern": "^[A-Za-z0-9@._-]+$"}
  },
  "additionalProperties": false
})J";

constexpr const char* kEmptySchema = R"J({"type": "object", "additionalProperties": false})J";

constexpr const char* kProviderSchema = R"J({
  "type": "object",
  "properties": {
    "config": {"type": "string", "pattern": "^/", "description": "openssl.cnf to load (live); default: OpenSSL's own"},
    "module_dirs": {"type": "array", "items": {"type": "string", "pattern": "^/"}, "minItems": 1},
    "fipsmodule_cnf": {"enum": ["required", "optional"]}
  },
  "additionalProperties": false
})J";

constexpr const char* kPropertiesSchema = R"J({
  "type": "object",
  "properties": {"config": {"type": "string", "pattern": "^/"}},
  "additionalProperties": false
})J";

const plumb::sdk::Procedure<Crypto> kProcedures[] = {
    {"policy", "the system crypto policy (base and sub-policies) as configured and applied", kPolicySchema, 0, &Crypto::policy,
     &Crypto::remediate_policy},
    {"subpolicy", "a crypto-policies sub-policy is in force and its module disables what it should", kSubpolicySchema, 0,
     &Crypto::subpolicy, &Crypto::remediate_subpolicy},
    {"sshd_uses_policy", "sshd does not override the system crypto policy (Ciphers/MACs/KexAlgorithms, CRYPTO_POLICY)",
     kSshdSchema, 0, &Crypto::sshd_uses_policy, &Crypto::remediate_sshd_uses_policy},
    {"fips_kernel", "the kernel runs in FIPS mode (/proc/sys/crypto/fips_enabled)", kEmptySchema, PLUMB_PROC_LIVE_ONLY,
     &Crypto::fips_kernel, &Crypto::remediate_fips_kernel},
    {"openssl_fips_provider", "the OpenSSL 3 FIPS provider is installed and loads", kProviderSchema, 0,
     &Crypto::openssl_fips_provider},
    {"openssl_fips_properties", "OpenSSL's default properties require the FIPS provider (fips=yes)", kPropertiesSchema,
     PLUMB_PROC_LIVE_ONLY, &Crypto::openssl_fips_properties},
};

}  // namespace

PLUMB_MODULE(crypto, "1.0.0", "system crypto policy, sshd crypto settings, FIPS mode (kernel, OpenSSL 3)", Crypto, kProcedures)
