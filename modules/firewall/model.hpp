// The nftables ruleset as plumb models it: one value type that every part of the firewall module speaks.
//
//   netlink.cpp   live kernel ruleset  <-> Ruleset  (libnftnl/libmnl: decode on read, encode for the commit batch)
//   text.cpp      nft configuration file <-> Ruleset (parse the boot-time file, print what remediation writes)
//   eval.cpp      Ruleset -> verdicts for probe packets (the checks) and the lockout-safety proof of a plan
//
// Rules are kept at the level the kernel sees them (what `nft --debug=netlink` shows), not as nft source text:
// `tcp dport 22` is two matches, [meta l4proto == 6] and [payload transport+2 len 2 == 0x0016]. Every producer of
// matches calls canonicalize() so that spellings the kernel treats alike compare equal (nft shortens the load of a
// byte-aligned prefix, `ip saddr 127.0.0.0/8` becomes a 1-byte load; `iifname "eth*"` a 3-byte compare).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plumb::firewall::nft {

// Register contents, byte for byte as the kernel compares them: payload fields in network byte order, meta and ct
// integers in host byte order (ifindex, nfproto, ct state bits, mark), interface names NUL-padded.
using Bytes = std::vector<uint8_t>;

enum class Family : uint8_t { inet = 1, ip = 2, arp = 3, netdev = 5, bridge = 7, ip6 = 10 };  // NFPROTO_*
std::string_view family_name(Family f);
std::optional<Family> family_from_name(std::string_view name);

enum class SelectorKind : uint8_t { meta, payload, ct };

// What a match loads into a register.
struct Selector {
    SelectorKind kind = SelectorKind::meta;
    uint32_t key = 0;     // meta: NFT_META_*; ct: NFT_CT_*; payload: NFT_PAYLOAD_*_HEADER base
    uint32_t offset = 0;  // payload only: bytes from the start of the base header
    uint32_t len = 0;     // bytes loaded
    auto operator<=>(const Selector&) const = default;
};

enum class Op : uint8_t { eq, neq, lt, lte, gt, gte, range, not_range, in_set, not_in_set };
std::string_view op_name(Op op);

// One element of a set: a value, or an interval lo..hi (inclusive) when hi is not empty.
struct Interval {
    Bytes lo, hi;
    auto operator<=>(const Interval&) const = default;
};

struct Match {
    Selector sel;
    Bytes mask;                      // empty: every bit counts; otherwise (register & mask) is compared
    Op op = Op::eq;
    Bytes value;                     // eq .. gte; lower bound of range
    Bytes value_hi;                  // upper bound of range / not_range
    std::string set;                 // in_set / not_in_set on a named set (without '@')
    std::vector<Interval> elements;  // in_set / not_in_set on an anonymous set, inlined and sorted
    auto operator<=>(const Match&) const = default;
};

enum class VerdictKind : uint8_t { none, accept, drop, continue_, return_, jump, goto_, queue };
std::string_view verdict_name(VerdictKind k);

struct Verdict {
    VerdictKind kind = VerdictKind::none;
    std::string chain;  // jump / goto target
    auto operator<=>(const Verdict&) const = default;
};

// A statement other than the verdict. Parameters use fixed names so the netlink decoder and the text parser agree:
//   counter:  none (packet and byte counts are state, never compared)
//   log:      prefix, level (syslog number as text, "4" when absent), group
//   limit:    rate, unit (second|minute|hour|day|week), burst, type (packets|bytes), over ("1" when inverted)
//   reject:   type (icmp|icmpv6|icmpx|tcp-reset), code (number as text)
//   notrack:  none
//   other:    expr (the netlink expression name); never equal to anything, so a rule holding one is not "verified"
struct Statement {
    enum class Kind : uint8_t { counter, log, limit, reject, notrack, other };
    Kind kind = Kind::counter;
    std::vector<std::pair<std::string, std::string>> params;
    auto operator<=>(const Statement&) const = default;
};

struct Rule {
    std::vector<Match> matches;        // all must hold, in order
    std::vector<Statement> statements;  // in order, before the verdict
    Verdict verdict;
    std::string comment;
    uint64_t handle = 0;   // kernel handle; 0 for rules from a file or a plan
    // Holds an expression plumb does not model (set by the decoder/parser, with what it was). An opaque rule is kept
    // and printed as a comment but never counts as equal or as matching a probe packet.
    std::string opaque;
};

