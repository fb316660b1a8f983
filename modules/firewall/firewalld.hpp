// firewalld: its configuration read offline the way firewalld 1.3 reads it, its runtime state over D-Bus, and the
// procedures of the firewall module that judge and remediate it.
//
//   firewalld.conf    /etc/firewalld/firewalld.conf, read with firewalld's rules (io/firewalld_conf.py): '#' and ';'
//                     comments, "Key=Value" split on '=' (a value holding '=' is ignored), unknown keys and empty values
//                     ignored, the FIRST assignment of a key wins (later ones are "Duplicate option definition"), and
//                     firewalld's fallbacks when a key is absent or invalid: DefaultZone=public, FirewallBackend=nftables
//                     (config.FALLBACK_ZONE / FALLBACK_FIREWALL_BACKEND). A missing file means all fallbacks.
//   zones             /etc/firewalld/zones/NAME.xml replaces /usr/lib/firewalld/zones/NAME.xml as a whole (fw.py
//                     _loader_zones: the /etc object overrides the builtin one). <zone target> is one of ACCEPT,
//                     %%REJECT%%, DROP, default (or absent); anything else makes firewalld refuse the file.
//   services          /etc/firewalld/services/NAME.xml over /usr/lib/firewalld/services/NAME.xml, for the ports a
//                     service opens (whether a zone lets the management port in).
//   runtime           org.fedoraproject.FirewallD1 on the system bus: state, getDefaultZone, zone.getServices/getPorts,
//                     zone.getZoneOfInterface, reload. PLUMB_SYSTEM_BUS_ADDRESS overrides the bus address (tests), as
//                     in the core module's unit_state. libsystemd is loaded on first use (plumb/lazy_library.hpp).
//
// Every file is read through a FileSource (the engine's root-confined reads); malformed XML is an error naming the file
// and the line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/error.hpp"
#include "plumb/file_source.hpp"
#include "plumb/module.hpp"

