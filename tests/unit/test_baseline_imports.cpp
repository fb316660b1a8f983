// Baselines importing rules from other baselines ("imports"): selection by id and glob, exclusion, order, copies
// that keep everything, transitive imports, cycles and the depth limit, every load error with its exact message,
// tailoring and waivers over imported rules, each imported file loaded once per load, and agreement with
// python3-jsonschema on the schema of the "imports" member.
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "plumb/baseline_loader.hpp"
#include "plumb_test.hpp"

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string source_dir() { return PLUMB_TEST_SOURCE_DIR; }

// A ProcedureCatalog over a fixed table that counts lookups per procedure (how often a call was checked).
class CountingCatalog final : public plumb::ProcedureCatalog {
public:
    CountingCatalog() {
        add("m", "p", "{}");
        add("m", "q", "{}");
        add("m", "fix", "{}");
        add("k", "sysctl", R"({"type": "object", "required": ["key", "value"], "additionalProperties": false,
            "properties": {"key": {"type": "string"}, "value": {"type": "integer", "minimum": 0, "maximum": 2}}})");
    }
    Lookup find(const std::string& module, const std::string& procedure) const override {
        ++lookups_[module + "." + procedure];
        auto it = table_.find(module);
        if (it == table_.end()) return {Lookup::Kind::module_unavailable, nullptr, 0, "not installed"};
        auto p = it->second.find(procedure);
        if (p == it->second.end()) return {Lookup::Kind::no_such_procedure, nullptr, 0, {}};
        return {Lookup::Kind::found, &p->second, 0, {}};
    }
    int lookups(const std::string& qualified) const { return lookups_.contains(qualified) ? lookups_.at(qualified) : 0; }

private:
    void add(const std::string& module, const std::string& proc, const char* schema) {
        table_[module][proc] = json::parse(schema);
    }
    std::map<std::string, std::map<std::string, json>> table_;
    mutable std::map<std::string, int> lookups_;
};

// A rule calling m.p (or `audit`), with optional extra members.
std::string rule(const std::string& id, const std::string& extra = "", const std::string& audit = R"({"call": "m.p"})") {
    return R"({"id": ")" + id + R"(", "title": "t )" + id +
           R"(", "description": "d", "rationale": "why", "severity": "low", "references": {}, )" + extra +
           (extra.empty() ? "" : ", ") + "\"audit\": " + audit + "}";
}

// A baseline document: one line per import and per rule, so that line numbers in messages are predictable
// (line 1: header, lines 2..: imports, then "rules": [ on its own line, then one rule per line).
std::string baseline(const std::string& id, const std::vector<std::string>& imports, const std::vector<std::string>& rules) {
    std::string s = "{\"id\": \"" + id + "\", \"version\": \"1\", \"title\": \"T " + id + "\",\n";
    if (!imports.empty()) {
        s += "\"imports\": [\n";
        for (std::size_t i = 0; i < imports.size(); ++i) s += imports[i] + (i + 1 < imports.size() ? ",\n" : "\n");
        s += "],\n";
    }
    s += "\"rules\": [\n";
    for (std::size_t i = 0; i < rules.size(); ++i) s += rules[i] + (i + 1 < rules.size() ? ",\n" : "\n");
    return s + "]}\n";
}

// The ids of a plain list of rules calling m.p.
std::vector<std::string> rules_of(std::initializer_list<const char*> ids) {
    std::vector<std::string> out;
    for (const char* id : ids) out.push_back(rule(id));
    return out;
}

// The CIS-like baseline most tests import from.
const std::vector<std::string> cis_rules = rules_of({"audit_rules_time", "audit_rules_mac", "kernel_x",
                                                     "auditd_max_log_file", "audit_rules_sudo", "service_auditd_enabled",
                                                     "grub2_audit_argument", "auditd_space_left"});

std::vector<std::string> ids(const plumb::Baseline& b) {
    std::vector<std::string> out;
    for (const auto& r : b.rules) out.push_back(r.id);
    return out;
}

