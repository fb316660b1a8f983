#include "run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

namespace plumb::crypto {
namespace {

class Fd {
public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    ~Fd() { reset(); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_;
};

constexpr std::size_t kMaxOutput = 64 * 1024;

}  // namespace

Result<RunResult> run_program(const std::string& path, const std::vector<std::string>& argv, int timeout_ms) {
    if (path.empty() || path.front() != '/') return fail_invalid("run_program: not an absolute path: " + path);
    if (argv.empty()) return fail_invalid("run_program: empty argv for " + path);
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC) != 0) return fail_errno(errno, "pipe");
    Fd rd(pipefd[0]), wr(pipefd[1]);

    // Everything the child needs is built before fork: only async-signal-safe calls happen in the child.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // A fixed environment: nothing of plumb's own (OPENSSL_CONF, LD_PRELOAD, ...) leaks into the tool.
    static const char* const env[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", nullptr};

    pid_t pid = ::fork();
    if (pid < 0) return fail_errno(errno, "fork");
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(wr.get(), 1) < 0 || ::dup2(wr.get(), 2) < 0) ::_exit(126);
        ::execve(path.c_str(), args.data(), const_cast<char* const*>(env));
        ::_exit(errno == ENOENT ? 127 : 126);
    }
    wr.reset();

    RunResult res;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    char buf[4096];
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            res.timed_out = true;
            ::kill(pid, SIGKILL);
            break;
        }
        pollfd p{rd.get(), POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) continue;  // timeout: the deadline check above kills it
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // EOF: the child (and anything holding its output) is done
        if (res.output.size() < kMaxOutput) res.output.append(buf, std::min<std::size_t>(n, kMaxOutput - res.output.size()));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return fail_errno(errno, "waitpid " + path);
    res.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return res;
}

}  // namespace plumb::crypto
