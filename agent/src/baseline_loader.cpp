// Baselines, tailoring and waivers: parse (comments allowed), enforce the schema in baselines/*.schema.json, then
// the checks a schema cannot express (duplicate ids, parameter references, procedures and their argument schemas,
// imports). Every message names the file, the line when known, and the JSON pointer of the offending value.
#include "plumb/baseline_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "json_text.hpp"
#include "plumb/config/text.hpp"

namespace plumb {

using nlohmann::json;
using config::join;
using json_text::Document;
using json_text::escape_pointer_token;
using json_text::quote;

namespace {

// ---- schema files -------------------------------------------------------------------------------------------------

struct SchemaCache {
    std::mutex mutex;
    std::string directory;
    std::map<std::string, JsonSchema> compiled;  // file name -> schema, compiled on first use
};

SchemaCache& schema_cache() {
    static SchemaCache cache;
    return cache;
}

Result<JsonSchema> document_schema(const std::string& name) {
    auto& cache = schema_cache();
    std::lock_guard lock(cache.mutex);
    if (auto it = cache.compiled.find(name); it != cache.compiled.end()) return it->second;
    if (cache.directory.empty()) return fail_invalid("cannot check " + name + ": the schema directory is not set");
    std::string path = cache.directory + "/" + name;
    auto text = json_text::read_file(path);
    if (!text) return std::unexpected(text.error());
    auto doc = json_text::parse(*text, path);
    if (!doc) return std::unexpected(doc.error());
    auto schema = JsonSchema::compile(doc->value);
    if (!schema) return fail_invalid(path + ": " + schema.error().message);
    cache.compiled.emplace(name, *schema);
    return *schema;
}

// ---- messages ----------------------------------------------------------------------------------------------------

// Imported rules carry pointers qualified with the file that defines them: "<dir>/cis.json#/rules/3/audit" (a
// baseline file's own pointers all start with "/rules/", and imported files are always named <name>.json).
constexpr std::string_view qualified_marker = ".json#/rules/";
constexpr std::size_t qualified_file_end = std::string_view(".json").size();  // offset of '#' in the marker

std::string qualify(const std::string& file, const std::string& pointer) {
    return pointer.find(qualified_marker) == std::string::npos ? file + "#" + pointer : pointer;
}

// A parsed file together with its name, for messages. A qualified pointer names its own file (without a line: that
// file's text is not at hand).
struct Source {
    const Document& doc;
    const std::string& name;
    std::unexpected<Error> error(const std::string& pointer, const std::string& message) const {
        if (auto at = pointer.find(qualified_marker); at != std::string::npos) {
            const std::size_t hash = at + qualified_file_end;
            return fail_invalid(pointer.substr(0, hash) + ": at " + pointer.substr(hash + 1) + ": " + message);
        }
        return fail_invalid(doc.where(name, pointer) + ": " + message);
    }
    // The error of another file (an import) reported at `pointer` of this one; keeps its errno.
    std::unexpected<Error> wrap(const std::string& pointer, const std::string& message, const Error& inner) const {
        return std::unexpected(Error{inner.code, doc.where(name, pointer) + ": " + message + ": " + inner.message});
    }
};

constexpr std::size_t max_reported_violations = 3;

// Schema violations: the first few, most specific first, one per line.
Result<void> enforce_schema(const Source& src, const std::string& schema_name) {
    auto schema = document_schema(schema_name);
    if (!schema) return std::unexpected(schema.error());
    auto violations = schema->validate(src.doc.value);
    if (violations.empty()) return {};
    std::string message;
    for (std::size_t i = 0; i < violations.size() && i < max_reported_violations; ++i)
        message += (i ? "\n" : "") + src.doc.where(src.name, violations[i].pointer) + ": " + violations[i].message;
    if (violations.size() > max_reported_violations)
        message += "\n(" + std::to_string(violations.size() - max_reported_violations) + " more schema violations)";
    return fail_invalid(message);
}

// ---- parameters -----------------------------------------------------------------------------------------------------

// The JSON Schema every value of a parameter must satisfy: its type plus its declared constraints.
Result<json> parameter_schema(const Source& src, const std::string& ptr, const json& def) {
    const std::string type = def.at("type").get<std::string>();
    json element = json::object();
    for (const char* key : {"enum", "pattern", "minimum", "maximum"}) {
        if (!def.contains(key)) continue;
        bool ok = std::string_view(key) == "enum" ||
                  (std::string_view(key) == "pattern" ? (type == "string" || type == "string-list") : type == "integer");
        if (!ok)
            return src.error(ptr + "/" + key, std::string("\"") + key + "\" does not apply to a parameter of type " + type);
        element[key] = def[key];
    }
    json schema;
    if (type == "string-list") {
        element["type"] = "string";
        schema = {{"type", "array"}, {"items", element}};
    } else {
        schema = element;
        schema["type"] = type;
    }
    // enum values must be of the parameter's type themselves.
    if (def.contains("enum")) {
        auto item_type = JsonSchema::compile({{"type", type == "string-list" ? "string" : type}});
        for (std::size_t i = 0; i < def["enum"].size(); ++i)
            for (const auto& v : item_type->validate(def["enum"][i]))
                return src.error(ptr + "/enum/" + std::to_string(i), v.message);
    }
    if (def.contains("minimum") && def.contains("maximum") && def["minimum"].get<std::int64_t>() > def["maximum"].get<std::int64_t>())
        return src.error(ptr + "/maximum", "expected a maximum >= the minimum " + def["minimum"].dump() + "; got " +
                                               def["maximum"].dump());
    return schema;
}

Result<std::vector<Parameter>> load_parameters(const Source& src, const std::string& rule_ptr, const json& rule) {
    std::vector<Parameter> out;
    if (!rule.contains("parameters")) return out;
    for (const auto& [name, def] : rule["parameters"].items()) {
        std::string ptr = rule_ptr + "/parameters/" + escape_pointer_token(name);
        auto schema = parameter_schema(src, ptr, def);
        if (!schema) return std::unexpected(schema.error());
        auto compiled = JsonSchema::compile(*schema);
        if (!compiled) return src.error(ptr, "invalid constraint: " + compiled.error().message);
        for (const auto& v : compiled->validate(def["default"]))
            return src.error(ptr + "/default" + v.pointer, v.message);
        out.push_back(Parameter{name, def["type"].get<std::string>(), def["description"].get<std::string>(), def["default"],
                                *schema});
    }
    return out;
}

// ---- expressions ----------------------------------------------------------------------------------------------------

Expr build_expr(const json& j, const std::string& ptr) {
    Expr e;
    e.pointer = ptr;
    auto children = [&](const char* key) {
        for (std::size_t i = 0; i < j[key].size(); ++i)
            e.children.push_back(build_expr(j[key][i], ptr + "/" + key + "/" + std::to_string(i)));
    };
    if (j.contains("call")) {
        e.kind = Expr::Kind::call;
        const auto& name = j["call"].get_ref<const std::string&>();
        auto dot = name.find('.');
        e.module = name.substr(0, dot);
        e.procedure = name.substr(dot + 1);
        e.args = j.value("args", json::object());
    } else if (j.contains("allOf")) {
        e.kind = Expr::Kind::all_of;
        children("allOf");
    } else if (j.contains("anyOf")) {
        e.kind = Expr::Kind::any_of;
        children("anyOf");
    } else {
        e.kind = Expr::Kind::not_;
        e.children.push_back(build_expr(j["not"], ptr + "/not"));
    }
    return e;
}

template <class F>
void for_each_call(const Expr& e, F&& f) {
    if (e.kind == Expr::Kind::call) f(e);
    for (const auto& c : e.children) for_each_call(c, f);
}

template <class F>
void for_each_call(const Rule& r, F&& f) {
    for_each_call(r.audit, f);
    if (r.remediation) for_each_call(*r.remediation, f);
}

// Every {"$param": name} inside args names a parameter of the rule.
Result<void> check_param_refs(const Source& src, const Rule& rule, const json& v, const std::string& ptr) {
    if (is_param_ref(v)) {
        const auto& name = v["$param"].get_ref<const std::string&>();
        if (rule.parameter(name)) return {};
        std::vector<std::string> names;
        for (const auto& p : rule.parameters) names.push_back(quote(p.name));
        return src.error(ptr + "/$param", "expected a parameter of rule " + quote(rule.id) + " (" +
                                              (names.empty() ? "it has none" : "it has " + join(names, ", ")) + "); got " + quote(name));
    }
    if (v.is_object())
        for (const auto& [k, c] : v.items())
            if (auto r = check_param_refs(src, rule, c, ptr + "/" + escape_pointer_token(k)); !r) return r;
    if (v.is_array())
        for (std::size_t i = 0; i < v.size(); ++i)
            if (auto r = check_param_refs(src, rule, v[i], ptr + "/" + std::to_string(i)); !r) return r;
    return {};
}

// The parameter whose value ended up at `pointer` (relative to args), if the value there came from one.
std::string parameter_behind(const json& raw_args, const std::string& pointer) {
    const json* at = &raw_args;
    std::size_t pos = 0;
    while (true) {
        if (is_param_ref(*at)) return (*at)["$param"].get<std::string>();
        if (pos >= pointer.size()) return {};
        std::size_t next = pointer.find('/', pos + 1);
        std::string token = pointer.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
        for (std::size_t i; (i = token.find("~1")) != std::string::npos;) token.replace(i, 2, "/");
        for (std::size_t i; (i = token.find("~0")) != std::string::npos;) token.replace(i, 2, "~");
        if (at->is_object() && at->contains(token)) at = &(*at)[token];
        else if (at->is_array() && !token.empty() && token.find_first_not_of("0123456789") == std::string::npos &&
                 std::stoul(token) < at->size()) at = &(*at)[std::stoul(token)];
        else return {};
        if (next == std::string::npos) pos = pointer.size();
        else pos = next;
    }
}

// Argument schemas compiled once per load when the catalog does not hand out compiled ones.
class ProcedureChecker {
public:
    explicit ProcedureChecker(const ProcedureCatalog& catalog) : catalog_(catalog) {}

