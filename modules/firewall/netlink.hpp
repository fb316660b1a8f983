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
Result<CommitResult> commit(const std::vector<Change>& changes);

}  // namespace plumb::firewall::nft
