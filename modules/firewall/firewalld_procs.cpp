// The firewalld procedures of the firewall module: audits and remediations over firewalld.hpp's model.
//
// Each audit is a check function returning a Verdict (status + reasons), so that a remediation can judge the state
// before planning and again after (reads during planning see the planned files). Remediation writes only
// /etc/firewalld/firewalld.conf (the lines concerned, through the key=value editor) and /etc/firewalld/zones/NAME.xml
// (through the XML editor, started from the file firewalld reads), and plans the live action firewalld_reload when
// firewalld runs: offline, or when it does not run, firewalld reads the files when it starts.
#include <algorithm>
#include <set>

#include "firewalld.hpp"
#include "plumb/config/keyvalue_edit.hpp"
#include "plumb/config/text.hpp"

namespace plumb::firewall::firewalld {

namespace {

using nlohmann::json;
using config::join;

struct Verdict {
    plumb_status status = PLUMB_STATUS_PASS;
    std::vector<std::pair<std::string, std::string>> reasons;

    Verdict& add(std::string code, std::string phrase) {
        reasons.emplace_back(std::move(code), std::move(phrase));
        return *this;
    }
    Verdict& failed(std::string code, std::string phrase) {
        if (status == PLUMB_STATUS_PASS) status = PLUMB_STATUS_FAIL;
        return add(std::move(code), std::move(phrase));
    }
    static Verdict of(plumb_status s, std::string code, std::string phrase) {
        Verdict v;
        v.status = s;
        v.add(std::move(code), std::move(phrase));
        return v;
    }
    plumb_status emit(sdk::Reporter& r) const {
        for (const auto& [c, p] : reasons) r.reason(c, p);
        return status;
    }
    std::string phrase() const {
        std::vector<std::string> parts;
        for (const auto& [c, p] : reasons) parts.push_back(p);
        return join(parts, "; ");
    }
};

Verdict error_verdict(std::string code, const Error& e) { return Verdict::of(PLUMB_STATUS_ERROR, std::move(code), e.message); }

// Not applicable when firewalld is not installed (the baseline checks installation with core.package_installed).
std::optional<Verdict> not_installed(FileSource& fs) {
    auto i = installed(fs);
    if (!i) return error_verdict("read_failed", i.error());
    if (!*i)
        return Verdict::of(PLUMB_STATUS_NOTAPPLICABLE, "firewalld_not_installed",
                           std::string("firewalld is not installed: neither ") + kUsrDir + " nor " + kEtcDir + " exists");
    return std::nullopt;
}

void ignored_lines(Verdict& v, const Conf& conf, const std::string& key) {
    for (const auto& [k, msg] : conf.ignored)
        if (k == key) v.add("ignored_assignment", msg);
}

std::string quote(const std::vector<std::string>& items) { return items.empty() ? "(none)" : join(items, ", "); }

// firewalld.conf with `key` set to `value`: the assignment firewalld would read first replaced, or a line appended;
// a new file when there is none.
Result<std::string> conf_with(FileSource& fs, const std::string& key, const std::string& value) {
    auto text = fs.read(kConfPath);
    std::string current;
    if (text) current = std::string(*text);
    else if (text.error().code == ENOENT) current = "# firewalld configuration (written by plumb fix)\n";
    else return std::unexpected(text.error());
    config::KeyValueSyntax syntax;
    syntax.comment_chars = "#;";
    syntax.first_wins = true;
    return config::key_value_set(current, key, value, syntax, "=");
}

Result<void> plan_conf(FileSource& fs, sdk::Planner& p, const std::string& key, const std::string& value) {
    auto text = conf_with(fs, key, value);
    if (!text) return std::unexpected(text.error());
    return p.write_file(kConfPath, *text, 0644, "set " + key + "=" + value + " in firewalld.conf");
}

Result<void> plan_zone(sdk::Planner& p, const ZoneEditor& e, const std::string& why) {
    auto text = e.text();
    if (!text) return std::unexpected(text.error());
    std::string reason = why;
    if (!e.source().empty() && e.source() != e.target_path()) reason += " (starting from a copy of " + e.source() + ")";
    return p.write_file(e.target_path(), *text, 0644, reason);
}

// The reload is planned when firewalld runs on this (live) host; offline or stopped, it reads the files at start.
Result<void> plan_reload(sdk::Host& host, sdk::Planner& p) {
    if (!host.is_live()) return {};
    auto rt = runtime(host);
    if (!rt) return std::unexpected(rt.error());
    if (!rt->bus) return {};
    return p.live_action(kReloadAction, "reload firewalld (org.fedoraproject.FirewallD1.reload) so that it applies the changed configuration",
                         json::object(), json::object());
}

std::string zone_arg_or_default(FileSource& fs, const json& args, Verdict& v) {
    if (args.contains("zone")) return args.at("zone").get<std::string>();
    auto conf = read_conf(fs);
    if (!conf) {
        v = error_verdict("config_unreadable", conf.error());
        return {};
    }
    auto eff = effective_default_zone(fs, *conf);
    if (!eff) {
        v = error_verdict("read_failed", eff.error());
        return {};
    }
    return eff->name;
}

std::string zone_desc(const Zone& z) {
    return "zone " + z.name + " (" + z.file + (z.overrides_vendor ? ", overriding " + std::string(kUsrZones) + "/" + z.name + ".xml" : "") + ")";
}

std::string no_zone(const std::string& name) {
    return "zone " + name + " does not exist (no " + std::string(kEtcZones) + "/" + name + ".xml or " + kUsrZones + "/" +
           name + ".xml)";
}

// Adds the management access to an editor's zone; returns what was added.
std::string add_management(ZoneEditor& e, const Management& m) {
    if (!m.service.empty()) {
        e.add_service(m.service);
        return "service " + m.service;
    }
    e.add_port(std::to_string(m.port), m.protocol);
    return "port " + std::to_string(m.port) + "/" + m.protocol;
}

// Whether the zone as the editor has it lets the management access in.
Result<Allowance> editor_allows(FileSource& fs, const ZoneEditor& e, const Management& m) {
    auto text = e.text();
    if (!text) return std::unexpected(text.error());
    auto z = parse_zone(*text, e.target_path(), e.name());
    if (!z) return std::unexpected(z.error());
    return allows(fs, *z, m);
}

plumb_status planned(sdk::Reporter& r, const Verdict& before, const std::vector<std::string>& changes) {
    for (const auto& [c, p] : before.reasons) r.reason(c, p);
    return r.fail("planned", join(changes, "; "));
}

plumb_status pass_through(sdk::Reporter& r, const Verdict& before) {
    if (before.status == PLUMB_STATUS_PASS) return r.pass("nothing_to_do", before.phrase());
    return before.emit(r);  // not applicable / error: nothing to plan
}

// ---- items of zone_services -------------------------------------------------------------------------------------

struct Item {
    enum class Kind { service, port, protocol } kind = Kind::service;
    std::string text;      // as given
    std::string name;      // service / protocol name
    std::string port, protocol;
    uint32_t lo = 0, hi = 0;
};

Item parse_item(const std::string& s) {
    Item it;
    it.text = s;
    if (s.starts_with("protocol:")) {
        it.kind = Item::Kind::protocol;
        it.name = s.substr(9);
        return it;
    }
    auto slash = s.find('/');
    if (slash == std::string::npos) {
        it.name = s;
        return it;
    }
    it.kind = Item::Kind::port;
    it.port = s.substr(0, slash);
    it.protocol = s.substr(slash + 1);
    auto dash = it.port.find('-');
    it.lo = static_cast<uint32_t>(std::stoul(it.port.substr(0, dash)));
    it.hi = dash == std::string::npos ? it.lo : static_cast<uint32_t>(std::stoul(it.port.substr(dash + 1)));
    if (it.lo > it.hi) std::swap(it.lo, it.hi);
    return it;
}

bool port_within(const PortEntry& p, const Item& allowed) {
    return allowed.kind == Item::Kind::port && p.protocol == allowed.protocol &&
           (p.lo != 0 ? allowed.lo <= p.lo && p.hi <= allowed.hi : p.port == allowed.port);
}

}  // namespace

// ---- firewalld_backend -------------------------------------------------------------------------------------------

namespace {
Verdict check_backend(sdk::Host& host, const json& args) {
    if (auto na = not_installed(host)) return *na;
    const std::string want = args.value("backend", std::string(kFallbackBackend));
    auto conf = read_conf(host);
    if (!conf) return error_verdict("config_unreadable", conf.error());
    Verdict v;
    const Setting& s = conf->backend;
    if (!s.raw.empty()) {
        v.failed("invalid_value", "FirewallBackend=" + s.raw + " at " + conf->where(s.raw_line) +
                                      " is not nftables or iptables; firewalld ignores it and uses its default " +
                                      kFallbackBackend + "; expected FirewallBackend=" + want);
    } else if (s.line) {
        if (s.value == want) v.add("backend_ok", "FirewallBackend=" + s.value + " at " + conf->where(s.line) + "; expected " + want);
        else v.failed("backend_mismatch", "FirewallBackend=" + s.value + " at " + conf->where(s.line) + "; expected " + want);
    } else {
        std::string where = conf->exists ? "FirewallBackend is not set in " + conf->file : conf->file + " does not exist";
        if (s.value == want) v.add("default_ok", where + "; firewalld's default " + s.value + " is the expected " + want);
        else v.failed("default_mismatch", where + "; firewalld's default is " + s.value + "; expected " + want);
    }
    ignored_lines(v, *conf, "FirewallBackend");
    return v;
}
}  // namespace

plumb_status backend(sdk::Host& host, const json& args, sdk::Reporter& r) { return check_backend(host, args).emit(r); }

plumb_status remediate_backend(sdk::Host& host, const json& args, sdk::Planner& p, sdk::Reporter& r) {
    Verdict before = check_backend(host, args);
    if (before.status != PLUMB_STATUS_FAIL) return pass_through(r, before);
    const std::string want = args.value("backend", std::string(kFallbackBackend));
    if (auto ok = plan_conf(host, p, "FirewallBackend", want); !ok) return r.error("plan_failed", ok.error().message);
    Verdict after = check_backend(host, args);
    if (after.status != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning FirewallBackend=" + want + " the check still fails: " + after.phrase());
    if (auto ok = plan_reload(host, p); !ok) return r.error("plan_failed", ok.error().message);
    return planned(r, before, {"FirewallBackend=" + want + " in " + std::string(kConfPath)});
}

// ---- firewalld_default_zone --------------------------------------------------------------------------------------

namespace {
Verdict check_default_zone(sdk::Host& host, const json& args, bool consult_runtime) {
    if (auto na = not_installed(host)) return *na;
    const std::string want = args.value("zone", std::string(kFallbackZone));
    auto conf = read_conf(host);
    if (!conf) return error_verdict("config_unreadable", conf.error());
    auto eff = effective_default_zone(host, *conf);
    if (!eff) return error_verdict("read_failed", eff.error());
    Verdict v;
    const Setting& s = conf->default_zone;
    const std::string written = s.line ? "DefaultZone=" + s.value + " at " + conf->where(s.line)
                                       : (conf->exists ? "DefaultZone is not set in " + conf->file : conf->file + " does not exist") +
                                             "; firewalld's default is " + s.value;
    if (!eff->note.empty()) {
        v.failed("zone_missing", written + ": " + eff->note + "; expected default zone " + want);
    } else if (s.value == want) {
        v.add(s.line ? "default_zone_ok" : "default_ok", written + "; expected " + want);
    } else {
        v.failed("default_zone_mismatch", written + "; expected " + want);
    }
    ignored_lines(v, *conf, "DefaultZone");
    if (!consult_runtime || !host.is_live()) return v;
    auto rt = runtime(host);
    if (!rt) return error_verdict("runtime_query_failed", rt.error());
    if (!rt->bus) {
        v.add("runtime_not_checked", rt->why_not + "; only the permanent configuration was checked");
        return v;
    }
    auto dz = rt->bus->default_zone();
    if (!dz) return error_verdict("runtime_query_failed", dz.error());
    const std::string from = " (getDefaultZone on " + rt->bus->address() + ")";
    if (*dz == want) {
        v.add("runtime_ok", "firewalld runs with default zone " + *dz + from);
    } else {
        std::string note = *dz != eff->name ? "; firewalld has not been reloaded since firewalld.conf changed" : "";
        v.failed("runtime_mismatch", "firewalld runs with default zone " + *dz + from + "; expected " + want + note);
    }
    return v;
}
}  // namespace

plumb_status default_zone(sdk::Host& host, const json& args, sdk::Reporter& r) {
    return check_default_zone(host, args, true).emit(r);
}

plumb_status remediate_default_zone(sdk::Host& host, const json& args, sdk::Planner& p, sdk::Reporter& r) {
    Verdict before = check_default_zone(host, args, true);
    const std::string want = args.value("zone", std::string(kFallbackZone));
    const Management m = Management::from_args(args);
    std::vector<std::string> changes;
    if (before.status == PLUMB_STATUS_FAIL) {
        auto zone = read_zone(host, want);
        if (!zone) return r.error("zone_unreadable", zone.error().message);
        if (!*zone) return r.error("no_safe_change", no_zone(want) + "; plumb does not create zones. " + before.phrase());
        // The management access must survive the switch: added to the new default zone when it does not allow it.
        auto ok = allows(host, **zone, m);
        if (!ok) return r.error("read_failed", ok.error().message);
        if (!ok->allowed) {
            auto e = ZoneEditor::open(host, want);
            if (!e) return r.error("zone_unreadable", e.error().message);
            std::string what = add_management(*e, m);
            if (auto w = plan_zone(p, *e, "allow the management access (" + what + ") in zone " + want + " before it becomes the default zone"); !w)
                return r.error("plan_failed", w.error().message);
            changes.push_back(what + " added to " + e->target_path() + " (" + ok->evidence + ")");
        }
        Verdict permanent = check_default_zone(host, args, false);
        if (permanent.status == PLUMB_STATUS_FAIL) {
            if (auto w = plan_conf(host, p, "DefaultZone", want); !w) return r.error("plan_failed", w.error().message);
            changes.push_back("DefaultZone=" + want + " in " + std::string(kConfPath));
        }
        Verdict after = check_default_zone(host, args, false);
        if (after.status != PLUMB_STATUS_PASS)
            return r.error("no_safe_change", "after planning DefaultZone=" + want + " the check still fails: " + after.phrase());
        if (host.is_live()) {
            auto rt = runtime(host);
            if (!rt) return r.error("runtime_query_failed", rt.error().message);
            if (rt->bus) changes.push_back("reload firewalld so that it runs with default zone " + want);
        }
        if (auto w = plan_reload(host, p); !w) return r.error("plan_failed", w.error().message);
        return planned(r, before, changes);
    }
    return pass_through(r, before);
}

// ---- firewalld_loopback_trusted ----------------------------------------------------------------------------------

namespace {
Verdict check_loopback(sdk::Host& host) {
    if (auto na = not_installed(host)) return *na;
    auto zones = read_zones(host);
    if (!zones) return error_verdict("zone_unreadable", zones.error());
    const Zone* trusted = nullptr;
    std::vector<std::pair<const Zone*, unsigned>> bound;  // zones binding lo, with the line
    for (const auto& z : *zones) {
        if (z.name == "trusted") trusted = &z;
        for (const auto& i : z.interfaces)
            if (i.value == "lo") bound.emplace_back(&z, i.line);
    }
    Verdict v;
    if (!trusted) {
        v.failed("trusted_zone_missing", no_zone("trusted") + "; expected interface lo in zone trusted");
        return v;
    }
    bool in_trusted = false;
    std::vector<std::string> others;
    for (const auto& [z, line] : bound) {
        if (z == trusted) in_trusted = true;
        else others.push_back("zone " + z->name + " at " + z->where(line));
    }
    if (in_trusted) {
        unsigned line = 0;
        for (const auto& [z, l] : bound)
            if (z == trusted) line = l;
        v.add("loopback_trusted", "interface lo is bound to zone trusted at " + trusted->where(line));
    } else {
        v.failed("loopback_not_trusted",
                 "interface lo is not bound to " + zone_desc(*trusted) +
                     (others.empty() ? "; no zone binds it, so it falls into the default zone" : "; it is bound to " + join(others, ", ")) +
                     "; expected interface lo in zone trusted");
    }
    if (in_trusted && !others.empty())
        v.failed("loopback_in_other_zone", "interface lo is also bound to " + join(others, ", ") +
                                               "; firewalld refuses an interface bound to two zones");
    if (trusted->target != "ACCEPT")
        v.failed("trusted_not_accept", zone_desc(*trusted) + " has target " + trusted->target + " at " + trusted->where(trusted->line) +
                                           "; expected ACCEPT (lo is trusted only when the trusted zone accepts)");
    for (const auto& w : trusted->warnings) v.add("ignored_element", w);
    return v;
}
}  // namespace

plumb_status loopback_trusted(sdk::Host& host, const json&, sdk::Reporter& r) { return check_loopback(host).emit(r); }

plumb_status remediate_loopback_trusted(sdk::Host& host, const json&, sdk::Planner& p, sdk::Reporter& r) {
    Verdict before = check_loopback(host);
    if (before.status != PLUMB_STATUS_FAIL) return pass_through(r, before);
    auto zones = read_zones(host);
    if (!zones) return r.error("zone_unreadable", zones.error().message);
    std::vector<std::string> changes;
    // lo leaves every other zone first (an /etc copy of a vendor zone when needed).
    for (const auto& z : *zones) {
        if (z.name == "trusted") continue;
        if (std::none_of(z.interfaces.begin(), z.interfaces.end(), [](const Entry& e) { return e.value == "lo"; })) continue;
        auto e = ZoneEditor::open(host, z.name);
        if (!e) return r.error("zone_unreadable", e.error().message);
        e->remove_interface("lo");
        if (auto w = plan_zone(p, *e, "remove interface lo from zone " + z.name + " (it belongs in zone trusted)"); !w)
            return r.error("plan_failed", w.error().message);
        changes.push_back("interface lo removed from " + e->target_path());
    }
    auto e = ZoneEditor::open(host, "trusted");
    if (!e) return r.error("zone_unreadable", e.error().message);
    const bool new_zone = e->source().empty();
    if (e->add_interface("lo")) changes.push_back("interface lo added to " + e->target_path());
    if (e->set_target("ACCEPT")) changes.push_back("target ACCEPT set in " + e->target_path());
    if (e->changed()) {
        std::string why = "bind interface lo to zone trusted";
        if (new_zone) why += " (no trusted zone existed: a new one with target ACCEPT)";
        if (auto w = plan_zone(p, *e, why); !w) return r.error("plan_failed", w.error().message);
    }
    Verdict after = check_loopback(host);
    if (after.status != PLUMB_STATUS_PASS) return r.error("no_safe_change", "after planning, the check still fails: " + after.phrase());
    if (auto w = plan_reload(host, p); !w) return r.error("plan_failed", w.error().message);
    return planned(r, before, changes);
}

// ---- firewalld_zone_services -------------------------------------------------------------------------------------

namespace {
struct ServicesCheck {
    Verdict verdict;
    std::string zone;
    std::vector<Item> missing;       // required items the zone does not allow
    std::vector<std::string> extra_services, extra_protocols;
    std::vector<PortEntry> extra_ports;
};

ServicesCheck check_services(sdk::Host& host, const json& args) {
    ServicesCheck c;
    if (auto na = not_installed(host)) {
        c.verdict = *na;
        return c;
    }
    c.zone = zone_arg_or_default(host, args, c.verdict);
    if (c.verdict.status != PLUMB_STATUS_PASS) return c;
    auto zone = read_zone(host, c.zone);
    if (!zone) {
        c.verdict = error_verdict("zone_unreadable", zone.error());
        return c;
    }
    if (!*zone) {
        c.verdict.failed("zone_missing", no_zone(c.zone));
        return c;
    }
    const Zone& z = **zone;
    const std::vector<std::string> required =
        args.contains("required") ? args.at("required").get<std::vector<std::string>>() : std::vector<std::string>{"ssh"};
    std::vector<std::string> found;
    for (const auto& text : required) {
        Item it = parse_item(text);
        std::string evidence;
        if (it.kind == Item::Kind::service) {
            for (const auto& s : z.services)
                if (s.value == it.name) evidence = "service " + it.name + " at " + z.where(s.line);
        } else if (it.kind == Item::Kind::protocol) {
            for (const auto& s : z.protocols)
                if (s.value == it.name) evidence = "protocol " + it.name + " at " + z.where(s.line);
        } else {
            for (const auto& p : z.ports)
                if (p.protocol == it.protocol && p.lo != 0 && p.lo <= it.lo && it.hi <= p.hi)
                    evidence = "port " + p.text() + " at " + z.where(p.line);
            if (evidence.empty() && it.lo == it.hi) {
                for (const auto& s : z.services) {
                    auto def = read_service(host, s.value);
                    if (!def) {
                        c.verdict = error_verdict("read_failed", def.error());
                        return c;
                    }
                    if (!*def) continue;
                    for (const auto& p : (*def)->ports)
                        if (evidence.empty() && p.covers(it.lo, it.protocol))
                            evidence = "service " + s.value + " at " + z.where(s.line) + " (" + (*def)->file + " opens " + p.text() + ")";
                }
            }
        }
        if (evidence.empty()) c.missing.push_back(it);
        else found.push_back(text + ": " + evidence);
    }
    if (!c.missing.empty()) {
        std::vector<std::string> names;
        for (const auto& m : c.missing) names.push_back(m.text);
        c.verdict.failed("required_missing", zone_desc(z) + " does not allow " + join(names, ", ") + "; expected it to allow " + join(required, ", "));
    }
    std::vector<std::string> extras_text;
    if (args.contains("allowed")) {
        std::vector<Item> allowed;
        for (const auto& a : args.at("allowed").get<std::vector<std::string>>()) allowed.push_back(parse_item(a));
        // A port the zone opens is also allowed when an allowed service's definition opens it (22/tcp for ssh).
        std::vector<Item> service_ports;
        for (const auto& a : allowed) {
            if (a.kind != Item::Kind::service) continue;
            auto def = read_service(host, a.name);
            if (!def) {
                c.verdict = error_verdict("read_failed", def.error());
                return c;
            }
            if (!*def) continue;
            for (const auto& p : (*def)->ports)
                if (p.lo != 0) service_ports.push_back(parse_item(p.text()));
        }
        auto allowed_named = [&](Item::Kind k, const std::string& name) {
            return std::any_of(allowed.begin(), allowed.end(), [&](const Item& a) { return a.kind == k && a.name == name; });
        };
        for (const auto& s : z.services)
            if (!allowed_named(Item::Kind::service, s.value)) {
                c.extra_services.push_back(s.value);
                extras_text.push_back("service " + s.value + " at " + z.where(s.line));
            }
        for (const auto& p : z.ports)
            if (std::none_of(allowed.begin(), allowed.end(), [&](const Item& a) { return port_within(p, a); }) &&
                std::none_of(service_ports.begin(), service_ports.end(), [&](const Item& a) { return port_within(p, a); })) {
                c.extra_ports.push_back(p);
                extras_text.push_back("port " + p.text() + " at " + z.where(p.line));
            }
        for (const auto& p : z.protocols)
            if (!allowed_named(Item::Kind::protocol, p.value)) {
                c.extra_protocols.push_back(p.value);
                extras_text.push_back("protocol " + p.value + " at " + z.where(p.line));
            }
        if (z.target == "ACCEPT") extras_text.push_back("target ACCEPT at " + z.where(z.line) + " (every port)");
        if (!extras_text.empty())
            c.verdict.failed("not_allowed", zone_desc(z) + " opens " + join(extras_text, ", ") + ", which the allow-list " +
                                                join(args.at("allowed").get<std::vector<std::string>>(), ", ") + " does not contain");
    }
    if (c.verdict.status == PLUMB_STATUS_PASS) {
        std::string phrase = zone_desc(z) + " allows " + (found.empty() ? std::string("everything required (nothing)") : join(found, "; "));
        if (args.contains("allowed")) {
            std::vector<std::string> open;
            for (const auto& s : z.services) open.push_back(s.value);
            for (const auto& p : z.ports) open.push_back(p.text());
            for (const auto& p : z.protocols) open.push_back("protocol:" + p.value);
            phrase += "; everything it opens (" + quote(open) + ") is on the allow-list";
        }
        c.verdict.add("services_ok", phrase);
    }
    for (const auto& rule : z.rules)
        c.verdict.add("rich_rule_not_evaluated", "rich rule at " + z.where(rule.line) + " is not evaluated: " + rule.value);
    return c;
}
}  // namespace

plumb_status zone_services(sdk::Host& host, const json& args, sdk::Reporter& r) { return check_services(host, args).verdict.emit(r); }

plumb_status remediate_zone_services(sdk::Host& host, const json& args, sdk::Planner& p, sdk::Reporter& r) {
    ServicesCheck before = check_services(host, args);
    if (before.verdict.status != PLUMB_STATUS_FAIL) return pass_through(r, before.verdict);
    auto zone = read_zone(host, before.zone);
    if (!zone) return r.error("zone_unreadable", zone.error().message);
    if (!*zone) return r.error("no_safe_change", no_zone(before.zone) + "; plumb does not create zones");
    auto e = ZoneEditor::open(host, before.zone);
    if (!e) return r.error("zone_unreadable", e.error().message);
    std::vector<std::string> changes;
    for (const auto& it : before.missing) {
        if (it.kind == Item::Kind::service) e->add_service(it.name);
        else if (it.kind == Item::Kind::port) e->add_port(it.port, it.protocol);
        else return r.error("no_safe_change", "plumb does not add protocol " + it.name + " to a zone; " + before.verdict.phrase());
        changes.push_back(it.text + " added");
    }
    for (const auto& s : before.extra_services)
        if (e->remove_service(s)) changes.push_back("service " + s + " removed");
    for (const auto& pe : before.extra_ports)
        if (e->remove_port(pe.port, pe.protocol)) changes.push_back("port " + pe.text() + " removed");
    for (const auto& pr : before.extra_protocols)
        if (e->remove_protocol(pr)) changes.push_back("protocol " + pr + " removed");
    // Never cut the management access: an allow-list that removes it is refused.
    const Management m = Management::from_args(args);
    auto had = allows(host, **zone, m);
    if (!had) return r.error("read_failed", had.error().message);
    auto has = editor_allows(host, *e, m);
    if (!has) return r.error("read_failed", has.error().message);
    if (had->allowed && !has->allowed)
        return r.error("no_safe_change", "removing what the allow-list does not contain would cut the management access (" + m.text() +
                                             ", " + had->evidence + "); add it to allowed. " + before.verdict.phrase());
    if (e->changed())
        if (auto w = plan_zone(p, *e, "zone " + before.zone + ": " + join(changes, ", ")); !w) return r.error("plan_failed", w.error().message);
    ServicesCheck after = check_services(host, args);
    if (after.verdict.status != PLUMB_STATUS_PASS)
        return r.error("no_safe_change", "after planning, the check still fails: " + after.verdict.phrase());
    if (auto w = plan_reload(host, p); !w) return r.error("plan_failed", w.error().message);
    return planned(r, before.verdict, {join(changes, ", ") + " in " + e->target_path()});
}

// ---- firewalld_zone_target ---------------------------------------------------------------------------------------

namespace {
std::vector<std::string> targets_of(const json& args) {
    return args.contains("targets") ? args.at("targets").get<std::vector<std::string>>()
                                    : std::vector<std::string>{"default", "DROP", "REJECT"};
}

Verdict check_target(sdk::Host& host, const json& args, std::string& zone_name) {
    if (auto na = not_installed(host)) return *na;
    Verdict v;
    zone_name = zone_arg_or_default(host, args, v);
    if (v.status != PLUMB_STATUS_PASS) return v;
    auto zone = read_zone(host, zone_name);
    if (!zone) return error_verdict("zone_unreadable", zone.error());
    if (!*zone) {
        v.failed("zone_missing", no_zone(zone_name));
        return v;
    }
    const Zone& z = **zone;
    const auto targets = targets_of(args);
    std::string shown = z.target == "default" ? "default (no target attribute) at " + z.where(z.line)
                                              : z.target + " at " + z.where(z.line);
    if (std::find(targets.begin(), targets.end(), z.target) != targets.end())
        v.add("target_ok", zone_desc(z) + " has target " + shown + "; expected one of " + join(targets, ", "));
    else
        v.failed("target_not_allowed", zone_desc(z) + " has target " + shown + "; expected one of " + join(targets, ", "));
    return v;
}
}  // namespace

plumb_status zone_target(sdk::Host& host, const json& args, sdk::Reporter& r) {
    std::string zone;
    return check_target(host, args, zone).emit(r);
}

plumb_status remediate_zone_target(sdk::Host& host, const json& args, sdk::Planner& p, sdk::Reporter& r) {
    std::string zone;
    Verdict before = check_target(host, args, zone);
    if (before.status != PLUMB_STATUS_FAIL) return pass_through(r, before);
    auto existing = zone_file(host, zone);
    if (!existing) return r.error("zone_unreadable", existing.error().message);
    if (!*existing) return r.error("no_safe_change", no_zone(zone) + "; plumb does not create zones");
    auto e = ZoneEditor::open(host, zone);
    if (!e) return r.error("zone_unreadable", e.error().message);
    const std::string target = targets_of(args).front();
    std::vector<std::string> changes;
    e->set_target(target);
    changes.push_back("target " + target + " in " + e->target_path());
    // A zone that stops accepting everything must still let the management access in.
    const Management m = Management::from_args(args);
    auto ok = editor_allows(host, *e, m);
    if (!ok) return r.error("read_failed", ok.error().message);
    if (!ok->allowed) changes.push_back(add_management(*e, m) + " added to " + e->target_path() + " to keep the management access");
    if (auto w = plan_zone(p, *e, "zone " + zone + ": " + join(changes, ", ")); !w) return r.error("plan_failed", w.error().message);
    Verdict after = check_target(host, args, zone);
    if (after.status != PLUMB_STATUS_PASS) return r.error("no_safe_change", "after planning, the check still fails: " + after.phrase());
    if (auto w = plan_reload(host, p); !w) return r.error("plan_failed", w.error().message);
    return planned(r, before, changes);
}

// ---- firewalld_runtime -------------------------------------------------------------------------------------------

plumb_status runtime_state(sdk::Host& host, const json&, sdk::Reporter& r) {
    if (!host.is_live()) return r.not_applicable("offline", "firewalld's runtime exists only on a running system");
    if (auto na = not_installed(host)) return na->emit(r);
    auto rt = runtime(host);
    if (!rt) return r.error("runtime_query_failed", rt.error().message);
    if (!rt->bus) return r.not_applicable("firewalld_not_running", rt->why_not);
    Bus& bus = *rt->bus;
    Verdict v;
    auto state = bus.state();
    if (!state) return r.error("runtime_query_failed", state.error().message);
    if (*state != "RUNNING") {
        v.failed("not_running_state", "firewalld's state is " + *state + " (state property on " + bus.address() + ")" +
                                          (*state == "FAILED" ? ": it failed to apply its configuration and runs a failsafe one" : "") +
                                          "; expected RUNNING");
        return v.emit(r);
    }
    auto conf = read_conf(host);
    if (!conf) return r.error("config_unreadable", conf.error().message);
    auto eff = effective_default_zone(host, *conf);
    if (!eff) return r.error("read_failed", eff.error().message);
    auto dz = bus.default_zone();
    if (!dz) return r.error("runtime_query_failed", dz.error().message);
    const std::string conf_where = conf->default_zone.line ? "DefaultZone=" + conf->default_zone.value + " at " + conf->where(conf->default_zone.line)
                                                           : "firewalld's default " + conf->default_zone.value;
    std::vector<std::string> agreed;
    if (*dz != eff->name)
        v.failed("default_zone_differs", "firewalld runs with default zone " + *dz + " (getDefaultZone on " + bus.address() +
                                             "), the permanent configuration says " + eff->name + " (" + conf_where +
                                             (eff->note.empty() ? "" : "; " + eff->note) + "); firewalld was not reloaded since");
    else
        agreed.push_back("default zone " + *dz + " (" + conf_where + ")");

    // The runtime default zone against its permanent file.
    auto zone = read_zone(host, *dz);
    if (!zone) return r.error("zone_unreadable", zone.error().message);
    auto services = bus.services(*dz);
    if (!services) return r.error("runtime_query_failed", services.error().message);
    auto ports = bus.ports(*dz);
    if (!ports) return r.error("runtime_query_failed", ports.error().message);
    auto protocols = bus.protocols(*dz);
    if (!protocols) return r.error("runtime_query_failed", protocols.error().message);
    std::set<std::string> live_set, perm_set;
    for (const auto& s : *services) live_set.insert("service " + s);
    for (const auto& [port, proto] : *ports) live_set.insert("port " + port + "/" + proto);
    for (const auto& pr : *protocols) live_set.insert("protocol " + pr);
    std::string zone_file_name = *zone ? (*zone)->file : no_zone(*dz);
    if (*zone) {
        for (const auto& s : (*zone)->services) perm_set.insert("service " + s.value);
        for (const auto& p : (*zone)->ports) perm_set.insert("port " + p.text());
        for (const auto& pr : (*zone)->protocols) perm_set.insert("protocol " + pr.value);
    }
    std::vector<std::string> only_live, only_perm;
    std::set_difference(live_set.begin(), live_set.end(), perm_set.begin(), perm_set.end(), std::back_inserter(only_live));
    std::set_difference(perm_set.begin(), perm_set.end(), live_set.begin(), live_set.end(), std::back_inserter(only_perm));
    if (!only_live.empty() || !only_perm.empty()) {
        std::vector<std::string> parts;
        if (!only_live.empty()) parts.push_back("only in the runtime: " + join(only_live, ", "));
        if (!only_perm.empty()) parts.push_back("only in the permanent " + zone_file_name + ": " + join(only_perm, ", "));
        v.failed("zone_differs", "zone " + *dz + " differs between firewalld's runtime and its permanent configuration (" +
                                     join(parts, "; ") + "); runtime-only changes are lost at the next reload or restart");
    } else {
        agreed.push_back("zone " + *dz + " services, ports and protocols (" + quote(std::vector<std::string>(live_set.begin(), live_set.end())) +
                         ", " + zone_file_name + ")");
    }

    // The zone of lo.
    auto zones = read_zones(host);
    if (!zones) return r.error("zone_unreadable", zones.error().message);
    std::string perm_lo;
    for (const auto& z : *zones)
        for (const auto& i : z.interfaces)
            if (i.value == "lo" && perm_lo.empty()) perm_lo = z.name;
    auto live_lo = bus.zone_of_interface("lo");
    if (!live_lo) return r.error("runtime_query_failed", live_lo.error().message);
    if (*live_lo != perm_lo)
        v.failed("interface_differs", "interface lo is in zone " + (live_lo->empty() ? std::string("(none)") : *live_lo) +
                                          " at runtime (getZoneOfInterface), in zone " + (perm_lo.empty() ? std::string("(none)") : perm_lo) +
                                          " in the permanent configuration");
    else
        agreed.push_back("interface lo in zone " + (perm_lo.empty() ? std::string("(none)") : perm_lo));

    if (v.status == PLUMB_STATUS_PASS)
        v.add("runtime_ok", "firewalld is RUNNING on " + bus.address() + " and its runtime matches the permanent configuration: " + join(agreed, "; "));
    return v.emit(r);
}

// ---- live action -------------------------------------------------------------------------------------------------

int firewalld_reload(sdk::Host& host, sdk::Reporter& r) {
    auto rt = runtime(host);
    if (!rt) {
        r.reason("reload_failed", rt.error().message);
        return -(rt.error().code ? rt.error().code : EIO);
    }
    if (!rt->bus) {
        r.reason("firewalld_not_running", rt->why_not + "; nothing to reload (firewalld reads its configuration when it starts)");
        return 0;
    }
    if (auto ok = rt->bus->reload(); !ok) {
        r.reason("reload_failed", ok.error().message);
        return -(ok.error().code ? ok.error().code : EIO);
    }
    auto state = rt->bus->state();
    if (!state) {
        r.reason("reload_failed", state.error().message);
        return -(state.error().code ? state.error().code : EIO);
    }
    if (*state != "RUNNING") {
        r.reason("reload_failed", "after the reload firewalld's state is " + *state + "; expected RUNNING");
        return -EIO;
    }
    r.reason("reloaded", "firewalld reloaded its configuration (reload on " + rt->bus->address() + "), state RUNNING");
    return 0;
}

}  // namespace plumb::firewall::firewalld
