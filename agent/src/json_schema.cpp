// JSON Schema (draft 2020-12 subset) compiler and validator. See json_schema.hpp for the supported keywords.
//
// A schema is compiled once into a graph of Nodes owned by JsonSchema::Compiled; $ref edges are raw pointers into
// that same arena, so recursive schemas ("#" or a $defs entry referring to itself) need no reference counting.
#include "plumb/json_schema.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <mutex>
#include <regex>
#include <unordered_map>
#include <set>

#include "json_text.hpp"

namespace plumb {

namespace schema_detail {

enum TypeBits : unsigned {
    t_null = 1u << 0,
    t_boolean = 1u << 1,
    t_object = 1u << 2,
    t_array = 1u << 3,
    t_number = 1u << 4,
    t_string = 1u << 5,
    t_integer = 1u << 6,
};

struct Node;

struct Pattern {
    std::string source;
    std::shared_ptr<const std::regex> re;  // shared by every schema using the same source (see compiled_regex)
};

// Compiling a std::regex is costly (each bracket expression builds a 256-entry cache) and the same patterns recur
// across module argument schemas and baselines: each source is compiled once per process.
std::shared_ptr<const std::regex> compiled_regex(const std::string& source) {
    static std::mutex lock;
    static std::unordered_map<std::string, std::shared_ptr<const std::regex>> cache;
    std::lock_guard guard(lock);
    auto it = cache.find(source);
    if (it != cache.end()) return it->second;
    auto re = std::make_shared<const std::regex>(source, std::regex::ECMAScript);  // throws regex_error
    cache.emplace(source, re);
    return re;
}

struct PatternProperty {
    Pattern pattern;
    const Node* schema = nullptr;
};

struct Node {
    std::string location;               // "#/properties/x", for messages and $ref resolution
    std::optional<bool> constant;       // boolean schema true/false
    unsigned types = 0;                 // 0 = no "type" keyword
    std::optional<nlohmann::json> const_value;
    std::optional<std::vector<nlohmann::json>> enum_values;
    std::vector<std::pair<std::string, const Node*>> properties;
    std::vector<std::string> required;
    const Node* additional = nullptr;
    std::vector<PatternProperty> pattern_properties;
    const Node* property_names = nullptr;
    std::vector<const Node*> prefix_items;
    const Node* items = nullptr;
    std::optional<std::uint64_t> min_items, max_items, min_length, max_length, min_properties, max_properties;
    bool unique_items = false;
    std::optional<Pattern> pattern;
    std::optional<nlohmann::json> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
    std::vector<const Node*> all_of, any_of, one_of;
    const Node* not_ = nullptr;
    const Node* if_ = nullptr;
    const Node* then_ = nullptr;
    const Node* else_ = nullptr;
    std::string ref;                    // "$ref" as written
    const Node* ref_target = nullptr;
    bool format_date = false;
};

}  // namespace schema_detail

using schema_detail::Node;
using schema_detail::Pattern;
using schema_detail::PatternProperty;
using nlohmann::json;

struct JsonSchema::Compiled {
    std::vector<std::unique_ptr<Node>> nodes;
    const Node* root = nullptr;
};

namespace {

using json_text::escape_pointer_token;
using json_text::quote;

std::string join_quoted(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ", ";
        out += quote(n);
    }
    return out;
}

const char* type_name(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "null";
        case json::value_t::boolean: return "boolean";
        case json::value_t::object: return "object";
        case json::value_t::array: return "array";
        case json::value_t::string: return "string";
        case json::value_t::number_integer:
        case json::value_t::number_unsigned: return "integer";
        case json::value_t::number_float: return "number";
        default: return "value";
    }
}

bool is_integral(const json& v) {
    if (v.is_number_integer()) return true;  // includes unsigned
    if (!v.is_number_float()) return false;
    double d = v.get<double>();
    return std::isfinite(d) && std::trunc(d) == d;
}

