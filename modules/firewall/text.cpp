// The nft configuration language of boot-time files, parsed in one pass (a lexer and a recursive-descent parser, no
// regex), and the printer that reproduces `nft list ruleset` of nftables 1.0.6. Both sides speak the model at the
// kernel's level: the parser emits what nft sends to the kernel (its implicit dependency matches included), the
// printer leaves out what nft leaves out. Where nft's behaviour is surprising, the comment says which nft output it
// mirrors; everything here was checked against nft 1.0.6 (`nft -f` then `nft list ruleset` / `--debug=netlink`).
#include "text.hpp"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <net/if.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <span>

namespace plumb::firewall::nft {
namespace {

// ---------------------------------------------------------------------------------------------------------------
// Symbol tables. nft takes protocol and service names from the host's /etc/protocols and /etc/services; plumb must
// not read the host's files (an audited image has its own), so the names are built in: protocols as Debian's netbase
// lists them (what nft prints there), services the common ones (nft 1.0.6 prints ports as numbers anyway).

struct Named {
    uint32_t value;
    std::string_view name;
};

// The first entry of a value is the one printed; later ones are accepted on input only.
constexpr Named kProtocols[] = {
    {0, "ip"}, {1, "icmp"}, {2, "igmp"}, {3, "ggp"}, {4, "ipencap"}, {5, "st"}, {6, "tcp"}, {8, "egp"}, {9, "igp"},
    {12, "pup"}, {17, "udp"}, {20, "hmp"}, {22, "xns-idp"}, {27, "rdp"}, {29, "iso-tp4"}, {33, "dccp"}, {36, "xtp"},
    {37, "ddp"}, {38, "idpr-cmtp"}, {41, "ipv6"}, {43, "ipv6-route"}, {44, "ipv6-frag"}, {45, "idrp"}, {46, "rsvp"},
    {47, "gre"}, {50, "esp"}, {51, "ah"}, {57, "skip"}, {58, "ipv6-icmp"}, {59, "ipv6-nonxt"}, {60, "ipv6-opts"},
    {73, "rspf"}, {81, "vmtp"}, {88, "eigrp"}, {89, "ospf"}, {93, "ax.25"}, {94, "ipip"}, {97, "etherip"},
    {98, "encap"}, {103, "pim"}, {108, "ipcomp"}, {112, "vrrp"}, {115, "l2tp"}, {124, "isis"}, {132, "sctp"},
    {133, "fc"}, {135, "mobility-header"}, {136, "udplite"}, {137, "mpls-in-ip"}, {138, "manet"}, {139, "hip"},
    {140, "shim6"}, {141, "wesp"}, {142, "rohc"}, {143, "ethernet"},
    {0, "hopopt"}, {58, "icmpv6"}, {89, "ospfigp"}, {94, "ipip"}, {108, "ipcomp"}, {50, "ipsec-esp"}, {51, "ipsec-ah"},
};

constexpr Named kServices[] = {
    {20, "ftp-data"}, {21, "ftp"}, {22, "ssh"}, {23, "telnet"}, {25, "smtp"}, {37, "time"}, {43, "whois"},
    {49, "tacacs"}, {53, "domain"}, {67, "bootps"}, {68, "bootpc"}, {69, "tftp"}, {70, "gopher"}, {79, "finger"},
    {80, "http"}, {80, "www"}, {88, "kerberos"}, {110, "pop3"}, {111, "sunrpc"}, {113, "auth"}, {119, "nntp"},
    {123, "ntp"}, {135, "epmap"}, {137, "netbios-ns"}, {138, "netbios-dgm"}, {139, "netbios-ssn"}, {143, "imap2"},
    {143, "imap"}, {161, "snmp"}, {162, "snmp-trap"}, {179, "bgp"}, {194, "irc"}, {389, "ldap"}, {443, "https"},
    {445, "microsoft-ds"}, {464, "kpasswd"}, {465, "submissions"}, {465, "smtps"}, {465, "ssmtp"}, {500, "isakmp"},
    {514, "syslog"}, {514, "shell"}, {515, "printer"}, {520, "route"}, {546, "dhcpv6-client"}, {547, "dhcpv6-server"},
    {554, "rtsp"}, {563, "nntps"}, {587, "submission"}, {631, "ipp"}, {636, "ldaps"}, {853, "domain-s"},
    {873, "rsync"}, {989, "ftps-data"}, {990, "ftps"}, {992, "telnets"}, {993, "imaps"}, {995, "pop3s"},
    {1194, "openvpn"}, {1433, "ms-sql-s"}, {1434, "ms-sql-m"}, {1723, "pptp"}, {1812, "radius"},
    {1813, "radius-acct"}, {2049, "nfs"}, {3260, "iscsi-target"}, {3306, "mysql"}, {3389, "ms-wbt-server"},
    {3690, "svn"}, {4500, "ipsec-nat-t"}, {5060, "sip"}, {5061, "sip-tls"}, {5222, "xmpp-client"},
    {5269, "xmpp-server"}, {5353, "mdns"}, {5432, "postgresql"}, {5672, "amqp"}, {6000, "x11"}, {6667, "ircd"},
    {8080, "http-alt"}, {9418, "git"}, {10050, "zabbix-agent"}, {10051, "zabbix-trapper"},
};

constexpr Named kIcmpTypes[] = {
    {0, "echo-reply"}, {3, "destination-unreachable"}, {4, "source-quench"}, {5, "redirect"}, {8, "echo-request"},
    {9, "router-advertisement"}, {10, "router-solicitation"}, {11, "time-exceeded"}, {12, "parameter-problem"},
    {13, "timestamp-request"}, {14, "timestamp-reply"}, {15, "info-request"}, {16, "info-reply"},
    {17, "address-mask-request"}, {18, "address-mask-reply"},
};

constexpr Named kIcmpv6Types[] = {
    {1, "destination-unreachable"}, {2, "packet-too-big"}, {3, "time-exceeded"}, {4, "parameter-problem"},
    {128, "echo-request"}, {129, "echo-reply"}, {130, "mld-listener-query"}, {131, "mld-listener-report"},
    {132, "mld-listener-done"}, {133, "nd-router-solicit"}, {134, "nd-router-advert"}, {135, "nd-neighbor-solicit"},
    {136, "nd-neighbor-advert"}, {137, "nd-redirect"}, {138, "router-renumbering"}, {141, "ind-neighbor-solicit"},
    {142, "ind-neighbor-advert"}, {143, "mld2-listener-report"}, {132, "mld-listener-reduction"},
};

// conntrack state bits (NF_CT_STATE_*), printed lowest bit first.
constexpr Named kCtStates[] = {{1, "invalid"}, {2, "established"}, {4, "related"}, {8, "new"}, {64, "untracked"}};
constexpr Named kIfaceTypes[] = {{1, "ether"}, {512, "ppp"}, {768, "ipip"}, {769, "ipip6"}, {772, "loopback"},
                                 {776, "sit"}, {778, "ipgre"}};
constexpr Named kPktTypes[] = {{0, "host"}, {1, "broadcast"}, {2, "multicast"}, {3, "other"}};
constexpr Named kNfprotos[] = {{NFPROTO_IPV4, "ipv4"}, {NFPROTO_IPV6, "ipv6"}};
constexpr Named kLogLevels[] = {{0, "emerg"}, {1, "alert"}, {2, "crit"}, {3, "err"}, {4, "warn"},
                                {5, "notice"}, {6, "info"}, {7, "debug"}, {8, "audit"}};
constexpr Named kIcmpCodes[] = {{0, "net-unreachable"}, {1, "host-unreachable"}, {2, "prot-unreachable"},
                                {3, "port-unreachable"}, {4, "frag-needed"}, {9, "net-prohibited"},
                                {10, "host-prohibited"}, {13, "admin-prohibited"}};
constexpr Named kIcmpv6Codes[] = {{0, "no-route"}, {1, "admin-prohibited"}, {3, "addr-unreachable"},
                                  {4, "port-unreachable"}, {5, "policy-fail"}, {6, "reject-route"}};
constexpr Named kIcmpxCodes[] = {{0, "no-route"}, {1, "port-unreachable"}, {2, "host-unreachable"},
                                 {3, "admin-prohibited"}};
constexpr Named kTimeUnits[] = {{1, "second"}, {60, "minute"}, {3600, "hour"}, {86400, "day"}, {604800, "week"}};

std::optional<uint32_t> by_name(std::span<const Named> table, std::string_view name) {
    for (const auto& n : table)
        if (n.name == name) return n.value;
    return std::nullopt;
}

std::optional<std::string_view> by_value(std::span<const Named> table, uint64_t value) {
    for (const auto& n : table)
        if (n.value == value) return n.name;
    return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// Numbers and bytes.

// A whole unsigned number, decimal or 0x hexadecimal; nullopt on anything else or on overflow.
std::optional<uint64_t> parse_number(std::string_view s) {
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    if (s.empty()) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
        unsigned d;
        if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
        else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
        else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
        else return std::nullopt;
        if (v > (UINT64_MAX - d) / static_cast<uint64_t>(base)) return std::nullopt;
        v = v * static_cast<uint64_t>(base) + d;
    }
    return v;
}

std::optional<int64_t> parse_signed(std::string_view s) {
    bool negative = !s.empty() && s[0] == '-';
    if (negative) s.remove_prefix(1);
    auto v = parse_number(s);
    if (!v || *v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return negative ? -static_cast<int64_t>(*v) : static_cast<int64_t>(*v);
}

uint64_t max_for(size_t len) { return len >= 8 ? UINT64_MAX : (uint64_t{1} << (8 * len)) - 1; }

// Most significant byte first, whatever order the register holds the value in: for ordering and interval arithmetic.
Bytes msb_first(const Bytes& b, bool host_order) {
    if (host_order && std::endian::native == std::endian::little) return Bytes(b.rbegin(), b.rend());
    return b;
}

uint64_t to_number(const Bytes& b, bool host_order) {
    uint64_t v = 0;
    for (uint8_t x : msb_first(b, host_order)) v = (v << 8) | x;
    return v;
}

Bytes from_number(uint64_t v, size_t len, bool host_order) { return host_order ? host(v, len) : be(v, len); }

// msb-first increment; false when it wraps around.
bool increment(Bytes& msb) {
    for (size_t i = msb.size(); i-- > 0;)
        if (++msb[i] != 0) return true;
    return false;
}

std::string hex(const Bytes& b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s = "0x";
    for (uint8_t x : b) {
        s += digits[x >> 4];
        s += digits[x & 15];
    }
    return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Value types: how a field's or a set's values are read and printed.

enum class Kind : uint8_t { integer, ifname, ifindex, nfproto, l4proto, ipv4, ipv6, port, ct_state, icmp_type,
                            icmpv6_type, mark, iface_type, pkttype };

struct ValueType {
    Kind kind = Kind::integer;
    uint32_t len = 4;
    bool host_order = true;  // meta and ct registers; payload fields are in network order
};

ValueType value_type(const Field& f) {
    ValueType vt{Kind::integer, f.sel.len, f.sel.kind != SelectorKind::payload};
    switch (f.type) {
        case Type::integer: vt.kind = Kind::integer; break;
        case Type::ifname: vt.kind = Kind::ifname; break;
        case Type::ifindex: vt.kind = Kind::ifindex; break;
        case Type::nfproto: vt.kind = Kind::nfproto; break;
        case Type::l4proto: vt.kind = Kind::l4proto; break;
        case Type::ipv4: vt.kind = Kind::ipv4; break;
        case Type::ipv6: vt.kind = Kind::ipv6; break;
        case Type::port: vt.kind = Kind::port; break;
        case Type::ct_state: vt.kind = Kind::ct_state; break;
        case Type::icmp_type: vt.kind = Kind::icmp_type; break;
        case Type::icmpv6_type: vt.kind = Kind::icmpv6_type; break;
        case Type::mark: vt.kind = Kind::mark; break;
    }
    if (f.name == "meta iiftype") vt.kind = Kind::iface_type;
    if (f.name == "meta pkttype") vt.kind = Kind::pkttype;
    return vt;
}

struct SetType {
    std::string_view name;
    ValueType vt;
};

constexpr SetType kSetTypes[] = {
    {"ipv4_addr", {Kind::ipv4, 4, false}},       {"ipv6_addr", {Kind::ipv6, 16, false}},
    {"inet_service", {Kind::port, 2, false}},    {"inet_proto", {Kind::l4proto, 1, false}},
    {"ifname", {Kind::ifname, 16, true}},        {"mark", {Kind::mark, 4, true}},
    {"ct_state", {Kind::ct_state, 4, true}},     {"icmp_type", {Kind::icmp_type, 1, false}},
    {"icmpv6_type", {Kind::icmpv6_type, 1, false}}, {"iface_type", {Kind::iface_type, 2, true}},
    {"nf_proto", {Kind::nfproto, 1, true}},      {"pkt_type", {Kind::pkttype, 1, true}},
};

std::optional<ValueType> set_value_type(std::string_view key_type) {
    for (const auto& t : kSetTypes)
        if (t.name == key_type) return t.vt;
    return std::nullopt;
}

bool is_address(const ValueType& vt) { return vt.kind == Kind::ipv4 || vt.kind == Kind::ipv6; }

// What reading one value gave: the bytes, a value nft would refuse (invalid), or one plumb cannot know while nft could
// (unknown: a host name, a service name outside the built-in table, an interface that does not exist here).
enum class Got : uint8_t { ok, invalid, unknown };

struct Scalar {
    Got got = Got::ok;
    Bytes bytes;
    std::string why;
};

Scalar ok_value(Bytes b) { return Scalar{Got::ok, std::move(b), {}}; }
Scalar invalid_value(std::string why) { return Scalar{Got::invalid, {}, std::move(why)}; }
Scalar unknown_value(std::string why) { return Scalar{Got::unknown, {}, std::move(why)}; }

Scalar number_value(std::string_view text, const ValueType& vt, uint64_t max) {
    auto n = parse_number(text);
    if (!n) return invalid_value("expected a number, found '" + std::string(text) + "'");
    if (*n > max) return invalid_value("value " + std::string(text) + " exceeds valid range 0-" + std::to_string(max));
    return ok_value(from_number(*n, vt.len, vt.host_order));
}

Scalar named_value(std::string_view text, const ValueType& vt, std::span<const Named> names, uint64_t max,
                   std::string_view what) {
    if (auto v = by_name(names, text)) return ok_value(from_number(*v, vt.len, vt.host_order));
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) return number_value(text, vt, max);
    return invalid_value("unknown " + std::string(what) + " '" + std::string(text) + "'");
}

bool has_alpha(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; });
}

Scalar address_value(std::string_view text, bool v6) {
    std::string s(text);
    Bytes b(v6 ? 16 : 4);
    if (inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), b.data()) == 1) return ok_value(std::move(b));
    if (has_alpha(text) && (v6 ? text.find(':') == std::string_view::npos : true) &&
        text.find_first_of("/:") == std::string_view::npos)
        return unknown_value("host name " + s + " (nft resolves it when it loads the file)");
    return invalid_value(std::string("bad ") + (v6 ? "IPv6" : "IPv4") + " address '" + s + "'");
}