class BaselineImports : public ::testing::Test {
protected:
    void SetUp() override {
        plumb::set_schema_directory(source_dir() + "/baselines");
        ASSERT_FALSE(dir_.path().empty());
        write("cis", baseline("cis", {}, cis_rules));
    }
    void write(const std::string& name, const std::string& text) const { dir_.write("/" + name + ".json", text); }
    std::string path(const std::string& name) const { return dir_ / (name + ".json"); }
    plumb::Result<plumb::Baseline> load(const std::string& name) { return plumb::load_baseline_file(path(name), catalog_); }
    // Writes `name`, loads it and returns the error message ("<loaded>" on success).
    std::string error_of(const std::string& name, const std::string& text) {
        write(name, text);
        auto b = load(name);
        return b ? std::string("<loaded>") : b.error().message;
    }

    plumb::test::TempRoot dir_;
    CountingCatalog catalog_;
};

TEST_F(BaselineImports, ByIdAndByGlobInTheImportedBaselinesOrder) {
    write("sfi", baseline("sfi",
                          {R"({"baseline": "cis", "rules": ["service_auditd_enabled", "audit_rules_*", "auditd_?ax_log_file"],
                               "reason": "SFI: auditd with the CIS audit rules"})"},
                          rules_of({"sfi_own"})));
    auto b = load("sfi");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(b->id, "sfi");
    EXPECT_EQ(b->title, "T sfi");
    EXPECT_EQ(b->source, path("sfi"));
    // Imported rules first, in the order of the imported baseline (not of the patterns), then the file's own.
    EXPECT_EQ(ids(*b), (std::vector<std::string>{"audit_rules_time", "audit_rules_mac", "auditd_max_log_file",
                                                 "audit_rules_sudo", "service_auditd_enabled", "sfi_own"}));
    // A rule several patterns match is imported once.
    write("twice", baseline("twice", {R"({"baseline": "cis", "rules": ["audit_rules_mac", "audit_*", "*_mac"]})"}, {}));
    auto t = load("twice");
    ASSERT_TRUE(t) << t.error().message;
    EXPECT_EQ(ids(*t), (std::vector<std::string>{"audit_rules_time", "audit_rules_mac", "audit_rules_sudo"}));
    // "*" alone takes everything; a baseline may consist of imports only.
    write("all", baseline("all", {R"({"baseline": "cis", "rules": ["*"]})"}, {}));
    auto a = load("all");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->rules.size(), cis_rules.size());
}

TEST_F(BaselineImports, GlobsMatchWholeIds) {
    write("g", baseline("g", {R"({"baseline": "cis", "rules": ["audit*time", "?ernel_?", "*left", "grub2_audit_argument*"]})"}, {}));
    auto b = load("g");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(ids(*b), (std::vector<std::string>{"audit_rules_time", "kernel_x", "grub2_audit_argument", "auditd_space_left"}));
    // Not a prefix or substring match: "audit" alone names a rule id, and cis has none by that name.
    EXPECT_EQ(error_of("p", baseline("p", {R"({"baseline": "cis", "rules": ["audit", "kernel"]})"}, {})),
              path("p") + ":3: at /imports/0/rules/0: pattern \"audit\" matches no rule of baseline \"cis\"");
}

TEST_F(BaselineImports, Exclude) {
    write("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["audit*"], "exclude": ["audit_rules_sudo", "*_time"]})"}, {}));
    auto b = load("sfi");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(ids(*b), (std::vector<std::string>{"audit_rules_mac", "auditd_max_log_file", "auditd_space_left"}));
    // An exclusion that removes nothing is a mistake (a typo, or a rule the patterns never selected).
    EXPECT_EQ(error_of("x", baseline("x", {R"({"baseline": "cis", "rules": ["audit_rules_*"],)" "\n"
                                           R"( "exclude": ["audit_rules_mac", "kernel_x"]})"},
                                     {})),
              path("x") + ":4: at /imports/0/exclude/1: pattern \"kernel_x\" excludes nothing: it matches no rule that "
                          "/imports/0/rules selects from baseline \"cis\"");
}

