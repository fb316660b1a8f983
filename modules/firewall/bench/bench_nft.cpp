// Times read_ruleset() and the probe-packet checks on a large ruleset, in a network namespace of its own (the host's ruleset is never touched).
//
//   plumb_bench_nft [--rules N] [--runs R] [--batch B] [--nft PATH] [--all-input]
//
// Builds an inet table of N rules (default 10000; 2/3 in the input chain, 1/3 in forward, or all in input with
// --all-input, the worst case of the scoped read) in a realistic mix: ip/ip6 source and destination prefixes,
// tcp/udp destination ports, ct state, iifname, counters, log/limit, anonymous sets (every 25th rule) and lookups in
// named sets (every 100th rule, when nft is there to create the sets: commit() has no set changes). It loads them
// through commit() in batches of B rules (default 2000), then times R reads (default 20) and prints the median and
// minimum wall time, the CPU time per read (user: decoding; sys: mostly the kernel serializing the dumps) and the peak
// RSS (getrusage ru_maxrss; RSS before the reads is printed too). Each run times the full read_ruleset() and, right
// after it (interleaved, so that the noise of the machine hits both alike), the scoped read {input, output} the probe
// checks use; the 12 probe walks run on both and must agree.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "eval.hpp"
#include "model.hpp"
#include "netlink.hpp"
#include "netns.hpp"

namespace nft = plumb::firewall::nft;
using nft::Bytes;
using nft::Op;

namespace {

struct Options {
    size_t rules = 10000;
    size_t runs = 20;
    size_t batch = 2000;
    std::string nft_path = "/usr/sbin/nft";
    bool all_input = false;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "plumb_bench_nft: %s\nusage: plumb_bench_nft [--rules N] [--runs R] [--batch B] [--nft PATH] [--all-input]\n", why);
    std::exit(1);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value after " + a).c_str());
            return argv[++i];
        };
        auto count = [&]() -> size_t {
            std::string v = value();
            char* end = nullptr;
            unsigned long long n = std::strtoull(v.c_str(), &end, 10);
            if (v.empty() || *end || n == 0) usage(("not a positive number: " + v).c_str());
            return static_cast<size_t>(n);
        };
        if (a == "--rules") o.rules = count();
        else if (a == "--runs") o.runs = count();
        else if (a == "--batch") o.batch = count();
        else if (a == "--nft") o.nft_path = value();
        else if (a == "--all-input") o.all_input = true;
        else usage(("unknown argument " + a).c_str());
    }
    return o;
}

long max_rss_kb() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

// CPU time of this process so far, user and system (the kernel's dump work runs in our recvmsg calls), in ms.
std::pair<double, double> cpu_ms() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ms = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1000.0 + static_cast<double>(tv.tv_usec) / 1000.0; };
    return {ms(ru.ru_utime), ms(ru.ru_stime)};
}