namespace plumb::firewall::firewalld {

inline constexpr const char* kConfPath = "/etc/firewalld/firewalld.conf";
inline constexpr const char* kEtcDir = "/etc/firewalld";
inline constexpr const char* kUsrDir = "/usr/lib/firewalld";
inline constexpr const char* kEtcZones = "/etc/firewalld/zones";
inline constexpr const char* kUsrZones = "/usr/lib/firewalld/zones";
inline constexpr const char* kEtcServices = "/etc/firewalld/services";
inline constexpr const char* kUsrServices = "/usr/lib/firewalld/services";
inline constexpr const char* kFallbackZone = "public";         // firewalld config.FALLBACK_ZONE
inline constexpr const char* kFallbackBackend = "nftables";    // firewalld config.FALLBACK_FIREWALL_BACKEND
inline constexpr const char* kReloadAction = "firewalld_reload";  // the live action remediation plans

// ---- firewalld.conf ----------------------------------------------------------------------------------------------

struct Setting {
    std::string value;      // the value firewalld uses (its fallback when not set or invalid)
    unsigned line = 0;      // line of the assignment in effect; 0 when the fallback is used
    std::string raw;        // as written when it was invalid (firewalld then uses the fallback), else empty
    unsigned raw_line = 0;  // line of that invalid assignment
};

struct Conf {
    std::string file = kConfPath;
    bool exists = false;
    Setting default_zone;  // DefaultZone
    Setting backend;       // FirewallBackend, lower case
    // "file:line: why" for lines firewalld skips (unknown keys, empty values, duplicates, values with '='), per key.
    std::vector<std::pair<std::string, std::string>> ignored;  // {key, message}
    std::string where(unsigned line) const { return file + ":" + std::to_string(line); }
};

Conf parse_conf(std::string_view text, const std::string& file = kConfPath);
// Reads /etc/firewalld/firewalld.conf; a missing file gives the fallbacks (exists = false).
Result<Conf> read_conf(FileSource& fs);

// ---- zones -------------------------------------------------------------------------------------------------------

struct Entry {
    std::string value;  // interface name, source address ("ipset:NAME" for an ipset), service name, protocol, ...
    unsigned line = 0;
};

struct PortEntry {
    std::string port;      // as written: "22", "1000-2000" (or a service name from /etc/services)
    std::string protocol;  // tcp | udp | sctp | dccp
    unsigned line = 0;
    uint32_t lo = 0, hi = 0;  // numeric range, 0..0 when `port` is not numeric
    std::string text() const { return port + "/" + protocol; }
    bool covers(uint32_t p, std::string_view proto) const { return protocol == proto && lo != 0 && lo <= p && p <= hi; }
};

struct Zone {
    std::string name;
    std::string file;            // the file firewalld reads for this zone
    bool from_etc = false;       // the file is in /etc/firewalld/zones
    bool overrides_vendor = false;  // ... and a /usr/lib/firewalld/zones copy of the same name exists
    std::string target = "default";  // default | ACCEPT | DROP | REJECT
    unsigned line = 0;           // line of <zone>
    std::string short_name, description;
    std::vector<Entry> interfaces, sources, services, protocols, icmp_blocks;
    std::vector<PortEntry> ports, source_ports;
    std::vector<Entry> forward_ports;  // opaque: the <forward-port> element as compact XML
    std::vector<Entry> rules;          // rich rules, opaque: the <rule> element as compact XML
    bool forward = false, masquerade = false, icmp_block_inversion = false;
    std::vector<std::string> warnings;  // "file:line: ..." for what firewalld ignores
    std::string where(unsigned l) const { return file + ":" + std::to_string(l); }
};

// Parses the text of a zone file. Errors (EINVAL) name the file and the line: malformed XML, a root element other
// than <zone>, an invalid target, <interface>/<service>/<port>/... without their required attributes.
Result<Zone> parse_zone(std::string_view text, const std::string& file, const std::string& name);

// The file firewalld reads for zone `name` (the /etc copy when there is one), nullopt when neither exists.
Result<std::optional<std::string>> zone_file(FileSource& fs, const std::string& name);
// Parses zone `name` from the file firewalld reads; nullopt when there is none.
Result<std::optional<Zone>> read_zone(FileSource& fs, const std::string& name);
// Every zone name of either directory (NAME.xml), sorted. Combined zones (subdirectories of /etc/firewalld/zones) are
// not modelled.
Result<std::vector<std::string>> zone_names(FileSource& fs);
// Every zone, parsed; the first malformed file is the error.
Result<std::vector<Zone>> read_zones(FileSource& fs);

// firewalld is installed: /usr/lib/firewalld or /etc/firewalld exists.
Result<bool> installed(FileSource& fs);

// The default zone firewalld uses at start: DefaultZone when that zone exists, otherwise its fallback (public,
// external, block: fw.py _start_check). `note` says why when it is not DefaultZone.
struct EffectiveZone {
    std::string name;
    std::string note;
};
Result<EffectiveZone> effective_default_zone(FileSource& fs, const Conf& conf);

// ---- services ----------------------------------------------------------------------------------------------------

struct Service {
    std::string name;
    std::string file;
    std::vector<PortEntry> ports;
};
Result<std::optional<Service>> read_service(FileSource& fs, const std::string& name);

// What management access must stay allowed: a service (its ports from its definition) or one port.
struct Management {
    std::string service;        // empty for a port
    uint32_t port = 0;
    std::string protocol = "tcp";
    static Management from_args(const nlohmann::json& args);  // args["management"], default {"service": "ssh"}
    std::string text() const { return service.empty() ? std::to_string(port) + "/" + protocol : "service " + service; }
};
// Whether `zone` lets the management access in, with the evidence ("service ssh at FILE:LINE", "target ACCEPT",
// "port 22/tcp at FILE:LINE", "port 1-1024/tcp ... covers 22/tcp").
struct Allowance {
    bool allowed = false;
    std::string evidence;  // when allowed; otherwise why not
};
Result<Allowance> allows(FileSource& fs, const Zone& zone, const Management& m);

// ---- editing (remediation) ---------------------------------------------------------------------------------------

// A zone file being edited: the text of the file firewalld reads (the /etc copy, or the /usr/lib one to start the
// /etc copy from), parsed with the project's XML layer. The result always goes to /etc/firewalld/zones/NAME.xml.
class ZoneEditor {
public:
    // Starts from the file firewalld reads for `name`; from a minimal <zone/> when there is none.
    static Result<ZoneEditor> open(FileSource& fs, const std::string& name);
    ZoneEditor(ZoneEditor&&) noexcept;
    ZoneEditor& operator=(ZoneEditor&&) noexcept;
    ~ZoneEditor();

    const std::string& name() const { return name_; }
    const std::string& source() const { return source_; }  // the file the edit started from ("" when new)
    std::string target_path() const;                        // /etc/firewalld/zones/NAME.xml

    // Each returns true when it changed the document. Elements go after the last sibling of the same name, otherwise
    // where firewalld itself writes them (short, description, interface, source, service, port, protocol, ...).
    bool add_interface(const std::string& name);
    bool remove_interface(const std::string& name);
    bool add_service(const std::string& name);
    bool remove_service(const std::string& name);
    bool add_port(const std::string& port, const std::string& protocol);
    bool remove_port(const std::string& port, const std::string& protocol);
    bool remove_protocol(const std::string& value);
    // "default" removes the attribute; REJECT is written as firewalld writes it, %%REJECT%%.
    bool set_target(const std::string& target);
    bool changed() const { return changed_; }

