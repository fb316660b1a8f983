// The evaluator is a pure function of baseline + facts: these tests build both by hand.
#include <gtest/gtest.h>

#include "plumb/evaluator.hpp"

using namespace plumb;

namespace {

Expr call(const std::string& name, nlohmann::json args = nlohmann::json::object()) {
    Expr e;
    e.kind = Expr::Kind::call;
    e.module = "m";
    e.procedure = name;
    e.args = std::move(args);
    return e;
}
Expr node(Expr::Kind k, std::vector<Expr> children) {
    Expr e;
    e.kind = k;
    e.children = std::move(children);
    return e;
}
Expr all(std::vector<Expr> c) { return node(Expr::Kind::all_of, std::move(c)); }
Expr any(std::vector<Expr> c) { return node(Expr::Kind::any_of, std::move(c)); }
Expr neg(Expr c) { return node(Expr::Kind::not_, {std::move(c)}); }

Rule rule(const std::string& id, Expr audit) {
    Rule r;
    r.id = id;
    r.title = id;
    r.audit = std::move(audit);
    return r;
}

class EvaluatorTest : public ::testing::Test {
protected:
    void fact(const std::string& name, Status s, const std::string& code = "") {
        Rule dummy;
        facts.calls[call_key(call(name), dummy)] = Outcome{s, code.empty() ? std::vector<Reason>{} : std::vector<Reason>{{code, name}}};
    }
    RuleResult eval_one(Expr audit, const std::vector<Waiver>& waivers = {}, const std::string& today = "2026-11-23") {
        baseline.rules = {rule("r", std::move(audit))};
        auto results = evaluate(baseline, {}, facts, waivers, today);
        EXPECT_EQ(results.size(), 1u);
        return results.at(0);
    }
    Baseline baseline;
    Facts facts;
    void SetUp() override {
        facts.live = true;
        facts.root = "/";
        fact("p", Status::pass, "p_ok");
        fact("f", Status::fail, "f_bad");
        fact("f2", Status::fail, "f2_bad");
        fact("e", Status::error, "e_err");
        fact("n", Status::notapplicable, "n_na");
    }
};

TEST_F(EvaluatorTest, CallTakesTheFact) {
    EXPECT_EQ(eval_one(call("p")).status, Status::pass);
    EXPECT_EQ(eval_one(call("f")).status, Status::fail);
    auto missing = eval_one(call("unknown"));
    EXPECT_EQ(missing.status, Status::error);
    EXPECT_EQ(missing.reasons.at(0).code, "not_gathered");
}

TEST_F(EvaluatorTest, AllOf) {
    EXPECT_EQ(eval_one(all({call("p"), call("p")})).status, Status::pass);
    auto r = eval_one(all({call("p"), call("f"), call("f2")}));
    EXPECT_EQ(r.status, Status::fail);
    ASSERT_EQ(r.reasons.size(), 2u);  // only the failing parts explain a failure
    EXPECT_EQ(r.reasons[0].code, "f_bad");
    EXPECT_EQ(r.reasons[1].code, "f2_bad");
    EXPECT_EQ(eval_one(all({call("p"), call("e")})).status, Status::error);
    EXPECT_EQ(eval_one(all({call("e"), call("f")})).status, Status::fail);  // a definite failure wins over an error
    EXPECT_EQ(eval_one(all({call("p"), call("n")})).status, Status::pass);  // not-applicable parts are ignored
    EXPECT_EQ(eval_one(all({call("n"), call("n")})).status, Status::notapplicable);
}

TEST_F(EvaluatorTest, IdenticalReasonsAreReportedOnce) {
    fact("p_same", Status::pass, "p_ok");  // same code, different phrase: kept
    Rule dummy;
    facts.calls[call_key(call("p_twin"), dummy)] = Outcome{Status::pass, {{"p_ok", "p"}}};  // same code and phrase as "p"
    auto r = eval_one(all({call("p"), call("p_twin"), call("p_same")}));
    EXPECT_EQ(r.status, Status::pass);
    ASSERT_EQ(r.reasons.size(), 2u);
    EXPECT_EQ(r.reasons[0], (Reason{"p_ok", "p"}));
    EXPECT_EQ(r.reasons[1], (Reason{"p_ok", "p_same"}));
}

TEST_F(EvaluatorTest, AnyOf) {
    EXPECT_EQ(eval_one(any({call("f"), call("p")})).status, Status::pass);
    auto r = eval_one(any({call("f"), call("f2")}));
    EXPECT_EQ(r.status, Status::fail);
    EXPECT_EQ(r.reasons.size(), 2u);
    EXPECT_EQ(eval_one(any({call("f"), call("e")})).status, Status::error);  // the error might have been a pass
    EXPECT_EQ(eval_one(any({call("e"), call("p")})).status, Status::pass);
    EXPECT_EQ(eval_one(any({call("n")})).status, Status::notapplicable);
}

TEST_F(EvaluatorTest, Not) {
    auto r = eval_one(neg(call("p")));
    EXPECT_EQ(r.status, Status::fail);
    EXPECT_EQ(r.reasons.at(0).code, "negated");
    EXPECT_EQ(eval_one(neg(call("f"))).status, Status::pass);
    EXPECT_EQ(eval_one(neg(call("e"))).status, Status::error);
    EXPECT_EQ(eval_one(neg(call("n"))).status, Status::notapplicable);
    EXPECT_EQ(eval_one(neg(neg(call("p")))).status, Status::pass);
}

TEST_F(EvaluatorTest, NestedTrees) {
    // anyOf(allOf(p, not f), e) -> pass
    EXPECT_EQ(eval_one(any({all({call("p"), neg(call("f"))}), call("e")})).status, Status::pass);
    // allOf(anyOf(f, f2), p) -> fail
    EXPECT_EQ(eval_one(all({any({call("f"), call("f2")}), call("p")})).status, Status::fail);
}

TEST_F(EvaluatorTest, WaiversApplyUntilTheirExpiryDayInclusive) {
    std::vector<Waiver> w{{"r", "vendor appliance, ticket OPS-12", "2026-11-23"}};
    auto active = eval_one(call("f"), w, "2026-11-23");
    EXPECT_EQ(active.status, Status::waived);
    EXPECT_EQ(active.reasons.at(0).code, "waived");
    EXPECT_NE(active.reasons.at(0).phrase.find("ticket OPS-12"), std::string::npos);
    EXPECT_NE(active.reasons.at(0).phrase.find("reports fail"), std::string::npos);
    auto expired = eval_one(call("f"), w, "2026-11-24");
    EXPECT_EQ(expired.status, Status::fail);
    EXPECT_EQ(expired.reasons.back().code, "waiver_expired");
}

TEST_F(EvaluatorTest, LiveOnlyRulesAreNotApplicableOffline) {
    facts.live = false;
    facts.root = "/mnt/image";
    baseline.rules = {rule("r", call("p"))};
    baseline.rules[0].applicability.live_only = true;
    auto results = evaluate(baseline, {}, facts, {}, "2026-01-01");
    EXPECT_EQ(results.at(0).status, Status::notapplicable);
    EXPECT_EQ(results.at(0).reasons.at(0).code, "live_only");
    EXPECT_NE(results.at(0).reasons.at(0).phrase.find("/mnt/image"), std::string::npos);
}

TEST_F(EvaluatorTest, DistroApplicabilityUsesIdAndIdLike) {
    facts.os_id = "almalinux";
    facts.os_id_like = {"rhel", "centos", "fedora"};
    baseline.rules = {rule("rh", call("p")), rule("deb", call("p"))};
    baseline.rules[0].applicability.distros = {"rhel"};
    baseline.rules[1].applicability.distros = {"debian", "ubuntu"};
    auto results = evaluate(baseline, {}, facts, {}, "2026-01-01");
    EXPECT_EQ(results[0].status, Status::pass);
    EXPECT_EQ(results[1].status, Status::notapplicable);
    EXPECT_EQ(results[1].reasons.at(0).code, "distro_not_applicable");
    EXPECT_EQ(results[1].reasons.at(0).phrase, "rule applies to debian, ubuntu; this system is almalinux");
}

TEST_F(EvaluatorTest, SelectionAndTailoringDeselection) {
    baseline.rules = {rule("a", call("p")), rule("b", call("f")), rule("c", call("p"))};
    baseline.rules[2].selected = false;
    auto results = evaluate(baseline, {}, facts, {}, "2026-01-01");
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0].rule->id, "a");
    EXPECT_EQ(results[1].rule->id, "b");
    auto only = evaluate(baseline, Selection{{"c"}}, facts, {}, "2026-01-01");  // --rule names it explicitly
    ASSERT_EQ(only.size(), 1u);
    EXPECT_EQ(only[0].rule->id, "c");
}

TEST_F(EvaluatorTest, CallKeysIncludeResolvedParameters) {
    Rule r = rule("r", call("x", {{"v", {{"$param", "size"}}}}));
    r.parameters.push_back(Parameter{"size", "string", "", "1G", nullptr});
    Rule r2 = r;
    r2.parameters[0].value = "2G";
    EXPECT_NE(call_key(r.audit, r), call_key(r2.audit, r2));
    EXPECT_EQ(call_key(r.audit, r), "m.x{\"v\":\"1G\"}");
}

}  // namespace