// Exact for two integers, long double otherwise.
int compare_numbers(const json& a, const json& b) {
    if (a.is_number_integer() && b.is_number_integer()) {
        auto wide = [](const json& v) -> __int128 {
            return v.is_number_unsigned() ? static_cast<__int128>(v.get<std::uint64_t>())
                                          : static_cast<__int128>(v.get<std::int64_t>());
        };
        __int128 x = wide(a), y = wide(b);
        return x < y ? -1 : (x > y ? 1 : 0);
    }
    long double x = a.get<long double>(), y = b.get<long double>();
    return x < y ? -1 : (x > y ? 1 : 0);
}

bool is_multiple_of(const json& value, const json& divisor) {
    if (value.is_number_integer() && divisor.is_number_integer()) {
        __int128 x = value.is_number_unsigned() ? static_cast<__int128>(value.get<std::uint64_t>())
                                                : static_cast<__int128>(value.get<std::int64_t>());
        __int128 m = divisor.is_number_unsigned() ? static_cast<__int128>(divisor.get<std::uint64_t>())
                                                  : static_cast<__int128>(divisor.get<std::int64_t>());
        return x % m == 0;
    }
    // Same rule as the reference implementations: the quotient must be a finite whole number.
    double q = value.get<double>() / divisor.get<double>();
    return std::isfinite(q) && std::trunc(q) == q;
}

std::size_t code_points(const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

bool is_date(const std::string& s) {
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
    for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
        if (s[i] < '0' || s[i] > '9') return false;
    int y = std::stoi(s.substr(0, 4)), m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
    if (m < 1 || m > 12 || d < 1) return false;
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int limit = days[m - 1] + (m == 2 && leap ? 1 : 0);
    return d <= limit;
}

std::string percent_decode(std::string_view s, bool& ok) {
    std::string out;
    ok = true;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            ok = false;
            return out;
        }
        out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
    }
    return out;
}

class Compiler {
public:
    explicit Compiler(JsonSchema::Compiled& out) : out_(out) {}

    const Node* compile(const json& s, const std::string& loc) {
        if (!error_.empty()) return nullptr;
        auto node = std::make_unique<Node>();
        Node* n = node.get();
        n->location = loc;
        out_.nodes.push_back(std::move(node));
        by_location_.emplace(loc, n);
        if (s.is_boolean()) {
            n->constant = s.get<bool>();
            return n;
        }
        if (!s.is_object()) return fail(loc, "expected a schema (object or boolean); got " + describe_json_value(s));
        for (const auto& [key, value] : s.items()) {
            if (!keyword(*n, key, value, loc + "/" + escape_pointer_token(key))) return nullptr;
        }
        return error_.empty() ? n : nullptr;
    }

    // Resolves every $ref once all locations are known.
    bool link() {
        for (auto& owned : out_.nodes) {
            Node& n = *owned;
            if (n.ref.empty()) continue;
            bool ok = false;
            std::string target = percent_decode(n.ref, ok);
            if (!ok) return fail(n.location + "/$ref", "malformed percent-encoding in $ref " + quote(n.ref)), false;
            auto it = by_location_.find(target);
            if (it == by_location_.end())
                return fail(n.location + "/$ref", "$ref " + quote(n.ref) + " does not point at a subschema"), false;
            n.ref_target = it->second;
        }
        return true;
    }

    const std::string& error() const { return error_; }

private:
    const Node* fail(const std::string& loc, std::string message) {
        if (error_.empty()) error_ = "at " + loc + ": " + std::move(message);
        return nullptr;
    }

    const Node* sub(const json& s, const std::string& loc) { return compile(s, loc); }

    bool schema_list(const json& v, const std::string& loc, std::vector<const Node*>& out) {
        if (!v.is_array() || v.empty()) return fail(loc, "expected a non-empty array of schemas"), false;
        for (std::size_t i = 0; i < v.size(); ++i) {
            const Node* c = sub(v[i], loc + "/" + std::to_string(i));
            if (!c) return false;
            out.push_back(c);
        }
        return true;
    }

