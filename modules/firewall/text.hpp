// nft configuration files <-> Ruleset: the parser reads the distribution's boot-time file (/etc/nftables.conf on
// Debian, /etc/sysconfig/nftables.conf on RHEL, and what they include); the printer writes what remediation
// installs, in the format `nft list ruleset` (nftables 1.0.6) prints, so that printing a ruleset nft loaded gives
// nft's own output byte for byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "model.hpp"
#include "plumb/error.hpp"
#include "plumb/file_source.hpp"

namespace plumb::firewall::nft {

struct ParsedConfig {
    Ruleset ruleset;                 // what loading the file into an empty kernel ruleset would give
    bool flushes_ruleset = false;    // the file runs `flush ruleset` (what was loaded before does not survive)
    std::vector<std::string> files;  // the file and every file it included, in load order
    // "FILE:LINE:COL: what" for everything kept out of the model: rules made opaque (and why), declarations skipped
    // (maps, flowtables, stateful objects, set sizes, ...). Empty when the model holds the whole file.
    std::vector<std::string> notes;
};

// Where `include` looks, as nft 1.0.6 resolves it: an absolute path as is; "./x" and "../x" against the working
// directory nft runs in (nftables.service starts it in /); any other relative path under each include directory in
// turn (nft's -I, built in as /etc). Glob patterns expand in sorted order; directories are skipped; a pattern that
// matches nothing is not an error, a plain name that does not exist is.
struct ParseOptions {
    std::vector<std::string> include_dirs = {"/etc"};
    std::string working_dir = "/";
};

// Parses `path` (read through `source`, so inside the configured root), following `include` directives up to a depth
// of 16 files. Supports the declarative `table { ... }` form and the add/create/insert/flush/delete command forms
// (the add word is optional, as in nft), `define`/`redefine`/`undefine` variables, comments and line continuations.
// Rules come out as nft would send them to the kernel: implicit dependency matches included, port compares in the
// order nft merges them. Statements the model does not cover become opaque rules (Rule::opaque holds the source
// text, the reason is in `notes`). What nft itself refuses fails with "FILE:LINE:COL: what was expected": EINVAL for
// syntax errors, unknown families, bad values, keywords used as names, conflicting protocols; ENOENT for a missing
// file, table, chain or set (jump targets and @set lookups included); EEXIST for create on an existing object;
// EOPNOTSUPP for a jump to a base chain; ERANGE for a name over 255 characters; E2BIG for a variable that expands
// too far; ELOOP for includes nested too deeply.
Result<ParsedConfig> parse_config(FileSource& source, const std::string& path, const ParseOptions& options = {});
// The same on text in memory; `include` directives are not followed (each one adds a note).
Result<ParsedConfig> parse_text(std::string_view text, const std::string& name);

// One rule as nft prints it inside a chain ("iif \"lo\" accept", "ip saddr 127.0.0.0/8 counter packets 0 bytes 0
// drop"), dependency matches nft adds on its own left out. An opaque rule prints as a comment ("# <source text>").
std::string print_rule(const Rule& rule, Family family);
// A table / the whole ruleset as `nft list ruleset` prints it (tabs, "type filter hook input priority filter; policy
// drop;", sets before chains, a blank line between them). Counters print as "packets 0 bytes 0".
std::string print_table(const Table& table);
std::string print_ruleset(const Ruleset& ruleset);

}  // namespace plumb::firewall::nft
