// The REST API through the real binary (`taskman api`): durability across kill -9, and the
// `taskman migrate` entry point.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

Process::Options api_options(const TempDir& dir) {
  Process::Options o;
  o.args = {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.path() + "/data/tasks.db"};
  o.cwd = dir.path();
  return o;
}

// SPEC §3: a 2xx answer means the change is committed and survives kill -9 of the server.
TEST(ApiBlackbox, AcknowledgedCreatesSurviveKill9) {
  TempDir dir;
  std::set<std::string> acked;
  {
    Process api(api_options(dir));
    const int port = api.wait_for_port("taskman-api");
    ASSERT_GT(port, 0);
    for (int i = 0; i < 50; ++i) {
      auto r = http(port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
                    R"({"title":"durable )" + std::to_string(i) + "\"}");
      ASSERT_EQ(r.status, 201) << r.body;
      acked.insert(json::parse(r.body)["id"].get<std::string>());
    }
    api.signal(SIGKILL);
    EXPECT_EQ(api.wait_exit(), 128 + SIGKILL);
  }
  Process again(api_options(dir));
  const int port = again.wait_for_port("taskman-api");
  ASSERT_GT(port, 0);
  std::set<std::string> found;
  std::string target = "/api/v1/tasks?limit=100";
  for (int page = 0; page < 10; ++page) {
    auto r = http(port, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    for (const auto& t : j["items"]) found.insert(t["id"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    target = "/api/v1/tasks?limit=100&cursor=" + j["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(found, acked);
}

TEST(ApiBlackbox, MigrateCreatesTheSchemaAndIsIdempotent) {
  TempDir dir;
  for (int i = 0; i < 2; ++i) {
    Process::Options o;
    o.args = {"migrate", "--database-url", "sqlite:" + dir.path() + "/m/tasks.db"};
    o.cwd = dir.path();
    Process m(o);
    EXPECT_EQ(m.wait_exit(), 0);
  }
  Process::Options bad;
  bad.args = {"migrate", "--database-url", "mysql://nope"};
  bad.cwd = dir.path();
  Process m(bad);
  EXPECT_NE(m.wait_exit(), 0);
}

}  // namespace
}  // namespace taskman::testing
