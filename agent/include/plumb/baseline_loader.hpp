// Loading baselines, tailoring and waiver files. A file is accepted whole or rejected whole; the error names the
// file and either line:column (syntax) or the JSON pointer (structure), and what was expected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/baseline.hpp"
#include "plumb/error.hpp"
#include "plumb/json_schema.hpp"

namespace plumb {

// What the loaded modules offer, so that unknown procedures and wrong argument types are load errors.
class ProcedureCatalog {
public:
    struct Lookup {
        enum class Kind { found, module_unavailable, no_such_procedure } kind;
        const nlohmann::json* args_schema = nullptr;  // found
        std::uint32_t flags = 0;                      // found: PLUMB_PROC_*
        std::string reason;                           // module_unavailable: why (not installed, refused, ...)
    };
    virtual ~ProcedureCatalog() = default;
    virtual Lookup find(const std::string& module, const std::string& procedure) const = 0;
    // The procedure names a loaded module offers, for "unknown procedure" messages. Empty when not known.
    virtual std::vector<std::string> procedures(const std::string& module) const { return {}; }
    // The compiled form of a found procedure's args_schema, when the catalog keeps one (saves compiling it again).
    virtual const JsonSchema* validator(const std::string& module, const std::string& procedure) const { return nullptr; }
};

// Parses JSON that may contain // and /* */ comments; syntax errors read "FILE:LINE:COL: <what was expected>".
Result<nlohmann::json> parse_json_with_comments(std::string_view text, const std::string& source);

// Calls to modules the catalog reports unavailable are kept (they become `error` results when run); calls to
// procedures a loaded module does not have, or whose arguments do not match its schema, fail the load.
//
// Imports ("imports": [{"baseline": NAME, "rules": [...], "exclude": [...]}], see baselines/README.md) copy rules
// from the baseline file `<import_directory>/NAME.json`, and from there transitively (same directory, at most
// max_import_depth levels, no cycles). Every imported file is read, parsed and checked once per load however often
// it is imported. Imported rules come first, in import order; their Rule::pointer and Expr::pointer locate them in
// the file that defines them, qualified with that file: "<file>#/rules/3/audit" (the file's own rules keep plain
// pointers, "/rules/3/audit"). With an empty import_directory a baseline that imports fails to load.
inline constexpr std::size_t max_import_depth = 8;
Result<Baseline> load_baseline(std::string_view text, const std::string& source, const ProcedureCatalog& catalog,
                               const std::string& import_directory = {});
// Imports are looked up in the directory of `path`.
Result<Baseline> load_baseline_file(const std::string& path, const ProcedureCatalog& catalog);

// Tailoring: {"tailoring": {...}} selecting/deselecting rules and setting parameter values; see
// baselines/tailoring.schema.json. Every value is type-checked against the parameter and the resolved arguments
// are validated again against the procedure schemas. On error the baseline is left unchanged.
Result<void> apply_tailoring(Baseline& baseline, std::string_view text, const std::string& source,
                             const ProcedureCatalog& catalog);
Result<void> apply_tailoring_file(Baseline& baseline, const std::string& path, const ProcedureCatalog& catalog);

// Waivers: see baselines/waivers.schema.json. Waivers naming rules the baseline does not have are errors.
Result<std::vector<Waiver>> load_waivers(std::string_view text, const std::string& source, const Baseline& baseline);
Result<std::vector<Waiver>> load_waivers_file(const std::string& path, const Baseline& baseline);

// Directory holding baseline.schema.json, tailoring.schema.json, waivers.schema.json (set once at start-up from the
// installation layout; the loader reads the schemas from there).
void set_schema_directory(std::string dir);

}  // namespace plumb
