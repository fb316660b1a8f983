// The netlink layer against the kernel, inside a private network namespace: rulesets loaded with nft (the oracle) are
// decoded into the model; models committed through netlink are read back and listed by nft; failed batches leave the
// ruleset byte for byte as it was.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "eval.hpp"
#include "netlink.hpp"
#include "live_env.hpp"
#include "text.hpp"
#include "plumb_test.hpp"

namespace nft = plumb::firewall::nft;
using nft::Bytes;
using nft::Op;

namespace {

const std::string& g_skip = plumb::firewall::test::live_skip();
const std::string& g_nft = plumb::firewall::test::nft_path();

std::string hex(const Bytes& b) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t x : b) {
        s += digits[x >> 4];
        s += digits[x & 15];
    }
    return s;
}

// A rule at the level the model holds it, for failure messages.
std::string dump(const nft::Rule& r) {
    std::ostringstream o;
    for (const auto& m : r.matches) {
        o << "[" << static_cast<int>(m.sel.kind) << ":" << m.sel.key << "+" << m.sel.offset << "/" << m.sel.len;
        if (!m.mask.empty()) o << " &" << hex(m.mask);
        o << " " << nft::op_name(m.op) << " " << hex(m.value);
        if (!m.value_hi.empty()) o << "-" << hex(m.value_hi);
        if (!m.set.empty()) o << " @" << m.set;
        if (!m.elements.empty()) {
            o << " {";
            for (const auto& e : m.elements) o << " " << hex(e.lo) << (e.hi.empty() ? "" : "-" + hex(e.hi));
            o << " }";
        }
        o << "] ";
    }
    for (const auto& s : r.statements) {
        o << "(" << static_cast<int>(s.kind);
        for (const auto& [k, v] : s.params) o << " " << k << "=" << v;
        o << ") ";
    }
    o << nft::verdict_name(r.verdict.kind) << (r.verdict.chain.empty() ? "" : " " + r.verdict.chain);
    if (!r.comment.empty()) o << " comment=" << r.comment;
    if (!r.opaque.empty()) o << " OPAQUE(" << r.opaque << ")";
    return o.str();
}

// ---- expected matches, built with the model's own helpers

nft::Match field(const char* name, Op op, Bytes value) {
    const nft::Field* f = nft::field_by_name(name);
    EXPECT_NE(f, nullptr) << name;
    return f ? nft::match(*f, op, std::move(value)) : nft::Match{};
}

nft::Match masked(const char* name, Bytes mask, Op op, Bytes value) {
    nft::Match m = field(name, op, std::move(value));
    m.mask = std::move(mask);
    nft::canonicalize(m);
    return m;
}

nft::Match in_set(const char* name, std::vector<nft::Interval> elements, Op op = Op::in_set) {
    nft::Match m;
    m.sel = nft::field_by_name(name)->sel;
    m.op = op;
    m.elements = std::move(elements);
    nft::canonicalize(m);
    return m;
}

nft::Match range(const char* name, Bytes lo, Bytes hi, Op op = Op::range) {
    nft::Match m = field(name, op, std::move(lo));
    m.value_hi = std::move(hi);
    nft::canonicalize(m);
    return m;
}

std::vector<nft::Match> deps(nft::Family f, nft::Proto p, std::vector<nft::Match> then) {
    auto d = nft::dependencies(f, p);
    d.insert(d.end(), then.begin(), then.end());
    return d;
}

Bytes ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return {a, b, c, d}; }

nft::Statement stmt(nft::Statement::Kind k, std::vector<std::pair<std::string, std::string>> params = {}) { return {k, std::move(params)}; }

// ---- the fixture

class Netlink : public ::testing::Test {
protected:
    void SetUp() override {
        if (!g_skip.empty()) GTEST_SKIP() << g_skip;
        run({"flush", "ruleset"});
    }

    // Runs nft with arguments; fails the test (and returns the output anyway) when it exits non-zero.
    std::string run(const std::vector<std::string>& args) {
        std::vector<std::string> argv{g_nft};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = plumb::test::run_process(argv, 60);
        EXPECT_EQ(r.exit_code, 0) << "nft " << args.back() << ": " << r.err;
        return r.out;
    }

    void load(const std::string& text) {
        std::ofstream(dir_ / "rules.nft") << text;
        run({"-f", dir_ / "rules.nft"});
    }

    std::string listing() { return run({"list", "ruleset"}); }

    nft::Ruleset read() {
        auto rs = nft::read_ruleset();
        EXPECT_TRUE(rs.has_value()) << rs.error().message;
        return rs ? *rs : nft::Ruleset{};
    }

    plumb::test::TempRoot dir_;
};

// Every rule of a representative ruleset; table ip n holds a nat rule and a base chain of priority 10.
const char* const kRepresentative = R"(
table inet t {
    set s {
        type ipv4_addr
        flags interval
        elements = { 10.0.0.0/8, 192.168.1.1 }
    }
    chain other {
    }
    chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        iifname "eth*" accept
        ip saddr 127.0.0.0/8 counter drop
        ip6 saddr ::1 drop
        ct state established,related accept
        ct state invalid drop
        tcp dport 22 accept
        tcp dport { 80, 443 } accept
        udp dport 1000-2000 accept
        ip saddr @s drop
        icmp type echo-request limit rate 5/second accept
        log prefix "x" level info
        reject with icmpx type port-unreachable
        jump other comment "hi"
    }
}
table ip n {
    chain post {
        type nat hook postrouting priority 100; policy accept;
        masquerade
    }
    chain f {
        type filter hook forward priority 10; policy accept;
        ip daddr 192.0.2.1 tcp dport 22 accept
    }
}
)";

