// unit_state: whether a systemd unit is enabled, disabled or masked.
//
// Live with systemd running, systemd answers over D-Bus (Manager.GetUnitFileState). Otherwise (offline image, or a
// live host whose PID 1 is not systemd) the state is derived from the unit files and symlinks under the root the way
// systemd's install.c (unit_file_lookup_state) does, and reported with the same state names as systemctl is-enabled:
//   masked / masked-runtime   the unit file found first is a link to /dev/null or an empty file
//   alias                     the name is a symlink to a unit file of another name
//   generated / transient     the unit file lives in a generator / transient directory
//   enabled / enabled-runtime a link named after the unit in a *.wants/, *.requires/ or *.upholds/ directory (or an
//                             Alias= link) of /etc/systemd/system, resp. of /run/systemd/system
//   static                    no [Install] rules (or an instance linked from a vendor directory)
//   indirect                  enabled only under other names (template instances, aliases), or Also= only
//   disabled                  has [Install] rules but no links
//   not-found                 no unit file
// "enabled" passes for the states systemctl is-enabled exits 0 for: enabled, enabled-runtime, static, indirect,
// generated, transient, alias. "disabled" passes for all others (disabled, linked, masked, not-found, bad, ...).
//
// Test override: when the host is live and PLUMB_SYSTEM_BUS_ADDRESS is set, the procedure talks D-Bus to that address
// even without /run/systemd/system (it is ignored offline). Only whoever starts plumb can set it, and it only chooses
// where the answer comes from.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <systemd/sd-bus.h>

#include "core.hpp"
#include "plumb/config/ini.hpp"
#include "plumb/lazy_library.hpp"
#include "plumb/sdbus.hpp"

namespace plumb::core {

const char* const kUnitStateSchema = R"J({
  "type": "object",
  "properties": {
    "unit": {"type": "string", "pattern": "^[A-Za-z0-9:_@\\\\-][A-Za-z0-9:_.@\\\\-]*$",
             "description": "unit name; without a type suffix .service is assumed, as systemctl does"},
    "state": {"enum": ["enabled", "disabled", "masked", "not-masked"]}
  },
  "required": ["unit", "state"],
  "additionalProperties": false
})J";

