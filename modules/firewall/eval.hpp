// What a ruleset does to a packet: plumb's checks ask concrete questions ("is a new TCP connection to port 22 from
// another host accepted on input?") and answer them by walking the base chains the way the kernel does, instead of
// looking for one spelling of a rule. The same walk proves a remediation plan keeps the operator's access.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"

namespace plumb::firewall::nft {

// conntrack state bits as `ct state` compares them (NF_CT_STATE_BIT / NF_CT_STATE_UNTRACKED_BIT).
inline constexpr uint32_t kCtInvalid = 1, kCtEstablished = 2, kCtRelated = 4, kCtNew = 8, kCtUntracked = 64;

struct Packet {
    Family nfproto = Family::ip;  // ip or ip6
    // Input interface on the input hook, output interface on the output hook (the kernel has no other one there).
    std::string iifname = "plumb-probe0";
    uint32_t iif = 0x7ffffff0;  // an index no real interface has, unless the name is "lo"
    Bytes saddr, daddr;         // 4 or 16 bytes, network order
    uint8_t l4proto = 6;
    uint16_t sport = 40000, dport = 22;
    uint8_t icmp_type = 0, icmp_code = 0;
    uint32_t ct_state = kCtNew;
    uint32_t mark = 0;
    std::string describe() const;  // "new tcp 192.0.2.10:40000 -> 198.51.100.1:22 via plumb-probe0"
};

// Probe packets the checks use.
Packet probe_new_tcp(Family nfproto, uint16_t dport);           // from another host, on a non-loopback interface
Packet probe_established(Family nfproto);                       // reply traffic of a connection this host opened
Packet probe_loopback(Family nfproto);                          // 127.0.0.1 / ::1 on lo
// 127.0.0.1 / ::1 arriving on another interface, to a port that is likely open (ssh): a spoofed source must be
// dropped before any rule that accepts by port.
Packet probe_forged_loopback(Family nfproto, uint16_t dport = 22);
// On the output hook (decide(..., "output")): what this host sends.
Packet probe_reply_out(Family nfproto, uint16_t local_port);     // established: this host answering on local_port
Packet probe_loopback_out(Family nfproto);                       // new connection to 127.0.0.1 / ::1 over lo

enum class Fate : uint8_t { accept, drop, unknown };

struct Decision {
    Fate fate = Fate::accept;
    std::string by;  // "rule 3 of chain inet filter input: `tcp dport 22 accept`" or "policy drop of chain inet filter input"
};

// Walks every base chain of type filter on `hook` that sees the packet's family, in priority order, following
// jump/goto/return; an accept ends one base chain and the packet goes on to the next, a drop (or reject) ends all.
// A rule whose matches plumb cannot evaluate (opaque, unknown fields, queue) that could decide the fate makes the
// answer `unknown`, never a guess.
Decision decide(const Ruleset& rs, const Packet& p, std::string_view hook = "input");

std::string describe_fate(Fate f);

}  // namespace plumb::firewall::nft