TEST_F(Netlink, DecodesRepresentativeRuleset) {
    load(kRepresentative);
    nft::Ruleset rs = read();
    using F = nft::Family;
    using P = nft::Proto;
    using K = nft::Statement::Kind;

    const nft::Table* t = rs.table(F::inet, "t");
    ASSERT_NE(t, nullptr);
    EXPECT_NE(t->handle, 0u);
    const nft::Chain* input = t->chain("input");
    ASSERT_NE(input, nullptr);
    ASSERT_TRUE(input->hook.has_value());
    EXPECT_EQ(input->hook->type, "filter");
    EXPECT_EQ(input->hook->hook, "input");
    EXPECT_EQ(input->hook->priority, 0);
    EXPECT_EQ(input->policy, nft::VerdictKind::drop);
    const nft::Chain* other = t->chain("other");
    ASSERT_NE(other, nullptr);
    EXPECT_FALSE(other->hook.has_value());
    EXPECT_TRUE(other->rules.empty());

    struct Want {
        std::vector<nft::Match> matches;
        std::vector<nft::Statement> statements;
        nft::Verdict verdict;
        std::string comment;
    };
    const std::vector<Want> want = {
        {{field("iif", Op::eq, nft::host(1, 4))}, {}, {nft::VerdictKind::accept, ""}, ""},
        {{masked("iifname", Bytes{0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, Op::eq, nft::ifname_bytes("eth"))},
         {}, {nft::VerdictKind::accept, ""}, ""},
        {deps(F::inet, P::ip, {nft::prefix_match(*nft::field_by_name("ip saddr"), ip4(127, 0, 0, 0), 8)}),
         {stmt(K::counter)}, {nft::VerdictKind::drop, ""}, ""},
        {deps(F::inet, P::ip6, {field("ip6 saddr", Op::eq, Bytes{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})}),
         {}, {nft::VerdictKind::drop, ""}, ""},
        {{masked("ct state", nft::host(6, 4), Op::neq, nft::host(0, 4))}, {}, {nft::VerdictKind::accept, ""}, ""},
        {{masked("ct state", nft::host(1, 4), Op::neq, nft::host(0, 4))}, {}, {nft::VerdictKind::drop, ""}, ""},
        {deps(F::inet, P::tcp, {field("tcp dport", Op::eq, nft::be(22, 2))}), {}, {nft::VerdictKind::accept, ""}, ""},
        {deps(F::inet, P::tcp, {in_set("tcp dport", {{nft::be(80, 2), {}}, {nft::be(443, 2), {}}})}), {}, {nft::VerdictKind::accept, ""}, ""},
        {deps(F::inet, P::udp, {range("udp dport", nft::be(1000, 2), nft::be(2000, 2))}), {}, {nft::VerdictKind::accept, ""}, ""},
        {deps(F::inet, P::ip, {[] {
              nft::Match m = field("ip saddr", Op::in_set, {});
              m.value.clear();
              m.set = "s";
              return m;
          }()}),
         {}, {nft::VerdictKind::drop, ""}, ""},
        {deps(F::inet, P::icmp, {field("icmp type", Op::eq, Bytes{8})}),
         {stmt(K::limit, {{"rate", "5"}, {"unit", "second"}, {"burst", "5"}, {"type", "packets"}})}, {nft::VerdictKind::accept, ""}, ""},
        {{}, {stmt(K::log, {{"prefix", "x"}, {"level", "6"}})}, {}, ""},
        {{}, {stmt(K::reject, {{"type", "icmpx"}, {"code", "1"}})}, {}, ""},
        {{}, {}, {nft::VerdictKind::jump, "other"}, "hi"},
    };
    ASSERT_EQ(input->rules.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        const nft::Rule& r = input->rules[i];
        SCOPED_TRACE("rule " + std::to_string(i) + ": " + dump(r));
        EXPECT_TRUE(r.opaque.empty());
        EXPECT_NE(r.handle, 0u);
        nft::Rule w;
        w.matches = want[i].matches;
        w.statements = want[i].statements;
        w.verdict = want[i].verdict;
        EXPECT_EQ(r.matches, w.matches) << "want " << dump(w);
        EXPECT_EQ(r.statements, w.statements) << "want " << dump(w);
        EXPECT_EQ(r.verdict, w.verdict);
        EXPECT_EQ(r.comment, want[i].comment);
        EXPECT_TRUE(nft::same_rule(r, w)) << "want " << dump(w);
    }

    const nft::Set* s = t->set("s");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->key_type, "ipv4_addr");
    EXPECT_EQ(s->key_len, 4u);
    EXPECT_TRUE(s->flags & 0x4);  // NFT_SET_INTERVAL
    const std::vector<nft::Interval> elements{{ip4(10, 0, 0, 0), ip4(10, 255, 255, 255)}, {ip4(192, 168, 1, 1), {}}};
    EXPECT_EQ(s->elements, elements);
    EXPECT_EQ(t->sets.size(), 1u) << "anonymous sets are inlined, not listed";

    const nft::Table* n = rs.table(F::ip, "n");
    ASSERT_NE(n, nullptr);
    const nft::Chain* post = n->chain("post");
    ASSERT_NE(post, nullptr);
    ASSERT_TRUE(post->hook.has_value());
    EXPECT_EQ(post->hook->type, "nat");
    EXPECT_EQ(post->hook->hook, "postrouting");
    EXPECT_EQ(post->hook->priority, 100);
    ASSERT_EQ(post->rules.size(), 1u);
    EXPECT_NE(post->rules[0].opaque.find("masq"), std::string::npos) << dump(post->rules[0]);
    const nft::Chain* f = n->chain("f");
    ASSERT_NE(f, nullptr);
    ASSERT_TRUE(f->hook.has_value());
    EXPECT_EQ(f->hook->hook, "forward");
    EXPECT_EQ(f->hook->priority, 10);
    EXPECT_EQ(f->policy, nft::VerdictKind::accept);
    ASSERT_EQ(f->rules.size(), 1u);
    // Family ip: no nfproto dependency before ip daddr.
    std::vector<nft::Match> fwant = {field("ip daddr", Op::eq, ip4(192, 0, 2, 1))};
    for (auto& m : deps(F::ip, P::tcp, {field("tcp dport", Op::eq, nft::be(22, 2))})) fwant.push_back(m);
    EXPECT_EQ(f->rules[0].matches, fwant) << dump(f->rules[0]);
}

