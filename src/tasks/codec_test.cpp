// Decoding and validation: each rule can fail, and every failure names its field.
#include "tasks/codec.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace taskman::tasks {
namespace {

std::vector<std::string> fields_of(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.fields) out.push_back(f.field);
  return out;
}

std::vector<std::string> task_errors(std::string_view body, Mode mode = Mode::kCreate) {
  auto r = decode_task(body, mode);
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return fields_of(r.error());
}

using V = std::vector<std::string>;

TEST(Codec, MalformedJsonNamesThePosition) {
  auto r = decode_task(R"({"title": "x",})", Mode::kCreate);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("byte 15"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("column"), std::string::npos) << r.error().message;
  EXPECT_EQ(task_errors("[1,2]"), V{"body"});
  EXPECT_EQ(task_errors("\"x\""), V{"body"});
}

TEST(Codec, EveryTaskFieldIsValidated) {
  const std::string long201(201, 'a');
  EXPECT_EQ(task_errors("{}"), V{"title"});
  EXPECT_TRUE(task_errors("{}", Mode::kPatch).empty());
  EXPECT_EQ(task_errors(R"({"title":""})"), V{"title"});
  EXPECT_EQ(task_errors(R"({"title":"   "})"), V{"title"});
  EXPECT_EQ(task_errors(R"({"title":")" + long201 + "\"}"), V{"title"});
  EXPECT_TRUE(task_errors(R"({"title":")" + std::string(200, 'a') + "\"}").empty());
  // 200 characters of 2-byte UTF-8 are still 200 characters.
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\xC3\xA4";
  EXPECT_TRUE(task_errors(R"({"title":")" + umlauts + "\"}").empty());
  EXPECT_EQ(task_errors(R"({"title":1})"), V{"title"});
  EXPECT_EQ(task_errors(R"({"title":"x","description":")" + std::string(10001, 'd') + "\"}"),
            V{"description"});
  EXPECT_EQ(task_errors(R"({"title":"x","status":"open"})"), V{"status"});
  EXPECT_EQ(task_errors(R"({"title":"x","priority":"p1"})"), V{"priority"});
  EXPECT_EQ(task_errors(R"({"title":"x","assignee":")" + std::string(101, 'a') + "\"}"), V{"assignee"});
  EXPECT_EQ(task_errors(R"({"title":"x","labels":"a"})"), V{"labels"});
  EXPECT_EQ(task_errors(R"({"title":"x","labels":["a",""]})"), V{"labels[1]"});
  EXPECT_EQ(task_errors(R"({"title":"x","labels":["a","a"]})"), V{"labels[1]"});
  EXPECT_EQ(task_errors(R"({"title":"x","labels":[")" + std::string(51, 'l') + "\"]}"), V{"labels[0]"});
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 21; ++i) many.push_back("l" + std::to_string(i));
  EXPECT_EQ(task_errors(R"({"title":"x","labels":)" + many.dump() + "}"), V{"labels"});
  EXPECT_EQ(task_errors(R"({"title":"x","due_at":"tomorrow"})"), V{"due_at"});
  EXPECT_EQ(task_errors(R"({"title":"x","due_at":5})"), V{"due_at"});
  EXPECT_EQ(task_errors(R"({"title":"x","depends_on":["a b"]})"), V{"depends_on[0]"});
  EXPECT_EQ(task_errors(R"({"title":"x","depends_on":["a","a"]})"), V{"depends_on[1]"});
  EXPECT_EQ(task_errors(R"({"title":"x","project_id":7})"), V{"project_id"});
  EXPECT_EQ(task_errors(R"({"title":"x","parent_id":"../etc"})"), V{"parent_id"});
  EXPECT_EQ(task_errors(R"({"title":"x","colour":"red"})"), V{"colour"});
  EXPECT_EQ(task_errors(R"({"title":"x","version":3})"), V{"version"});
  EXPECT_EQ(task_errors(R"({"title":null})", Mode::kPatch), V{"title"});
}

TEST(Codec, CollectsAllFieldErrorsAtOnce) {
  auto fields = task_errors(R"({"title":"","status":"nope","priority":5,"labels":[1],"extra":true})");
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields, (V{"extra", "labels[0]", "priority", "status", "title"}));
}

TEST(Codec, NullClearsNullableFieldsInPatch) {
  auto r = decode_task(R"({"assignee":null,"due_at":null,"parent_id":null,"project_id":null})", Mode::kPatch);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->assignee.has_value());
  EXPECT_FALSE(r->assignee->has_value());
  ASSERT_TRUE(r->due_at.has_value());
  EXPECT_FALSE(r->due_at->has_value());
}

TEST(Codec, ProjectsAndComments) {
  auto p = decode_project(R"({"description":"x"})", Mode::kCreate);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(fields_of(p.error()), V{"name"});
  p = decode_project(
      R"({"name":")" + std::string(101, 'n') + R"(","description":")" + std::string(2001, 'd') + "\"}",
      Mode::kCreate);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(fields_of(p.error()), (V{"description", "name"}));
  auto c = decode_comment(R"({"author":"a"})");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(fields_of(c.error()), V{"body"});
  c = decode_comment(R"({"body":")" + std::string(10001, 'b') + R"(","author":")" + std::string(101, 'a') +
                     "\"}");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(fields_of(c.error()), (V{"author", "body"}));
  EXPECT_TRUE(decode_comment(R"({"body":"ok","author":null})").ok());
}

