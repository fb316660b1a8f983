#include "model.hpp"

#include <algorithm>
#include <cstring>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "text.hpp"

namespace plumb::firewall::nft {

std::string_view family_name(Family f) {
    switch (f) {
        case Family::inet: return "inet";
        case Family::ip: return "ip";
        case Family::arp: return "arp";
        case Family::netdev: return "netdev";
        case Family::bridge: return "bridge";
        case Family::ip6: return "ip6";
    }
    return "unknown";
}

std::optional<Family> family_from_name(std::string_view name) {
    for (Family f : {Family::inet, Family::ip, Family::ip6, Family::arp, Family::bridge, Family::netdev})
        if (family_name(f) == name) return f;
    return std::nullopt;
}

std::string_view op_name(Op op) {
    switch (op) {
        case Op::eq: return "==";
        case Op::neq: return "!=";
        case Op::lt: return "<";
        case Op::lte: return "<=";
        case Op::gt: return ">";
        case Op::gte: return ">=";
        case Op::range: return "in range";
        case Op::not_range: return "not in range";
        case Op::in_set: return "in set";
        case Op::not_in_set: return "not in set";
    }
    return "?";
}

std::string_view verdict_name(VerdictKind k) {
    switch (k) {
        case VerdictKind::none: return "";
        case VerdictKind::accept: return "accept";
        case VerdictKind::drop: return "drop";
        case VerdictKind::continue_: return "continue";
        case VerdictKind::return_: return "return";
        case VerdictKind::jump: return "jump";
        case VerdictKind::goto_: return "goto";
        case VerdictKind::queue: return "queue";
    }
    return "?";
}

Chain* Table::chain(std::string_view n) {
    for (auto& c : chains)
        if (c.name == n) return &c;
    return nullptr;
}
const Chain* Table::chain(std::string_view n) const { return const_cast<Table*>(this)->chain(n); }
const Set* Table::set(std::string_view n) const {
    for (const auto& s : sets)
        if (s.name == n) return &s;
    return nullptr;
}
Table* Ruleset::table(Family f, std::string_view n) {
    for (auto& t : tables)
        if (t.family == f && t.name == n) return &t;
    return nullptr;
}
const Table* Ruleset::table(Family f, std::string_view n) const { return const_cast<Ruleset*>(this)->table(f, n); }

// ---- field catalogue

namespace {

constexpr Selector meta(uint32_t key, uint32_t len) { return {SelectorKind::meta, key, 0, len}; }
constexpr Selector ct(uint32_t key, uint32_t len) { return {SelectorKind::ct, key, 0, len}; }
constexpr Selector network(uint32_t offset, uint32_t len) { return {SelectorKind::payload, NFT_PAYLOAD_NETWORK_HEADER, offset, len}; }
constexpr Selector transport(uint32_t offset, uint32_t len) {
    return {SelectorKind::payload, NFT_PAYLOAD_TRANSPORT_HEADER, offset, len};
}
constexpr Selector link(uint32_t offset, uint32_t len) { return {SelectorKind::payload, NFT_PAYLOAD_LL_HEADER, offset, len}; }

}  // namespace

const std::vector<Field>& fields() {
    // Order matters only among fields with the same selector: the first is the default name (th before tcp/udp).
    static const std::vector<Field> catalogue = {
        {"iif", meta(NFT_META_IIF, 4), Type::ifindex, Proto::none},
        {"oif", meta(NFT_META_OIF, 4), Type::ifindex, Proto::none},
        {"iifname", meta(NFT_META_IIFNAME, 16), Type::ifname, Proto::none},
        {"oifname", meta(NFT_META_OIFNAME, 16), Type::ifname, Proto::none},
        {"meta nfproto", meta(NFT_META_NFPROTO, 1), Type::nfproto, Proto::none},
        {"meta l4proto", meta(NFT_META_L4PROTO, 1), Type::l4proto, Proto::none},
        {"meta mark", meta(NFT_META_MARK, 4), Type::mark, Proto::none},
        {"meta iiftype", meta(NFT_META_IIFTYPE, 2), Type::integer, Proto::none},
        {"meta skuid", meta(NFT_META_SKUID, 4), Type::integer, Proto::none},
        {"meta skgid", meta(NFT_META_SKGID, 4), Type::integer, Proto::none},
        {"meta pkttype", meta(NFT_META_PKTTYPE, 1), Type::integer, Proto::none},
        {"ether type", link(12, 2), Type::integer, Proto::none},
        {"ip protocol", network(9, 1), Type::l4proto, Proto::ip},
        {"ip saddr", network(12, 4), Type::ipv4, Proto::ip},
        {"ip daddr", network(16, 4), Type::ipv4, Proto::ip},
        {"ip6 nexthdr", network(6, 1), Type::l4proto, Proto::ip6},
        {"ip6 saddr", network(8, 16), Type::ipv6, Proto::ip6},
        {"ip6 daddr", network(24, 16), Type::ipv6, Proto::ip6},
        {"th sport", transport(0, 2), Type::port, Proto::th},
        {"th dport", transport(2, 2), Type::port, Proto::th},
        {"tcp sport", transport(0, 2), Type::port, Proto::tcp},
        {"tcp dport", transport(2, 2), Type::port, Proto::tcp},
        {"udp sport", transport(0, 2), Type::port, Proto::udp},
        {"udp dport", transport(2, 2), Type::port, Proto::udp},
        {"icmp type", transport(0, 1), Type::icmp_type, Proto::icmp},
        {"icmp code", transport(1, 1), Type::integer, Proto::icmp},
        {"icmpv6 type", transport(0, 1), Type::icmpv6_type, Proto::icmpv6},
        {"icmpv6 code", transport(1, 1), Type::integer, Proto::icmpv6},
        {"ct state", ct(NFT_CT_STATE, 4), Type::ct_state, Proto::none},
        {"ct status", ct(NFT_CT_STATUS, 4), Type::integer, Proto::none},
        {"ct mark", ct(NFT_CT_MARK, 4), Type::mark, Proto::none},
    };
    return catalogue;
}

const Field* field_by_name(std::string_view name) {
    for (const auto& f : fields())
        if (f.name == name) return &f;
    return nullptr;
}

const Field* field_for(const Selector& sel, Proto implied) {
    const Field* first = nullptr;
    for (const auto& f : fields()) {
        if (f.sel != sel) continue;
        if (f.proto == implied) return &f;
        if (!first) first = &f;
    }
    return first;
}

Bytes be(uint64_t v, size_t len) {
    Bytes b(len);
    for (size_t i = 0; i < len; ++i) b[len - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
    return b;
}

Bytes host(uint64_t v, size_t len) {
    Bytes b(len);
    // The kernel keeps meta/ct integers in host order; copy the low `len` bytes of a host-order value of that width.
    if (len == 1) b[0] = static_cast<uint8_t>(v);
    else if (len == 2) { uint16_t x = static_cast<uint16_t>(v); std::memcpy(b.data(), &x, 2); }
    else if (len == 4) { uint32_t x = static_cast<uint32_t>(v); std::memcpy(b.data(), &x, 4); }
    else { std::memcpy(b.data(), &v, std::min<size_t>(len, 8)); }
    return b;
}

Bytes ifname_bytes(std::string_view name) {
    Bytes b(16, 0);
    std::memcpy(b.data(), name.data(), std::min<size_t>(name.size(), 15));
    return b;
}

Match match(const Field& f, Op op, Bytes value) {
    Match m;
    m.sel = f.sel;
    m.op = op;
    m.value = std::move(value);
    canonicalize(m);
    return m;
}

Match prefix_match(const Field& f, Bytes address, unsigned prefix_bits) {
    Match m;
    m.sel = f.sel;
    m.op = Op::eq;
    m.mask.assign(f.sel.len, 0);
    for (unsigned i = 0; i < prefix_bits && i / 8 < m.mask.size(); ++i) m.mask[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
    m.value = std::move(address);
    m.value.resize(f.sel.len, 0);
    canonicalize(m);
    return m;
}

std::vector<Match> dependencies(Family family, Proto proto) {
    std::vector<Match> deps;
    const bool mixed = family == Family::inet || family == Family::bridge || family == Family::netdev;
    auto nfproto = [&](uint8_t v) { deps.push_back(match(*field_by_name("meta nfproto"), Op::eq, host(v, 1))); };
    auto l4proto = [&](uint8_t v) { deps.push_back(match(*field_by_name("meta l4proto"), Op::eq, host(v, 1))); };
    switch (proto) {
        case Proto::none:
        case Proto::th: break;
        case Proto::ip: if (mixed) nfproto(NFPROTO_IPV4); break;
        case Proto::ip6: if (mixed) nfproto(NFPROTO_IPV6); break;
        case Proto::tcp: l4proto(6); break;
        case Proto::udp: l4proto(17); break;
        case Proto::icmp: if (mixed) nfproto(NFPROTO_IPV4); l4proto(1); break;
        case Proto::icmpv6: if (mixed) nfproto(NFPROTO_IPV6); l4proto(58); break;
    }
    return deps;
}

namespace {

bool all_ones(const Bytes& b) {
    return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0xff; });
}

// The catalogue field that starts where `sel` starts and is wider (nft loads only the bytes a prefix needs).
const Field* wider_field(const Selector& sel) {
    for (const auto& f : fields())
        if (f.sel.kind == sel.kind && f.sel.key == sel.key && f.sel.offset == sel.offset && f.sel.len > sel.len) return &f;
    return nullptr;
}

}  // namespace

void canonicalize(Match& m) {
    const bool compare = m.op != Op::in_set && m.op != Op::not_in_set;
    if (compare && m.sel.kind != SelectorKind::ct) {
        if (const Field* f = wider_field(m.sel)) {
            const size_t short_len = m.sel.len;
            if (m.mask.empty()) m.mask.assign(short_len, 0xff);
            m.mask.resize(f->sel.len, 0);
            m.value.resize(f->sel.len, 0);
            if (!m.value_hi.empty()) m.value_hi.resize(f->sel.len, 0);
            m.sel.len = f->sel.len;
        }
    }
    if (!m.mask.empty() && all_ones(m.mask)) m.mask.clear();
    if (!m.mask.empty()) {
        for (size_t i = 0; i < m.value.size() && i < m.mask.size(); ++i) m.value[i] &= m.mask[i];
    }
    std::sort(m.elements.begin(), m.elements.end());
}

namespace {

// nft merges adjacent payload compares into one load (`tcp sport 1 tcp dport 2` is one 4-byte compare at transport+0,
// `ip saddr a ip daddr b` one 8-byte compare at network+12): such a compare is split back into the catalogue fields it
// covers, so that both spellings give the same matches. Nothing happens unless the fields tile the load exactly.
std::vector<Match> split_merged(const Match& m) {
    if (m.sel.kind != SelectorKind::payload || m.op != Op::eq || !m.mask.empty() || m.value.size() != m.sel.len ||
        field_for(m.sel))
        return {m};
    std::vector<Match> parts;
    uint32_t at = m.sel.offset;
    const uint32_t end = m.sel.offset + m.sel.len;
    while (at < end) {
        const Field* best = nullptr;
        for (const auto& f : fields())
            if (f.sel.kind == m.sel.kind && f.sel.key == m.sel.key && f.sel.offset == at && at + f.sel.len <= end &&
                (!best || f.sel.len > best->sel.len))
                best = &f;
        if (!best) return {m};
        Match part;
        part.sel = best->sel;
        part.op = Op::eq;
        part.value.assign(m.value.begin() + (at - m.sel.offset), m.value.begin() + (at - m.sel.offset + best->sel.len));
        parts.push_back(std::move(part));
        at += best->sel.len;
    }
    return parts;
}

}  // namespace

void canonicalize(Rule& r) {
    for (size_t i = 0; i < r.matches.size(); ++i) {
        auto parts = split_merged(r.matches[i]);
        if (parts.size() < 2) continue;
        r.matches.erase(r.matches.begin() + static_cast<std::ptrdiff_t>(i));
        r.matches.insert(r.matches.begin() + static_cast<std::ptrdiff_t>(i), parts.begin(), parts.end());
        i += parts.size() - 1;
    }
    for (auto& m : r.matches) canonicalize(m);
    // nft writes `udp dport 1000-2000` as [>= 1000][<= 2000] on one load; the model keeps one range match.
    for (size_t i = 0; i + 1 < r.matches.size(); ++i) {
        Match& a = r.matches[i];
        const Match& b = r.matches[i + 1];
        if (a.op == Op::gte && b.op == Op::lte && a.sel == b.sel && a.mask == b.mask) {
            a.op = Op::range;
            a.value_hi = b.value;
            r.matches.erase(r.matches.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        }
    }
}

bool same_rule(const Rule& a, const Rule& b) {
    if (!a.opaque.empty() || !b.opaque.empty()) return false;
    if (a.matches != b.matches || a.verdict != b.verdict || a.statements.size() != b.statements.size()) return false;
    for (size_t i = 0; i < a.statements.size(); ++i) {
        if (a.statements[i].kind == Statement::Kind::other || a.statements[i] != b.statements[i]) return false;
    }
    return true;
}

namespace {

std::string hook_text(const Chain& c) {
    if (!c.hook) return "regular chain";
    return "type " + c.hook->type + " hook " + c.hook->hook + " priority " + std::to_string(c.hook->priority) +
           (c.hook->device.empty() ? "" : " device " + c.hook->device) + " policy " + std::string(verdict_name(c.policy));
}

}  // namespace

std::vector<std::string> compare_tables(const Table& a, const Table& b, std::string_view a_name, std::string_view b_name) {
    std::vector<std::string> diffs;
    const std::string an(a_name), bn(b_name);
    for (const auto& ca : a.chains) {
        const Chain* cb = b.chain(ca.name);
        if (!cb) {
            diffs.push_back("chain " + ca.name + " only in " + an);
            continue;
        }
        if (hook_text(ca) != hook_text(*cb))
            diffs.push_back("chain " + ca.name + ": " + hook_text(ca) + " in " + an + ", " + hook_text(*cb) + " in " + bn);
        const size_t n = std::max(ca.rules.size(), cb->rules.size());
        for (size_t i = 0; i < n; ++i) {
            const Rule* ra = i < ca.rules.size() ? &ca.rules[i] : nullptr;
            const Rule* rb = i < cb->rules.size() ? &cb->rules[i] : nullptr;
            if (ra && rb && same_rule(*ra, *rb)) continue;
            std::string where = "chain " + ca.name + " rule " + std::to_string(i + 1) + ": ";
            if (ra && rb && (!ra->opaque.empty() || !rb->opaque.empty()))
                diffs.push_back(where + "cannot be compared (" + (ra->opaque.empty() ? rb->opaque : ra->opaque) + ")");
            else if (ra && rb)
                diffs.push_back(where + "`" + print_rule(*ra, a.family) + "` in " + an + ", `" + print_rule(*rb, b.family) + "` in " + bn);
            else if (ra)
                diffs.push_back(where + "`" + print_rule(*ra, a.family) + "` only in " + an);
            else
                diffs.push_back(where + "`" + print_rule(*rb, b.family) + "` only in " + bn);
        }
    }
    for (const auto& cb : b.chains)
        if (!a.chain(cb.name)) diffs.push_back("chain " + cb.name + " only in " + bn);
    for (const auto& sa : a.sets) {
        const Set* sb = b.set(sa.name);
        if (!sb) diffs.push_back("set " + sa.name + " only in " + an);
        else if (sa.key_type != sb->key_type || sa.elements != sb->elements)
            diffs.push_back("set " + sa.name + ": different " + (sa.key_type != sb->key_type ? "type" : "elements") + " in " + an + " and " + bn);
    }
    for (const auto& sb : b.sets)
        if (!a.set(sb.name)) diffs.push_back("set " + sb.name + " only in " + bn);
    return diffs;
}

}  // namespace plumb::firewall::nft
