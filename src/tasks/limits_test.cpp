// The vocabularies in tasks/limits.hpp are the ones the store and the codec actually use: each test
// would fail if a name were added, dropped or spelled differently in one place only.
#include "tasks/limits.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

#include "tasks/codec.hpp"

namespace taskman::tasks {
namespace {

TEST(Limits, StatusNamesAreTheStoresStatuses) {
  std::set<std::string> seen;
  for (std::string_view name : kStatusNames) {
    auto s = store::parse_status(name);
    ASSERT_TRUE(s) << name;
    EXPECT_EQ(store::to_string(*s), name);
    seen.insert(std::string(name));
  }
  // Every enumerator has a name in the table.
  for (auto s : {TaskStatus::kTodo, TaskStatus::kInProgress, TaskStatus::kBlocked, TaskStatus::kDone,
                 TaskStatus::kCancelled}) {
    EXPECT_TRUE(seen.count(store::to_string(s))) << store::to_string(s);
  }
}

TEST(Limits, PriorityNamesAreTheStoresPriorities) {
  std::set<std::string> seen;
  for (std::string_view name : kPriorityNames) {
    auto p = store::parse_priority(name);
    ASSERT_TRUE(p) << name;
    EXPECT_EQ(store::to_string(*p), name);
    seen.insert(std::string(name));
  }
  for (auto p : {Priority::kUrgent, Priority::kHigh, Priority::kMedium, Priority::kLow}) {
    EXPECT_TRUE(seen.count(store::to_string(p))) << store::to_string(p);
  }
}

TEST(Limits, TaskFieldsAreTheEncodedKeysInOrder) {
  Task t;
  t.id = "t1";
  t.title = "x";
  const auto j = nlohmann::ordered_json::parse(encode_task(t));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, std::vector<std::string>(kTaskFields.begin(), kTaskFields.end()));
}

TEST(Limits, EveryListParameterAndSortKeyIsAccepted) {
  for (std::string_view p : kTaskListParams) {
    auto r = parse_task_list({{std::string(p), "x"}});
    if (r) continue;
    for (const auto& f : r.error().fields) EXPECT_NE(f.message, "unknown query parameter") << p;
  }
  for (std::string_view key : kSortKeys) {
    EXPECT_TRUE(parse_task_list({{"sort", std::string(key)}})) << key;
    EXPECT_TRUE(parse_task_list({{"sort", "-" + std::string(key)}})) << key;
  }
  EXPECT_FALSE(parse_task_list({{"sorting", "x"}}));
}

TEST(Limits, TextLimitsAreTheCodecsLimits) {
  const auto title = [](std::size_t n) {
    return decode_task(R"({"title":")" + std::string(n, 'a') + R"("})", Mode::kCreate).ok();
  };
  EXPECT_TRUE(title(kTitle.max));
  EXPECT_FALSE(title(kTitle.max + 1));
  const auto labels = [](std::size_t n) {
    std::string body = R"({"title":"t","labels":[)";
    for (std::size_t i = 0; i < n; ++i) body += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
    return decode_task(body + "]}", Mode::kCreate).ok();
  };
  EXPECT_TRUE(labels(kLabelsMax));
  EXPECT_FALSE(labels(kLabelsMax + 1));
  EXPECT_TRUE(parse_page({{"limit", std::to_string(kMaxLimit)}}));
  EXPECT_FALSE(parse_page({{"limit", std::to_string(kMaxLimit + 1)}}));
  EXPECT_FALSE(parse_page({{"limit", std::to_string(kMinLimit - 1)}}));
}

}  // namespace
}  // namespace taskman::tasks
