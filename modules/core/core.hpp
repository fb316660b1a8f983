// The core module: generic file, configuration, systemd unit, kernel command line, sysctl and package checks.
// Every file is read through the host (sdk::Host), never by path, so the same code audits a live host and an
// offline image. Shared helpers for the procedure files live here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/config/accounts.hpp"
#include "plumb/config/text.hpp"
#include "plumb/module.hpp"

struct sd_bus;

namespace plumb::core {

// /etc/passwd and /etc/group of the audited root, and the shared text helpers, from the configuration family.
using config::Account;
using config::AccountTable;
using config::join;
using config::octal;
using config::parse_integer;
using config::split_lines;
using config::trim;

// One dpkg status paragraph.
struct DpkgPackage {
    std::string name;
    std::string arch;
    std::string status;  // "install ok installed"
    std::string version;
    unsigned line = 0;   // line of the Package: field
};

class Core : public sdk::Instance {
public:
    using Instance::Instance;
    ~Core() override;

    plumb_status file_exists(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status file_absent(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status file_permissions(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status file_regex(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status config_option(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status unit_state(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status kernel_cmdline(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status remediate_kernel_cmdline(const nlohmann::json& args, sdk::Planner& planner, sdk::Reporter& r);  // cmdline_fix.cpp
    plumb_status sysctl(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status package_installed(const nlohmann::json& args, sdk::Reporter& r);
    plumb_status mount_option(const nlohmann::json& args, sdk::Reporter& r);  // mounts.cpp

private:
    // Cached per run: /etc/passwd and /etc/group of the root.
    const Result<AccountTable>& accounts(bool groups);
    std::optional<Result<AccountTable>> passwd_;
    std::optional<Result<AccountTable>> group_;

    // systemd over D-Bus (live only); opened on first use.
    struct BusState {
        std::string state;       // systemd's UnitFileState string
        bool not_found = false;  // systemd does not know the unit file
    };
    Result<BusState> bus_unit_file_state(const std::string& unit);
    sd_bus* bus_ = nullptr;
    std::string bus_address_;  // for messages

    // dpkg status database, parsed once.
    struct DpkgDb {
        std::string file;
        std::vector<DpkgPackage> packages;
    };
    std::optional<Result<DpkgDb>> dpkg_;
    const Result<DpkgDb>& dpkg_db();
};

// ---- schemas (defined next to their procedures) ----
extern const char* const kFileExistsSchema;
extern const char* const kFileAbsentSchema;
extern const char* const kFilePermissionsSchema;
extern const char* const kFileRegexSchema;
extern const char* const kConfigOptionSchema;
extern const char* const kUnitStateSchema;
extern const char* const kKernelCmdlineSchema;
extern const char* const kSysctlSchema;
extern const char* const kPackageInstalledSchema;
extern const char* const kMountOptionSchema;

// ---- helpers (util.cpp) ----
std::string quote_value(std::string_view s);                   // "\"value\"" with control characters escaped
bool is_missing(const Error& e);                          // ENOENT / ENOTDIR: the path does not exist
std::string join_path(std::string_view dir, std::string_view name);
std::string dir_name(std::string_view path);
std::string base_name(std::string_view path);
std::string lower(std::string_view s);
bool ends_with(std::string_view s, std::string_view suffix);
std::string truncate_for_message(std::string_view s, std::size_t max = 160);
// Lists a directory; a missing directory is an empty list, other errors propagate.
Result<std::vector<std::string>> list_dir_if_exists(FileSource& files, const std::string& dir);
// Reads a file; a missing file gives std::nullopt, other errors propagate.
Result<std::optional<std::string_view>> read_if_exists(FileSource& files, const std::string& path);

}  // namespace plumb::core
