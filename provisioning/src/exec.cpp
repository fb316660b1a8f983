#include "exec.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plumb/safe_root.hpp"

namespace plumb::provision {

std::string ExecResult::describe(const std::string& program) const {
    std::string s = program + (timed_out ? " timed out and was killed" : " exited with " + std::to_string(exit_code));
    std::string first = err.substr(0, err.find('\n'));
    if (!first.empty()) s += ": " + first;
    return s;
}

Result<ExecResult> run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                               std::size_t max_output) {
    if (argv.empty()) return fail_invalid("run_command: empty argv");
    // exec'ing a path that is not an executable regular file would only fail in the child; say why up front.
    struct stat st {};
    if (::stat(argv[0].c_str(), &st) != 0) return fail_errno(errno, argv[0]);
    if (!S_ISREG(st.st_mode) || ::access(argv[0].c_str(), X_OK) != 0) return fail(EACCES, argv[0] + ": not an executable file");

    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail_errno(errno, "pipe");
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        return fail_errno(errno, "pipe");
    }
    UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);
    UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));

    // Everything the child touches is prepared before fork: after it only async-signal-safe calls happen.
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    static char env_path[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    static char env_lang[] = "LC_ALL=C";
    char* envp[] = {env_path, env_lang, nullptr};

    pid_t pid = ::fork();
    if (pid < 0) return fail_errno(errno, "fork");
    if (pid == 0) {
        ::setpgid(0, 0);  // its own process group, so a timeout kills helpers it started too
        if (devnull) ::dup2(devnull.get(), 0);
        ::dup2(out_w.get(), 1);
        ::dup2(err_w.get(), 2);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(args[0], args.data(), envp);
        _exit(127);
    }
    ::setpgid(pid, pid);
    out_w = UniqueFd();
    err_w = UniqueFd();

    ExecResult r;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd fds[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) {
            ::kill(-pid, SIGKILL);
            r.timed_out = true;
            break;
        }
        int n = ::poll(fds, 2, static_cast<int>(left));
        if (n < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[16384];
            ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got > 0) {
                std::string& sink = i == 0 ? r.out : r.err;
                if (sink.size() < max_output) sink.append(buf, std::min(static_cast<size_t>(got), max_output - sink.size()));
            } else {
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) r.exit_code = 128 + WTERMSIG(status);
    return r;
}

}  // namespace plumb::provision
