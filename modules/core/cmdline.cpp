// kernel_cmdline: an argument on the kernel command line, as configured (GRUB defaults, BLS entries) and as booted
// (/proc/cmdline, live only). The last occurrence of a parameter wins, as in the kernel.
#include <map>

#include "core.hpp"
#include "plumb/config/keyvalue.hpp"

namespace plumb::core {

const char* const kKernelCmdlineSchema = R"J({
  "type": "object",
  "properties": {
    "argument": {"type": "string", "pattern": "^[^\\s=\"]+$", "description": "parameter name, e.g. audit"},
    "value": {"type": "string", "description": "required (present) or forbidden (absent) value; omit for any"},
    "expect": {"enum": ["present", "absent"]},
    "sources": {
      "type": "array", "minItems": 1,
      "items": {"enum": ["grub", "bls", "proc"]},
      "description": "grub: /etc/default/grub and /etc/default/grub.d/*.cfg; bls: /boot/loader/entries/*.conf; proc: /proc/cmdline (live). Default: all that exist"
    }
  },
  "required": ["argument", "expect"],
  "additionalProperties": false
})J";

namespace {

struct Token {
    std::string name;
    std::optional<std::string> value;
    std::string origin;  // where the line holding it came from
};

// Kernel parameter names treat '-' and '_' alike (kernel/params.c parameq).
std::string param_key(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c == '-') c = '_';
    return out;
}

// Splits a command line the way the kernel's next_arg() does: double quotes group, and are removed around the
// whole parameter or its value; "--" ends the kernel's part.
void tokenize(std::string_view line, const std::string& origin, std::vector<Token>& out) {
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
        if (i >= line.size()) break;
        bool in_quote = false;
        std::size_t start = i;
        for (; i < line.size(); ++i) {
            if (std::isspace(static_cast<unsigned char>(line[i])) && !in_quote) break;
            if (line[i] == '"') in_quote = !in_quote;
        }
        std::string word(line.substr(start, i - start));
        if (word == "--") break;
        std::string cleaned;
        for (char c : word)
            if (c != '"') cleaned += c;
        Token t;
        t.origin = origin;
        auto eq = cleaned.find('=');
        if (eq == std::string::npos) {
            t.name = cleaned;
        } else {
            t.name = cleaned.substr(0, eq);
            t.value = cleaned.substr(eq + 1);
        }
        out.push_back(std::move(t));
    }
}

// The right-hand side of a shell assignment: quotes, backslashes, $VAR and ${VAR} (unset variables are empty).
std::string shell_value(std::string_view raw, const std::map<std::string, std::string>& vars) {
    std::string out;
    enum { none, dq, sq } mode = none;
    auto expand = [&](std::size_t& i) {
        // raw[i] == '$'
        std::string name;
        if (i + 1 < raw.size() && raw[i + 1] == '{') {
            auto close = raw.find('}', i + 2);
            if (close == std::string_view::npos) {
                out += raw[i];
                return;
            }
            name = std::string(raw.substr(i + 2, close - i - 2));
            i = close;
        } else {
            std::size_t j = i + 1;
            while (j < raw.size() && (std::isalnum(static_cast<unsigned char>(raw[j])) || raw[j] == '_')) ++j;
            if (j == i + 1) {
                out += '$';
                return;
            }
            name = std::string(raw.substr(i + 1, j - i - 1));
            i = j - 1;
        }
        if (auto it = vars.find(name); it != vars.end()) out += it->second;
    };
    for (std::size_t i = 0; i < raw.size(); ++i) {
        char c = raw[i];
        if (mode == sq) {
            if (c == '\'') mode = none;
            else out += c;
        } else if (mode == dq) {
            if (c == '"') mode = none;
            else if (c == '\\' && i + 1 < raw.size() && std::string_view("$`\"\\").find(raw[i + 1]) != std::string_view::npos)
                out += raw[++i];
            else if (c == '$') expand(i);
            else out += c;
        } else {
            if (std::isspace(static_cast<unsigned char>(c))) break;  // end of the word; the rest is a comment or junk
            if (c == '\'') mode = sq;
            else if (c == '"') mode = dq;
            else if (c == '\\' && i + 1 < raw.size()) out += raw[++i];
            else if (c == '$') expand(i);
            else out += c;
        }
    }
    return out;
}