    // Checks one call of `rule` (parameters at their current values). `src` locates the call in the baseline file.
    // Returns the problem as (pointer in the baseline file, message); empty pointer and message when fine.
    Result<void> check(const Source& src, const Rule& rule, const Expr& call) {
        const std::string qualified = call.module + "." + call.procedure;
        auto found = catalog_.find(call.module, call.procedure);
        if (found.kind == ProcedureCatalog::Lookup::Kind::module_unavailable) return {};  // an error result at run time
        if (found.kind == ProcedureCatalog::Lookup::Kind::no_such_procedure) {
            auto offered = catalog_.procedures(call.module);
            return src.error(call.pointer + "/call", "unknown procedure '" + qualified + "'; module " + call.module +
                                                         (offered.empty() ? " has no such procedure" : " has: " + join(offered, ", ")));
        }
        const JsonSchema* validator = catalog_.validator(call.module, call.procedure);
        if (!validator) {
            auto it = compiled_.find(qualified);
            if (it == compiled_.end()) {
                auto schema = found.args_schema ? JsonSchema::compile(*found.args_schema) : Result<JsonSchema>(JsonSchema{});
                if (!schema)
                    return src.error(call.pointer + "/call", "procedure " + qualified +
                                                                 " declares an argument schema plumb cannot use: " +
                                                                 schema.error().message);
                it = compiled_.emplace(qualified, *schema).first;
            }
            validator = &it->second;
        }
        auto violations = validator->validate(resolve_arguments(rule, call.args));
        if (violations.empty()) return {};
        const auto& v = violations.front();
        std::string param = parameter_behind(call.args, v.pointer);
        std::string note = " (arguments of " + qualified;
        if (!param.empty()) note += "; the value comes from parameter " + quote(param);
        note += ")";
        return src.error(call.pointer + "/args" + v.pointer, v.message + note);
    }

private:
    const ProcedureCatalog& catalog_;
    std::map<std::string, JsonSchema> compiled_;
};

Rule build_rule(const json& j, const std::string& ptr) {
    Rule r;
    r.id = j["id"].get<std::string>();
    r.title = j["title"].get<std::string>();
    r.description = j["description"].get<std::string>();
    r.rationale = j["rationale"].get<std::string>();
    r.severity = severity_from_string(j["severity"].get<std::string>()).value_or(Severity::medium);
    for (const auto& [k, v] : j["references"].items()) r.references.emplace(k, v.get<std::string>());
    if (j.contains("applicability")) {
        const auto& a = j["applicability"];
        r.applicability.live_only = a.value("liveOnly", false);
        if (a.contains("distros")) r.applicability.distros = a["distros"].get<std::vector<std::string>>();
    }
    r.selected = j.value("selected", true);
    r.audit = build_expr(j["audit"], ptr + "/audit");
    if (j.contains("remediation")) r.remediation = build_expr(j["remediation"], ptr + "/remediation");
    r.pointer = ptr;
    return r;
}

// ---- imports --------------------------------------------------------------------------------------------------------

// Shell-style glob over a whole rule id: '*' any run of characters (also none), '?' exactly one.
bool glob_match(std::string_view pattern, std::string_view text) {
    std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

void qualify_pointers(Expr& e, const std::string& file) {
    e.pointer = qualify(file, e.pointer);
    for (auto& c : e.children) qualify_pointers(c, file);
}

// One load of a baseline and everything it imports.
struct LoadSession {
    LoadSession(const ProcedureCatalog& catalog, std::string directory) : checker(catalog), directory(std::move(directory)) {}

    ProcedureChecker checker;                  // argument schemas compiled once for all the files
    std::string directory;                     // where imported baselines are; empty: imports are an error
    std::map<std::string, Baseline> imported;  // by name: each file read, parsed and checked once per load
    std::vector<std::string> chain;            // names of the baselines being loaded, outermost first
    bool outermost_in_directory = false;       // whether chain[0] is <directory>/<chain[0]>.json (can be in a cycle)

    std::string chain_text(const std::string& last) const {
        std::string s;
        for (const auto& n : chain) s += n + " -> ";
        return s + last;
    }
};

Result<Baseline> load_baseline_document(const Source& src, LoadSession& session);

// The baseline an import names, loaded (once) from the session's directory; errors are reported at `ptr`.
Result<const Baseline*> imported_baseline(const Source& src, LoadSession& session, const std::string& ptr,
                                          const std::string& name) {
    const std::string cannot = "cannot import baseline " + quote(name);
    if (session.directory.empty())
        return src.error(ptr, cannot + ": no directory to look for it in (the baseline text was not loaded from a file)");
    if (auto it = std::find(session.chain.begin(), session.chain.end(), name);
        it != session.chain.end() && (it != session.chain.begin() || session.outermost_in_directory))
        return src.error(ptr, "import cycle: " + session.chain_text(name));
    if (auto it = session.imported.find(name); it != session.imported.end()) return &it->second;
    if (session.chain.size() > max_import_depth)
        return src.error(ptr, cannot + ": imports nest deeper than " + std::to_string(max_import_depth) +
                                  " levels: " + session.chain_text(name));
    const std::string path = (std::filesystem::path(session.directory) / (name + ".json")).string();
    auto text = json_text::read_file(path);
    if (!text) return src.wrap(ptr, cannot, text.error());
    auto doc = json_text::parse(*text, path);
    if (!doc) return src.wrap(ptr, cannot, doc.error());
    session.chain.push_back(name);
    auto loaded = load_baseline_document(Source{*doc, path}, session);
    session.chain.pop_back();
    if (!loaded) return src.wrap(ptr, cannot, loaded.error());
    return &session.imported.emplace(name, std::move(*loaded)).first->second;
}

// Where each rule id of the baseline being built was defined, for duplicate messages: "/rules/0" or
// "/imports/0/rules/1, imported from baseline \"cis\"".
using DefinedAt = std::map<std::string, std::string>;

// Appends the rules import `index` selects to `b`.
Result<void> import_rules(const Source& src, LoadSession& session, std::size_t index, Baseline& b, DefinedAt& defined) {
    const std::string ptr = "/imports/" + std::to_string(index);
    const json& imp = src.doc.value["imports"][index];
    const auto& name = imp["baseline"].get_ref<const std::string&>();
    auto from = imported_baseline(src, session, ptr + "/baseline", name);
    if (!from) return std::unexpected(from.error());
    const std::vector<Rule>& rules = (*from)->rules;

    // For each rule of the imported baseline: the first pattern that selects it, and whether it is excluded.
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::vector<std::size_t> selected_by(rules.size(), none);
    const json& patterns = imp["rules"];
    for (std::size_t p = 0; p < patterns.size(); ++p) {
        const auto& pattern = patterns[p].get_ref<const std::string&>();
        bool matched = false;
        for (std::size_t k = 0; k < rules.size(); ++k) {
            if (!glob_match(pattern, rules[k].id)) continue;
            matched = true;
            if (selected_by[k] == none) selected_by[k] = p;
        }
        if (!matched)
            return src.error(ptr + "/rules/" + std::to_string(p),
                             "pattern " + quote(pattern) + " matches no rule of baseline " + quote(name));
    }
    std::vector<bool> excluded(rules.size(), false);
    if (imp.contains("exclude")) {
        const json& exclude = imp["exclude"];
        for (std::size_t p = 0; p < exclude.size(); ++p) {
            const auto& pattern = exclude[p].get_ref<const std::string&>();
            bool matched = false;
            for (std::size_t k = 0; k < rules.size(); ++k) {
                if (selected_by[k] == none || !glob_match(pattern, rules[k].id)) continue;
                matched = true;
                excluded[k] = true;
            }
            if (!matched)
                return src.error(ptr + "/exclude/" + std::to_string(p),
                                 "pattern " + quote(pattern) + " excludes nothing: it matches no rule that " + ptr +
                                     "/rules selects from baseline " + quote(name));
        }
    }

    for (std::size_t k = 0; k < rules.size(); ++k) {
        if (selected_by[k] == none || excluded[k]) continue;
        const std::string at = ptr + "/rules/" + std::to_string(selected_by[k]);
        const std::string& id = rules[k].id;
        if (auto it = defined.find(id); it != defined.end())
            return src.error(at, "duplicate rule id " + quote(id) + " imported from baseline " + quote(name) +
                                     " (first defined at " + it->second + ")");
        defined.emplace(id, at + ", imported from baseline " + quote(name));
        Rule copy = rules[k];
        copy.pointer = qualify((*from)->source, copy.pointer);
        qualify_pointers(copy.audit, (*from)->source);
        if (copy.remediation) qualify_pointers(*copy.remediation, (*from)->source);
        b.rules.push_back(std::move(copy));
    }
    return {};
}

Result<Baseline> load_baseline_document(const Source& src, LoadSession& session) {
    if (auto r = enforce_schema(src, "baseline.schema.json"); !r) return std::unexpected(r.error());
    const json& j = src.doc.value;
    Baseline b;
    b.id = j["id"].get<std::string>();
    b.version = j["version"].get<std::string>();
    b.title = j["title"].get<std::string>();
    b.description = j.value("description", "");
    b.source = src.name;
    DefinedAt defined;
    if (j.contains("imports"))
        for (std::size_t i = 0; i < j["imports"].size(); ++i)
            if (auto r = import_rules(src, session, i, b, defined); !r) return std::unexpected(r.error());
    const std::size_t own = b.rules.size();  // imported rules were checked when their own file was loaded
    for (std::size_t i = 0; i < j["rules"].size(); ++i) {
        const json& rj = j["rules"][i];
        std::string ptr = "/rules/" + std::to_string(i);
        Rule rule = build_rule(rj, ptr);
        if (auto [it, fresh] = defined.emplace(rule.id, ptr); !fresh)
            return src.error(ptr + "/id", "duplicate rule id " + quote(rule.id) + " (first defined at " + it->second + ")");
        auto params = load_parameters(src, ptr, rj);
        if (!params) return std::unexpected(params.error());
        rule.parameters = std::move(*params);
        b.rules.push_back(std::move(rule));
    }
    for (std::size_t i = own; i < b.rules.size(); ++i) {
        const Rule& rule = b.rules[i];
        Result<void> problem;
        for_each_call(rule, [&](const Expr& call) {
            if (problem) problem = check_param_refs(src, rule, call.args, call.pointer + "/args");
            if (problem) problem = session.checker.check(src, rule, call);
        });
        if (!problem) return std::unexpected(problem.error());
    }
    return b;
}

Result<Document> parse_document(std::string_view text, const std::string& source) { return json_text::parse(text, source); }

}  // namespace

// ---- public API -----------------------------------------------------------------------------------------------------

void set_schema_directory(std::string dir) {
    auto& cache = schema_cache();
    std::lock_guard lock(cache.mutex);
    if (cache.directory != dir) cache.compiled.clear();
    cache.directory = std::move(dir);
}

Result<json> parse_json_with_comments(std::string_view text, const std::string& source) {
    auto doc = parse_document(text, source);
    if (!doc) return std::unexpected(doc.error());
    return std::move(doc->value);
}

Result<Baseline> load_baseline(std::string_view text, const std::string& source, const ProcedureCatalog& catalog,
                               const std::string& import_directory) {
    try {
        auto doc = parse_document(text, source);
        if (!doc) return std::unexpected(doc.error());
        namespace fs = std::filesystem;
        LoadSession session(catalog, import_directory);
        // The outermost baseline takes part in import cycles when it is itself a file of the import directory.
        const fs::path file(source);
        session.chain.push_back(file.stem().string());
        if (!import_directory.empty() && file.extension() == ".json") {
            auto dir_of = [](const fs::path& p) { return (p.empty() ? fs::path(".") : p) / ""; };
            session.outermost_in_directory =
                dir_of(file.parent_path()).lexically_normal() == dir_of(fs::path(import_directory)).lexically_normal();
        }
        return load_baseline_document(Source{*doc, source}, session);
    } catch (const std::exception& e) {  // e.g. allocation failure: never let it escape the API
        return fail_invalid(source + ": " + e.what());
    }
}

Result<Baseline> load_baseline_file(const std::string& path, const ProcedureCatalog& catalog) {
    auto text = json_text::read_file(path);
    if (!text) return std::unexpected(text.error());
    std::string directory = std::filesystem::path(path).parent_path().string();
    return load_baseline(*text, path, catalog, directory.empty() ? "." : directory);
}

Result<void> apply_tailoring(Baseline& baseline, std::string_view text, const std::string& source,
                             const ProcedureCatalog& catalog) {
    try {
        auto doc = parse_document(text, source);
        if (!doc) return std::unexpected(doc.error());
        Source src{*doc, source};
        if (auto r = enforce_schema(src, "tailoring.schema.json"); !r) return r;
        const json& j = doc->value;
        const auto& target = j["tailoring"]["baseline"].get_ref<const std::string&>();
        if (target != baseline.id)
            return src.error("/tailoring/baseline",
                             "expected the id of the loaded baseline " + quote(baseline.id) + "; got " + quote(target));

        Baseline tailored = baseline;  // all-or-nothing: work on a copy
        auto rule_at = [&](const std::string& id) -> Rule* {
            for (auto& r : tailored.rules)
                if (r.id == id) return &r;
            return nullptr;
        };
        std::map<std::string, std::string> selected_at;
        for (const char* list : {"select", "deselect"}) {
            if (!j.contains(list)) continue;
            for (std::size_t i = 0; i < j[list].size(); ++i) {
                std::string ptr = std::string("/") + list + "/" + std::to_string(i);
                const auto& id = j[list][i].get_ref<const std::string&>();
                Rule* r = rule_at(id);
                if (!r) return src.error(ptr, "unknown rule " + quote(id) + ": baseline " + quote(baseline.id) + " has no such rule");
                if (std::string_view(list) == "select") {
                    selected_at.emplace(id, ptr);
                    r->selected = true;
                } else if (auto it = selected_at.find(id); it != selected_at.end()) {
                    return src.error(ptr, "rule " + quote(id) + " is also selected at " + it->second);
                } else {
                    r->selected = false;
                }
            }
        }
        std::vector<std::pair<Rule*, std::string>> changed;  // rule, pointer of its "values" entry
        if (j.contains("values")) {
            for (const auto& [id, values] : j["values"].items()) {
                std::string rptr = "/values/" + escape_pointer_token(id);
                Rule* r = rule_at(id);
                if (!r) return src.error(rptr, "unknown rule " + quote(id) + ": baseline " + quote(baseline.id) + " has no such rule");
                for (const auto& [name, value] : values.items()) {
                    std::string vptr = rptr + "/" + escape_pointer_token(name);
                    Parameter* p = nullptr;
                    for (auto& q : r->parameters)
                        if (q.name == name) p = &q;
                    if (!p) {
                        std::vector<std::string> names;
                        for (const auto& q : r->parameters) names.push_back(quote(q.name));
                        return src.error(vptr, "unknown parameter " + quote(name) + ": rule " + quote(id) +
                                                   (names.empty() ? " has no parameters" : " has " + join(names, ", ")));
                    }
                    auto schema = JsonSchema::compile(p->schema);
                    if (!schema) return src.error(vptr, schema.error().message);
                    for (const auto& v : schema->validate(value)) return src.error(vptr + v.pointer, v.message);
                    p->value = value;
                }
                changed.emplace_back(r, rptr);
            }
        }
        // New values can make arguments invalid for a procedure (a string pattern, a range): check again.
        ProcedureChecker checker(catalog);
        const Document base_doc{};  // the baseline's text is gone; its pointers still locate the call (imported
        Source base_src{base_doc, baseline.source};  // rules' pointers name the file that defines them)
        for (const auto& [rule, rptr] : changed) {
            Result<void> problem;
            for_each_call(*rule, [&](const Expr& call) {
                if (problem) problem = checker.check(base_src, *rule, call);
            });
            if (!problem)
                return src.error(rptr, "with these values rule " + quote(rule->id) + " calls a procedure with invalid arguments: " +
                                           problem.error().message);
        }
        baseline = std::move(tailored);
        return {};
    } catch (const std::exception& e) {
        return fail_invalid(source + ": " + e.what());
    }
}

Result<void> apply_tailoring_file(Baseline& baseline, const std::string& path, const ProcedureCatalog& catalog) {
    auto text = json_text::read_file(path);
    if (!text) return std::unexpected(text.error());
    return apply_tailoring(baseline, *text, path, catalog);
}

Result<std::vector<Waiver>> load_waivers(std::string_view text, const std::string& source, const Baseline& baseline) {
    try {
        auto doc = parse_document(text, source);
        if (!doc) return std::unexpected(doc.error());
        Source src{*doc, source};
        if (auto r = enforce_schema(src, "waivers.schema.json"); !r) return std::unexpected(r.error());
        std::vector<Waiver> out;
        std::map<std::string, std::string> seen;
        const json& list = doc->value["waivers"];
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string ptr = "/waivers/" + std::to_string(i);
            Waiver w{list[i]["rule"].get<std::string>(), list[i]["justification"].get<std::string>(),
                     list[i]["expires"].get<std::string>()};
            if (!baseline.rule(w.rule_id))
                return src.error(ptr + "/rule", "unknown rule " + quote(w.rule_id) + ": baseline " + quote(baseline.id) +
                                                    " has no such rule");
            if (auto [it, fresh] = seen.emplace(w.rule_id, ptr); !fresh)
                return src.error(ptr + "/rule", "rule " + quote(w.rule_id) + " is already waived at " + it->second);
            out.push_back(std::move(w));
        }
        return out;
    } catch (const std::exception& e) {
        return fail_invalid(source + ": " + e.what());
    }
}

Result<std::vector<Waiver>> load_waivers_file(const std::string& path, const Baseline& baseline) {
    auto text = json_text::read_file(path);
    if (!text) return std::unexpected(text.error());
    return load_waivers(*text, path, baseline);
}

}  // namespace plumb
