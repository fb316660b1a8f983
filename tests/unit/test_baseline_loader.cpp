// Baseline, tailoring and waiver loading: the accepted format, every rejection with its exact message, and agreement
// with an independent validator (Debian's python3-jsonschema) on the schema verdict of every baseline file we ship.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "plumb/baseline_loader.hpp"
#include "plumb/module_abi.h"
#include "plumb_test.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string source_dir() { return PLUMB_TEST_SOURCE_DIR; }

// A ProcedureCatalog over a fixed table: the interface the loader consumes, filled with test data.
class TableCatalog final : public plumb::ProcedureCatalog {
public:
    TableCatalog() {
        add("journald", "option", R"({"type": "object", "required": ["key", "expected"], "additionalProperties": false,
            "properties": {"key": {"type": "string", "pattern": "^[A-Z][A-Za-z]+$"},
                           "expected": {"type": "string", "minLength": 1}}})");
        add("journald", "storage", R"({"type": "object", "properties": {"mode": {"enum": ["persistent", "volatile"]}}})");
        add("journald", "forward", R"({"type": "object"})");
        add("core", "sysctl", R"({"type": "object", "required": ["key", "value"], "additionalProperties": false,
            "properties": {"key": {"type": "string"}, "value": {"type": "integer", "minimum": 0, "maximum": 2}}})",
            PLUMB_PROC_LIVE_ONLY);
        add("core", "files", R"({"type": "object", "properties": {"paths": {"type": "array", "items": {"type": "string"}}}})");
        add("m", "p", "{}");
        add("m", "q", "{}");
        add("m", "fix", "{}");
    }

    Lookup find(const std::string& module, const std::string& procedure) const override {
        auto it = table_.find(module);
        if (it == table_.end()) return {Lookup::Kind::module_unavailable, nullptr, 0, "not installed"};
        auto p = it->second.find(procedure);
        if (p == it->second.end()) return {Lookup::Kind::no_such_procedure, nullptr, 0, {}};
        return {Lookup::Kind::found, &p->second.first, p->second.second, {}};
    }
    std::vector<std::string> procedures(const std::string& module) const override {
        std::vector<std::string> names;
        if (auto it = table_.find(module); it != table_.end())
            for (const auto& [n, _] : it->second) names.push_back(n);
        return names;
    }

private:
    void add(const std::string& module, const std::string& proc, const char* schema, std::uint32_t flags = 0) {
        table_[module][proc] = {json::parse(schema), flags};
    }
    std::map<std::string, std::map<std::string, std::pair<json, std::uint32_t>>> table_;
};

class BaselineLoader : public ::testing::Test {
protected:
    void SetUp() override { plumb::set_schema_directory(source_dir() + "/baselines"); }

    // Loads and returns the error message ("<loaded>" on success).
    std::string error_of(const std::string& text) {
        auto b = plumb::load_baseline(text, "b.json", catalog_);
        return b ? std::string("<loaded>") : b.error().message;
    }
    TableCatalog catalog_;
};

// A one-rule baseline around the given rule fragments (appended inside the rule object, after the fixed fields).
std::string one_rule(const std::string& extra, const std::string& audit = R"({"call": "m.p"})") {
    return "{\"id\": \"b\", \"version\": \"1\", \"title\": \"T\", \"rules\": [\n"
           "  {\"id\": \"r\", \"title\": \"t\", \"description\": \"d\", \"rationale\": \"why\", \"severity\": \"low\",\n"
           "   \"references\": {}," + extra + "\n"
           "   \"audit\": " + audit + "}\n]}\n";
}