Scalar scalar_value(std::string_view text, const ValueType& vt) {
    const uint64_t max = max_for(vt.len);
    switch (vt.kind) {
        case Kind::integer:
        case Kind::mark: return number_value(text, vt, max);
        case Kind::nfproto: return named_value(text, vt, kNfprotos, max, "nfproto");
        case Kind::ct_state: return named_value(text, vt, kCtStates, max, "conntrack state");
        case Kind::icmp_type: return named_value(text, vt, kIcmpTypes, max, "ICMP type");
        case Kind::icmpv6_type: return named_value(text, vt, kIcmpv6Types, max, "ICMPv6 type");
        case Kind::iface_type: return named_value(text, vt, kIfaceTypes, max, "interface type");
        case Kind::pkttype: return named_value(text, vt, kPktTypes, max, "packet type");
        case Kind::l4proto: {
            if (auto v = by_name(kProtocols, text)) return ok_value(from_number(*v, vt.len, vt.host_order));
            if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) return number_value(text, vt, max);
            return unknown_value("protocol name '" + std::string(text) + "' is not in plumb's table");
        }
        case Kind::port: {
            if (auto v = by_name(kServices, text)) return ok_value(from_number(*v, vt.len, vt.host_order));
            if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) return number_value(text, vt, max);
            return unknown_value("service name '" + std::string(text) + "' is not in plumb's table");
        }
        case Kind::ipv4: return address_value(text, false);
        case Kind::ipv6: return address_value(text, true);
        case Kind::ifname:
            if (text.empty() || text.size() >= IFNAMSIZ)
                return invalid_value("interface name '" + std::string(text) + "' must have 1 to 15 characters");
            return ok_value(ifname_bytes(text));
        case Kind::ifindex: {
            // nft resolves iif/oif names to indexes when it loads the file; lo is 1 in every namespace.
            if (text == "lo") return ok_value(host(1, 4));
            if (text.empty() || text.size() >= IFNAMSIZ)
                return invalid_value("interface name '" + std::string(text) + "' must have 1 to 15 characters");
            std::string name(text);
            if (unsigned idx = if_nametoindex(name.c_str()); idx != 0) return ok_value(host(idx, 4));
            return unknown_value("interface \"" + name + "\" does not exist in this network namespace");
        }
    }
    return invalid_value("unsupported value");
}

// One element as written: a value, a range lo-hi or (addresses) a prefix; hi is empty for a single value.
struct Element {
    Bytes lo, hi;
    int prefix = -1;  // prefix length when written as addr/len
};

struct ElementResult {
    Got got = Got::ok;
    Element element;
    std::string why;
};

bool less_msb(const Bytes& a, const Bytes& b, bool host_order) { return msb_first(a, host_order) < msb_first(b, host_order); }

ElementResult parse_element(std::string_view text, bool quoted, const ValueType& vt) {
    ElementResult r;
    if (!quoted && is_address(vt) && text.find('/') != std::string_view::npos) {
        size_t slash = text.rfind('/');
        Scalar addr = scalar_value(text.substr(0, slash), vt);
        if (addr.got != Got::ok) return {addr.got, {}, addr.why};
        const unsigned width = vt.len * 8;
        auto bits = parse_number(text.substr(slash + 1));
        if (!bits || *bits > width)
            return {Got::invalid, {}, "bad prefix length in '" + std::string(text) + "' (0-" + std::to_string(width) + ")"};
        Bytes lo = addr.bytes, hi = addr.bytes;
        for (unsigned i = static_cast<unsigned>(*bits); i < width; ++i) {
            lo[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
            hi[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
        }
        r.element.lo = std::move(lo);
        if (*bits < width) r.element.hi = std::move(hi);
        r.element.prefix = static_cast<int>(*bits);
        return r;
    }
    Scalar whole = scalar_value(text, vt);
    if (whole.got == Got::ok || quoted) {
        if (whole.got != Got::ok) return {whole.got, {}, whole.why};
        r.element.lo = std::move(whole.bytes);
        return r;
    }
    // A range: nft's lexer splits a-b only between numbers or addresses (echo-reply-echo-request is one name).
    auto numeric = [&](std::string_view side) {
        return is_address(vt) || (!side.empty() && std::isdigit(static_cast<unsigned char>(side[0])));
    };
    for (size_t dash = text.find('-', 1); dash != std::string_view::npos && dash + 1 < text.size();
         dash = text.find('-', dash + 1)) {
        if (!numeric(text.substr(0, dash)) || !numeric(text.substr(dash + 1))) continue;
        Scalar lo = scalar_value(text.substr(0, dash), vt);
        Scalar hi = scalar_value(text.substr(dash + 1), vt);
        if (lo.got != Got::ok || hi.got != Got::ok) continue;
        if (less_msb(hi.bytes, lo.bytes, vt.host_order))
            return {Got::invalid, {}, "range '" + std::string(text) + "' has zero or negative size"};
        r.element.lo = std::move(lo.bytes);
        r.element.hi = std::move(hi.bytes);
        return r;
    }
    return {whole.got, {}, whole.why};
}

// ---------------------------------------------------------------------------------------------------------------
// Printing values the way nft 1.0.6 does.

std::string ifname_text(const Bytes& b) {
    std::string s;
    for (uint8_t c : b) {
        if (c == 0) break;
        s += static_cast<char>(c);
    }
    return s;
}

std::string flags_text(uint64_t v, std::string_view sep) {
    std::string s;
    for (const auto& n : kCtStates) {
        if (!(v & n.value)) continue;
        if (!s.empty()) s += sep;
        s += n.name;
        v &= ~uint64_t{n.value};
    }
    if (v != 0) {
        char buf[24];
        std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
        if (!s.empty()) s += sep;
        s += buf;
    }
    return s.empty() ? "0x0" : s;
}

std::string name_or_number(std::span<const Named> names, uint64_t v) {
    if (auto n = by_value(names, v)) return std::string(*n);
    return std::to_string(v);
}

// `numeric`: how nft prints the ends of a range (range_expr_print() forces numeric output: no symbol names).
std::string format_value(const Bytes& b, const ValueType& vt, bool numeric = false) {
    if (b.size() != vt.len) return hex(b);
    const uint64_t v = vt.len <= 8 ? to_number(b, vt.host_order) : 0;
    if (numeric) {
        switch (vt.kind) {
            case Kind::nfproto: case Kind::l4proto: case Kind::icmp_type: case Kind::icmpv6_type: case Kind::iface_type:
            case Kind::pkttype: return std::to_string(v);
            case Kind::ct_state: {
                char buf[24];
                std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
                return buf;
            }
            default: break;
        }
    }
    switch (vt.kind) {
        case Kind::integer: return vt.len <= 8 ? std::to_string(v) : hex(b);
        case Kind::port: return std::to_string(v);
        case Kind::mark: {
            char buf[16];
            std::snprintf(buf, sizeof buf, "0x%08llx", static_cast<unsigned long long>(v));
            return buf;
        }
        case Kind::nfproto: return name_or_number(kNfprotos, v);
        case Kind::l4proto: return name_or_number(kProtocols, v);
        case Kind::icmp_type: return name_or_number(kIcmpTypes, v);
        case Kind::icmpv6_type: return name_or_number(kIcmpv6Types, v);
        case Kind::iface_type: return name_or_number(kIfaceTypes, v);
        case Kind::pkttype: return name_or_number(kPktTypes, v);
        case Kind::ct_state: return flags_text(v, ",");
        case Kind::ipv4:
        case Kind::ipv6: {
            char buf[INET6_ADDRSTRLEN];
            if (!inet_ntop(vt.kind == Kind::ipv4 ? AF_INET : AF_INET6, b.data(), buf, sizeof buf)) return hex(b);
            return buf;
        }
        case Kind::ifname: return "\"" + ifname_text(b) + "\"";
        case Kind::ifindex: {
            if (v == 1) return "\"lo\"";
            char name[IF_NAMESIZE] = {};
            if (v != 0 && if_indextoname(static_cast<unsigned>(v), name)) return "\"" + std::string(name) + "\"";
            return std::to_string(v);
        }
    }
    return hex(b);
}

// The prefix length when [lo, hi] (msb first) is exactly one prefix block, else -1.
int prefix_of(const Bytes& lo, const Bytes& hi) {
    if (lo.size() != hi.size()) return -1;
    const int width = static_cast<int>(lo.size() * 8);
    int p = 0;
    while (p < width) {
        uint8_t m = static_cast<uint8_t>(0x80u >> (p % 8));
        if ((lo[p / 8] & m) != (hi[p / 8] & m)) break;
        ++p;
    }
    for (int i = p; i < width; ++i) {
        uint8_t m = static_cast<uint8_t>(0x80u >> (i % 8));
        if ((lo[i / 8] & m) || !(hi[i / 8] & m)) return -1;
    }
    return p;
}

std::string format_interval(const Interval& e, const ValueType& vt) {
    if (e.hi.empty() || e.hi == e.lo) return format_value(e.lo, vt);
    if (is_address(vt)) {
        int p = prefix_of(e.lo, e.hi);
        if (p >= 0) return format_value(e.lo, vt) + "/" + std::to_string(p);
    }
    return format_value(e.lo, vt, true) + "-" + format_value(e.hi, vt, true);
}

std::vector<Interval> sorted_for_print(std::vector<Interval> elements, const ValueType& vt) {
    std::sort(elements.begin(), elements.end(), [&](const Interval& a, const Interval& b) {
        Bytes la = msb_first(a.lo, vt.host_order), lb = msb_first(b.lo, vt.host_order);
        if (la != lb) return la < lb;
        return msb_first(a.hi, vt.host_order) < msb_first(b.hi, vt.host_order);
    });
    return elements;
}

// nft's calculate_delim(): named sets wrap after 5 integers or 2 addresses per line, other types one per line.
std::string set_elements_text(const std::vector<Interval>& elements, const ValueType& vt, bool named) {
    static constexpr std::string_view kNewline = ",\n\t\t\t     ";
    size_t per_line = 1;
    switch (vt.kind) {
        case Kind::integer: case Kind::port: case Kind::mark: case Kind::l4proto: case Kind::nfproto:
        case Kind::ifindex: per_line = 5; break;
        case Kind::ipv4: case Kind::ct_state: case Kind::pkttype: per_line = 2; break;
        default: per_line = 1; break;
    }
    std::string s = "{ ";
    size_t count = 0;
    bool first = true;
    for (const auto& e : sorted_for_print(elements, vt)) {
        if (!first) {
            if (!named || count < per_line) {
                s += ", ";
            } else {
                s += kNewline;
                count = 0;
            }
        }
        first = false;
        s += format_interval(e, vt);
        ++count;
    }
    return s + " }";
}

// ---------------------------------------------------------------------------------------------------------------
// Chain priorities: nft prints a standard name (with an offset up to 10) where the family and hook allow it.

struct PrioName {
    int32_t value;
    std::string_view name;
};
constexpr PrioName kPrios[] = {{-300, "raw"}, {-150, "mangle"}, {-100, "dstnat"}, {0, "filter"}, {50, "security"}, {100, "srcnat"}};
constexpr PrioName kBridgePrios[] = {{-300, "dstnat"}, {-200, "filter"}, {100, "out"}, {300, "srcnat"}};

bool prio_fits(int32_t value, Family family, std::string_view hook) {
    if (family == Family::bridge) {
        switch (value) {
            case -300: return hook == "prerouting";
            case -200: return true;
            case 100: return hook == "output";
            case 300: return hook == "postrouting";
        }
        return false;
    }
    const bool inet_like = family == Family::inet || family == Family::ip || family == Family::ip6;
    switch (value) {
        case 0: return inet_like || family == Family::arp || family == Family::netdev;
        case -300: case -150: case 50: return inet_like;
        case -100: return inet_like && hook == "prerouting";
        case 100: return inet_like && hook == "postrouting";
    }
    return false;
}

std::span<const PrioName> prio_names(Family family) {
    if (family == Family::bridge) return kBridgePrios;
    return kPrios;
}

// prio2str() of nft 1.0.6: the first standard priority within 10 decides; if it does not fit the hook, a number.
std::string prio_text(Family family, std::string_view hook, int32_t prio) {
    for (const auto& p : prio_names(family)) {
        const int64_t offset = int64_t{prio} - p.value;
        if (offset < -10 || offset > 10) continue;
        if (!prio_fits(p.value, family, hook)) break;
        std::string s(p.name);
        if (offset > 0) s += " + " + std::to_string(offset);
        if (offset < 0) s += " - " + std::to_string(-offset);
        return s;
    }
    return std::to_string(prio);
}

bool valid_hook(Family family, std::string_view hook) {
    switch (family) {
        case Family::ip: case Family::ip6: case Family::bridge:
            return hook == "prerouting" || hook == "input" || hook == "forward" || hook == "output" || hook == "postrouting";
        case Family::inet:
            return hook == "prerouting" || hook == "input" || hook == "forward" || hook == "output" ||
                   hook == "postrouting" || hook == "ingress";
        case Family::arp: return hook == "input" || hook == "output";
        case Family::netdev: return hook == "ingress" || hook == "egress";
    }
    return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Lexer. Tokens are views into the file text (which outlives the parse); nft's separators are newline and ';', so
// newlines are tokens, and a backslash at the end of a line joins it with the next.

enum class Tok : uint8_t { end, newline, semicolon, lbrace, rbrace, comma, assign, string, word, variable, setref, op,
                           other, unterminated, junk };

struct Token {
    Tok kind = Tok::end;
    std::string_view text;  // word, string contents, variable/set name, operator
    uint32_t file = 0, line = 1, col = 1;
    uint32_t depth = 1;  // include depth of the file it came from
    // Where it stands in the source: its own bytes, or the $variable it was expanded from.
    uint32_t src_file = 0, src_begin = 0, src_end = 0;

    bool is(std::string_view w) const { return kind == Tok::word && w == text; }
    bool name_like() const { return kind == Tok::word || kind == Tok::string; }
};

bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == ':' || c == '-';
}

bool ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Words nft's lexer turns into keywords, so that unquoted they are refused as names and as interface names (nft:
// "syntax error, unexpected udp, expecting string"). Not the whole list: the ones a configuration plausibly uses.
constexpr std::string_view kKeywords[] = {
    "accept", "add", "auto-merge", "bridge", "chain", "comment", "constant", "continue", "counter", "create", "ct",
    "define", "delete", "describe", "device", "devices", "drop", "dynamic", "element", "elements", "fib", "flags",
    "flush", "gc-interval", "goto", "handle", "hook", "icmp", "icmpv6", "iif", "iifname", "include", "index", "inet",
    "insert", "interval", "jump", "limit", "list", "log", "map", "mark", "masquerade", "meta", "monitor", "netdev",
    "notrack", "numgen", "oif", "oifname", "policy", "position", "priority", "queue", "quota", "redefine", "reject",
    "return", "rule", "ruleset", "secmark", "set", "size", "skuid", "synproxy", "table", "tcp", "th", "timeout",
    "tproxy", "type", "typeof", "udp", "undefine", "vmap"};
// Keywords only where a name is expected (an interface name may be spelled so).
constexpr std::string_view kNameKeywords[] = {"arp", "dnat", "ether", "ip", "ip6", "reset", "snat", "vlan"};

bool is_keyword(std::string_view w, bool as_name) {
    for (auto k : kKeywords)
        if (k == w) return true;
    if (as_name)
        for (auto k : kNameKeywords)
            if (k == w) return true;
    return false;
}

class Lexer {
public:
    Lexer(std::string_view src, uint32_t file, uint32_t depth) : src_(src), file_(file), depth_(depth) {}

    Token next() {
        const bool junk = skip_blanks();
        Token t;
        t.file = file_;
        t.line = line_;
        t.col = col_;
        t.depth = depth_;
        const size_t start = pos_;
        if (junk) return finish(t, Tok::junk, start, {});
        if (pos_ >= src_.size()) return finish(t, Tok::end, start, {});
        const char c = src_[pos_];
        switch (c) {
            case '\n': advance(1); return finish(t, Tok::newline, start, {});
            case ';': advance(1); return finish(t, Tok::semicolon, start, {});
            case '{': advance(1); return finish(t, Tok::lbrace, start, {});
            case '}': advance(1); return finish(t, Tok::rbrace, start, {});
            case ',': advance(1); return finish(t, Tok::comma, start, {});
            case '=':
                if (at(1) == '=') {
                    advance(2);
                    return finish(t, Tok::op, start, src_.substr(start, 2));
                }
                advance(1);
                return finish(t, Tok::assign, start, {});
            case '!':
                if (at(1) == '=') {
                    advance(2);
                    return finish(t, Tok::op, start, src_.substr(start, 2));
                }
                advance(1);
                return finish(t, Tok::other, start, src_.substr(start, 1));
            case '<':
            case '>': {
                size_t n = at(1) == '=' ? 2 : 1;
                Tok kind = Tok::op;
                if (at(1) == c) kind = Tok::other, n = 2;  // << >> (shifts: not modelled)
                advance(n);
                return finish(t, kind, start, src_.substr(start, n));
            }
            case '"': {
                size_t close = src_.find('"', pos_ + 1);
                if (close == std::string_view::npos) {
                    advance(src_.size() - pos_);
                    return finish(t, Tok::unterminated, start, {});
                }
                advance(close + 1 - pos_);
                return finish(t, Tok::string, start, src_.substr(start + 1, close - start - 1));
            }
            case '$':
            case '@': {
                size_t end = pos_ + 1;
                while (end < src_.size() && (c == '$' ? ident_char(src_[end]) : word_char(src_[end]))) ++end;
                if (end == pos_ + 1) break;
                advance(end - pos_);
                return finish(t, c == '$' ? Tok::variable : Tok::setref, start, src_.substr(start + 1, end - start - 1));
            }
            default:
                if (word_char(c)) {
                    size_t end = pos_;
                    while (end < src_.size() && word_char(src_[end])) ++end;
                    advance(end - pos_);
                    return finish(t, Tok::word, start, src_.substr(start, end - start));
                }
        }
        advance(1);
        return finish(t, Tok::other, start, src_.substr(start, 1));
    }

    uint32_t file() const { return file_; }
    uint32_t depth() const { return depth_; }
    bool started = false;

private:
    char at(size_t k) const { return pos_ + k < src_.size() ? src_[pos_ + k] : '\0'; }

    void advance(size_t n) {
        for (size_t i = 0; i < n && pos_ < src_.size(); ++i, ++pos_) {
            if (src_[pos_] == '\n') {
                ++line_;
                col_ = 1;
            } else {
                ++col_;
            }
        }
    }

    // True on what nft's scanner calls junk: a comment not ended by a newline, a backslash not ending a line.
    bool skip_blanks() {
        while (pos_ < src_.size()) {
            const char c = src_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
                advance(1);
            } else if (c == '\\') {
                if (at(1) == '\n' || (at(1) == '\r' && at(2) == '\n')) advance(at(1) == '\n' ? 2 : 3);
                else return true;
            } else if (c == '#') {
                size_t eol = src_.find('\n', pos_);
                if (eol == std::string_view::npos) return true;
                advance(eol - pos_);
            } else {
                break;
            }
        }
        return false;
    }

    Token finish(Token t, Tok kind, size_t start, std::string_view text) const {
        t.kind = kind;
        t.text = text;
        t.src_file = file_;
        t.src_begin = static_cast<uint32_t>(start);
        t.src_end = static_cast<uint32_t>(pos_);
        return t;
    }

    std::string_view src_;
    size_t pos_ = 0;
    uint32_t line_ = 1, col_ = 1;
    uint32_t file_;
    uint32_t depth_;
};

std::string describe(const Token& t) {
    switch (t.kind) {
        case Tok::end: return "end of file";
        case Tok::newline: return "newline";
        case Tok::semicolon: return "';'";
        case Tok::lbrace: return "'{'";
        case Tok::rbrace: return "'}'";
        case Tok::comma: return "','";
        case Tok::assign: return "'='";
        case Tok::string: return "\"" + std::string(t.text) + "\"";
        case Tok::variable: return "$" + std::string(t.text);
        case Tok::setref: return "@" + std::string(t.text);
        case Tok::unterminated: return "an unterminated string";
        default: return "'" + std::string(t.text) + "'";
    }
}

bool ends_statement(const Token& t) {
    return t.kind == Tok::newline || t.kind == Tok::semicolon || t.kind == Tok::end || t.kind == Tok::rbrace;
}

std::optional<Family> family_word(const Token& t) {
    if (t.kind != Tok::word) return std::nullopt;
    return family_from_name(t.text);
}

const Field& field(std::string_view name) {
    const Field* f = field_by_name(name);
    // The catalogue always holds the fields this file names; a missing one is a programming error caught by tests.
    if (!f) std::abort();
    return *f;
}

Proto proto_of_l4(uint8_t v) {
    switch (v) {
        case 6: return Proto::tcp;
        case 17: return Proto::udp;
        case 1: return Proto::icmp;
        case 58: return Proto::icmpv6;
    }
    return Proto::none;
}

std::string_view nfproto_word(uint8_t v) { return v == NFPROTO_IPV4 ? "ip" : v == NFPROTO_IPV6 ? "ip6" : "?"; }

std::string_view l4_word(uint8_t v) {
    if (auto n = by_value(kProtocols, v)) return *n;
    return "?";
}

// Interval sets in rules: nft merges overlapping and adjacent elements of an anonymous set (not of named ones).
std::vector<Interval> merge_intervals(std::vector<Element> elements, const ValueType& vt) {
    struct Span {
        Bytes lo, hi;  // msb first
    };
    std::vector<Span> spans;
    for (auto& e : elements)
        spans.push_back({msb_first(e.lo, vt.host_order), msb_first(e.hi.empty() ? e.lo : e.hi, vt.host_order)});
    std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.lo < b.lo; });
    std::vector<Span> merged;
    for (auto& s : spans) {
        if (!merged.empty()) {
            Bytes next = merged.back().hi;
            bool wraps = !increment(next);
            if (wraps || s.lo <= next) {
                if (merged.back().hi < s.hi) merged.back().hi = s.hi;
                continue;
            }
        }
        merged.push_back(std::move(s));
    }
    std::vector<Interval> out;
    for (auto& s : merged) {
        Interval iv;
        iv.lo = msb_first(s.lo, vt.host_order);
        if (s.hi != s.lo) iv.hi = msb_first(s.hi, vt.host_order);
        out.push_back(std::move(iv));
    }
    return out;
}