TEST(Codec, EncodesRfc3339AndNulls) {
  Task t;
  t.id = "abc";
  t.title = "t";
  t.created_at = t.updated_at = 1'700'000'000'123;
  t.completed_at = 1'700'000'000'123;
  t.status = TaskStatus::kDone;
  auto j = nlohmann::json::parse(encode_task(t));
  EXPECT_EQ(j["created_at"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(j["completed_at"], "2023-11-14T22:13:20.123Z");
  EXPECT_TRUE(j["due_at"].is_null());
  EXPECT_TRUE(j["project_id"].is_null());
  EXPECT_EQ(j["status"], "done");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j.size(), 15u);
}

TEST(Codec, ListQueryValidation) {
  auto bad = parse_task_list(
      {{"limit", "0"}, {"status", "x"}, {"sort", "title"}, {"foo", "1"}, {"due_before", "x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(fields_of(bad.error()), (V{"foo", "status", "due_before", "sort", "limit"}));
  EXPECT_FALSE(parse_task_list({{"limit", "101"}}).ok());
  EXPECT_FALSE(parse_task_list({{"limit", "5"}, {"limit", "6"}}).ok());
  EXPECT_FALSE(parse_task_list({{"q", "  "}}).ok());
  auto ok =
      parse_task_list({{"limit", "100"}, {"sort", "-updated_at"}, {"status", "todo"}, {"status", "done"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->page.limit, 100);
  EXPECT_TRUE(ok->descending);
  EXPECT_EQ(ok->filter.statuses.size(), 2u);
  EXPECT_EQ(parse_task_list({})->page.limit, kDefaultLimit);
}

// Found by fuzzing (fuzz/rest_body, fuzz/query): a date-time far from 1970 overflowed the clock
// (undefined behaviour) instead of being refused with a 400 naming the field.
TEST(Codec, DateTimesOutsideTheClockRangeAreRefusedByName) {
  EXPECT_EQ(task_errors(R"({"title":"x","due_at":"9005-01-01T00:00:00Z"})"), V{"due_at"});
  EXPECT_EQ(task_errors(R"({"title":"x","due_at":"1013-01-01T00:00:00Z"})"), V{"due_at"});
  auto bad = parse_task_list({{"due_before", "9005-01-01T00:00:00Z"}, {"due_after", "0001-01-01T00:00:00Z"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(fields_of(bad.error()), (V{"due_before", "due_after"}));
}

// Deep nesting overflowed the stack when the value was copied; refused up front, naming the body.
TEST(Codec, NestingDeeperThanTheLimitIsRefusedNamingTheBody) {
  const std::string deep =
      R"({"title":"x","labels":)" + std::string(200000, '[') + std::string(200000, ']') + "}";
  EXPECT_EQ(task_errors(deep), V{"body"});
  auto comment = decode_comment(R"({"body":)" + std::string(65, '[') + std::string(65, ']') + "}");
  ASSERT_FALSE(comment.ok());
  EXPECT_EQ(fields_of(comment.error()), V{"body"});
  EXPECT_NE(comment.error().message.find("nested deeper than 64"), std::string::npos);
}

// Found by fuzz/rest_body: a number whose exponent overflows made nlohmann::json throw out_of_range,
// which escaped the decoder (a 500 from the server) instead of a 400 naming the body.
TEST(Codec, NumbersOutOfRangeAreRefusedNamingTheBody) {
  EXPECT_EQ(task_errors(R"({"title":"x","priority":2233720368547758e720368547758})"), V{"body"});
  auto project = decode_project(R"({"name":1e99999999999999999999})", Mode::kCreate);
  ASSERT_FALSE(project.ok());
  EXPECT_EQ(fields_of(project.error()), V{"body"});
}

TEST(Codec, CursorRoundTripAndTampering) {
  const auto c = make_cursor("priority", store::KeysetPosition{2, "abc"});
  auto ok = parse_task_list({{"sort", "priority"}, {"cursor", c}});
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(ok->page.after.has_value());
  EXPECT_EQ(ok->page.after->key, 2);
  EXPECT_EQ(ok->page.after->id, "abc");
  for (std::string bad : {c + "!", c.substr(1), std::string("AAAA"), make_cursor("priority", {2, "a|b"})}) {
    auto r = parse_task_list({{"sort", "priority"}, {"cursor", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(fields_of(r.error()), V{"cursor"});
  }
}

TEST(Codec, IdsAreTimeSortable) {
  const auto a = new_id(1000), b = new_id(1001);
  EXPECT_LT(a, b);
  EXPECT_EQ(a.size(), 28u);
  EXPECT_TRUE(valid_id(a));
  EXPECT_FALSE(valid_id(""));
  EXPECT_FALSE(valid_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace taskman::tasks
