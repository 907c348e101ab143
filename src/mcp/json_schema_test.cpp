// The schema checker on its own: each keyword accepts what it should, refuses what it should, and
// every refusal names the path and says what was expected.
#include "mcp/json_schema.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace taskman::mcp {
namespace {

using Json = nlohmann::json;
using Problems = std::vector<std::pair<std::string, std::string>>;

Problems problems(const Json& schema, const Json& value) {
  auto st = validate_against_schema(schema, value);
  if (st.ok()) return {};
  EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  Problems out;
  for (const auto& f : st.error().fields) out.emplace_back(f.field, f.message);
  return out;
}

TEST(JsonSchema, TypesAcceptTheirOwnKindOnly) {
  EXPECT_TRUE(problems({{"type", "string"}}, "x").empty());
  EXPECT_TRUE(problems({{"type", "integer"}}, 3).empty());
  EXPECT_TRUE(problems({{"type", "number"}}, 2.5).empty());
  EXPECT_TRUE(problems({{"type", "boolean"}}, false).empty());
  EXPECT_TRUE(problems({{"type", "null"}}, nullptr).empty());
  EXPECT_EQ(problems({{"type", "integer"}}, 2.5), (Problems{{"", "must be integer"}}));
  EXPECT_EQ(problems({{"type", "string"}}, 1), (Problems{{"", "must be string"}}));
  EXPECT_EQ(problems({{"type", "array"}}, Json::object()), (Problems{{"", "must be array"}}));
}

TEST(JsonSchema, ATypeListAcceptsAnyOfItsTypes) {
  const Json schema = {{"type", {"string", "null"}}};
  EXPECT_TRUE(problems(schema, nullptr).empty());
  EXPECT_TRUE(problems(schema, "a").empty());
  EXPECT_EQ(problems(schema, 7), (Problems{{"", "must be string or null"}}));
}

TEST(JsonSchema, EnumListsTheAllowedValues) {
  const Json schema = {{"type", "string"}, {"enum", {"low", "high"}}};
  EXPECT_TRUE(problems(schema, "low").empty());
  EXPECT_EQ(problems(schema, "mid"), (Problems{{"", "must be one of low, high"}}));
}

TEST(JsonSchema, AnyOfReportsTheBranchOfTheValuesOwnType) {
  const Json schema = {{"anyOf", {{{"type", "string"}, {"minLength", 2}}, {{"type", "null"}}}}};
  EXPECT_TRUE(problems(schema, nullptr).empty());
  EXPECT_TRUE(problems(schema, "ab").empty());
  // A string that fails: the string branch's own message, not "must be string or null".
  EXPECT_EQ(problems(schema, "a"), (Problems{{"", "is too short"}}));
  // No branch of the value's type: which types would do.
  EXPECT_EQ(problems(schema, 3), (Problems{{"", "must be string or null"}}));
}

TEST(JsonSchema, MinLengthSaysEmptyOrShort) {
  const Json schema = {{"type", "string"}, {"minLength", 3}};
  EXPECT_EQ(problems(schema, ""), (Problems{{"", "must not be empty"}}));
  EXPECT_EQ(problems(schema, "ab"), (Problems{{"", "is too short"}}));
  EXPECT_TRUE(problems(schema, "abc").empty());
}

TEST(JsonSchema, IntegerBoundsAreInclusive) {
  const Json schema = {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}};
  EXPECT_TRUE(problems(schema, 1).empty());
  EXPECT_TRUE(problems(schema, 100).empty());
  EXPECT_EQ(problems(schema, 0), (Problems{{"", "must be at least 1"}}));
  EXPECT_EQ(problems(schema, 101), (Problems{{"", "must be at most 100"}}));
}

TEST(JsonSchema, ArraysCheckTheirSizeAndEveryItemByIndex) {
  const Json schema = {{"type", "array"}, {"maxItems", 2}, {"items", {{"type", "string"}}}};
  EXPECT_TRUE(problems(schema, Json::array({"a", "b"})).empty());
  EXPECT_EQ(problems(schema, Json::array({"a", "b", "c"})), (Problems{{"", "must have at most 2 items"}}));
  EXPECT_EQ(problems(schema, Json::array({"a", 1})), (Problems{{"[1]", "must be string"}}));
  EXPECT_EQ(
      problems(schema, Json::array({"a", 1, true})),
      (Problems{{"", "must have at most 2 items"}, {"[1]", "must be string"}, {"[2]", "must be string"}}));
}

TEST(JsonSchema, ObjectsNameUnknownMissingAndNestedProperties) {
  const Json schema = {{"type", "object"},
                       {"properties",
                        {{"id", {{"type", "string"}}},
                         {"filter",
                          {{"type", "object"},
                           {"properties", {{"tags", {{"type", "array"}, {"items", {{"type", "string"}}}}}}},
                           {"required", {"tags"}}}}}},
                       {"required", {"id"}},
                       {"additionalProperties", false}};
  EXPECT_TRUE(problems(schema, {{"id", "x"}}).empty());
  EXPECT_EQ(problems(schema, Json::object()), (Problems{{"id", "is required"}}));
  EXPECT_EQ(problems(schema, {{"id", "x"}, {"extra", 1}}), (Problems{{"extra", "is not a known argument"}}));
  EXPECT_EQ(problems(schema, {{"id", "x"}, {"filter", Json::object()}}),
            (Problems{{"filter.tags", "is required"}}));
  EXPECT_EQ(problems(schema, {{"id", "x"}, {"filter", {{"tags", {"a", 2}}}}}),
            (Problems{{"filter.tags[1]", "must be string"}}));
}

TEST(JsonSchema, AdditionalPropertiesAreAllowedUnlessForbidden) {
  const Json schema = {{"type", "object"}, {"properties", {{"id", {{"type", "string"}}}}}};
  EXPECT_TRUE(problems(schema, {{"id", "x"}, {"extra", 1}}).empty());
}

TEST(JsonSchema, CollectsEveryProblemAndListsThemInTheMessage) {
  const Json schema = {
      {"type", "object"},
      {"properties", {{"n", {{"type", "integer"}, {"maximum", 5}}}, {"s", {{"type", "string"}}}}},
      {"required", {"n", "s", "t"}},
      {"additionalProperties", false}};
  auto st = validate_against_schema(schema, {{"n", 9}, {"s", 1}, {"x", true}});
  ASSERT_FALSE(st.ok());
  ASSERT_EQ(st.error().fields.size(), 4u);
  EXPECT_EQ(
      st.error().message,
      "invalid arguments: n must be at most 5; s must be string; x is not a known argument; t is required");
}

TEST(JsonSchema, LeavesUncheckedKeywordsToTheServer) {
  // maxLength and format are published for clients but enforced by the backend with its own messages.
  EXPECT_TRUE(problems({{"type", "string"}, {"maxLength", 2}}, "abcdef").empty());
  EXPECT_TRUE(problems({{"type", "string"}, {"format", "date-time"}}, "not a time").empty());
}

}  // namespace
}  // namespace taskman::mcp