TEST_F(Netlink, DecodesLessCommonForms) {
    load(R"(
table inet t {
    set m { type mark; flags interval; elements = { 1-5, 7 } }
    set h { type mark; elements = { 1, 7 } }
    chain c {
        meta mark 1-5 accept
        meta mark > 5 accept
        meta mark { 1-5, 10 } accept
        meta mark @m accept
        meta mark != @h accept
        tcp dport != 1000-2000 drop
        ip saddr 10.0.0.0/12 drop
        ip saddr { 10.0.0.1, 200.0.0.0-255.255.255.255 } drop
        iifname { "eth*", "lo" } accept
        ip saddr . tcp dport { 1.2.3.4 . 22 } accept
        ct original ip saddr 1.2.3.4 accept
        tcp dport vmap { 22 : accept }
        meta mark set 1
        counter ip saddr 1.2.3.4 drop
        log group 2
        limit rate over 10 mbytes/second drop
        reject with tcp reset
        ip6 saddr ::1 reject
    }
}
)");
    nft::Ruleset rs = read();
    const nft::Table* t = rs.table(nft::Family::inet, "t");
    ASSERT_NE(t, nullptr);
    const nft::Chain* c = t->chain("c");
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->rules.size(), 18u);
    auto rule = [&](size_t i) -> const nft::Rule& { return c->rules[i]; };
    auto only = [&](size_t i) -> nft::Match {
        EXPECT_EQ(rule(i).matches.size(), 1u) << dump(rule(i));
        EXPECT_TRUE(rule(i).opaque.empty()) << dump(rule(i));
        return rule(i).matches.empty() ? nft::Match{} : rule(i).matches.back();
    };
    // Host-order values stay host order although nft compares them after a byteorder conversion.
    EXPECT_EQ(only(0), range("meta mark", nft::host(1, 4), nft::host(5, 4))) << dump(rule(0));
    EXPECT_EQ(only(1), field("meta mark", Op::gt, nft::host(5, 4))) << dump(rule(1));
    EXPECT_EQ(only(2), in_set("meta mark", {{nft::host(1, 4), nft::host(5, 4)}, {nft::host(10, 4), {}}})) << dump(rule(2));
    EXPECT_EQ(only(3).set, "m");
    EXPECT_EQ(only(4).op, Op::not_in_set);
    const std::vector<nft::Interval> m_elems{{nft::host(1, 4), nft::host(5, 4)}, {nft::host(7, 4), {}}};
    std::vector<nft::Interval> sorted = m_elems;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_NE(t->set("m"), nullptr);
    EXPECT_EQ(t->set("m")->elements, sorted);
    EXPECT_EQ(t->set("m")->key_type, "mark");
    ASSERT_NE(t->set("h"), nullptr);
    std::vector<nft::Interval> h_elems{{nft::host(1, 4), {}}, {nft::host(7, 4), {}}};
    std::sort(h_elems.begin(), h_elems.end());
    EXPECT_EQ(t->set("h")->elements, h_elems);

    EXPECT_EQ(rule(5).matches.back(), range("tcp dport", nft::be(1000, 2), nft::be(2000, 2), Op::not_range)) << dump(rule(5));
    EXPECT_EQ(rule(6).matches.back(), nft::prefix_match(*nft::field_by_name("ip saddr"), ip4(10, 0, 0, 0), 12)) << dump(rule(6));
    EXPECT_EQ(rule(7).matches.back(), in_set("ip saddr", {{ip4(10, 0, 0, 1), {}}, {ip4(200, 0, 0, 0), ip4(255, 255, 255, 255)}}))
        << dump(rule(7));
    Bytes eth_hi = nft::ifname_bytes("eth");
    std::fill(eth_hi.begin() + 3, eth_hi.end(), 0xff);
    EXPECT_EQ(only(8), in_set("iifname", {{nft::ifname_bytes("eth"), eth_hi}, {nft::ifname_bytes("lo"), {}}})) << dump(rule(8));

    EXPECT_NE(rule(9).opaque.find("concatenation"), std::string::npos) << dump(rule(9));
    EXPECT_NE(rule(10).opaque.find("ct original"), std::string::npos) << dump(rule(10));
    EXPECT_NE(rule(11).opaque.find("verdict map"), std::string::npos) << dump(rule(11));
    EXPECT_NE(rule(12).opaque.find("meta set"), std::string::npos) << dump(rule(12));
    EXPECT_NE(rule(13).opaque.find("match after a statement"), std::string::npos) << dump(rule(13));

    using K = nft::Statement::Kind;
    EXPECT_EQ(rule(14).statements, (std::vector<nft::Statement>{stmt(K::log, {{"group", "2"}})})) << dump(rule(14));
    EXPECT_EQ(rule(15).statements,
              (std::vector<nft::Statement>{
                  stmt(K::limit, {{"rate", "10485760"}, {"unit", "second"}, {"burst", "0"}, {"type", "bytes"}, {"over", "1"}})}))
        << dump(rule(15));
    EXPECT_EQ(rule(16).statements, (std::vector<nft::Statement>{stmt(K::reject, {{"type", "tcp-reset"}})})) << dump(rule(16));
    EXPECT_EQ(rule(17).statements, (std::vector<nft::Statement>{stmt(K::reject, {{"type", "icmpv6"}, {"code", "4"}})})) << dump(rule(17));
}

TEST_F(Netlink, EmptyRuleset) {
    nft::Ruleset rs = read();
    EXPECT_TRUE(rs.tables.empty());
}

// ---- commit

nft::Change table_change(nft::Change::Kind k, nft::Family f, const std::string& table) {
    nft::Change c;
    c.kind = k;
    c.family = f;
    c.table = table;
    return c;
}

nft::Change chain_change(nft::Family f, const std::string& table, const nft::Chain& def) {
    nft::Change c = table_change(nft::Change::Kind::add_chain, f, table);
    c.chain_def = def;
    c.chain_def.rules.clear();
    return c;
}

nft::Change rule_change(nft::Change::Kind k, nft::Family f, const std::string& table, const std::string& chain, const nft::Rule& r,
                        uint64_t position = 0) {
    nft::Change c = table_change(k, f, table);
    c.chain = chain;
    c.rule = r;
    c.position = position;
    return c;
}

// Everything plumb can encode, as nft writes it. Named sets are created by nft (commit has no set changes).
const char* const kRoundTripSets = R"(
table inet t {
    set s {
        type ipv4_addr
        flags interval
        elements = { 10.0.0.0/8, 192.168.1.1 }
    }
    set h { type mark; elements = { 1, 7 } }
    set m { type mark; flags interval; elements = { 1-5, 7 } }
}
)";
const char* const kRoundTripChains = R"(
table inet t {
    chain other {
    }
    chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        iifname "eth*" accept
        oifname "wg0" accept
        ip saddr 127.0.0.0/8 counter drop
        ip6 saddr ::1 drop
        ip6 daddr fe80::/64 accept
        ct state established,related accept
        ct state invalid drop
        tcp dport 22 accept
        tcp dport { 80, 443 } accept
        udp dport 1000-2000 accept
        tcp dport != 1000-2000 drop
        ip saddr @s drop
        ip saddr != @s drop
        ip saddr 10.0.0.0/12 drop
        ip saddr { 10.0.0.1, 200.0.0.0-255.255.255.255 } drop
        iifname { "eth*", "lo" } accept
        meta mark 1-5 accept
        meta mark > 5 accept
        meta mark { 1-5, 10 } accept
        meta mark @m accept
        meta mark != @h accept
        tcp flags syn / syn,ack accept
        ip dscp cs1 accept
        icmp type echo-request limit rate 5/second accept
        icmpv6 type { echo-request, nd-neighbor-solicit } accept
        log prefix "x" level info
        log group 2
        log flags all
        limit rate over 10 mbytes/second drop
        reject with icmpx type port-unreachable
        reject with tcp reset
        ip saddr 1.2.3.4 reject
        meta l4proto tcp reject with icmpx type admin-prohibited
        jump other comment "hi"
        goto other
        counter return
        continue
    }
    chain out {
        type filter hook output priority -150; policy accept;
        notrack
    }
}
table ip n {
    chain f {
        type filter hook forward priority 10; policy accept;
        ip daddr 192.0.2.1 tcp dport 22 accept
    }
}
table netdev d {
    chain in {
        type filter hook ingress device "lo" priority -500; policy accept;
        ether type arp accept
    }
}
)";

