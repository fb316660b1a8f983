// Wall time and peak RSS of plumb-provision from start to Ready, against a loopback IMDS and wireserver that
// answer at once, on a fresh fixture root per run (useradd --root included; needs root).
//
//   plumb_bench_provision [--runs N] [--baseline ID] [--binary PATH] [-- <peer command...>]
//
// "to Ready" is the time from fork to the wireserver receiving the Ready report; "to exit" adds the marker write and
// process exit. Peak RSS is wait4's ru_maxrss (the provisioner, or its largest helper such as useradd). --baseline
// adds the baseline step (plumb fix on the root; its own RSS is a separate process and counts only through
// ru_maxrss). A peer command after "--" (e.g. cloud-init --version) is timed the same way, for comparison.
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "provision_fixture.hpp"

using namespace plumb::test;
using clock_type = std::chrono::steady_clock;

namespace {

struct Sample {
    double to_ready_ms = -1;
    double to_exit_ms = 0;
    long max_rss_kb = 0;       // wait4: the provisioner or its largest helper
    long self_rss_kb = -1;     // the provisioner alone, from its final log line
    int status = 0;
};

std::atomic<long long> ready_at_ns{0};

Sample run_once(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ready_at_ns = 0;
    auto t0 = clock_type::now();
    char log_path[] = "/tmp/plumb-bench-log-XXXXXX";
    int log_fd = mkstemp(log_path);
    unlink(log_path);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(log_fd, 2);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    auto t1 = clock_type::now();
    Sample s;
    s.to_exit_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    if (long long r = ready_at_ns.load(); r != 0)
        s.to_ready_ms = static_cast<double>(r - t0.time_since_epoch().count()) / 1e6;
    s.max_rss_kb = ru.ru_maxrss;
    s.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::string log(1 << 16, '\0');
    ssize_t n = pread(log_fd, log.data(), log.size(), 0);
    log.resize(n > 0 ? static_cast<size_t>(n) : 0);
    close(log_fd);
    if (size_t at = log.find("peak RSS "); at != std::string::npos) s.self_rss_kb = std::atol(log.c_str() + at + 9);
    return s;
}

void print(const char* name, std::vector<double> v, long rss_kb) {
    if (v.empty()) return;
    std::sort(v.begin(), v.end());
    std::printf("%-34s min %7.2f ms  median %7.2f ms  max %7.2f ms  peak RSS %6.2f MiB  (%zu runs)\n", name, v.front(),
                v[v.size() / 2], v.back(), static_cast<double>(rss_kb) / 1024.0, v.size());
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 20;
    std::string baseline, binary = build_dir() + "/bin/plumb-provision";
    std::vector<std::string> peer;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        else if (a == "--baseline" && i + 1 < argc) baseline = argv[++i];
        else if (a == "--binary" && i + 1 < argc) binary = argv[++i];
        else if (a == "--") {
            for (++i; i < argc; ++i) peer.push_back(argv[i]);
        } else {
            std::fprintf(stderr, "usage: plumb_bench_provision [--runs N] [--baseline ID] [--binary PATH] [-- peer...]\n");
            return 1;
        }
    }
    if (geteuid() != 0) {
        std::fprintf(stderr, "plumb_bench_provision: needs root (useradd --root)\n");
        return 1;
    }
    ImdsDoc doc;
    doc.keys = {{ed25519_public_key(1, "bench"), ""}};
    const std::string imds_body = imds_json(doc);
    HttpServer imds([&](const RecordedRequest&, int) { return Reply{200, imds_body}; });
    HttpServer wire([](const RecordedRequest& r, int) {
        if (r.target == "/provisioning/health" && r.body.find("\"Ready\"") != std::string::npos)
            ready_at_ns = clock_type::now().time_since_epoch().count();
        return Reply{200, ""};
    });

    std::vector<double> ready, exit_ms;
    long rss = 0, self_rss = 0;
    int failures = 0;
    for (int i = 0; i < runs; ++i) {
        TempRoot root;
        make_provision_root(root);
        write_provision_conf(root, {.imds = &imds, .wireserver = &wire, .baseline = baseline});
        Sample s = run_once({binary, "--root", root.path()});
        if (s.status != 0 || s.to_ready_ms < 0) {
            ++failures;
            continue;
        }
        ready.push_back(s.to_ready_ms);
        exit_ms.push_back(s.to_exit_ms);
        rss = std::max(rss, s.max_rss_kb);
        self_rss = std::max(self_rss, s.self_rss_kb);
    }
    std::printf("plumb-provision (%s)%s\n", binary.c_str(), baseline.empty() ? "" : (" with baseline " + baseline).c_str());
    print("  start -> Ready received", ready, rss);
    print("  start -> exit (marker written)", exit_ms, rss);
    std::printf("  peak RSS of plumb-provision alone (getrusage RUSAGE_SELF): %.2f MiB; the figure above is wait4's,\n"
                "  which is the largest of plumb-provision and its helpers (useradd%s)\n",
                static_cast<double>(self_rss) / 1024.0, baseline.empty() ? "" : ", plumb fix");
    if (failures) std::printf("  %d run(s) failed\n", failures);

    // The floor: plumb_bench_curl_floor (next to this program) only initialises libcurl.
    std::string self(4096, '\0');
    ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
    std::string floor_binary = n > 0 ? self.substr(0, self.rfind('/', static_cast<std::size_t>(n))) + "/plumb_bench_curl_floor" : "";
    if (!floor_binary.empty() && access(floor_binary.c_str(), X_OK) == 0) {
        long floor_rss = 0;
        for (int i = 0; i < 5; ++i) floor_rss = std::max(floor_rss, run_once({floor_binary}).max_rss_kb);
        std::printf("  floor: a program that only initialises libcurl (%s): peak RSS %.2f MiB\n", floor_binary.c_str(),
                    static_cast<double>(floor_rss) / 1024.0);
    }

    if (!peer.empty()) {
        std::vector<double> t;
        long peer_rss = 0;
        for (int i = 0; i < runs; ++i) {
            Sample s = run_once(peer);
            if (s.status == 0) t.push_back(s.to_exit_ms);
            peer_rss = std::max(peer_rss, s.max_rss_kb);
        }
        std::string name;
        for (const auto& p : peer) name += (name.empty() ? "" : " ") + p;
        std::printf("peer: %s\n", name.c_str());
        print("  start -> exit", t, peer_rss);
        if (t.empty()) std::printf("  every run failed\n");
    }
    return failures ? 1 : 0;
}