Interval to_interval(const Element& e) {
    Interval iv{e.lo, e.hi};
    if (iv.hi == iv.lo) iv.hi.clear();
    return iv;
}

std::string one_line(std::string_view s) {
    std::string out;
    bool space = false;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\' && i + 1 < s.size() && (s[i + 1] == '\n' || s[i + 1] == '\r')) c = ' ';
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser.

constexpr uint32_t kMaxIncludeDepth = 16;  // nft's MAX_INCLUDE_DEPTH: files on the include chain, the first one too
constexpr size_t kMaxVariableTokens = 1u << 16;
constexpr int kMaxNesting = 32;

enum class Rel : uint8_t { implicit, eq, neq, lt, lte, gt, gte };

struct RuleCtx {
    Family family = Family::inet;
    size_t table = 0;
    Rule rule;
    // What the rule has settled on so far, which decides the dependencies nft adds (and the conflicts it reports).
    std::optional<uint8_t> nfproto;  // from a dependency, an explicit match or the table family
    std::optional<uint8_t> l4proto;
    bool l4_set = false;      // the transport protocol was matched against a set
    bool ll_unknown = false;  // meta iiftype pinned something other than ether: nft knows no network layer on it
    bool ll_ether = false;    // meta iiftype ether: nft then depends on the ether type, not on meta nfproto
    bool seen_statement = false;
    bool terminal = false;  // a verdict or reject was seen
};

struct Reference {
    Family family;
    std::string table;
    std::string name;
    bool chain;  // jump/goto target, else a named set
    uint32_t key_len = 0;
    Token at;
};

class Parser {
public:
    Parser(FileSource* source, ParseOptions options) : source_(source), options_(std::move(options)) {}

    Result<ParsedConfig> parse_file(const std::string& path) {
        auto text = source_->read(path);
        if (!text) return std::unexpected(text.error());
        return run(*text, path);
    }

    Result<ParsedConfig> run(std::string_view text, const std::string& name) {
        lexers_.emplace_back(text, add_file(name, text), 1);
        scopes_.emplace_back();
        if (top_level() && check_references()) return std::move(out_);
        // Everything that stops the parse sets error_; should a path ever forget, still say where it stopped.
        if (!error_) fail(last_, unsupported_.empty() ? "cannot parse this" : unsupported_);
        return std::unexpected(*error_);
    }

private:
    // ---- errors and notes

    std::string where(const Token& t) const {
        return names_[t.file] + ":" + std::to_string(t.line) + ":" + std::to_string(t.col);
    }

    bool fail(const Token& at, const std::string& what, int code = EINVAL) {
        if (!error_) error_ = Error{code, where(at) + ": " + what};
        return false;
    }

    // The current rule cannot be modelled: it becomes opaque.
    bool unsupported(const Token& at, std::string why) {
        if (unsupported_.empty()) {
            unsupported_ = std::move(why);
            unsupported_at_ = at;
        }
        return false;
    }

    void note(const Token& at, const std::string& what) { out_.notes.push_back(where(at) + ": " + what); }

    uint32_t add_file(const std::string& name, std::string_view text) {
        names_.push_back(name);
        texts_.push_back(text);
        return static_cast<uint32_t>(names_.size() - 1);
    }

    // ---- tokens

    Token raw() {
        for (;;) {
            Lexer& lx = lexers_.back();
            if (!lx.started) {
                lx.started = true;
                out_.files.push_back(names_[lx.file()]);
            }
            Token t = lx.next();
            if (t.kind == Tok::end && lexers_.size() > 1) {
                lexers_.pop_back();  // an included file ends; its parent goes on (no separator implied, as nft)
                continue;
            }
            return t;
        }
    }

    // Makes sure a token is waiting in ahead_, expanding variables.
    bool fill() {
        while (ahead_.empty()) {
            Token t = raw();
            if (t.kind == Tok::unterminated) return fail(t, "unterminated string");
            if (t.kind == Tok::junk)
                return fail(t, "syntax error, unexpected junk (a stray backslash, or a comment without a newline at the end)");
            if (t.kind != Tok::variable) {
                ahead_.push_back(t);
                break;
            }
            const std::vector<Token>* value = lookup(t.text);
            if (!value) return fail(t, "undefined variable $" + std::string(t.text));
            for (Token v : *value) {
                v.src_file = t.src_file;
                v.src_begin = t.src_begin;
                v.src_end = t.src_end;
                ahead_.push_back(v);
            }
        }
        return true;
    }

    bool peek(Token& t) {
        if (!fill()) return false;
        t = ahead_.front();
        return true;
    }

    bool next(Token& t) {
        if (!fill()) return false;
        t = ahead_.front();
        ahead_.pop_front();
        last_ = t;
        if (t.kind == Tok::lbrace) ++braces_;
        if (t.kind == Tok::rbrace) --braces_;
        return true;
    }

    bool next_word(Token& t, std::string_view what) {
        if (!next(t)) return false;
        if (t.kind != Tok::word) return fail(t, "expected " + std::string(what) + ", found " + describe(t));
        return true;
    }

    // A quoted string or a bare word (interface names, prefixes, comments).
    bool next_text(Token& t, std::string_view what) {
        if (!next(t)) return false;
        if (!t.name_like()) return fail(t, "expected " + std::string(what) + ", found " + describe(t));
        if (t.kind == Tok::word && is_keyword(t.text, false)) return fail(t, "syntax error, unexpected " + std::string(t.text));
        return true;
    }

    // A table, chain or set name.
    bool next_name(Token& t, std::string_view what) {
        if (!next(t)) return false;
        if (!t.name_like() || t.text.empty()) return fail(t, "expected " + std::string(what) + ", found " + describe(t));
        return check_name(t);
    }

    // nft's identifiers: unquoted, a letter, '_' or '.' first, then letters, digits, '/', '-', '_', '.'; no keyword.
    bool check_name(const Token& t) {
        auto first = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
        auto rest = [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '-' || c == '_' || c == '.';
        };
        // nft's scanner also hands out addresses as strings, so `chain 10.0.0.1` is a name.
        const bool address = t.kind == Tok::word && (address_value(t.text, false).got == Got::ok ||
                                                     address_value(t.text, true).got == Got::ok);
        if (!address &&
            (t.kind != Tok::word || t.text.empty() || !first(t.text[0]) || !std::all_of(t.text.begin(), t.text.end(), rest)))
            return fail(t, "expected a name (a letter, '_' or '.' then letters, digits, '/', '-', '_', '.'), found " + describe(t));
        if (is_keyword(t.text, true)) return fail(t, "syntax error, unexpected " + std::string(t.text) + " (a keyword)");
        if (t.text.size() > 255) return fail(t, "name too long (at most 255 characters)", ERANGE);  // NFT_NAME_MAXLEN
        return true;
    }

    bool expect(Tok kind, std::string_view what) {
        Token t;
        if (!next(t)) return false;
        if (t.kind != kind) return fail(t, "expected " + std::string(what) + ", found " + describe(t));
        return true;
    }

    // A statement ends with a newline, ';' or the end of the input (nft's stmt_separator).
    bool end_of_statement() {
        Token t;
        if (!peek(t)) return false;
        if (t.kind == Tok::end) return true;
        if (t.kind == Tok::newline || t.kind == Tok::semicolon) return next(t);
        return fail(t, "expected newline or semicolon, found " + describe(t));
    }

    // ---- variables

    const std::vector<Token>* lookup(std::string_view name) const {
        for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
            auto found = it->find(name);
            if (found != it->end()) return &found->second;
        }
        return nullptr;
    }

    bool define(const Token& kw) {
        Token name;
        if (!next_word(name, "a variable name")) return false;
        auto& scope = scopes_.back();
        if (kw.is("undefine")) {
            if (scope.erase(std::string(name.text)) == 0)
                return fail(name, "undefined symbol '" + std::string(name.text) + "'");
            return true;
        }
        if (!expect(Tok::assign, "'=' after define " + std::string(name.text))) return false;
        std::vector<Token> value;
        int depth = 0;
        for (;;) {
            Token t;
            if (!peek(t)) return false;
            if (depth == 0 && (t.kind == Tok::newline || t.kind == Tok::semicolon || t.kind == Tok::end ||
                               t.kind == Tok::rbrace))
                break;
            if (!next(t)) return false;
            if (t.kind == Tok::end) return fail(t, "expected '}' in the value of $" + std::string(name.text));
            if (t.kind == Tok::lbrace) ++depth;
            if (t.kind == Tok::rbrace) --depth;
            if (t.kind == Tok::newline) continue;
            if (value.size() >= kMaxVariableTokens)
                return fail(t, "the value of $" + std::string(name.text) + " is too large", E2BIG);
            value.push_back(t);
        }
        if (value.empty()) return fail(name, "expected a value after define " + std::string(name.text) + " =");
        auto [it, added] = scope.try_emplace(std::string(name.text));
        if (!added && kw.is("define")) return fail(name, "redefinition of symbol '" + std::string(name.text) + "'");
        it->second = std::move(value);
        return true;
    }

    // ---- includes

    std::vector<std::string> candidates(const std::string& path) const {
        if (path.starts_with("/")) return {path};
        if (path.starts_with("./") || path.starts_with("../")) return {join(options_.working_dir, path)};
        std::vector<std::string> out;
        for (const auto& dir : options_.include_dirs) out.push_back(join(dir, path));
        return out;
    }

    static std::string join(const std::string& dir, const std::string& rel) {
        if (dir.empty() || dir == "/") return "/" + rel;
        return dir.back() == '/' ? dir + rel : dir + "/" + rel;
    }

    static bool has_wildcard(std::string_view s) { return s.find_first_of("*?[") != std::string_view::npos; }

    // glob(3) with GLOB_MARK | GLOB_NOESCAPE as nft uses it: sorted, directories left out by the caller.
    std::vector<std::string> expand(const std::string& pattern) {
        std::vector<std::string> paths = {""};
        size_t pos = 0;
        while (pos < pattern.size()) {
            size_t slash = pattern.find('/', pos);
            std::string comp = pattern.substr(pos, slash == std::string::npos ? std::string::npos : slash - pos);
            pos = slash == std::string::npos ? pattern.size() : slash + 1;
            if (comp.empty()) continue;
            std::vector<std::string> next_paths;
            for (const auto& p : paths) {
                if (!has_wildcard(comp)) {
                    next_paths.push_back(p + "/" + comp);
                    continue;
                }
                auto names = source_->list_dir(p.empty() ? "/" : p);
                if (!names) continue;
                for (const auto& n : *names)
                    if (fnmatch(comp.c_str(), n.c_str(), FNM_PERIOD | FNM_NOESCAPE) == 0) next_paths.push_back(p + "/" + n);
            }
            paths = std::move(next_paths);
        }
        std::sort(paths.begin(), paths.end());
        return paths;
    }

    bool include(const Token& kw) {
        Token path;
        if (!next(path)) return false;
        if (path.kind != Tok::string) return fail(path, "expected a quoted file name after include, found " + describe(path));
        if (!end_of_statement()) return false;
        const std::string name(path.text);
        if (!source_) {
            note(kw, "include \"" + name + "\" not followed (text parsed without a file source)");
            return true;
        }
        if (kw.depth >= kMaxIncludeDepth)
            return fail(kw, "include nested too deeply, max " + std::to_string(kMaxIncludeDepth) + " levels", ELOOP);
        std::vector<std::string> files;
        for (const auto& pattern : candidates(name)) {
            for (auto& p : expand(pattern)) {
                auto st = source_->stat(p, true);
                if (st && st->type != FileType::directory) files.push_back(std::move(p));
            }
            if (!files.empty()) break;
        }
        if (files.empty()) {
            if (has_wildcard(name)) return true;
            return fail(kw, "File not found: " + name, ENOENT);
        }
        std::vector<std::pair<std::string, std::string_view>> read;
        for (auto& f : files) {
            auto text = source_->read(f);
            if (!text) return fail(kw, "cannot read " + f + ": " + text.error().message, text.error().code);
            read.emplace_back(std::move(f), *text);
        }
        for (auto it = read.rbegin(); it != read.rend(); ++it)
            lexers_.emplace_back(it->second, add_file(it->first, it->second), kw.depth + 1);
        return true;
    }

    // include and the variable statements, allowed at every block level.
    bool common(const Token& t, bool& handled) {
        handled = true;
        if (t.is("include")) return include(t);
        if (t.is("define") || t.is("redefine") || t.is("undefine")) return define(t) && end_of_statement();
        handled = false;
        return true;
    }

    // ---- ruleset helpers

    Table* find_table(Family f, std::string_view name) { return out_.ruleset.table(f, name); }

    size_t ensure_table(Family f, const std::string& name) {
        for (size_t i = 0; i < out_.ruleset.tables.size(); ++i)
            if (out_.ruleset.tables[i].family == f && out_.ruleset.tables[i].name == name) return i;
        Table t;
        t.family = f;
        t.name = name;
        out_.ruleset.tables.push_back(std::move(t));
        return out_.ruleset.tables.size() - 1;
    }

    Table& table(size_t i) { return out_.ruleset.tables[i]; }

    // [family] name. With `lone` the name must be the last word (table commands): a second word means the first was
    // meant as a family nft does not know.
    bool table_spec(Family& family, Token& name, bool lone) {
        Token a;
        if (!next(a)) return false;
        if (!a.name_like() || a.text.empty()) return fail(a, "expected a table name, found " + describe(a));
        Token b;
        if (!peek(b)) return false;
        if (auto f = family_word(a)) {
            // nft's lexer makes family names keywords: `table inet {` lacks the name.
            if (!b.name_like()) return fail(b, "expected a table name after " + std::string(a.text) + ", found " + describe(b));
            family = *f;
            return next(name) && check_name(name);
        }
        if (lone && a.kind == Tok::word && b.name_like()) return fail(a, "unknown family '" + std::string(a.text) + "'");
        family = Family::ip;  // nft's default family
        name = a;
        return check_name(name);
    }

    bool existing_table(Family family, const Token& name, size_t& index) {
        for (size_t i = 0; i < out_.ruleset.tables.size(); ++i) {
            if (out_.ruleset.tables[i].family == family && out_.ruleset.tables[i].name == name.text) {
                index = i;
                return true;
            }
        }
        return fail(name, "table " + std::string(family_name(family)) + " " + std::string(name.text) + " does not exist",
                    ENOENT);
    }

    bool existing_chain(size_t ti, const Token& name) {
        if (table(ti).chain(name.text)) return true;
        return fail(name, "chain " + std::string(name.text) + " does not exist in table " +
                              std::string(family_name(table(ti).family)) + " " + table(ti).name, ENOENT);
    }

    Set* find_set(size_t ti, std::string_view name) {
        for (auto& s : table(ti).sets)
            if (s.name == name) return &s;
        return nullptr;
    }

    // ---- top level

    bool top_level() {
        for (;;) {
            Token t;
            if (!next(t)) return false;
            if (t.kind == Tok::end) return true;
            if (t.kind == Tok::newline || t.kind == Tok::semicolon) continue;
            if (t.kind != Tok::word)
                return fail(t, "expected a command (table, add, insert, flush, delete, define, include), found " + describe(t));
            bool handled = false;
            if (!common(t, handled)) return false;
            if (handled) continue;
            if (!command(t) || !end_of_statement()) return false;
        }
    }

    bool command(const Token& t) {
        if (t.is("add") || t.is("create")) return add_cmd(t);
        if (t.is("insert")) return rule_cmd(t, true);
        if (t.is("flush")) return flush_cmd(t);
        if (t.is("delete")) return delete_cmd(t);
        // Without a command word nft adds: `table inet t { ... }`, `chain inet t c`, `rule inet t c accept`, and
        // even `inet t c accept`.
        if (add_object(t, false)) return true;
        if (error_) return false;
        if (family_word(t)) {
            ahead_.push_front(t);
            return rule_cmd(t, false);
        }
        return fail(t, "unknown command '" + std::string(t.text) +
                           "' (expected table, chain, set, rule, add, create, insert, flush, delete, define or include)");
    }

    bool table_decl(const Token& kw, bool block_optional, bool create) {
        Family family;
        Token name;
        if (!table_spec(family, name, true)) return false;
        if (create && find_table(family, name.text))
            return fail(name, "table " + std::string(name.text) + " already exists", EEXIST);
        const size_t ti = ensure_table(family, std::string(name.text));
        Token b;
        if (!peek(b)) return false;
        if (b.kind != Tok::lbrace) {
            if (block_optional) return true;
            return fail(b, "expected '{' after table " + std::string(name.text) + ", found " + describe(b));
        }
        if (!next(b)) return false;
        scopes_.emplace_back();
        const bool ok = table_body(ti);
        scopes_.pop_back();
        return ok;
    }

    bool table_body(size_t ti) {
        for (;;) {
            Token t;
            if (!next(t)) return false;
            if (t.kind == Tok::newline || t.kind == Tok::semicolon) continue;
            if (t.kind == Tok::rbrace) return true;
            if (t.kind != Tok::word)
                return fail(t, "expected chain, set or '}' in table " + table(ti).name + ", found " + describe(t));
            bool handled = false;
            if (!common(t, handled)) return false;
            if (handled) continue;
            bool ok;
            if (t.is("chain")) ok = chain_decl(ti, false);
            else if (t.is("set")) ok = set_decl(ti);
            else if (t.is("flags")) ok = table_flags(ti);
            else if (t.is("comment")) ok = skip_declaration(t, "table comment");
            else if (t.is("map") || t.is("flowtable") || t.is("counter") || t.is("quota") || t.is("limit") ||
                     t.is("ct") || t.is("secmark") || t.is("synproxy"))
                ok = skip_declaration(t, std::string(t.text) + " declaration");
            else
                return fail(t, "expected chain, set or '}' in table " + table(ti).name + ", found " + describe(t));
            if (!ok || !end_of_statement()) return false;
        }
    }

    bool table_flags(size_t ti) {
        for (;;) {
            Token f;
            if (!next_word(f, "a table flag")) return false;
            if (f.is("dormant")) table(ti).flags |= NFT_TABLE_F_DORMANT;
            else if (f.is("owner")) note(f, "table flag owner not modelled (such a table goes away when nft exits)");
            else return fail(f, "unknown table flag '" + std::string(f.text) + "'");
            Token c;
            if (!peek(c)) return false;
            if (c.kind != Tok::comma) return true;
            if (!next(c)) return false;
        }
    }

    // Declarations outside the model (maps, flowtables, stateful objects): skipped up to the end of the statement,
    // with a note so that the caller knows the model is not the whole file.
    bool skip_declaration(const Token& kw, const std::string& what) {
        note(kw, what + " not modelled, skipped");
        int depth = 0;
        for (;;) {
            Token t;
            if (!peek(t)) return false;
            if (t.kind == Tok::end) {
                if (depth > 0) return fail(t, "expected '}', found end of file");
                return true;
            }
            if (depth == 0 && (t.kind == Tok::newline || t.kind == Tok::semicolon || t.kind == Tok::rbrace)) return true;
            if (!next(t)) return false;
            if (t.kind == Tok::lbrace) ++depth;
            if (t.kind == Tok::rbrace && --depth == 0) return true;
        }
    }

    // ---- chains

    bool chain_decl(size_t ti, bool block_optional) {
        Token name;
        if (!next_name(name, "a chain name")) return false;
        if (!table(ti).chain(name.text)) {
            Chain c;
            c.name = std::string(name.text);
            table(ti).chains.push_back(std::move(c));
        }
        Token b;
        if (!peek(b)) return false;
        if (b.kind != Tok::lbrace) {
            if (block_optional) return true;
            return fail(b, "expected '{' after chain " + std::string(name.text) + ", found " + describe(b));
        }
        if (!next(b)) return false;
        scopes_.emplace_back();
        const bool ok = chain_body(ti, std::string(name.text));
        scopes_.pop_back();
        return ok;
    }

    bool chain_body(size_t ti, const std::string& chain) {
        for (;;) {
            Token t;
            if (!peek(t)) return false;
            if (t.kind == Tok::newline || t.kind == Tok::semicolon) {
                if (!next(t)) return false;
                continue;
            }
            if (t.kind == Tok::rbrace) return next(t);
            if (t.kind == Tok::end) return fail(t, "expected '}' to close chain " + chain + ", found end of file");
            bool ok;
            if (t.is("type")) {
                ok = next(t) && hook_spec(ti, chain);
            } else if (t.is("policy")) {
                ok = next(t) && policy_spec(ti, chain);
            } else if (t.is("comment") || t.is("devices")) {
                ok = next(t) && skip_declaration(t, "chain " + std::string(t.text));
            } else if (t.is("include") || t.is("define") || t.is("redefine") || t.is("undefine")) {
                bool handled = false;
                if (!next(t) || !common(t, handled)) return false;
                continue;
            } else {
                Rule r;
                ok = parse_rule(ti, r);
                if (ok) table(ti).chain(chain)->rules.push_back(std::move(r));
            }
            if (!ok || !end_of_statement()) return false;
        }
    }

    bool parse_priority(Family family, const std::string& hook, int32_t& out) {
        Token t;
        if (!next_word(t, "a priority")) return false;
        int64_t value;
        if (auto n = parse_signed(t.text)) {
            value = *n;
        } else {
            std::optional<int32_t> base;
            for (const auto& p : prio_names(family))
                if (p.name == t.text && prio_fits(p.value, family, hook)) base = p.value;
            if (!base) return fail(t, "'" + std::string(t.text) + "' is invalid priority in this context.");
            value = *base;
            Token sign;
            if (!peek(sign)) return false;
            if (sign.text == "+" || sign.text == "-") {
                if (!next(sign)) return false;
                Token off;
                if (!next_word(off, "a priority offset")) return false;
                auto n = parse_number(off.text);
                if (!n || *n > INT32_MAX) return fail(off, "bad priority offset '" + std::string(off.text) + "'");
                value += sign.text == "+" ? static_cast<int64_t>(*n) : -static_cast<int64_t>(*n);
            }
        }
        if (value < INT32_MIN || value > INT32_MAX) return fail(t, "priority out of range");
        out = static_cast<int32_t>(value);
        return true;
    }

    // type TYPE hook HOOK [device NAME] priority PRIO
    bool hook_spec(size_t ti, const std::string& chain) {
        const Family family = table(ti).family;
        Hook h;
        Token t;
        if (!next_word(t, "a chain type (filter, nat, route)")) return false;
        if (!t.is("filter") && !t.is("nat") && !t.is("route")) return fail(t, "unknown chain type '" + std::string(t.text) + "'");
        if ((t.is("nat") || t.is("route")) && !(family == Family::ip || family == Family::ip6 || family == Family::inet))
            return fail(t, "chain type " + std::string(t.text) + " is not supported in the " + std::string(family_name(family)) + " family");
        h.type = std::string(t.text);
        Token kw;
        if (!next(kw)) return false;
        if (!kw.is("hook")) return fail(kw, "expected hook, found " + describe(kw));
        if (!next_word(t, "a hook name")) return false;
        if (!valid_hook(family, t.text))
            return fail(t, "unknown hook '" + std::string(t.text) + "' for the " + std::string(family_name(family)) + " family");
        h.hook = std::string(t.text);
        if (!next(kw)) return false;
        if (kw.is("device")) {
            Token dev;
            if (!next_text(dev, "a device name")) return false;
            h.device = std::string(dev.text);
            if (!next(kw)) return false;
        }
        if (!kw.is("priority")) return fail(kw, "expected priority, found " + describe(kw));
        if (!parse_priority(family, h.hook, h.priority)) return false;
        Chain* c = table(ti).chain(chain);
        if (c->hook && *c->hook != h)
            return fail(kw, "chain " + chain + " already exists with a different hook", EEXIST);
        if (!c->hook && !c->rules.empty())
            return fail(kw, "chain " + chain + " already exists as a regular chain", EEXIST);
        c->hook = h;
        return true;
    }

    bool policy_spec(size_t ti, const std::string& chain) {
        Token t;
        if (!next_word(t, "a policy (accept or drop)")) return false;
        Chain* c = table(ti).chain(chain);
        if (t.is("accept")) c->policy = VerdictKind::accept;
        else if (t.is("drop")) c->policy = VerdictKind::drop;
        else return fail(t, "expected accept or drop after policy, found " + describe(t));
        return true;
    }

    // ---- sets

    struct PendingSet {
        std::optional<ValueType> vt;
        bool type_known = true;
        bool auto_merge = false;
        std::vector<std::pair<Element, Token>> elements;
    };

    bool set_decl(size_t ti) {
        Token name;
        if (!next_name(name, "a set name")) return false;
        Token b;
        if (!peek(b)) return false;
        if (b.kind != Tok::lbrace) return fail(b, "expected '{' after set " + std::string(name.text) + ", found " + describe(b));
        if (!next(b)) return false;
        Set* s = find_set(ti, name.text);
        if (!s) {
            Set fresh;
            fresh.name = std::string(name.text);
            table(ti).sets.push_back(std::move(fresh));
            s = &table(ti).sets.back();
        }
        PendingSet pending;
        if (!s->key_type.empty()) pending.vt = set_value_type(s->key_type);
        scopes_.emplace_back();
        const bool ok = set_body(ti, name, pending);
        scopes_.pop_back();
        if (!ok) return false;
        s = find_set(ti, name.text);
        if (s->key_type.empty()) return fail(name, "set " + std::string(name.text) + " has no type");
        return add_elements(*s, pending, name);
    }

    bool set_body(size_t ti, const Token& name, PendingSet& pending) {
        for (;;) {
            Token t;
            if (!next(t)) return false;
            if (t.kind == Tok::newline || t.kind == Tok::semicolon) continue;
            if (t.kind == Tok::rbrace) return true;
            if (t.kind == Tok::end) return fail(t, "expected '}' to close set " + std::string(name.text));
            if (t.kind != Tok::word) return fail(t, "expected type, flags, elements or '}' in set " + std::string(name.text) + ", found " + describe(t));
            bool handled = false;
            if (!common(t, handled)) return false;
            if (handled) continue;
            Set* s = find_set(ti, name.text);
            if (t.is("type") || t.is("typeof")) {
                if (!set_type(t, *s, pending) || !end_of_statement()) return false;
            } else if (t.is("flags")) {
                if (!set_flags(*s) || !end_of_statement()) return false;
            } else if (t.is("elements")) {
                if (!expect(Tok::assign, "'=' after elements") || !expect(Tok::lbrace, "'{' after elements =")) return false;
                if (!pending.vt) {
                    if (pending.type_known) return fail(t, "set " + std::string(name.text) + ": elements before its type");
                    if (!skip_block(t)) return false;
                    continue;
                }
                if (!set_elements(t, *pending.vt, pending)) return false;
            } else if (t.is("auto-merge")) {
                pending.auto_merge = true;
                note(t, "set auto-merge not modelled (the elements are merged, the flag is not printed)");
            } else if (t.is("size") || t.is("policy") || t.is("timeout") || t.is("gc-interval") || t.is("counter") ||
                       t.is("comment")) {
                if (!skip_declaration(t, "set " + std::string(t.text)) || !end_of_statement()) return false;
            } else {
                return fail(t, "expected type, flags, elements or '}' in set " + std::string(name.text) + ", found " + describe(t));
            }
        }
    }

    bool set_type(const Token& kw, Set& s, PendingSet& pending) {
        Token t;
        if (!next_word(t, "a set type")) return false;
        std::string type(t.text);
        Token more;
        if (!peek(more)) return false;
        if (kw.is("typeof") || !ends_statement(more) || !set_value_type(type)) {
            // Concatenations, typeof and types outside the table: the set exists, its elements are not modelled.
            while (!ends_statement(more)) {
                if (!next(more)) return false;
                type += " " + std::string(more.text);
                if (!peek(more)) return false;
            }
            if (kw.is("typeof")) type = "typeof " + type;
            note(kw, "set " + s.name + " of type " + type + ": elements not modelled");
            pending.type_known = false;
            pending.vt.reset();
            s.key_type = type;
            return true;
        }
        if (!s.key_type.empty() && s.key_type != type)
            return fail(t, "set " + s.name + " already exists with type " + s.key_type, EEXIST);
        s.key_type = type;
        pending.vt = set_value_type(type);
        s.key_len = pending.vt->len;
        return true;
    }

    bool set_flags(Set& s) {
        for (;;) {
            Token f;
            if (!next_word(f, "a set flag")) return false;
            if (f.is("constant")) s.flags |= NFT_SET_CONSTANT;
            else if (f.is("interval")) s.flags |= NFT_SET_INTERVAL;
            else if (f.is("timeout")) s.flags |= NFT_SET_TIMEOUT;
            else if (f.is("dynamic")) s.flags |= NFT_SET_EVAL;
            else return fail(f, "unknown set flag '" + std::string(f.text) + "'");
            Token c;
            if (!peek(c)) return false;
            if (c.kind != Tok::comma) return true;
            if (!next(c)) return false;
        }
    }

    bool skip_block(const Token& at) {
        int depth = 1;
        while (depth > 0) {
            Token t;
            if (!next(t)) return false;
            if (t.kind == Tok::end) return fail(at, "expected '}' to close the block opened here");
            if (t.kind == Tok::lbrace) ++depth;
            if (t.kind == Tok::rbrace) --depth;
        }
        return true;
    }

    // The elements of a named set, after '{'. Element options (timeouts, comments, counters) are outside the model:
    // the rest of the block is skipped with a note.
    bool set_elements(const Token& at, const ValueType& vt, PendingSet& pending) {
        std::vector<std::pair<Element, Token>> got;
        unsupported_.clear();
        if (!element_list(vt, got, 0)) {
            if (error_) return false;
            note(unsupported_at_, "set elements not modelled: " + unsupported_);
            unsupported_.clear();
            pending.type_known = false;
            return skip_block(at);
        }
        for (auto& e : got) pending.elements.push_back(std::move(e));
        return true;
    }

    bool add_elements(Set& s, PendingSet& pending, const Token& name) {
        if (!pending.vt) return true;
        const ValueType& vt = *pending.vt;
        std::vector<Element> all;
        for (const auto& e : s.elements) all.push_back(Element{e.lo, e.hi});
        for (auto& [e, at] : pending.elements) {
            if (!e.hi.empty() && !(s.flags & NFT_SET_INTERVAL))
                return fail(at, "you must add 'flags interval' to the declaration of set " + s.name +
                                    " to use ranges or prefixes");
            all.push_back(std::move(e));
        }
        pending.elements.clear();
        if ((s.flags & NFT_SET_INTERVAL) && pending.auto_merge) {
            s.elements = merge_intervals(std::move(all), vt);
        } else {
            // Without auto-merge nft keeps the elements as written and refuses overlapping intervals.
            s.elements.clear();
            for (auto& e : all) s.elements.push_back(to_interval(e));
            std::sort(s.elements.begin(), s.elements.end());
            s.elements.erase(std::unique(s.elements.begin(), s.elements.end()), s.elements.end());
            if ((s.flags & NFT_SET_INTERVAL) && !overlap_free(s.elements, vt))
                return fail(name, "conflicting intervals specified in set " + s.name);
        }
        std::sort(s.elements.begin(), s.elements.end());
        s.elements.erase(std::unique(s.elements.begin(), s.elements.end()), s.elements.end());
        return true;
    }

    static bool overlap_free(const std::vector<Interval>& elements, const ValueType& vt) {
        std::vector<std::pair<Bytes, Bytes>> spans;
        for (const auto& e : elements)
            spans.emplace_back(msb_first(e.lo, vt.host_order), msb_first(e.hi.empty() ? e.lo : e.hi, vt.host_order));
        std::sort(spans.begin(), spans.end());
        for (size_t i = 1; i < spans.size(); ++i)
            if (spans[i].first <= spans[i - 1].second) return false;
        return true;
    }

    // value, range or prefix elements up to the closing '}' (nested sets, from variables, are flattened).
    bool element_list(const ValueType& vt, std::vector<std::pair<Element, Token>>& out, int depth) {
        if (depth > kMaxNesting) return fail(last_, "sets nested too deeply");
        for (;;) {
            Token t;
            if (!next(t)) return false;
            switch (t.kind) {
                case Tok::newline:
                case Tok::comma: continue;
                case Tok::rbrace: return true;
                case Tok::lbrace:
                    if (!element_list(vt, out, depth + 1)) return false;
                    continue;
                case Tok::end: return fail(t, "expected '}' to close the set, found end of file");
                case Tok::word:
                case Tok::string: {
                    Element e;
                    if (!element(t, vt, e)) return false;
                    out.emplace_back(std::move(e), t);
                    Token after;
                    if (!peek(after)) return false;
                    if (after.kind != Tok::comma && after.kind != Tok::rbrace && after.kind != Tok::newline)
                        return unsupported(after, "set element option " + describe(after));
                    continue;
                }
                default: return unsupported(t, "unexpected " + describe(t) + " in a set");
            }
        }
    }

    // One value token (with a spaced range "a - b" joined), as an element.
    bool element(const Token& t, const ValueType& vt, Element& out) {
        if ((vt.kind == Kind::ifname || vt.kind == Kind::ifindex) && t.kind == Tok::word) {
            if (is_keyword(t.text, false)) return fail(t, "syntax error, unexpected " + std::string(t.text));
            // nft reads an unquoted a/b as a prefix expression even on strings.
            if (t.text.find('/') != std::string_view::npos) return unsupported(t, "interface name " + describe(t));
        }
        ElementResult r = parse_element(t.text, t.kind == Tok::string, vt);
        if (r.got == Got::ok && r.element.hi.empty() && r.element.prefix < 0) {
            Token dash;
            if (!peek(dash)) return false;
            if (dash.is("-")) {
                Token hi;
                if (!next(dash) || !next(hi)) return false;
                if (!hi.name_like()) return fail(hi, "expected the end of the range, found " + describe(hi));
                ElementResult h = parse_element(hi.text, hi.kind == Tok::string, vt);
                if (h.got == Got::invalid) return fail(hi, h.why);
                if (h.got == Got::unknown) return unsupported(hi, h.why);
                if (less_msb(h.element.lo, r.element.lo, vt.host_order)) return fail(t, "range has zero or negative size");
                r.element.hi = h.element.lo;
            }
        }
        if (r.got == Got::invalid) return fail(t, r.why);
        if (r.got == Got::unknown) return unsupported(t, r.why);
        out = std::move(r.element);
        return true;
    }

    // ---- commands

    bool add_cmd(const Token& kw) {
        Token what;
        if (!peek(what)) return false;
        if (what.kind == Tok::word && is_object(what)) return next(what) && add_object(what, kw.is("create"));
        return rule_cmd(kw, false);  // `add [family] table chain RULE`: the rule keyword is optional
    }

    static bool is_object(const Token& t) {
        for (auto w : {"table", "chain", "set", "element", "rule", "map", "flowtable", "counter", "quota", "limit", "ct",
                       "secmark", "synproxy"})
            if (t.is(w)) return true;
        return false;
    }

    // What follows add/create (or stands alone, nft's implicit add); false without an error when `what` is none.
    bool add_object(const Token& what, bool create) {
        if (what.is("table")) return table_decl(what, true, create);
        if (what.is("chain") || what.is("set")) {
            Family family;
            Token tname;
            if (!table_spec(family, tname, false)) return false;
            size_t ti;
            if (!existing_table(family, tname, ti)) return false;
            if (what.is("set")) return set_decl(ti);
            Token cname;
            if (!peek(cname)) return false;
            if (create && cname.name_like() && table(ti).chain(cname.text))
                return fail(cname, "chain " + std::string(cname.text) + " already exists", EEXIST);
            return chain_decl(ti, true);
        }
        if (what.is("element")) return element_cmd(what, true);
        if (what.is("rule")) return rule_cmd(what, false);
        if (is_object(what)) return skip_declaration(what, "add " + std::string(what.text));
        return false;
    }

    // add|insert rule [family] table chain [position N | index N | handle N] RULE
    bool rule_cmd(const Token& kw, bool insert) {
        Token r;
        if (!peek(r)) return false;
        if (kw.is("insert")) {
            if (!r.is("rule")) return fail(r, "expected rule after insert, found " + describe(r));
            if (!next(r)) return false;
        }
        Family family;
        Token tname, cname;
        if (!table_spec(family, tname, false)) return false;
        size_t ti;
        if (!existing_table(family, tname, ti)) return false;
        if (!next_name(cname, "a chain name") || !existing_chain(ti, cname)) return false;
        Token pos;
        if (!peek(pos)) return false;
        Rule rule;
        if (pos.is("position") || pos.is("index") || pos.is("handle")) {
            // Handles and indexes refer to what the kernel holds; plumb keeps the rule but cannot place it.
            if (!skip_rule_rest(braces_)) return false;
            rule.opaque = one_line(source_text(pos));
            note(pos, "rule kept opaque: a rule placed by " + std::string(pos.text) + " cannot be positioned");
        } else if (!parse_rule(ti, rule)) {
            return false;
        }
        auto& rules = table(ti).chain(cname.text)->rules;
        if (insert) rules.insert(rules.begin(), std::move(rule));
        else rules.push_back(std::move(rule));
        return true;
    }

    bool element_cmd(const Token& kw, bool add) {
        Family family;
        Token tname, sname;
        if (!table_spec(family, tname, false)) return false;
        size_t ti;
        if (!existing_table(family, tname, ti)) return false;
        if (!next_name(sname, "a set name")) return false;
        Set* s = find_set(ti, sname.text);
        if (!s) return fail(sname, "set " + std::string(sname.text) + " does not exist", ENOENT);
        if (!expect(Tok::lbrace, "'{' before the elements")) return false;
        PendingSet pending;
        pending.vt = set_value_type(s->key_type);
        if (!pending.vt) {
            note(kw, "elements of set " + s->name + " not modelled");
            return skip_block(kw);
        }
        if (!set_elements(kw, *pending.vt, pending)) return false;
        s = find_set(ti, sname.text);
        if (add) return add_elements(*s, pending, sname);
        for (auto& [e, at] : pending.elements) {
            Interval iv = to_interval(e);
            auto it = std::find(s->elements.begin(), s->elements.end(), iv);
            if (it == s->elements.end()) return fail(at, "element does not exist in set " + s->name, ENOENT);
            s->elements.erase(it);
        }
        return true;
    }

    bool flush_cmd(const Token& kw) {
        Token what;
        if (!next_word(what, "ruleset, table, chain or set after flush")) return false;
        if (what.is("ruleset")) {
            Token f;
            if (!peek(f)) return false;
            if (auto fam = family_word(f)) {
                if (!next(f)) return false;
                std::erase_if(out_.ruleset.tables, [&](const Table& t) { return t.family == *fam; });
            } else {
                out_.ruleset.tables.clear();
            }
            out_.flushes_ruleset = true;
            return true;
        }
        Family family;
        Token tname;
        if (!table_spec(family, tname, what.is("table"))) return false;
        size_t ti;
        if (!existing_table(family, tname, ti)) return false;
        if (what.is("table")) {
            for (auto& c : table(ti).chains) c.rules.clear();  // nft keeps the chains and the sets' elements
            return true;
        }
        Token name;
        if (!next_name(name, "a name")) return false;
        if (what.is("chain")) {
            if (!existing_chain(ti, name)) return false;
            table(ti).chain(name.text)->rules.clear();
            return true;
        }
        if (what.is("set")) {
            Set* s = find_set(ti, name.text);
            if (!s) return fail(name, "set " + std::string(name.text) + " does not exist", ENOENT);
            s->elements.clear();
            return true;
        }
        return fail(what, "expected ruleset, table, chain or set after flush, found " + describe(what));
    }

    bool delete_cmd(const Token& kw) {
        Token what;
        if (!next_word(what, "table, chain, set or element after delete")) return false;
        if (what.is("element")) return element_cmd(what, false);
        if (!what.is("table") && !what.is("chain") && !what.is("set"))
            return fail(what, "delete " + std::string(what.text) + " is not supported in a configuration file");
        Family family;
        Token tname;
        if (!table_spec(family, tname, what.is("table"))) return false;
        size_t ti;
        if (!existing_table(family, tname, ti)) return false;
        if (what.is("table")) {
            out_.ruleset.tables.erase(out_.ruleset.tables.begin() + static_cast<std::ptrdiff_t>(ti));
            return true;
        }
        Token name;
        if (!next_name(name, "a name")) return false;
        if (what.is("chain")) {
            if (!existing_chain(ti, name)) return false;
            auto& chains = table(ti).chains;
            auto it = std::find_if(chains.begin(), chains.end(), [&](const Chain& c) { return c.name == name.text; });
            if (!it->rules.empty()) return fail(name, "chain " + it->name + " is not empty", EBUSY);
            chains.erase(it);
            return true;
        }
        auto& sets = table(ti).sets;
        auto it = std::find_if(sets.begin(), sets.end(), [&](const Set& s) { return s.name == name.text; });
        if (it == sets.end()) return fail(name, "set " + std::string(name.text) + " does not exist", ENOENT);
        sets.erase(it);
        return true;
    }

    // ---- rules

    // The rule's source text, from its first token to the last one consumed (for opaque rules).
    std::string source_text(const Token& first) const {
        if (last_.src_file == first.src_file && last_.src_end > first.src_begin)
            return std::string(texts_[first.src_file].substr(first.src_begin, last_.src_end - first.src_begin));
        return std::string(first.text);
    }

    // One rule up to (not including) its separator. False only on a real error; a rule outside the model comes back
    // opaque.
    bool parse_rule(size_t ti, Rule& out) {
        Token first;
        if (!peek(first)) return false;
        RuleCtx cx;
        cx.family = table(ti).family;
        cx.table = ti;
        if (cx.family == Family::ip) cx.nfproto = NFPROTO_IPV4;
        if (cx.family == Family::ip6) cx.nfproto = NFPROTO_IPV6;
        unsupported_.clear();
        const int start_braces = braces_;
        for (;;) {
            Token t;
            if (!peek(t)) return false;
            if (ends_statement(t) && braces_ == start_braces) break;
            if (statement(cx)) continue;
            if (error_) return false;
            if (!skip_rule_rest(start_braces)) return false;
            out = Rule{};
            out.opaque = one_line(source_text(first));
            note(unsupported_at_, "rule kept opaque: " + unsupported_);
            unsupported_.clear();
            pending_refs_.clear();
            return true;
        }
        for (auto& r : pending_refs_) refs_.push_back(std::move(r));
        pending_refs_.clear();
        out = std::move(cx.rule);
        canonicalize(out);
        return true;
    }

    // Skips to the end of the rule, through the braces it opened (an opaque rule must still be well formed).
    bool skip_rule_rest(int rule_start_braces) {
        for (;;) {
            Token t;
            if (!peek(t)) return false;
            const bool inside = braces_ > rule_start_braces;
            if (t.kind == Tok::end) {
                if (inside) return fail(t, "expected '}', found end of file");
                return true;
            }
            if (!inside && ends_statement(t)) return true;
            if (!next(t)) return false;
        }
    }

    bool statement(RuleCtx& cx) {
        Token t;
        if (!next(t)) return false;
        if (t.kind != Tok::word) return unsupported(t, "unexpected " + describe(t));
        if (cx.terminal && !t.is("comment")) return unsupported(t, "a statement after the verdict");
        if (const Field* f = nullptr; field_start(t, f)) {
            if (!f) return false;
            return match_expr(cx, *f, t);
        }
        if (t.is("counter")) return counter_stmt(cx);
        if (t.is("log")) return log_stmt(cx, t);
        if (t.is("limit")) return limit_stmt(cx);
        if (t.is("reject")) return reject_stmt(cx, t);
        if (t.is("notrack")) {
            cx.rule.statements.push_back(Statement{Statement::Kind::notrack, {}});
            cx.seen_statement = true;
            return true;
        }
        if (t.is("comment")) return comment_stmt(cx);
        return verdict(cx, t);
    }

    // Recognises the words that start a match; f stays null (with the rule marked unsupported) for field words
    // naming something the model does not have.
    bool field_start(const Token& t, const Field*& f) {
        struct Words {
            std::string_view first, second, field;  // second empty: one word (nft's unqualified meta keys)
        };
        static constexpr Words kWords[] = {
            {"iif", "", "iif"}, {"oif", "", "oif"}, {"iifname", "", "iifname"}, {"oifname", "", "oifname"},
            {"mark", "", "meta mark"}, {"skuid", "", "meta skuid"}, {"skgid", "", "meta skgid"},
            {"iiftype", "", "meta iiftype"}, {"pkttype", "", "meta pkttype"},
            {"meta", "iif", "iif"}, {"meta", "oif", "oif"}, {"meta", "iifname", "iifname"}, {"meta", "oifname", "oifname"},
            {"meta", "nfproto", "meta nfproto"}, {"meta", "l4proto", "meta l4proto"}, {"meta", "mark", "meta mark"},
            {"meta", "iiftype", "meta iiftype"}, {"meta", "skuid", "meta skuid"}, {"meta", "skgid", "meta skgid"},
            {"meta", "pkttype", "meta pkttype"},
            {"ip", "saddr", "ip saddr"}, {"ip", "daddr", "ip daddr"}, {"ip", "protocol", "ip protocol"},
            {"ip6", "saddr", "ip6 saddr"}, {"ip6", "daddr", "ip6 daddr"}, {"ip6", "nexthdr", "ip6 nexthdr"},
            {"tcp", "sport", "tcp sport"}, {"tcp", "dport", "tcp dport"}, {"udp", "sport", "udp sport"},
            {"udp", "dport", "udp dport"}, {"th", "sport", "th sport"}, {"th", "dport", "th dport"},
            {"icmp", "type", "icmp type"}, {"icmpv6", "type", "icmpv6 type"},
            {"ct", "state", "ct state"}, {"ct", "mark", "ct mark"},
        };
        bool qualifier = false;
        for (const auto& w : kWords) {
            if (w.first != t.text) continue;
            if (w.second.empty()) return (f = &field(w.field)), true;
            qualifier = true;
        }
        if (!qualifier) return false;
        Token key;
        if (!next(key)) return true;
        for (const auto& w : kWords)
            if (w.first == t.text && key.kind == Tok::word && w.second == key.text) return (f = &field(w.field)), true;
        unsupported(key, std::string(t.text) + " " + describe(key) + " is not modelled");
        return true;
    }

    bool relation(Rel& rel) {
        Token t;
        if (!peek(t)) return false;
        static constexpr std::pair<std::string_view, Rel> kOps[] = {
            {"==", Rel::eq}, {"!=", Rel::neq}, {"<", Rel::lt}, {"<=", Rel::lte}, {">", Rel::gt}, {">=", Rel::gte},
            {"eq", Rel::eq}, {"ne", Rel::neq}, {"lt", Rel::lt}, {"le", Rel::lte}, {"gt", Rel::gt}, {"ge", Rel::gte}};
        rel = Rel::implicit;
        if (t.kind != Tok::op && t.kind != Tok::word) return true;
        for (const auto& [text, r] : kOps) {
            if (t.text != text) continue;
            rel = r;
            return next(t);
        }
        return true;
    }

    static Op op_for(Rel rel) {
        switch (rel) {
            case Rel::implicit:
            case Rel::eq: return Op::eq;
            case Rel::neq: return Op::neq;
            case Rel::lt: return Op::lt;
            case Rel::lte: return Op::lte;
            case Rel::gt: return Op::gt;
            case Rel::gte: return Op::gte;
        }
        return Op::eq;
    }

    bool match_expr(RuleCtx& cx, const Field& f, const Token& at) {
        if (cx.seen_statement) return unsupported(at, "a match after a statement (the model keeps matches first)");
        if (f.name == "meta nfproto" && cx.family != Family::inet)
            return fail(at, "meta nfproto is only useful in the inet family");
        const ValueType vt = value_type(f);
        Rel rel;
        if (!relation(rel)) return false;
        Token rhs;
        if (!peek(rhs)) return false;
        static constexpr std::string_view kNotValues[] = {"set", "vmap", "map", "and", "or", "xor", "lshift", "rshift", "."};
        for (auto w : kNotValues)
            if (rhs.is(w)) return unsupported(rhs, std::string(f.name) + " " + std::string(w) + " is not modelled");
        std::vector<Match> built;
        if (rhs.kind == Tok::lbrace) {
            if (!next(rhs) || !set_match(f, vt, rel, rhs, built)) return false;
        } else if (rhs.kind == Tok::setref) {
            if (!next(rhs) || !named_set_match(cx, f, rel, rhs, built)) return false;
        } else if (rhs.name_like()) {
            if (!next(rhs) || !value_match(f, vt, rel, rhs, built)) return false;
        } else if (ends_statement(rhs)) {
            return fail(rhs, "expected a value after " + std::string(f.name) + ", found " + describe(rhs));
        } else {
            return unsupported(rhs, std::string(f.name) + " followed by " + describe(rhs) + " is not modelled");
        }
        if (!add_dependencies(cx, f, at)) return false;
        for (auto& m : built)
            if (!learn(cx, f, m, at) || !add_port_match(cx, std::move(m), at)) return false;
        return true;
    }

    static bool is_port_compare(const Match& m) {
        return m.sel.kind == SelectorKind::payload && m.sel.key == NFT_PAYLOAD_TRANSPORT_HEADER && m.sel.len == 2 &&
               (m.sel.offset == 0 || m.sel.offset == 2) && m.op == Op::eq && m.mask.empty();
    }

    // nft merges an equality compare on each port, wherever they stand in the rule, into one load of the first four
    // transport bytes at the place of the sport compare, and lists them as sport then dport; with no transport
    // protocol known it lists a raw @th compare.
    bool add_port_match(RuleCtx& cx, Match m, const Token& at) {
        auto& ms = cx.rule.matches;
        if (is_port_compare(m)) {
            // Two values for one port never match; which ones nft merges then is beside the point.
            if (std::any_of(ms.begin(), ms.end(), [&](const Match& o) { return is_port_compare(o) && o.sel == m.sel; }))
                return unsupported(at, "two equality compares on one port");
            auto other = std::find_if(ms.begin(), ms.end(), [&](const Match& o) {
                return is_port_compare(o) && o.sel.offset != m.sel.offset;
            });
            if (other != ms.end()) {
                if (!cx.l4proto || proto_of_l4(*cx.l4proto) == Proto::none)
                    return unsupported(at, "th sport and th dport in one rule (nft merges them into a raw @th compare)");
                if (m.sel.offset > other->sel.offset) {
                    ms.insert(other + 1, std::move(m));
                } else {
                    Match dport = std::move(*other);
                    ms.erase(other);
                    ms.push_back(std::move(m));
                    ms.push_back(std::move(dport));
                }
                return true;
            }
        }
        ms.push_back(std::move(m));
        return true;
    }

    // What a match tells about the packet's protocols (for the dependencies of later matches). A rule that names two
    // different protocols of one layer never matches, and nft's verdict on it depends on the spelling: opaque.
    bool learn(RuleCtx& cx, const Field& f, const Match& m, const Token& at) {
        if (f.name == "meta iiftype" && (m.op == Op::in_set || (m.op == Op::eq && m.mask.empty() && m.value != host(1, 2))))
            cx.ll_unknown = true;
        if (f.name == "meta iiftype" && m.op == Op::eq && m.mask.empty() && m.value == host(1, 2)) cx.ll_ether = true;
        if ((f.name == "meta l4proto" || f.name == "ip protocol" || f.name == "ip6 nexthdr") && m.op == Op::in_set)
            cx.l4_set = true;
        if (m.op != Op::eq || !m.mask.empty() || m.value.size() != 1) return true;
        const uint8_t v = m.value[0];
        if (f.name == "meta nfproto") {
            if (cx.nfproto && *cx.nfproto != v) return unsupported(at, "two different network protocols");
            cx.nfproto = v;
        }
        if (f.name == "meta l4proto" || f.name == "ip protocol" || f.name == "ip6 nexthdr") {
            if (cx.l4proto && *cx.l4proto != v) return unsupported(at, "two different transport protocols");
            cx.l4proto = v;
        }
        return true;
    }

    // The implicit [meta nfproto == v] nft adds; `front` for a statement's dependency, which nft puts first in the rule.
    bool need_nfproto(RuleCtx& cx, uint8_t v, const Token& at, bool front = false) {
        if (cx.nfproto == v) return true;
        if (cx.nfproto)
            return fail(at, "conflicting protocols specified: " + std::string(nfproto_word(*cx.nfproto)) + " vs. " +
                                std::string(nfproto_word(v)));
        if (cx.ll_unknown) return fail(at, "conflicting protocols specified: unknown vs. " + std::string(nfproto_word(v)));
        if (cx.ll_ether) return unsupported(at, "a network protocol dependency after meta iiftype ether (nft uses the ether type)");
        cx.nfproto = v;
        add_dependency(cx, match(field("meta nfproto"), Op::eq, host(v, 1)), front);
        return true;
    }

    bool need_l4proto(RuleCtx& cx, uint8_t v, const Token& at, bool front = false) {
        if (cx.l4proto == v) return true;
        if (cx.l4proto)
            return fail(at, "conflicting protocols specified: " + std::string(l4_word(*cx.l4proto)) + " vs. " +
                                std::string(l4_word(v)));
        cx.l4proto = v;
        add_dependency(cx, match(field("meta l4proto"), Op::eq, host(v, 1)), front);
        return true;
    }

    static void add_dependency(RuleCtx& cx, Match m, bool front) {
        auto& ms = cx.rule.matches;
        ms.insert(front ? ms.begin() : ms.end(), std::move(m));
    }

    // The implicit matches nft puts in front of a match on `f` (model's dependencies()), skipping those the rule
    // already has.
    bool add_dependencies(RuleCtx& cx, const Field& f, const Token& at) {
        // After `meta l4proto icmp` nft names the ports' bytes icmp fields (checksum, id), which the model does not have.
        if (f.proto == Proto::th && cx.l4proto && (*cx.l4proto == 1 || *cx.l4proto == 58))
            return unsupported(at, std::string(f.name) + " on an ICMP packet");
        if (f.proto == Proto::none || f.proto == Proto::th) return true;
        const bool network = f.proto == Proto::ip || f.proto == Proto::ip6 || f.proto == Proto::icmp || f.proto == Proto::icmpv6;
        if (cx.family == Family::bridge || cx.family == Family::netdev || cx.family == Family::arp) {
            // nft depends on `meta protocol` (the ether type) there, which the model does not express yet.
            if (network || cx.family == Family::arp)
                return unsupported(at, std::string(f.name) + " in a " + std::string(family_name(cx.family)) + " table");
        }
        if (cx.family == Family::inet && cx.ll_unknown && network)
            return fail(at, std::string("conflicting protocols specified: unknown vs. ") +
                                (f.proto == Proto::ip || f.proto == Proto::icmp ? "ip" : "ip6"));
        if (cx.family == Family::ip && f.proto == Proto::ip6) return fail(at, "conflicting protocols specified: ip vs. ip6");
        if (cx.family == Family::ip6 && f.proto == Proto::ip) return fail(at, "conflicting protocols specified: ip6 vs. ip");
        // A transport protocol the rule already settled on brings its network protocol along (nft adds nothing
        // before `icmp type` after `meta l4proto icmp`).
        const std::optional<uint8_t> l4_needed = f.proto == Proto::tcp ? 6 : f.proto == Proto::udp ? 17
                                                 : f.proto == Proto::icmp ? 1 : f.proto == Proto::icmpv6 ? 58
                                                                                  : std::optional<uint8_t>{};
        // After a set of transport protocols nft either refuses a protocol field or lists it as th.
        if (l4_needed && cx.l4_set) return unsupported(at, std::string(f.name) + " after a set of transport protocols");
        if (l4_needed && cx.l4proto == l4_needed) return true;
        for (const Match& d : dependencies(cx.family, f.proto)) {
            if (d.value.size() != 1) continue;
            const uint8_t v = d.value[0];
            if (d.sel == field("meta nfproto").sel) {
                // icmp on a rule already about IPv6 (or icmpv6 on IPv4) is accepted by nft, which adds l4proto only.
                if ((f.proto == Proto::icmp || f.proto == Proto::icmpv6) && cx.nfproto) continue;
                if (!need_nfproto(cx, v, at)) return false;
            } else if (d.sel == field("meta l4proto").sel) {
                if (!need_l4proto(cx, v, at)) return false;
            } else {
                cx.rule.matches.push_back(d);
            }
        }
        if (f.proto == Proto::ip && cx.family == Family::inet) cx.nfproto = NFPROTO_IPV4;
        if (f.proto == Proto::ip6 && cx.family == Family::inet) cx.nfproto = NFPROTO_IPV6;
        return true;
    }

    // ifname "eth*": nft compares only the bytes before the '*'.
    bool wildcard_match(const Field& f, Rel rel, const Token& t, std::vector<Match>& out) {
        std::string_view name = t.text.substr(0, t.text.size() - 1);
        if (name.empty() || name.size() >= IFNAMSIZ) return unsupported(t, "interface wildcard " + describe(t));
        if (rel != Rel::implicit && rel != Rel::eq && rel != Rel::neq)
            return unsupported(t, "ordering comparison on an interface name");
        Match m;
        m.sel = f.sel;
        m.sel.len = static_cast<uint32_t>(name.size());
        m.op = op_for(rel);
        m.value.assign(name.begin(), name.end());
        canonicalize(m);
        out.push_back(std::move(m));
        return true;
    }

    bool value_match(const Field& f, const ValueType& vt, Rel rel, const Token& t, std::vector<Match>& out) {
        if (vt.kind == Kind::ifname && t.text.size() > 1 && t.text.back() == '*' &&
            (t.text.size() < 2 || t.text[t.text.size() - 2] != '\\'))
            return wildcard_match(f, rel, t, out);
        if (vt.kind == Kind::ct_state) {
            ElementResult range = parse_element(t.text, t.kind == Tok::string, vt);
            if (range.got != Got::ok || range.element.hi.empty()) return ct_state_match(f, vt, rel, t, out);
        }
        Element e;
        if (!element(t, vt, e)) return false;
        Token comma;
        if (!peek(comma)) return false;
        if (comma.kind == Tok::comma) return unsupported(comma, "a value list on " + std::string(f.name));
        return single_match(f, rel, e, t, out);
    }

    bool single_match(const Field& f, Rel rel, const Element& e, const Token& at, std::vector<Match>& out) {
        const bool eq_like = rel == Rel::implicit || rel == Rel::eq || rel == Rel::neq;
        if (e.prefix >= 0 && !e.hi.empty()) {
            if (!eq_like) return unsupported(at, "ordering comparison with a prefix");
            Match m = prefix_match(f, e.lo, static_cast<unsigned>(e.prefix));
            m.op = rel == Rel::neq ? Op::neq : Op::eq;
            out.push_back(std::move(m));
            return true;
        }
        if (!e.hi.empty()) {
            if (!eq_like) return unsupported(at, "ordering comparison with a range");
            Match m;
            m.sel = f.sel;
            m.op = rel == Rel::neq ? Op::not_range : Op::range;
            m.value = e.lo;
            m.value_hi = e.hi;
            canonicalize(m);
            out.push_back(std::move(m));
            return true;
        }
        out.push_back(match(f, op_for(rel), e.lo));
        return true;
    }

    // ct state: a bare list is a flag test ([ct state & bits] != 0), == and != compare the whole value.
    bool ct_state_match(const Field& f, const ValueType& vt, Rel rel, const Token& first, std::vector<Match>& out) {
        if (rel != Rel::implicit && rel != Rel::eq && rel != Rel::neq)
            return unsupported(first, "ordering comparison on ct state");
        uint64_t bits = 0;
        Token t = first;
        for (;;) {
            Scalar s = scalar_value(t.text, vt);
            if (s.got == Got::invalid) return fail(t, s.why);
            if (s.got == Got::unknown) return unsupported(t, s.why);
            bits |= to_number(s.bytes, vt.host_order);
            // "a,b" and "a | b" (how nft prints a whole-value compare) both combine flags.
            Token comma;
            if (!peek(comma)) return false;
            if (comma.kind != Tok::comma && !(comma.kind == Tok::other && comma.text == "|")) break;
            if (!next(comma) || !next(t)) return false;
            if (!t.name_like()) return fail(t, "expected a conntrack state after " + describe(comma) + ", found " + describe(t));
        }
        out.push_back(flag_match(f, vt, rel, bits));
        return true;
    }

    // rel is implicit, eq or neq.
    static Match flag_match(const Field& f, const ValueType& vt, Rel rel, uint64_t bits) {
        Match m;
        m.sel = f.sel;
        if (rel == Rel::implicit) {
            m.mask = from_number(bits, vt.len, vt.host_order);
            m.op = Op::neq;
            m.value = from_number(0, vt.len, vt.host_order);
        } else {
            m.op = op_for(rel);
            m.value = from_number(bits, vt.len, vt.host_order);
        }
        canonicalize(m);
        return m;
    }

    bool set_match(const Field& f, const ValueType& vt, Rel rel, const Token& brace, std::vector<Match>& out) {
        if (rel != Rel::implicit && rel != Rel::eq && rel != Rel::neq)
            return unsupported(brace, "ordering comparison with a set");
        std::vector<std::pair<Element, Token>> elements;
        if (!element_list(vt, elements, 0)) return false;
        if (elements.empty()) return fail(brace, "empty set");
        if (elements.size() == 1) {
            // nft turns a one-element set into a plain comparison (a flag test for ct state).
            const auto& [e, at] = elements.front();
            if (vt.kind == Kind::ct_state && e.hi.empty()) {
                out.push_back(flag_match(f, vt, rel, to_number(e.lo, vt.host_order)));
                return true;
            }
            return single_match(f, rel, e, at, out);
        }
        const bool interval = std::any_of(elements.begin(), elements.end(), [](const auto& e) { return !e.first.hi.empty(); });
        Match m;
        m.sel = f.sel;
        m.op = rel == Rel::neq ? Op::not_in_set : Op::in_set;
        if (interval) {
            std::vector<Element> all;
            for (auto& [e, at] : elements) all.push_back(e);
            m.elements = merge_intervals(std::move(all), vt);
        } else {
            for (auto& [e, at] : elements) m.elements.push_back(to_interval(e));
            std::sort(m.elements.begin(), m.elements.end());
            m.elements.erase(std::unique(m.elements.begin(), m.elements.end()), m.elements.end());
        }
        canonicalize(m);
        out.push_back(std::move(m));
        return true;
    }

    bool named_set_match(RuleCtx& cx, const Field& f, Rel rel, const Token& ref, std::vector<Match>& out) {
        if (rel != Rel::implicit && rel != Rel::eq && rel != Rel::neq)
            return unsupported(ref, "ordering comparison with a set");
        Match m;
        m.sel = f.sel;
        m.op = rel == Rel::neq ? Op::not_in_set : Op::in_set;
        m.set = std::string(ref.text);
        out.push_back(std::move(m));
        pending_refs_.push_back(Reference{cx.family, table(cx.table).name, std::string(ref.text), false, f.sel.len, ref});
        return true;
    }

    // ---- statements

    bool counter_stmt(RuleCtx& cx) {
        Token t;
        if (!peek(t)) return false;
        if (t.is("packets")) {
            // The counts are state, not configuration: read and dropped.
            Token n;
            if (!next(t) || !next_word(n, "a packet count")) return false;
            if (!parse_number(n.text)) return fail(n, "bad packet count '" + std::string(n.text) + "'");
            if (!next(t)) return false;
            if (!t.is("bytes")) return fail(t, "expected bytes after the packet count, found " + describe(t));
            if (!next_word(n, "a byte count")) return false;
            if (!parse_number(n.text)) return fail(n, "bad byte count '" + std::string(n.text) + "'");
        } else if (t.is("name")) {
            return unsupported(t, "named counters");
        }
        cx.rule.statements.push_back(Statement{Statement::Kind::counter, {}});
        cx.seen_statement = true;
        return true;
    }

    // Statement params: prefix (when given), then level ("4" when absent) or group: what the kernel's log
    // expression holds (a group log has no level).
    bool log_stmt(RuleCtx& cx, const Token& kw) {
        std::optional<std::string> prefix;
        std::optional<uint32_t> level, group;
        for (;;) {
            Token t;
            if (!peek(t)) return false;
            if (t.is("prefix")) {
                Token p;
                if (!next(t) || !next_text(p, "a log prefix")) return false;
                if (p.text.size() > 127) return fail(p, "log prefix is too long (at most 127 characters)");
                prefix = std::string(p.text);
            } else if (t.is("level")) {
                Token l;
                if (!next(t) || !next_word(l, "a log level")) return false;
                auto v = by_name(kLogLevels, l.text);
                if (!v) return fail(l, "unknown log level '" + std::string(l.text) + "'");
                level = *v;
            } else if (t.is("group")) {
                Token g;
                if (!next(t) || !next_word(g, "a log group")) return false;
                auto v = parse_number(g.text);
                if (!v || *v > 65535) return fail(g, "bad log group '" + std::string(g.text) + "'");
                group = static_cast<uint32_t>(*v);
            } else if (t.is("snaplen") || t.is("queue-threshold") || t.is("flags")) {
                return unsupported(t, "log " + std::string(t.text));
            } else {
                break;
            }
        }
        if (level == 8u && (prefix || group)) return fail(kw, "log level audit doesn't support any further options");
        if (level && group) return unsupported(kw, "log with both level and group");
        Statement s{Statement::Kind::log, {}};
        if (prefix) s.params.emplace_back("prefix", *prefix);
        if (group) s.params.emplace_back("group", std::to_string(*group));
        else s.params.emplace_back("level", std::to_string(level.value_or(4)));
        // Keep the documented order: prefix, level, group.
        cx.rule.statements.push_back(std::move(s));
        cx.seen_statement = true;
        return true;
    }

    // limit rate [over] N/UNIT [burst N packets] | limit rate [over] N BYTEUNIT/UNIT [burst N BYTEUNIT]
    bool limit_stmt(RuleCtx& cx) {
        Token t;
        if (!next(t)) return false;
        if (!t.is("rate")) return unsupported(t, "limit " + describe(t));
        Token first;
        if (!next(first)) return false;
        bool over = false;
        if (first.is("over")) {
            over = true;
            if (!next(first)) return false;
        } else if (first.is("until")) {
            if (!next(first)) return false;
        }
        if (first.kind != Tok::word) return fail(first, "expected a rate, found " + describe(first));
        std::string spec(first.text);
        for (int i = 0; i < 4; ++i) {
            size_t slash = spec.find('/');
            if (slash != std::string::npos && slash + 1 < spec.size()) break;
            Token more;
            if (!peek(more)) return false;
            if (more.kind != Tok::word) break;
            if (!next(more)) return false;
            if (spec.back() != '/' && more.text.front() != '/') spec += ' ';
            spec += more.text;
        }
        const size_t slash = spec.find('/');
        if (slash == std::string::npos) return fail(first, "expected RATE/UNIT after limit rate, found '" + spec + "'");
        std::string amount = spec.substr(0, slash), unit = spec.substr(slash + 1);
        while (!amount.empty() && amount.back() == ' ') amount.pop_back();
        auto seconds = by_name(kTimeUnits, unit);
        if (!seconds) return fail(first, "unknown time unit '" + unit + "' (second, minute, hour, day, week)");
        std::string byte_unit;
        if (size_t space = amount.find(' '); space != std::string::npos) {
            byte_unit = amount.substr(space + 1);
            amount.resize(space);
        }
        auto rate = parse_number(amount);
        if (!rate) return fail(first, "bad rate '" + amount + "'");
        const bool bytes = !byte_unit.empty();
        if (bytes && !scale_bytes(byte_unit, *rate)) return fail(first, "bad rate unit '" + byte_unit + "'");
        uint64_t burst = bytes ? 0 : 5;  // what nft sends when no burst is given
        Token b;
        if (!peek(b)) return false;
        if (b.is("burst")) {
            Token n;
            if (!next(b) || !next_word(n, "a burst")) return false;
            auto v = parse_number(n.text);
            if (!v) return fail(n, "bad burst '" + std::string(n.text) + "'");
            burst = *v;
            Token u;
            if (!peek(u)) return false;
            if (u.is("packets") || u.is("bytes") || u.is("kbytes") || u.is("mbytes")) {
                if (!next(u)) return false;
                if (u.is("packets") == bytes) return fail(u, "the burst unit must match the rate's");
                if (bytes && !scale_bytes(std::string(u.text), burst)) return fail(u, "burst too large");
            }
        }
        Statement s{Statement::Kind::limit, {}};
        s.params.emplace_back("rate", std::to_string(*rate));
        s.params.emplace_back("unit", unit);
        s.params.emplace_back("burst", std::to_string(burst));
        s.params.emplace_back("type", bytes ? "bytes" : "packets");
        if (over) s.params.emplace_back("over", "1");
        cx.rule.statements.push_back(std::move(s));
        cx.seen_statement = true;
        return true;
    }

    static bool scale_bytes(const std::string& unit, uint64_t& v) {
        unsigned shifts = unit == "bytes" ? 0 : unit == "kbytes" ? 1 : unit == "mbytes" ? 2 : 9;
        if (shifts == 9) return false;
        for (unsigned i = 0; i < shifts; ++i) {
            if (v > UINT64_MAX / 1024) return false;
            v *= 1024;
        }
        return true;
    }

    // reject [with icmp|icmpv6|icmpx [type] CODE | with tcp reset]. The type nft picks and the dependency it adds
    // depend on the family and on what the rule matched before.
    bool reject_stmt(RuleCtx& cx, const Token& kw) {
        if (cx.family != Family::inet && cx.family != Family::ip && cx.family != Family::ip6)
            return unsupported(kw, "reject in a " + std::string(family_name(cx.family)) + " table");
        std::string type;
        uint64_t code = 0;
        Token w;
        if (!peek(w)) return false;
        if (w.is("with")) {
            Token k;
            if (!next(w) || !next_word(k, "icmp, icmpv6, icmpx or tcp after reject with")) return false;
            if (k.is("tcp")) {
                Token r;
                if (!next(r)) return false;
                if (!r.is("reset")) return fail(r, "expected reset after reject with tcp, found " + describe(r));
                type = "tcp-reset";
            } else if (k.is("icmp") || k.is("icmpv6") || k.is("icmpx")) {
                type = std::string(k.text);
                Token c;
                if (!next(c)) return false;
                if (c.is("type") && !next(c)) return false;
                if (c.kind != Tok::word) return fail(c, "expected an ICMP code, found " + describe(c));
                std::span<const Named> codes = k.is("icmp") ? std::span<const Named>(kIcmpCodes)
                                              : k.is("icmpv6") ? std::span<const Named>(kIcmpv6Codes)
                                                               : std::span<const Named>(kIcmpxCodes);
                if (auto v = by_name(codes, c.text)) code = *v;
                else if (auto n = parse_number(c.text); n && *n <= 255) code = *n;
                else return fail(c, "unknown " + type + " code '" + std::string(c.text) + "'");
            } else {
                return fail(k, "expected icmp, icmpv6, icmpx or tcp after reject with, found " + describe(k));
            }
        } else if (cx.family == Family::ip || cx.nfproto == NFPROTO_IPV4) {
            type = "icmp", code = 3;  // port-unreachable
        } else if (cx.family == Family::ip6 || cx.nfproto == NFPROTO_IPV6) {
            type = "icmpv6", code = 4;
        } else {
            type = "icmpx", code = 1;
        }
        if (cx.family == Family::inet && cx.ll_unknown && (type == "icmp" || type == "icmpv6"))
            return fail(kw, "cannot infer ICMP reject variant to use: explicit value required.");
        // nft puts the dependency a reject needs at the start of the rule.
        if (type == "icmp" || type == "icmpv6") {
            const uint8_t want = type == "icmp" ? NFPROTO_IPV4 : NFPROTO_IPV6;
            if (cx.family != Family::inet && cx.nfproto != want)
                return fail(kw, "conflicting protocols specified: " + std::string(nfproto_word(*cx.nfproto)) + " vs. " +
                                    std::string(nfproto_word(want)));
            if (!need_nfproto(cx, want, kw, true)) return false;
        } else if (type == "icmpx" && cx.family != Family::inet) {
            return fail(kw, "abstracted ICMP unreachable not supported");
        } else if (type == "tcp-reset") {
            if (cx.l4_set && cx.l4proto != 6) return unsupported(kw, "reject with tcp reset after a set of transport protocols");
            if (!need_l4proto(cx, 6, kw, true)) return false;
        }
        Statement s{Statement::Kind::reject, {}};
        s.params.emplace_back("type", type);
        if (type != "tcp-reset") s.params.emplace_back("code", std::to_string(code));
        cx.rule.statements.push_back(std::move(s));
        cx.seen_statement = true;
        cx.terminal = true;
        return true;
    }

    bool comment_stmt(RuleCtx& cx) {
        Token c;
        if (!next_text(c, "a comment string")) return false;
        if (c.text.size() > 128) return fail(c, "comment too long, 128 characters maximum allowed");
        cx.rule.comment = std::string(c.text);
        Token after;
        if (!peek(after)) return false;
        if (!ends_statement(after)) return fail(after, "expected newline or semicolon after the comment, found " + describe(after));
        return true;
    }

    bool verdict(RuleCtx& cx, const Token& t) {
        static constexpr std::pair<std::string_view, VerdictKind> kPlain[] = {
            {"accept", VerdictKind::accept}, {"drop", VerdictKind::drop}, {"continue", VerdictKind::continue_},
            {"return", VerdictKind::return_}};
        for (const auto& [word, kind] : kPlain) {
            if (t.text != word) continue;
            cx.rule.verdict = Verdict{kind, {}};
            cx.terminal = true;
            return true;
        }
        if (t.is("jump") || t.is("goto")) {
            Token target;
            if (!next(target)) return false;
            if (target.kind == Tok::lbrace) return unsupported(target, "anonymous chains");
            if (!target.name_like()) return fail(target, "expected a chain name after " + std::string(t.text) + ", found " + describe(target));
            if (!check_name(target)) return false;
            cx.rule.verdict = Verdict{t.is("jump") ? VerdictKind::jump : VerdictKind::goto_, std::string(target.text)};
            pending_refs_.push_back(Reference{cx.family, table(cx.table).name, std::string(target.text), true, 0, target});
            cx.terminal = true;
            return true;
        }
        if (t.is("queue")) {
            Token opt;
            if (!peek(opt)) return false;
            if (!ends_statement(opt) && !opt.is("comment")) return unsupported(opt, "queue options");
            cx.rule.verdict = Verdict{VerdictKind::queue, {}};
            cx.terminal = true;
            return true;
        }
        return unsupported(t, "statement '" + std::string(t.text) + "' is not modelled");
    }

    // ---- references: nft refuses a jump to a chain or a lookup in a set that the table does not have.

    bool check_references() {
        for (const auto& r : refs_) {
            const Table* t = out_.ruleset.table(r.family, r.table);
            if (!t) continue;  // the table went away with the rule
            if (r.chain) {
                const Chain* c = t->chain(r.name);
                if (!c) return fail(r.at, "jump to chain " + r.name + ", which table " + r.table + " does not have", ENOENT);
                if (c->hook) return fail(r.at, "jump to base chain " + r.name + " is not allowed", EOPNOTSUPP);
                continue;
            }
            const Set* s = t->set(r.name);
            if (!s) return fail(r.at, "set " + r.name + " does not exist in table " + r.table, ENOENT);
            if (s->key_len != 0 && r.key_len != 0 && s->key_len != r.key_len)
                return fail(r.at, "datatype mismatch: set " + r.name + " holds " + s->key_type);
        }
        return true;
    }

    FileSource* source_;
    ParseOptions options_;
    std::vector<std::string> names_;
    std::vector<std::string_view> texts_;
    std::vector<Lexer> lexers_;  // the include stack; the back is read
    std::deque<Token> ahead_;
    std::vector<std::map<std::string, std::vector<Token>, std::less<>>> scopes_;
    Token last_;
    int braces_ = 0;  // '{' minus '}' handed out so far
    std::optional<Error> error_;
    std::string unsupported_;
    Token unsupported_at_;
    std::vector<Reference> refs_, pending_refs_;
    ParsedConfig out_;
};

