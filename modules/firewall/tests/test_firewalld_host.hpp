// A stand-in for the engine's host services (plumb_host_api) for the firewalld tests: files come from a directory
// (a TempRoot), the host can be declared live or offline independently of that directory, reasons and planned
// changes are recorded, and reads during planning see the planned files as the engine's overlay does. It lets the
// tests call the procedure functions of firewalld.hpp directly, live, without touching this machine's files.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/module.hpp"

namespace plumb::test {

struct FakeOutcome {
    plumb_status status = PLUMB_STATUS_ERROR;
    std::vector<std::pair<std::string, std::string>> reasons;

    bool has(const std::string& code, std::initializer_list<std::string> parts = {}) const {
        for (const auto& [c, p] : reasons) {
            if (c != code) continue;
            bool all = true;
            for (const auto& part : parts) all = all && p.find(part) != std::string::npos;
            if (all) return true;
        }
        return false;
    }
    std::string text() const {
        static const char* names[] = {"pass", "fail", "notapplicable", "error"};
        std::string s = names[status];
        for (const auto& [c, p] : reasons) s += "\n  " + c + ": " + p;
        return s;
    }
};

class FakeHost {
public:
    struct Planned {
        std::optional<std::string> content;  // nullopt: removed
        uint32_t mode_if_new = 0;
        std::vector<std::string> why;
    };
    struct LiveAction {
        std::string name, description;
        nlohmann::json payload, undo;
    };

    FakeHost(std::string root, bool live) : root_(std::move(root)), live_(live) {}

    sdk::Host host() { return sdk::Host(&kApi, reinterpret_cast<plumb_host*>(this)); }

    template <class F>
    FakeOutcome audit(F fn, const nlohmann::json& args) {
        FakeOutcome o;
        sdk::Reporter r(&kApi, reinterpret_cast<plumb_reporter*>(&o.reasons));
        sdk::Host h = host();
        o.status = fn(h, args, r);
        return o;
    }
    template <class F>
    FakeOutcome remediate(F fn, const nlohmann::json& args) {
        FakeOutcome o;
        sdk::Reporter r(&kApi, reinterpret_cast<plumb_reporter*>(&o.reasons));
        sdk::Planner p(&kApi, reinterpret_cast<plumb_planner*>(this));
        sdk::Host h = host();
        o.status = fn(h, args, p, r);
        return o;
    }

    const std::map<std::string, Planned>& planned() const { return planned_; }
    const std::vector<LiveAction>& live_actions() const { return live_actions_; }
    // Writes the planned files into the root (what the transaction would do) and forgets the plan.
    void apply() {
        for (const auto& [path, f] : planned_) {
            std::string host_path = root_ + path;
            if (!f.content) {
                ::unlink(host_path.c_str());
                continue;
            }
            for (std::size_t s = root_.size() + 1; (s = host_path.find('/', s)) != std::string::npos; ++s)
                ::mkdir(host_path.substr(0, s).c_str(), 0755);
            std::ofstream out(host_path, std::ios::binary | std::ios::trunc);
            out << *f.content;
        }
        planned_.clear();
        live_actions_.clear();
    }

private:
    static FakeHost* self(plumb_host* h) { return reinterpret_cast<FakeHost*>(h); }
    static FakeHost* self(plumb_planner* p) { return reinterpret_cast<FakeHost*>(p); }
    std::string at(const char* path) const { return root_ + path; }

