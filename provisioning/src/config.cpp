#include "config.hpp"

#include <deque>
#include <functional>
#include <map>

#include "plumb/config/ini.hpp"
#include "plumb/config/text.hpp"
#include "plumb/config/units.hpp"

namespace plumb::provision {

namespace {

// The FileSource the config parser reads through: every path resolved inside the root by SafeRoot.
class RootFiles final : public FileSource {
public:
    explicit RootFiles(const SafeRoot& root) : root_(root) {}
    Result<std::string_view> read(const std::string& path) override {
        auto text = root_.read_file(path, 1u << 20);
        if (!text) return std::unexpected(text.error());
        return std::string_view(kept_.emplace_back(std::move(*text)));
    }
    Result<FileStat> stat(const std::string& path, bool follow) override { return root_.stat(path, follow); }
    Result<std::vector<std::string>> list_dir(const std::string& path) override { return root_.list_dir(path); }
    Result<std::string> read_link(const std::string& path) override { return root_.read_link(path); }

private:
    const SafeRoot& root_;
    std::deque<std::string> kept_;  // read() hands out views into these
};

std::vector<std::string> words(std::string_view v) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < v.size()) {
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
        size_t j = i;
        while (j < v.size() && v[j] != ' ' && v[j] != '\t' && v[j] != ',') ++j;
        if (j > i) out.emplace_back(v.substr(i, j - i));
        i = j;
    }
    return out;
}

Result<std::chrono::milliseconds> timespan(const config::Assignment& a) {
    auto us = config::parse_timespan_usec(a.value);
    if (!us || *us == config::usec_infinity)
        return fail_invalid(a.file + ":" + std::to_string(a.line) + ": " + a.key + "=" + a.value + " is not a finite time span");
    return std::chrono::milliseconds(*us / 1000);
}

}  // namespace

Result<ProvisionConfig> load_config(const SafeRoot& root) {
    RootFiles files(root);
    auto merged = config::load_with_dropins(files, "/etc/plumb/provision.conf", "plumb/provision.conf.d");
    if (!merged) return std::unexpected(merged.error());
    if (!merged->fatal.empty()) return fail_invalid(merged->fatal);
    ProvisionConfig c;
    c.files = merged->files;
    c.warnings = merged->warnings;

    using Setter = std::function<Result<void>(const config::Assignment&)>;
    auto text = [](std::string& field) -> Setter {
        return [&field](const config::Assignment& a) -> Result<void> {
            field = a.value;
            return {};
        };
    };
    auto list = [](std::vector<std::string>& field) -> Setter {
        return [&field](const config::Assignment& a) -> Result<void> {
            field = words(a.value);
            return {};
        };
    };
    auto span = [](std::chrono::milliseconds& field) -> Setter {
        return [&field](const config::Assignment& a) -> Result<void> {
            auto v = timespan(a);
            if (!v) return std::unexpected(v.error());
            field = *v;
            return {};
        };
    };
    auto boolean = [](bool& field) -> Setter {
        return [&field](const config::Assignment& a) -> Result<void> {
            auto v = config::parse_boolean(a.value);
            if (!v) return fail_invalid(a.file + ":" + std::to_string(a.line) + ": " + a.key + "=" + a.value + " is not a boolean");
            field = *v;
            return {};
        };
    };
    auto size = [](std::size_t& field) -> Setter {
        return [&field](const config::Assignment& a) -> Result<void> {
            auto v = config::parse_size(a.value);
            if (!v || *v == 0) return fail_invalid(a.file + ":" + std::to_string(a.line) + ": " + a.key + "=" + a.value + " is not a size");
            field = static_cast<std::size_t>(*v);
            return {};
        };
    };
    const std::map<std::pair<std::string, std::string>, Setter> setters = {
        {{"Provision", "Sources"}, list(c.sources)},
        {{"Provision", "UuidFile"}, text(c.uuid_file)},
        {{"Provision", "StateDir"}, text(c.state_dir)},
        {{"IMDS", "Url"}, text(c.imds_url)},
        {{"IMDS", "RetryInterval"}, span(c.imds_retry.interval)},
        {{"IMDS", "Deadline"}, span(c.imds_retry.deadline)},
        {{"IMDS", "AttemptTimeout"}, span(c.imds_retry.attempt_timeout)},
        {{"IMDS", "MaxResponseSize"}, size(c.imds_max_response)},
        {{"OVF", "Device"}, text(c.ovf_device)},
        {{"OVF", "Directory"}, text(c.ovf_directory)},
        {{"Seed", "Directory"}, text(c.seed_directory)},
        {{"User", "Groups"}, list(c.groups)},
        {{"User", "Shell"}, text(c.shell)},
        {{"User", "HomeBase"}, text(c.home_base)},
        {{"User", "ConfiguredAdmin"}, text(c.configured_admin)},
        {{"User", "UserAdd"}, text(c.useradd)},
        {{"User", "UserMod"}, text(c.usermod)},
        {{"User", "CommandTimeout"}, span(c.command_timeout)},
        {{"Sudo", "Enabled"}, boolean(c.sudo)},
        {{"Sudo", "File"}, text(c.sudoers_file)},
        {{"SSH", "DropIn"}, text(c.sshd_dropin)},
        {{"Baseline", "Baseline"}, text(c.baseline)},
        {{"Baseline", "Plumb"}, text(c.plumb_binary)},
        {{"Baseline", "Timeout"}, span(c.baseline_timeout)},
        {{"Report", "Enabled"}, boolean(c.report)},
        {{"Report", "HealthUrl"}, text(c.health_url)},
        {{"Report", "WireServerUrl"}, text(c.wireserver_url)},
        {{"Report", "RetryInterval"}, span(c.report_retry.interval)},
        {{"Report", "Deadline"}, span(c.report_retry.deadline)},
        {{"Report", "AttemptTimeout"}, span(c.report_retry.attempt_timeout)},
    };
    for (const auto& a : merged->assignments) {
        auto it = setters.find({a.section, a.key});
        if (it == setters.end()) {
            c.warnings.push_back(a.file + ":" + std::to_string(a.line) + ": unknown setting [" + a.section + "] " + a.key);
            continue;
        }
        if (auto r = it->second(a); !r) return std::unexpected(r.error());
    }
    for (const auto& s : c.sources)
        if (s != "imds" && s != "ovf" && s != "seed")
            return fail_invalid("[Provision] Sources: unknown source '" + s + "' (expected imds, ovf, seed)");
    for (const auto* p : {&c.uuid_file, &c.state_dir, &c.seed_directory, &c.home_base, &c.sudoers_file, &c.sshd_dropin})
        if (!p->starts_with("/")) return fail_invalid("configuration path '" + *p + "' must be absolute");
    return c;
}

}  // namespace plumb::provision