// ---------------------------------------------------------------------------------------------------------------
// Printer.

// canonicalize() widens a compare on a short field that starts where a longer one does (icmp type, transport+0
// len 1, becomes th sport & 0xff00): the printer names the field actually compared, so it narrows such a match back
// when the mask keeps exactly the bytes of a catalogue field.
Match narrowed(const Match& m) {
    if (m.mask.empty() || m.op == Op::in_set || m.op == Op::not_in_set) return m;
    size_t n = 0;
    while (n < m.mask.size() && m.mask[n] == 0xff) ++n;
    if (n == 0 || n >= m.mask.size()) return m;
    for (size_t i = n; i < m.mask.size(); ++i)
        if (m.mask[i] != 0) return m;
    Selector sel = m.sel;
    sel.len = static_cast<uint32_t>(n);
    if (!field_for(sel)) return m;
    Match out = m;
    out.sel = sel;
    out.mask.clear();
    out.value.resize(std::min(out.value.size(), n));
    if (!out.value_hi.empty()) out.value_hi.resize(std::min(out.value_hi.size(), n));
    return out;
}

std::string param(const Statement& s, std::string_view key) {
    for (const auto& [k, v] : s.params)
        if (k == key) return v;
    return {};
}

bool has_param(const Statement& s, std::string_view key) {
    return std::any_of(s.params.begin(), s.params.end(), [&](const auto& p) { return p.first == key; });
}

