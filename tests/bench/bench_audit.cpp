// Runs plumb N times on a fixture root, each as a whole process, and prints wall time per run (min / median / mean /
// max) and peak RSS (from wait4's rusage of each child).
//
//   plumb_bench_audit [--runs N] [--mode audit|plan|fix] [--root DIR] [--baseline ID] [--plumb PATH] [-- peer...]
//
// audit: `plumb audit` of the fixture. plan: `plumb fix --dry-run` of a non-compliant fixture (planning only).
// fix: `plumb fix` of a fresh copy of the non-compliant fixture each run (plan + journal + apply + verify + commit).
// Without --root it builds a representative fixture (journald configuration with drop-ins, os-release, unit
// files). A peer command after "--" is timed the same way in the same run, for ratios.
#include <sys/resource.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "plumb_test.hpp"

namespace {

struct Sample {
    double ms;
    long max_rss_kb;
    int status;
};

Sample run_once(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        setenv("PLUMB_DEVELOPMENT", "1", 1);
        execv(args[0], args.data());
        _exit(127);
    }
    int status = 0;
    rusage ru{};
    wait4(pid, &status, 0, &ru);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return {ms, ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

void report(const char* name, std::vector<Sample>& s) {
    std::vector<double> t;
    long rss = 0;
    for (auto& x : s) {
        t.push_back(x.ms);
        rss = std::max(rss, x.max_rss_kb);
    }
    std::sort(t.begin(), t.end());
    double mean = std::accumulate(t.begin(), t.end(), 0.0) / static_cast<double>(t.size());
    std::printf("%-10s runs=%zu wall_ms min=%.2f median=%.2f mean=%.2f max=%.2f peak_rss_mb=%.2f exit=%d\n", name, t.size(),
                t.front(), t[t.size() / 2], mean, t.back(), static_cast<double>(rss) / 1024.0, s.back().status);
}

void build_noncompliant(const plumb::test::TempRoot& r) {
    r.write("/etc/os-release", "ID=rhel\nID_LIKE=\"fedora\"\n");
    r.write("/etc/systemd/journald.conf", "[Journal]\nCompress=no\n");
    r.write("/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=volatile\nSystemMaxUse=8G\n");
    r.write("/etc/systemd/journald.conf.d/99-zz-site.conf", "[Journal]\nCompress=no\nSeal=yes\n");
}

void build_fixture(const plumb::test::TempRoot& r) {
    r.write("/etc/os-release", "ID=rhel\nID_LIKE=\"fedora\"\nVERSION_ID=\"9.4\"\n");
    r.write("/etc/hostname", "bench-image\n");
    r.write("/etc/systemd/journald.conf",
            "#  This file is part of systemd.\n[Journal]\n#Storage=auto\n#Compress=yes\nForwardToSyslog=yes\n");
    r.write("/usr/lib/systemd/journald.conf.d/10-vendor.conf", "[Journal]\nStorage=volatile\nSystemMaxUse=8G\n");
    r.write("/etc/systemd/journald.conf.d/60-site.conf", "[Journal]\nStorage=persistent\nCompress=yes\n");
    r.write("/etc/group", "root:x:0:\nsystemd-journal:x:190:\n");
    r.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
    r.mkdir("/var/log/journal", 02755);
    r.write("/usr/lib/systemd/system/systemd-journald.service", "[Unit]\nDescription=Journal Service\n");
    r.write("/var/lib/dpkg/status", "Package: systemd\nStatus: install ok installed\nVersion: 252\n\n");
}

}  // namespace

int main(int argc, char** argv) {
    int runs = 200;
    std::string root, baseline = "cis", plumb = plumb::test::plumb_binary(), mode = "audit";
    std::vector<std::string> peer;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (a == "--root" && i + 1 < argc) root = argv[++i];
        else if (a == "--baseline" && i + 1 < argc) baseline = argv[++i];
        else if (a == "--plumb" && i + 1 < argc) plumb = argv[++i];
        else if (a == "--mode" && i + 1 < argc) mode = argv[++i];
        else if (a == "--") {
            peer.assign(argv + i + 1, argv + argc);
            break;
        } else {
            std::fprintf(stderr, "usage: %s [--runs N] [--root DIR] [--baseline ID] [--plumb PATH] [-- peer...]\n", argv[0]);
            return 1;
        }
    }
    if (mode != "audit" && mode != "plan" && mode != "fix") {
        std::fprintf(stderr, "--mode must be audit, plan or fix\n");
        return 1;
    }
    plumb::test::TempRoot fixture;
    if (root.empty()) {
        if (mode == "audit") build_fixture(fixture);
        else build_noncompliant(fixture);
        root = fixture.path();
    }
    std::vector<std::string> cmd{plumb, mode == "audit" ? "audit" : "fix", "--root", root, "--baseline", baseline, "--format", "json"};
    if (mode == "plan") cmd.push_back("--dry-run");
    std::vector<Sample> s;
    if (mode == "fix") {
        // Every run fixes a fresh copy; copying is outside the timed part.
        for (int i = 0; i <= runs; ++i) {
            plumb::test::TempRoot copy;
            copy.copy_from(root);
            cmd[3] = copy.path();
            Sample x = run_once(cmd);
            if (i > 0) s.push_back(x);  // the first run warms the page cache
        }
    } else {
        run_once(cmd);  // warm the page cache
        for (int i = 0; i < runs; ++i) s.push_back(run_once(cmd));
    }
    report(mode.c_str(), s);
    if (!peer.empty()) {
        run_once(peer);
        std::vector<Sample> p;
        for (int i = 0; i < std::max(1, runs / 10); ++i) p.push_back(run_once(peer));
        report("peer", p);
        std::sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.ms < b.ms; });
        std::sort(p.begin(), p.end(), [](auto& a, auto& b) { return a.ms < b.ms; });
        std::printf("ratio peer/plumb (median wall) = %.1fx\n", p[p.size() / 2].ms / s[s.size() / 2].ms);
    }
    return 0;
}