// The changes that rebuild `rs` (tables, then every chain, then every rule: jumps need their target first).
std::vector<nft::Change> rebuild(const nft::Ruleset& rs, bool tables) {
    std::vector<nft::Change> changes;
    for (const auto& t : rs.tables) {
        if (tables) changes.push_back(table_change(nft::Change::Kind::add_table, t.family, t.name));
        for (const auto& c : t.chains) changes.push_back(chain_change(t.family, t.name, c));
    }
    for (const auto& t : rs.tables)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules) changes.push_back(rule_change(nft::Change::Kind::add_rule, t.family, t.name, c.name, r));
    return changes;
}

TEST_F(Netlink, CommitRoundTrip) {
    load(std::string(kRoundTripSets) + kRoundTripChains);
    const std::string by_nft = listing();
    const nft::Ruleset original = read();
    for (const auto& t : original.tables)
        for (const auto& c : t.chains)
            for (const auto& r : c.rules) EXPECT_TRUE(r.opaque.empty()) << c.name << ": " << dump(r);

    // Rebuild the chains and rules through netlink on top of the sets.
    run({"flush", "ruleset"});
    load(kRoundTripSets);
    load("table ip n {\n}\ntable netdev d {\n}\n");
    auto changes = rebuild(original, false);
    auto done = nft::commit(changes);
    ASSERT_TRUE(done.has_value()) << done.error().message;
    size_t rules = 0;
    for (const auto& c : changes) rules += c.kind == nft::Change::Kind::add_rule;
    EXPECT_EQ(done->rule_handles.size(), rules);

    const nft::Ruleset back = read();
    ASSERT_EQ(back.tables.size(), original.tables.size());
    for (const auto& t : original.tables) {
        const nft::Table* bt = back.table(t.family, t.name);
        ASSERT_NE(bt, nullptr) << t.name;
        EXPECT_EQ(nft::compare_tables(t, *bt, "nft", "plumb"), std::vector<std::string>{});
        for (const auto& c : t.chains) {
            const nft::Chain* bc = bt->chain(c.name);
            ASSERT_NE(bc, nullptr) << c.name;
            EXPECT_EQ(bc->hook, c.hook) << c.name;
            EXPECT_EQ(bc->policy, c.policy) << c.name;
            ASSERT_EQ(bc->rules.size(), c.rules.size()) << c.name;
            for (size_t i = 0; i < c.rules.size(); ++i) {
                EXPECT_TRUE(nft::same_rule(c.rules[i], bc->rules[i])) << c.name << " rule " << i << "\n  nft:   " << dump(c.rules[i])
                                                                      << "\n  plumb: " << dump(bc->rules[i]);
                EXPECT_EQ(c.rules[i].comment, bc->rules[i].comment);
            }
        }
    }
    // nft reads what plumb wrote exactly as what it wrote itself.
    EXPECT_EQ(listing(), by_nft);
}

TEST_F(Netlink, AnonymousIntervalsAreMergedLikeNftDoes) {
    load("table inet t {\n chain c {\n }\n}\n");
    nft::Rule r;
    r.matches = deps(nft::Family::inet, nft::Proto::tcp,
                     {in_set("tcp dport", {{nft::be(1, 2), nft::be(5, 2)},
                                           {nft::be(6, 2), nft::be(10, 2)},
                                           {nft::be(3, 2), nft::be(4, 2)},
                                           {nft::be(20, 2), {}}})});
    r.verdict.kind = nft::VerdictKind::accept;
    nft::Rule dup;
    dup.matches = deps(nft::Family::inet, nft::Proto::tcp,
                       {in_set("tcp dport", {{nft::be(80, 2), {}}, {nft::be(80, 2), {}}, {nft::be(443, 2), {}}})});
    dup.verdict.kind = nft::VerdictKind::accept;
    auto done = nft::commit({rule_change(nft::Change::Kind::add_rule, nft::Family::inet, "t", "c", r),
                             rule_change(nft::Change::Kind::add_rule, nft::Family::inet, "t", "c", dup)});
    ASSERT_TRUE(done.has_value()) << done.error().message;
    nft::Ruleset rs = read();
    const nft::Chain* c = rs.table(nft::Family::inet, "t")->chain("c");
    ASSERT_EQ(c->rules.size(), 2u);
    EXPECT_EQ(c->rules[0].matches.back(), in_set("tcp dport", {{nft::be(1, 2), nft::be(10, 2)}, {nft::be(20, 2), {}}})) << dump(c->rules[0]);
    EXPECT_EQ(c->rules[1].matches.back(), in_set("tcp dport", {{nft::be(80, 2), {}}, {nft::be(443, 2), {}}})) << dump(c->rules[1]);
    const std::string listed = listing();
    EXPECT_NE(listed.find("tcp dport { 1-10, 20 } accept"), std::string::npos) << listed;
    EXPECT_NE(listed.find("tcp dport { 80, 443 } accept"), std::string::npos) << listed;
}