// Runs `nft -f file` (only to create the named sets); false when nft is missing or fails.
bool nft_load(const std::string& nft_path, const std::string& text) {
    if (::access(nft_path.c_str(), X_OK) != 0) return false;
    char path[] = "/tmp/plumb-bench-nft-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return false;
    ::close(fd);
    std::ofstream(path) << text;
    pid_t pid = fork();
    if (pid == 0) {
        execl(nft_path.c_str(), nft_path.c_str(), "-f", path, static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ::unlink(path);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Wall time of one `nft list ruleset` (output to /dev/null), for comparison in the same run; negative if nft is missing.
double nft_list_ms(const std::string& nft_path) {
    if (::access(nft_path.c_str(), X_OK) != 0) return -1;
    auto t0 = std::chrono::steady_clock::now();
    pid_t pid = fork();
    if (pid == 0) {
        int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) ::dup2(null, 1);
        execl(nft_path.c_str(), nft_path.c_str(), "list", "ruleset", static_cast<char*>(nullptr));
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

const nft::Field& F(const char* name) {
    const nft::Field* f = nft::field_by_name(name);
    if (!f) {
        std::fprintf(stderr, "plumb_bench_nft: the field catalogue has no %s\n", name);
        std::exit(1);
    }
    return *f;
}

void add(std::vector<nft::Match>& to, std::vector<nft::Match> more) { to.insert(to.end(), more.begin(), more.end()); }

nft::Statement counter() { return {nft::Statement::Kind::counter, {}}; }

// Rule i of the mix. Values vary with i so that no two rules are alike.
nft::Rule make_rule(size_t i, bool named_sets) {
    using F_ = nft::Family;
    using P = nft::Proto;
    nft::Rule r;
    const auto a = static_cast<uint8_t>(i >> 8), b = static_cast<uint8_t>(i);
    const auto port = static_cast<uint16_t>(1024 + i % 60000);
    if (named_sets && i % 100 == 99) {
        add(r.matches, nft::dependencies(F_::inet, P::ip));
        nft::Match m;
        m.sel = F("ip saddr").sel;
        m.op = i % 200 == 199 ? Op::not_in_set : Op::in_set;
        m.set = i % 200 == 199 ? "allow4" : "block4";
        r.matches.push_back(m);
        r.verdict.kind = nft::VerdictKind::drop;
        return r;
    }
    if (i % 25 == 24) {
        add(r.matches, nft::dependencies(F_::inet, P::tcp));
        nft::Match m;
        m.sel = F("tcp dport").sel;
        m.op = Op::in_set;
        for (uint16_t k = 0; k < 4; ++k) m.elements.push_back({nft::be(static_cast<uint16_t>(port + k * 7), 2), {}});
        nft::canonicalize(m);
        r.matches.push_back(std::move(m));
        r.verdict.kind = nft::VerdictKind::accept;
        return r;
    }
    switch (i % 10) {
        case 0:  // ip saddr 10.a.b.0/24 counter drop
            add(r.matches, nft::dependencies(F_::inet, P::ip));
            r.matches.push_back(nft::prefix_match(F("ip saddr"), Bytes{10, a, b, 0}, 24));
            r.statements.push_back(counter());
            r.verdict.kind = nft::VerdictKind::drop;
            break;
        case 1:  // ip daddr 192.168.a.b tcp dport P accept
            add(r.matches, nft::dependencies(F_::inet, P::ip));
            r.matches.push_back(nft::match(F("ip daddr"), Op::eq, Bytes{192, 168, a, b}));
            add(r.matches, nft::dependencies(F_::inet, P::tcp));
            r.matches.push_back(nft::match(F("tcp dport"), Op::eq, nft::be(port, 2)));
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        case 2: {  // tcp dport P ct state new counter accept
            add(r.matches, nft::dependencies(F_::inet, P::tcp));
            r.matches.push_back(nft::match(F("tcp dport"), Op::eq, nft::be(port, 2)));
            nft::Match ct = nft::match(F("ct state"), Op::neq, nft::host(0, 4));
            ct.mask = nft::host(8, 4);  // new
            nft::canonicalize(ct);
            r.matches.push_back(std::move(ct));
            r.statements.push_back(counter());
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        }
        case 3:  // udp dport P-(P+10) accept
        {
            add(r.matches, nft::dependencies(F_::inet, P::udp));
            nft::Match m = nft::match(F("udp dport"), Op::range, nft::be(port, 2));
            m.value_hi = nft::be(static_cast<uint16_t>(port + 10), 2);
            r.matches.push_back(std::move(m));
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        }
        case 4: {  // iifname "ethN*" ip saddr 172.16.a.0/24 accept
            nft::Match ifn = nft::match(F("iifname"), Op::eq, nft::ifname_bytes("eth" + std::to_string(i % 8)));
            ifn.mask.assign(16, 0);
            std::fill(ifn.mask.begin(), ifn.mask.begin() + 4, 0xff);
            nft::canonicalize(ifn);
            r.matches.push_back(std::move(ifn));
            add(r.matches, nft::dependencies(F_::inet, P::ip));
            r.matches.push_back(nft::prefix_match(F("ip saddr"), Bytes{172, 16, a, 0}, 24));
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        }
        case 5:  // ip6 saddr 2001:db8:a:b::/64 counter drop
            add(r.matches, nft::dependencies(F_::inet, P::ip6));
            r.matches.push_back(nft::prefix_match(F("ip6 saddr"), Bytes{0x20, 0x01, 0x0d, 0xb8, 0, a, 0, b, 0, 0, 0, 0, 0, 0, 0, 0}, 64));
            r.statements.push_back(counter());
            r.verdict.kind = nft::VerdictKind::drop;
            break;
        case 6:  // ct state established,related accept
        {
            nft::Match ct = nft::match(F("ct state"), Op::neq, nft::host(0, 4));
            ct.mask = nft::host(6, 4);
            nft::canonicalize(ct);
            r.matches.push_back(std::move(ct));
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        }
        case 7:  // ip daddr 10.a.b.0/24 udp dport 53 accept
            add(r.matches, nft::dependencies(F_::inet, P::ip));
            r.matches.push_back(nft::prefix_match(F("ip daddr"), Bytes{10, a, b, 0}, 24));
            add(r.matches, nft::dependencies(F_::inet, P::udp));
            r.matches.push_back(nft::match(F("udp dport"), Op::eq, nft::be(53, 2)));
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        case 8:  // iif 1 tcp dport P log prefix "bench " limit rate 10/minute accept
            r.matches.push_back(nft::match(F("iif"), Op::eq, nft::host(1, 4)));
            add(r.matches, nft::dependencies(F_::inet, P::tcp));
            r.matches.push_back(nft::match(F("tcp dport"), Op::eq, nft::be(port, 2)));
            r.statements.push_back({nft::Statement::Kind::limit, {{"rate", "10"}, {"unit", "minute"}, {"burst", "5"}, {"type", "packets"}}});
            r.statements.push_back({nft::Statement::Kind::log, {{"prefix", "bench "}, {"level", "4"}}});
            r.verdict.kind = nft::VerdictKind::accept;
            break;
        default:  // ip6 daddr 2001:db8::a:b tcp dport P counter jump services
            add(r.matches, nft::dependencies(F_::inet, P::ip6));
            r.matches.push_back(nft::match(F("ip6 daddr"), Op::eq, Bytes{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, a, 0, b}));
            add(r.matches, nft::dependencies(F_::inet, P::tcp));
            r.matches.push_back(nft::match(F("tcp dport"), Op::eq, nft::be(port, 2)));
            r.statements.push_back(counter());
            r.verdict = {nft::VerdictKind::jump, "services"};
            break;
    }
    return r;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse(argc, argv);
    std::string why;
    if (!plumb::firewall::test::enter_private_netns(&why)) {
        std::fprintf(stderr, "plumb_bench_nft: %s\n", why.c_str());
        return 1;
    }

    // Named sets (nft creates them; commit() adds tables, chains and rules only).
    std::string sets = "table inet bench {\n set block4 {\n  type ipv4_addr\n  flags interval\n  elements = { ";
    for (int k = 0; k < 200; ++k)
        sets += (k ? ", " : "") + std::string("198.") + std::to_string(18 + k / 256) + "." + std::to_string(k % 256) + ".0/24";
    sets += " }\n }\n set allow4 {\n  type ipv4_addr\n  elements = { ";
    for (int k = 0; k < 200; ++k) sets += (k ? ", " : "") + std::string("203.0.") + std::to_string(k / 250) + "." + std::to_string(k % 250 + 1);
    sets += " }\n }\n}\n";
    const bool named_sets = nft_load(opt.nft_path, sets);

    // Table and chains, then the rules in batches.
    using K = nft::Change::Kind;
    auto base = [](K kind) {
        nft::Change c;
        c.kind = kind;
        c.family = nft::Family::inet;
        c.table = "bench";
        return c;
    };
    std::vector<nft::Change> head;
    head.push_back(base(K::add_table));
    for (const char* name : {"services", "input", "forward"}) {
        nft::Change c = base(K::add_chain);
        c.chain_def.name = name;
        if (std::strcmp(name, "services") != 0) {
            c.chain_def.hook = nft::Hook{"filter", name, 0, ""};
            c.chain_def.policy = nft::VerdictKind::drop;
        }
        head.push_back(std::move(c));
    }
    auto t_load = std::chrono::steady_clock::now();
    if (auto r = nft::commit(head); !r) {
        std::fprintf(stderr, "plumb_bench_nft: creating the table: %s\n", r.error().message.c_str());
        return 1;
    }
    for (size_t first = 0; first < opt.rules; first += opt.batch) {
        std::vector<nft::Change> changes;
        for (size_t i = first; i < std::min(opt.rules, first + opt.batch); ++i) {
            nft::Change c = base(K::add_rule);
            c.chain = !opt.all_input && i % 3 == 2 ? "forward" : "input";
            c.rule = make_rule(i, named_sets);
            changes.push_back(std::move(c));
        }
        if (auto r = nft::commit(changes); !r) {
            std::fprintf(stderr, "plumb_bench_nft: loading rules %zu..: %s\n", first, r.error().message.c_str());
            return 1;
        }
    }
    const double load_ms = ms_since(t_load);

    // One untimed read to check what was loaded.
    auto check = nft::read_ruleset();
    if (!check) {
        std::fprintf(stderr, "plumb_bench_nft: read_ruleset: %s\n", check.error().message.c_str());
        return 1;
    }
    size_t rules = 0, opaque = 0;
    for (const auto& t : check->tables)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules) {
                ++rules;
                opaque += !r.opaque.empty();
            }
    if (rules != opt.rules) {
        std::fprintf(stderr, "plumb_bench_nft: loaded %zu rules but read back %zu\n", opt.rules, rules);
        return 1;
    }
    check = {};
    const long rss_before_kb = max_rss_kb();

    // The checks of the cis/sfi nftables rules: the probe packets of nft_loopback, nft_established,
    // nft_management_port and the lockout guard, in both families, on input and output. Returns a bit per probe.
    auto probe_walks = [](const nft::Ruleset& rs) {
        unsigned accepted = 0, bit = 0;
        for (nft::Family f : {nft::Family::ip, nft::Family::ip6}) {
            for (const auto& probe : {nft::probe_loopback(f), nft::probe_forged_loopback(f), nft::probe_established(f), nft::probe_new_tcp(f, 22)})
                accepted |= (nft::decide(rs, probe).fate == nft::Fate::accept ? 1u : 0u) << bit++;
            for (const auto& probe : {nft::probe_reply_out(f, 22), nft::probe_loopback_out(f)})
                accepted |= (nft::decide(rs, probe, "output").fate == nft::Fate::accept ? 1u : 0u) << bit++;
        }
        return accepted;
    };
    const nft::ReadScope scope{{"input", "output"}};
    std::vector<double> times, check_times, totals, s_times, s_check_times, s_totals;
    double s_user = 0, s_sys = 0, f_user = 0, f_sys = 0;
    size_t accepted = 0, s_rules = 0;
    for (size_t run = 0; run < opt.runs; ++run) {
        auto c0 = cpu_ms();
        auto t0 = std::chrono::steady_clock::now();
        auto rs = nft::read_ruleset();
        const double ms = ms_since(t0);
        auto c1 = cpu_ms();
        f_user += c1.first - c0.first;
        f_sys += c1.second - c0.second;
        if (!rs) {
            std::fprintf(stderr, "plumb_bench_nft: read_ruleset: %s\n", rs.error().message.c_str());
            return 1;
        }
        times.push_back(ms);
        auto t1 = std::chrono::steady_clock::now();
        const unsigned full_bits = probe_walks(*rs);
        accepted += static_cast<size_t>(__builtin_popcount(full_bits));
        check_times.push_back(ms_since(t1));
        totals.push_back(ms_since(t0));
        rs = {};

        c0 = cpu_ms();
        auto u0 = std::chrono::steady_clock::now();
        auto srs = nft::read_ruleset(scope);
        const double sms = ms_since(u0);
        c1 = cpu_ms();
        s_user += c1.first - c0.first;
        s_sys += c1.second - c0.second;
        if (!srs) {
            std::fprintf(stderr, "plumb_bench_nft: read_ruleset(scope): %s\n", srs.error().message.c_str());
            return 1;
        }
        s_times.push_back(sms);
        auto u1 = std::chrono::steady_clock::now();
        const unsigned scoped_bits = probe_walks(srs->ruleset);
        s_check_times.push_back(ms_since(u1));
        s_totals.push_back(ms_since(u0));
        if (scoped_bits != full_bits) {
            std::fprintf(stderr, "plumb_bench_nft: the probe walks disagree between the full read (%#x) and the scoped read (%#x)\n", full_bits,
                         scoped_bits);
            return 1;
        }
        s_rules = 0;
        for (const auto& t : srs->ruleset.tables)
            for (const auto& c : t.chains) s_rules += c.rules.size();
    }
    for (auto* v : {&times, &check_times, &totals, &s_times, &s_check_times, &s_totals}) std::sort(v->begin(), v->end());
    auto med = [](const std::vector<double>& v) { return v[v.size() / 2]; };
    const double runs = static_cast<double>(opt.runs);
    std::printf("rules=%zu layout=%s named_sets=%s opaque=%zu load_ms=%.1f\n", rules, opt.all_input ? "all-input" : "input2/3+forward1/3",
                named_sets ? "yes" : "no", opaque, load_ms);
    std::printf("full read_ruleset() runs=%zu wall_ms median=%.2f min=%.2f max=%.2f\n", times.size(), med(times), times.front(), times.back());
    std::printf("full read_ruleset() cpu_ms_per_run user=%.2f sys=%.2f\n", f_user / runs, f_sys / runs);
    std::printf("full checks (12 probe walks) wall_ms median=%.2f min=%.2f; accepted probes per run=%zu\n", med(check_times), check_times.front(),
                accepted / opt.runs);
    std::printf("full read+check wall_ms median=%.2f min=%.2f max=%.2f\n", med(totals), totals.front(), totals.back());
    std::printf("scoped read_ruleset({input,output}) rules_read=%zu wall_ms median=%.2f min=%.2f max=%.2f\n", s_rules, med(s_times), s_times.front(),
                s_times.back());
    std::printf("scoped cpu_ms_per_run user=%.2f sys=%.2f\n", s_user / runs, s_sys / runs);
    std::printf("scoped checks (12 probe walks) wall_ms median=%.2f min=%.2f\n", med(s_check_times), s_check_times.front());
    std::printf("scoped read+check wall_ms median=%.2f min=%.2f max=%.2f\n", med(s_totals), s_totals.front(), s_totals.back());
    std::vector<double> nft_times;
    for (size_t run = 0; run < std::min<size_t>(opt.runs, 10); ++run)
        if (double ms = nft_list_ms(opt.nft_path); ms >= 0) nft_times.push_back(ms);
    std::sort(nft_times.begin(), nft_times.end());
    if (!nft_times.empty())
        std::printf("nft list ruleset (process, for comparison) runs=%zu wall_ms median=%.2f min=%.2f; ratio scoped read+check/nft=%.2f\n",
                    nft_times.size(), nft_times[nft_times.size() / 2], nft_times.front(),
                    s_totals[s_totals.size() / 2] / nft_times[nft_times.size() / 2]);
    std::printf("rss_mb before_reads=%.1f peak=%.1f\n", static_cast<double>(rss_before_kb) / 1024.0, static_cast<double>(max_rss_kb()) / 1024.0);
    return 0;
}