Proto implied_after(Proto implied, const Match& m) {
    if (m.op != Op::eq || !m.mask.empty() || m.value.size() != 1) return implied;
    if (m.sel == field("meta l4proto").sel || m.sel == field("ip protocol").sel || m.sel == field("ip6 nexthdr").sel)
        return proto_of_l4(m.value[0]);
    return implied;
}

// The matches `nft list` leaves out, as netlink_delinearize (nft 1.0.6) finds them: it remembers one protocol match
// per layer (pdeps[base + 1]: meta iiftype for the link layer, meta nfproto for the network layer, meta l4proto or, in
// ip/ip6 tables, ip protocol / ip6 nexthdr for the transport layer) and drops it when a later match on the layer it
// selects makes it redundant, however many other matches stand in between.
std::vector<bool> hidden_matches(const Rule& r, Family family) {
    enum : int { kNone = 0, kLl = 1, kNet = 2, kTransport = 3 };
    std::array<std::optional<size_t>, 5> pdeps{};
    std::vector<bool> hidden(r.matches.size(), false);
    auto release = [&](int base) {
        if (!pdeps[base]) return;
        hidden[*pdeps[base]] = true;
        pdeps[base].reset();
    };
    // meta_may_dependency_kill(): a remembered nfproto goes only when the l4proto implies it (icmp: ipv4, icmpv6: ipv6).
    auto meta_may_kill = [&](const Match& m) {
        if (!pdeps[kNet]) return true;
        const Match& dep = r.matches[*pdeps[kNet]];
        if (dep.sel.kind != SelectorKind::meta || dep.sel.key != NFT_META_NFPROTO || dep.value.size() != 1) return false;
        if (m.sel.key != NFT_META_L4PROTO) return true;
        const uint8_t nf = dep.value[0], l4 = m.value[0];
        if (l4 != 1 && l4 != 58) return false;
        return !((nf == NFPROTO_IPV4 && l4 == 58) || (nf == NFPROTO_IPV6 && l4 == 1));
    };
    const bool mixed = family == Family::inet || family == Family::bridge || family == Family::netdev;
    for (size_t i = 0; i < r.matches.size(); ++i) {
        const Match& m = r.matches[i];
        const bool value_eq = m.op == Op::eq && m.mask.empty() && !m.value.empty();
        if (m.sel.kind == SelectorKind::meta) {
            int base;
            if (m.sel.key == NFT_META_IIFTYPE) base = kNone;
            else if (m.sel.key == NFT_META_NFPROTO) base = kLl;
            else if (m.sel.key == NFT_META_L4PROTO) base = kNet;
            else continue;
            if (!value_eq) continue;
            if (base != kNone && pdeps[base] && meta_may_kill(m)) release(base);
            pdeps[base + 1] = i;
            continue;
        }
        if (m.sel.kind != SelectorKind::payload) continue;
        const int base = m.sel.key == NFT_PAYLOAD_NETWORK_HEADER ? kNet : m.sel.key == NFT_PAYLOAD_TRANSPORT_HEADER ? kTransport : kLl;
        // In inet, bridge and netdev tables a network-header dependency (ip protocol) is kept.
        if (pdeps[base] && !(mixed && r.matches[*pdeps[base]].sel.kind == SelectorKind::payload)) release(base);
        const bool protocol_field = m.sel == field("ip protocol").sel || m.sel == field("ip6 nexthdr").sel;
        if (value_eq && protocol_field) pdeps[base + 1] = i;
    }
    // Any statement other than a match resets the tracking (rule_maybe_reset_payload_deps()): only a reject that comes
    // first among the statements can still make a dependency redundant.
    if (!r.statements.empty() && r.statements.front().kind == Statement::Kind::reject) {
        const std::string type = param(r.statements.front(), "type");
        if ((family == Family::ip || family == Family::ip6) && type == "tcp-reset") release(kTransport);
        if (family == Family::inet && type != "icmpx") release(kNet);
    }
    return hidden;
}

