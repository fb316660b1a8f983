#include "plumb/module_host.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <regex>
#include <set>

#include "plumb/config/text.hpp"

namespace plumb {

namespace {

bool valid_identifier(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

// Modules run as root with the engine's privileges: whoever can write the file or its directory owns the host.
Result<void> check_ownership(const struct stat& st, const std::string& what, bool development) {
    if (development) return {};
    if (st.st_uid != 0)
        return fail(EPERM, what + " is owned by uid " + std::to_string(st.st_uid) + ", expected root (uid 0)");
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return fail(EPERM, what + " has mode " + config::octal(st.st_mode) + ": group/world-writable, refused");
    return {};
}

Status from_abi(plumb_status s) {
    switch (s) {
        case PLUMB_STATUS_PASS: return Status::pass;
        case PLUMB_STATUS_FAIL: return Status::fail;
        case PLUMB_STATUS_NOTAPPLICABLE: return Status::notapplicable;
        case PLUMB_STATUS_ERROR: return Status::error;
    }
    return Status::error;
}

}  // namespace

std::string_view to_string(Status s) {
    switch (s) {
        case Status::pass: return "pass";
        case Status::fail: return "fail";
        case Status::error: return "error";
        case Status::notapplicable: return "notapplicable";
        case Status::waived: return "waived";
        case Status::fixed: return "fixed";
    }
    return "error";
}

const LoadedProcedure* LoadedModule::procedure(std::string_view n) const {
    for (const auto& p : procedures)
        if (p.name == n) return &p;
    return nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// ModuleRegistry

// Every directory from / down to the module directory must be root-owned and not writable by others (sticky
// directories such as /tmp excepted: others cannot rename root's entries there), as sshd's StrictModes does: then
// nobody but root can swap a module between the check and dlopen().
Result<void> check_directory_chain(const std::string& real_dir) {
    std::string prefix;
    size_t pos = 0;
    while (true) {
        size_t next = real_dir.find('/', pos + 1);
        prefix = real_dir.substr(0, next == std::string::npos ? real_dir.size() : next);
        if (prefix.empty()) prefix = "/";
        struct stat st {};
        if (lstat(prefix.c_str(), &st) < 0) return fail_errno(errno, "module directory " + prefix);
        bool last = next == std::string::npos;
        if (st.st_uid != 0)
            return fail(EPERM, "module directory " + prefix + " is owned by uid " + std::to_string(st.st_uid) + ", expected root (uid 0)");
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st.st_mode & S_ISVTX)))
            return fail(EPERM, "module directory " + prefix + " has mode " + config::octal(st.st_mode) + ": group/world-writable, refused");
        if (last) return {};
        pos = next;
    }
}

Result<void> check_trusted_file(const std::string& path, bool development) {
    if (development) return {};
    char real[PATH_MAX];
    if (!realpath(path.c_str(), real)) return fail_errno(errno, path);
    std::string r = real;
    if (auto ok = check_directory_chain(r.substr(0, r.rfind('/'))); !ok) return ok;
    struct stat st {};
    if (lstat(real, &st) < 0) return fail_errno(errno, path);
    if (!S_ISREG(st.st_mode)) return fail(EPERM, path + ": not a regular file");
    return check_ownership(st, path, false);
}

