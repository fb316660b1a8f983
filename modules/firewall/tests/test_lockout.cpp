// End to end on a real kernel: `plumb fix` turns an open host into a default-deny one over netlink while an operator
// is connected, and the operator stays in.
//
// The test process moves into its own network namespace (the host's firewall is never touched) and its own mount
// namespace, where /etc and /var/lib are overlays on scratch directories: the boot-time nftables file and the
// transaction journal that `plumb fix` writes on a live system land there, not on the host. A second process in a
// second network namespace plays the operator's machine, connected through a veth pair:
//
//     operator netns (10.99.0.2, veth1)  <---->  test netns (10.99.0.1, veth0): echo servers on 22 and 8080
//
// The operator opens an ssh-port connection before the fix; after it, that connection must still carry data, a new
// connection to port 22 must be accepted and one to 8080 must not.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "netns.hpp"
#include "plumb_test.hpp"

namespace fs = std::filesystem;
using plumb::test::run_plumb;
using plumb::test::run_process;

namespace {

constexpr const char* kServer = "10.99.0.1";
constexpr const char* kOperator = "10.99.0.2";

std::string g_skip;        // why the live tests cannot run here (set once)
std::string g_scratch;     // overlay upper/work directories
pid_t g_operator = -1;     // the operator process
int g_to_operator = -1, g_from_operator = -1;

using plumb::firewall::test::find_tool;
std::string tool(const std::string& name) { return find_tool(name); }

bool ip(const std::vector<std::string>& args, std::string* err = nullptr) {
    std::vector<std::string> argv{tool("ip")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_process(argv, 20);
    if (r.exit_code != 0 && err) *err = "ip " + args[0] + " " + (args.size() > 1 ? args[1] : "") + ": " + r.err;
    return r.exit_code == 0;
}

// ---- the operator: a process in its own network namespace, driven over a pipe with one-line commands.

int connect_to(uint16_t port, int timeout_ms) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, kServer, &a.sin_addr);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

bool echo(int fd, const std::string& msg, int timeout_ms) {
    if (send(fd, msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) return false;
    std::string got;
    while (got.size() < msg.size()) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1) return false;
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        got.append(buf, static_cast<size_t>(n));
    }
    return got == msg;
}

[[noreturn]] void operator_main(int in, int out) {
    auto reply = [&](const std::string& s) { (void)!write(out, (s + "\n").data(), s.size() + 1); };
    auto read_line = [&]() {
        std::string line;
        char c;
        while (read(in, &c, 1) == 1 && c != '\n') line += c;
        return line;
    };
    if (unshare(CLONE_NEWNET) < 0) {
        reply(std::string("ERR unshare: ") + std::strerror(errno));
        _exit(1);
    }
    reply("READY");
    int ssh = -1;
    for (;;) {
        std::string cmd = read_line();
        if (cmd.empty() || cmd == "quit") _exit(0);
        if (cmd == "setup") {
            // exec'd, not a shell: the interface came over from the test namespace.
            bool ok = ip({"addr", "add", std::string(kOperator) + "/24", "dev", "veth1"}) && ip({"link", "set", "veth1", "up"}) &&
                      ip({"link", "set", "lo", "up"});
            reply(ok ? "OK" : "ERR setup");
        } else if (cmd == "open") {
            ssh = connect_to(22, 3000);
            reply(ssh >= 0 ? "OK" : "ERR connect");
        } else if (cmd.starts_with("send ")) {
            reply(ssh >= 0 && echo(ssh, cmd.substr(5), 3000) ? "OK" : "ERR echo");
        } else if (cmd.starts_with("new ")) {
            int fd = connect_to(static_cast<uint16_t>(std::stoi(cmd.substr(4))), 2000);
            bool ok = fd >= 0 && echo(fd, "hello", 2000);
            if (fd >= 0) close(fd);
            reply(ok ? "OK" : "REFUSED");
        } else {
            reply("ERR unknown command");
        }
    }
}

