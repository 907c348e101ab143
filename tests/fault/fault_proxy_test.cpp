// The fault proxy itself, against a real `taskman api`: the resilience tests are only as honest as
// the faults they inject, so each kind is checked here at the HTTP level.
#include <gtest/gtest.h>

#include <future>
#include <map>

#include "fault/fault_support.hpp"
#include "support/fault_proxy.hpp"

namespace taskman::testing::fault {
namespace {

class FaultProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<Process>(api_options(dir_));
    api_port_ = api_->wait_for_port("taskman-api");
    proxy_ = std::make_unique<FaultProxy>(static_cast<std::uint16_t>(api_port_));
  }
  HttpResponse create(const std::string& title, const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> h = {{"Content-Type", "application/json"}};
    h.insert(extra.begin(), extra.end());
    return http(proxy_->port(), "POST", "/api/v1/tasks", h, Json{{"title", title}}.dump());
  }

  TempDir dir_;
  std::unique_ptr<Process> api_;
  int api_port_ = 0;
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_F(FaultProxyTest, ForwardsRequestsAndHeadersBothWays) {
  auto r = create("through the proxy", {{"X-Request-ID", "proxy-test-1"}, {"Idempotency-Key", "\"k-1\""}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.headers["x-request-id"], "proxy-test-1");
  EXPECT_FALSE(r.headers["location"].empty());
  EXPECT_FALSE(r.headers["etag"].empty());
  const std::string id = Json::parse(r.body)["id"];
  // The same key and body again: the API replays, which it can only do if the key went through.
  auto again = create("through the proxy", {{"Idempotency-Key", "\"k-1\""}});
  ASSERT_EQ(again.status, 201) << again.body;
  EXPECT_EQ(Json::parse(again.body)["id"], id);
  auto got = http(proxy_->port(), "GET", "/api/v1/tasks/" + id);
  EXPECT_EQ(got.status, 200);
  // If-Match passes through: a wrong version is the API's 412, not the proxy's.
  auto patched = http(proxy_->port(), "PATCH", "/api/v1/tasks/" + id,
                      {{"Content-Type", "application/json"}, {"If-Match", "\"99\""}}, R"({"title":"x"})");
  EXPECT_EQ(patched.status, 412) << patched.body;

  EXPECT_EQ(proxy_->count("POST", "/api/v1/tasks"), 2u);
  EXPECT_EQ(proxy_->count("GET", "/api/v1/tasks/" + id), 1u);
  EXPECT_EQ(proxy_->count("PATCH", "/api/v1/tasks/" + id), 1u);
  EXPECT_EQ(proxy_->total(), 4u);
  const auto seen = proxy_->seen();
  EXPECT_EQ(seen[0].request_id, "proxy-test-1");
  EXPECT_EQ(seen[0].idempotency_key, "\"k-1\"");
  EXPECT_EQ(seen[0].route, "/api/v1/tasks");
  EXPECT_EQ(seen[2].route, "/api/v1/tasks/{id}");
  EXPECT_EQ(seen[0].upstream_status, 201);
  EXPECT_EQ(api_tasks(api_port_).size(), 1u);
}

TEST_F(FaultProxyTest, ScriptsRatiosAndFaultKinds) {
  proxy_->add_rule("GET", "/api/v1/tasks", {Fault::fail(503, 7), Fault::malformed()});
  auto failed = http(proxy_->port(), "GET", "/api/v1/tasks");
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(failed.headers["retry-after"], "7");
  auto garbage = http(proxy_->port(), "GET", "/api/v1/tasks");
  EXPECT_EQ(garbage.status, 200);
  EXPECT_TRUE(Json::parse(garbage.body, nullptr, false).is_discarded()) << garbage.body;
  EXPECT_EQ(http(proxy_->port(), "GET", "/api/v1/tasks").status, 200) << "the script is used up";

  // Forward-then-fail: the client sees 502, the backend committed.
  proxy_->add_rule("POST", "/api/v1/tasks", {Fault::forward_then_fail()});
  EXPECT_EQ(create("committed anyway").status, 502);
  EXPECT_EQ(api_tasks(api_port_).size(), 1u);

  // A ratio: every other request fails, whatever the route.
  proxy_->add_rule("*", "*", {Fault::fail(500), Fault::forward()}, /*repeat=*/true);
  std::vector<int> statuses;
  for (int i = 0; i < 4; ++i) statuses.push_back(http(proxy_->port(), "GET", "/api/v1/projects").status);
  EXPECT_EQ(statuses, (std::vector<int>{500, 200, 500, 200}));
  proxy_->heal();
  EXPECT_EQ(http(proxy_->port(), "GET", "/api/v1/projects").status, 200);
  EXPECT_EQ(proxy_->count_applied(Fault::Kind::kFail), 3u);
  EXPECT_EQ(proxy_->count_applied(Fault::Kind::kMalformed), 1u);
  EXPECT_EQ(proxy_->count_applied(Fault::Kind::kForwardThenFail), 1u);
}

TEST_F(FaultProxyTest, HangsUntilReleasedAndDelays) {
  proxy_->add_rule("GET", "/api/v1/tasks/{id}", {Fault::hang()});
  auto held = std::async(std::launch::async, [&] { return http(proxy_->port(), "GET", "/api/v1/tasks/t1"); });
  // Released only once the proxy has it (a condition variable, not a sleep).
  ASSERT_TRUE(proxy_->wait_until([](const auto& seen) { return seen.size() == 1; }));
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "answered while held";
  EXPECT_EQ(proxy_->release_hung(), 1u);
  EXPECT_EQ(held.get().status, 504);

  proxy_->add_rule("GET", "/api/v1/projects", {Fault::delay_then_forward(std::chrono::milliseconds(200))});
  const auto start = Clock::now();
  EXPECT_EQ(http(proxy_->port(), "GET", "/api/v1/projects").status, 200);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
}

}  // namespace
}  // namespace taskman::testing::fault