std::string_view rel_text(Op op) {
    switch (op) {
        case Op::neq: case Op::not_range: case Op::not_in_set: return "!= ";
        case Op::lt: return "< ";
        case Op::lte: return "<= ";
        case Op::gt: return "> ";
        case Op::gte: return ">= ";
        default: return "";
    }
}

// The length of a mask that is N leading one bits followed by zeros, else -1.
int mask_prefix(const Bytes& mask) {
    int n = 0;
    size_t i = 0;
    for (; i < mask.size() && mask[i] == 0xff; ++i) n += 8;
    if (i == mask.size()) return n;
    int k = 0;
    for (uint8_t bit = 0x80; bit && (mask[i] & bit); bit >>= 1) ++k;
    if (static_cast<uint8_t>(mask[i] << k) != 0) return -1;
    for (size_t j = i + 1; j < mask.size(); ++j)
        if (mask[j] != 0) return -1;
    return n + k;
}

std::string print_match(const Match& m, const Field& f) {
    const ValueType vt = value_type(f);
    std::string s(f.name);
    s += ' ';
    switch (m.op) {
        case Op::in_set:
        case Op::not_in_set:
            s += rel_text(m.op);
            if (!m.set.empty()) return s + "@" + m.set;
            return s + set_elements_text(m.elements, vt, false);
        case Op::range:
        case Op::not_range:
            return s + std::string(rel_text(m.op)) + format_value(m.value, vt, true) + "-" + format_value(m.value_hi, vt, true);
        default: break;
    }
    if (m.mask.empty()) {
        if (vt.kind == Kind::ct_state) {
            // nft prints a whole-value compare with an explicit operator (a bare list is the flag test).
            const uint64_t v = to_number(m.value, vt.host_order);
            return s + (m.op == Op::eq ? "== " : std::string(rel_text(m.op))) + flags_text(v, " | ");
        }
        return s + std::string(rel_text(m.op)) + format_value(m.value, vt);
    }
    if (vt.kind == Kind::ct_state && m.op == Op::neq && to_number(m.value, vt.host_order) == 0)
        return s + flags_text(to_number(m.mask, vt.host_order), ",");
    if (m.op == Op::eq || m.op == Op::neq) {
        const int p = mask_prefix(m.mask);
        if (is_address(vt) && p >= 0) return s + std::string(rel_text(m.op)) + format_value(m.value, vt) + "/" + std::to_string(p);
        if (vt.kind == Kind::ifname && p > 0 && p % 8 == 0) {
            std::string name(m.value.begin(), m.value.begin() + p / 8);
            if (name.find('\0') == std::string::npos) return s + std::string(rel_text(m.op)) + "\"" + name + "*\"";
        }
    }
    // Any other masked compare, in nft's binop form.
    return s + "& " + hex(m.mask) + " " + (m.op == Op::eq ? "== " : std::string(rel_text(m.op))) + format_value(m.value, vt);
}