TEST_F(Netlink, CommitCreatesTablesAndEchoesHandles) {
    nft::Chain input;
    input.name = "input";
    input.hook = nft::Hook{"filter", "input", 0, ""};
    input.policy = nft::VerdictKind::accept;
    nft::Rule a;
    a.matches = {field("iif", Op::eq, nft::host(1, 4))};
    a.verdict.kind = nft::VerdictKind::accept;
    a.comment = "loopback";
    nft::Rule b;
    b.matches = deps(nft::Family::inet, nft::Proto::tcp, {field("tcp dport", Op::eq, nft::be(22, 2))});
    b.statements = {stmt(nft::Statement::Kind::counter)};
    b.verdict.kind = nft::VerdictKind::accept;
    auto done = nft::commit({table_change(nft::Change::Kind::add_table, nft::Family::inet, "plumb"), chain_change(nft::Family::inet, "plumb", input),
                             rule_change(nft::Change::Kind::add_rule, nft::Family::inet, "plumb", "input", a),
                             rule_change(nft::Change::Kind::add_rule, nft::Family::inet, "plumb", "input", b)});
    ASSERT_TRUE(done.has_value()) << done.error().message;
    ASSERT_EQ(done->rule_handles.size(), 2u);
    EXPECT_NE(done->rule_handles[0], 0u);
    EXPECT_NE(done->rule_handles[1], 0u);
    EXPECT_NE(done->rule_handles[0], done->rule_handles[1]);

    nft::Ruleset rs = read();
    const nft::Chain* c = rs.table(nft::Family::inet, "plumb") ? rs.table(nft::Family::inet, "plumb")->chain("input") : nullptr;
    ASSERT_NE(c, nullptr);
    ASSERT_EQ(c->rules.size(), 2u);
    EXPECT_EQ(c->rules[0].handle, done->rule_handles[0]);
    EXPECT_EQ(c->rules[1].handle, done->rule_handles[1]);
    EXPECT_EQ(c->rules[0].comment, "loopback");
    EXPECT_TRUE(nft::same_rule(c->rules[1], b)) << dump(c->rules[1]);
    // nft -a shows the same handles.
    const std::string listed = run({"-a", "list", "chain", "inet", "plumb", "input"});
    EXPECT_NE(listed.find("iif \"lo\" accept comment \"loopback\" # handle " + std::to_string(done->rule_handles[0])), std::string::npos) << listed;
    EXPECT_NE(listed.find("tcp dport 22 counter packets 0 bytes 0 accept # handle " + std::to_string(done->rule_handles[1])), std::string::npos)
        << listed;
    // add_table / add_chain are idempotent like `nft add`.
    auto again = nft::commit({table_change(nft::Change::Kind::add_table, nft::Family::inet, "plumb"),
                              chain_change(nft::Family::inet, "plumb", input)});
    EXPECT_TRUE(again.has_value()) << again.error().message;
}

// A rule that accepts tcp dport `port`, to tell rules apart by position.
nft::Rule port_rule(uint16_t port) {
    nft::Rule r;
    r.matches = deps(nft::Family::inet, nft::Proto::tcp, {field("tcp dport", Op::eq, nft::be(port, 2))});
    r.verdict.kind = nft::VerdictKind::accept;
    return r;
}

std::vector<uint16_t> ports(const nft::Chain& c) {
    std::vector<uint16_t> out;
    for (const auto& r : c.rules) {
        const Bytes& v = r.matches.back().value;
        out.push_back(static_cast<uint16_t>(v.size() == 2 ? (v[0] << 8 | v[1]) : 0));
    }
    return out;
}

TEST_F(Netlink, InsertAndAppendOrder) {
    load("table inet t {\n chain c {\n }\n}\n");
    using K = nft::Change::Kind;
    auto first = nft::commit({rule_change(K::add_rule, nft::Family::inet, "t", "c", port_rule(1)),
                              rule_change(K::add_rule, nft::Family::inet, "t", "c", port_rule(2)),
                              rule_change(K::insert_rule, nft::Family::inet, "t", "c", port_rule(3))});
    ASSERT_TRUE(first.has_value()) << first.error().message;
    const uint64_t h1 = first->rule_handles[0], h2 = first->rule_handles[1];
    auto second = nft::commit({rule_change(K::add_rule, nft::Family::inet, "t", "c", port_rule(4), h1),     // after 1
                               rule_change(K::insert_rule, nft::Family::inet, "t", "c", port_rule(5), h2)});  // before 2
    ASSERT_TRUE(second.has_value()) << second.error().message;
    nft::Ruleset rs = read();
    const nft::Chain* c = rs.table(nft::Family::inet, "t")->chain("c");
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(ports(*c), (std::vector<uint16_t>{3, 1, 4, 5, 2}));

    // delete_rule by handle, then the whole table.
    auto del = nft::commit({table_change(K::delete_rule, nft::Family::inet, "t")});
    EXPECT_FALSE(del.has_value()) << "a delete_rule without chain and handle is invalid";
    nft::Change d = table_change(K::delete_rule, nft::Family::inet, "t");
    d.chain = "c";
    d.handle = h1;
    ASSERT_TRUE(nft::commit({d}).has_value());
    rs = read();
    EXPECT_EQ(ports(*rs.table(nft::Family::inet, "t")->chain("c")), (std::vector<uint16_t>{3, 4, 5, 2}));
    // delete_table takes its chains and rules with it.
    ASSERT_TRUE(nft::commit({table_change(K::delete_table, nft::Family::inet, "t")}).has_value());
    EXPECT_TRUE(read().tables.empty());
}

TEST_F(Netlink, DeleteChain) {
    load("table inet t {\n chain a {\n }\n chain b {\n }\n}\n");
    nft::Change c = table_change(nft::Change::Kind::delete_chain, nft::Family::inet, "t");
    c.chain = "a";
    auto done = nft::commit({c});
    ASSERT_TRUE(done.has_value()) << done.error().message;
    nft::Ruleset rs = read();
    ASSERT_NE(rs.table(nft::Family::inet, "t"), nullptr);
    EXPECT_EQ(rs.table(nft::Family::inet, "t")->chain("a"), nullptr);
    EXPECT_NE(rs.table(nft::Family::inet, "t")->chain("b"), nullptr);
}

TEST_F(Netlink, SetPolicy) {
    load("table inet t {\n chain input {\n  type filter hook input priority 0; policy accept;\n  tcp dport 22 accept\n }\n}\n");
    nft::Change c = table_change(nft::Change::Kind::set_policy, nft::Family::inet, "t");
    c.chain = "input";
    c.policy = nft::VerdictKind::drop;
    auto done = nft::commit({c});
    ASSERT_TRUE(done.has_value()) << done.error().message;
    nft::Ruleset rs = read();
    const nft::Chain* input = rs.table(nft::Family::inet, "t")->chain("input");
    ASSERT_NE(input, nullptr);
    EXPECT_EQ(input->policy, nft::VerdictKind::drop);
    ASSERT_TRUE(input->hook.has_value());
    EXPECT_EQ(input->hook->hook, "input");
    EXPECT_EQ(input->rules.size(), 1u) << "the chain keeps its rules";
    EXPECT_NE(listing().find("policy drop;"), std::string::npos);
}