TEST_F(BaselineImports, ImportedRulesAreCopiedWithEverything) {
    write("full", baseline("full", {}, {R"({"id": "rich", "title": "Rich rule", "description": "Rich description.",
        "rationale": "Rich rationale.", "severity": "critical", "references": {"cis": "6.3.1", "ssg": "x_y"},
        "parameters": {"scope": {"type": "integer", "default": 1, "minimum": 0, "maximum": 2, "description": "s"},
                       "names": {"type": "string-list", "default": ["a"], "description": "n"}},
        "applicability": {"liveOnly": true, "distros": ["azurelinux", "rhel"]},
        "selected": false,
        "audit": {"allOf": [{"call": "k.sysctl", "args": {"key": "kernel.x", "value": {"$param": "scope"}}},
                            {"not": {"call": "m.q"}}]},
        "remediation": {"call": "m.fix", "args": {"names": {"$param": "names"}}}})"}));
    write("imp", baseline("imp", {R"({"baseline": "full", "rules": ["rich"]})"}, {}));
    auto full = load("full");
    auto imp = load("imp");
    ASSERT_TRUE(full) << full.error().message;
    ASSERT_TRUE(imp) << imp.error().message;
    ASSERT_EQ(imp->rules.size(), 1u);
    const plumb::Rule& a = full->rules[0];
    const plumb::Rule& r = imp->rules[0];
    EXPECT_EQ(r.id, a.id);
    EXPECT_EQ(r.title, "Rich rule");
    EXPECT_EQ(r.description, "Rich description.");
    EXPECT_EQ(r.rationale, "Rich rationale.");
    EXPECT_EQ(r.severity, plumb::Severity::critical);
    EXPECT_EQ(r.references, (std::map<std::string, std::string>{{"cis", "6.3.1"}, {"ssg", "x_y"}}));
    EXPECT_FALSE(r.selected);
    EXPECT_TRUE(r.applicability.live_only);
    EXPECT_EQ(r.applicability.distros, (std::vector<std::string>{"azurelinux", "rhel"}));
    ASSERT_EQ(r.parameters.size(), 2u);
    EXPECT_EQ(r.parameter("scope")->value, 1);
    EXPECT_EQ(r.parameter("scope")->schema, a.parameter("scope")->schema);
    EXPECT_EQ(r.parameter("names")->value, json::array({"a"}));
    ASSERT_EQ(r.audit.kind, plumb::Expr::Kind::all_of);
    EXPECT_EQ(plumb::resolve_arguments(r, r.audit.children.at(0).args), json({{"key", "kernel.x"}, {"value", 1}}));
    EXPECT_EQ(r.audit.children.at(1).kind, plumb::Expr::Kind::not_);
    EXPECT_EQ(r.audit.children.at(1).children.at(0).procedure, "q");
    ASSERT_TRUE(r.remediation);
    EXPECT_EQ(r.remediation->module, "m");
    EXPECT_EQ(r.remediation->procedure, "fix");
    // Pointers locate the rule in the file that defines it: "<file>#<JSON pointer>" (RFC 6901 fragment form).
    EXPECT_EQ(a.pointer, "/rules/0");
    EXPECT_EQ(r.pointer, path("full") + "#/rules/0");
    EXPECT_EQ(r.audit.pointer, path("full") + "#/rules/0/audit");
    EXPECT_EQ(r.audit.children.at(1).children.at(0).pointer, path("full") + "#/rules/0/audit/allOf/1/not");
    EXPECT_EQ(r.remediation->pointer, path("full") + "#/rules/0/remediation");
}

TEST_F(BaselineImports, OrderFollowsTheImportsThenTheFilesOwnRules) {
    write("other", baseline("other", {}, rules_of({"other_b", "other_a"})));
    write("sfi", baseline("sfi",
                          {R"({"baseline": "other", "rules": ["other_a", "other_b"]})",
                           R"({"baseline": "cis", "rules": ["kernel_x"]})",
                           R"({"baseline": "cis", "rules": ["audit_rules_mac", "audit_rules_time"]})"},
                          rules_of({"z_own", "a_own"})));
    auto b = load("sfi");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(ids(*b), (std::vector<std::string>{"other_b", "other_a", "kernel_x", "audit_rules_time", "audit_rules_mac",
                                                 "z_own", "a_own"}));
    EXPECT_EQ(b->rules[5].pointer, "/rules/0");
    EXPECT_EQ(b->rules[6].pointer, "/rules/1");
    EXPECT_EQ(b->rules[6].audit.pointer, "/rules/1/audit");
}

TEST_F(BaselineImports, Transitive) {
    write("mid", baseline("mid", {R"({"baseline": "cis", "rules": ["audit_rules_*"], "exclude": ["audit_rules_sudo"]})"},
                          rules_of({"mid_own", "mid_audit_extra"})));
    write("top", baseline("top", {R"({"baseline": "mid", "rules": ["*audit*"]})"}, rules_of({"top_own"})));
    auto b = load("top");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(ids(*b), (std::vector<std::string>{"audit_rules_time", "audit_rules_mac", "mid_audit_extra", "top_own"}));
    // A rule imported through another import keeps the location in the file that defines it.
    EXPECT_EQ(b->rules[0].pointer, path("cis") + "#/rules/0");
    EXPECT_EQ(b->rules[1].audit.pointer, path("cis") + "#/rules/1/audit");
    EXPECT_EQ(b->rules[2].pointer, path("mid") + "#/rules/1");
}

TEST_F(BaselineImports, EachImportedFileIsLoadedOncePerLoad) {
    // A diamond: top imports left and right, both import cis; top also imports cis twice itself. m.q appears only
    // in cis, once: cis's calls are checked (and the file parsed) once.
    write("cis", baseline("cis", {}, {rule("audit_q", "", R"({"call": "m.q"})"), rule("audit_p")}));
    write("left", baseline("left", {R"({"baseline": "cis", "rules": ["audit_q"]})"}, rules_of({"left_own"})));
    write("right", baseline("right", {R"({"baseline": "cis", "rules": ["audit_p"]})"}, rules_of({"right_own"})));
    write("top", baseline("top",
                          {R"({"baseline": "left", "rules": ["*"]})", R"({"baseline": "right", "rules": ["right_own"]})",
                           R"({"baseline": "cis", "rules": ["audit_p"]})"},
                          {}));
    auto b = load("top");
    ASSERT_TRUE(b) << b.error().message;
    EXPECT_EQ(ids(*b), (std::vector<std::string>{"audit_q", "left_own", "right_own", "audit_p"}));
    EXPECT_EQ(catalog_.lookups("m.q"), 1);
}

TEST_F(BaselineImports, Cycles) {
    EXPECT_EQ(error_of("self", baseline("self", {R"({"baseline": "self", "rules": ["*"]})"}, rules_of({"r"}))),
              path("self") + ":3: at /imports/0/baseline: import cycle: self -> self");
    write("a", baseline("a", {R"({"baseline": "b", "rules": ["*"]})"}, rules_of({"a_own"})));
    write("b", baseline("b", {R"({"baseline": "c", "rules": ["*"]})"}, rules_of({"b_own"})));
    write("c", baseline("c", {R"({"baseline": "cis", "rules": ["kernel_x"]})", R"({"baseline": "a", "rules": ["*"]})"}, {}));
    EXPECT_EQ(load("a").error().message,
              path("a") + ":3: at /imports/0/baseline: cannot import baseline \"b\": " +
              path("b") + ":3: at /imports/0/baseline: cannot import baseline \"c\": " +
              path("c") + ":4: at /imports/1/baseline: import cycle: a -> b -> c -> a");
}

TEST_F(BaselineImports, DepthLimitIsEight) {
    // l0 -> l1 -> ... -> l8: eight levels of imports are fine; l9 is one too many.
    for (int i = 0; i <= 9; ++i) {
        std::string n = "l" + std::to_string(i), next = "l" + std::to_string(i + 1);
        write(n, baseline(n, i < 9 ? std::vector<std::string>{R"({"baseline": ")" + next + R"(", "rules": ["*"]})"}
                                   : std::vector<std::string>{},
                          rules_of({("r" + std::to_string(i)).c_str()})));
    }
    auto ok = load("l1");
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(ok->rules.size(), 9u);
    EXPECT_EQ(ok->rules.front().id, "r9");
    auto deep = load("l0");
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.error().message.find(path("l8") + ":3: at /imports/0/baseline: cannot import baseline \"l9\": imports "
                                        "nest deeper than 8 levels: l0 -> l1 -> l2 -> l3 -> l4 -> l5 -> l6 -> l7 -> l8 -> l9"),
              std::string::npos)
        << deep.error().message;
    EXPECT_EQ(deep.error().message.rfind(path("l0") + ":3: at /imports/0/baseline: cannot import baseline \"l1\": ", 0), 0u);
}