std::string print_log(const Statement& s) {
    std::string out = "log";
    if (has_param(s, "prefix")) out += " prefix \"" + param(s, "prefix") + "\"";
    if (has_param(s, "group")) out += " group " + param(s, "group");
    if (has_param(s, "level")) {
        auto level = parse_number(param(s, "level"));
        if (level && *level != 4) out += " level " + name_or_number(kLogLevels, *level);
    }
    return out;
}

// get_rate() of nft: the largest of bytes, kbytes, mbytes that divides the value.
std::string byte_rate(uint64_t v) {
    static constexpr std::string_view units[] = {"bytes", "kbytes", "mbytes"};
    size_t i = 0;
    for (; i + 1 < std::size(units); ++i) {
        if (v % 1024 != 0) break;
        v /= 1024;
    }
    return std::to_string(v) + " " + std::string(units[i]);
}

std::string print_limit(const Statement& s) {
    const bool over = param(s, "over") == "1";
    const uint64_t rate = parse_number(param(s, "rate")).value_or(0);
    const uint64_t burst = parse_number(param(s, "burst")).value_or(0);
    std::string out = std::string("limit rate ") + (over ? "over " : "");
    if (param(s, "type") == "bytes") {
        out += byte_rate(rate) + "/" + param(s, "unit");
        if (burst != 0) out += " burst " + byte_rate(burst);
        return out;
    }
    out += std::to_string(rate) + "/" + param(s, "unit");
    if (burst != 0 && burst != 5) out += " burst " + std::to_string(burst) + " packets";
    return out;
}