    Result<std::string> text() const;  // serialized, with the XML declaration

private:
    struct Impl;
    ZoneEditor(std::unique_ptr<Impl> impl, std::string name, std::string source);
    std::unique_ptr<Impl> impl_;
    std::string name_, source_;
    bool changed_ = false;
};

// ---- runtime (D-Bus) ---------------------------------------------------------------------------------------------

// A connection to the system bus for asking firewalld. Every call has a 25 s timeout.
class Bus {
public:
    // PLUMB_SYSTEM_BUS_ADDRESS when set, the system bus otherwise. Fails when the bus is unreachable or libsystemd
    // cannot be loaded.
    static Result<std::unique_ptr<Bus>> connect();
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;
    const std::string& address() const { return address_; }  // for messages: "the system bus" or the address

    Result<bool> firewalld_running();  // org.freedesktop.DBus.NameHasOwner(org.fedoraproject.FirewallD1)
    Result<std::string> state();       // property "state": INIT, FAILED or RUNNING
    Result<std::string> default_zone();
    Result<std::vector<std::string>> services(const std::string& zone);
    Result<std::vector<std::pair<std::string, std::string>>> ports(const std::string& zone);  // {port, protocol}
    Result<std::vector<std::string>> protocols(const std::string& zone);
    Result<std::string> zone_of_interface(const std::string& interface);  // "" when not bound
    Result<void> reload();

private:
    Bus() = default;
    void* bus_ = nullptr;  // sd_bus*
    std::string address_;
};

// Live and firewalld on the bus: the connection; otherwise nullptr and `why` says why not (offline root, no bus, no
// owner of org.fedoraproject.FirewallD1). A bus that answers with an error is an error.
struct Runtime {
    std::unique_ptr<Bus> bus;
    std::string why_not;
};
Result<Runtime> runtime(sdk::Host& host);

// ---- procedures --------------------------------------------------------------------------------------------------
// Free functions the module's procedure table lists (firewall.cpp). Audits return the status with reasons;
// remediations plan through the Planner and return PASS (nothing to do), FAIL (changes planned) or ERROR.

// Argument schemas. The fragments several of them share are joined in by string-literal concatenation, so the
// schemas stay compile-time constants.
#define PLUMB_FWD_ZONE_PATTERN R"J("pattern": "^[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,63}$")J"
#define PLUMB_FWD_ACCESS_ITEMS \
    R"J("items": {"type": "string", "pattern": "^([A-Za-z][A-Za-z0-9_.+-]*|[0-9]{1,5}(-[0-9]{1,5})?/(tcp|udp|sctp|dccp)|protocol:[A-Za-z0-9_.-]+)$"})J"
#define PLUMB_FWD_MANAGEMENT_PROPERTY                                                                                   \
    R"J(    "management": {)J"                                                                                          \
    R"J(      "description": "access that must stay allowed in the zone the remediation touches (default: service ssh)",)J" \
    R"J(      "oneOf": [)J"                                                                                             \
    R"J(        {"type": "object", "properties": {"service": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.+-]*$"}},)J" \
    R"J(         "required": ["service"], "additionalProperties": false},)J"                                            \
    R"J(        {"type": "object", "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535},)J"        \
    R"J(                                          "protocol": {"enum": ["tcp", "udp", "sctp", "dccp"]}},)J"             \
    R"J(         "required": ["port"], "additionalProperties": false}]})J"

inline constexpr const char* kBackendSchema = R"J({
  "type": "object",
  "properties": {"backend": {"enum": ["nftables", "iptables"], "default": "nftables"}},
  "additionalProperties": false
})J";

inline constexpr const char* kDefaultZoneSchema = R"J({
  "type": "object",
  "properties": {
    "zone": {"type": "string", )J" PLUMB_FWD_ZONE_PATTERN R"J(, "default": "public"},
)J" PLUMB_FWD_MANAGEMENT_PROPERTY R"J(
  },
  "additionalProperties": false
})J";

inline constexpr const char* kLoopbackTrustedSchema = R"J({"type": "object", "additionalProperties": false})J";

