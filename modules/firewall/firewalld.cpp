// firewalld's configuration (firewalld.conf, zones, services) as firewalld 1.3 reads it, the zone-file editor used by
// remediation, and the D-Bus client for the runtime state. See firewalld.hpp.
#include "firewalld.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include <systemd/sd-bus.h>

#include "plumb/config/keyvalue.hpp"
#include "plumb/config/text.hpp"
#include "plumb/config/xml.hpp"
#include "plumb/lazy_library.hpp"
#include "plumb/sdbus.hpp"

namespace plumb::firewall::firewalld {

namespace xml = plumb::config::xml;

namespace {

bool missing(const Error& e) { return e.code == ENOENT || e.code == ENOTDIR; }

std::string lower(std::string s) {
    for (auto& ch : s)
        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    return s;
}

Result<bool> exists(FileSource& fs, const std::string& path) {
    auto st = fs.stat(path, true);
    if (st) return true;
    if (missing(st.error())) return false;
    return std::unexpected(st.error());
}

// firewalld's valid_keys (io/firewalld_conf.py, 1.3).
const char* const kValidKeys[] = {"DefaultZone",   "MinimalMark",      "CleanupOnExit",   "CleanupModulesOnExit",
                                  "Lockdown",      "IPv6_rpfilter",    "IndividualCalls", "LogDenied",
                                  "AutomaticHelpers", "FirewallBackend", "FlushAllOnReload", "RFC3964_IPv4",
                                  "AllowZoneDrifting"};

// "22" / "1000-2000" -> numeric range; 0..0 when not numeric.
std::pair<uint32_t, uint32_t> port_range(const std::string& p) {
    auto number = [](std::string_view s) -> uint32_t {
        if (s.empty() || s.size() > 5) return 0;
        uint32_t v = 0;
        for (char ch : s) {
            if (ch < '0' || ch > '9') return 0;
            v = v * 10 + static_cast<uint32_t>(ch - '0');
        }
        return v <= 65535 ? v : 0;
    };
    auto dash = p.find('-');
    if (dash == std::string::npos) {
        uint32_t v = number(p);
        return {v, v};
    }
    uint32_t a = number(std::string_view(p).substr(0, dash)), b = number(std::string_view(p).substr(dash + 1));
    if (a == 0 || b == 0) return {0, 0};
    return {std::min(a, b), std::max(a, b)};
}

const char* const kPortProtocols[] = {"tcp", "udp", "sctp", "dccp"};

}  // namespace

// ---- firewalld.conf ----------------------------------------------------------------------------------------------

Conf parse_conf(std::string_view text, const std::string& file) {
    Conf conf;
    conf.file = file;
    conf.exists = true;
    // '#' and ';' comments; keys are case-sensitive; firewalld strips blanks around key and value.
    config::KeyValueSyntax syntax;
    syntax.comment_chars = "#;";
    syntax.first_wins = true;
    auto kv = config::parse_key_value(text, file, syntax);
    std::set<std::string> seen;
    bool have_zone = false, have_backend = false;
    for (const auto& e : kv.entries) {
        auto at = file + ":" + std::to_string(e.line);
        if (e.value.find('=') != std::string::npos) {
            conf.ignored.emplace_back(e.key, at + ": " + e.key + "=" + e.value +
                                                 " has more than one '=' (firewalld: \"Invalid option definition\"), ignored");
            continue;
        }
        if (std::find_if(std::begin(kValidKeys), std::end(kValidKeys), [&](const char* k) { return e.key == k; }) ==
            std::end(kValidKeys)) {
            conf.ignored.emplace_back(e.key, at + ": unknown option " + e.key + ", ignored");
            continue;
        }
        if (e.value.empty()) {
            conf.ignored.emplace_back(e.key, at + ": " + e.key + " has no value (firewalld: \"Missing value\"), ignored");
            continue;
        }
        if (seen.contains(e.key)) {
            conf.ignored.emplace_back(e.key, at + ": " + e.key + "=" + e.value +
                                                 " is a duplicate (firewalld keeps the first assignment), ignored");
            continue;
        }
        seen.insert(e.key);
        if (e.key == "DefaultZone") {
            conf.default_zone = {e.value, e.line, {}, 0};
            have_zone = true;
        } else if (e.key == "FirewallBackend") {
            have_backend = true;
            std::string v = lower(e.value);
            if (v == "nftables" || v == "iptables") {
                conf.backend = {v, e.line, {}, 0};
            } else {
                // firewalld: "FirewallBackend '...' is not valid, using default value nftables"
                conf.backend = {kFallbackBackend, 0, e.value, e.line};
            }
        }
    }
    if (!have_zone) conf.default_zone = {kFallbackZone, 0, {}, 0};
    if (!have_backend) conf.backend = {kFallbackBackend, 0, {}, 0};
    return conf;
}

Result<Conf> read_conf(FileSource& fs) {
    auto text = fs.read(kConfPath);
    if (!text) {
        if (!missing(text.error())) return std::unexpected(text.error());
        Conf conf;  // firewalld: "Failed to load ...", then its fallback settings
        conf.default_zone = {kFallbackZone, 0, {}, 0};
        conf.backend = {kFallbackBackend, 0, {}, 0};
        return conf;
    }
    return parse_conf(*text, kConfPath);
}

// ---- zones -------------------------------------------------------------------------------------------------------

Result<Zone> parse_zone(std::string_view text, const std::string& file, const std::string& name) {
    auto doc = xml::parse(text, file);
    if (!doc) return std::unexpected(doc.error());
    Zone z;
    z.name = name;
    z.file = file;
    const xmlNode* root = xml::root(*doc);
    auto at = [&](const xmlNode* n) { return file + ":" + std::to_string(xml::line_of(n)); };
    if (!root) return fail_invalid(file + " has no root element; expected <zone>");
    if (!xml::named(root, "zone"))
        return fail_invalid(at(root) + ": root element is <" + std::string(reinterpret_cast<const char*>(root->name)) +
                            ">, expected <zone>");
    z.line = xml::line_of(root);
    if (auto t = xml::attribute(root, "target")) {
        // ZONE_TARGETS of firewalld 1.3: ACCEPT, %%REJECT%%, DROP, {chain}_{zone}, default
        if (*t == "ACCEPT" || *t == "DROP") z.target = *t;
        else if (*t == "%%REJECT%%") z.target = "REJECT";
        else if (*t == "default" || *t == "{chain}_{zone}" || t->empty()) z.target = "default";
        else
            return fail_invalid(at(root) + ": invalid zone target \"" + *t +
                                "\" (firewalld accepts ACCEPT, %%REJECT%%, DROP or default and refuses this zone file)");
    }
    auto need = [&](const xmlNode* n, const char* attr) -> Result<std::string> {
        auto v = xml::attribute(n, attr);
        if (!v)
            return fail_invalid(at(n) + ": <" + std::string(reinterpret_cast<const char*>(n->name)) + "> has no " + attr +
                                " attribute (firewalld refuses this zone file)");
        return *v;
    };
    auto add_unique = [&](std::vector<Entry>& list, const std::string& v, const xmlNode* n, const char* what) {
        for (const auto& e : list)
            if (e.value == v) {
                z.warnings.push_back(at(n) + ": " + what + " " + v + " is listed twice, ignored");
                return;
            }
        list.push_back({v, xml::line_of(n)});
    };
    auto port_entry = [&](const xmlNode* n, std::vector<PortEntry>& list) -> Result<void> {
        auto port = need(n, "port");
        if (!port) return std::unexpected(port.error());
        auto proto = need(n, "protocol");
        if (!proto) return std::unexpected(proto.error());
        if (std::find(std::begin(kPortProtocols), std::end(kPortProtocols), *proto) == std::end(kPortProtocols))
            return fail_invalid(at(n) + ": invalid protocol \"" + *proto + "\" (firewalld accepts tcp, udp, sctp, dccp)");
        auto [lo, hi] = port_range(*port);
        PortEntry p{*port, *proto, xml::line_of(n), lo, hi};
        for (const auto& e : list)
            if (e.port == p.port && e.protocol == p.protocol) {
                z.warnings.push_back(at(n) + ": port " + p.text() + " is listed twice, ignored");
                return {};
            }
        list.push_back(std::move(p));
        return {};
    };
    for (const xmlNode* n : xml::elements(root)) {
        const std::string el = reinterpret_cast<const char*>(n->name);
        if (el == "short") z.short_name = xml::text_of(n);
        else if (el == "description") z.description = xml::text_of(n);
        else if (el == "interface") {
            auto v = need(n, "name");
            if (!v) return std::unexpected(v.error());
            add_unique(z.interfaces, *v, n, "interface");
        } else if (el == "source") {
            auto addr = xml::attribute(n, "address"), ipset = xml::attribute(n, "ipset"), mac = xml::attribute(n, "mac");
            if (addr && ipset) return fail_invalid(at(n) + ": <source> has both address and ipset");
            if (addr) add_unique(z.sources, *addr, n, "source");
            else if (ipset) add_unique(z.sources, "ipset:" + *ipset, n, "source");
            else if (mac) add_unique(z.sources, *mac, n, "source");
            else z.warnings.push_back(at(n) + ": <source> without address or ipset, ignored");
        } else if (el == "service") {
            auto v = need(n, "name");
            if (!v) return std::unexpected(v.error());
            add_unique(z.services, *v, n, "service");
        } else if (el == "port") {
            if (auto ok = port_entry(n, z.ports); !ok) return std::unexpected(ok.error());
        } else if (el == "source-port") {
            if (auto ok = port_entry(n, z.source_ports); !ok) return std::unexpected(ok.error());
        } else if (el == "protocol") {
            auto v = need(n, "value");
            if (!v) return std::unexpected(v.error());
            add_unique(z.protocols, *v, n, "protocol");
        } else if (el == "icmp-block") {
            auto v = need(n, "name");
            if (!v) return std::unexpected(v.error());
            add_unique(z.icmp_blocks, *v, n, "icmp-block");
        } else if (el == "icmp-block-inversion") z.icmp_block_inversion = true;
        else if (el == "forward") z.forward = true;
        else if (el == "masquerade") z.masquerade = true;
        else if (el == "forward-port") z.forward_ports.push_back({xml::compact_text(n), xml::line_of(n)});
        else if (el == "rule") z.rules.push_back({xml::compact_text(n), xml::line_of(n)});
        else z.warnings.push_back(at(n) + ": unknown element <" + el + ">, ignored");
    }
    return z;
}

Result<std::optional<std::string>> zone_file(FileSource& fs, const std::string& name) {
    for (const char* dir : {kEtcZones, kUsrZones}) {
        std::string path = std::string(dir) + "/" + name + ".xml";
        auto e = exists(fs, path);
        if (!e) return std::unexpected(e.error());
        if (*e) return std::optional<std::string>(path);
    }
    return std::optional<std::string>();
}

Result<std::optional<Zone>> read_zone(FileSource& fs, const std::string& name) {
    auto file = zone_file(fs, name);
    if (!file) return std::unexpected(file.error());
    if (!*file) return std::optional<Zone>();
    auto text = fs.read(**file);
    if (!text) return std::unexpected(text.error());
    auto z = parse_zone(*text, **file, name);
    if (!z) return std::unexpected(z.error());
    z->from_etc = (*file)->starts_with(kEtcZones);
    if (z->from_etc) {
        auto vendor = exists(fs, std::string(kUsrZones) + "/" + name + ".xml");
        if (!vendor) return std::unexpected(vendor.error());
        z->overrides_vendor = *vendor;
    }
    return std::optional<Zone>(std::move(*z));
}

Result<std::vector<std::string>> zone_names(FileSource& fs) {
    std::set<std::string> names;
    for (const char* dir : {kUsrZones, kEtcZones}) {
        auto list = fs.list_dir(dir);
        if (!list) {
            if (missing(list.error())) continue;
            return std::unexpected(list.error());
        }
        for (const auto& f : *list) {
            if (!f.ends_with(".xml") || f.size() == 4) continue;
            auto st = fs.stat(std::string(dir) + "/" + f, true);
            if (!st) {
                if (missing(st.error())) continue;  // a dangling link: firewalld cannot open it either
                return std::unexpected(st.error());
            }
            if (st->type == FileType::regular) names.insert(f.substr(0, f.size() - 4));
        }
    }
    return std::vector<std::string>(names.begin(), names.end());
}

Result<std::vector<Zone>> read_zones(FileSource& fs) {
    auto names = zone_names(fs);
    if (!names) return std::unexpected(names.error());
    std::vector<Zone> zones;
    for (const auto& n : *names) {
        auto z = read_zone(fs, n);
        if (!z) return std::unexpected(z.error());
        if (*z) zones.push_back(std::move(**z));
    }
    return zones;
}

Result<bool> installed(FileSource& fs) {
    for (const char* dir : {kUsrDir, kEtcDir}) {
        auto e = exists(fs, dir);
        if (!e) return std::unexpected(e.error());
        if (*e) return true;
    }
    return false;
}

Result<EffectiveZone> effective_default_zone(FileSource& fs, const Conf& conf) {
    auto f = zone_file(fs, conf.default_zone.value);
    if (!f) return std::unexpected(f.error());
    if (*f) return EffectiveZone{conf.default_zone.value, {}};
    for (const char* fallback : {"public", "external", "block"}) {
        auto g = zone_file(fs, fallback);
        if (!g) return std::unexpected(g.error());
        if (*g)
            return EffectiveZone{fallback, "zone " + conf.default_zone.value + " does not exist (no " + kEtcZones + "/" +
                                               conf.default_zone.value + ".xml or " + kUsrZones + "/" +
                                               conf.default_zone.value + ".xml), so firewalld falls back to " + fallback};
    }
    return EffectiveZone{"block", "zone " + conf.default_zone.value + " does not exist and neither do public, external "
                                  "or block: firewalld cannot start with this configuration"};
}

// ---- services ----------------------------------------------------------------------------------------------------

Result<std::optional<Service>> read_service(FileSource& fs, const std::string& name) {
    for (const char* dir : {kEtcServices, kUsrServices}) {
        std::string path = std::string(dir) + "/" + name + ".xml";
        auto text = fs.read(path);
        if (!text) {
            if (missing(text.error())) continue;
            return std::unexpected(text.error());
        }
        auto doc = xml::parse(*text, path);
        if (!doc) return std::unexpected(doc.error());
        const xmlNode* root = xml::root(*doc);
        if (!xml::named(root, "service")) return fail_invalid(path + ": root element is not <service>");
        Service s{name, path, {}};
        for (const xmlNode* n : xml::elements(root, "port")) {
            auto port = xml::attribute(n, "port"), proto = xml::attribute(n, "protocol");
            if (!port || !proto) continue;
            auto [lo, hi] = port_range(*port);
            s.ports.push_back({*port, *proto, xml::line_of(n), lo, hi});
        }
        return std::optional<Service>(std::move(s));
    }
    return std::optional<Service>();
}

Management Management::from_args(const nlohmann::json& args) {
    Management m;
    if (!args.contains("management")) {
        m.service = "ssh";
        return m;
    }
    const auto& j = args.at("management");
    if (j.contains("service")) {
        m.service = j.at("service").get<std::string>();
    } else {
        m.port = j.at("port").get<uint32_t>();
        m.protocol = j.value("protocol", std::string("tcp"));
    }
    return m;
}

Result<Allowance> allows(FileSource& fs, const Zone& zone, const Management& m) {
    if (zone.target == "ACCEPT") return Allowance{true, "zone " + zone.name + " has target ACCEPT at " + zone.where(zone.line)};
    // The ports the management access needs: the port itself, or the service's ports.
    std::vector<PortEntry> needed;
    std::string service_note;
    if (!m.service.empty()) {
        for (const auto& s : zone.services)
            if (s.value == m.service) return Allowance{true, "service " + m.service + " at " + zone.where(s.line)};
        auto def = read_service(fs, m.service);
        if (!def) return std::unexpected(def.error());
        if (!*def || (*def)->ports.empty())
            return Allowance{false, "zone " + zone.name + " (" + zone.file + ") does not list service " + m.service +
                                        (*def ? "" : " and no definition of service " + m.service + " exists")};
        needed = (*def)->ports;
        service_note = " (the ports of service " + m.service + ", " + (*def)->file + ")";
    } else {
        needed.push_back({std::to_string(m.port), m.protocol, 0, m.port, m.port});
    }
    std::vector<std::string> evidence;
    for (const auto& need : needed) {
        bool found = false;
        for (const auto& p : zone.ports) {
            bool cover = need.lo != 0 ? (p.protocol == need.protocol && p.lo != 0 && p.lo <= need.lo && need.hi <= p.hi)
                                      : (p.port == need.port && p.protocol == need.protocol);
            if (cover) {
                evidence.push_back("port " + p.text() + " at " + zone.where(p.line) + " covers " + need.text());
                found = true;
                break;
            }
        }
        if (!found) {
            // a service of the zone whose definition opens the port
            for (const auto& s : zone.services) {
                auto def = read_service(fs, s.value);
                if (!def) return std::unexpected(def.error());
                if (!*def) continue;
                for (const auto& p : (*def)->ports)
                    if (need.lo != 0 ? p.covers(need.lo, need.protocol) && p.hi >= need.hi : p.text() == need.text()) {
                        evidence.push_back("service " + s.value + " at " + zone.where(s.line) + " opens " + p.text() + " (" +
                                           (*def)->file + ")");
                        found = true;
                        break;
                    }
                if (found) break;
            }
        }
        for (const auto& p : zone.protocols)
            if (!found && p.value == need.protocol) {
                evidence.push_back("protocol " + p.value + " at " + zone.where(p.line) + " opens every " + need.protocol + " port");
                found = true;
            }
        if (!found)
            return Allowance{false, "zone " + zone.name + " (" + zone.file + ") does not allow " + need.text() + service_note};
    }
    return Allowance{true, config::join(evidence, "; ")};
}

// ---- editing -----------------------------------------------------------------------------------------------------

struct ZoneEditor::Impl {
    xml::Doc doc;
};

ZoneEditor::ZoneEditor(std::unique_ptr<Impl> impl, std::string name, std::string source)
    : impl_(std::move(impl)), name_(std::move(name)), source_(std::move(source)) {}
ZoneEditor::ZoneEditor(ZoneEditor&&) noexcept = default;
ZoneEditor& ZoneEditor::operator=(ZoneEditor&&) noexcept = default;
ZoneEditor::~ZoneEditor() = default;

std::string ZoneEditor::target_path() const { return std::string(kEtcZones) + "/" + name_ + ".xml"; }

Result<ZoneEditor> ZoneEditor::open(FileSource& fs, const std::string& name) {
    auto file = zone_file(fs, name);
    if (!file) return std::unexpected(file.error());
    std::string text = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n</zone>\n", source;
    if (*file) {
        auto t = fs.read(**file);
        if (!t) return std::unexpected(t.error());
        text = std::string(*t);
        source = **file;
        // Refuse what firewalld refuses: the edit must not carry an invalid file on.
        if (auto z = parse_zone(text, source, name); !z) return std::unexpected(z.error());
    }
    auto doc = xml::parse(text, source.empty() ? "new zone " + name : source);
    if (!doc) return std::unexpected(doc.error());
    auto impl = std::make_unique<Impl>();
    impl->doc = std::move(*doc);
    return ZoneEditor(std::move(impl), name, source);
}

namespace {

// The order firewalld's zone_writer uses; new elements go after the last element of their kind or of an earlier kind.
const char* const kWriterOrder[] = {"short",  "description", "interface",  "source",       "service",
                                    "port",   "protocol",    "icmp-block", "icmp-block-inversion", "forward",
                                    "masquerade", "forward-port", "source-port", "rule"};

int order_of(const xmlNode* n) {
    for (int i = 0; i < static_cast<int>(std::size(kWriterOrder)); ++i)
        if (xml::named(n, kWriterOrder[i])) return i;
    return -1;
}

xmlNode* insert_in_order(xmlNode* zone, const char* element, const xml::Attributes& attrs) {
    int mine = static_cast<int>(std::size(kWriterOrder));
    for (int i = 0; i < static_cast<int>(std::size(kWriterOrder)); ++i)
        if (std::strcmp(kWriterOrder[i], element) == 0) mine = i;
    xmlNode* after = nullptr;
    xmlNode* before = nullptr;
    for (xmlNode* n : xml::elements(zone)) {
        int o = order_of(n);
        if (o >= 0 && o <= mine) after = n;
        else if (o > mine && !before) before = n;
    }
    if (after) return xml::insert_element(zone, element, attrs, xml::Position::after_node(after));
    if (before) return xml::insert_element(zone, element, attrs, xml::Position::before_node(before));
    return xml::insert_element(zone, element, attrs);
}

xmlNode* find_element(xmlNode* zone, const char* element, std::initializer_list<std::pair<const char*, std::string>> attrs) {
    for (xmlNode* n : xml::elements(zone, element)) {
        bool all = true;
        for (const auto& [k, v] : attrs) all = all && xml::attribute(n, k) == v;
        if (all) return n;
    }
    return nullptr;
}

}  // namespace

bool ZoneEditor::add_interface(const std::string& name) {
    xmlNode* zone = xml::root(impl_->doc);
    if (find_element(zone, "interface", {{"name", name}})) return false;
    insert_in_order(zone, "interface", {{"name", name}});
    return changed_ = true;
}

bool ZoneEditor::remove_interface(const std::string& name) {
    bool any = false;
    while (xmlNode* n = find_element(xml::root(impl_->doc), "interface", {{"name", name}})) {
        xml::remove_element(n);
        any = true;
    }
    changed_ = changed_ || any;
    return any;
}

bool ZoneEditor::add_service(const std::string& name) {
    xmlNode* zone = xml::root(impl_->doc);
    if (find_element(zone, "service", {{"name", name}})) return false;
    insert_in_order(zone, "service", {{"name", name}});
    return changed_ = true;
}

bool ZoneEditor::remove_service(const std::string& name) {
    bool any = false;
    while (xmlNode* n = find_element(xml::root(impl_->doc), "service", {{"name", name}})) {
        xml::remove_element(n);
        any = true;
    }
    changed_ = changed_ || any;
    return any;
}

bool ZoneEditor::add_port(const std::string& port, const std::string& protocol) {
    xmlNode* zone = xml::root(impl_->doc);
    if (find_element(zone, "port", {{"port", port}, {"protocol", protocol}})) return false;
    // firewalld writes port before protocol
    insert_in_order(zone, "port", {{"port", port}, {"protocol", protocol}});
    return changed_ = true;
}

bool ZoneEditor::remove_port(const std::string& port, const std::string& protocol) {
    bool any = false;
    while (xmlNode* n = find_element(xml::root(impl_->doc), "port", {{"port", port}, {"protocol", protocol}})) {
        xml::remove_element(n);
        any = true;
    }
    changed_ = changed_ || any;
    return any;
}

bool ZoneEditor::remove_protocol(const std::string& value) {
    bool any = false;
    while (xmlNode* n = find_element(xml::root(impl_->doc), "protocol", {{"value", value}})) {
        xml::remove_element(n);
        any = true;
    }
    changed_ = changed_ || any;
    return any;
}

bool ZoneEditor::set_target(const std::string& target) {
    xmlNode* zone = xml::root(impl_->doc);
    auto current = xml::attribute(zone, "target");
    if (target == "default") {
        if (!current) return false;
        xml::remove_attribute(zone, "target");
        return changed_ = true;
    }
    const std::string written = target == "REJECT" ? "%%REJECT%%" : target;
    if (current == written) return false;
    xml::set_attribute(zone, "target", written);
    return changed_ = true;
}

Result<std::string> ZoneEditor::text() const { return xml::serialize(impl_->doc); }

// ---- D-Bus -------------------------------------------------------------------------------------------------------

namespace {

constexpr const char* kFirewalldName = "org.fedoraproject.FirewallD1";
constexpr const char* kFirewalldPath = "/org/fedoraproject/FirewallD1";
constexpr const char* kZoneInterface = "org.fedoraproject.FirewallD1.zone";
constexpr uint64_t kTimeoutUsec = 25ULL * 1000 * 1000;

using sdk::SdBusApi;
const SdBusApi& api() { return sdk::sdbus(); }  // only after connect() succeeded

std::string bus_error_text(sd_bus_error& e, int rc) {
    std::string s = e.name ? std::string(e.name) + (e.message ? std::string(": ") + e.message : "") : std::strerror(-rc);
    api().sd_bus_error_free(&e);
    return s;
}

struct Reply {
    sd_bus_message* m = nullptr;
    ~Reply() {
        if (m) api().sd_bus_message_unref(m);
    }
};

void free_strv(char** v) {
    if (!v) return;
    for (char** p = v; *p; ++p) std::free(*p);
    std::free(v);
}

Result<std::vector<std::string>> read_strv(sd_bus_message* m, const std::string& what) {
    char** v = nullptr;
    int rc = api().sd_bus_message_read_strv(m, &v);
    if (rc < 0) return fail_errno(-rc, "reading the reply of " + what);
    std::vector<std::string> out;
    for (char** p = v; p && *p; ++p) out.emplace_back(*p);
    free_strv(v);
    return out;
}

}  // namespace

Result<std::unique_ptr<Bus>> Bus::connect() {
    auto c = sdk::connect_system_bus(kTimeoutUsec);
    if (!c) return std::unexpected(c.error());
    std::unique_ptr<Bus> bus(new Bus());
    bus->bus_ = c->bus;
    bus->address_ = c->address;
    return bus;
}

Bus::~Bus() {
    if (bus_) api().sd_bus_flush_close_unref(static_cast<sd_bus*>(bus_));
}

Result<bool> Bus::firewalld_running() {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    Reply reply;
    int rc = api().sd_bus_call_method(static_cast<sd_bus*>(bus_), "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameHasOwner", &e, &reply.m, "s", kFirewalldName);
    if (rc < 0) return fail(-rc, "NameHasOwner(" + std::string(kFirewalldName) + ") on " + address_ + " failed: " + bus_error_text(e, rc));
    int has = 0;
    rc = api().sd_bus_message_read(reply.m, "b", &has);
    if (rc < 0) return fail_errno(-rc, "reading the NameHasOwner reply from " + address_);
    return has != 0;
}

Result<std::string> Bus::state() {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    char* s = nullptr;
    int rc = api().sd_bus_get_property_string(static_cast<sd_bus*>(bus_), kFirewalldName, kFirewalldPath, kFirewalldName,
                                              "state", &e, &s);
    if (rc < 0) return fail(-rc, "reading firewalld's state property on " + address_ + " failed: " + bus_error_text(e, rc));
    std::string out = s ? s : "";
    std::free(s);
    return out;
}

namespace {
// Calls a firewalld method with one optional string argument and hands the reply to `read`.
template <class T, class F>
Result<T> call(void* bus, const std::string& address, const char* interface, const char* method, const char* arg, F read) {
    sd_bus_error e = SD_BUS_ERROR_NULL;
    Reply reply;
    int rc = arg ? api().sd_bus_call_method(static_cast<sd_bus*>(bus), kFirewalldName, kFirewalldPath, interface, method, &e,
                                            &reply.m, "s", arg)
                 : api().sd_bus_call_method(static_cast<sd_bus*>(bus), kFirewalldName, kFirewalldPath, interface, method, &e,
                                            &reply.m, "");
    const std::string what = std::string(interface) + "." + method + "(" + (arg ? std::string("\"") + arg + "\"" : "") + ")";
    if (rc < 0) return fail(-rc, what + " on " + address + " failed: " + bus_error_text(e, rc));
    return read(reply.m, what);
}
}  // namespace

Result<std::string> Bus::default_zone() {
    return call<std::string>(bus_, address_, kFirewalldName, "getDefaultZone", nullptr,
                             [&](sd_bus_message* m, const std::string& what) -> Result<std::string> {
                                 const char* s = nullptr;
                                 int rc = api().sd_bus_message_read(m, "s", &s);
                                 if (rc < 0) return fail_errno(-rc, "reading the reply of " + what);
                                 return std::string(s ? s : "");
                             });
}

Result<std::vector<std::string>> Bus::services(const std::string& zone) {
    return call<std::vector<std::string>>(bus_, address_, kZoneInterface, "getServices", zone.c_str(), read_strv);
}

Result<std::vector<std::string>> Bus::protocols(const std::string& zone) {
    return call<std::vector<std::string>>(bus_, address_, kZoneInterface, "getProtocols", zone.c_str(), read_strv);
}

Result<std::vector<std::pair<std::string, std::string>>> Bus::ports(const std::string& zone) {
    using Ports = std::vector<std::pair<std::string, std::string>>;
    return call<Ports>(bus_, address_, kZoneInterface, "getPorts", zone.c_str(),
                       [&](sd_bus_message* m, const std::string& what) -> Result<Ports> {
                           int rc = api().sd_bus_message_enter_container(m, 'a', "as");
                           if (rc < 0) return fail_errno(-rc, "reading the reply of " + what);
                           Ports out;
                           while ((rc = api().sd_bus_message_at_end(m, 0)) == 0) {
                               auto pair = read_strv(m, what);
                               if (!pair) return std::unexpected(pair.error());
                               if (pair->size() != 2) return fail_invalid(what + " answered a port that is not [port, protocol]");
                               out.emplace_back((*pair)[0], (*pair)[1]);
                           }
                           if (rc < 0) return fail_errno(-rc, "reading the reply of " + what);
                           api().sd_bus_message_exit_container(m);
                           return out;
                       });
}

Result<std::string> Bus::zone_of_interface(const std::string& interface) {
    return call<std::string>(bus_, address_, kZoneInterface, "getZoneOfInterface", interface.c_str(),
                             [&](sd_bus_message* m, const std::string& what) -> Result<std::string> {
                                 const char* s = nullptr;
                                 int rc = api().sd_bus_message_read(m, "s", &s);
                                 if (rc < 0) return fail_errno(-rc, "reading the reply of " + what);
                                 return std::string(s ? s : "");
                             });
}

Result<void> Bus::reload() {
    return call<void>(bus_, address_, kFirewalldName, "reload", nullptr,
                      [](sd_bus_message*, const std::string&) -> Result<void> { return {}; });
}

Result<Runtime> runtime(sdk::Host& host) {
    Runtime rt;
    if (!host.is_live()) {
        rt.why_not = "auditing an offline image (--root " + host.root_path() + "): firewalld's runtime is not consulted";
        return rt;
    }
    auto bus = Bus::connect();
    if (!bus) {
        // firewalld is only reachable over the system bus: without one it does not run (or cannot be asked).
        rt.why_not = "firewalld does not run: " + bus.error().message;
        return rt;
    }
    auto running = (*bus)->firewalld_running();
    if (!running) return std::unexpected(running.error());
    if (!*running) {
        rt.why_not = std::string("firewalld does not run: nothing owns ") + kFirewalldName + " on " + (*bus)->address();
        return rt;
    }
    rt.bus = std::move(*bus);
    return rt;
}

}  // namespace plumb::firewall::firewalld
