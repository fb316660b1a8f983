#include "eval.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "text.hpp"

namespace plumb::firewall::nft {

namespace {

Bytes address(Family f, const char* text) {
    Bytes b(f == Family::ip6 ? 16 : 4);
    inet_pton(f == Family::ip6 ? AF_INET6 : AF_INET, text, b.data());
    return b;
}

std::string address_text(const Bytes& b) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (b.size() == 4 || b.size() == 16) inet_ntop(b.size() == 4 ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
    return buf;
}

// The bytes of one probe packet that rules can load, laid out once per walk so that evaluating a match allocates
// nothing (a check walks every rule of the hook's chains for each probe). Header bytes plumb does not set are not
// "known": a load that touches them is unknown, never an invented value.
struct ProbeBytes {
    struct Area {
        std::array<uint8_t, 40> bytes{};
        std::array<std::pair<uint8_t, uint8_t>, 2> known{};  // (start, size); size 0 = unused
    };
    Area network, transport;
    std::array<uint8_t, 16> ifname{};
    uint32_t ifindex = 0, nfproto = 0, l4proto = 0, ct_state = 0, mark = 0;
    uint16_t iftype = 0;
    bool output = false;

    ProbeBytes(const Packet& p, bool out) : output(out) {
        std::memcpy(ifname.data(), p.iifname.data(), std::min<size_t>(p.iifname.size(), 15));
        ifindex = p.iif;
        nfproto = p.nfproto == Family::ip6 ? NFPROTO_IPV6 : NFPROTO_IPV4;
        l4proto = p.l4proto;
        ct_state = p.ct_state;
        mark = p.mark;
        iftype = p.iifname == "lo" ? 772 : 1;  // ARPHRD_LOOPBACK / ARPHRD_ETHER
        if (p.nfproto == Family::ip6) {
            network.bytes[6] = p.l4proto;
            std::copy(p.saddr.begin(), p.saddr.end(), network.bytes.begin() + 8);
            std::copy(p.daddr.begin(), p.daddr.end(), network.bytes.begin() + 24);
            network.known = {{{6, 1}, {8, 32}}};
        } else {
            network.bytes[9] = p.l4proto;
            std::copy(p.saddr.begin(), p.saddr.end(), network.bytes.begin() + 12);
            std::copy(p.daddr.begin(), p.daddr.end(), network.bytes.begin() + 16);
            network.known = {{{9, 1}, {12, 8}}};
        }
        if (p.l4proto == 6 || p.l4proto == 17) {
            transport.bytes[0] = static_cast<uint8_t>(p.sport >> 8), transport.bytes[1] = static_cast<uint8_t>(p.sport);
            transport.bytes[2] = static_cast<uint8_t>(p.dport >> 8), transport.bytes[3] = static_cast<uint8_t>(p.dport);
            transport.known = {{{0, 4}, {0, 0}}};
        } else if (p.l4proto == 1 || p.l4proto == 58) {
            transport.bytes[0] = p.icmp_type, transport.bytes[1] = p.icmp_code;
            transport.known = {{{0, 2}, {0, 0}}};
        }
    }
};

// A register's content for one match.
struct Reg {
    enum class State : uint8_t { value, absent, unknown } state = State::unknown;
    uint8_t n = 0;
    std::array<uint8_t, 40> b{};
};

Reg host_value(uint32_t v, size_t len) {
    Reg r;
    r.state = Reg::State::value;
    r.n = static_cast<uint8_t>(len);
    if (len == 1) r.b[0] = static_cast<uint8_t>(v);
    else if (len == 2) { uint16_t x = static_cast<uint16_t>(v); std::memcpy(r.b.data(), &x, 2); }
    else { std::memcpy(r.b.data(), &v, 4); }
    return r;
}

Reg bytes_value(const uint8_t* p, size_t len) {
    Reg r;
    r.state = Reg::State::value;
    r.n = static_cast<uint8_t>(len);
    std::memcpy(r.b.data(), p, len);
    return r;
}

Reg slice(const ProbeBytes::Area& a, uint32_t off, uint32_t len) {
    for (auto [start, size] : a.known)
        if (size && off >= start && off + len <= static_cast<uint32_t>(start) + size && len <= a.bytes.size())
            return bytes_value(a.bytes.data() + off, len);
    return {};
}

// Values for the fields the kernel has no value for on this hook (meta oif on input): the expression breaks and the
// rule does not match.
Reg absent() {
    Reg r;
    r.state = Reg::State::absent;
    return r;
}

Reg value_of(const Selector& sel, const ProbeBytes& p) {
    switch (sel.kind) {
        case SelectorKind::meta:
            switch (sel.key) {
                case NFT_META_IIF: return p.output ? absent() : host_value(p.ifindex, 4);
                case NFT_META_IIFNAME: return p.output ? absent() : bytes_value(p.ifname.data(), 16);
                case NFT_META_OIF: return p.output ? host_value(p.ifindex, 4) : absent();
                case NFT_META_OIFNAME: return p.output ? bytes_value(p.ifname.data(), 16) : absent();
                case NFT_META_NFPROTO: return host_value(p.nfproto, 1);
                case NFT_META_L4PROTO: return host_value(p.l4proto, 1);
                case NFT_META_MARK: return host_value(p.mark, 4);
                case NFT_META_IIFTYPE: return host_value(p.iftype, 2);
                case NFT_META_PKTTYPE: return host_value(0, 1);  // PACKET_HOST
                default: return {};
            }
        case SelectorKind::ct:
            if (sel.key == NFT_CT_STATE) return host_value(p.ct_state, 4);
            return {};
        case SelectorKind::payload:
            if (sel.key == NFT_PAYLOAD_NETWORK_HEADER) return slice(p.network, sel.offset, sel.len);
            if (sel.key == NFT_PAYLOAD_TRANSPORT_HEADER) return slice(p.transport, sel.offset, sel.len);
            return {};
    }
    return {};
}

int compare(const uint8_t* a, size_t an, const Bytes& b) {
    const size_t n = std::min(an, b.size());
    int c = n ? std::memcmp(a, b.data(), n) : 0;
    if (c != 0) return c;
    return an < b.size() ? -1 : an > b.size() ? 1 : 0;
}

bool in_elements(const uint8_t* v, size_t n, const std::vector<Interval>& elements) {
    for (const auto& e : elements) {
        if (e.hi.empty() ? compare(v, n, e.lo) == 0 : compare(v, n, e.lo) >= 0 && compare(v, n, e.hi) <= 0) return true;
    }
    return false;
}

enum class Tri : uint8_t { no, yes, unknown };

Tri holds(const Match& m, const ProbeBytes& p, const Table& t) {
    Reg v = value_of(m.sel, p);
    if (v.state == Reg::State::unknown) return Tri::unknown;
    if (v.state == Reg::State::absent) return Tri::no;
    if (!m.mask.empty())
        for (size_t i = 0; i < v.n && i < m.mask.size(); ++i) v.b[i] &= m.mask[i];
    const uint8_t* d = v.b.data();
    const size_t n = v.n;
    auto yes = [](bool b) { return b ? Tri::yes : Tri::no; };
    switch (m.op) {
        case Op::eq: return yes(compare(d, n, m.value) == 0);
        case Op::neq: return yes(compare(d, n, m.value) != 0);
        case Op::lt: return yes(compare(d, n, m.value) < 0);
        case Op::lte: return yes(compare(d, n, m.value) <= 0);
        case Op::gt: return yes(compare(d, n, m.value) > 0);
        case Op::gte: return yes(compare(d, n, m.value) >= 0);
        case Op::range: return yes(compare(d, n, m.value) >= 0 && compare(d, n, m.value_hi) <= 0);
        case Op::not_range: return yes(!(compare(d, n, m.value) >= 0 && compare(d, n, m.value_hi) <= 0));
        case Op::in_set:
        case Op::not_in_set: {
            bool in;
            if (!m.set.empty()) {
                const Set* s = t.set(m.set);
                if (!s) return Tri::unknown;
                in = in_elements(d, n, s->elements);
            } else {
                in = in_elements(d, n, m.elements);
            }
            return yes(m.op == Op::in_set ? in : !in);
        }
    }
    return Tri::unknown;
}

enum class Flow : uint8_t { accept, drop, unknown, fall_through };

struct Walk {
    const Table& table;
    const Packet& packet;
    const ProbeBytes& bytes;
    std::string by;