TEST_F(BaselineImports, MissingBaselineFile) {
    write("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["kernel_x"]})", R"({"baseline": "nope", "rules": ["*"]})"}, {}));
    auto b = load("sfi");
    ASSERT_FALSE(b);
    EXPECT_EQ(b.error().message, path("sfi") + ":4: at /imports/1/baseline: cannot import baseline \"nope\": " +
                                     path("nope") + ": No such file or directory");
    EXPECT_EQ(b.error().code, ENOENT);
}

TEST_F(BaselineImports, PatternMatchingNothing) {
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "cis",)" "\n"
                                               R"( "rules": ["audit_rules_*", "service_auditd_enabled",)" "\n"
                                               R"(           "audit_rule_*"]})"},
                                       {})),
              path("sfi") + ":5: at /imports/0/rules/2: pattern \"audit_rule_*\" matches no rule of baseline \"cis\"");
}

TEST_F(BaselineImports, DuplicateIds) {
    // Imported, then defined locally.
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["audit_rules_*", "kernel_x"]})"},
                                       rules_of({"sfi_own", "kernel_x"}))),
              path("sfi") + ":7: at /rules/1/id: duplicate rule id \"kernel_x\" (first defined at /imports/0/rules/1, "
                            "imported from baseline \"cis\")");
    // Imported twice from the same baseline.
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["audit_rules_*"]})",
                                               R"({"baseline": "cis", "rules": ["kernel_x", "*_mac"]})"},
                                       {})),
              path("sfi") + ":4: at /imports/1/rules/1: duplicate rule id \"audit_rules_mac\" imported from baseline "
                            "\"cis\" (first defined at /imports/0/rules/0, imported from baseline \"cis\")");
    // The same id in two different baselines.
    write("other", baseline("other", {}, rules_of({"kernel_x"})));
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["kernel_*"]})",
                                               R"({"baseline": "other", "rules": ["*"]})"},
                                       {})),
              path("sfi") + ":4: at /imports/1/rules/0: duplicate rule id \"kernel_x\" imported from baseline "
                            "\"other\" (first defined at /imports/0/rules/0, imported from baseline \"cis\")");
    // Duplicates among the file's own rules are reported as before.
    EXPECT_EQ(error_of("own", baseline("own", {}, rules_of({"r", "r"}))),
              path("own") + ":4: at /rules/1/id: duplicate rule id \"r\" (first defined at /rules/0)");
}

