#include "plumb_test.hpp"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

extern char** environ;

namespace plumb::test {

namespace fs = std::filesystem;

std::string source_dir() {
    const char* e = std::getenv("PLUMB_SOURCE_DIR");
    return e ? e : PLUMB_TEST_SOURCE_DIR;
}
std::string build_dir() {
    const char* e = std::getenv("PLUMB_BUILD_DIR");
    return e ? e : PLUMB_TEST_BUILD_DIR;
}
std::string module_dir() { return build_dir() + "/lib/plumb/modules"; }
std::string plumb_binary() { return build_dir() + "/bin/plumb"; }

TempRoot::TempRoot() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/plumb-test-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    ::chmod(path_.c_str(), 0755);
}

TempRoot::~TempRoot() {
    // FTW_PHYS: never follow symlinks out of the fixture while deleting it.
    nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, FTW*) -> int {
            ::chmod(p, 0700);  // a test may have made a directory unreadable
            return ::remove(p) == 0 ? 0 : 0;
        },
        64, FTW_DEPTH | FTW_PHYS);
}

std::string TempRoot::operator/(const std::string& rel) const {
    std::string r = rel;
    while (!r.empty() && r.front() == '/') r.erase(0, 1);
    return r.empty() ? path_ : path_ + "/" + r;
}

void TempRoot::mkdir(const std::string& rel, unsigned mode) const {
    fs::create_directories(*this / rel);
    ::chmod((*this / rel).c_str(), mode);
}

void TempRoot::write(const std::string& rel, const std::string& content, unsigned mode) const {
    fs::path p = *this / rel;
    fs::create_directories(p.parent_path());
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + p.string());
    ::chmod(p.c_str(), mode);
}

void TempRoot::symlink(const std::string& target, const std::string& rel) const {
    fs::path p = *this / rel;
    fs::create_directories(p.parent_path());
    ::unlink(p.c_str());
    if (::symlink(target.c_str(), p.c_str()) != 0) throw std::runtime_error("symlink failed: " + p.string());
}

void TempRoot::chmod(const std::string& rel, unsigned mode) const { ::chmod((*this / rel).c_str(), mode); }

std::string TempRoot::read(const std::string& rel) const {
    std::ifstream in(*this / rel, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void TempRoot::copy_from(const std::string& fixture) const {
    fs::path src = fixture.starts_with("/") ? fs::path(fixture) : fs::path(source_dir()) / "tests/fixtures" / fixture;
    fs::copy(src, path_, fs::copy_options::recursive | fs::copy_options::copy_symlinks | fs::copy_options::overwrite_existing);
}

ModuleHarness::ModuleHarness(const std::string& root, bool live) {
    auto registry = ModuleRegistry::load_directory(module_dir(), ModuleLoadPolicy{.development = true});
    if (!registry) throw std::runtime_error("loading modules: " + registry.error().message);
    registry_ = std::move(*registry);
    auto safe = SafeRoot::open(root);
    if (!safe) throw std::runtime_error(safe.error().message);
    context_ = std::make_unique<RunContext>(std::move(*safe), live, *registry_);
}

ModuleHarness::~ModuleHarness() = default;

Outcome ModuleHarness::run(const std::string& qualified, const nlohmann::json& args) {
    auto dot = qualified.find('.');
    if (dot == std::string::npos) throw std::invalid_argument("procedure must be module.name: " + qualified);
    std::string module = qualified.substr(0, dot), procedure = qualified.substr(dot + 1);
    auto lookup = registry_->find(module, procedure);
    EXPECT_EQ(lookup.kind, ProcedureCatalog::Lookup::Kind::found) << qualified << ": " << lookup.reason;
    if (lookup.kind == ProcedureCatalog::Lookup::Kind::found) {
        auto violations = registry_->module(module)->procedure(procedure)->validator.validate(args);
        EXPECT_TRUE(violations.empty()) << qualified << " arguments " << args.dump() << " violate its schema at '"
                                        << (violations.empty() ? "" : violations[0].pointer + "': " + violations[0].message);
    }
    return context_->call(module, procedure, args);
}

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_sec, const std::vector<std::string>& extra_env) {
    ProcessResult result;
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) env_store.emplace_back(*e);
    for (const auto& e : extra_env) {
        auto key = e.substr(0, e.find('=') + 1);
        std::erase_if(env_store, [&](const std::string& s) { return s.starts_with(key); });
        env_store.push_back(e);
    }
    std::vector<char*> envp, args;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> argv_copy = argv;
    for (auto& a : argv_copy) args.push_back(a.data());
    args.push_back(nullptr);

    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execve(args[0], args.data(), envp.data());
        _exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_sec);
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_fds = 2;
    bool killed = false;
    while (open_fds > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = true;
            break;
        }
        if (poll(fds, 2, static_cast<int>(left)) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
                char buf[65536];
                ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
                if (n > 0) {
                    (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
                } else {
                    ::close(fds[i].fd);
                    fds[i].fd = -1;
                    --open_fds;
                }
            }
        }
    }
    for (auto& f : fds)
        if (f.fd >= 0) ::close(f.fd);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
    if (killed) result.err += "\n[run_process: killed after " + std::to_string(timeout_sec) + " s timeout]";
    return result;
}