    static int is_live(plumb_host* h) { return self(h)->live_ ? 1 : 0; }
    static const char* root_path(plumb_host* h) { return self(h)->root_.c_str(); }
    static int read_file(plumb_host* h, const char* path, const char** data, size_t* size) {
        FakeHost* f = self(h);
        if (auto it = f->planned_.find(path); it != f->planned_.end()) {
            if (!it->second.content) return -ENOENT;
            const std::string& s = f->strings_.emplace_back(*it->second.content);
            *data = s.c_str();
            *size = s.size();
            return 0;
        }
        struct stat st{};
        if (::stat(f->at(path).c_str(), &st) != 0) return -errno;
        if (S_ISDIR(st.st_mode)) return -EISDIR;
        std::ifstream in(f->at(path), std::ios::binary);
        if (!in) return -EACCES;
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string& s = f->strings_.emplace_back(ss.str());
        *data = s.c_str();
        *size = s.size();
        return 0;
    }
    static int stat(plumb_host* h, const char* path, int follow, plumb_stat* out) {
        FakeHost* f = self(h);
        if (auto it = f->planned_.find(path); it != f->planned_.end()) {
            if (!it->second.content) return -ENOENT;
            *out = plumb_stat{PLUMB_FILE_REGULAR, 0644, 0, 0, it->second.content->size(), 0};
            return 0;
        }
        struct stat st{};
        int rc = follow ? ::stat(f->at(path).c_str(), &st) : ::lstat(f->at(path).c_str(), &st);
        if (rc != 0) {
            // a directory that only planned files create
            std::string prefix = std::string(path) + "/";
            for (const auto& [p, pf] : f->planned_)
                if (pf.content && p.starts_with(prefix)) {
                    *out = plumb_stat{PLUMB_FILE_DIRECTORY, 0755, 0, 0, 0, 0};
                    return 0;
                }
            return -errno;
        }
        uint32_t type = S_ISREG(st.st_mode) ? PLUMB_FILE_REGULAR : S_ISDIR(st.st_mode) ? PLUMB_FILE_DIRECTORY
                        : S_ISLNK(st.st_mode) ? PLUMB_FILE_SYMLINK : PLUMB_FILE_OTHER;
        *out = plumb_stat{type, static_cast<uint32_t>(st.st_mode & 07777), st.st_uid, st.st_gid, static_cast<uint64_t>(st.st_size), st.st_mtime};
        return 0;
    }
    static int list_dir(plumb_host* h, const char* path, const char* const** names, size_t* count) {
        FakeHost* f = self(h);
        std::set<std::string> found;
        bool exists = false;
        if (DIR* d = ::opendir(f->at(path).c_str())) {
            exists = true;
            while (dirent* e = ::readdir(d)) {
                std::string n = e->d_name;
                if (n != "." && n != "..") found.insert(n);
            }
            ::closedir(d);
        } else if (errno != ENOENT) {
            return -errno;
        }
        std::string prefix = std::string(path) + "/";
        for (const auto& [p, pf] : f->planned_) {
            if (!p.starts_with(prefix) || p.find('/', prefix.size()) != std::string::npos) continue;
            exists = true;
            if (pf.content) found.insert(p.substr(prefix.size()));
            else found.erase(p.substr(prefix.size()));
        }
        if (!exists) return -ENOENT;
        auto& list = f->lists_.emplace_back(found.begin(), found.end());
        auto& ptrs = f->list_ptrs_.emplace_back();
        for (const auto& s : list) ptrs.push_back(s.c_str());
        *names = ptrs.data();
        *count = ptrs.size();
        return 0;
    }
    static int read_link(plumb_host* h, const char* path, const char** target) {
        FakeHost* f = self(h);
        char buf[4096];
        ssize_t n = ::readlink(f->at(path).c_str(), buf, sizeof buf);
        if (n < 0) return -errno;
        *target = f->strings_.emplace_back(buf, static_cast<std::size_t>(n)).c_str();
        return 0;
    }
    static int open_read(plumb_host* h, const char* path) {
        int fd = ::open(self(h)->at(path).c_str(), O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    static void add_reason(plumb_reporter* r, const char* code, const char* phrase) {
        reinterpret_cast<std::vector<std::pair<std::string, std::string>>*>(r)->emplace_back(code, phrase);
    }
    static void log(plumb_host*, int, const char*) {}
    static int plan_write_file(plumb_planner* p, const char* path, const char* content, size_t size, uint32_t mode, const char* why) {
        auto& f = self(p)->planned_[path];
        f.content = std::string(content, size);
        f.mode_if_new = mode;
        f.why.emplace_back(why);
        return 0;
    }
    static int plan_remove_file(plumb_planner* p, const char* path, const char* why) {
        auto& f = self(p)->planned_[path];
        f.content.reset();
        f.why.emplace_back(why);
        return 0;
    }
    static int plan_service(plumb_planner*, const char*, const char*, const char*) { return -ENOTSUP; }
    static int plan_notice(plumb_planner*, const char*, const char*) { return 0; }
    static int plan_live_action(plumb_planner* p, const char* name, const char* description, const char* payload, const char* undo) {
        auto pj = nlohmann::json::parse(payload);
        for (const auto& a : self(p)->live_actions_)
            if (a.name == name && a.payload == pj) return 0;
        self(p)->live_actions_.push_back({name, description, pj, undo ? nlohmann::json::parse(undo) : nlohmann::json()});
        return 0;
    }

    // Members assigned by name, so that members a newer ABI appends stay null (the SDK checks for them).
    static plumb_host_api make_api() {
        plumb_host_api a{};
        a.abi_version = PLUMB_MODULE_ABI_VERSION;
        a.struct_size = sizeof(plumb_host_api);
        a.is_live = &FakeHost::is_live;
        a.root_path = &FakeHost::root_path;
        a.read_file = &FakeHost::read_file;
        a.stat = &FakeHost::stat;
        a.list_dir = &FakeHost::list_dir;
        a.read_link = &FakeHost::read_link;
        a.open_read = &FakeHost::open_read;
        a.add_reason = &FakeHost::add_reason;
        a.log = &FakeHost::log;
        a.plan_write_file = &FakeHost::plan_write_file;
        a.plan_remove_file = &FakeHost::plan_remove_file;
        a.plan_service = &FakeHost::plan_service;
        a.plan_notice = &FakeHost::plan_notice;
        a.plan_live_action = &FakeHost::plan_live_action;
        return a;
    }
    static inline const plumb_host_api kApi = make_api();

    std::string root_;
    bool live_;
    std::deque<std::string> strings_;
    std::deque<std::vector<std::string>> lists_;
    std::deque<std::vector<const char*>> list_ptrs_;
    std::map<std::string, Planned> planned_;
    std::vector<LiveAction> live_actions_;
};

}  // namespace plumb::test