TEST_F(Netlink, FailedBatchChangesNothing) {
    load(kRepresentative);
    const std::string before = listing();
    using K = nft::Change::Kind;
    nft::Rule jump;
    jump.verdict = {nft::VerdictKind::jump, "nowhere"};
    // Change 2 is refused (its jump target does not exist): changes 0 and 1 must not stay applied.
    auto refused = nft::commit({rule_change(K::insert_rule, nft::Family::inet, "t", "input", port_rule(8080)),
                                table_change(K::add_table, nft::Family::ip, "extra"),
                                rule_change(K::add_rule, nft::Family::inet, "t", "input", jump),
                                rule_change(K::add_rule, nft::Family::inet, "t", "input", port_rule(8081))});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ENOENT) << refused.error().message;
    EXPECT_NE(refused.error().message.find("change 2 (add_rule inet t input)"), std::string::npos) << refused.error().message;
    EXPECT_EQ(listing(), before);

    // A later change into a table that does not exist.
    auto missing = nft::commit({table_change(K::add_table, nft::Family::inet, "fresh"),
                                rule_change(K::add_rule, nft::Family::inet, "absent", "input", port_rule(1))});
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, ENOENT) << missing.error().message;
    EXPECT_NE(missing.error().message.find("change 1 (add_rule inet absent input)"), std::string::npos) << missing.error().message;
    EXPECT_EQ(listing(), before);

    // Deleting a chain that rules still jump to.
    nft::Change busy = table_change(K::delete_chain, nft::Family::inet, "t");
    busy.chain = "other";
    auto in_use = nft::commit({rule_change(K::add_rule, nft::Family::inet, "t", "input", port_rule(2)), busy});
    ASSERT_FALSE(in_use.has_value());
    EXPECT_EQ(in_use.error().code, EBUSY) << in_use.error().message;
    EXPECT_NE(in_use.error().message.find("change 1 (delete_chain inet t other)"), std::string::npos) << in_use.error().message;
    EXPECT_EQ(listing(), before);
}

TEST_F(Netlink, UnencodableRulesAreRefusedBeforeSending) {
    load(kRepresentative);
    const std::string before = listing();
    nft::Ruleset rs = read();
    const nft::Rule& masq = rs.table(nft::Family::ip, "n")->chain("post")->rules.at(0);
    ASSERT_FALSE(masq.opaque.empty());
    using K = nft::Change::Kind;
    auto refused = nft::commit({rule_change(K::add_rule, nft::Family::inet, "t", "input", port_rule(1)),
                                rule_change(K::add_rule, nft::Family::ip, "n", "post", masq)});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, EINVAL);
    EXPECT_NE(refused.error().message.find("change 1"), std::string::npos) << refused.error().message;

    nft::Rule other;
    other.statements = {stmt(nft::Statement::Kind::other, {{"expr", "quota"}})};
    auto other_refused = nft::commit({rule_change(K::add_rule, nft::Family::inet, "t", "input", other)});
    ASSERT_FALSE(other_refused.has_value());
    EXPECT_EQ(other_refused.error().code, EINVAL);

    nft::Rule wrong_width;
    wrong_width.matches = {field("tcp dport", Op::eq, nft::be(22, 2))};
    wrong_width.matches[0].value = {0, 0, 22};
    auto width_refused = nft::commit({rule_change(K::add_rule, nft::Family::inet, "t", "input", wrong_width)});
    ASSERT_FALSE(width_refused.has_value());
    EXPECT_EQ(width_refused.error().code, EINVAL);
    EXPECT_EQ(listing(), before);
}

TEST_F(Netlink, ReadsLargeRulesetInOneDump) {
    // Enough rules to span many dump datagrams, with anonymous sets every tenth rule.
    std::string text = "table inet big {\n chain c {\n";
    for (int i = 0; i < 3000; ++i) {
        if (i % 10 == 0) text += "  tcp dport { " + std::to_string(1000 + i) + ", " + std::to_string(40000 + i) + " } accept\n";
        else text += "  ip saddr 10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24 counter drop\n";
    }
    text += " }\n}\n";
    load(text);
    nft::Ruleset rs = read();
    const nft::Table* t = rs.table(nft::Family::inet, "big");
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->chain("c")->rules.size(), 3000u);
    const auto& r10 = t->chain("c")->rules[10];
    ASSERT_EQ(r10.matches.size(), 2u) << dump(r10);
    EXPECT_EQ(r10.matches[1], in_set("tcp dport", {{nft::be(1010, 2), {}}, {nft::be(40010, 2), {}}}));
    const auto& r11 = t->chain("c")->rules[11];
    EXPECT_EQ(r11.matches.back(), nft::prefix_match(*nft::field_by_name("ip saddr"), ip4(10, 0, 11, 0), 24)) << dump(r11);
}

// Reads while another thread keeps changing the ruleset: each read either is consistent (one generation) or, after
// its retries, fails with EAGAIN; the dump pipeline survives dumps the kernel interrupts.
TEST_F(Netlink, ReadsStayConsistentWhileTheRulesetChanges) {
    std::string text = "table inet big {\n chain c {\n";
    for (int i = 0; i < 2000; ++i)
        text += "  ip saddr 10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".1 tcp dport " +
                (i % 50 ? "22" : "{ 22, 80 }") + " accept\n";
    text += " }\n}\n";
    load(text);
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::string writer_error;
    std::thread writer([&] {
        using K = nft::Change::Kind;
        while (!stop) {
            auto added = nft::commit({rule_change(K::insert_rule, nft::Family::inet, "big", "c", port_rule(9))});
            if (!added) {
                writer_error = added.error().message;
                return;
            }
            nft::Change d = table_change(K::delete_rule, nft::Family::inet, "big");
            d.chain = "c";
            d.handle = added->rule_handles.at(0);
            if (auto r = nft::commit({d}); !r) {
                writer_error = r.error().message;
                return;
            }
            ++commits;
            // Often enough to interrupt many dumps, not so often that no read can complete in its 5 attempts.
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
    });
    int consistent = 0;
    for (int i = 0; i < 30; ++i) {
        auto rs = nft::read_ruleset();
        if (!rs) {
            EXPECT_EQ(rs.error().code, EAGAIN) << rs.error().message;
            continue;
        }
        const nft::Table* t = rs->table(nft::Family::inet, "big");
        ASSERT_NE(t, nullptr);
        const size_t n = t->chain("c")->rules.size();
        EXPECT_TRUE(n == 2000 || n == 2001) << n;
        for (const auto& r : t->chain("c")->rules) ASSERT_TRUE(r.opaque.empty()) << dump(r);
        ++consistent;
    }
    stop = true;
    writer.join();
    EXPECT_EQ(writer_error, "");
    EXPECT_GT(commits.load(), 0);
    EXPECT_GT(consistent, 0);
}

// ---- the scoped read

const char* const kScoped = R"(
table inet t {
    set ports {
        type inet_service
        elements = { 22, 443 }
    }
    chain deeper {
        udp dport 53 accept
        tcp dport { 8080, 8443 } accept
    }
    chain via_input {
        tcp dport @ports accept
        goto deeper
    }
    chain via_forward {
        tcp dport 80 accept
    }
    chain via_nat {
        tcp dport 81 accept
    }
    chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        ct state established,related accept
        jump via_input comment "to via_input"
    }
    chain output {
        type filter hook output priority 0; policy accept;
        ct state established accept
    }
    chain forward {
        type filter hook forward priority 0; policy drop;
        jump via_forward
        jump via_input
    }
    chain pre {
        type nat hook prerouting priority -100; policy accept;
        jump via_nat
    }
}
table ip other {
    chain in2 {
        type filter hook input priority 10; policy accept;
        ip saddr 192.0.2.1 drop
    }
    chain fw2 {
        type filter hook forward priority 0; policy accept;
        counter
    }
}
)";

