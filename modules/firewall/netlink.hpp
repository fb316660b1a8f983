// The live ruleset over netlink (libnftnl + libmnl): read it into the model, and commit changes in one batch.
#pragma once

#include <string>
#include <vector>

#include "model.hpp"
#include "plumb/error.hpp"

namespace plumb::firewall::nft {

// Reads every table, chain, set (with elements) and rule of the current network namespace. Rules are decoded into
// matches/statements/verdicts and canonicalized; expressions outside the model make the rule opaque with a
// description of what was found. Interface indexes (iif/oif) stay numbers in the model (host-order 4 bytes), as in
// the kernel. Anonymous sets are inlined into the matches that use them and do not appear in Table::sets; elements of
// named interval sets keyed by a host-order type (mark, ct state, ...) are given in host order like the matches.
// The read is consistent: it is retried when the ruleset generation changes while it runs (EAGAIN after 5 tries).
// The rule and set element dumps are received on a short-lived helper thread while the calling thread decodes.
// Errors carry errno (EPERM without CAP_NET_ADMIN, EPROTONOSUPPORT without nf_tables).
Result<Ruleset> read_ruleset();

// What a scoped read dumps rules for: the base chains of type filter on these hooks (in every table and family) and
// the regular chains reachable from them through jump/goto, transitively. Empty hooks: no rules at all.
struct ReadScope {
    std::vector<std::string> hooks;  // "input", "output", ...
};

// A chain by family, table and name.
struct ChainRef {
    Family family = Family::inet;
    std::string table;
    std::string chain;
    auto operator<=>(const ChainRef&) const = default;
};

struct ScopedRuleset {
    // Every table, chain (hook, policy) and set (with elements), as read_ruleset() gives them; rules only in the chains
    // of chains_read. Every other chain has an empty rule list, whatever the kernel holds.
    Ruleset ruleset;
    std::vector<ChainRef> chains_read;  // sorted
    bool rules_read(Family family, std::string_view table, std::string_view chain) const;
};

// read_ruleset() with rules only for the chains `scope` reaches (what the probe checks on those hooks look at):
// tables, chains and sets are dumped as by the full read, then the rules chain by chain (a dump per chain, naming
// table and chain), following jump/goto targets until no new chain is reached. Consistent like the full read (one
// generation: checked before and after, retried, EAGAIN after 5 attempts). decide() on a hook of the scope gives the
// same answer on the result as on the full read.
Result<ScopedRuleset> read_ruleset(const ReadScope& scope);

// One change of a batch.
struct Change {
    enum class Kind : uint8_t { add_table, add_chain, set_policy, add_rule, insert_rule, delete_rule, delete_chain, delete_table };
    Kind kind;
    Family family = Family::inet;
    std::string table;
    std::string chain;    // add_chain: used when chain_def.name is empty
    Chain chain_def;      // add_chain: name, hook and policy (rules in it are ignored; add them with add_rule)
    VerdictKind policy = VerdictKind::accept;  // set_policy
    Rule rule;            // add_rule (appended) / insert_rule (at the start of the chain, or before `position`)
    uint64_t position = 0;  // insert_rule: handle to insert before; add_rule: handle to append after (0: end)
    uint64_t handle = 0;  // delete_rule
};

// "add_rule inet filter input", for messages.
std::string describe(const Change& change);

struct CommitResult {
    std::vector<uint64_t> rule_handles;  // handle of each add_rule/insert_rule change, in change order
};

// Sends all changes in one NFNL_MSG_BATCH_BEGIN..END batch: the kernel applies all of them or none. add_table and
// add_chain behave like `nft add` (no error when the object exists; a chain that exists is updated). A rule that
// cannot be encoded (opaque, a statement of kind other, a value wider than its selector) is EINVAL before anything is
// sent. On failure the error names the change that the kernel refused (its index and what it was) and errno from
// the kernel.
// With `expected_generation` (a Ruleset::generation), the batch carries NFNL_BATCH_GENID: the kernel refuses it whole,
// with ERESTART, when the ruleset has changed since that read.
Result<CommitResult> commit(const std::vector<Change>& changes, uint32_t expected_generation = 0);

}  // namespace plumb::firewall::nft
