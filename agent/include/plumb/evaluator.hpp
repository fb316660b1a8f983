// Evaluation in two steps, so that the evaluator itself is a pure function:
//   gather_facts()  — the I/O edge: runs every procedure call the selected rules need against a RunContext and
//                     reads what applicability needs (os-release), recording each outcome once;
//   evaluate()      — combines those facts through the rules' allOf/anyOf/not trees, applies applicability and
//                     waivers, and returns one result per rule. Same inputs, same results.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plumb/baseline.hpp"
#include "plumb/outcome.hpp"

namespace plumb {

class RunContext;

struct Facts {
    bool live = false;
    std::string root;                       // as given, for messages
    std::string os_id;                      // os-release ID ("" when unknown)
    std::vector<std::string> os_id_like;    // os-release ID_LIKE
    std::map<std::string, Outcome> calls;   // call_key() -> outcome
    std::map<std::string, double> rule_ms;  // rule id -> time spent in its calls
};

// Identifies a call with its resolved arguments: "journald.setting{...}".
std::string call_key(const Expr& call, const Rule& rule);

struct Selection {
    std::set<std::string> rule_ids;  // empty: every selected rule of the baseline
};

// Unknown ids in `selection` are the caller's to reject (see select_rules()).
Facts gather_facts(const Baseline& baseline, const Selection& selection, RunContext& context);

struct RuleResult {
    const Rule* rule = nullptr;
    Status status = Status::error;
    std::vector<Reason> reasons;
    double duration_ms = 0;
};

// today: "YYYY-MM-DD" (UTC) for waiver expiry.
std::vector<RuleResult> evaluate(const Baseline& baseline, const Selection& selection, const Facts& facts,
                                 const std::vector<Waiver>& waivers, const std::string& today);

// The rules a run covers: tailoring-selected rules, narrowed to `selection` when it names any.
std::vector<const Rule*> select_rules(const Baseline& baseline, const Selection& selection);

}  // namespace plumb
