#include "plumb/baseline.hpp"

namespace plumb {

std::string_view to_string(Severity s) {
    switch (s) {
        case Severity::info: return "info";
        case Severity::low: return "low";
        case Severity::medium: return "medium";
        case Severity::high: return "high";
        case Severity::critical: return "critical";
    }
    return "unknown";
}

std::optional<Severity> severity_from_string(std::string_view s) {
    for (Severity v : {Severity::info, Severity::low, Severity::medium, Severity::high, Severity::critical})
        if (to_string(v) == s) return v;
    return std::nullopt;
}

const Parameter* Rule::parameter(std::string_view name) const {
    for (const auto& p : parameters)
        if (p.name == name) return &p;
    return nullptr;
}

const Rule* Baseline::rule(std::string_view rule_id) const {
    for (const auto& r : rules)
        if (r.id == rule_id) return &r;
    return nullptr;
}

bool is_param_ref(const nlohmann::json& v) {
    return v.is_object() && v.size() == 1 && v.contains("$param") && v["$param"].is_string();
}

nlohmann::json resolve_arguments(const Rule& rule, const nlohmann::json& args) {
    if (is_param_ref(args)) {
        // The loader guarantees the parameter exists; an unknown name stays as written rather than becoming null.
        const Parameter* p = rule.parameter(args["$param"].get_ref<const std::string&>());
        return p ? p->value : args;
    }
    if (args.is_object()) {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [k, v] : args.items()) out[k] = resolve_arguments(rule, v);
        return out;
    }
    if (args.is_array()) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : args) out.push_back(resolve_arguments(rule, v));
        return out;
    }
    return args;
}

}  // namespace plumb