struct Check {
    std::string arg;
    std::optional<std::string> value;
    bool present;
    std::string expected() const {
        if (present) return value ? arg + "=" + *value : arg + " present";
        return value ? "not " + arg + "=" + *value : arg + " absent";
    }
};

// Evaluates one command line (a list of tokens); returns the failure phrase, or nullopt and sets `ok_phrase`.
std::optional<std::pair<std::string, std::string>> evaluate(const Check& c, const std::vector<Token>& tokens,
                                                            std::string& ok_phrase) {
    const std::string key = param_key(c.arg);
    const Token* last = nullptr;
    std::size_t count = 0;
    for (const auto& t : tokens)
        if (param_key(t.name) == key) {
            last = &t;
            ++count;
        }
    auto show = [&](const Token& t) {
        std::string s = t.value ? t.name + "=" + *t.value : t.name + " (no value)";
        s += " (" + t.origin + (count > 1 ? "; last of " + std::to_string(count) + " occurrences, which wins" : "") + ")";
        return s;
    };
    if (c.present) {
        if (!last) return std::pair<std::string, std::string>{"cmdline_argument_missing", c.arg + " is not present"};
        if (c.value && last->value != c.value)
            return std::pair<std::string, std::string>{"cmdline_value_mismatch", "effective value is " + show(*last)};
        ok_phrase = show(*last);
        return std::nullopt;
    }
    if (!last) {
        ok_phrase = c.arg + " is not present";
        return std::nullopt;
    }
    if (!c.value) return std::pair<std::string, std::string>{"cmdline_argument_present", "found " + show(*last)};
    if (last->value == c.value)
        return std::pair<std::string, std::string>{"cmdline_argument_present", "effective value is " + show(*last)};
    ok_phrase = "effective value is " + show(*last);
    return std::nullopt;
}

}  // namespace