TEST_F(BaselineImports, ImportedFileWithAnErrorNamesBothFiles) {
    write("broken", baseline("broken", {}, {rule("ok"), rule("bad", "", R"({"call": "m.nope"})")}));
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "broken", "rules": ["ok"]})"}, {})),
              path("sfi") + ":3: at /imports/0/baseline: cannot import baseline \"broken\": " + path("broken") +
                  ":4: at /rules/1/audit/call: unknown procedure 'm.nope'; module m has no such procedure");
    write("syntax", "{\"id\": \"syntax\",\n \"version\" 1}");
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "syntax", "rules": ["*"]})"}, {})),
              path("sfi") + ":3: at /imports/0/baseline: cannot import baseline \"syntax\": " + path("syntax") +
                  ":2:12: syntax error while parsing object separator - unexpected number literal; expected ':'");
    // The imported file is checked as a baseline whether or not the broken rule is imported.
    std::string urgent = rule("bad");
    urgent.replace(urgent.find("\"low\""), 5, "\"urgent\"");
    write("schema", baseline("schema", {}, {rule("ok"), urgent}));
    EXPECT_EQ(error_of("sfi", baseline("sfi", {R"({"baseline": "schema", "rules": ["ok"]})"}, {})),
              path("sfi") + ":3: at /imports/0/baseline: cannot import baseline \"schema\": " + path("schema") +
                  ":4: at /rules/1/severity: expected one of \"info\", \"low\", \"medium\", \"high\", \"critical\"; got "
                  "\"urgent\"");
}

