// json_text: JSON with comments parsed in one pass; syntax errors and duplicate keys as FILE:LINE:COL, nesting limit,
// and where() (positions computed on first use) naming the line of a pointer or of its nearest ancestor.
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "json_text.hpp"  // internal to the engine: agent/src is on this test's include path

namespace {

using nlohmann::json;
namespace jt = plumb::json_text;

std::string error_of(const std::string& text) {
    auto d = jt::parse(text, "f.json");
    if (d) return "<parsed>";
    EXPECT_EQ(d.error().code, EINVAL);
    return d.error().message;
}

jt::Document parsed(const std::string& text) {
    auto d = jt::parse(text, "f.json");
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    return d ? std::move(*d) : jt::Document{};
}

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// LINE:COL is the last character the parser read: the offending one.
TEST(JsonText, SyntaxErrorsNameLineColumnAndDetail) {
    EXPECT_EQ(error_of("{\"a\": 1\n \"b\": 2}"),
              "f.json:2:4: syntax error while parsing object - unexpected string literal; expected '}'");  // missing comma
    EXPECT_EQ(error_of("{\"a\": \"unterminated"),
              "f.json:1:20: syntax error while parsing value - invalid string: missing closing quote; last read: "
              "'\"unterminated'");
    EXPECT_EQ(error_of("{\"a\": 1}x"),
              "f.json:1:9: syntax error while parsing value - invalid literal; last read: '1}x'; expected end of input");
    EXPECT_EQ(error_of("{\"a\": 1} {\"b\": 2}"),
              "f.json:1:10: syntax error while parsing value - unexpected '{'; expected end of input");
    EXPECT_EQ(error_of("[1,]"), "f.json:1:4: syntax error while parsing value - unexpected ']'; expected '[', '{', or a literal");
    EXPECT_EQ(error_of(""), "f.json:1:1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
    EXPECT_EQ(error_of("{\"a\": \"b\tc\"}"),
              "f.json:1:9: syntax error while parsing value - invalid string: control character U+0009 (HT) must be escaped "
              "to \\u0009 or \\t; last read: '\"b<U+0009>'");
}

TEST(JsonText, CommentSyntax) {
    EXPECT_EQ(error_of("/x"), "f.json:1:2: syntax error while parsing value - invalid comment; expecting '/' or '*' after '/'; "
                              "last read: '/x'");
    EXPECT_EQ(error_of("{\"a\": 1 /* x"), "f.json:1:13: syntax error while parsing object - invalid comment; missing "
                                          "closing '*/'; last read: '1 /* x'; expected '}'");
    EXPECT_EQ(error_of("[1] /* x"), "f.json:1:9: syntax error while parsing value - invalid comment; missing closing '*/'; "
                                    "last read: '1] /* x'; expected end of input");
    auto d = parsed("// a\n{\"a\" /* b */ : /**/ [1, // c\n 2], \"s\": \"//not /* a comment\"} // end");
    EXPECT_EQ(d.value, json::parse(R"({"a": [1, 2], "s": "//not /* a comment"})"));
}

// Errors nlohmann reports without a position keep the form "FILE: what".
TEST(JsonText, NumberOverflowHasNoPosition) {
    EXPECT_EQ(error_of("{\"a\": 1e999}"), "f.json: [json.exception.out_of_range.406] number overflow parsing '1e999'");
}

TEST(JsonText, DuplicateKeysAtAnyDepthNameLineColumnAndObject) {
    EXPECT_EQ(error_of("{\"a\": 1,\n \"a\": 2}"), "f.json:2:2: duplicate key \"a\" in the object at (document root)");
    EXPECT_EQ(error_of("{\"x\": {\"y\": [0, {\"k\": 1,\n\n     \"k\": 2}]}}"),
              "f.json:3:6: duplicate key \"k\" in the object at /x/y/1");
    EXPECT_EQ(error_of("{\"a/b\": {\"~\": {\"q\": 1, \"r\": 2, \"q\": 3}}}"),
              "f.json:1:32: duplicate key \"q\" in the object at /a~1b/~0");
    // Keys compare decoded: "a\u0062" is "ab".
    EXPECT_EQ(error_of("{\"a\\u0062\": 1, \"ab\": 2}"), "f.json:1:16: duplicate key \"ab\" in the object at (document root)");
    // The same key in sibling objects is fine.
    EXPECT_EQ(parsed("[{\"k\": 1}, {\"k\": 2}]").value, json::parse("[{\"k\": 1}, {\"k\": 2}]"));
    // The first duplicate in the text is the one reported.
    EXPECT_EQ(error_of("{\"o\": {\"b\": 1, \"b\": 2},\n \"a\": 1, \"a\": 2}"),
              "f.json:1:16: duplicate key \"b\" in the object at /o");
}

TEST(JsonText, SyntaxErrorsWinOverDuplicateKeys) {
    EXPECT_EQ(error_of("{\"a\": 1, \"a\": 2,\n ["),
              "f.json:2:2: syntax error while parsing object key - unexpected '['; expected string literal");
}

TEST(JsonText, NestingLimit) {
    EXPECT_TRUE(jt::parse(nested_arrays(jt::max_nesting), "f.json").has_value());
    EXPECT_EQ(error_of(nested_arrays(jt::max_nesting + 1)), "f.json:1:201: nesting deeper than 200 levels");
    EXPECT_EQ(error_of("\n  " + nested_arrays(1000)), "f.json:2:203: nesting deeper than 200 levels");
    std::string objects;
    for (int i = 0; i < 250; ++i) objects += "{\"a\":";
    objects += "1" + std::string(250, '}');
    EXPECT_EQ(error_of(objects), "f.json:1:1001: nesting deeper than 200 levels");
    // A syntax error anywhere wins over the nesting limit, as it does over duplicate keys.
    EXPECT_EQ(error_of(nested_arrays(jt::max_nesting + 1) + ","),
              "f.json:1:403: syntax error while parsing value - unexpected ','; expected end of input");
    // Whichever of a duplicate key and the nesting limit comes first in the text is reported.
    EXPECT_EQ(error_of("{\"y\": " + nested_arrays(201) + ", \"x\": 1, \"x\": 2}"), "f.json:1:206: nesting deeper than 200 levels");
    EXPECT_EQ(error_of("{\"x\": 1, \"x\": 2, \"y\": " + nested_arrays(201) + "}"),
              "f.json:1:10: duplicate key \"x\" in the object at (document root)");
}

const char* const sample = R"({
  "id": "b",
  // rules
  "rules": [
    {"id": "r1",
     "check": {"args": {"a/b": 1, "list": [1,
        2]}}}
  ]
})";

TEST(JsonText, WhereNamesTheLineOfThePointerOrItsNearestAncestor) {
    auto d = parsed(sample);
    EXPECT_EQ(d.where("f.json", "/rules/0/check/args/a~1b"), "f.json:6: at /rules/0/check/args/a~1b");
    EXPECT_EQ(d.where("f.json", "/rules/0/check/args/list/1"), "f.json:7: at /rules/0/check/args/list/1");
    EXPECT_EQ(d.where("f.json", "/rules/0/id"), "f.json:5: at /rules/0/id");
    // No node at the pointer: its nearest ancestor's line.
    EXPECT_EQ(d.where("f.json", "/rules/0/check/missing/deeper"), "f.json:6: at /rules/0/check/missing/deeper");
    EXPECT_EQ(d.where("f.json", "/nothing"), "f.json:1: at /nothing");
    EXPECT_EQ(d.where("f.json", ""), "f.json:1: at (document root)");
    // Object members are located at their key; the root at its first character.
    EXPECT_EQ(d.positions().at("/rules").line, 4u);
    EXPECT_EQ(d.positions().at("/rules").column, 3u);
    EXPECT_EQ(d.positions().at("").column, 1u);
    EXPECT_EQ(parsed("\n\n  [1]").where("f.json", "/0"), "f.json:3: at /0");
}

TEST(JsonText, WhereOnADocumentWithoutText) {
    const jt::Document none{};
    EXPECT_EQ(none.where("b.json", "/rules/0/check"), "b.json: at /rules/0/check");
    EXPECT_EQ(none.where("b.json", ""), "b.json: at (document root)");
    EXPECT_TRUE(none.positions().empty());
}

TEST(JsonText, CopiesAndMovesKeepPositions) {
    auto d = parsed(sample);
    jt::Document copy = d;                 // before positions exist
    EXPECT_EQ(d.where("f.json", "/rules/0/id"), "f.json:5: at /rules/0/id");
    jt::Document moved = std::move(copy);  // after
    jt::Document assigned;
    assigned = moved;
    EXPECT_EQ(moved.where("f.json", "/rules/0/id"), "f.json:5: at /rules/0/id");
    EXPECT_EQ(assigned.where("f.json", "/id"), "f.json:2: at /id");
    EXPECT_EQ(assigned.value, d.value);
}

TEST(JsonText, WhereFromSeveralThreads) {
    auto d = parsed(sample);
    std::vector<std::string> got(4);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < got.size(); ++i)
        threads.emplace_back([&, i] { got[i] = d.where("f.json", "/rules/0/check/args/list/1"); });
    for (auto& t : threads) t.join();
    for (const auto& g : got) EXPECT_EQ(g, "f.json:7: at /rules/0/check/args/list/1");
}

TEST(JsonText, LargeDocumentsRoundTripLikeNlohmann) {
    auto text = jt::read_file(std::string(PLUMB_TEST_SOURCE_DIR) + "/baselines/cis.json");
    ASSERT_TRUE(text.has_value()) << text.error().message;
    auto d = parsed(*text);
    EXPECT_EQ(d.value, json::parse(*text, nullptr, true, /*ignore_comments=*/true));

    // Every kind of value, escapes, comments and nesting near the limit.
    std::string big = "// generated\n[";
    for (int i = 0; i < 2000; ++i) {
        big += (i ? ",\n" : "") + std::string("{\"i\": ") + std::to_string(i) + ", \"neg\": -" + std::to_string(i) +
               ", \"u\": 18446744073709551615, \"f\": 1.5e-3, \"t\": true, \"n\": null, /* c */ \"s\": \"\\u00e9\\n\\\"" +
               std::to_string(i) + "\", \"e\": {}, \"a\": [[], [1, [2, {\"k\": \"v\"}]]]}";
    }
    big += ", " + nested_arrays(jt::max_nesting - 1) + "]";
    auto b = parsed(big);
    EXPECT_EQ(b.value, json::parse(big, nullptr, true, true));
    EXPECT_EQ(b.where("f.json", "/1999/a/1/1/1/k"), "f.json:2001: at /1999/a/1/1/1/k");
}

}  // namespace