namespace {

enum class DirKind { persistent, runtime, other };
struct UnitDir {
    const char* path;
    DirKind kind;
    const char* special;  // "generated" / "transient" for units found there, else nullptr
};
// systemd's system search path (lookup_paths_init), highest priority first.
const UnitDir kUnitDirs[] = {
    {"/etc/systemd/system.control", DirKind::other, nullptr},
    {"/run/systemd/system.control", DirKind::runtime, nullptr},
    {"/run/systemd/transient", DirKind::runtime, "transient"},
    {"/run/systemd/generator.early", DirKind::runtime, "generated"},
    {"/etc/systemd/system", DirKind::persistent, nullptr},
    {"/etc/systemd/system.attached", DirKind::other, nullptr},
    {"/run/systemd/system", DirKind::runtime, nullptr},
    {"/run/systemd/system.attached", DirKind::runtime, nullptr},
    {"/run/systemd/generator", DirKind::runtime, "generated"},
    {"/usr/local/lib/systemd/system", DirKind::other, nullptr},
    {"/usr/lib/systemd/system", DirKind::other, nullptr},
    {"/lib/systemd/system", DirKind::other, nullptr},
    {"/run/systemd/generator.late", DirKind::runtime, "generated"},
};

const char* const kUnitSuffixes[] = {".service", ".socket", ".target", ".timer", ".mount", ".automount",
                                     ".swap",    ".path",   ".slice",  ".scope", ".device"};

std::string mangle_unit_name(const std::string& unit) {
    for (const char* s : kUnitSuffixes)
        if (ends_with(unit, s) && unit.size() > std::strlen(s)) return unit;
    return unit + ".service";
}

// "getty@tty1.service" -> "getty@.service"; empty when not an instance.
std::string template_of(const std::string& unit) {
    auto at = unit.find('@');
    auto dot = unit.rfind('.');
    if (at == std::string::npos || dot == std::string::npos || dot < at || dot == at + 1) return {};
    return unit.substr(0, at + 1) + unit.substr(dot);
}
bool is_instance(const std::string& unit) { return !template_of(unit).empty(); }
bool is_template(const std::string& unit) {
    auto at = unit.find('@');
    return at != std::string::npos && at + 1 < unit.size() && unit[at + 1] == '.';
}

bool state_counts_as_enabled(const std::string& s) {
    return s == "enabled" || s == "enabled-runtime" || s == "static" || s == "indirect" || s == "generated" ||
           s == "transient" || s == "alias";
}
bool state_is_masked(const std::string& s) { return s == "masked" || s == "masked-runtime"; }
bool state_known(const std::string& s) {
    static const char* const known[] = {"enabled", "enabled-runtime", "linked", "linked-runtime", "alias",
                                        "masked",  "masked-runtime",  "static", "indirect",       "disabled",
                                        "generated", "transient",     "bad",    "not-found"};
    for (const char* k : known)
        if (s == k) return true;
    return false;
}

struct OfflineState {
    std::string state;
    std::string evidence;  // where it came from, for the reason
};

// Follows a symlink chain inside the root and returns the final path ("" when it dangles or loops).
Result<std::string> resolve_chain(FileSource& fs, std::string path, std::string& first_target) {
    for (int hop = 0; hop < 16; ++hop) {
        auto st = fs.stat(path, false);
        if (!st) {
            if (is_missing(st.error())) return std::string();
            return std::unexpected(st.error());
        }
        if (st->type != FileType::symlink) return path;
        auto target = fs.read_link(path);
        if (!target) return std::unexpected(target.error());
        if (hop == 0) first_target = *target;
        if (*target == "/dev/null") return std::string("/dev/null");
        path = target->starts_with("/") ? *target : join_path(dir_name(path), *target);
    }
    return std::string();
}

class OfflineUnits {
public:
    explicit OfflineUnits(FileSource& fs) : fs_(fs) {}