TEST_F(BaselineImports, SchemaOfImports) {
    auto with_import = [&](const std::string& import) { return error_of("sfi", baseline("sfi", {import}, {})); };
    // A name, never a path.
    EXPECT_EQ(with_import(R"({"baseline": "../cis", "rules": ["*"]})"),
              path("sfi") + ":3: at /imports/0/baseline: expected a string matching /^[a-z0-9_-]+$/; got \"../cis\"");
    EXPECT_EQ(with_import(R"({"baseline": "cis.json", "rules": ["*"]})"),
              path("sfi") + ":3: at /imports/0/baseline: expected a string matching /^[a-z0-9_-]+$/; got \"cis.json\"");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": []})"),
              path("sfi") + ":3: at /imports/0/rules: expected at least 1 item; got 0");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": ["audit_[a-z]*"]})"),
              path("sfi") + ":3: at /imports/0/rules/0: expected a string matching /^[a-z0-9_*?]+$/; got \"audit_[a-z]*\"");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": ["kernel_x"], "exclude": ["Kernel"]})"),
              path("sfi") + ":3: at /imports/0/exclude/0: expected a string matching /^[a-z0-9_*?]+$/; got \"Kernel\"");
    EXPECT_EQ(with_import(R"({"baseline": "cis"})"), path("sfi") + ":3: at /imports/0: missing required property \"rules\"");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": ["kernel_x"], "why": "x"})"),
              path("sfi") + ":3: at /imports/0/why: expected one of the properties \"baseline\", \"exclude\", \"reason\", "
                            "\"rules\"; got \"why\"");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": ["kernel_x"], "reason": " "})"),
              path("sfi") + ":3: at /imports/0/reason: expected a string matching /\\S/; got \" \"");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": ["kernel_x", "kernel_x"]})"),
              path("sfi") + ":3: at /imports/0/rules/1: expected unique items; got \"kernel_x\" again (also at index 0)");
    EXPECT_EQ(with_import(R"({"baseline": "cis", "rules": ["kernel_x"], "reason": "ok", "exclude": []})"), "<loaded>");
}

