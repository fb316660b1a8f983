// nftables remediation as data: the steps a fix takes (applied to the model while planning, turned into one netlink
// batch when applied), the lockout guard that every batch is checked against, and the files that make a table
// persistent at boot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model.hpp"
#include "plumb/error.hpp"
#include "plumb/file_source.hpp"
#include "plumb/module_abi.h"
#include "text.hpp"

namespace plumb::firewall {

namespace nft = plumb::firewall::nft;

// The table a procedure is about.
struct Where {
    nft::Family family = nft::Family::inet;
    std::string table = "filter";
};
// The "tables" argument of nft_persistent (default inet filter).
std::vector<Where> tables_of(const nlohmann::json& args);
// The IP families probe packets are sent in for a table: inet -> ip (and ip6), ip -> ip, ip6 -> ip6.
std::vector<nft::Family> probe_families(const Where& w, bool ipv6);
plumb_status worse(plumb_status a, plumb_status b);

// The first (lowest priority) filter base chain of the table on `hook`.
const nft::Chain* base_chain(const nft::Table& t, std::string_view hook);
nft::Chain* base_chain(nft::Table& t, std::string_view hook);

struct Step {
    enum class Op : uint8_t { add_table, add_chain, set_policy, insert_rule, delete_rule, delete_chain, delete_table };
    Op op = Op::add_table;
    nft::Family family = nft::Family::inet;
    std::string table, chain;
    std::optional<nft::Hook> hook;                    // add_chain of a base chain
    nft::VerdictKind policy = nft::VerdictKind::accept;  // add_chain (base) / set_policy
    nft::Rule rule;                                   // insert_rule (at the head of the chain) / delete_rule (first equal rule with the same comment)
};

// Applies one step to the model; returns the steps that undo it. Errors: the table/chain is missing or already there.
Result<std::vector<Step>> apply_step(nft::Ruleset& rs, const Step& s);
std::string describe(const Step& s);
nlohmann::json steps_to_json(const std::vector<Step>& steps);  // rules as nft text, so plans and journals are readable
Result<std::vector<Step>> steps_from_json(const nlohmann::json& j);

// What a change must leave reachable: checked on the planned ruleset and again on the kernel's just before commit.
struct LockoutGuard {
    nft::Family family = nft::Family::inet;  // the table's family decides the probe families
    bool ipv6 = true;
    uint16_t management_port = 22;  // 0: not guarded
    bool established = true;
    bool loopback = true;
};
LockoutGuard guard_of(const nlohmann::json& args, const Where& w);
nlohmann::json guard_to_json(const LockoutGuard& g);
LockoutGuard guard_from_json(const nlohmann::json& j);
// Why `rs` would cut the operator off ("a new connection to the management port ... is dropped by ..."), or nothing.
std::optional<std::string> lockout_problem(const nft::Ruleset& rs, const LockoutGuard& g);

// Steps that bring the model where a check wants it (empty when it is there already).
std::vector<Step> ensure_table(const nft::Ruleset& rs, const Where& w);
std::vector<Step> ensure_base_chains(const nft::Ruleset& rs, const Where& w, const std::vector<std::string>& hooks);
// Loopback, established connections and the management port accepted on input, as the guard asks, by rules at the
// head of the table's input chain (only the ones the ruleset does not accept yet).
std::vector<Step> ensure_access(const nft::Ruleset& rs, const Where& w, const LockoutGuard& g);
// iif "lo" accept, and loopback source addresses dropped on other interfaces.
std::vector<Step> ensure_loopback(const nft::Ruleset& rs, const Where& w, bool ipv6, uint16_t port = 22);
std::vector<Step> ensure_policy(const nft::Ruleset& rs, const Where& w, std::string_view hook, nft::VerdictKind policy);

// Applies steps to the kernel's ruleset in one batch: re-reads the ruleset, resolves delete_rule to handles, checks
// the guard on the result (EPERM with the reason when the batch would lock the operator out), commits.
Result<void> commit_steps(const std::vector<Step>& steps, const LockoutGuard* guard);

// ---- persistence

struct BootFile {
    std::string path;  // /etc/sysconfig/nftables.conf (RHEL family) or /etc/nftables.conf (Debian and others)
    bool exists = false;
};
BootFile find_boot_file(FileSource& source);

struct FileToWrite {
    std::string path, content;
    uint32_t mode = 0600;
    std::string why;
};
// The table's own file under /etc/nftables/ (which replaces the whole table when loaded) and, unless the boot file
// includes it already, the boot file with the include added at the end.
Result<std::vector<FileToWrite>> persistence_files(const BootFile& boot, const nft::ParsedConfig& cfg, FileSource& source, const nft::Table& t);
std::string table_file_path(const nft::Table& t);

}  // namespace plumb::firewall