    bool count(const json& v, const std::string& loc, std::optional<std::uint64_t>& out) {
        if (!is_integral(v) || v.get<double>() < 0)
            return fail(loc, "expected a non-negative integer; got " + describe_json_value(v)), false;
        out = v.get<std::uint64_t>();
        return true;
    }

    bool number(const json& v, const std::string& loc, std::optional<json>& out) {
        if (!v.is_number()) return fail(loc, "expected a number; got " + describe_json_value(v)), false;
        out = v;
        return true;
    }

    bool regex(const json& v, const std::string& loc, Pattern& out) {
        if (!v.is_string()) return fail(loc, "expected a regular expression string"), false;
        try {
            out.source = v.get<std::string>();
            out.re = schema_detail::compiled_regex(out.source);
        } catch (const std::regex_error& e) {
            return fail(loc, "invalid regular expression " + quote(out.source) + ": " + e.what()), false;
        }
        return true;
    }

    bool keyword(Node& n, const std::string& key, const json& v, const std::string& loc) {
        static const std::set<std::string, std::less<>> annotations = {
            "$schema", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
            "writeOnly"};
        if (annotations.contains(key)) return true;
        if (key == "$id") {
            // Below the root $id would change the base URI of $refs, which this validator does not model.
            if (loc.rfind('/') != 1) return fail(loc, "$id is only supported at the schema root"), false;
            return true;
        }
        if (key == "type") {
            static const std::map<std::string, unsigned, std::less<>> names = {
                {"null", schema_detail::t_null},     {"boolean", schema_detail::t_boolean},
                {"object", schema_detail::t_object}, {"array", schema_detail::t_array},
                {"number", schema_detail::t_number}, {"string", schema_detail::t_string},
                {"integer", schema_detail::t_integer}};
            auto add = [&](const json& t) {
                if (!t.is_string() || !names.contains(t.get<std::string>()))
                    return fail(loc, "unknown type " + describe_json_value(t)), false;
                n.types |= names.find(t.get<std::string>())->second;
                return true;
            };
            if (v.is_array()) {
                if (v.empty()) return fail(loc, "expected at least one type"), false;
                for (const auto& t : v)
                    if (!add(t)) return false;
                return true;
            }
            return add(v);
        }
        if (key == "enum") {
            if (!v.is_array()) return fail(loc, "expected an array"), false;
            n.enum_values = std::vector<json>(v.begin(), v.end());
            return true;
        }
        if (key == "const") return n.const_value = v, true;
        if (key == "properties" || key == "patternProperties" || key == "$defs") {
            if (!v.is_object()) return fail(loc, "expected an object of schemas"), false;
            for (const auto& [name, s] : v.items()) {
                std::string child = loc + "/" + escape_pointer_token(name);
                if (key == "patternProperties") {
                    PatternProperty pp;
                    if (!regex(json(name), child, pp.pattern)) return false;
                    if (!(pp.schema = sub(s, child))) return false;
                    n.pattern_properties.push_back(std::move(pp));
                } else {
                    const Node* c = sub(s, child);
                    if (!c) return false;
                    if (key == "properties") n.properties.emplace_back(name, c);
                }
            }
            return true;
        }
        if (key == "required") {
            if (!v.is_array()) return fail(loc, "expected an array of property names"), false;
            for (const auto& r : v) {
                if (!r.is_string()) return fail(loc, "expected property names; got " + describe_json_value(r)), false;
                n.required.push_back(r.get<std::string>());
            }
            return true;
        }
        if (key == "additionalProperties") return (n.additional = sub(v, loc)) != nullptr;
        if (key == "propertyNames") return (n.property_names = sub(v, loc)) != nullptr;
        if (key == "items") {
            if (v.is_array())
                return fail(loc, "\"items\" must be a single schema in draft 2020-12 (tuples use \"prefixItems\")"),
                       false;
            return (n.items = sub(v, loc)) != nullptr;
        }
        if (key == "prefixItems") return schema_list(v, loc, n.prefix_items);
        if (key == "minItems") return count(v, loc, n.min_items);
        if (key == "maxItems") return count(v, loc, n.max_items);
        if (key == "minLength") return count(v, loc, n.min_length);
        if (key == "maxLength") return count(v, loc, n.max_length);
        if (key == "minProperties") return count(v, loc, n.min_properties);
        if (key == "maxProperties") return count(v, loc, n.max_properties);
        if (key == "uniqueItems") {
            if (!v.is_boolean()) return fail(loc, "expected a boolean"), false;
            return n.unique_items = v.get<bool>(), true;
        }
        if (key == "pattern") {
            Pattern p;
            if (!regex(v, loc, p)) return false;
            n.pattern = std::move(p);
            return true;
        }
        if (key == "minimum") return number(v, loc, n.minimum);
        if (key == "maximum") return number(v, loc, n.maximum);
        if (key == "exclusiveMinimum") return number(v, loc, n.exclusive_minimum);
        if (key == "exclusiveMaximum") return number(v, loc, n.exclusive_maximum);
        if (key == "multipleOf") {
            if (!number(v, loc, n.multiple_of)) return false;
            if (v.get<double>() <= 0) return fail(loc, "expected a number greater than 0"), false;
            return true;
        }
        if (key == "allOf") return schema_list(v, loc, n.all_of);
        if (key == "anyOf") return schema_list(v, loc, n.any_of);
        if (key == "oneOf") return schema_list(v, loc, n.one_of);
        if (key == "not") return (n.not_ = sub(v, loc)) != nullptr;
        if (key == "if") return (n.if_ = sub(v, loc)) != nullptr;
        if (key == "then") return (n.then_ = sub(v, loc)) != nullptr;
        if (key == "else") return (n.else_ = sub(v, loc)) != nullptr;
        if (key == "$ref") {
            if (!v.is_string()) return fail(loc, "expected a string"), false;
            n.ref = v.get<std::string>();
            if (n.ref.empty() || n.ref[0] != '#')
                return fail(loc, "unsupported $ref " + quote(n.ref) + ": only local references (\"#...\") are supported"),
                       false;
            return true;
        }
        if (key == "format") {
            if (!v.is_string()) return fail(loc, "expected a string"), false;
            if (v.get<std::string>() != "date")
                return fail(loc, "unsupported format " + quote(v.get<std::string>()) + " (supported: \"date\")"), false;
            return n.format_date = true, true;
        }
        return fail(loc, "unsupported keyword " + quote(key)), false;
    }