    Result<OfflineState> state(const std::string& name) {
        // 1. The unit file: the first entry of that name in the search path (the template for an instance).
        std::string file, link_text;
        const UnitDir* found_in = nullptr;
        std::string tmpl = template_of(name);
        for (const std::string& candidate : {name, tmpl}) {
            if (candidate.empty()) continue;
            for (const auto& d : kUnitDirs) {
                auto p = join_path(d.path, candidate);
                auto st = fs_.stat(p, false);
                if (!st) {
                    if (is_missing(st.error())) continue;
                    return std::unexpected(st.error());
                }
                file = p;
                found_in = &d;
                break;
            }
            if (found_in) break;
        }
        if (!found_in) {
            std::string dirs;
            for (const auto& d : kUnitDirs) dirs += (dirs.empty() ? "" : ", ") + std::string(d.path);
            return OfflineState{"not-found", "no unit file " + name + " in " + dirs};
        }
        const bool runtime_dir = found_in->kind == DirKind::runtime;
        auto final_path = resolve_chain(fs_, file, link_text);
        if (!final_path) return std::unexpected(final_path.error());
        const std::string shown = link_text.empty() ? file : file + " -> " + link_text;
        if (*final_path == "/dev/null")
            return OfflineState{runtime_dir ? "masked-runtime" : "masked", shown};
        if (final_path->empty()) return OfflineState{"bad", shown + ": the symbolic link does not resolve"};
        auto st = fs_.stat(*final_path, true);
        if (!st) return std::unexpected(st.error());
        if (st->type == FileType::regular && st->size == 0)
            return OfflineState{runtime_dir ? "masked-runtime" : "masked", shown + " (empty file)"};
        if (st->type != FileType::regular) return OfflineState{"bad", shown + " is not a regular file"};

        const std::string final_name = base_name(*final_path);
        if (final_name != name && !is_instance(name))
            return OfflineState{"alias", shown + " (an alias of " + final_name + ")"};
        if (found_in->special) return OfflineState{found_in->special, shown};

        // 2. [Install] section of the unit file.
        auto text = fs_.read(*final_path);
        if (!text) return std::unexpected(text.error());
        auto ini = config::parse_ini(*text, *final_path);
        bool has_rules = false, has_also = false;
        std::vector<std::string> aliases;
        for (const auto& a : ini.assignments) {
            if (a.section != "Install") continue;
            if (a.key == "WantedBy" || a.key == "RequiredBy" || a.key == "UpheldBy") has_rules = has_rules || !trim(a.value).empty();
            if (a.key == "Alias") {
                has_rules = has_rules || !trim(a.value).empty();
                std::string v = a.value;
                std::size_t pos = 0;
                while (pos < v.size()) {
                    auto sp = v.find_first_of(" \t", pos);
                    auto word = v.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
                    if (!word.empty()) aliases.push_back(word);
                    if (sp == std::string::npos) break;
                    pos = sp + 1;
                }
            }
            if (a.key == "Also") has_also = has_also || !trim(a.value).empty();
        }

        // 3. Links: by the unit's own names (enabled), then by any name (indirect).
        auto pass = [&](bool match_name) -> Result<std::optional<OfflineState>> {
            bool at_all = false;
            std::string runtime_evidence, at_all_evidence;
            for (const auto& d : kUnitDirs) {
                auto hit = find_links(d.path, name, final_name, aliases, match_name);
                if (!hit) return std::unexpected(hit.error());
                if (hit->empty()) continue;
                if (d.kind == DirKind::persistent) return std::optional<OfflineState>(OfflineState{"enabled", *hit});
                if (d.kind == DirKind::runtime) {
                    if (runtime_evidence.empty()) runtime_evidence = *hit;
                } else if (!at_all) {
                    at_all = true;
                    at_all_evidence = *hit;
                }
            }
            if (!runtime_evidence.empty()) return std::optional<OfflineState>(OfflineState{"enabled-runtime", runtime_evidence});
            // Vendor links make an instance statically enabled; for plain names they are mere aliases.
            if (at_all && is_instance(name)) return std::optional<OfflineState>(OfflineState{"static", at_all_evidence});
            return std::optional<OfflineState>();
        };
        auto first = pass(true);
        if (!first) return std::unexpected(first.error());
        if (*first) return **first;
        auto second = pass(false);
        if (!second) return std::unexpected(second.error());
        if (*second) return OfflineState{"indirect", (*second)->evidence + " (under another name)"};
        if (has_rules) return OfflineState{"disabled", *final_path + " has [Install] rules but no unit links to " + name};
        if (has_also) return OfflineState{"indirect", *final_path + " has only Also= in [Install]"};
        return OfflineState{"static", *final_path + " has no [Install] rules"};
    }

private:
    // Links to `name` in `dir`: entries of *.wants/, *.requires/, *.upholds/ named after the unit (or, for a template,
    // its instances when !match_name), and top-level alias links. Returns the first link's path or "".
    Result<std::string> find_links(const std::string& dir, const std::string& name, const std::string& file_name,
                                   const std::vector<std::string>& aliases, bool match_name) {
        auto entries = list_dir_if_exists(fs_, dir);
        if (!entries) return std::unexpected(entries.error());
        for (const auto& e : *entries) {
            const std::string path = join_path(dir, e);
            if (ends_with(e, ".wants") || ends_with(e, ".requires") || ends_with(e, ".upholds")) {
                auto links = list_dir_if_exists(fs_, path);
                if (!links) {
                    if (links.error().code == ENOTDIR) continue;
                    return std::unexpected(links.error());
                }
                for (const auto& l : *links) {
                    bool hit = l == name || (match_name && std::find(aliases.begin(), aliases.end(), l) != aliases.end());
                    if (!hit && !match_name && is_template(name)) hit = template_of(l) == name;
                    if (hit) return join_path(path, l);
                }
                continue;
            }
            if (e == name || e == file_name) continue;
            // A top-level symlink of another name pointing at our unit file: an Alias= link.
            auto target = fs_.read_link(path);  // fails (EINVAL) for anything but a symlink
            if (!target || base_name(*target) != file_name) continue;
            bool known = std::find(aliases.begin(), aliases.end(), e) != aliases.end();
            if (known || !match_name) return path + " -> " + *target;
        }
        return std::string();
    }

