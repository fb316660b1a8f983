// One report model, several writers (text for terminals, JSON for machines; schema in agent/report.schema.json).
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/baseline.hpp"
#include "plumb/evaluator.hpp"

namespace plumb {

struct Report {
    std::string tool_version;
    std::string command;            // "audit"
    std::string baseline_id;
    std::string baseline_version;
    std::string baseline_title;
    std::string host;               // hostname of the audited system (live) or of the image (/etc/hostname)
    std::string root;               // "/" or the --root directory
    bool live = false;
    std::string started_at;         // RFC 3339 UTC
    double load_ms = 0;             // modules + baseline + tailoring + waivers
    double audit_ms = 0;            // gathering facts and evaluating
    double total_ms = 0;
    std::vector<RuleResult> results;

    // plumb fix only: the plan (see agent/report.schema.json, "plan"), whether it was only shown, and the transaction
    // that applied it.
    nlohmann::json plan;
    bool dry_run = false;
    std::string transaction;

    std::map<std::string, int> summary() const;  // status word -> count, every status present
    // 0: all pass/waived/notapplicable(/fixed); 2: any fail or error.
    int exit_code() const;
};

nlohmann::json to_json(const Report& report);
// Text for people; colour is the caller's decision (only on a TTY, and not when NO_COLOR is set).
std::string to_text(const Report& report, bool colour);

}  // namespace plumb
