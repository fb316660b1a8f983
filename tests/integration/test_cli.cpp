// The built plumb binary on fixture roots: JSON output and its schema, text output, exit codes, tool errors.
// Uses the engine's test module "probe" (tests/modules) so these tests depend on the CLI and engine only.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "plumb/json_schema.hpp"
#include "plumb_test.hpp"

using plumb::test::run_plumb;
using plumb::test::TempRoot;

namespace {

std::string fixture(const std::string& name) { return plumb::test::source_dir() + "/tests/fixtures/cli/" + name; }
std::string probe_modules() { return plumb::test::build_dir() + "/tests/modules/good"; }

std::vector<std::string> audit_args(const TempRoot& root, std::vector<std::string> extra = {}) {
    std::vector<std::string> a{"audit", "--root", root.path(), "--module-dir", probe_modules(), "--baseline", fixture("probe.json")};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
}

nlohmann::json parse(const plumb::test::ProcessResult& r) {
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out << "\nstderr:\n" << r.err;
    return j;
}

const nlohmann::json& result_of(const nlohmann::json& report, const std::string& id) {
    for (const auto& r : report["results"])
        if (r["id"] == id) return r;
    static const nlohmann::json none;
    ADD_FAILURE() << "no result for " << id;
    return none;
}

class CliTest : public ::testing::Test {
protected:
    void SetUp() override {
        root.write("/etc/probe.conf", "good");
        root.write("/etc/hostname", "image-host\n");
    }
    TempRoot root;
};

TEST_F(CliTest, OfflineAuditJsonReport) {
    auto r = run_plumb(audit_args(root, {"--format", "json"}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = parse(r);
    EXPECT_EQ(j["schema"], "plumb-report/1");
    EXPECT_EQ(j["baseline"]["id"], "probe");
    EXPECT_EQ(j["host"]["name"], "image-host");
    EXPECT_EQ(j["host"]["live"], false);
    EXPECT_EQ(j["results"].size(), 4u);
    EXPECT_EQ(result_of(j, "always_pass")["status"], "pass");
    EXPECT_EQ(result_of(j, "always_pass")["references"], (nlohmann::json{{"ssg", "probe_pass"}, {"cis", "0.1"}}));
    EXPECT_EQ(result_of(j, "always_pass")["severity"], "low");
    EXPECT_EQ(result_of(j, "file_content")["status"], "pass");
    EXPECT_EQ(result_of(j, "file_content")["parameters"]["content"], "good");
    const auto& live = result_of(j, "live_check");
    EXPECT_EQ(live["status"], "notapplicable");
    EXPECT_EQ(live["reasons"][0]["code"], "live_only");
    EXPECT_EQ(result_of(j, "combined")["status"], "pass");
    EXPECT_EQ(j["summary"]["pass"], 3);
    EXPECT_EQ(j["summary"]["notapplicable"], 1);
    EXPECT_EQ(j["summary"]["fail"], 0);
}

TEST_F(CliTest, JsonReportFollowsItsSchema) {
    root.write("/etc/probe.conf", "bad\n");
    auto r = run_plumb(audit_args(root, {"--format", "json"}));
    auto report = parse(r);
    std::ifstream in(plumb::test::source_dir() + "/agent/report.schema.json");
    auto schema = plumb::JsonSchema::compile(nlohmann::json::parse(in));
    ASSERT_TRUE(schema) << schema.error().message;
    auto violations = schema->validate(report);
    EXPECT_TRUE(violations.empty()) << violations[0].pointer << ": " << violations[0].message;

    // The external validator (Debian's python3-jsonschema) agrees.
    TempRoot tmp;
    tmp.write("/report.json", r.out);
    auto py = plumb::test::run_process(
        {"/usr/bin/python3", "-c",
         "import json,sys,jsonschema; s=json.load(open(sys.argv[1])); d=json.load(open(sys.argv[2])); "
         "jsonschema.Draft202012Validator.check_schema(s); jsonschema.Draft202012Validator(s).validate(d); print('ok')",
         plumb::test::source_dir() + "/agent/report.schema.json", tmp / "report.json"});
    EXPECT_EQ(py.exit_code, 0) << py.err;
    EXPECT_EQ(py.out, "ok\n");
}

TEST_F(CliTest, FailingRuleExitsTwoWithReasons) {
    root.write("/etc/probe.conf", "bad\n");
    auto r = run_plumb(audit_args(root, {"--format", "json"}));
    EXPECT_EQ(r.exit_code, 2);
    auto j = parse(r);
    const auto& res = result_of(j, "file_content");
    EXPECT_EQ(res["status"], "fail");
    EXPECT_EQ(res["reasons"][0]["code"], "content_mismatch");
}

TEST_F(CliTest, TextOutputHasSummaryAndNoColourWhenNotATerminal) {
    root.write("/etc/probe.conf", "bad\n");
    auto r = run_plumb(audit_args(root));
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.out.find('\033'), std::string::npos);
    EXPECT_NE(r.out.find("fail          file_content  A file has the configured content"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("content differs [content_mismatch]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("4 rules: 2 pass, 1 fail, 1 notapplicable"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(offline root " + root.path() + ")"), std::string::npos);
}

TEST_F(CliTest, RuleSelection) {
    auto r = run_plumb(audit_args(root, {"--format", "json", "--rule", "always_pass", "--rule", "live_check"}));
    EXPECT_EQ(r.exit_code, 0);
    auto j = parse(r);
    ASSERT_EQ(j["results"].size(), 2u);
    auto bad = run_plumb(audit_args(root, {"--rule", "no_such_rule"}));
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("--rule no_such_rule: baseline probe has no such rule"), std::string::npos) << bad.err;
}

TEST_F(CliTest, WaiversAndTheirExpiry) {
    root.write("/etc/probe.conf", "bad\n");
    auto active = run_plumb(audit_args(root, {"--format", "json", "--waivers", fixture("waivers.json")}));
    EXPECT_EQ(active.exit_code, 0) << active.err;  // the only failure is waived
    auto j = parse(active);
    EXPECT_EQ(result_of(j, "file_content")["status"], "waived");
    EXPECT_EQ(j["summary"]["waived"], 1);
    auto expired = run_plumb(audit_args(root, {"--format", "json", "--waivers", fixture("waivers-expired.json")}));
    EXPECT_EQ(expired.exit_code, 2);
    EXPECT_EQ(result_of(parse(expired), "file_content")["status"], "fail");
}

TEST_F(CliTest, TailoringChangesValuesAndSelection) {
    root.write("/etc/probe.conf", "site");
    auto r = run_plumb(audit_args(root, {"--format", "json", "--tailoring", fixture("tailoring.json")}));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = parse(r);
    EXPECT_EQ(j["results"].size(), 3u);  // "combined" deselected
    EXPECT_EQ(result_of(j, "file_content")["status"], "pass");
    EXPECT_EQ(result_of(j, "file_content")["parameters"]["content"], "site");
}

TEST_F(CliTest, MissingModuleTurnsItsRulesIntoErrorsAndTheRunGoesOn) {
    auto r = run_plumb({"audit", "--root", root.path(), "--module-dir", probe_modules(), "--baseline",
                        fixture("probe-missing-module.json"), "--format", "json"});
    EXPECT_EQ(r.exit_code, 2) << r.err;
    auto j = parse(r);
    EXPECT_EQ(result_of(j, "ok")["status"], "pass");
    const auto& e = result_of(j, "needs_absent_module");
    EXPECT_EQ(e["status"], "error");
    EXPECT_EQ(e["reasons"][0]["code"], "module_unavailable");
    EXPECT_EQ(e["reasons"][0]["phrase"], "module 'absent' is not installed");
}

TEST_F(CliTest, OutputFile) {
    TempRoot out;
    auto r = run_plumb(audit_args(root, {"--format", "json", "--output", out / "report.json"}));
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_TRUE(r.out.empty());
    auto j = nlohmann::json::parse(out.read("/report.json"));
    EXPECT_EQ(j["baseline"]["id"], "probe");
}

TEST_F(CliTest, ToolErrorsExitOne) {
    auto missing_root = run_plumb({"audit", "--root", root.path() + "/nope", "--module-dir", probe_modules(), "--baseline", fixture("probe.json")});
    EXPECT_EQ(missing_root.exit_code, 1);
    EXPECT_NE(missing_root.err.find("--root " + root.path() + "/nope: No such file or directory"), std::string::npos) << missing_root.err;

    auto no_baseline = run_plumb({"audit", "--root", root.path(), "--module-dir", probe_modules(), "--baseline", "no-such-baseline"});
    EXPECT_EQ(no_baseline.exit_code, 1);
    EXPECT_NE(no_baseline.err.find("no installed baseline 'no-such-baseline'"), std::string::npos) << no_baseline.err;

    root.write("/broken.json", "{\"id\": \"x\",\n  \"rules\": [\n    {\"id\": }\n]}");
    auto broken = run_plumb({"audit", "--root", root.path(), "--module-dir", probe_modules(), "--baseline", root / "broken.json"});
    EXPECT_EQ(broken.exit_code, 1);
    EXPECT_NE(broken.err.find(root / "broken.json" + ":3:12"), std::string::npos) << broken.err;

    auto bad_format = run_plumb({"audit", "--format", "yaml"});
    EXPECT_EQ(bad_format.exit_code, 1);
    EXPECT_NE(bad_format.err.find("--format must be text or json, not 'yaml'"), std::string::npos);

    auto unknown = run_plumb({"frobnicate"});
    EXPECT_EQ(unknown.exit_code, 1);
    EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);

    auto unknown_opt = run_plumb({"audit", "--frob"});
    EXPECT_EQ(unknown_opt.exit_code, 1);
    EXPECT_NE(unknown_opt.err.find("unknown option --frob"), std::string::npos);
}

TEST_F(CliTest, RulesExplainAndValidate) {
    auto rules = run_plumb({"rules", "--module-dir", probe_modules(), "--baseline", fixture("probe.json")});
    EXPECT_EQ(rules.exit_code, 0) << rules.err;
    EXPECT_NE(rules.out.find("probe 1.0: CLI test baseline (4 rules)"), std::string::npos) << rules.out;
    EXPECT_NE(rules.out.find("always_pass  A rule that passes  [ssg probe_pass]"), std::string::npos) << rules.out;

    auto explain = run_plumb({"explain", "file_content", "--module-dir", probe_modules(), "--baseline", fixture("probe.json")});
    EXPECT_EQ(explain.exit_code, 0) << explain.err;
    EXPECT_NE(explain.out.find("content (string) = \"good\""), std::string::npos) << explain.out;
    EXPECT_NE(explain.out.find("probe.file_equals"), std::string::npos);

    auto validate = run_plumb({"baseline", "validate", fixture("probe.json"), "--module-dir", probe_modules()});
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    EXPECT_NE(validate.out.find("valid baseline probe 1.0 with 4 rules"), std::string::npos) << validate.out;

    root.write("/bad-proc.json", R"({"id": "b", "version": "1", "title": "t", "rules": [
      {"id": "r", "title": "t", "description": "d", "rationale": "r", "severity": "low", "references": {},
       "audit": {"call": "probe.nonexistent", "args": {}}}]})");
    auto invalid = run_plumb({"baseline", "validate", root / "bad-proc.json", "--module-dir", probe_modules()});
    EXPECT_EQ(invalid.exit_code, 1);
    EXPECT_NE(invalid.err.find("unknown procedure 'probe.nonexistent'"), std::string::npos) << invalid.err;
    EXPECT_NE(invalid.err.find("/rules/0/audit"), std::string::npos) << invalid.err;
}