    std::string where(const Chain& c, size_t i, const Rule& r) const {
        return "rule " + std::to_string(i + 1) + " of chain " + std::string(family_name(table.family)) + " " + table.name + " " +
               c.name + ": `" + print_rule(r, table.family) + "`";
    }

    Flow run(const Chain& c, int depth) {
        if (depth > 16) {
            by = "jumps nest deeper than 16 chains at chain " + c.name;
            return Flow::unknown;
        }
        for (size_t i = 0; i < c.rules.size(); ++i) {
            const Rule& r = c.rules[i];
            Tri matched = Tri::yes;
            if (!r.opaque.empty()) {
                if (r.verdict.kind == VerdictKind::none) continue;  // nat/mangle statements do not decide the fate
                matched = Tri::unknown;
            }
            for (const auto& m : r.matches) {
                if (matched == Tri::no) break;
                Tri h = holds(m, bytes, table);
                if (h == Tri::no) matched = Tri::no;
                else if (h == Tri::unknown) matched = Tri::unknown;
            }
            bool rejects = false;
            for (const auto& s : r.statements) {
                if (s.kind == Statement::Kind::reject) rejects = true;
                // A probe is one packet: it stays under any rate limit, so `limit rate over` never matches it.
                if (s.kind == Statement::Kind::limit)
                    for (const auto& [k, v] : s.params)
                        if (k == "over" && v == "1") matched = Tri::no;
            }
            if (matched == Tri::no) continue;
            const VerdictKind k = r.verdict.kind;
            const bool decisive = rejects || (k != VerdictKind::none && k != VerdictKind::continue_);
            if (!decisive) continue;
            if (matched == Tri::unknown) {
                by = where(c, i, r) + (r.opaque.empty() ? " (plumb cannot evaluate a match of it)" : " (" + r.opaque + ")");
                return Flow::unknown;
            }
            if (rejects || k == VerdictKind::drop) {
                by = where(c, i, r);
                return Flow::drop;
            }
            switch (k) {
                case VerdictKind::accept: by = where(c, i, r); return Flow::accept;
                case VerdictKind::return_: return Flow::fall_through;
                case VerdictKind::queue: by = where(c, i, r) + " (queued to user space)"; return Flow::unknown;
                case VerdictKind::jump:
                case VerdictKind::goto_: {
                    const Chain* target = table.chain(r.verdict.chain);
                    if (!target) {
                        by = where(c, i, r) + " (no chain " + r.verdict.chain + ")";
                        return Flow::unknown;
                    }
                    Flow f = run(*target, depth + 1);
                    if (f != Flow::fall_through || k == VerdictKind::goto_) return f;
                    break;
                }
                default: break;
            }
        }
        return Flow::fall_through;
    }
};

bool sees(Family table, Family packet) {
    return table == Family::inet || table == packet;
}

}  // namespace

std::string Packet::describe() const {
    std::string proto = l4proto == 6 ? "tcp" : l4proto == 17 ? "udp" : l4proto == 1 ? "icmp" : l4proto == 58 ? "icmpv6" : std::to_string(l4proto);
    std::string state = ct_state == kCtNew ? "new" : ct_state == kCtEstablished ? "established" : ct_state == kCtRelated ? "related" : "ct " + std::to_string(ct_state);
    bool ports = l4proto == 6 || l4proto == 17;
    std::string s = address_text(saddr), d = address_text(daddr);
    if (nfproto == Family::ip6) s = "[" + s + "]", d = "[" + d + "]";
    return state + " " + proto + " " + s + (ports ? ":" + std::to_string(sport) : "") + " -> " + d +
           (ports ? ":" + std::to_string(dport) : "") + " via " + iifname;
}

Packet probe_new_tcp(Family f, uint16_t dport) {
    Packet p;
    p.nfproto = f;
    p.saddr = address(f, f == Family::ip6 ? "2001:db8::10" : "192.0.2.10");
    p.daddr = address(f, f == Family::ip6 ? "2001:db8::1" : "198.51.100.1");
    p.dport = dport;
    return p;
}

Packet probe_established(Family f) {
    Packet p = probe_new_tcp(f, 40000);
    p.sport = 443;
    p.ct_state = kCtEstablished;
    return p;
}

Packet probe_loopback(Family f) {
    Packet p = probe_new_tcp(f, 8080);
    p.iifname = "lo";
    p.iif = 1;
    p.saddr = p.daddr = address(f, f == Family::ip6 ? "::1" : "127.0.0.1");
    return p;
}

Packet probe_forged_loopback(Family f, uint16_t dport) {
    Packet p = probe_new_tcp(f, dport);
    p.saddr = address(f, f == Family::ip6 ? "::1" : "127.0.0.1");
    return p;
}

Packet probe_reply_out(Family f, uint16_t local_port) {
    Packet p = probe_new_tcp(f, 40000);
    std::swap(p.saddr, p.daddr);
    p.sport = local_port;
    p.ct_state = kCtEstablished;
    return p;
}

Packet probe_loopback_out(Family f) {
    Packet p = probe_loopback(f);
    return p;
}

std::string describe_fate(Fate f) {
    return f == Fate::accept ? "accepted" : f == Fate::drop ? "dropped" : "undecidable";
}

Decision decide(const Ruleset& rs, const Packet& p, std::string_view hook) {
    struct Base {
        const Table* table;
        const Chain* chain;
    };
    std::vector<Base> bases;
    for (const auto& t : rs.tables) {
        if (!sees(t.family, p.nfproto)) continue;
        for (const auto& c : t.chains)
            if (c.hook && c.hook->type == "filter" && c.hook->hook == hook) bases.push_back({&t, &c});
    }
    std::stable_sort(bases.begin(), bases.end(), [](const Base& a, const Base& b) { return a.chain->hook->priority < b.chain->hook->priority; });
    Decision d;
    if (bases.empty()) {
        d.by = "no base chain filters " + std::string(hook) + " traffic";
        return d;
    }
    std::vector<std::string> accepted_by;
    const ProbeBytes bytes(p, hook == "output");
    for (const auto& b : bases) {
        Walk w{*b.table, p, bytes, {}};
        Flow f = w.run(*b.chain, 0);
        if (f == Flow::fall_through) {
            w.by = "policy " + std::string(verdict_name(b.chain->policy)) + " of chain " + std::string(family_name(b.table->family)) +
                   " " + b.table->name + " " + b.chain->name;
            f = b.chain->policy == VerdictKind::drop ? Flow::drop : Flow::accept;
        }
        if (f == Flow::accept) {
            accepted_by.push_back(w.by);
            continue;
        }
        d.fate = f == Flow::drop ? Fate::drop : Fate::unknown;
        d.by = w.by;
        return d;
    }
    d.fate = Fate::accept;
    for (size_t i = 0; i < accepted_by.size(); ++i) d.by += (i ? "; " : "") + accepted_by[i];
    return d;
}

}  // namespace plumb::firewall::nft
