// A JSON Schema validator for the subset of draft 2020-12 that plumb's schemas and module argument schemas use:
// type, enum, const, properties, required, additionalProperties, patternProperties, propertyNames, items,
// prefixItems, minItems, maxItems, uniqueItems, minLength, maxLength, pattern, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties, maxProperties, allOf, anyOf, oneOf, not, if/then/else,
// $ref to "#/$defs/..." (and "#"), $defs, format "date" (checked), and annotations (title, description,
// default, examples, $schema, $id, $comment) ignored. Any other keyword is rejected when compiling, so a schema
// never silently means less than it says.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/error.hpp"

namespace plumb {

struct SchemaViolation {
    std::string pointer;  // JSON pointer into the instance ("" for the root)
    std::string message;  // what was expected, e.g. "expected one of \"persistent\", \"volatile\"; got \"disk\""
};

class JsonSchema {
public:
    static Result<JsonSchema> compile(const nlohmann::json& schema);
    // Empty when the instance is valid. The most specific violations come first.
    std::vector<SchemaViolation> validate(const nlohmann::json& instance) const;

private:
    nlohmann::json schema_;
};

}  // namespace plumb