    JsonSchema::Compiled& out_;
    std::map<std::string, const Node*, std::less<>> by_location_;
    std::string error_;
};

// A violation as expected/got, so that alternatives (anyOf/oneOf) can be merged into one message.
struct Violation {
    std::string pointer;
    std::string expected;
    std::string got;  // empty for a missing required property: "missing <expected>"
    std::string message() const { return got.empty() ? "missing " + expected : "expected " + expected + "; got " + got; }
};

std::size_t depth_of(const std::string& pointer) { return static_cast<std::size_t>(std::count(pointer.begin(), pointer.end(), '/')); }

std::string describe_types(unsigned types) {
    static const std::pair<unsigned, const char*> names[] = {
        {schema_detail::t_object, "object"}, {schema_detail::t_array, "array"},   {schema_detail::t_string, "string"},
        {schema_detail::t_integer, "integer"}, {schema_detail::t_number, "number"}, {schema_detail::t_boolean, "boolean"},
        {schema_detail::t_null, "null"}};
    std::vector<std::string> parts;
    for (const auto& [bit, name] : names)
        if (types & bit) parts.emplace_back(name);
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += i + 1 == parts.size() ? " or " : ", ";
        out += parts[i];
    }
    return out;
}

bool type_matches(unsigned types, const json& v) {
    using namespace schema_detail;
    switch (v.type()) {
        case json::value_t::null: return types & t_null;
        case json::value_t::boolean: return types & t_boolean;
        case json::value_t::object: return types & t_object;
        case json::value_t::array: return types & t_array;
        case json::value_t::string: return types & t_string;
        case json::value_t::number_integer:
        case json::value_t::number_unsigned:
        case json::value_t::number_float: return (types & t_number) || ((types & t_integer) && is_integral(v));
        default: return false;
    }
}

