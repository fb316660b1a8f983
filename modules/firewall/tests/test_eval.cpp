// The packet walk behind the nftables checks, on rulesets written in nft syntax (parsed by text.cpp, so these
// tests need no kernel).
#include <gtest/gtest.h>

#include <string>

#include "eval.hpp"
#include "nft_plan.hpp"
#include "text.hpp"

using namespace plumb::firewall::nft;
namespace fw = plumb::firewall;

namespace {

Ruleset parse(const std::string& text) {
    auto parsed = parse_text(text, "test.nft");
    EXPECT_TRUE(parsed.has_value()) << (parsed ? "" : parsed.error().message);
    return parsed ? parsed->ruleset : Ruleset{};
}

const char* const kCis = R"(table inet filter {
	chain input {
		type filter hook input priority filter; policy drop;
		iif "lo" accept
		ip saddr 127.0.0.0/8 counter packets 0 bytes 0 drop
		ip6 saddr ::1 counter packets 0 bytes 0 drop
		ct state established,related accept
		tcp dport 22 accept
	}
	chain forward {
		type filter hook forward priority filter; policy drop;
	}
	chain output {
		type filter hook output priority filter; policy drop;
		oif "lo" accept
		ct state established,related accept
	}
}
)";

}  // namespace

TEST(NftEval, NoBaseChainAcceptsEverything) {
    Ruleset rs;
    Decision d = decide(rs, probe_new_tcp(Family::ip, 80));
    EXPECT_EQ(d.fate, Fate::accept);
    EXPECT_NE(d.by.find("no base chain"), std::string::npos) << d.by;
}

TEST(NftEval, CisRulesetDecidesEveryProbe) {
    Ruleset rs = parse(kCis);
    for (Family f : {Family::ip, Family::ip6}) {
        EXPECT_EQ(decide(rs, probe_loopback(f)).fate, Fate::accept);
        EXPECT_EQ(decide(rs, probe_forged_loopback(f)).fate, Fate::drop);
        EXPECT_EQ(decide(rs, probe_established(f)).fate, Fate::accept);
        EXPECT_EQ(decide(rs, probe_new_tcp(f, 22)).fate, Fate::accept);
        Decision web = decide(rs, probe_new_tcp(f, 80));
        EXPECT_EQ(web.fate, Fate::drop);
        EXPECT_NE(web.by.find("policy drop of chain inet filter input"), std::string::npos) << web.by;
        EXPECT_EQ(decide(rs, probe_reply_out(f, 22), "output").fate, Fate::accept);
        EXPECT_EQ(decide(rs, probe_loopback_out(f), "output").fate, Fate::accept);
        EXPECT_EQ(decide(rs, probe_new_tcp(f, 80), "output").fate, Fate::drop);
    }
    Decision forged = decide(rs, probe_forged_loopback(Family::ip));
    EXPECT_NE(forged.by.find("rule 2 of chain inet filter input"), std::string::npos) << forged.by;
}

TEST(NftEval, EveryBaseChainOfTheHookMustAccept) {
    // An accept ends one base chain only: the drop of a later table still drops.
    Ruleset rs = parse(R"(table inet a {
	chain in {
		type filter hook input priority -10; policy accept;
		tcp dport 22 accept
	}
}
table ip b {
	chain in {
		type filter hook input priority 10; policy accept;
		tcp dport 22 drop
	}
}
)");
    Decision d = decide(rs, probe_new_tcp(Family::ip, 22));
    EXPECT_EQ(d.fate, Fate::drop);
    EXPECT_NE(d.by.find("chain ip b in"), std::string::npos) << d.by;
    // An ip table does not see IPv6.
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip6, 22)).fate, Fate::accept);
}

TEST(NftEval, JumpReturnAndGoto) {
    Ruleset rs = parse(R"(table inet f {
	chain input {
		type filter hook input priority filter; policy drop;
		tcp dport 22 jump ssh
		tcp dport 23 goto telnet
		tcp dport 23 accept
	}
	chain ssh {
		ip saddr 192.0.2.0/24 accept
		return
	}
	chain telnet {
		ip saddr 203.0.113.0/24 accept
	}
}
)");
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 22)).fate, Fate::accept);  // 192.0.2.10 is in the admin network
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip6, 22)).fate, Fate::drop);   // returns, then the policy
    // goto does not come back: the accept after it is never reached.
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 23)).fate, Fate::drop);
}

TEST(NftEval, SetsRangesAndWildcards) {
    Ruleset rs = parse(R"(table inet f {
	set admins {
		type ipv4_addr
		flags interval
		elements = { 192.0.2.0/24, 198.51.100.7 }
	}
	chain input {
		type filter hook input priority filter; policy drop;
		iifname "eth*" accept
		ip saddr @admins tcp dport { 22, 2222 } accept
		tcp dport 8000-8100 accept
		iifname "plumb*" udp dport 53 accept
	}
}
)");
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 22)).fate, Fate::accept);
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 2222)).fate, Fate::accept);
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 2223)).fate, Fate::drop);
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 8050)).fate, Fate::accept);
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 8101)).fate, Fate::drop);
    Packet dns = probe_new_tcp(Family::ip, 53);
    dns.l4proto = 17;
    EXPECT_EQ(decide(rs, dns).fate, Fate::accept);
    Packet eth = probe_new_tcp(Family::ip, 9);
    eth.iifname = "eth0";
    EXPECT_EQ(decide(rs, eth).fate, Fate::accept);
}