ProcessResult run_plumb(const std::vector<std::string>& args, int timeout_sec) {
    std::vector<std::string> argv{plumb_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout_sec, {"PLUMB_DEVELOPMENT=1"});
}

std::map<std::string, std::string> snapshot_tree(const std::string& root, const std::vector<std::string>& skip_prefixes) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none); it != fs::recursive_directory_iterator(); ++it) {
        std::string rel = it->path().string().substr(root.size());
        bool skip = false;
        for (const auto& p : skip_prefixes) skip = skip || rel.starts_with(p);
        if (skip) {
            std::error_code ec;
            if (it->is_directory(ec)) it.disable_recursion_pending();
            continue;
        }
        struct stat st {};
        if (lstat(it->path().c_str(), &st) != 0) continue;
        std::string d = "mode=" + std::to_string(st.st_mode) + " uid=" + std::to_string(st.st_uid) + " gid=" + std::to_string(st.st_gid);
        if (S_ISLNK(st.st_mode)) {
            d += " link=" + fs::read_symlink(it->path()).string();
        } else if (S_ISREG(st.st_mode)) {
            std::ifstream in(it->path(), std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            d += " content=" + ss.str();
        }
        char names[4096];
        ssize_t n = llistxattr(it->path().c_str(), names, sizeof names);
        for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1) {
            char value[4096];
            ssize_t v = lgetxattr(it->path().c_str(), names + i, value, sizeof value);
            d += std::string(" xattr:") + (names + i) + "=" + (v >= 0 ? std::string(value, static_cast<size_t>(v)) : "?");
        }
        out[rel] = d;
    }
    return out;
}

bool has_reason(const Outcome& o, const std::string& code, std::initializer_list<std::string> parts) {
    for (const auto& r : o.reasons) {
        if (r.code != code) continue;
        bool all = true;
        for (const auto& p : parts) all = all && r.phrase.find(p) != std::string::npos;
        if (all) return true;
    }
    return false;
}

nlohmann::json run_plumb_json(const std::vector<std::string>& args, int expected_exit) {
    auto res = run_plumb(args);
    EXPECT_EQ(res.exit_code, expected_exit) << res.out << res.err;
    auto j = nlohmann::json::parse(res.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << res.out << res.err;
    return j;
}

std::map<std::string, std::string> statuses(const nlohmann::json& report) {
    std::map<std::string, std::string> m;
    for (const auto& r : report["results"]) m[r["id"]] = r["status"];
    return m;
}

std::string describe(const Outcome& outcome) {
    std::string s(to_string(outcome.status));
    for (const auto& r : outcome.reasons) s += "\n  [" + r.code + "] " + r.phrase;
    return s;
}

}  // namespace plumb::test