inline constexpr const char* kZoneServicesSchema = R"J({
  "type": "object",
  "properties": {
    "zone": {"type": "string", )J" PLUMB_FWD_ZONE_PATTERN R"J(,
             "description": "zone to check; default: firewalld's default zone"},
    "required": {"type": "array", )J" PLUMB_FWD_ACCESS_ITEMS R"J(, "uniqueItems": true, "default": ["ssh"],
                 "description": "services (ssh), ports (22/tcp, 60000-61000/udp) or protocol:NAME the zone must allow"},
    "allowed": {"type": "array", )J" PLUMB_FWD_ACCESS_ITEMS R"J(, "uniqueItems": true,
                "description": "allow-list: every service, port and protocol the zone opens must be on it"},
)J" PLUMB_FWD_MANAGEMENT_PROPERTY R"J(
  },
  "additionalProperties": false
})J";

inline constexpr const char* kZoneTargetSchema = R"J({
  "type": "object",
  "properties": {
    "zone": {"type": "string", )J" PLUMB_FWD_ZONE_PATTERN R"J(,
             "description": "zone to check; default: firewalld's default zone"},
    "targets": {"type": "array", "items": {"enum": ["default", "ACCEPT", "DROP", "REJECT"]}, "minItems": 1,
                "uniqueItems": true, "default": ["default", "DROP", "REJECT"],
                "description": "allowed targets; remediation sets the first"},
)J" PLUMB_FWD_MANAGEMENT_PROPERTY R"J(
  },
  "additionalProperties": false
})J";

inline constexpr const char* kRuntimeSchema = R"J({"type": "object", "additionalProperties": false})J";

#undef PLUMB_FWD_ZONE_PATTERN
#undef PLUMB_FWD_ACCESS_ITEMS
#undef PLUMB_FWD_MANAGEMENT_PROPERTY

// firewalld_backend {backend}: firewalld.conf FirewallBackend. Remediation: the assignment in effect (or a new line)
// in firewalld.conf, everything else kept; reload.
plumb_status backend(sdk::Host& host, const nlohmann::json& args, sdk::Reporter& r);
plumb_status remediate_backend(sdk::Host& host, const nlohmann::json& args, sdk::Planner& p, sdk::Reporter& r);

// firewalld_default_zone {zone, management}: firewalld.conf DefaultZone names `zone` (which exists) and, live with
// firewalld running, getDefaultZone answers `zone`. Remediation: DefaultZone in firewalld.conf; the management access
// added to the zone when it does not allow it; reload.
plumb_status default_zone(sdk::Host& host, const nlohmann::json& args, sdk::Reporter& r);
plumb_status remediate_default_zone(sdk::Host& host, const nlohmann::json& args, sdk::Planner& p, sdk::Reporter& r);

// firewalld_loopback_trusted {}: interface lo is bound to the trusted zone (target ACCEPT) and to no other zone.
// Remediation: <interface name="lo"/> in /etc/firewalld/zones/trusted.xml (started from the /usr/lib copy), lo removed
// from other zones, trusted's target ACCEPT; reload.
plumb_status loopback_trusted(sdk::Host& host, const nlohmann::json& args, sdk::Reporter& r);
plumb_status remediate_loopback_trusted(sdk::Host& host, const nlohmann::json& args, sdk::Planner& p, sdk::Reporter& r);

// firewalld_zone_services {zone, required, allowed, management}: the zone allows every required service/port, and
// with `allowed` opens nothing else. Remediation: adds what is missing, removes the extras (never the management
// access: an allow-list without it is refused); reload.
plumb_status zone_services(sdk::Host& host, const nlohmann::json& args, sdk::Reporter& r);
plumb_status remediate_zone_services(sdk::Host& host, const nlohmann::json& args, sdk::Planner& p, sdk::Reporter& r);

// firewalld_zone_target {zone, targets, management}: the zone's target is one of `targets` (deny inbound: ACCEPT is
// not in the default list). Remediation: the first of `targets`, with the management access added to the zone first
// when it does not allow it; reload.
plumb_status zone_target(sdk::Host& host, const nlohmann::json& args, sdk::Reporter& r);
plumb_status remediate_zone_target(sdk::Host& host, const nlohmann::json& args, sdk::Planner& p, sdk::Reporter& r);

// firewalld_runtime {} (LIVE_ONLY): firewalld runs, its state is RUNNING, and its runtime agrees with the permanent
// configuration: default zone, the default zone's services, ports and protocols, the zone of lo. Not applicable with
// a reason when firewalld does not run.
plumb_status runtime_state(sdk::Host& host, const nlohmann::json& args, sdk::Reporter& r);

// The live action kReloadAction (payload {}): org.fedoraproject.FirewallD1.reload when firewalld runs; nothing (0)
// when it does not. Returns 0 or -errno with a reason.
int firewalld_reload(sdk::Host& host, sdk::Reporter& r);

}  // namespace plumb::firewall::firewalld