// Everything but the rules of unread chains is as the full read gives it; the rules of read chains are equal (handles
// and comments too); unread chains have no rules.
void expect_scoped_matches_full(const nft::ScopedRuleset& scoped, const nft::Ruleset& full) {
    ASSERT_EQ(scoped.ruleset.tables.size(), full.tables.size());
    for (size_t ti = 0; ti < full.tables.size(); ++ti) {
        const nft::Table& f = full.tables[ti];
        const nft::Table& s = scoped.ruleset.tables[ti];
        EXPECT_EQ(s.family, f.family);
        EXPECT_EQ(s.name, f.name);
        EXPECT_EQ(s.handle, f.handle);
        ASSERT_EQ(s.sets.size(), f.sets.size()) << f.name;
        for (size_t i = 0; i < f.sets.size(); ++i) {
            EXPECT_EQ(s.sets[i].name, f.sets[i].name);
            EXPECT_EQ(s.sets[i].elements, f.sets[i].elements) << f.sets[i].name;
        }
        ASSERT_EQ(s.chains.size(), f.chains.size()) << f.name;
        for (size_t ci = 0; ci < f.chains.size(); ++ci) {
            const nft::Chain& fc = f.chains[ci];
            const nft::Chain& sc = s.chains[ci];
            EXPECT_EQ(sc.name, fc.name);
            EXPECT_EQ(sc.hook, fc.hook) << fc.name;
            EXPECT_EQ(sc.policy, fc.policy) << fc.name;
            EXPECT_EQ(sc.handle, fc.handle) << fc.name;
            if (!scoped.rules_read(f.family, f.name, fc.name)) {
                EXPECT_TRUE(sc.rules.empty()) << fc.name;
                continue;
            }
            ASSERT_EQ(sc.rules.size(), fc.rules.size()) << fc.name;
            for (size_t i = 0; i < fc.rules.size(); ++i) {
                EXPECT_TRUE(nft::same_rule(sc.rules[i], fc.rules[i])) << fc.name << " rule " << i << ": " << dump(sc.rules[i]) << " vs " << dump(fc.rules[i]);
                EXPECT_EQ(sc.rules[i].handle, fc.rules[i].handle);
                EXPECT_EQ(sc.rules[i].comment, fc.rules[i].comment);
            }
        }
    }
}

TEST_F(Netlink, ScopedReadFollowsJumpsFromTheScopedHooksOnly) {
    load(kScoped);
    const nft::Ruleset full = read();
    auto scoped = nft::read_ruleset(nft::ReadScope{{"input", "output"}});
    ASSERT_TRUE(scoped.has_value()) << scoped.error().message;
    using F = nft::Family;
    // Base filter chains on input/output in every table, via_input (jump from input), deeper (goto from via_input);
    // not via_forward (only forward jumps there), not via_nat (only a nat chain), not forward, pre or fw2.
    const std::vector<nft::ChainRef> expected{
        {F::inet, "t", "deeper"}, {F::inet, "t", "input"}, {F::inet, "t", "output"}, {F::inet, "t", "via_input"}, {F::ip, "other", "in2"}};
    std::vector<nft::ChainRef> got = scoped->chains_read;
    std::sort(got.begin(), got.end());
    std::vector<nft::ChainRef> want = expected;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_TRUE(scoped->rules_read(F::inet, "t", "deeper"));
    EXPECT_FALSE(scoped->rules_read(F::inet, "t", "via_forward"));
    EXPECT_FALSE(scoped->rules_read(F::ip, "t", "input"));
    const nft::Table* t = scoped->ruleset.table(F::inet, "t");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->chain("deeper")->rules.size(), 2u);
    EXPECT_TRUE(t->chain("via_forward")->rules.empty());
    EXPECT_TRUE(t->chain("forward")->rules.empty());
    ASSERT_TRUE(t->chain("forward")->hook.has_value());
    EXPECT_EQ(t->chain("forward")->policy, nft::VerdictKind::drop);
    expect_scoped_matches_full(*scoped, full);

    // The probe walks on the scoped hooks agree with the full read.
    for (F f : {F::ip, F::ip6})
        for (const auto& [probe, hook] : std::vector<std::pair<nft::Packet, const char*>>{
                 {nft::probe_loopback(f), "input"}, {nft::probe_new_tcp(f, 22), "input"}, {nft::probe_new_tcp(f, 8443), "input"},
                 {nft::probe_new_tcp(f, 80), "input"}, {nft::probe_established(f), "input"}, {nft::probe_reply_out(f, 22), "output"}}) {
            const nft::Decision a = nft::decide(full, probe, hook), b = nft::decide(scoped->ruleset, probe, hook);
            EXPECT_EQ(a.fate, b.fate) << probe.describe();
            EXPECT_EQ(a.by, b.by) << probe.describe();
        }

    // forward reaches via_forward and via_input (and deeper through it), not input or output.
    auto fwd = nft::read_ruleset(nft::ReadScope{{"forward"}});
    ASSERT_TRUE(fwd.has_value()) << fwd.error().message;
    std::vector<nft::ChainRef> fwd_want{{F::inet, "t", "deeper"}, {F::inet, "t", "forward"}, {F::inet, "t", "via_forward"},
                                        {F::inet, "t", "via_input"}, {F::ip, "other", "fw2"}};
    std::sort(fwd_want.begin(), fwd_want.end());
    EXPECT_EQ(fwd->chains_read, fwd_want);
    expect_scoped_matches_full(*fwd, full);

    // No hooks: tables, chains and sets only.
    auto none = nft::read_ruleset(nft::ReadScope{});
    ASSERT_TRUE(none.has_value()) << none.error().message;
    EXPECT_TRUE(none->chains_read.empty());
    expect_scoped_matches_full(*none, full);

    // All hooks in use: every chain but the nat base chain (only type filter is scoped) and what only it jumps to.
    auto all = nft::read_ruleset(nft::ReadScope{{"input", "output", "forward", "prerouting"}});
    ASSERT_TRUE(all.has_value()) << all.error().message;
    EXPECT_EQ(all->chains_read.size(), 8u);
    EXPECT_FALSE(all->rules_read(F::inet, "t", "pre"));
    EXPECT_FALSE(all->rules_read(F::inet, "t", "via_nat"));
    expect_scoped_matches_full(*all, full);
}