TEST_F(BaselineImports, TextWithoutADirectoryCannotImport) {
    std::string text = baseline("sfi", {R"({"baseline": "cis", "rules": ["kernel_x"]})"}, rules_of({"own"}));
    auto none = plumb::load_baseline(text, "sfi.json", catalog_);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().message, "sfi.json:3: at /imports/0/baseline: cannot import baseline \"cis\": no directory to "
                                    "look for it in (the baseline text was not loaded from a file)");
    auto given = plumb::load_baseline(text, "sfi.json", catalog_, dir_.path());
    ASSERT_TRUE(given) << given.error().message;
    EXPECT_EQ(ids(*given), (std::vector<std::string>{"kernel_x", "own"}));
    // Without imports, no directory is needed (the existing API is unchanged).
    EXPECT_TRUE(plumb::load_baseline(baseline("x", {}, rules_of({"own"})), "x.json", catalog_));
    // A text whose name is not a file of that directory is not part of any cycle there.
    write("loop", baseline("loop", {R"({"baseline": "sfi", "rules": ["*"]})"}, rules_of({"loop_own"})));
    write("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["kernel_x"]})"}, rules_of({"sfi_own"})));
    auto outside = plumb::load_baseline(baseline("other", {R"({"baseline": "loop", "rules": ["*"]})"}, {}), "/elsewhere/loop.json",
                                        catalog_, dir_.path());
    ASSERT_TRUE(outside) << outside.error().message;
    EXPECT_EQ(ids(*outside), (std::vector<std::string>{"kernel_x", "sfi_own", "loop_own"}));
}

TEST_F(BaselineImports, TailoringAndWaiversReferToImportedRulesById) {
    write("params", baseline("params", {}, {rule("kernel_scope", R"("parameters": {"scope": {"type": "integer", "default": 1,
        "minimum": 1, "maximum": 3, "description": "s"}})", R"({"call": "k.sysctl", "args": {"key": "kernel.x",
        "value": {"$param": "scope"}}})"), rule("unrelated")}));
    write("sfi", baseline("sfi", {R"({"baseline": "cis", "rules": ["audit_rules_*"]})",
                                  R"({"baseline": "params", "rules": ["kernel_scope"]})"},
                          rules_of({"sfi_own"})));
    auto b = load("sfi");
    ASSERT_TRUE(b) << b.error().message;
    auto tailoring = [](const std::string& rest) {
        return "{\"tailoring\": {\"id\": \"site\", \"baseline\": \"sfi\"},\n" + rest + "}";
    };
    auto applied = plumb::apply_tailoring(*b, tailoring(R"("deselect": ["audit_rules_mac"],
        "values": {"kernel_scope": {"scope": 2}})"), "t.json", catalog_);
    ASSERT_TRUE(applied) << applied.error().message;
    const plumb::Rule& scope = *b->rule("kernel_scope");
    EXPECT_EQ(plumb::resolve_arguments(scope, scope.audit.args), json({{"key", "kernel.x"}, {"value", 2}}));
    EXPECT_FALSE(b->rule("audit_rules_mac")->selected);
    EXPECT_TRUE(b->rule("audit_rules_time")->selected);
    // The tailoring names the importing baseline, not the one the rule came from.
    auto wrong = plumb::apply_tailoring(*b, "{\"tailoring\": {\"id\": \"site\", \"baseline\": \"params\"}}", "t.json", catalog_);
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().message, "t.json:1: at /tailoring/baseline: expected the id of the loaded baseline \"sfi\"; got \"params\"");
    // A rule that was not imported is unknown.
    auto unknown = plumb::apply_tailoring(*b, tailoring(R"("values": {"unrelated": {"x": 1}})"), "t.json", catalog_);
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().message, "t.json:2: at /values/unrelated: unknown rule \"unrelated\": baseline \"sfi\" has no such rule");
    // When new values break a call, the message locates the call in the file that defines the rule.
    auto invalid = plumb::apply_tailoring(*b, tailoring(R"("values": {"kernel_scope": {"scope": 3}})"), "t.json", catalog_);
    ASSERT_FALSE(invalid);
    EXPECT_EQ(invalid.error().message,
              "t.json:2: at /values/kernel_scope: with these values rule \"kernel_scope\" calls a procedure with invalid "
              "arguments: " + path("params") + ": at /rules/0/audit/args/value: expected a number <= 2; got 3 (arguments "
              "of k.sysctl; the value comes from parameter \"scope\")");
    EXPECT_EQ(plumb::resolve_arguments(scope, scope.audit.args)["value"], 2);

    auto waivers = plumb::load_waivers(R"({"waivers": [{"rule": "audit_rules_time", "justification": "j", "expires": "2030-01-01"},
        {"rule": "kernel_scope", "justification": "j", "expires": "2030-01-01"}]})", "w.json", *b);
    ASSERT_TRUE(waivers) << waivers.error().message;
    EXPECT_EQ(waivers->size(), 2u);
    auto not_imported = plumb::load_waivers(R"({"waivers": [{"rule": "kernel_x", "justification": "j", "expires": "2030-01-01"}]})",
                                            "w.json", *b);
    ASSERT_FALSE(not_imported);
    EXPECT_EQ(not_imported.error().message, "w.json:1: at /waivers/0/rule: unknown rule \"kernel_x\": baseline \"sfi\" has no such rule");
}