// A baseline that imports rules from another file of its directory: listed, validated, audited and tailored like any.
TEST_F(CliTest, BaselineImportingAnother) {
    TempRoot dir;
    std::ifstream in(fixture("probe.json"));
    std::stringstream probe;
    probe << in.rdbuf();
    dir.write("/probe.json", probe.str());
    dir.write("/site.json", R"({"id": "site", "version": "2.0", "title": "Importing baseline",
      "imports": [{"baseline": "probe", "rules": ["file_*", "always_pass"], "reason": "the probe's checks"}],
      "rules": [{"id": "own_rule", "title": "The site's own rule", "description": "d", "rationale": "r",
                 "severity": "info", "references": {}, "audit": {"call": "probe.echo", "args": {"status": "pass"}}}]})");

    auto rules = run_plumb({"rules", "--module-dir", probe_modules(), "--baseline", dir / "site.json"});
    EXPECT_EQ(rules.exit_code, 0) << rules.err;
    EXPECT_EQ(rules.out, "site 2.0: Importing baseline (3 rules)\n"
                         "  low      always_pass  A rule that passes  [ssg probe_pass]\n"
                         "  medium   file_content  A file has the configured content\n"
                         "  info     own_rule  The site's own rule\n");

    auto validate = run_plumb({"baseline", "validate", dir / "site.json", "--module-dir", probe_modules()});
    EXPECT_EQ(validate.exit_code, 0) << validate.err;
    EXPECT_EQ(validate.out, dir / "site.json" + ": valid baseline site 2.0 with 3 rules\n");

    auto explain = run_plumb({"explain", "file_content", "--module-dir", probe_modules(), "--baseline", dir / "site.json"});
    EXPECT_EQ(explain.exit_code, 0) << explain.err;
    EXPECT_NE(explain.out.find("content (string) = \"good\""), std::string::npos) << explain.out;

    // A tailoring of the importing baseline sets a parameter of an imported rule.
    root.write("/etc/probe.conf", "site");
    dir.write("/tailoring.json", R"({"tailoring": {"id": "t", "baseline": "site"}, "values": {"file_content": {"content": "site"}}})");
    auto audit = run_plumb({"audit", "--root", root.path(), "--module-dir", probe_modules(), "--baseline", dir / "site.json",
                            "--tailoring", dir / "tailoring.json", "--format", "json"});
    EXPECT_EQ(audit.exit_code, 0) << audit.err;
    auto j = parse(audit);
    EXPECT_EQ(j["baseline"]["id"], "site");
    ASSERT_EQ(j["results"].size(), 3u);
    EXPECT_EQ(j["results"][0]["id"], "always_pass");
    EXPECT_EQ(result_of(j, "file_content")["status"], "pass");
    EXPECT_EQ(result_of(j, "file_content")["parameters"]["content"], "site");
    EXPECT_EQ(result_of(j, "own_rule")["status"], "pass");

    // Import errors are tool errors naming the file and the JSON pointer.
    dir.write("/bad.json", R"({"id": "bad", "version": "1", "title": "t",
      "imports": [{"baseline": "probe", "rules": ["always_pass", "nope_*"]}], "rules": []})");
    auto bad = run_plumb({"baseline", "validate", dir / "bad.json", "--module-dir", probe_modules()});
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_EQ(bad.err, "plumb: " + dir / "bad.json" + ":2: at /imports/0/rules/1: pattern \"nope_*\" matches no rule of "
                                                       "baseline \"probe\"\n");
    dir.write("/orphan.json", R"({"id": "orphan", "version": "1", "title": "t",
      "imports": [{"baseline": "missing", "rules": ["*"]}], "rules": []})");
    auto orphan = run_plumb({"rules", "--module-dir", probe_modules(), "--baseline", dir / "orphan.json"});
    EXPECT_EQ(orphan.exit_code, 1);
    EXPECT_EQ(orphan.err, "plumb: " + dir / "orphan.json" + ":2: at /imports/0/baseline: cannot import baseline "
                                                             "\"missing\": " + dir / "missing.json" +
                              ": No such file or directory\n");

    // Installed baselines are still found by name (imports of an installed baseline resolve in that directory).
    auto installed = run_plumb({"rules", "--module-dir", probe_modules(), "--baseline", "cis"});
    EXPECT_EQ(installed.exit_code, 0) << installed.err;
    EXPECT_EQ(installed.out.rfind("cis ", 0), 0u) << installed.out;
}

}  // namespace