std::string ask(const std::string& cmd) {
    std::string line = cmd + "\n";
    if (write(g_to_operator, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return "ERR write";
    std::string out;
    char c;
    while (read(g_from_operator, &c, 1) == 1 && c != '\n') out += c;
    return out;
}

// ---- the servers: echo every byte back, one thread per connection.

void serve(int listener, std::atomic<bool>* stop) {
    while (!*stop) {
        pollfd p{listener, POLLIN, 0};
        if (poll(&p, 1, 100) != 1) continue;
        int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        std::thread([fd, stop] {
            char buf[256];
            for (;;) {
                pollfd q{fd, POLLIN, 0};
                if (*stop) break;
                if (poll(&q, 1, 100) != 1) continue;
                ssize_t n = recv(fd, buf, sizeof buf, 0);
                if (n <= 0 || send(fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
            }
            close(fd);
        }).detach();
    }
}

int listen_on(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0 || listen(fd, 16) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

// ---- the namespaces

std::string overlay(const std::string& dir) {
    std::string base = g_scratch + dir;
    fs::create_directories(base + "/upper");
    fs::create_directories(base + "/work");
    std::string opts = "lowerdir=" + dir + ",upperdir=" + base + "/upper,workdir=" + base + "/work";
    if (mount("overlay", dir.c_str(), "overlay", 0, opts.c_str()) < 0) return "overlay on " + dir + ": " + std::strerror(errno);
    return {};
}

std::string set_up() {
    if (geteuid() != 0) return "needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN)";
    if (tool("ip").empty()) return "the ip command (iproute2) is not installed";
    if (tool("nft").empty()) return "the nft command (nftables) is not installed";
    int to[2], from[2];
    if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0) return "pipe failed";
    // The operator is forked before any thread exists.
    g_operator = fork();
    if (g_operator == 0) operator_main(to[0], from[1]);
    close(to[0]);
    close(from[1]);
    g_to_operator = to[1];
    g_from_operator = from[0];
    std::string ready;
    char c;
    while (read(g_from_operator, &c, 1) == 1 && c != '\n') ready += c;
    if (ready != "READY") return "operator namespace: " + ready;

    if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) return std::string("unshare(CLONE_NEWNET|CLONE_NEWNS): ") + std::strerror(errno);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return std::string("making mounts private: ") + std::strerror(errno);
    char tmpl[] = "/tmp/plumb-lockout-XXXXXX";
    if (!mkdtemp(tmpl)) return "mkdtemp failed";
    g_scratch = tmpl;
    for (const char* dir : {"/etc", "/var/lib"})
        if (auto e = overlay(dir); !e.empty()) return e;
    std::string err;
    if (!ip({"link", "set", "lo", "up"}, &err) ||
        !ip({"link", "add", "veth0", "type", "veth", "peer", "name", "veth1", "netns", std::to_string(g_operator)}, &err) ||
        !ip({"addr", "add", std::string(kServer) + "/24", "dev", "veth0"}, &err) || !ip({"link", "set", "veth0", "up"}, &err))
        return err;
    if (auto r = ask("setup"); r != "OK") return "operator: " + r;
    return {};
}

class LockoutEnvironment : public ::testing::Environment {
public:
    void SetUp() override { g_skip = set_up(); }
    void TearDown() override {
        if (g_operator > 0) {
            ask("quit");
            waitpid(g_operator, nullptr, 0);
        }
        // The namespaces die with the process; the scratch directories are ours to remove (after the overlays go).
        umount2("/var/lib", MNT_DETACH);
        umount2("/etc", MNT_DETACH);
        if (!g_scratch.empty()) fs::remove_all(g_scratch);
    }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new LockoutEnvironment);

std::string write_baseline(const std::string& dir) {
    std::string path = dir + "/lockout.json";
    std::ofstream(path) << R"({
  "id": "lockout", "version": "1", "title": "default deny for the lockout test",
  "rules": [
    {"id": "table", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
     "audit": {"call": "firewall.nft_table"}},
    {"id": "deny", "title": "t", "description": "d", "rationale": "r", "severity": "high", "references": {},
     "audit": {"call": "firewall.nft_default_deny", "args": {"input": "drop", "forward": "drop", "output": "drop", "port": 22}}},
    {"id": "loopback", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
     "audit": {"call": "firewall.nft_loopback"}},
    {"id": "persistent", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
     "audit": {"call": "firewall.nft_persistent"}}
  ]
})";
    return path;
}

}  // namespace

TEST(FirewallLockout, DefaultDenyFixKeepsTheOperatorConnectedAndAdmitted) {
    if (!g_skip.empty()) GTEST_SKIP() << g_skip;
    std::atomic<bool> stop{false};
    int l22 = listen_on(22), l8080 = listen_on(8080);
    ASSERT_GE(l22, 0);
    ASSERT_GE(l8080, 0);
    std::thread s22(serve, l22, &stop), s8080(serve, l8080, &stop);

    // Before: everything is open; the operator logs in.
    ASSERT_EQ(ask("open"), "OK");
    ASSERT_EQ(ask("send before-fix"), "OK");
    EXPECT_EQ(ask("new 8080"), "OK");

    std::string baseline = write_baseline(g_scratch);
    auto fixed = run_plumb({"fix", "--baseline", baseline, "--format", "json"}, 120);
    EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
    if (std::getenv("PLUMB_TEST_VERBOSE")) std::fprintf(stderr, "%s\n%s\n", fixed.out.c_str(), fixed.err.c_str());

    // After: the open connection still carries data, ssh still admits, everything else is dropped.
    EXPECT_EQ(ask("send after-fix"), "OK");
    EXPECT_EQ(ask("new 22"), "OK");
    EXPECT_EQ(ask("new 8080"), "REFUSED");
    auto listed = run_process({tool("nft"), "list", "ruleset"});
    EXPECT_NE(listed.out.find("policy drop;"), std::string::npos) << listed.out;

    // The fix is persistent (the boot file includes plumb's table file) and every rule passes.
    auto audit = run_plumb({"audit", "--baseline", baseline, "--format", "json"}, 60);
    EXPECT_EQ(audit.exit_code, 0) << audit.out << audit.err;
    std::ifstream boot("/etc/nftables.conf");
    std::string boot_text((std::istreambuf_iterator<char>(boot)), std::istreambuf_iterator<char>());
    EXPECT_NE(boot_text.find("include \"/etc/nftables/plumb-inet-filter.nft\""), std::string::npos) << boot_text;

    // Rollback undoes the batch: open again, and the operator never lost the connection.
    auto rolled = run_plumb({"rollback"}, 60);
    EXPECT_EQ(rolled.exit_code, 0) << rolled.out << rolled.err;
    EXPECT_EQ(ask("new 8080"), "OK");
    EXPECT_EQ(ask("send after-rollback"), "OK");
    auto after = run_process({tool("nft"), "list", "ruleset"});
    EXPECT_EQ(after.out.find("policy drop;"), std::string::npos) << after.out;

    stop = true;
    s22.join();
    s8080.join();
    close(l22);
    close(l8080);
}