TEST_F(BaselineLoader, LoadsTheExampleWithComments) {
    auto b = plumb::load_baseline_file(source_dir() + "/baselines/examples/example.baseline.json", catalog_);
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->id, "example");
    EXPECT_EQ(b->version, "1.0.0");
    ASSERT_EQ(b->rules.size(), 3u);
    const plumb::Rule* storage = b->rule("journald_storage_persistent");
    ASSERT_NE(storage, nullptr);
    EXPECT_EQ(storage->pointer, "/rules/0");
    EXPECT_EQ(storage->severity, plumb::Severity::medium);
    EXPECT_EQ(plumb::to_string(storage->severity), "medium");
    EXPECT_EQ(storage->references.at("cis"), "4.2.2.3");
    EXPECT_EQ(storage->references.count("sfi"), 0u);
    ASSERT_NE(storage->parameter("storage"), nullptr);
    EXPECT_EQ(storage->parameter("storage")->value, "persistent");
    EXPECT_EQ(storage->parameter("nope"), nullptr);
    EXPECT_EQ(storage->audit.kind, plumb::Expr::Kind::call);
    EXPECT_EQ(storage->audit.module, "journald");
    EXPECT_EQ(storage->audit.procedure, "option");
    EXPECT_EQ(storage->audit.pointer, "/rules/0/audit");
    EXPECT_EQ(plumb::resolve_arguments(*storage, storage->audit.args), json({{"key", "Storage"}, {"expected", "persistent"}}));
    EXPECT_TRUE(storage->selected);
    EXPECT_FALSE(storage->remediation);

    const plumb::Rule& any = b->rules[1];
    ASSERT_EQ(any.audit.kind, plumb::Expr::Kind::any_of);
    ASSERT_EQ(any.audit.children.size(), 2u);
    EXPECT_EQ(any.audit.children[1].kind, plumb::Expr::Kind::not_);
    EXPECT_EQ(any.audit.children[1].children.at(0).pointer, "/rules/1/audit/anyOf/1/not");
    EXPECT_TRUE(any.parameters.empty());

    const plumb::Rule& ptrace = b->rules[2];
    EXPECT_TRUE(ptrace.applicability.live_only);
    EXPECT_EQ(ptrace.applicability.distros, (std::vector<std::string>{"debian", "ubuntu"}));
    EXPECT_EQ(ptrace.severity, plumb::Severity::high);
    EXPECT_EQ(b->rule("missing"), nullptr);
    EXPECT_EQ(b->source, source_dir() + "/baselines/examples/example.baseline.json");
}

TEST_F(BaselineLoader, ResolveArgumentsSubstitutesAtAnyDepth) {
    plumb::Rule r;
    r.parameters.push_back({"names", "string-list", "", json::array({"a", "b"}), json::object()});
    json args = json::parse(R"({"x": {"$param": "names"}, "y": [{"$param": "names"}, {"z": {"$param": "names"}}], "k": 1})");
    EXPECT_EQ(plumb::resolve_arguments(r, args),
              json::parse(R"({"x": ["a", "b"], "y": [["a", "b"], {"z": ["a", "b"]}], "k": 1})"));
}