TEST_F(BaselineImports, ShippedBaselinesStillLoad) {
    for (const auto& e : fs::directory_iterator(fs::path(source_dir()) / "baselines")) {
        std::string name = e.path().filename().string();
        if (e.path().extension() != ".json" || name.ends_with(".schema.json")) continue;
        auto b = plumb::load_baseline_file(e.path().string(), catalog_);  // modules other than m and k: unavailable
        EXPECT_TRUE(b) << name << ": " << b.error().message;
    }
}

// The "imports" part of the schema is standard draft 2020-12: python3-jsonschema gives the same verdicts.
TEST_F(BaselineImports, PythonJsonschemaAgreesOnImports) {
    const std::string python = "/usr/bin/python3";
    if (::access(python.c_str(), X_OK) != 0) GTEST_SKIP() << python << " is not installed";
    auto probe = plumb::test::run_process({python, "-c", "import jsonschema"});
    if (probe.exit_code != 0) GTEST_SKIP() << "python3-jsonschema is not installed: " << probe.err;

    std::ifstream in(source_dir() + "/baselines/baseline.schema.json");
    auto ours = plumb::JsonSchema::compile(json::parse(in));
    ASSERT_TRUE(ours) << ours.error().message;
    const std::vector<std::pair<std::string, bool>> imports = {
        {R"({"baseline": "cis", "rules": ["audit_rules_*", "auditd_?"], "exclude": ["x"], "reason": "r"})", true},
        {R"({"baseline": "azure-linux_2", "rules": ["*"]})", true},
        {R"({"baseline": "cis", "rules": []})", false},
        {R"({"baseline": "../cis", "rules": ["*"]})", false},
        {R"({"baseline": "", "rules": ["*"]})", false},
        {R"({"baseline": "cis", "rules": ["a[b]"]})", false},
        {R"({"baseline": "cis", "rules": ["a", "a"]})", false},
        {R"({"baseline": "cis", "rules": ["a"], "reason": ""})", false},
        {R"({"baseline": "cis", "rules": ["a"], "exclude": "a"})", false},
        {R"({"rules": ["a"]})", false},
        {R"({"baseline": "cis", "rules": ["a"], "extra": 1})", false},
    };
    std::vector<std::string> argv = {python, "-c", R"(
import json, sys, jsonschema
V = jsonschema.Draft202012Validator
schema = json.load(open(sys.argv[1]))
V.check_schema(schema)
for doc in sys.argv[2:]:
    print("valid" if V(schema, format_checker=V.FORMAT_CHECKER).is_valid(json.loads(doc)) else "invalid")
)", source_dir() + "/baselines/baseline.schema.json"};
    std::vector<std::string> expected;
    for (const auto& [import, valid] : imports) {
        json doc = json::parse(baseline("sfi", {import}, {}));
        EXPECT_EQ(ours->accepts(doc), valid) << import;
        argv.push_back(doc.dump());
        expected.push_back(valid ? "valid" : "invalid");
    }
    auto result = plumb::test::run_process(argv);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::istringstream lines(result.out);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        std::string verdict;
        lines >> verdict;
        EXPECT_EQ(verdict, expected[i]) << "python3-jsonschema on " << imports[i].first;
    }
}

}  // namespace
