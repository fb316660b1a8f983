// The baseline model: rules, their parameters and their audit/remediation expressions, plus tailoring and waivers.
// Loading (baseline_loader.cpp) validates a file against baselines/baseline.schema.json and the procedures the
// modules declare; what comes out of it is known to be well-formed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/error.hpp"

namespace plumb {

enum class Severity { info, low, medium, high, critical };
std::string_view to_string(Severity s);
std::optional<Severity> severity_from_string(std::string_view s);

// A typed rule parameter. Types: "string", "integer", "boolean", "string-list".
struct Parameter {
    std::string name;
    std::string type;
    std::string description;
    nlohmann::json value;          // the default, replaced by a tailoring value when one is given
    nlohmann::json schema;         // JSON Schema every value must satisfy: the type plus the constraints (enum,
                                   // pattern, minimum, maximum) declared in the baseline
};

// An expression tree node: allOf / anyOf / not over children, or a procedure call.
struct Expr {
    enum class Kind { all_of, any_of, not_, call };
    Kind kind = Kind::call;
    std::vector<Expr> children;    // all_of / any_of: 1..n, not_: exactly 1
    std::string module;            // call: "journald" of "journald.option"
    std::string procedure;         // call: "option"
    nlohmann::json args;           // call: arguments object; values may be {"$param": "name"}
    std::string pointer;           // JSON pointer of this node in the baseline file, for messages
};

struct Applicability {
    bool live_only = false;              // the rule needs a running system: notapplicable with --root
    std::vector<std::string> distros;    // os-release ID or ID_LIKE values; empty = any
};

struct Rule {
    std::string id;
    std::string title;
    std::string description;
    std::string rationale;
    Severity severity = Severity::medium;
    std::map<std::string, std::string> references;  // "cis", "ssg", "sfi", ...
    std::vector<Parameter> parameters;
    Applicability applicability;
    Expr audit;
    std::optional<Expr> remediation;
    bool selected = true;          // false when deselected by tailoring (or "selected": false in the baseline)
    std::string pointer;           // "/rules/3"

    const Parameter* parameter(std::string_view name) const;
};

struct Baseline {
    std::string id;
    std::string version;
    std::string title;
    std::string description;
    std::vector<Rule> rules;
    std::string source;            // file it was loaded from

    const Rule* rule(std::string_view id) const;
};

struct Waiver {
    std::string rule_id;
    std::string justification;
    std::string expires;           // YYYY-MM-DD, inclusive: the waiver applies through that day (UTC)
};

// True for {"$param": "name"}: a reference to a rule parameter inside call arguments.
bool is_param_ref(const nlohmann::json& value);

// Substitutes {"$param": "name"} references (at any depth) in a call's arguments with the rule's parameter values.
nlohmann::json resolve_arguments(const Rule& rule, const nlohmann::json& args);

}  // namespace plumb