std::string print_reject(const Statement& s, Family family) {
    const std::string type = param(s, "type");
    if (type == "tcp-reset") return "reject with tcp reset";
    const uint64_t code = parse_number(param(s, "code")).value_or(0);
    // nft's default spelling is implied by the family: icmpx port-unreachable in inet, icmp(v6) in ip/ip6.
    if (type == "icmpx" && code == 1) return "reject";
    if (type == "icmp" && code == 3 && family == Family::ip) return "reject";
    if (type == "icmpv6" && code == 4 && family == Family::ip6) return "reject";
    std::span<const Named> codes = type == "icmp" ? std::span<const Named>(kIcmpCodes)
                                  : type == "icmpv6" ? std::span<const Named>(kIcmpv6Codes)
                                                     : std::span<const Named>(kIcmpxCodes);
    return "reject with " + type + " " + name_or_number(codes, code);
}

std::string print_statement(const Statement& s, Family family) {
    switch (s.kind) {
        case Statement::Kind::counter: return "counter packets 0 bytes 0";
        case Statement::Kind::log: return print_log(s);
        case Statement::Kind::limit: return print_limit(s);
        case Statement::Kind::reject: return print_reject(s, family);
        case Statement::Kind::notrack: return "notrack";
        case Statement::Kind::other: break;
    }
    return "# " + param(s, "expr");
}

std::string print_verdict(const Verdict& v) {
    switch (v.kind) {
        case VerdictKind::jump: return "jump " + v.chain;
        case VerdictKind::goto_: return "goto " + v.chain;
        default: return std::string(verdict_name(v.kind));
    }
}

std::string print_set(const Set& s) {
    std::string out = "\tset " + s.name + " {\n";
    if (s.key_type.starts_with("typeof ")) out += "\t\t" + s.key_type + "\n";
    else out += "\t\ttype " + s.key_type + "\n";
    if (s.flags & (NFT_SET_CONSTANT | NFT_SET_EVAL | NFT_SET_INTERVAL | NFT_SET_TIMEOUT)) {
        std::string flags;
        auto add = [&](uint32_t bit, std::string_view name) {
            if (!(s.flags & bit)) return;
            if (!flags.empty()) flags += ',';
            flags += name;
        };
        add(NFT_SET_CONSTANT, "constant");
        add(NFT_SET_EVAL, "dynamic");
        add(NFT_SET_INTERVAL, "interval");
        add(NFT_SET_TIMEOUT, "timeout");
        out += "\t\tflags " + flags + "\n";
    }
    if (!s.elements.empty()) {
        ValueType vt = set_value_type(s.key_type).value_or(ValueType{Kind::integer, s.key_len, false});
        if (!set_value_type(s.key_type)) vt.len = 0;  // unknown type: hex
        out += "\t\telements = " + set_elements_text(s.elements, vt, true) + "\n";
    }
    return out + "\t}\n";
}

std::string print_chain(const Chain& c, Family family) {
    std::string out = "\tchain " + c.name + " {\n";
    if (c.hook) {
        out += "\t\ttype " + c.hook->type + " hook " + c.hook->hook;
        if (!c.hook->device.empty()) out += " device \"" + c.hook->device + "\"";
        out += " priority " + prio_text(family, c.hook->hook, c.hook->priority) + "; policy " +
               std::string(verdict_name(c.policy)) + ";\n";
    }
    for (const auto& r : c.rules) out += "\t\t" + print_rule(r, family) + "\n";
    return out + "\t}\n";
}

}  // namespace

Result<ParsedConfig> parse_config(FileSource& source, const std::string& path, const ParseOptions& options) {
    Parser p(&source, options);
    return p.parse_file(path);
}

Result<ParsedConfig> parse_text(std::string_view text, const std::string& name) {
    Parser p(nullptr, ParseOptions{});
    return p.run(text, name);
}

std::string print_rule(const Rule& rule, Family family) {
    if (!rule.opaque.empty()) return "# " + one_line(rule.opaque);
    for (const auto& s : rule.statements)
        if (s.kind == Statement::Kind::other) return "# rule with a " + param(s, "expr") + " expression, not modelled";
    Rule narrow = rule;
    for (auto& m : narrow.matches) m = narrowed(m);
    const std::vector<bool> hidden = hidden_matches(narrow, family);
    std::vector<std::string> parts;
    Proto implied = Proto::none;
    for (size_t i = 0; i < narrow.matches.size(); ++i) {
        const Match& m = narrow.matches[i];
        const Field* f = field_for(m.sel, implied);
        implied = implied_after(implied, m);
        if (hidden[i]) continue;
        if (!f) return "# rule with a match plumb cannot name";
        parts.push_back(print_match(m, *f));
    }
    for (const auto& s : rule.statements) parts.push_back(print_statement(s, family));
    if (rule.verdict.kind != VerdictKind::none) parts.push_back(print_verdict(rule.verdict));
    if (!rule.comment.empty()) parts.push_back("comment \"" + rule.comment + "\"");
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += ' ';
        out += p;
    }
    return out;
}

std::string print_table(const Table& table) {
    std::string out = "table " + std::string(family_name(table.family)) + " " + table.name + " {\n";
    std::string delim;
    if (table.flags & NFT_TABLE_F_DORMANT) {
        out += "\tflags dormant\n";
        delim = "\n";
    }
    for (const auto& s : table.sets) {
        out += delim + print_set(s);
        delim = "\n";
    }
    for (const auto& c : table.chains) {
        out += delim + print_chain(c, table.family);
        delim = "\n";
    }
    return out + "}\n";
}

std::string print_ruleset(const Ruleset& ruleset) {
    std::string out;
    for (const auto& t : ruleset.tables) out += print_table(t);
    return out;
}

}  // namespace plumb::firewall::nft