constexpr int max_depth = 256;  // guards against $ref cycles that never consume instance depth ({"$ref": "#"})

// A JSON pointer built only when a violation needs it: validating a valid document allocates no pointer strings.
struct Path {
    const Path* parent = nullptr;
    std::string_view key;                              // an object member (unescaped), or
    std::size_t index = static_cast<std::size_t>(-1);  // an array index
    std::string str() const {
        if (!parent) return "";
        return parent->str() + "/" + (index != static_cast<std::size_t>(-1) ? std::to_string(index) : escape_pointer_token(key));
    }
};

class Validator {
public:
    void run(const Node& n, const json& x, const Path& ptr, std::vector<Violation>& out, int depth) const {
        if (depth > max_depth) {
            out.push_back({ptr.str(), "schema recursion deeper than " + std::to_string(max_depth) + " levels at " + n.location, "a cycle"});
            return;
        }
        if (n.constant) {
            if (!*n.constant) out.push_back({ptr.str(), "nothing here (the schema at " + n.location + " is false)", describe_json_value(x)});
            return;
        }
        if (n.ref_target) run(*n.ref_target, x, ptr, out, depth + 1);
        if (n.types && !type_matches(n.types, x)) {
            out.push_back({ptr.str(), describe_types(n.types), std::string(type_name(x)) + " " + describe_json_value(x)});
            return;  // the remaining keywords would only repeat the type mismatch
        }
        if (n.const_value && !(*n.const_value == x))
            out.push_back({ptr.str(), describe_json_value(*n.const_value), describe_json_value(x)});
        if (n.enum_values && std::none_of(n.enum_values->begin(), n.enum_values->end(), [&](const json& e) { return e == x; })) {
            std::string list;
            for (const auto& e : *n.enum_values) list += (list.empty() ? "" : ", ") + describe_json_value(e);
            out.push_back({ptr.str(), (n.enum_values->size() == 1 ? "" : "one of ") + list, describe_json_value(x)});
        }
        if (x.is_object()) object(n, x, ptr, out, depth);
        if (x.is_array()) array(n, x, ptr, out, depth);
        if (x.is_string()) string(n, x.get_ref<const std::string&>(), x, ptr, out);
        if (x.is_number()) number(n, x, ptr, out);
        for (const Node* c : n.all_of) run(*c, x, ptr, out, depth + 1);
        if (!n.any_of.empty()) alternatives(n.any_of, false, x, ptr, out, depth);
        if (!n.one_of.empty()) alternatives(n.one_of, true, x, ptr, out, depth);
        if (n.not_ && passes(*n.not_, x, ptr, depth))
            out.push_back({ptr.str(), "a value that does not match the schema at " + n.not_->location, describe_json_value(x)});
        if (n.if_) {
            if (passes(*n.if_, x, ptr, depth)) {
                if (n.then_) run(*n.then_, x, ptr, out, depth + 1);
            } else if (n.else_) {
                run(*n.else_, x, ptr, out, depth + 1);
            }
        }
    }

    bool passes(const Node& n, const json& x, const Path& ptr, int depth) const {
        std::vector<Violation> tmp;
        run(n, x, ptr, tmp, depth + 1);
        return tmp.empty();
    }

private:
    // minProperties/maxProperties, minItems/maxItems, minLength/maxLength: "at least 2 items", got `got`.
    template <class Got>  // Got() describes the value: only called for a violation
    static void bounds(std::size_t count, const std::optional<std::uint64_t>& min, const std::optional<std::uint64_t>& max,
                       const char* one, const char* many, const Path& ptr, const Got& got, std::vector<Violation>& out) {
        auto phrase = [&](std::uint64_t n) { return std::to_string(n) + " " + (n == 1 ? one : many); };
        if (min && count < *min) out.push_back({ptr.str(), "at least " + phrase(*min), got()});
        if (max && count > *max) out.push_back({ptr.str(), "at most " + phrase(*max), got()});
    }

