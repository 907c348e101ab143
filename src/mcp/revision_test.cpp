#include "mcp/revision.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <stdexcept>

#include "mcp/server.hpp"

namespace taskman::mcp {
namespace {

TEST(Revision, TableIsNewestFirstWithDistinctIdsAndOrders) {
  const auto all = revisions();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, "2025-11-25");
  EXPECT_EQ(all[1].id, "2025-06-18");
  EXPECT_EQ(all[2].id, "2025-03-26");
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i - 1].order, all[i].order) << all[i].id;
  EXPECT_EQ(&latest_revision(), &all[0]);
  for (const auto& r : all) {
    EXPECT_TRUE(r.sessions) << r.id;
    EXPECT_TRUE(r.has_initialize) << r.id;
    EXPECT_EQ(find_revision(r.id), &r);
  }
}

TEST(Revision, NegotiationPicksTheRequestedRevisionOrTheLatest) {
  EXPECT_EQ(negotiate_revision("2025-11-25").id, "2025-11-25");
  EXPECT_EQ(negotiate_revision("2025-06-18").id, "2025-06-18");
  EXPECT_EQ(negotiate_revision("2025-03-26").id, "2025-03-26");
  // Older than any supported one, newer than any, or not a version at all: the latest.
  EXPECT_EQ(negotiate_revision("2024-11-05").id, "2025-11-25");
  EXPECT_EQ(negotiate_revision("2099-01-01").id, "2025-11-25");
  EXPECT_EQ(negotiate_revision("").id, "2025-11-25");
  EXPECT_EQ(negotiate_version("2024-11-05"), "2025-11-25");
  EXPECT_TRUE(is_supported_version("2025-06-18"));
  EXPECT_FALSE(is_supported_version("2024-11-05"));
  EXPECT_FALSE(is_supported_version("2025-11-25 "));
}

TEST(Revision, HeaderNamesARevisionAndItsAbsenceMeans20250326) {
  EXPECT_EQ(revision_for_header(std::nullopt)->id, "2025-03-26");
  EXPECT_EQ(revision_for_header("2025-06-18")->id, "2025-06-18");
  EXPECT_EQ(revision_for_header("2024-11-05"), nullptr);
  EXPECT_EQ(revision_for_header(""), nullptr);
}

TEST(Revision, FeaturesFollowTheRevisions) {
  EXPECT_TRUE(find_revision("2025-11-25")->has(Feature::kSsePriming));
  EXPECT_FALSE(find_revision("2025-06-18")->has(Feature::kSsePriming));
  EXPECT_FALSE(find_revision("2025-03-26")->has(Feature::kSsePriming));
  EXPECT_TRUE(find_revision("2025-06-18")->has(Feature::kStructuredOutput));
  EXPECT_FALSE(find_revision("2025-03-26")->has(Feature::kStructuredOutput));
  EXPECT_TRUE(find_revision("2025-06-18")->has(Feature::kElicitation));
  EXPECT_FALSE(find_revision("2025-03-26")->has(Feature::kElicitation));
  EXPECT_TRUE(find_revision("2025-03-26")->has(Feature::kToolAnnotations));
  EXPECT_TRUE(find_revision("2025-03-26")->has(Feature::kJsonRpcBatch));
  EXPECT_FALSE(find_revision("2025-11-25")->has(Feature::kJsonRpcBatch));
}

TEST(Revision, MethodsAreListedPerRevision) {
  for (const auto& r : revisions()) {
    EXPECT_TRUE(r.has_method("initialize")) << r.id;
    EXPECT_TRUE(r.has_method("tools/call")) << r.id;
    EXPECT_FALSE(r.has_method("server/discover")) << r.id;
    EXPECT_FALSE(r.has_method("tasks/get")) << r.id;
  }
  EXPECT_TRUE(is_known_method("completion/complete"));
  EXPECT_FALSE(is_known_method("nope/nope"));
  EXPECT_EQ(method_label("nope/nope"), "other");
  EXPECT_EQ(method_label("resources/templates/list"), "resources/templates/list");
}

struct Recorder : Exchange {
  void send_related(const Json&) override {}
  void finish(std::optional<Json> r) override { response = std::move(r); }
  std::optional<Json> response;
};

Json call(Server& server, const std::shared_ptr<Session>& s, Json id, const std::string& method,
          Json params) {
  auto ex = std::make_shared<Recorder>();
  server.handle(s, std::get<Message>(to_message(make_request(id, method, std::move(params)))), ex);
  return ex->response.value_or(Json());
}

// Every revision's session answers its methods and nothing else: a method outside the revision is
// -32601 in that revision, whatever the server registered.
TEST(Revision, EachNegotiatedRevisionDispatchesThroughItsOwnTable) {
  for (const auto& r : revisions()) {
    ServerOptions options;
    options.info = {"t", "1", ""};
    Server server(options);
    server.add_tool(Tool{.name = "echo"}, [](CallPtr, Json args, Reply<Json> reply) {
      reply(tool_result(Json::array({text_content(args.dump())})));
    });
    auto s = server.open_session("s");
    auto init = call(server, s, 1, "initialize", {{"protocolVersion", std::string(r.id)}});
    ASSERT_EQ(init["result"]["protocolVersion"], r.id) << init;
    ASSERT_EQ(s->revision(), &r);
    EXPECT_TRUE(call(server, s, 2, "tools/list", Json::object()).contains("result")) << r.id;
    EXPECT_TRUE(call(server, s, 3, "ping", nullptr).contains("result")) << r.id;
    for (const char* m : {"server/discover", "tasks/get", "subscriptions/listen"}) {
      ASSERT_FALSE(r.has_method(m));
      EXPECT_EQ(call(server, s, 4, m, Json::object())["error"]["code"], rpc::kMethodNotFound)
          << r.id << " " << m;
    }
  }
}

TEST(Revision, AssumedRevisionIsTheSessionsRevision) {
  Server server(ServerOptions{});
  auto s = server.open_session("s");
  EXPECT_EQ(s->revision(), nullptr);
  EXPECT_EQ(s->protocol_version(), "");
  s->assume_initialized(*find_revision("2025-06-18"));
  EXPECT_TRUE(s->initialized());
  EXPECT_EQ(s->protocol_version(), "2025-06-18");
  EXPECT_EQ(call(server, s, 1, "completion/complete", Json::object())["error"]["code"], rpc::kMethodNotFound);
  auto by_id = server.open_session("t");
  by_id->assume_initialized("2025-03-26");
  EXPECT_EQ(by_id->revision(), find_revision("2025-03-26"));
  EXPECT_THROW(by_id->assume_initialized("2024-11-05"), std::invalid_argument);
}

}  // namespace
}  // namespace taskman::mcp