struct Hook {
    std::string type = "filter";  // filter | nat | route
    std::string hook;             // prerouting | input | forward | output | postrouting | ingress | egress
    int32_t priority = 0;
    std::string device;           // netdev ingress/egress only
    auto operator<=>(const Hook&) const = default;
};

struct Chain {
    std::string name;
    std::optional<Hook> hook;                 // set for base chains
    VerdictKind policy = VerdictKind::accept;  // base chains: accept or drop
    std::vector<Rule> rules;
    uint64_t handle = 0;
};

struct Set {
    std::string name;
    std::string key_type;   // nft datatype name: ipv4_addr, ipv6_addr, inet_service, ifname, ...
    uint32_t key_len = 0;   // bytes
    uint32_t flags = 0;     // NFT_SET_* (interval, constant, ...)
    std::vector<Interval> elements;  // sorted
    uint64_t handle = 0;
};

struct Table {
    Family family = Family::inet;
    std::string name;
    uint32_t flags = 0;
    std::vector<Chain> chains;
    std::vector<Set> sets;
    uint64_t handle = 0;

    Chain* chain(std::string_view n);
    const Chain* chain(std::string_view n) const;
    const Set* set(std::string_view n) const;
};

struct Ruleset {
    std::vector<Table> tables;
    // The kernel's ruleset generation the read saw (NFT_MSG_GETGEN); 0 when the ruleset did not come from the kernel.
    // A commit can be made conditional on it, so that a plan checked against this ruleset applies to no other.
    uint32_t generation = 0;
    Table* table(Family f, std::string_view n);
    const Table* table(Family f, std::string_view n) const;
};

// ---- Field catalogue: the named fields of nft's language, shared by the parser, printer, decoder and evaluator.

enum class Type : uint8_t { integer, ifname, ifindex, nfproto, l4proto, ipv4, ipv6, port, ct_state, icmp_type, icmpv6_type, mark };

// The protocol a field belongs to decides the implicit dependency matches nft adds in front of it.
enum class Proto : uint8_t { none, ip, ip6, tcp, udp, th, icmp, icmpv6 };

struct Field {
    std::string_view name;  // as nft prints it: "ip saddr", "tcp dport", "iif", "iifname", "meta l4proto", "ct state"
    Selector sel;
    Type type;
    Proto proto;
};

const std::vector<Field>& fields();
const Field* field_by_name(std::string_view name);
// The field whose selector is exactly `sel`, preferring the one `after` implies (after a [meta l4proto == tcp] match,
// transport+2 is "tcp dport", otherwise "th dport").
const Field* field_for(const Selector& sel, Proto implied = Proto::none);

// The dependency matches nft emits before a match on `proto` in a table of `family` (e.g. inet + tcp:
// [meta l4proto == 6]; inet + icmp: [meta nfproto == ipv4][meta l4proto == 1]; ip + ip: none).
std::vector<Match> dependencies(Family family, Proto proto);

// Brings a match to the one form used for comparison: a shortened payload/ifname compare becomes a full-width load
// with a mask (prefix), set elements are sorted. Call it on every match a producer builds.
void canonicalize(Match& m);
// canonicalize() on every match, then the rule-level forms: [>= a][<= b] on one load becomes one range match.
void canonicalize(Rule& r);

// Helpers to build values.
Bytes be(uint64_t v, size_t len);   // network byte order
Bytes host(uint64_t v, size_t len); // host byte order (meta/ct integers)
Bytes ifname_bytes(std::string_view name);  // NUL-padded to IFNAMSIZ (16)
Match match(const Field& f, Op op, Bytes value);
Match prefix_match(const Field& f, Bytes address, unsigned prefix_bits);  // ip saddr 127.0.0.0/8

// ---- Comparison (persistence: does the boot-time file load what is live?)

// Rule equality for comparison: matches, statements (counters included, their values are not modelled), verdict.
// Comments and handles do not count; an opaque rule is never equal to anything.
bool same_rule(const Rule& a, const Rule& b);

// Differences between two tables, one line per difference ("chain input: policy drop in A, accept in B",
// "chain input rule 3: <printed rule> only in A"). Empty when equivalent.
std::vector<std::string> compare_tables(const Table& a, const Table& b, std::string_view a_name, std::string_view b_name);

}  // namespace plumb::firewall::nft
