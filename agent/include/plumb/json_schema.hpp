// A JSON Schema validator for the subset of draft 2020-12 that plumb's schemas and module argument schemas use:
// type, enum, const, properties, required, additionalProperties, patternProperties, propertyNames, items,
// prefixItems, minItems, maxItems, uniqueItems, minLength, maxLength, pattern, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties, maxProperties, allOf, anyOf, oneOf, not, if/then/else,
// $ref to "#/$defs/..." (and "#"), $defs, format "date" (checked), and annotations (title, description,
// default, examples, $schema, $id, $comment) ignored. Any other keyword is rejected when compiling, so a schema
// never silently means less than it says.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/error.hpp"

namespace plumb {

struct SchemaViolation {
    std::string pointer;  // JSON pointer into the instance ("" for the root)
    std::string message;  // what was expected, e.g. "expected one of \"persistent\", \"volatile\"; got \"disk\""
};

// Compiled once (patterns, $ref targets), then immutable: copies share the compiled form and validate() may run
// concurrently. A default-constructed JsonSchema accepts everything (the `true` schema).
class JsonSchema {
public:
    JsonSchema();
    // Errors name the schema location and the problem: "at #/properties/x: unsupported keyword \"contains\"".
    static Result<JsonSchema> compile(const nlohmann::json& schema);
    // Empty when the instance is valid. The most specific violations come first.
    std::vector<SchemaViolation> validate(const nlohmann::json& instance) const;
    bool accepts(const nlohmann::json& instance) const { return validate(instance).empty(); }

    struct Compiled;  // implementation detail of json_schema.cpp

private:
    explicit JsonSchema(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}
    std::shared_ptr<const Compiled> compiled_;
};

// Formats a JSON value for messages: compact, long values shortened with "...".
std::string describe_json_value(const nlohmann::json& value, std::size_t max_chars = 60);

}  // namespace plumb
