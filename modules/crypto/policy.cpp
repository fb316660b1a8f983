#include "policy.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>

#include "plumb/config/text.hpp"

namespace plumb::crypto {
namespace {

using config::split_lines;
using config::trim;

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string> split(std::string_view s, char sep, bool trim_items = true) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (true) {
        std::size_t next = s.find(sep, pos);
        std::string_view item = s.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos);
        out.emplace_back(trim_items ? trim(item) : item);
        if (next == std::string_view::npos) break;
        pos = next + 1;
    }
    return out;
}

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::size_t start = i;
        while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        if (i > start) out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

// Algorithm classes take lists; every other property (sha1_in_certs, min_rsa_size, etm, __ems) takes one value.
bool is_algorithm_class(std::string_view p) {
    return p == "cipher" || p == "group" || p == "hash" || p == "key_exchange" || p == "mac" || p == "protocol" ||
           p == "sign";
}

bool glob_match(const std::string& pattern, const std::string& name) {
    return ::fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

}  // namespace

PolicyConfig parse_policy_config(std::string_view text) {
    PolicyConfig c;
    unsigned n = 0;
    for (const auto& raw : split_lines(text)) {
        ++n;
        std::string_view line = raw;
        line = trim(line.substr(0, line.find('#')));
        if (line.empty()) continue;
        // Items are not trimmed: "DEFAULT :NO-SHA1" names a policy "DEFAULT " that does not exist, as for the tool.
        auto parts = split(upper(line), ':', false);
        std::size_t first = 0;
        if (c.policy.empty()) {
            c.policy = parts[0];
            c.line = n;
            first = 1;
        }
        for (std::size_t i = first; i < parts.size(); ++i)
            if (!parts[i].empty()) c.subpolicies.push_back(parts[i]);
    }
    return c;
}

std::string to_string(const PolicyConfig& c) {
    std::string s = c.policy;
    for (const auto& sub : c.subpolicies) s += ":" + sub;
    return s;
}

Result<std::vector<Directive>> parse_policy_module(std::string_view text, const std::string& file) {
    // Logical lines: comments dropped first (a '#' ends the line even after a backslash), then continuations joined.
    struct Logical {
        std::string text;
        unsigned line;
    };
    std::vector<Logical> logical;
    bool continued = false;
    unsigned n = 0;
    for (const auto& raw : split_lines(text)) {
        ++n;
        std::string_view body = raw;
        body = body.substr(0, body.find('#'));
        std::string_view t = trim(body);
        bool cont = !t.empty() && t.back() == '\\';
        if (cont) t.remove_suffix(1);
        if (continued) logical.back().text += " " + std::string(t);
        else logical.push_back({std::string(t), n});
        continued = cont;
    }

    std::vector<Directive> out;
    for (const auto& l : logical) {
        std::string_view t = trim(l.text);
        if (t.empty()) continue;
        const std::string where = file + ":" + std::to_string(l.line);
        if (std::count(t.begin(), t.end(), '=') != 1)
            return fail_invalid(where + ": expected one 'property = values' assignment, got \"" + std::string(t) + "\"");
        std::size_t eq = t.find('=');
        std::string lhs(trim(t.substr(0, eq)));
        std::string rhs(trim(t.substr(eq + 1)));
        if (lhs.empty()) return fail_invalid(where + ": missing property name before '='");
        std::string property = lhs, scope = "*";
        if (auto at = lhs.find('@'); at != std::string::npos) {
            property = std::string(trim(std::string_view(lhs).substr(0, at)));
            scope = lower(trim(std::string_view(lhs).substr(at + 1)));
        }
        if (!is_algorithm_class(property)) {
            out.push_back({property, scope, Op::set_value, rhs, l.line});
            continue;
        }
        auto values = words(rhs);
        auto differential = [](const std::string& v) { return v.starts_with('+') || v.starts_with('-') || v.ends_with('+'); };
        const std::size_t diff = std::count_if(values.begin(), values.end(), differential);
        if (diff == 0) {
            out.push_back({property, scope, Op::reset, "", l.line});
            for (const auto& v : values) out.push_back({property, scope, Op::append, v, l.line});
        } else if (diff == values.size()) {
            for (const auto& v : values) {
                if (v.starts_with('+')) out.push_back({property, scope, Op::prepend, v.substr(1), l.line});
                else if (v.starts_with('-')) out.push_back({property, scope, Op::omit, v.substr(1), l.line});
                else out.push_back({property, scope, Op::append, v.substr(0, v.size() - 1), l.line});
            }
        } else {
            return fail_invalid(where + ": values mix a new list with +/- changes (\"" + rhs + "\"), which crypto-policies rejects");
        }
    }
    return out;
}

