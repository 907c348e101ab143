#pragma once
// Checks a JSON value against a JSON Schema of the subset that tool inputSchemas use: type (one or
// a list), enum, anyOf, minLength, minimum, maximum, maxItems, items, properties, required and
// additionalProperties: false. Every problem is collected, each naming its path ("labels[2]",
// "filter.status"; "" is the value itself). Other keywords (maxLength, format, ...) are not
// checked here: the server behind the tool enforces them with its own messages.
#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace taskman::mcp {

// OK, or kInvalidArgument with one FieldError per problem and a message listing them all.
Status validate_against_schema(const nlohmann::json& schema, const nlohmann::json& value);

}  // namespace taskman::mcp
