// config_option: one key of a key=value / "Key Value" configuration file (plus an optional drop-in directory).
#include <algorithm>

#include "core.hpp"
#include "plumb/config/keyvalue.hpp"

namespace plumb::core {

const char* const kConfigOptionSchema = R"J({
  "type": "object",
  "properties": {
    "path": {"type": "string", "pattern": "^/"},
    "key": {"type": "string", "minLength": 1},
    "equals": {"type": "string"},
    "one_of": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "at_least": {"type": "integer"},
    "at_most": {"type": "integer"},
    "case_insensitive_values": {"type": "boolean", "description": "compare equals/one_of ignoring case"},
    "syntax": {
      "type": "object",
      "properties": {
        "separator": {"enum": ["equals", "whitespace", "equals_or_whitespace"]},
        "case_insensitive_keys": {"type": "boolean"},
        "strip_quotes": {"type": "boolean"},
        "comment_chars": {"type": "string", "minLength": 1},
        "first_wins": {"type": "boolean"}
      },
      "additionalProperties": false
    },
    "include_dir": {"type": "string", "pattern": "^/",
                    "description": "drop-in directory whose files (include_suffix, lexical order) override the main file"},
    "include_suffix": {"type": "string", "description": "file name suffix of drop-ins; default .conf"},
    "missing": {"enum": ["fail", "pass"], "description": "result when the key is not set at all; default fail"}
  },
  "required": ["path", "key"],
  "oneOf": [
    {"required": ["equals"]},
    {"required": ["one_of"]},
    {"anyOf": [{"required": ["at_least"]}, {"required": ["at_most"]}]}
  ],
  "additionalProperties": false
})J";

namespace {

config::KeyValueSyntax syntax_from(const nlohmann::json& j) {
    config::KeyValueSyntax s;
    if (!j.is_object()) return s;
    if (j.contains("separator")) {
        const std::string sep = j["separator"];
        s.separator = sep == "whitespace"   ? config::KeyValueSyntax::Separator::whitespace
                      : sep == "equals"     ? config::KeyValueSyntax::Separator::equals
                                            : config::KeyValueSyntax::Separator::equals_or_whitespace;
    }
    s.case_insensitive_keys = j.value("case_insensitive_keys", false);
    s.strip_quotes = j.value("strip_quotes", false);
    s.comment_chars = j.value("comment_chars", std::string("#"));
    s.first_wins = j.value("first_wins", false);
    return s;
}

}  // namespace

plumb_status Core::config_option(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string path = args.at("path");
    const std::string key = args.at("key");
    const auto syntax = syntax_from(args.value("syntax", nlohmann::json::object()));

    // Application order: with first_wins the drop-ins come first (sshd_config's "Include" at the top), otherwise
    // after the main file; either way a drop-in overrides the main file.
    std::vector<std::string> dropins;
    if (args.contains("include_dir")) {
        const std::string dir = args["include_dir"];
        const std::string suffix = args.value("include_suffix", std::string(".conf"));
        auto names = list_dir_if_exists(host(), dir);
        if (!names) return r.error("read_failed", names.error().message);
        for (const auto& n : *names)
            if (ends_with(n, suffix) && n.size() > suffix.size()) dropins.push_back(join_path(dir, n));
    }
    std::vector<std::string> order;
    if (syntax.first_wins) order = dropins;
    order.push_back(path);
    if (!syntax.first_wins) order.insert(order.end(), dropins.begin(), dropins.end());

    std::vector<config::KeyValueFile> parsed;
    std::vector<std::string> read;
    for (const auto& f : order) {
        auto text = read_if_exists(host(), f);
        if (!text) return r.error("read_failed", text.error().message);
        if (!*text) continue;
        parsed.push_back(config::parse_key_value(**text, f, syntax));
        read.push_back(f);
    }

    const config::KeyValue* hit = nullptr;
    const config::KeyValueFile* hit_file = nullptr;
    for (const auto& kv : parsed) {
        if (const auto* e = kv.find(key)) {
            if (!hit || !syntax.first_wins) {
                hit = e;
                hit_file = &kv;
            }
        }
    }

    // What the rule expects, for messages.
    const bool ci = args.value("case_insensitive_values", false);
    std::string expected;
    if (args.contains("equals")) {
        expected = quote_value(args["equals"].get<std::string>());
    } else if (args.contains("one_of")) {
        for (const auto& v : args["one_of"]) expected += (expected.empty() ? "one of " : ", ") + quote_value(v.get<std::string>());
    } else {
        if (args.contains("at_least")) expected = "at least " + std::to_string(args["at_least"].get<long long>());
        if (args.contains("at_most"))
            expected += (expected.empty() ? "" : " and ") + std::string("at most ") +
                        std::to_string(args["at_most"].get<long long>());
        expected = "an integer " + expected;
    }

    if (!hit) {
        std::string searched;
        for (const auto& f : order) searched += (searched.empty() ? "" : ", ") + f;
        std::string phrase = key + " is not set in " + (read.empty() ? "any file (none of " + searched + " exists)" : searched);
        if (args.value("missing", "fail") == "pass") return r.pass("option_missing", phrase + " (allowed by missing=pass)");
        return r.fail("option_missing", phrase + "; expected " + expected);
    }

    const std::string where = hit_file->file + ":" + std::to_string(hit->line);
    const std::string& actual = hit->value;
    auto eq = [&](const std::string& want) { return ci ? lower(want) == lower(actual) : want == actual; };

    if (args.contains("equals") || args.contains("one_of")) {
        bool ok = false;
        if (args.contains("equals")) ok = eq(args["equals"].get<std::string>());
        else
            for (const auto& v : args["one_of"]) ok = ok || eq(v.get<std::string>());
        if (!ok) return r.fail("value_mismatch", where + ": " + hit->key + " is " + quote_value(actual) + "; expected " + expected);
        return r.pass("value_ok", where + ": " + hit->key + " is " + quote_value(actual));
    }
    auto n = parse_integer(actual);
    if (!n)
        return r.fail("value_not_integer", where + ": " + hit->key + " is " + quote_value(actual) + ", not an integer; expected " + expected);
    if (args.contains("at_least") && *n < args["at_least"].get<long long>())
        return r.fail("value_too_low", where + ": " + hit->key + " is " + std::to_string(*n) + "; expected " + expected);
    if (args.contains("at_most") && *n > args["at_most"].get<long long>())
        return r.fail("value_too_high", where + ": " + hit->key + " is " + std::to_string(*n) + "; expected " + expected);
    return r.pass("value_ok", where + ": " + hit->key + " is " + std::to_string(*n) + " (" + expected + ")");
}

}  // namespace plumb::core