plumb_status Core::kernel_cmdline(const nlohmann::json& args, sdk::Reporter& r) {
    Check check{args.at("argument"), std::nullopt, args.at("expect") == "present"};
    if (args.contains("value")) check.value = args["value"].get<std::string>();

    const bool explicit_sources = args.contains("sources");
    auto wanted = [&](const char* s) {
        if (!explicit_sources) return true;
        for (const auto& v : args["sources"])
            if (v == s) return true;
        return false;
    };

    int checked = 0;
    bool failed = false;
    std::vector<std::string> passes;
    auto judge = [&](const std::string& where, const std::vector<Token>& tokens) {
        ++checked;
        std::string ok;
        if (auto bad = evaluate(check, tokens, ok)) {
            failed = true;
            r.reason(bad->first, where + ": " + bad->second + "; expected " + check.expected());
        } else {
            passes.push_back(where + ": " + ok);
        }
    };

    // GRUB: /etc/default/grub, then /etc/default/grub.d/*.cfg, sourced as shell by grub-mkconfig. Normal boot
    // entries get GRUB_CMDLINE_LINUX followed by GRUB_CMDLINE_LINUX_DEFAULT.
    if (wanted("grub")) {
        std::vector<std::string> files{"/etc/default/grub"};
        auto extra = list_dir_if_exists(host(), "/etc/default/grub.d");
        if (!extra) return r.error("read_failed", extra.error().message);
        for (const auto& n : *extra)
            if (ends_with(n, ".cfg")) files.push_back(join_path("/etc/default/grub.d", n));
        std::map<std::string, std::string> vars, origin;
        bool any = false;
        config::KeyValueSyntax syntax;  // "=" separated, '#' comments, quotes handled here (shell rules)
        for (const auto& f : files) {
            auto text = read_if_exists(host(), f);
            if (!text) return r.error("read_failed", text.error().message);
            if (!*text) continue;
            any = true;
            for (const auto& e : config::parse_key_value(**text, f, syntax).entries) {
                std::string key(trim(e.key));
                if (key.starts_with("export ")) key = std::string(trim(std::string_view(key).substr(7)));
                vars[key] = shell_value(trim(e.value), vars);
                origin[key] = f + ":" + std::to_string(e.line);
            }
        }
        if (any) {
            std::vector<Token> tokens;
            for (const char* var : {"GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"})
                if (vars.count(var)) tokenize(vars[var], std::string(var) + " at " + origin[var], tokens);
            judge("GRUB defaults (" + std::to_string(files.size()) + " file(s) from /etc/default/grub)", tokens);
        } else if (explicit_sources) {
            return r.error("source_missing", "/etc/default/grub does not exist; expected it as a kernel command line source");
        }
    }

    // Boot Loader Specification entries: every entry boots some kernel, so every entry must comply.
    if (wanted("bls")) {
        const std::string dir = "/boot/loader/entries";
        auto names = list_dir_if_exists(host(), dir);
        if (!names) return r.error("read_failed", names.error().message);
        std::optional<std::map<std::string, std::string>> grubenv;
        int entries = 0;
        for (const auto& n : *names) {
            if (!ends_with(n, ".conf")) continue;
            const std::string path = join_path(dir, n);
            auto text = host().read(path);
            if (!text) return r.error("read_failed", text.error().message);
            ++entries;
            config::KeyValueSyntax syntax;
            syntax.separator = config::KeyValueSyntax::Separator::whitespace;
            std::vector<Token> tokens;
            for (const auto& e : config::parse_key_value(*text, path, syntax).entries) {
                if (e.key != "options") continue;
                std::string value = e.value;
                // RHEL 8 style "$kernelopts": variables come from the GRUB environment block.
                if (value.find('$') != std::string::npos) {
                    if (!grubenv) {
                        grubenv.emplace();
                        auto env = read_if_exists(host(), "/boot/grub2/grubenv");
                        if (!env) return r.error("read_failed", env.error().message);
                        if (*env)
                            for (const auto& line : split_lines(**env)) {
                                if (line.empty() || line[0] == '#') continue;
                                auto eq = line.find('=');
                                if (eq != std::string::npos) (*grubenv)[line.substr(0, eq)] = line.substr(eq + 1);
                            }
                    }
                    std::string expanded;
                    for (std::size_t i = 0; i < value.size(); ++i) {
                        if (value[i] != '$') {
                            expanded += value[i];
                            continue;
                        }
                        std::size_t j = i + 1;
                        bool brace = j < value.size() && value[j] == '{';
                        if (brace) ++j;
                        std::size_t k = j;
                        while (k < value.size() && (std::isalnum(static_cast<unsigned char>(value[k])) || value[k] == '_')) ++k;
                        auto it = grubenv->find(value.substr(j, k - j));
                        if (it != grubenv->end()) expanded += it->second;
                        i = (brace && k < value.size() && value[k] == '}') ? k : k - 1;
                    }
                    value = expanded;
                }
                tokenize(value, path + ":" + std::to_string(e.line), tokens);
            }
            judge("BLS entry " + path, tokens);
        }
        if (entries == 0 && explicit_sources)
            return r.error("source_missing", dir + " has no *.conf entries; expected Boot Loader Specification entries");
    }

    if (wanted("proc")) {
        if (host().is_live()) {
            auto text = host().read("/proc/cmdline");
            if (!text) return r.error("read_failed", text.error().message);
            std::vector<Token> tokens;
            tokenize(trim(*text), "/proc/cmdline", tokens);
            judge("running kernel (/proc/cmdline)", tokens);
        } else if (explicit_sources && args["sources"].size() == 1) {
            return r.not_applicable("live_only", "the running kernel's command line (/proc/cmdline) exists only on a live "
                                                 "system; this is an offline root");
        } else if (explicit_sources) {
            r.reason("source_skipped", "/proc/cmdline not checked: the running kernel exists only on a live system");
        }
    }

    if (checked == 0)
        return r.error("no_cmdline_source", std::string("no kernel command line source found: /etc/default/grub is missing, "
                                                        "/boot/loader/entries has no entries") +
                                                (host().is_live() ? "" : ", and /proc/cmdline is live-only"));
    if (failed) return PLUMB_STATUS_FAIL;
    for (const auto& p : passes) r.reason("cmdline_ok", p + " (" + check.expected() + ")");
    return PLUMB_STATUS_PASS;
}

}  // namespace plumb::core
