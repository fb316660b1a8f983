// sysctl: a kernel parameter as configured in sysctl.d (systemd-sysctl precedence) and as running (/proc/sys).
#include <map>

#include "core.hpp"
#include "plumb/config/keyvalue.hpp"

namespace plumb::core {

const char* const kSysctlSchema = R"J({
  "type": "object",
  "properties": {
    "key": {"type": "string", "pattern": "^/?[A-Za-z0-9_][A-Za-z0-9_.:/-]*$", "description": "net.ipv4.ip_forward or net/ipv4/ip_forward (no globs)"},
    "value": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "compare": {"enum": ["equals", "at_least", "at_most"], "description": "default equals"},
    "source": {"enum": ["configured", "running", "both"], "description": "default both when live, configured offline"}
  },
  "required": ["key", "value"],
  "additionalProperties": false
})J";

namespace {

// systemd's sysctl_normalize(): a key whose first separator is '/' uses '/' between components and '.' inside them,
// so the two are swapped; the result is the dotted form.
std::string normalize_key(std::string_view key) {
    std::string k(trim(key));
    while (!k.empty() && k.front() == '/') k.erase(0, 1);
    auto sep = k.find_first_of("./");
    if (sep != std::string::npos && k[sep] == '/')
        for (auto& c : k) c = c == '/' ? '.' : c == '.' ? '/' : c;
    return k;
}

std::string proc_path(const std::string& dotted) {
    std::string p = dotted;
    for (auto& c : p) c = c == '.' ? '/' : c == '/' ? '.' : c;
    return "/proc/sys/" + p;
}

// Values compare with runs of whitespace collapsed: /proc prints "4096\t131072\t6291456" for "4096 131072 6291456".
std::string collapse(std::string_view v) {
    std::string out;
    bool space = false;
    for (char c : trim(v)) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

const char* const kSysctlDirs[] = {"/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
                                   "/lib/sysctl.d"};

}  // namespace

plumb_status Core::sysctl(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string key = normalize_key(args.at("key").get<std::string>());
    const std::string want = args["value"].is_string() ? args["value"].get<std::string>()
                                                       : std::to_string(args["value"].get<long long>());
    const std::string compare = args.value("compare", "equals");
    const bool live = host().is_live();
    const std::string source = args.value("source", live ? "both" : "configured");

    // The key names a file under /proc/sys: no empty, "." or ".." components that could point elsewhere.
    {
        const std::string rel = proc_path(key).substr(std::string("/proc/sys/").size());
        for (const auto& part : [&] {
                 std::vector<std::string> parts;
                 std::size_t start = 0;
                 for (std::size_t i = 0; i <= rel.size(); ++i)
                     if (i == rel.size() || rel[i] == '/') {
                         parts.push_back(rel.substr(start, i - start));
                         start = i + 1;
                     }
                 return parts;
             }())
            if (part.empty() || part == "." || part == "..")
                return r.error("invalid_argument", "sysctl key " + quote_value(args["key"].get<std::string>()) +
                                                       " has an empty, \".\" or \"..\" component");
    }
    std::optional<long long> want_n;
    if (compare != "equals") {
        want_n = parse_integer(want);
        if (!want_n) return r.error("invalid_argument", "value " + quote_value(want) + " must be an integer for compare=" + compare);
    }
    const std::string expected = compare == "equals" ? quote_value(collapse(want))
                                 : compare == "at_least" ? "at least " + want : "at most " + want;

    bool failed = false;
    std::vector<std::string> oks;
    auto judge = [&](const std::string& actual, const std::string& where, const char* what) {
        bool ok;
        std::string code = "sysctl_value_mismatch";
        if (compare == "equals") {
            ok = collapse(actual) == collapse(want);
        } else {
            auto n = parse_integer(collapse(actual));
            if (!n) {
                failed = true;
                r.reason("sysctl_not_integer", where + ": " + what + " " + key + " is " + quote_value(actual) +
                                                   ", not an integer; expected " + expected);
                return;
            }
            ok = compare == "at_least" ? *n >= *want_n : *n <= *want_n;
            code = compare == "at_least" ? "sysctl_value_too_low" : "sysctl_value_too_high";
        }
        if (ok) {
            oks.push_back(where + ": " + what + " " + key + " = " + quote_value(collapse(actual)));
        } else {
            failed = true;
            r.reason(code, where + ": " + what + " " + key + " is " + quote_value(collapse(actual)) + "; expected " + expected);
        }
    };

    if (source == "configured" || source == "both") {
        // systemd-sysctl: one file per name, the first directory holding it wins (a /dev/null link or empty file
        // masks it); files applied in name order; then /etc/sysctl.conf, as procps' sysctl --system does.
        std::map<std::string, std::string> by_name;
        for (const char* dir : kSysctlDirs) {
            auto names = list_dir_if_exists(host(), dir);
            if (!names) return r.error("read_failed", names.error().message);
            for (const auto& n : *names)
                if (ends_with(n, ".conf") && !by_name.count(n)) by_name[n] = join_path(dir, n);
        }
        std::vector<std::string> files;
        for (const auto& [name, path] : by_name) files.push_back(path);
        files.push_back("/etc/sysctl.conf");

        config::KeyValueSyntax syntax;
        syntax.comment_chars = "#;";
        std::optional<std::string> value;
        std::string where;
        for (const auto& f : files) {
            auto link = host().stat(f, false);
            if (link && link->type == FileType::symlink) {
                auto t = host().read_link(f);
                if (t && *t == "/dev/null") continue;  // masked
            }
            auto text = read_if_exists(host(), f);
            if (!text) return r.error("read_failed", text.error().message);
            if (!*text) continue;
            for (const auto& e : config::parse_key_value(**text, f, syntax).entries) {
                std::string_view k = trim(e.key);
                if (!k.empty() && k.front() == '-') k.remove_prefix(1);  // "-key": ignore failures when applying
                if (normalize_key(k) != key) continue;
                value = std::string(trim(e.value));
                where = f + ":" + std::to_string(e.line);
            }
        }
        if (!value) {
            failed = true;
            std::string dirs;
            for (const char* d : kSysctlDirs) dirs += std::string(d) + "/*.conf, ";
            r.reason("sysctl_not_configured", key + " is not set in " + dirs + "/etc/sysctl.conf; expected " + expected);
        } else {
            judge(*value, where, "configured");
        }
    }

    if (source == "running" || source == "both") {
        if (!live) {
            if (source == "running")
                return r.not_applicable("live_only", "the running value of " + key + " (" + proc_path(key) +
                                                         ") exists only on a live system; this is an offline root");
        } else {
            auto text = host().read(proc_path(key));
            if (!text) {
                if (is_missing(text.error()))
                    return r.error("sysctl_unavailable", proc_path(key) + " does not exist: the running kernel has no " + key);
                return r.error("read_failed", text.error().message);
            }
            judge(std::string(*text), proc_path(key), "running");
        }
    }

    if (failed) return PLUMB_STATUS_FAIL;
    for (const auto& o : oks) r.reason("sysctl_ok", o);
    return PLUMB_STATUS_PASS;
}

}  // namespace plumb::core