    FileSource& fs_;
};


}  // namespace

Result<Core::BusState> Core::bus_unit_file_state(const std::string& unit) {
    if (!bus_) {
        auto c = sdk::connect_system_bus(10 * 1000 * 1000);
        if (!c) return std::unexpected(c.error());
        bus_ = c->bus;
        bus_address_ = c->address;
    }
    const sdk::SdBusApi& b = sdk::sdbus();
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    int rc = b.sd_bus_call_method(bus_, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "GetUnitFileState", &error, &reply, "s", unit.c_str());
    if (rc < 0) {
        if (b.sd_bus_error_has_names_sentinel(&error, SD_BUS_ERROR_FILE_NOT_FOUND, "org.freedesktop.systemd1.NoSuchUnit", nullptr)) {
            b.sd_bus_error_free(&error);
            return BusState{"not-found", true};
        }
        std::string what = error.name ? std::string(error.name) + ": " + (error.message ? error.message : "")
                                       : std::string(std::strerror(-rc));
        b.sd_bus_error_free(&error);
        return fail(-rc, "GetUnitFileState(" + unit + ") on " + bus_address_ + " failed: " + what);
    }
    const char* state = nullptr;
    rc = b.sd_bus_message_read(reply, "s", &state);
    std::string result = rc >= 0 && state ? state : "";
    b.sd_bus_message_unref(reply);
    if (rc < 0) return fail_errno(-rc, "reading the GetUnitFileState reply from " + bus_address_);
    return BusState{result, false};
}

Core::~Core() {
    if (bus_) sdk::sdbus().sd_bus_flush_close_unref(bus_);  // bus_ exists only if the library loaded
}

plumb_status Core::unit_state(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string unit = mangle_unit_name(args.at("unit"));
    const std::string want = args.at("state");

    std::string state, source;
    const char* env = secure_getenv("PLUMB_SYSTEM_BUS_ADDRESS");
    const bool override_bus = env && *env;
    bool systemd_running = false;
    if (host().is_live()) {
        auto st = host().stat("/run/systemd/system", false);
        systemd_running = st && st->type == FileType::directory;
    }
    if (host().is_live() && (systemd_running || override_bus)) {
        auto s = bus_unit_file_state(unit);
        if (!s) return r.error("systemd_query_failed", s.error().message);
        state = s->state;
        source = "systemd (GetUnitFileState on " + bus_address_ + ")";
    } else {
        OfflineUnits offline(host());
        auto s = offline.state(unit);
        if (!s) return r.error("read_failed", s.error().message);
        state = s->state;
        source = s->evidence;
        if (host().is_live())
            source += "; systemd is not running (no /run/systemd/system), so the state comes from the unit files";
    }
    if (!state_known(state))
        return r.error("unknown_unit_state", unit + ": unit file state " + quote_value(state) + " from " + source +
                                                 " is not one plumb knows");

    bool ok;
    std::string expected;
    if (want == "enabled") {
        ok = state_counts_as_enabled(state);
        expected = "enabled (enabled, enabled-runtime, static, indirect, generated, transient or alias)";
    } else if (want == "disabled") {
        ok = !state_counts_as_enabled(state);
        expected = "disabled (not enabled, static, indirect, generated, transient or alias)";
    } else if (want == "masked") {
        ok = state_is_masked(state);
        expected = "masked";
    } else {
        ok = !state_is_masked(state);
        expected = "not masked";
    }
    const std::string phrase = unit + " is " + state + " (" + source + ")";
    if (ok) return r.pass(state == "not-found" ? "unit_not_found" : "unit_state_ok", phrase);
    return r.fail(state == "not-found" ? "unit_not_found" : "unit_state_mismatch", phrase + "; expected " + expected);
}

}  // namespace plumb::core