Result<std::unique_ptr<ModuleRegistry>> ModuleRegistry::load_directory(const std::string& dir, ModuleLoadPolicy policy) {
    char real[PATH_MAX];
    if (!realpath(dir.c_str(), real)) return fail_errno(errno, "module directory " + dir);
    const std::string real_dir = real;
    int dfd = ::open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return fail_errno(errno, "module directory " + dir);
    UniqueFd dir_fd(dfd);
    if (!policy.development)
        if (auto ok = check_directory_chain(real_dir); !ok) return std::unexpected(ok.error());

    auto registry = std::unique_ptr<ModuleRegistry>(new ModuleRegistry());
    auto names_root = SafeRoot::open(dir);
    if (!names_root) return std::unexpected(names_root.error());
    auto names = names_root->list_dir("/");
    if (!names) return std::unexpected(names.error());

    static const std::regex file_re("^plumb_([a-z0-9_]+)\\.so$");
    for (const auto& file : *names) {
        std::smatch m;
        if (!std::regex_match(file, m, file_re)) continue;
        LoadedModule mod;
        mod.name = m[1];
        mod.file = dir + "/" + file;
        auto unavailable = [&](std::string why) {
            mod.load_error = std::move(why);
            registry->modules_.push_back(std::move(mod));
        };

        // The directory chain is trusted (checked above), so the file checked here is the file dlopen() maps.
        // (Not /proc/self/fd/N: the loader matches already-loaded objects by name, and modules with
        // STB_GNU_UNIQUE symbols are never unloaded, so a reused descriptor number would alias another module.)
        int ffd = openat(dfd, file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (ffd < 0) {
            unavailable(Error::from_errno(errno, mod.file).message);
            continue;
        }
        UniqueFd file_fd(ffd);
        struct stat fst {};
        if (fstat(ffd, &fst) < 0 || !S_ISREG(fst.st_mode)) {
            unavailable(mod.file + ": not a regular file");
            continue;
        }
        if (auto ok = check_ownership(fst, "module file " + mod.file, policy.development); !ok) {
            unavailable(ok.error().message);
            continue;
        }
        void* handle = dlopen((real_dir + "/" + file).c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            unavailable(mod.file + ": " + dlerror());
            continue;
        }
        registry->handles_.push_back(handle);
        auto entry = reinterpret_cast<plumb_module_entry_fn>(dlsym(handle, PLUMB_MODULE_ENTRY_SYMBOL));
        if (!entry) {
            unavailable(mod.file + ": no " PLUMB_MODULE_ENTRY_SYMBOL " symbol");
            continue;
        }
        const plumb_module* abi = entry(PLUMB_MODULE_ABI_VERSION);
        if (!abi || abi->abi_version != PLUMB_MODULE_ABI_VERSION || abi->struct_size < sizeof(plumb_module)) {
            unavailable(mod.file + ": module ABI version " + (abi ? std::to_string(abi->abi_version) : "unknown") +
                        " does not match the engine's " + std::to_string(PLUMB_MODULE_ABI_VERSION));
            continue;
        }
        if (!abi->name || mod.name != abi->name) {
            unavailable(mod.file + ": module calls itself '" + (abi->name ? abi->name : "") + "', file name says '" +
                        mod.name + "'");
            continue;
        }
        if (!abi->open || !abi->close || !abi->audit) {
            unavailable(mod.file + ": missing entry points");
            continue;
        }
        mod.version = abi->version ? abi->version : "";
        mod.description = abi->description ? abi->description : "";
        std::string bad;
        for (size_t i = 0; i < abi->procedure_count && bad.empty(); ++i) {
            const plumb_procedure& p = abi->procedures[i];
            if (!p.name || !valid_identifier(p.name)) {
                bad = "procedure #" + std::to_string(i) + " has an invalid name";
                break;
            }
            auto schema = nlohmann::json::parse(p.args_schema_json ? p.args_schema_json : "", nullptr, false);
            if (schema.is_discarded()) {
                bad = std::string("procedure ") + p.name + ": argument schema is not valid JSON";
                break;
            }
            auto compiled = JsonSchema::compile(schema);
            if (!compiled) {
                bad = std::string("procedure ") + p.name + ": argument schema: " + compiled.error().message;
                break;
            }
            mod.procedures.push_back({p.name, p.description ? p.description : "", std::move(schema), std::move(*compiled), p.flags});
        }
        if (!bad.empty()) {
            mod.procedures.clear();
            unavailable(mod.file + ": " + bad);
            continue;
        }
        mod.abi = abi;
        registry->modules_.push_back(std::move(mod));
    }
    std::sort(registry->modules_.begin(), registry->modules_.end(),
              [](const LoadedModule& a, const LoadedModule& b) { return a.name < b.name; });
    return registry;
}

ModuleRegistry::~ModuleRegistry() {
    for (void* h : handles_) dlclose(h);
}

const LoadedModule* ModuleRegistry::module(std::string_view name) const {
    for (const auto& m : modules_)
        if (m.name == name) return &m;
    return nullptr;
}

ProcedureCatalog::Lookup ModuleRegistry::find(const std::string& module_name, const std::string& procedure) const {
    const LoadedModule* m = module(module_name);
    if (!m) return {Lookup::Kind::module_unavailable, nullptr, 0, "module '" + module_name + "' is not installed"};
    if (!m->abi) return {Lookup::Kind::module_unavailable, nullptr, 0, m->load_error};
    const LoadedProcedure* p = m->procedure(procedure);
    if (!p) return {Lookup::Kind::no_such_procedure, nullptr, 0, {}};
    return {Lookup::Kind::found, &p->args_schema, p->flags, {}};
}

std::vector<std::string> ModuleRegistry::procedures(const std::string& module_name) const {
    std::vector<std::string> names;
    if (const LoadedModule* m = module(module_name))
        for (const auto& p : m->procedures) names.push_back(p.name);
    return names;
}

const JsonSchema* ModuleRegistry::validator(const std::string& module_name, const std::string& procedure) const {
    const LoadedModule* m = module(module_name);
    const LoadedProcedure* p = m ? m->procedure(procedure) : nullptr;
    return p ? &p->validator : nullptr;
}

// ---------------------------------------------------------------------------------------------------------------
// RunContext and the C bridge modules call back into.

struct plumb_reporter_impl {
    Outcome* outcome;
};

struct HostBridge {
    static RunContext& ctx(plumb_host* h) { return *reinterpret_cast<RunContext*>(h); }

    static int is_live(plumb_host* h) { return ctx(h).live() ? 1 : 0; }
    static const char* root_path(plumb_host* h) { return ctx(h).root().path().c_str(); }

    static int read_file(plumb_host* h, const char* path, const char** data, size_t* size) {
        if (!path || !data || !size) return -EINVAL;
        auto r = ctx(h).read(path);
        if (!r) return -r.error().code;
        *data = r->data();
        *size = r->size();
        return 0;
    }
    static int stat(plumb_host* h, const char* path, int follow, plumb_stat* out) {
        if (!path || !out) return -EINVAL;
        auto r = ctx(h).stat(path, follow != 0);
        if (!r) return -r.error().code;
        *out = plumb_stat{static_cast<uint32_t>(r->type), r->mode, r->uid, r->gid, r->size, r->mtime_sec};
        return 0;
    }
    static int list_dir(plumb_host* h, const char* path, const char* const** names, size_t* count) {
        if (!path || !names || !count) return -EINVAL;
        RunContext& c = ctx(h);
        auto r = c.list_dir(path);
        if (!r) return -r.error().code;
        if (!c.plan_) {  // the cache entry owns the names
            auto& cached = c.dirs_.at(normalize_root_path(path));
            *names = cached->c_names.data();
            *count = cached->c_names.size();
            return 0;
        }
        // While planning the listing may include planned files: keep this copy alive for the rest of the run.
        auto& stored = c.overlay_listings_.emplace_back(std::make_unique<std::vector<std::string>>(std::move(*r)));
        auto& c_names = c.overlay_c_names_.emplace_back(std::make_unique<std::vector<const char*>>());
        for (const auto& n : *stored) c_names->push_back(n.c_str());
        *names = c_names->data();
        *count = c_names->size();
        return 0;
    }
    static int read_link(plumb_host* h, const char* path, const char** target) {
        if (!path || !target) return -EINVAL;
        RunContext& c = ctx(h);
        auto r = c.read_link(path);
        if (!r) return -r.error().code;
        *target = c.links_.at(normalize_root_path(path))->c_str();
        return 0;
    }
    static int open_read(plumb_host* h, const char* path) {
        if (!path) return -EINVAL;
        auto r = ctx(h).open_read(path);
        if (!r) return -r.error().code;
        return r->release();
    }
    static void add_reason(plumb_reporter* rep, const char* code, const char* phrase) {
        auto* r = reinterpret_cast<plumb_reporter_impl*>(rep);
        r->outcome->reasons.push_back({code ? code : "unspecified", phrase ? phrase : ""});
    }
    static void log(plumb_host* h, int level, const char* message) {
        RunContext& c = ctx(h);
        if (message && level <= c.log_level_) std::fprintf(stderr, "plumb: %s\n", message);
    }

    // Planning callbacks: the planner handle is the RunContext itself, valid only while remediate() runs.
    static RunContext* planning(plumb_planner* p) {
        auto* c = reinterpret_cast<RunContext*>(p);
        return c && c->plan_ ? c : nullptr;
    }
    static int plan_file(plumb_planner* p, const char* path, std::optional<std::string> content, uint32_t mode_if_new,
                         const char* why) {
        RunContext* c = planning(p);
        if (!c || !path || path[0] != '/') return -EINVAL;
        std::string n = normalize_root_path(path);
        if (n == "/" || n.find("/../") != std::string::npos || n.ends_with("/..")) return -EINVAL;
        if (auto live_ok = c->check_live_path(n); !live_ok || n.starts_with("/proc/") || n.starts_with("/sys/"))
            return -EINVAL;  // kernel interfaces change through live actions, never as files
        PlannedFile* f = c->plan_->file(n);
        if (!f) {
            PlannedFile fresh;
            fresh.path = n;
            auto current = c->read(n);  // the original, through the run's cache
            if (current) fresh.original = std::string(*current);
            else if (current.error().code != ENOENT) return -current.error().code;
            c->plan_->files.push_back(std::move(fresh));
            f = &c->plan_->files.back();
        }
        f->content = std::move(content);
        f->mode_if_new = mode_if_new & 07777;
        if (why && *why) f->why.push_back(why);
        f->rules.insert(c->plan_rule_);
        c->plan_changed_ = true;
        return 0;
    }
    static int plan_write_file(plumb_planner* p, const char* path, const char* content, size_t size, uint32_t mode_if_new,
                               const char* why) {
        if (!content && size) return -EINVAL;
        return plan_file(p, path, std::string(content ? content : "", size), mode_if_new, why);
    }
    static int plan_remove_file(plumb_planner* p, const char* path, const char* why) {
        return plan_file(p, path, std::nullopt, 0, why);
    }
    static int plan_service(plumb_planner* p, const char* unit, const char* action, const char* why) {
        RunContext* c = planning(p);
        static const std::set<std::string_view> actions{"restart", "reload", "try-restart", "enable", "disable", "start", "stop"};
        if (!c || !unit || !*unit || !action || !actions.contains(action)) return -EINVAL;
        for (auto& s : c->plan_->services)
            if (s.unit == unit && s.action == action) {
                s.rules.insert(c->plan_rule_);
                return 0;
            }
        c->plan_->services.push_back({unit, action, why ? why : "", {c->plan_rule_}});
        return 0;
    }
    static int plan_notice(plumb_planner* p, const char* kind, const char* phrase) {
        RunContext* c = planning(p);
        if (!c || !kind || !*kind) return -EINVAL;
        // Several rules of one module often share a consequence (one reboot, one policy update): say it once.
        for (const auto& n : c->plan_->notices)
            if (n.kind == kind && n.phrase == (phrase ? phrase : "")) return 0;
        c->plan_->notices.push_back({kind, phrase ? phrase : "", c->plan_rule_});
        return 0;
    }
    static int plan_live_action(plumb_planner* p, const char* name, const char* description, const char* payload,
                                const char* undo) {
        RunContext* c = planning(p);
        if (!c || !name || !*name || !payload) return -EINVAL;
        auto pj = nlohmann::json::parse(payload, nullptr, false);
        auto uj = undo ? nlohmann::json::parse(undo, nullptr, false) : nlohmann::json();
        if (pj.is_discarded() || uj.is_discarded()) return -EINVAL;
        for (const auto& a : c->plan_->live_actions)
            if (a.module == c->plan_module_ && a.name == name && a.payload == pj) return 0;  // already planned
        c->plan_->live_actions.push_back({c->plan_module_, name, description ? description : "", std::move(pj), std::move(uj), c->plan_rule_});
        return 0;
    }

    static int planned_live_actions(plumb_planner* p, const char** out) {
        RunContext* c = planning(p);
        if (!c || !out) return -EINVAL;
        nlohmann::json list = nlohmann::json::array();
        for (const auto& a : c->plan_->live_actions)
            if (a.module == c->plan_module_) list.push_back({{"name", a.name}, {"payload", a.payload}});
        c->live_actions_text_ = list.dump();
        *out = c->live_actions_text_.c_str();
        return 0;
    }

    static const plumb_host_api api;
};

const plumb_host_api HostBridge::api = {
    PLUMB_MODULE_ABI_VERSION, sizeof(plumb_host_api), &HostBridge::is_live,   &HostBridge::root_path,
    &HostBridge::read_file,   &HostBridge::stat,       &HostBridge::list_dir, &HostBridge::read_link,
    &HostBridge::open_read,   &HostBridge::add_reason, &HostBridge::log,       &HostBridge::plan_write_file,
    &HostBridge::plan_remove_file, &HostBridge::plan_service, &HostBridge::plan_notice, &HostBridge::plan_live_action,
    &HostBridge::planned_live_actions,
};

RunContext::RunContext(SafeRoot root, bool live, const ModuleRegistry& registry)
    : root_(std::move(root)), live_(live), registry_(registry) {}

RunContext::~RunContext() { close_instances(); }

Result<void> RunContext::check_live_path(const std::string& n) const {
    if (live_) return {};
    for (std::string_view prefix : {"/proc", "/sys"}) {
        if (n.compare(0, prefix.size(), prefix) == 0 && (n.size() == prefix.size() || n[prefix.size()] == '/'))
            return fail(EREMOTE, n + " exists only on a running system, not in the offline root " + root_.path());
    }
    return {};
}

Result<std::string_view> RunContext::read(const std::string& path) {
    std::string n = normalize_root_path(path);
    if (const PlannedFile* f = planned(n)) {
        if (!f->content) return fail_errno(ENOENT, n + " (removed by the plan)");
        return std::string_view(*f->content);
    }
    auto it = files_.find(n);
    if (it == files_.end()) {
        auto entry = std::make_unique<CachedFile>();
        if (auto live_ok = check_live_path(n); !live_ok) {
            entry->content = std::unexpected(live_ok.error());
        } else {
            ++disk_reads_;
            entry->content = root_.read_file(n);
        }
        it = files_.emplace(n, std::move(entry)).first;
    }
    const auto& content = it->second->content;
    if (!content) return std::unexpected(content.error());
    return std::string_view(*content);
}

Result<FileStat> RunContext::stat(const std::string& path, bool follow_symlinks) {
    std::string n = normalize_root_path(path);
    if (auto ok = check_live_path(n); !ok) return std::unexpected(ok.error());
    if (const PlannedFile* f = planned(n)) {
        if (!f->content) return fail_errno(ENOENT, n + " (removed by the plan)");
        // A rewritten file keeps its metadata (the transaction layer preserves it); a new one is root's.
        auto st = f->original ? root_.stat(n, true) : Result<FileStat>(FileStat{FileType::regular, f->mode_if_new, 0, 0, 0, 0});
        if (st) st->size = f->content->size();
        return st;
    }
    return root_.stat(n, follow_symlinks);
}

Result<std::vector<std::string>> RunContext::list_dir(const std::string& path) {
    std::string n = normalize_root_path(path);
    auto it = dirs_.find(n);
    if (it == dirs_.end()) {
        auto entry = std::make_unique<CachedDir>();
        if (auto ok = check_live_path(n); !ok)
            entry->names = std::unexpected(ok.error());
        else
            entry->names = root_.list_dir(n);
        if (entry->names)
            for (const auto& name : *entry->names) entry->c_names.push_back(name.c_str());
        it = dirs_.emplace(n, std::move(entry)).first;
    }
    if (!it->second->names && !plan_) return std::unexpected(it->second->names.error());
    if (!plan_) return *it->second->names;
    // Planned creations and removals in this directory change what a module sees.
    std::vector<std::string> names = it->second->names ? *it->second->names : std::vector<std::string>{};
    bool touched = false;
    const std::string prefix = n == "/" ? "/" : n + "/";
    for (const auto& f : plan_->files) {
        if (!f.path.starts_with(prefix) || f.path.find('/', prefix.size()) != std::string::npos) continue;
        std::string name = f.path.substr(prefix.size());
        auto pos = std::lower_bound(names.begin(), names.end(), name);
        bool present = pos != names.end() && *pos == name;
        if (f.content && !present) names.insert(pos, name);
        if (!f.content && present) names.erase(pos);
        touched = true;
    }
    if (!it->second->names && !touched) return std::unexpected(it->second->names.error());
    return names;
}

Result<std::string> RunContext::read_link(const std::string& path) {
    std::string n = normalize_root_path(path);
    if (auto ok = check_live_path(n); !ok) return std::unexpected(ok.error());
    auto r = root_.read_link(n);
    if (!r) return r;
    links_[n] = std::make_unique<std::string>(*r);
    return r;
}

Result<UniqueFd> RunContext::open_read(const std::string& path) {
    std::string n = normalize_root_path(path);
    if (auto ok = check_live_path(n); !ok) return std::unexpected(ok.error());
    return root_.open_at(n, O_RDONLY | O_NOCTTY);
}

Outcome RunContext::call(const std::string& module_name, const std::string& procedure, const nlohmann::json& args) {
    const std::string qualified = module_name + "." + procedure;
    const LoadedModule* m = registry_.module(module_name);
    if (!m) return {Status::error, {{"module_unavailable", "module '" + module_name + "' is not installed"}}};
    if (!m->abi) return {Status::error, {{"module_unavailable", "module '" + module_name + "' is unavailable: " + m->load_error}}};
    const LoadedProcedure* p = m->procedure(procedure);
    if (!p) return {Status::error, {{"unknown_procedure", "module '" + module_name + "' has no procedure '" + procedure + "'"}}};
    if ((p->flags & PLUMB_PROC_LIVE_ONLY) && !live_)
        return {Status::notapplicable,
                {{"live_only", qualified + " reads the running system; not applicable to the offline root " + root_.path()}}};
    if (auto violations = p->validator.validate(args); !violations.empty())
        return {Status::error, {{"invalid_arguments", qualified + ": arguments at '" + violations.front().pointer +
                                                          "': " + violations.front().message}}};

    void* inst = instance(*m);
    if (!inst) return {Status::error, {{"module_open_failed", "module '" + module_name + "' failed to initialise"}}};

    Outcome outcome;
    plumb_reporter_impl reporter{&outcome};
    std::string args_text = args.dump();
    outcome.status = from_abi(m->abi->audit(inst, procedure.c_str(), args_text.c_str(),
                                            reinterpret_cast<plumb_reporter*>(&reporter)));
    if (outcome.status == Status::error && outcome.reasons.empty())
        outcome.reasons.push_back({"module_error", qualified + " reported an error without a reason"});
    return outcome;
}

void* RunContext::instance(const LoadedModule& m) {
    auto [it, inserted] = instances_.try_emplace(m.name, nullptr);
    if (inserted) it->second = m.abi->open(&HostBridge::api, reinterpret_cast<plumb_host*>(this));
    return it->second;
}

void RunContext::close_instances() {
    for (auto& [name, inst] : instances_) {
        const LoadedModule* m = registry_.module(name);
        if (inst && m && m->abi) m->abi->close(inst);
    }
    instances_.clear();
}

Outcome RunContext::remediate(const std::string& module_name, const std::string& procedure, const nlohmann::json& args,
                              Plan& plan, const std::string& rule) {
    const std::string qualified = module_name + "." + procedure;
    const LoadedModule* m = registry_.module(module_name);
    if (!m || !m->abi) return {Status::error, {{"module_unavailable", "module '" + module_name + "' is unavailable"}}};
    const LoadedProcedure* p = m->procedure(procedure);
    if (!p) return {Status::error, {{"unknown_procedure", "module '" + module_name + "' has no procedure '" + procedure + "'"}}};
    if (!m->abi->remediate || !(p->flags & PLUMB_PROC_REMEDIABLE))
        return {Status::notapplicable, {{"no_remediation", qualified + " has no remediation"}}};
    if (auto violations = p->validator.validate(args); !violations.empty())
        return {Status::error, {{"invalid_arguments", qualified + ": arguments at '" + violations.front().pointer +
                                                          "': " + violations.front().message}}};
    void* inst = instance(*m);
    if (!inst) return {Status::error, {{"module_open_failed", "module '" + module_name + "' failed to initialise"}}};

    plan_ = &plan;
    plan_rule_ = rule;
    plan_module_ = module_name;
    plan_changed_ = false;
    Outcome outcome;
    plumb_reporter_impl reporter{&outcome};
    std::string args_text = args.dump();
    outcome.status = from_abi(m->abi->remediate(inst, procedure.c_str(), args_text.c_str(),
                                                reinterpret_cast<plumb_planner*>(this), reinterpret_cast<plumb_reporter*>(&reporter)));
    // Modules cache what they parsed; after a planned change every module starts afresh from the overlay.
    if (plan_changed_) close_instances();
    plan_ = nullptr;
    return outcome;
}

Outcome RunContext::apply_live(const PlannedLiveAction& action, bool undo) {
    const LoadedModule* m = registry_.module(action.module);
    if (!m || !m->abi || !m->abi->apply_live)
        return {Status::error, {{"module_unavailable", "module '" + action.module + "' cannot apply live actions"}}};
    void* inst = instance(*m);
    if (!inst) return {Status::error, {{"module_open_failed", "module '" + action.module + "' failed to initialise"}}};
    Outcome outcome;
    plumb_reporter_impl reporter{&outcome};
    std::string payload = (undo ? action.undo : action.payload).dump();
    int rc = m->abi->apply_live(inst, action.name.c_str(), payload.c_str(), reinterpret_cast<plumb_reporter*>(&reporter));
    outcome.status = rc == 0 ? Status::pass : Status::error;
    if (rc != 0 && outcome.reasons.empty())
        outcome.reasons.push_back({"live_action_failed", action.module + " " + action.name + ": " + std::strerror(-rc)});
    return outcome;
}

// ---------------------------------------------------------------------------------------------------------------
// Plan

PlannedFile* Plan::file(const std::string& normalized_path) {
    for (auto& f : files)
        if (f.path == normalized_path) return &f;
    return nullptr;
}

const PlannedFile* Plan::file(const std::string& normalized_path) const {
    return const_cast<Plan*>(this)->file(normalized_path);
}

std::vector<const PlannedFile*> Plan::changed_files() const {
    std::vector<const PlannedFile*> out;
    for (const auto& f : files)
        if (f.original != f.content) out.push_back(&f);
    return out;
}

}  // namespace plumb
