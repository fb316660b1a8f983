// The system-wide crypto-policies files, read the way update-crypto-policies (crypto-policies 2022+) reads them:
// the policy configuration (/etc/crypto-policies/config, state/current) and policy modules (*.pmod).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/error.hpp"

namespace plumb::crypto {

// "DEFAULT:NO-SHA1:NO-SSHCBC": a base policy and sub-policies, upper-cased as update-crypto-policies does.
struct PolicyConfig {
    std::string policy;
    std::vector<std::string> subpolicies;
    unsigned line = 0;  // line of the policy in the file (0: none)
    bool empty() const { return policy.empty(); }
};

// Comments ('#' to the end of the line) and blank lines are skipped; the first remaining line is
// POLICY[:SUB...], every further line adds sub-policies (ProfileConfig.parse_file).
PolicyConfig parse_policy_config(std::string_view text);
// The canonical spelling written to state/current: "POLICY:SUB1:SUB2".
std::string to_string(const PolicyConfig& c);

enum class Op { reset, append, prepend, omit, set_value };

// One operation of a policy module line, "property@scope = values".
struct Directive {
    std::string property;  // "cipher", "mac", "sign", "sha1_in_certs", ...
    std::string scope;     // lower case; "*" when the line has no @scope
    Op op = Op::reset;
    std::string value;     // an algorithm glob (append, prepend, omit) or the value (set_value); empty for reset
    unsigned line = 0;
};

// Parses a .pmod/.pol file: '#' comments, backslash-newline continuations, exactly one '=' per line, values either
// all differential (+X, X+, -X) or all plain (a new list: reset, then append each). Syntax errors name the line.
Result<std::vector<Directive>> parse_policy_module(std::string_view text, const std::string& file);

// Whether a scope selector ("*", "ssh", "!ssh", "{tls,ssh}", globs allowed) applies to a back-end offering `scopes`.
bool scope_matches(std::string_view selector, const std::set<std::string>& scopes);

// The back-ends crypto-policies generates configuration for, with the scopes each one offers.
struct Backend {
    const char* name;
    std::set<std::string> scopes;
};
const std::vector<Backend>& all_backends();
const std::vector<Backend>& ssh_backends();

// What a CIS sub-policy must achieve, and the module text plumb writes to achieve it.
struct Effect {
    std::string name;                     // "no_sha1_signatures"
    std::string property;                 // "sign"
    std::vector<std::string> algorithms;  // must end up disabled
    bool ssh_only = false;                // for the SSH back-ends only (otherwise every back-end)
    std::string description;              // "SHA-1 signatures"
    std::string directive;                // the .pmod line that does it: "sign = -*-SHA1"
};
const std::vector<Effect>& effects();
const Effect* find_effect(std::string_view name);

// A module as loaded for evaluation.
struct LoadedModule {
    std::string name;  // "NO-SHA1"
    std::string file;  // where it was found
    std::vector<Directive> directives;
};

// An algorithm a back-end would still allow after applying `modules` in order (on top of any base policy).
struct Gap {
    std::string algorithm;
    std::string backend;
    std::string why;  // "no module disables it" or "re-enabled by FILE:LINE"
};
// The algorithms of `effect` that the modules do not leave disabled in every relevant back-end.
std::vector<Gap> effect_gaps(const Effect& effect, const std::vector<LoadedModule>& modules);

}  // namespace plumb::crypto