TEST_F(Netlink, ScopedReadOfALargeChainEqualsTheFullRead) {
    std::string text = "table inet big {\n chain sub {\n";
    for (int i = 0; i < 1500; ++i) text += "  tcp dport " + std::to_string(1000 + i) + " counter accept\n";
    text += " }\n chain input {\n  type filter hook input priority 0; policy drop;\n";
    for (int i = 0; i < 3000; ++i) {
        if (i % 10 == 0) text += "  tcp dport { " + std::to_string(1000 + i) + ", " + std::to_string(40000 + i) + " } accept\n";
        else text += "  ip saddr 10." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + ".0/24 counter drop\n";
    }
    text += "  jump sub\n }\n}\n";
    load(text);
    const nft::Ruleset full = read();
    auto scoped = nft::read_ruleset(nft::ReadScope{{"input"}});
    ASSERT_TRUE(scoped.has_value()) << scoped.error().message;
    EXPECT_EQ(scoped->chains_read.size(), 2u);
    ASSERT_EQ(scoped->ruleset.table(nft::Family::inet, "big")->chain("input")->rules.size(), 3001u);
    ASSERT_EQ(scoped->ruleset.table(nft::Family::inet, "big")->chain("sub")->rules.size(), 1500u);
    expect_scoped_matches_full(*scoped, full);
}

// The per-chain dumps of a scoped read are of one generation: a writer changes two chains in one batch (a rule added
// to both, then removed from both) while the reads run; every read sees both changes or neither.
TEST_F(Netlink, ScopedReadsAreOfOneGeneration) {
    std::string text = "table inet big {\n chain c {\n";
    for (int i = 0; i < 1000; ++i) text += "  ip saddr 10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + " tcp dport 22 accept\n";
    text += " }\n chain input {\n  type filter hook input priority 0; policy drop;\n";
    for (int i = 0; i < 1000; ++i) text += "  ip saddr 10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256) + " tcp dport 22 accept\n";
    text += "  jump c\n }\n}\n";
    load(text);
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::string writer_error;
    std::thread writer([&] {
        using K = nft::Change::Kind;
        while (!stop) {
            auto added = nft::commit({rule_change(K::insert_rule, nft::Family::inet, "big", "input", port_rule(9)),
                                      rule_change(K::add_rule, nft::Family::inet, "big", "c", port_rule(9))});
            if (!added) {
                writer_error = added.error().message;
                return;
            }
            // Long enough for reads to see the added rules, rarely enough that reads (slow under ASan) complete.
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
            nft::Change d1 = table_change(K::delete_rule, nft::Family::inet, "big"), d2 = d1;
            d1.chain = "input";
            d1.handle = added->rule_handles.at(0);
            d2.chain = "c";
            d2.handle = added->rule_handles.at(1);
            if (auto r = nft::commit({d1, d2}); !r) {
                writer_error = r.error().message;
                return;
            }
            ++commits;
            std::this_thread::sleep_for(std::chrono::milliseconds(150));
        }
    });
    int consistent = 0, with = 0;
    for (int i = 0; i < 30; ++i) {
        auto rs = nft::read_ruleset(nft::ReadScope{{"input"}});
        if (!rs) {
            EXPECT_EQ(rs.error().code, EAGAIN) << rs.error().message;
            continue;
        }
        const nft::Table* t = rs->ruleset.table(nft::Family::inet, "big");
        ASSERT_NE(t, nullptr);
        const size_t in = t->chain("input")->rules.size(), c = t->chain("c")->rules.size();
        EXPECT_TRUE((in == 1001 && c == 1000) || (in == 1002 && c == 1001)) << in << " " << c;
        with += in == 1002;
        ++consistent;
    }
    stop = true;
    writer.join();
    EXPECT_EQ(writer_error, "");
    EXPECT_GT(commits.load(), 0);
    EXPECT_GT(consistent, 0);
    std::printf("scoped reads: %d consistent (%d with the added rules), %d commits\n", consistent, with, commits.load());
}

// What the kernel holds after `nft -f file`, decoded, is what the text parser makes of the file: the comparison the
// persistence check relies on.
TEST_F(Netlink, DecodedRulesetEqualsParsedFile) {
    // Left out: `iifname { "eth*", "lo" }` -- the kernel holds "eth*" as the interval eth..eth\xff.., which the text
    // parser does not (yet) produce for a wildcard inside a set.
    std::string chains = kRoundTripChains;
    const std::string wildcard_set = "        iifname { \"eth*\", \"lo\" } accept\n";
    ASSERT_NE(chains.find(wildcard_set), std::string::npos);
    chains.erase(chains.find(wildcard_set), wildcard_set.size());
    for (const std::string& text : {std::string(kRepresentative), std::string(kRoundTripSets) + chains}) {
        run({"flush", "ruleset"});
        load(text);
        const nft::Ruleset live = read();
        auto parsed = nft::parse_text(text, "fixture.nft");
        ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
        ASSERT_EQ(parsed->ruleset.tables.size(), live.tables.size());
        for (const auto& t : live.tables) {
            const nft::Table* p = parsed->ruleset.table(t.family, t.name);
            ASSERT_NE(p, nullptr) << t.name;
            std::vector<std::string> diffs = nft::compare_tables(t, *p, "kernel", "file");
            // Opaque rules never compare equal; everything else must.
            std::erase_if(diffs, [](const std::string& d) { return d.find("cannot be compared") != std::string::npos; });
            EXPECT_EQ(diffs, std::vector<std::string>{}) << t.name;
        }
    }
}

}  // namespace