    void object(const Node& n, const json& x, const Path& ptr, std::vector<Violation>& out, int depth) const {
        for (const auto& r : n.required)
            if (!x.contains(r)) out.push_back({ptr.str(), "required property " + quote(r), ""});
        bounds(x.size(), n.min_properties, n.max_properties, "property", "properties", ptr, [&] { return std::to_string(x.size()); }, out);
        for (const auto& [key, value] : x.items()) {
            const Path child{&ptr, key};
            bool matched = false;
            for (const auto& [name, s] : n.properties) {
                if (name == key) {
                    matched = true;
                    run(*s, value, child, out, depth + 1);
                }
            }
            for (const auto& pp : n.pattern_properties) {
                if (search(pp.pattern, key)) {
                    matched = true;
                    run(*pp.schema, value, child, out, depth + 1);
                }
            }
            if (!matched && n.additional) {
                if (n.additional->constant == false) {
                    std::vector<std::string> allowed;
                    for (const auto& p : n.properties) allowed.push_back(p.first);
                    std::string expected = allowed.empty() ? "no properties" : "one of the properties " + join_quoted(allowed);
                    for (const auto& pp : n.pattern_properties) expected += " or a name matching /" + pp.pattern.source + "/";
                    out.push_back({child.str(), expected, quote(key)});
                } else {
                    run(*n.additional, value, child, out, depth + 1);
                }
            }
            if (n.property_names) {
                std::vector<Violation> names;
                run(*n.property_names, json(key), child, names, depth + 1);
                for (auto& v : names) out.push_back({child.str(), "property name " + v.expected, v.got});
            }
        }
    }

