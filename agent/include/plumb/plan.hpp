// A remediation plan: what modules asked to change, gathered without touching anything. `plumb fix --dry-run`
// shows it; `plumb fix` hands it to the transaction layer.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace plumb {

struct PlannedFile {
    std::string path;                     // inside the root, normalised
    std::optional<std::string> original;  // content before the plan (nullopt: did not exist)
    std::optional<std::string> content;   // content after (nullopt: removed)
    std::uint32_t mode_if_new = 0644;
    std::vector<std::string> why;
    std::set<std::string> rules;
};

struct PlannedService {
    std::string unit;
    std::string action;  // restart, reload, try-restart, enable, disable, start, stop
    std::string why;
    std::set<std::string> rules;
};

struct PlannedNotice {
    std::string kind;    // PLUMB_NOTICE_*
    std::string phrase;
    std::string rule;
};

struct PlannedLiveAction {
    std::string module;
    std::string name;
    std::string description;
    nlohmann::json payload;
    nlohmann::json undo;  // null: nothing to undo
    std::string rule;
};

struct Plan {
    std::vector<PlannedFile> files;
    std::vector<PlannedService> services;
    std::vector<PlannedNotice> notices;
    std::vector<PlannedLiveAction> live_actions;

    PlannedFile* file(const std::string& normalized_path);
    const PlannedFile* file(const std::string& normalized_path) const;
    bool empty() const { return files.empty() && services.empty() && live_actions.empty(); }
    // Files whose content really changes (a write of identical content is dropped from the transaction).
    std::vector<const PlannedFile*> changed_files() const;
};

}  // namespace plumb