TEST(NftEval, WhatCannotBeEvaluatedIsUndecidableNotGuessed) {
    Ruleset rs = parse(R"(table inet f {
	chain input {
		type filter hook input priority filter; policy accept;
		meta skuid 0 drop
	}
}
)");
    Decision d = decide(rs, probe_new_tcp(Family::ip, 22));
    EXPECT_EQ(d.fate, Fate::unknown);
    EXPECT_NE(d.by.find("cannot evaluate"), std::string::npos) << d.by;
    // A rule that cannot match the probe (wrong protocol) does not make it undecidable.
    Ruleset udp = parse(R"(table inet f {
	chain input {
		type filter hook input priority filter; policy accept;
		udp dport 53 meta skuid 0 drop
	}
}
)");
    EXPECT_EQ(decide(udp, probe_new_tcp(Family::ip, 22)).fate, Fate::accept);
}

TEST(NftEval, RateLimitsAndRejects) {
    Ruleset rs = parse(R"(table inet f {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 22 limit rate over 10/second drop
		tcp dport 23 reject with tcp reset
	}
}
)");
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 22)).fate, Fate::accept);  // one probe stays under any limit
    EXPECT_EQ(decide(rs, probe_new_tcp(Family::ip, 23)).fate, Fate::drop);
}

TEST(NftPlan, DefaultDenyPlanKeepsTheOperatorIn) {
    Ruleset rs = parse(R"(table inet filter {
	chain input {
		type filter hook input priority filter; policy accept;
		tcp dport 80 accept
	}
}
)");
    fw::Where w;
    fw::LockoutGuard g;
    // Without access rules, dropping by default would cut ssh off: the guard says so.
    Ruleset dropped = rs;
    for (const auto& s : fw::ensure_policy(dropped, w, "input", VerdictKind::drop)) ASSERT_TRUE(fw::apply_step(dropped, s));
    auto problem = fw::lockout_problem(dropped, g);
    ASSERT_TRUE(problem.has_value());
    EXPECT_NE(problem->find("management port"), std::string::npos) << *problem;
    // ensure_access on the dropping ruleset adds loopback, established and ssh at the head, in that order.
    auto steps = fw::ensure_access(dropped, w, g);
    ASSERT_EQ(steps.size(), 3u);
    for (const auto& s : steps) ASSERT_TRUE(fw::apply_step(dropped, s));
    EXPECT_FALSE(fw::lockout_problem(dropped, g).has_value());
    const Chain* input = dropped.table(Family::inet, "filter")->chain("input");
    ASSERT_EQ(input->rules.size(), 4u);
    EXPECT_EQ(print_rule(input->rules[0], Family::inet), "iif \"lo\" accept comment \"plumb: loopback\"");
    EXPECT_EQ(print_rule(input->rules[1], Family::inet), "ct state established,related accept comment \"plumb: established connections\"");
    EXPECT_EQ(print_rule(input->rules[2], Family::inet), "tcp dport 22 accept comment \"plumb: management port\"");
    EXPECT_EQ(print_rule(input->rules[3], Family::inet), "tcp dport 80 accept");
}

TEST(NftPlan, GuardSeesDropsInOtherTables) {
    Ruleset rs = parse(std::string(kCis) + R"(table ip other {
	chain in {
		type filter hook input priority 100; policy accept;
		tcp dport 22 drop
	}
}
)");
    auto problem = fw::lockout_problem(rs, fw::LockoutGuard{});
    ASSERT_TRUE(problem.has_value());
    EXPECT_NE(problem->find("chain ip other in"), std::string::npos) << *problem;
}

TEST(NftPlan, StepsRoundTripThroughJsonAndUndo) {
    Ruleset rs = parse(kCis);
    const Ruleset before = rs;
    fw::Where w;
    std::vector<fw::Step> steps = fw::ensure_base_chains(Ruleset{}, w, {"input"});
    ASSERT_EQ(steps.size(), 2u);  // table and chain
    auto loop = fw::ensure_loopback(Ruleset{}, w, true);
    EXPECT_TRUE(loop.empty());  // no input chain yet in that ruleset: nothing to insert into
    Ruleset fresh;
    for (const auto& s : steps) ASSERT_TRUE(fw::apply_step(fresh, s));
    loop = fw::ensure_loopback(fresh, w, true);
    ASSERT_EQ(loop.size(), 3u);  // ::1 drop, 127/8 drop, lo accept (each inserted at the head)
    auto json = fw::steps_to_json(loop);
    auto back = fw::steps_from_json(json);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    ASSERT_EQ(back->size(), loop.size());
    for (size_t i = 0; i < loop.size(); ++i) {
        EXPECT_TRUE(same_rule((*back)[i].rule, loop[i].rule)) << json.dump();
        EXPECT_EQ((*back)[i].rule.comment, loop[i].rule.comment);
    }
    std::vector<fw::Step> undo;
    for (const auto& s : loop) {
        auto u = fw::apply_step(fresh, s);
        ASSERT_TRUE(u.has_value());
        undo.insert(undo.begin(), u->begin(), u->end());
    }
    EXPECT_EQ(decide(fresh, probe_forged_loopback(Family::ip6)).fate, Fate::drop);
    EXPECT_EQ(decide(fresh, probe_loopback(Family::ip6)).fate, Fate::accept);
    for (const auto& s : undo) ASSERT_TRUE(fw::apply_step(fresh, s));
    EXPECT_TRUE(fresh.table(Family::inet, "filter")->chain("input")->rules.empty());
    // Malformed steps are refused with the pointer.
    auto bad = fw::steps_from_json(nlohmann::json::parse(R"([{"op": "insert_rule", "family": "inet", "table": "filter", "chain": "input", "rule": "tcp dport ssh accept {"}])"));
    ASSERT_FALSE(bad.has_value());
    EXPECT_NE(bad.error().message.find("steps/0/rule"), std::string::npos) << bad.error().message;
    (void)before;
}