// LINE:COL is where the parser detected the problem: the last character of the offending token.
TEST_F(BaselineLoader, SyntaxErrorsNameLineColumnAndWhatWasExpected) {
    EXPECT_EQ(error_of("{\n  \"id\": \"b\",\n  \"version\" \"1\"\n}"),
              "b.json:3:15: syntax error while parsing object separator - unexpected string literal; expected ':'");
    EXPECT_EQ(error_of("// only a comment\n"),
              "b.json:2:1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
    EXPECT_EQ(error_of("{\"id\": \"b\",}"),
              "b.json:1:12: syntax error while parsing object key - unexpected '}'; expected string literal");
    EXPECT_EQ(error_of("{\"id\": 1,\n \"x\": tru}"),
              "b.json:2:10: syntax error while parsing value - invalid literal; last read: '\"x\": tru}'");
    EXPECT_EQ(error_of("{/* unterminated comment"),
              "b.json:1:25: syntax error while parsing object key - invalid comment; missing closing '*/'; last read: "
              "'{/* unterminated comment'; expected string literal");
}

TEST_F(BaselineLoader, DuplicateKeysAreErrorsNotLastWins) {
    EXPECT_EQ(error_of("{\"id\": \"b\",\n \"rules\": [{\"severity\": \"low\",\n   \"severity\": \"high\"}]}"),
              "b.json:3:4: duplicate key \"severity\" in the object at /rules/0");
}

TEST_F(BaselineLoader, CommentsAreAcceptedEverywhere) {
    EXPECT_EQ(error_of("/* head */ {\"id\": \"b\", // trailing\n \"version\": \"1\" /* x */, \"title\": \"T\",\n"
                       " \"rules\": [ // none\n ] } // tail"),
              "<loaded>");
    auto j = plumb::parse_json_with_comments("[1, /* two */ 2 // three\n]", "x");
    ASSERT_TRUE(j);
    EXPECT_EQ(*j, json::array({1, 2}));
    // A comment marker inside a string is content.
    auto s = plumb::parse_json_with_comments(R"({"url": "https://example.org/*x*/"})", "x");
    ASSERT_TRUE(s);
    EXPECT_EQ((*s)["url"], "https://example.org/*x*/");
}

TEST_F(BaselineLoader, SchemaViolationsNameLineAndPointer) {
    EXPECT_EQ(error_of(one_rule("").replace(one_rule("").find("\"low\""), 5, "\"urgent\"")),
              "b.json:2: at /rules/0/severity: expected one of \"info\", \"low\", \"medium\", \"high\", \"critical\"; "
              "got \"urgent\"");
    EXPECT_EQ(error_of("{\"id\": \"b\", \"version\": \"1\", \"rules\": []}"),
              "b.json:1: at (document root): missing required property \"title\"");
    EXPECT_EQ(error_of(one_rule("", R"({"allOf": [{"call": "m.p"}, {"call": "Bad"}]})")),
              "b.json:4: at /rules/0/audit/allOf/1/call: expected a string matching /^[a-z0-9_]+\\.[a-z0-9_]+$/; got \"Bad\"");
    EXPECT_EQ(error_of(one_rule("", R"({"call": "m.p", "not": {"call": "m.q"}})")),
              "b.json:4: at /rules/0/audit/not: expected one of the properties \"args\", \"call\"; got \"not\"");
    EXPECT_EQ(error_of(one_rule("", R"({"args": {}})")),
              "b.json:4: at /rules/0/audit: expected required property \"call\" or required property \"allOf\" or required "
              "property \"anyOf\" or required property \"not\"; got {\"args\":{}}");
    EXPECT_EQ(error_of(one_rule("\"color\": 1,")),
              "b.json:3: at /rules/0/color: expected one of the properties \"applicability\", \"audit\", \"description\", "
              "\"id\", \"parameters\", \"rationale\", \"references\", \"remediation\", \"selected\", \"severity\", "
              "\"title\"; got \"color\"");
    EXPECT_EQ(error_of(one_rule("", R"({"call": "m.p", "args": {"k": {"$param": "x", "y": 1}}})")),
              "b.json:4: at /rules/0/audit/args/k/y: expected one of the properties \"$param\"; got \"y\"");
    // Several violations: the first few, one per line.
    std::string many = error_of(R"({"id": "Bad", "version": "", "title": "", "rules": [], "x": 1})");
    EXPECT_EQ(many, "b.json:1: at /id: expected a string matching /^[a-z][a-z0-9_]*$/; got \"Bad\"\n"
                    "b.json:1: at /title: expected at least 1 character; got \"\"\n"
                    "b.json:1: at /title: expected a string matching /\\S/; got \"\"\n"
                    "(3 more schema violations)");
}

TEST_F(BaselineLoader, DuplicateRuleIds) {
    std::string rule = R"({"id": "r", "title": "t", "description": "d", "rationale": "x", "severity": "low", "references": {}, "audit": {"call": "m.p"}})";
    EXPECT_EQ(error_of("{\"id\": \"b\", \"version\": \"1\", \"title\": \"T\", \"rules\": [\n" + rule + ",\n" + rule + "]}"),
              "b.json:3: at /rules/1/id: duplicate rule id \"r\" (first defined at /rules/0)");
}

TEST_F(BaselineLoader, UndefinedParameterReference) {
    EXPECT_EQ(error_of(one_rule(R"("parameters": {"a": {"type": "string", "default": "x", "description": "d"}},)",
                                R"({"call": "journald.option", "args": {"key": "Storage", "expected": {"$param": "b"}}})")),
              "b.json:4: at /rules/0/audit/args/expected/$param: expected a parameter of rule \"r\" (it has \"a\"); got \"b\"");
    EXPECT_EQ(error_of(one_rule("", R"({"not": {"call": "m.p", "args": {"deep": [{"$param": "z"}]}}})")),
              "b.json:4: at /rules/0/audit/not/args/deep/0/$param: expected a parameter of rule \"r\" (it has none); got \"z\"");
}

TEST_F(BaselineLoader, ParameterDefaultsMustMatchTypeAndConstraints) {
    auto param = [&](const std::string& def) { return error_of(one_rule("\"parameters\": {\"p\": " + def + "},")); };
    EXPECT_EQ(param(R"({"type": "integer", "default": "5", "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/default: expected integer; got string \"5\"");
    EXPECT_EQ(param(R"({"type": "integer", "default": 9, "maximum": 8, "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/default: expected a number <= 8; got 9");
    EXPECT_EQ(param(R"({"type": "string", "default": "x", "enum": ["a", "b"], "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/default: expected one of \"a\", \"b\"; got \"x\"");
    EXPECT_EQ(param(R"({"type": "string-list", "default": ["ok", "NO"], "pattern": "^[a-z]+$", "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/default/1: expected a string matching /^[a-z]+$/; got \"NO\"");
    EXPECT_EQ(param(R"({"type": "boolean", "default": 1, "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/default: expected boolean; got integer 1");
    EXPECT_EQ(param(R"({"type": "string", "default": "x", "minimum": 1, "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/minimum: \"minimum\" does not apply to a parameter of type string");
    EXPECT_EQ(param(R"({"type": "integer", "default": 1, "enum": [1, "two"], "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/enum/1: expected integer; got string \"two\"");
    EXPECT_EQ(param(R"({"type": "integer", "default": 1, "minimum": 3, "maximum": 2, "description": "d"})"),
              "b.json:3: at /rules/0/parameters/p/maximum: expected a maximum >= the minimum 3; got 2");
    EXPECT_EQ(param(R"({"type": "string", "default": "x", "pattern": "([", "description": "d"})")
                  .rfind("b.json:3: at /rules/0/parameters/p: invalid constraint: schema does not compile: at #/pattern: "
                         "invalid regular expression \"([\"", 0),
              0u);
}

TEST_F(BaselineLoader, ProceduresAndTheirArguments) {
    // A module the catalog reports unavailable is accepted: its rules become errors when run.
    EXPECT_EQ(error_of(one_rule("", R"({"call": "audit.rules", "args": {"anything": 1}})")), "<loaded>");
    EXPECT_EQ(error_of(one_rule("", R"({"allOf": [{"call": "m.p"}, {"call": "journald.foo"}]})")),
              "b.json:4: at /rules/0/audit/allOf/1/call: unknown procedure 'journald.foo'; module journald has: forward, "
              "option, storage");
    EXPECT_EQ(error_of(one_rule("", R"({"allOf": [{"call": "m.p"}, {"call": "journald.option", "args": {"key": "lower", "expected": "x"}}]})")),
              "b.json:4: at /rules/0/audit/allOf/1/args/key: expected a string matching /^[A-Z][A-Za-z]+$/; got \"lower\" "
              "(arguments of journald.option)");
    EXPECT_EQ(error_of(one_rule("", R"({"call": "journald.option", "args": {"key": "Storage"}})")),
              "b.json:4: at /rules/0/audit/args: missing required property \"expected\" (arguments of journald.option)");
    // The value of a parameter is what gets checked, and the message says where it came from.
    EXPECT_EQ(error_of(one_rule(R"("parameters": {"scope": {"type": "integer", "default": 7, "description": "d"}},)",
                                R"({"call": "core.sysctl", "args": {"key": "kernel.x", "value": {"$param": "scope"}}})")),
              "b.json:4: at /rules/0/audit/args/value: expected a number <= 2; got 7 (arguments of core.sysctl; the value "
              "comes from parameter \"scope\")");
    // Remediation calls are checked the same way.
    EXPECT_EQ(error_of(one_rule(R"("remediation": {"call": "journald.storage", "args": {"mode": "disk"}},)")),
              "b.json:3: at /rules/0/remediation/args/mode: expected one of \"persistent\", \"volatile\"; got \"disk\" "
              "(arguments of journald.storage)");
}

TEST_F(BaselineLoader, FilesThatCannotBeRead) {
    auto b = plumb::load_baseline_file("/nonexistent/x.json", catalog_);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().message, "/nonexistent/x.json: No such file or directory");
    EXPECT_EQ(b.error().code, ENOENT);
    auto d = plumb::load_baseline_file(source_dir() + "/baselines", catalog_);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().message, source_dir() + "/baselines: not a regular file");
}

TEST_F(BaselineLoader, MissingSchemaDirectoryIsReported) {
    plumb::set_schema_directory("/nonexistent-schemas");
    EXPECT_EQ(error_of(one_rule("")), "/nonexistent-schemas/baseline.schema.json: No such file or directory");
}

// ---- tailoring -----------------------------------------------------------------------------------------------------

class Tailoring : public BaselineLoader {
protected:
    void SetUp() override {
        BaselineLoader::SetUp();
        auto b = plumb::load_baseline_file(source_dir() + "/baselines/examples/example.baseline.json", catalog_);
        ASSERT_TRUE(b) << b.error().message;
        baseline_ = std::move(*b);
    }
    std::string apply(const std::string& text) {
        auto r = plumb::apply_tailoring(baseline_, text, "t.json", catalog_);
        return r ? std::string("<applied>") : r.error().message;
    }
    static std::string with(const std::string& rest) {
        return "{\"tailoring\": {\"id\": \"site\", \"baseline\": \"example\"},\n" + rest + "}";
    }
    plumb::Baseline baseline_;
};

TEST_F(Tailoring, AppliesTheExample) {
    auto r = plumb::apply_tailoring_file(baseline_, source_dir() + "/baselines/examples/example.tailoring.json", catalog_);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(baseline_.rule("journald_compress_or_no_forward")->selected);
    EXPECT_TRUE(baseline_.rule("journald_storage_persistent")->selected);
    EXPECT_EQ(baseline_.rule("journald_storage_persistent")->parameter("storage")->value, "auto");
    const plumb::Rule& ptrace = *baseline_.rule("kernel_ptrace_scope");
    EXPECT_EQ(plumb::resolve_arguments(ptrace, ptrace.audit.args)["value"], 2);
}

TEST_F(Tailoring, SelectReenablesADeselectedRule) {
    ASSERT_EQ(apply(with(R"("deselect": ["kernel_ptrace_scope"])")), "<applied>");
    EXPECT_FALSE(baseline_.rule("kernel_ptrace_scope")->selected);
    ASSERT_EQ(apply(with(R"("select": ["kernel_ptrace_scope"])")), "<applied>");
    EXPECT_TRUE(baseline_.rule("kernel_ptrace_scope")->selected);
}

TEST_F(Tailoring, ErrorsLeaveTheBaselineUnchanged) {
    const plumb::Baseline before = baseline_;
    auto unchanged = [&] {
        EXPECT_EQ(baseline_.rule("journald_storage_persistent")->parameter("storage")->value, "persistent");
        EXPECT_TRUE(baseline_.rule("journald_compress_or_no_forward")->selected);
    };
    EXPECT_EQ(apply("{\"tailoring\": {\"id\": \"site\", \"baseline\": \"other\"}}"),
              "t.json:1: at /tailoring/baseline: expected the id of the loaded baseline \"example\"; got \"other\"");
    EXPECT_EQ(apply(with(R"("deselect": ["journald_compress_or_no_forward", "nope"])")),
              "t.json:2: at /deselect/1: unknown rule \"nope\": baseline \"example\" has no such rule");
    unchanged();
    EXPECT_EQ(apply(with(R"("select": ["kernel_ptrace_scope"], "deselect": ["kernel_ptrace_scope"])")),
              "t.json:2: at /deselect/0: rule \"kernel_ptrace_scope\" is also selected at /select/0");
    EXPECT_EQ(apply(with(R"("deselect": ["journald_compress_or_no_forward"], "values": {"nope": {"x": 1}})")),
              "t.json:2: at /values/nope: unknown rule \"nope\": baseline \"example\" has no such rule");
    unchanged();
    EXPECT_EQ(apply(with(R"("values": {"journald_storage_persistent": {"storage": "auto", "level": 1}})")),
              "t.json:2: at /values/journald_storage_persistent/level: unknown parameter \"level\": rule "
              "\"journald_storage_persistent\" has \"storage\"");
    unchanged();
    EXPECT_EQ(apply(with(R"("values": {"journald_compress_or_no_forward": {"x": 1}})")),
              "t.json:2: at /values/journald_compress_or_no_forward/x: unknown parameter \"x\": rule "
              "\"journald_compress_or_no_forward\" has no parameters");
    EXPECT_EQ(apply(with(R"("values": {"kernel_ptrace_scope": {"scope": "2"}})")),
              "t.json:2: at /values/kernel_ptrace_scope/scope: expected integer; got string \"2\"");
    EXPECT_EQ(apply(with(R"("values": {"journald_storage_persistent": {"storage": "volatile"}})")),
              "t.json:2: at /values/journald_storage_persistent/storage: expected one of \"persistent\", \"auto\"; got "
              "\"volatile\"");
    // Within the parameter's own constraints (1..3) but outside what core.sysctl accepts (0..2).
    EXPECT_EQ(apply(with(R"("values": {"kernel_ptrace_scope": {"scope": 3}})")),
              "t.json:2: at /values/kernel_ptrace_scope: with these values rule \"kernel_ptrace_scope\" calls a procedure "
              "with invalid arguments: " + source_dir() + "/baselines/examples/example.baseline.json: at "
              "/rules/2/audit/args/value: expected a number <= 2; got 3 (arguments of core.sysctl; the value comes from "
              "parameter \"scope\")");
    EXPECT_EQ(apply(with(R"("select": "all")")), "t.json:2: at /select: expected array; got string \"all\"");
    EXPECT_EQ(apply("{\"tailoring\": {\"id\": \"site\"}}"),
              "t.json:1: at /tailoring: missing required property \"baseline\"");
    unchanged();
    EXPECT_EQ(baseline_.rules.size(), before.rules.size());
    EXPECT_EQ(baseline_.rule("kernel_ptrace_scope")->parameter("scope")->value, 1);
}

// ---- waivers -------------------------------------------------------------------------------------------------------

class Waivers : public Tailoring {
protected:
    std::string load(const std::string& text) {
        auto w = plumb::load_waivers(text, "w.json", baseline_);
        return w ? std::string("<loaded>") : w.error().message;
    }
};

TEST_F(Waivers, LoadsTheExample) {
    auto w = plumb::load_waivers_file(source_dir() + "/baselines/examples/example.waivers.json", baseline_);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_EQ(w->size(), 1u);
    EXPECT_EQ((*w)[0].rule_id, "kernel_ptrace_scope");
    EXPECT_EQ((*w)[0].expires, "2026-12-31");
    EXPECT_NE((*w)[0].justification.find("OPS-1234"), std::string::npos);
}

TEST_F(Waivers, Rejections) {
    auto one = [&](const std::string& rule, const std::string& justification, const std::string& expires) {
        return load("{\"waivers\": [\n {\"rule\": \"" + rule + "\", \"justification\": \"" + justification +
                    "\", \"expires\": \"" + expires + "\"}]}");
    };
    EXPECT_EQ(one("kernel_ptrace_scope", "ok", "2028-02-29"), "<loaded>");
    EXPECT_EQ(one("nope", "ok", "2026-01-01"),
              "w.json:2: at /waivers/0/rule: unknown rule \"nope\": baseline \"example\" has no such rule");
    EXPECT_EQ(one("kernel_ptrace_scope", "ok", "2026-02-30"),
              "w.json:2: at /waivers/0/expires: expected a calendar date YYYY-MM-DD; got \"2026-02-30\"");
    EXPECT_EQ(one("kernel_ptrace_scope", "ok", "2027-02-29"),
              "w.json:2: at /waivers/0/expires: expected a calendar date YYYY-MM-DD; got \"2027-02-29\"");
    std::string empty = one("kernel_ptrace_scope", "", "2026-01-01");
    EXPECT_EQ(empty.substr(0, empty.find('\n')), "w.json:2: at /waivers/0/justification: expected at least 1 character; got \"\"");
    EXPECT_EQ(one("kernel_ptrace_scope", "  ", "2026-01-01"),
              "w.json:2: at /waivers/0/justification: expected a string matching /\\S/; got \"  \"");
    EXPECT_EQ(load("{\"waivers\": [{\"rule\": \"kernel_ptrace_scope\", \"expires\": \"2026-01-01\"}]}"),
              "w.json:1: at /waivers/0: missing required property \"justification\"");
    EXPECT_EQ(load("{\"waivers\": [\n{\"rule\": \"kernel_ptrace_scope\", \"justification\": \"a\", \"expires\": \"2026-01-01\"},\n"
                   "{\"rule\": \"kernel_ptrace_scope\", \"justification\": \"b\", \"expires\": \"2027-01-01\"}]}"),
              "w.json:3: at /waivers/1/rule: rule \"kernel_ptrace_scope\" is already waived at /waivers/0");
}

// ---- agreement with python3-jsonschema -----------------------------------------------------------------------------

// Which schema a file is written against, from its name.
std::string kind_of(const fs::path& p) {
    std::string name = p.filename().string();
    if (name.find("tailoring") != std::string::npos) return "tailoring";
    if (name.find("waivers") != std::string::npos) return "waivers";
    return "baseline";
}

// A scratch directory removed with everything in it.
struct ScratchDir {
    fs::path path;
    ScratchDir() {
        std::string tmpl = (fs::temp_directory_path() / "plumb-loader-XXXXXX").string();
        if (::mkdtemp(tmpl.data())) path = tmpl;
    }
    ~ScratchDir() {
        std::error_code ec;
        if (!path.empty()) fs::remove_all(path, ec);
    }
};

TEST(SchemaAgreement, PythonJsonschemaAgreesWithOurSchemaVerdicts) {
    const std::string python = "/usr/bin/python3";
    if (::access(python.c_str(), X_OK) != 0) GTEST_SKIP() << python << " is not installed";
    auto probe = plumb::test::run_process({python, "-c", "import jsonschema"});
    if (probe.exit_code != 0) GTEST_SKIP() << "python3-jsonschema is not installed: " << probe.err;

    const fs::path schemas = fs::path(source_dir()) / "baselines";
    std::map<std::string, plumb::JsonSchema> ours;
    for (const char* kind : {"baseline", "tailoring", "waivers"}) {
        std::ifstream in(schemas / (std::string(kind) + ".schema.json"));
        auto s = plumb::JsonSchema::compile(json::parse(in));
        ASSERT_TRUE(s) << s.error().message;
        ours.emplace(kind, *s);
    }

    // (file, expected verdict or empty when only agreement is required)
    std::vector<std::pair<fs::path, std::string>> files;
    for (const auto& e : fs::directory_iterator(schemas)) {
        if (e.path().extension() == ".json" && e.path().string().find(".schema.json") == std::string::npos)
            files.emplace_back(e.path(), "");
    }
    for (const auto& e : fs::directory_iterator(schemas / "examples")) files.emplace_back(e.path(), "valid");
    const fs::path fixtures = fs::path(source_dir()) / "tests/fixtures/baselines/schema";
    for (const char* verdict : {"valid", "invalid"})
        for (const auto& e : fs::directory_iterator(fixtures / verdict)) files.emplace_back(e.path(), verdict);
    ASSERT_GE(files.size(), 20u);

    // Comments are ours, not JSON: python gets each file re-serialised after our parse.
    ScratchDir scratch;
    ASSERT_FALSE(scratch.path.empty());
    std::vector<std::string> argv = {python, "-c", R"(
import json, sys, jsonschema
V = jsonschema.Draft202012Validator
schemas = {k: json.load(open(sys.argv[1] + "/" + k + ".schema.json")) for k in ("baseline", "tailoring", "waivers")}
for k, s in schemas.items():
    V.check_schema(s)
for arg in sys.argv[2:]:
    kind, path = arg.split("=", 1)
    ok = V(schemas[kind], format_checker=V.FORMAT_CHECKER).is_valid(json.load(open(path)))
    print(("valid" if ok else "invalid") + " " + path)
)", schemas.string()};
    std::map<std::string, std::pair<fs::path, std::string>> by_copy;  // copy -> (original, our verdict)
    int n = 0;
    for (const auto& [file, expected] : files) {
        std::ifstream in(file);
        std::stringstream text;
        text << in.rdbuf();
        auto doc = plumb::parse_json_with_comments(text.str(), file.string());
        ASSERT_TRUE(doc) << doc.error().message;
        std::string verdict = ours.at(kind_of(file)).accepts(*doc) ? "valid" : "invalid";
        if (!expected.empty()) {
            EXPECT_EQ(verdict, expected) << file;
        }
        fs::path copy = scratch.path / (std::to_string(n++) + ".json");
        std::ofstream(copy) << doc->dump();
        by_copy[copy.string()] = {file, verdict};
        argv.push_back(kind_of(file) + "=" + copy.string());
    }
    auto result = plumb::test::run_process(argv);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::istringstream lines(result.out);
    std::string verdict, path;
    std::size_t compared = 0;
    while (lines >> verdict >> path) {
        auto it = by_copy.find(path);
        ASSERT_NE(it, by_copy.end()) << path;
        EXPECT_EQ(verdict, it->second.second) << "python3-jsonschema and plumb disagree on " << it->second.first;
        ++compared;
    }
    EXPECT_EQ(compared, files.size());
    std::cout << "python3-jsonschema agreed on " << compared << " files\n";
}

}  // namespace