bool scope_matches(std::string_view selector, const std::set<std::string>& scopes) {
    std::string p = lower(selector);
    if (p == "*") return true;
    bool positive = !p.starts_with('!');
    if (!positive) p.erase(0, 1);
    std::vector<std::string> globs;
    if (p.starts_with('{') && p.ends_with('}')) globs = split(std::string_view(p).substr(1, p.size() - 2), ',');
    else globs = {p};
    bool any = false;
    for (const auto& g : globs)
        for (const auto& s : scopes) any = any || glob_match(g, s);
    return positive ? any : !any;
}

const std::vector<Backend>& all_backends() {
    static const std::vector<Backend> b = {
        {"bind", {"bind", "dnssec"}},
        {"gnutls", {"gnutls", "tls", "ssl"}},
        {"java-tls", {"java-tls", "tls", "ssl"}},
        {"krb5", {"krb5", "kerberos"}},
        {"libreswan", {"ipsec", "ike", "libreswan"}},
        {"libssh", {"libssh", "openssh", "ssh"}},
        {"nss", {"nss", "tls", "ssl"}},
        {"openssh-client", {"openssh-client", "openssh", "ssh"}},
        {"openssh-server", {"openssh-server", "openssh", "ssh"}},
        {"openssl", {"openssl", "tls", "ssl"}},
        {"sequoia", {"sequoia"}},
        {"rpm", {"rpm", "rpm-sequoia"}},
    };
    return b;
}

const std::vector<Backend>& ssh_backends() {
    static const std::vector<Backend> b = [] {
        std::vector<Backend> out;
        for (const auto& x : all_backends())
            if (x.scopes.contains("ssh")) out.push_back(x);
        return out;
    }();
    return b;
}

const std::vector<Effect>& effects() {
    // Algorithm names as crypto-policies lists them (python/cryptopolicies/alg_lists.py).
    static const std::vector<Effect> e = {
        {"no_sha1_signatures", "sign",
         {"RSA-SHA1", "DSA-SHA1", "ECDSA-SHA1", "RSA-PSS-SHA1", "RSA-PSS-RSAE-SHA1"}, false, "SHA-1 signatures",
         "sign = -*-SHA1"},
        {"no_ssh_cbc", "cipher",
         {"AES-256-CBC", "AES-192-CBC", "AES-128-CBC", "CAMELLIA-256-CBC", "CAMELLIA-128-CBC", "3DES-CBC", "DES-CBC",
          "DES40-CBC", "RC2-CBC", "IDEA-CBC", "SEED-CBC"},
         true, "CBC ciphers for SSH", "cipher@SSH = -*-CBC"},
        {"no_ssh_weak_macs", "mac", {"HMAC-MD5", "UMAC-64", "UMAC-128"}, true, "weak MACs for SSH (HMAC-MD5, UMAC)",
         "mac@SSH = -HMAC-MD5* -UMAC-64* -UMAC-128*"},
        {"no_weak_macs", "mac", {"UMAC-64"}, false, "MACs shorter than 128 bits", "mac = -*-64"},
    };
    return e;
}

const Effect* find_effect(std::string_view name) {
    for (const auto& e : effects())
        if (e.name == name) return &e;
    return nullptr;
}

std::vector<Gap> effect_gaps(const Effect& effect, const std::vector<LoadedModule>& modules) {
    std::vector<Gap> gaps;
    const auto& backends = effect.ssh_only ? ssh_backends() : all_backends();
    for (const auto& alg : effect.algorithms) {
        for (const auto& be : backends) {
            // Unknown until a module says otherwise: the base policy may or may not allow it.
            enum { unknown, disabled, enabled } state = unknown;
            std::string where;
            for (const auto& m : modules) {
                for (const auto& d : m.directives) {
                    if (d.property != effect.property || !scope_matches(d.scope, be.scopes)) continue;
                    const std::string at = m.file + ":" + std::to_string(d.line);
                    switch (d.op) {
                        case Op::reset: state = disabled; where = at; break;
                        case Op::omit:
                            if (glob_match(d.value, alg)) state = disabled, where = at;
                            break;
                        case Op::append:
                        case Op::prepend:
                            if (glob_match(d.value, alg)) state = enabled, where = at;
                            break;
                        case Op::set_value: break;
                    }
                }
            }
            if (state == disabled) continue;
            gaps.push_back({alg, be.name, state == enabled ? "re-enabled by " + where : "no module disables it"});
        }
    }
    return gaps;
}

}  // namespace plumb::crypto
