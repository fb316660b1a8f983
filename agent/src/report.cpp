#include "plumb/report.hpp"

#include <cstdio>

namespace plumb {

namespace {
constexpr Status kAllStatuses[] = {Status::pass, Status::fail, Status::error, Status::notapplicable, Status::waived, Status::fixed};

const char* colour_of(Status s) {
    switch (s) {
        case Status::pass: return "\033[32m";
        case Status::fixed: return "\033[32m";
        case Status::fail: return "\033[31m";
        case Status::error: return "\033[35m";
        case Status::waived: return "\033[33m";
        case Status::notapplicable: return "\033[2m";
    }
    return "";
}

std::string ms(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", v);
    return buf;
}
}  // namespace

std::map<std::string, int> Report::summary() const {
    std::map<std::string, int> counts;
    for (Status s : kAllStatuses) counts[std::string(to_string(s))] = 0;
    for (const auto& r : results) ++counts[std::string(to_string(r.status))];
    return counts;
}

int Report::exit_code() const {
    for (const auto& r : results)
        if (r.status == Status::fail || r.status == Status::error) return 2;
    return 0;
}

nlohmann::json to_json(const Report& report) {
    nlohmann::json results = nlohmann::json::array();
    for (const auto& r : report.results) {
        nlohmann::json reasons = nlohmann::json::array();
        for (const auto& reason : r.reasons) reasons.push_back({{"code", reason.code}, {"phrase", reason.phrase}});
        nlohmann::json params = nlohmann::json::object();
        for (const auto& p : r.rule->parameters) params[p.name] = p.value;
        results.push_back({{"id", r.rule->id},
                           {"title", r.rule->title},
                           {"status", to_string(r.status)},
                           {"severity", to_string(r.rule->severity)},
                           {"references", r.rule->references},
                           {"parameters", params},
                           {"reasons", reasons},
                           {"duration_ms", r.duration_ms}});
    }
    nlohmann::json out = {{"schema", "plumb-report/1"},
            {"tool", {{"name", "plumb"}, {"version", report.tool_version}}},
            {"command", report.command},
            {"baseline", {{"id", report.baseline_id}, {"version", report.baseline_version}, {"title", report.baseline_title}}},
            {"host", {{"name", report.host}, {"root", report.root}, {"live", report.live}}},
            {"started_at", report.started_at},
            {"timings", {{"load_ms", report.load_ms}, {"audit_ms", report.audit_ms}, {"total_ms", report.total_ms}}},
            {"summary", report.summary()},
            {"results", results}};
    if (!report.plan.is_null()) {
        out["plan"] = report.plan;
        out["dry_run"] = report.dry_run;
        if (!report.transaction.empty()) out["transaction"] = report.transaction;
    }
    return out;
}

namespace {
std::string plan_text(const nlohmann::json& plan, bool dry_run, const std::string& transaction) {
    std::string out = dry_run ? "\nPlan (dry run: nothing was changed):\n" : "\nChanges:\n";
    if (plan["files"].empty() && plan["services"].empty() && plan["notices"].empty()) return out + "  none\n";
    for (const auto& f : plan["files"]) {
        out += "  " + f["action"].get<std::string>() + " " + f["path"].get<std::string>();
        for (const auto& why : f["why"]) out += "\n      " + why.get<std::string>();
        out += "\n" + f["diff"].get<std::string>();
    }
    for (const auto& s : plan["services"])
        out += "  " + s["action"].get<std::string>() + " " + s["unit"].get<std::string>() + " (" + s["status"].get<std::string>() + ")\n";
    for (const auto& n : plan["notices"]) out += "  notice: " + n["phrase"].get<std::string>() + " [" + n["kind"].get<std::string>() + "]\n";
    if (!transaction.empty()) out += "  transaction " + transaction + " (plumb rollback " + transaction + " undoes it)\n";
    return out;
}
}  // namespace

std::string to_text(const Report& report, bool colour) {
    std::string out;
    const char* bold = colour ? "\033[1m" : "";
    const char* reset = colour ? "\033[0m" : "";
    out += std::string(bold) + "plumb " + report.command + reset + ": baseline " + report.baseline_id + " " +
           report.baseline_version + " on " + (report.host.empty() ? "(unknown host)" : report.host) +
           (report.live ? " (live)" : " (offline root " + report.root + ")") + "\n\n";
    for (const auto& r : report.results) {
        std::string word(to_string(r.status));
        char status[24];
        std::snprintf(status, sizeof status, "%-13s", word.c_str());
        out += std::string(colour ? colour_of(r.status) : "") + status + reset + " " + r.rule->id + "  " + r.rule->title + "\n";
        if (r.status != Status::pass) {
            for (const auto& reason : r.reasons) out += "              - " + reason.phrase + " [" + reason.code + "]\n";
        }
    }
    auto counts = report.summary();
    std::string summary;
    for (Status s : kAllStatuses) {
        std::string w(to_string(s));
        if (counts[w] == 0 && s != Status::pass && s != Status::fail) continue;
        summary += (summary.empty() ? "" : ", ") + std::to_string(counts[w]) + " " + w;
    }
    if (!report.plan.is_null()) out += plan_text(report.plan, report.dry_run, report.transaction);
    out += "\n" + std::string(bold) + std::to_string(report.results.size()) + " rules: " + summary + reset + " (" +
           ms(report.total_ms) + ")\n";
    return out;
}

}  // namespace plumb