    void array(const Node& n, const json& x, const Path& ptr, std::vector<Violation>& out, int depth) const {
        bounds(x.size(), n.min_items, n.max_items, "item", "items", ptr, [&] { return std::to_string(x.size()); }, out);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const Node* s = i < n.prefix_items.size() ? n.prefix_items[i] : n.items;
            if (s) run(*s, x[i], Path{&ptr, {}, i}, out, depth + 1);
        }
        if (n.unique_items) {
            for (std::size_t i = 0; i < x.size(); ++i)
                for (std::size_t j = i + 1; j < x.size(); ++j)
                    if (x[i] == x[j]) {
                        out.push_back({Path{&ptr, {}, j}.str(), "unique items",
                                       describe_json_value(x[j]) + " again (also at index " + std::to_string(i) + ")"});
                        return;
                    }
        }
    }

    static bool search(const Pattern& p, const std::string& s) {
        try {
            return std::regex_search(s, *p.re);
        } catch (const std::regex_error&) {
            return false;  // complexity/stack limits of std::regex: treat as no match rather than throw
        }
    }

    void string(const Node& n, const std::string& s, const json& x, const Path& ptr, std::vector<Violation>& out) const {
        std::size_t len = (n.min_length || n.max_length) ? code_points(s) : 0;
        if (n.min_length || n.max_length)
            bounds(len, n.min_length, n.max_length, "character", "characters", ptr, [&] { return describe_json_value(x); }, out);
        if (n.pattern && !search(*n.pattern, s))
            out.push_back({ptr.str(), "a string matching /" + n.pattern->source + "/", describe_json_value(x)});
        if (n.format_date && !is_date(s)) out.push_back({ptr.str(), "a calendar date YYYY-MM-DD", describe_json_value(x)});
    }

    void number(const Node& n, const json& x, const Path& ptr, std::vector<Violation>& out) const {
        auto check = [&](const std::optional<json>& bound, const char* op, auto ok) {
            if (bound && !ok(compare_numbers(x, *bound)))
                out.push_back({ptr.str(), std::string("a number ") + op + " " + bound->dump(), x.dump()});
        };
        check(n.minimum, ">=", [](int c) { return c >= 0; });
        check(n.maximum, "<=", [](int c) { return c <= 0; });
        check(n.exclusive_minimum, ">", [](int c) { return c > 0; });
        check(n.exclusive_maximum, "<", [](int c) { return c < 0; });
        if (n.multiple_of && !is_multiple_of(x, *n.multiple_of))
            out.push_back({ptr.str(), "a multiple of " + n.multiple_of->dump(), x.dump()});
    }

    void alternatives(const std::vector<const Node*>& alts, bool exactly_one, const json& x, const Path& ptr,
                      std::vector<Violation>& out, int depth) const {
        std::vector<std::vector<Violation>> failures(alts.size());
        std::vector<std::size_t> matching;
        for (std::size_t i = 0; i < alts.size(); ++i) {
            run(*alts[i], x, ptr, failures[i], depth + 1);
            if (failures[i].empty()) matching.push_back(i);
        }
        if (exactly_one && matching.size() > 1) {
            std::string which;
            for (auto i : matching) which += (which.empty() ? "" : ", ") + alts[i]->location;
            out.push_back({ptr.str(), "exactly one matching alternative", std::to_string(matching.size()) + " (" + which + ")"});
            return;
        }
        if (!matching.empty()) return;
        // The alternative whose failures reach deepest into the instance is most likely the one the author meant;
        // report its violations. If every alternative failed at this very value, merge them into one message.
        const std::string at = ptr.str();
        std::size_t here = depth_of(at), best = 0, best_depth = 0;
        for (std::size_t i = 0; i < failures.size(); ++i) {
            std::size_t d = 0;
            for (const auto& v : failures[i]) d = std::max(d, depth_of(v.pointer));
            if (d > best_depth || (d == best_depth && failures[i].size() < failures[best].size())) {
                best = i;
                best_depth = d;
            }
        }
        if (best_depth > here) {
            out.insert(out.end(), failures[best].begin(), failures[best].end());
            return;
        }
        std::string expected;
        for (const auto& f : failures) {
            std::string part;
            for (const auto& v : f) {
                if (v.pointer != at) continue;
                part += (part.empty() ? "" : " and ") + v.expected;
            }
            expected += (expected.empty() ? "" : " or ") + part;
        }
        out.push_back({at, expected, describe_json_value(x)});
    }
};

}  // namespace

std::string describe_json_value(const json& value, std::size_t max_chars) {
    std::string s = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (s.size() > max_chars) s = s.substr(0, max_chars) + "...";
    return s;
}

JsonSchema::JsonSchema() {
    static const std::shared_ptr<const Compiled> accept_all = [] {
        auto c = std::make_shared<Compiled>();
        auto n = std::make_unique<Node>();
        n->location = "#";
        n->constant = true;
        c->root = n.get();
        c->nodes.push_back(std::move(n));
        return c;
    }();
    compiled_ = accept_all;
}

Result<JsonSchema> JsonSchema::compile(const json& schema) {
    auto compiled = std::make_shared<Compiled>();
    Compiler compiler(*compiled);
    try {
        compiled->root = compiler.compile(schema, "#");
        if (compiled->root) compiler.link();
    } catch (const std::exception& e) {  // allocation failure, or a number conversion nlohmann refuses
        return fail_invalid(std::string("schema does not compile: ") + e.what());
    }
    if (!compiler.error().empty()) return fail_invalid("schema does not compile: " + compiler.error());
    return JsonSchema(std::move(compiled));
}

std::vector<SchemaViolation> JsonSchema::validate(const json& instance) const {
    std::vector<Violation> raw;
    Validator{}.run(*compiled_->root, instance, Path{}, raw, 0);
    std::stable_sort(raw.begin(), raw.end(),
                     [](const Violation& a, const Violation& b) { return depth_of(a.pointer) > depth_of(b.pointer); });
    std::vector<SchemaViolation> out;
    out.reserve(raw.size());
    for (const auto& v : raw) out.push_back({v.pointer, v.message()});
    return out;
}

}  // namespace plumb
