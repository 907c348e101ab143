// BackendClient against a real in-process HTTP server whose answers the test scripts.
#include "client/backend_client.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <future>

#include "http/server.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "tracing/tracer.hpp"

namespace taskman::client {
namespace {

using Json = nlohmann::json;

struct Scripted {
  int status;
  std::string body;
  std::map<std::string, std::string> headers;
};

class BackendClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    http::Router router;
    auto handler = [this](http::Request& req, http::Responder responder) {
      Scripted s{200, R"({"ok":true})", {}};
      {
        std::lock_guard lock(mu_);
        seen_.push_back(req);
        if (!script_.empty()) {
          s = script_.front();
          script_.pop_front();
        }
      }
      if (s.status == 0) {  // never answer: the client must time out
        std::lock_guard lock(mu_);
        parked_.push_back(std::move(responder));
        return;
      }
      http::Response r = http::Response::json(s.status, s.body);
      for (const auto& [k, v] : s.headers) r.headers.set(k, v);
      responder.send(std::move(r));
    };
    for (const char* m : {"GET", "POST", "PATCH", "DELETE"}) {
      router.add(m, "/api/v1/tasks", handler);
      router.add(m, "/api/v1/tasks/{id}", handler);
    }
    server_ = std::make_unique<http::Server>(pool_, http::ServerOptions{}, std::move(router), logger_);
    server_->start();
    pool_.start();
  }
  void TearDown() override {
    client_.reset();
    {
      std::lock_guard lock(mu_);
      parked_.clear();
    }
    // Drain before stopping the pool, so no server coroutine (which owns the acceptor) is left parked
    // on an I/O context to be destroyed after the context's socket service.
    auto drained = std::make_shared<std::promise<void>>();
    auto once = std::make_shared<std::atomic<bool>>(false);
    server_->drain(std::chrono::seconds(2), [drained, once] {
      if (!once->exchange(true)) drained->set_value();
    });
    drained->get_future().wait_for(std::chrono::seconds(5));
    pool_.stop();
  }
  void make_client(BackendClientOptions o = {}) {
    o.endpoint = "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/v1";
    o.retry.base_delay_ms = 1;
    o.retry.max_delay_ms = 2;
    o.breaker.volume_threshold = 100;  // keep the breaker out of the way unless a test wants it
    client_ = std::make_unique<BackendClient>(pool_, o, logger_, &metrics_);
  }
  Result<RestResult> call(RestCall c, RequestContext ctx = {}) {
    std::promise<Result<RestResult>> p;
    client_->call(ctx, std::move(c), [&p](Result<RestResult> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  void script(std::vector<Scripted> s) {
    std::lock_guard lock(mu_);
    script_.assign(s.begin(), s.end());
  }
  std::vector<http::Request> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  log::Sink sink_{stderr, log::Level::kError, log::Format::kJson};
  log::Logger logger_{"test", sink_};
  metrics::Metrics metrics_{"t", "t"};
  http::IoPool pool_{2};
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<BackendClient> client_;
  std::mutex mu_;
  std::deque<Scripted> script_;
  std::vector<http::Request> seen_;
  std::vector<http::Responder> parked_;
};

TEST_F(BackendClientTest, GetIsRetriedOn503UntilItSucceeds) {
  make_client();
  script({{503, "{}", {}}, {503, "{}", {}}, {200, R"({"id":"t1"})", {}}});
  RequestContext ctx;
  ctx.request_id = "rid-7";
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false}, ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body["id"], "t1");
  const auto s = seen();
  ASSERT_EQ(s.size(), 3u);  // exactly three attempts
  for (const auto& req : s) EXPECT_EQ(req.headers.get("X-Request-ID"), "rid-7");
  EXPECT_NE(metrics_.serialize().find("backend_retries_total{reason=\"status_503\"} 2"), std::string::npos);
}

TEST_F(BackendClientTest, PostWithoutIdempotencyKeyIsNeverRepeated) {
  make_client();
  script({{503, "{}", {}}, {200, "{}", {}}});
  auto r = call({"POST", "/tasks", {}, Json{{"title", "x"}}, std::nullopt, false});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(BackendClientTest, PostWithIdempotencyKeyIsRetriedWithTheSameKey) {
  make_client();
  script({{502, "{}", {}}, {201, R"({"id":"t9"})", {}}});
  auto r = call({"POST", "/tasks", {}, Json{{"title", "x"}}, std::nullopt, true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  const auto s = seen();
  ASSERT_EQ(s.size(), 2u);
  ASSERT_TRUE(s[0].headers.get("Idempotency-Key"));
  EXPECT_EQ(s[0].headers.get("Idempotency-Key"), s[1].headers.get("Idempotency-Key"));
  EXPECT_EQ(s[0].body, R"({"title":"x"})");
}

TEST_F(BackendClientTest, ClientErrorsAreNotRetried) {
  make_client();
  script({{404, R"({"detail":"no"})", {}}});
  auto r = call({"GET", "/tasks/x", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(BackendClientTest, IfMatchAndQueryAreSent) {
  make_client();
  (void)call({"PATCH", "/tasks/a%2Fb", {{"q", "a b&c"}}, Json{{"status", "done"}}, 4, false});
  const auto s = seen();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].headers.get("If-Match"), "\"4\"");
  EXPECT_EQ(s[0].target, "/api/v1/tasks/a%2Fb?q=a%20b%26c");
}

TEST_F(BackendClientTest, TimeoutsAreRetriedThenReported) {
  BackendClientOptions o;
  o.attempt_timeout = std::chrono::milliseconds(100);
  o.retry.max_retries = 1;
  make_client(o);
  script({{0, "", {}}, {0, "", {}}});
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("2 attempts"), std::string::npos) << r.error().message;
  EXPECT_EQ(seen().size(), 2u);
}

TEST_F(BackendClientTest, FailedReadIsAnsweredFromTheCacheAndWritesInvalidate) {
  make_client();
  script({{200, R"({"id":"t1","v":1})", {}}, {500, "{}", {}}});
  ASSERT_TRUE(call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false}).ok());
  auto stale = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(stale.ok());
  EXPECT_TRUE(stale->stale);
  EXPECT_EQ(stale->body["v"], 1);
  // A successful write to the task drops its cached answer.
  script({{200, R"({"id":"t1","v":2})", {}}, {500, R"({"detail":"down"})", {}}});
  ASSERT_TRUE(call({"PATCH", "/tasks/t1", {}, Json::object(), std::nullopt, false}).ok());
  auto after = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->stale);
  EXPECT_EQ(after->status, 500);
}

TEST_F(BackendClientTest, MalformedBodyIsAClearError) {
  make_client();
  script({{200, "<html>oops", {}}});
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("malformed"), std::string::npos);
}

// Status before body (what a load balancer in front of the API answers): the classification table.
TEST_F(BackendClientTest, Gateway502WithAnHtmlPageIsRetriedAndCountedAsAFailure) {
  make_client();
  script({{502, "<html><body><h1>502 Bad Gateway</h1></body></html>", {{"Content-Type", "text/html"}}},
          {200, R"({"id":"t1"})", {}}});
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body["id"], "t1");
  EXPECT_EQ(r->attempts, 2);
  EXPECT_EQ(seen().size(), 2u);
  EXPECT_EQ(client_->breaker().failures_in_window, 1);
  EXPECT_EQ(client_->breaker().calls_in_window, 2);
  EXPECT_NE(metrics_.serialize().find("backend_retries_total{reason=\"status_502\"} 1"), std::string::npos);
}

TEST_F(BackendClientTest, Gateway503InPlainTextIsRetriedAfterItsRetryAfter) {
  make_client();  // backoff of 1-2 ms: any longer wait is the Retry-After
  script(
      {{503, "upstream overloaded, come back later", {{"Content-Type", "text/plain"}, {"Retry-After", "1"}}},
       {200, R"({"id":"t1"})", {}}});
  const auto started = std::chrono::steady_clock::now();
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  const auto waited = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(seen().size(), 2u);
  EXPECT_GE(waited, std::chrono::milliseconds(1000));
  EXPECT_EQ(client_->breaker().failures_in_window, 1);
}

TEST_F(BackendClientTest, Gateway504WithAnEmptyBodyIsRetriedThenAnsweredWithItsStatusAndAHint) {
  BackendClientOptions o;
  o.retry.max_retries = 2;
  make_client(o);
  script({{504, "", {}}, {504, "", {}}, {504, "", {}}});
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 504);
  EXPECT_TRUE(r->body.is_null());
  EXPECT_EQ(r->attempts, 3);
  EXPECT_GE(r->retry_after_ms, 0);
  EXPECT_EQ(seen().size(), 3u);
  EXPECT_EQ(client_->breaker().failures_in_window, 3);
}

TEST_F(BackendClientTest, AGatewayFailureOfAReadIsAnsweredFromTheCache) {
  BackendClientOptions o;
  o.retry.max_retries = 2;
  make_client(o);
  script({{200, R"({"id":"t1","v":1})", {}},
          {502, "<html>Bad Gateway</html>", {{"Content-Type", "text/html"}}},
          {502, "<html>Bad Gateway</html>", {{"Content-Type", "text/html"}}},
          {502, "<html>Bad Gateway</html>", {{"Content-Type", "text/html"}}}});
  ASSERT_TRUE(call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false}).ok());
  auto stale = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(stale.ok()) << stale.error().message;
  EXPECT_TRUE(stale->stale);
  EXPECT_EQ(stale->body["v"], 1);
  EXPECT_NE(stale->retry_hint.find("502 Bad Gateway"), std::string::npos) << stale->retry_hint;
}

TEST_F(BackendClientTest, Other5xxAreFailuresButNotRetried) {
  make_client();
  script({{500, "<html>Internal Server Error</html>", {{"Content-Type", "text/html"}}}});
  auto r = call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(r->body.is_null());
  EXPECT_EQ(r->retry_after_ms, -1);
  EXPECT_EQ(seen().size(), 1u);
  EXPECT_EQ(client_->breaker().failures_in_window, 1);
}

TEST_F(BackendClientTest, ANon2xxJsonBodyThatIsNotJsonIsMalformedOnlyWhereItIsRead) {
  make_client();
  script({{201, "created!", {{"Content-Type", "text/plain"}}}});
  auto created = call({"POST", "/tasks", {}, Json::object(), std::nullopt, false});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("malformed answer (HTTP 201"), std::string::npos)
      << created.error().message;
  // A 4xx whose problem+json we would read must be JSON; a 4xx page of a proxy is just its status.
  script({{404, "{not json", {{"Content-Type", "application/problem+json"}}},
          {404, "<html>Not Found</html>", {{"Content-Type", "text/html"}}}});
  auto bad_problem = call({"GET", "/tasks/x", {}, std::nullopt, std::nullopt, false});
  ASSERT_FALSE(bad_problem.ok());
  EXPECT_NE(bad_problem.error().message.find("malformed"), std::string::npos);
  auto page = call({"GET", "/tasks/y", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->status, 404);
  EXPECT_TRUE(page->body.is_null());
}

TEST_F(BackendClientTest, A404ProblemIsAnAnswerNotAFailure) {
  make_client();
  script({{404,
           R"({"title":"Not Found","status":404,"detail":"no task x"})",
           {{"Content-Type", "application/problem+json"}}}});
  auto r = call({"GET", "/tasks/x", {}, std::nullopt, std::nullopt, false});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body["detail"], "no task x");
  EXPECT_EQ(seen().size(), 1u);
  EXPECT_EQ(client_->breaker().failures_in_window, 0);
  EXPECT_EQ(client_->breaker().calls_in_window, 1);
}

// Tracing off: the caller's context goes to the backend as it came (the OTel API without an SDK).
TEST_F(BackendClientTest, TheCallersTraceContextIsPassedOnByADisabledTracer) {
  make_client();
  tracing::Tracer disabled({.enabled = false});
  client_->set_tracer(&disabled);
  RequestContext ctx;
  ctx.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ctx.span_id = "00f067aa0ba902b7";
  ctx.trace_flags = 0x01;
  ctx.trace_state = "vendor=abc";
  ASSERT_TRUE(call({"GET", "/tasks/t1", {}, std::nullopt, std::nullopt, false}, ctx).ok());
  const auto s = seen();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].headers.get("traceparent"), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  EXPECT_EQ(s[0].headers.get("tracestate"), "vendor=abc");
}

TEST_F(BackendClientTest, OpenBreakerFailsFastWithARetryHint) {
  BackendClientOptions o;
  o.retry.max_retries = 0;
  make_client(o);
  // Rebuild with a low volume threshold so two failures open it.
  o.endpoint = "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/v1";
  o.breaker.volume_threshold = 2;
  o.breaker.reset_timeout_ms = 60'000;
  client_ = std::make_unique<BackendClient>(pool_, o, logger_, &metrics_);
  script({{503, "{}", {}}, {503, "{}", {}}});
  (void)call({"POST", "/tasks", {}, Json::object(), std::nullopt, false});
  (void)call({"POST", "/tasks", {}, Json::object(), std::nullopt, false});
  EXPECT_EQ(client_->breaker().state, resilience::BreakerState::kOpen);
  auto r = call({"POST", "/tasks", {}, Json::object(), std::nullopt, false});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("circuit open"), std::string::npos);
  EXPECT_GT(r.error().retry_after_ms, 50'000);
  EXPECT_EQ(seen().size(), 2u);  // the third call never reached the backend
  const auto text = metrics_.serialize();
  EXPECT_NE(text.find("circuit_breaker_state{state=\"open\"} 1"), std::string::npos);
  EXPECT_NE(text.find("circuit_breaker_rejections_total{reason=\"open\"} 1"), std::string::npos);
}

TEST(EndpointTemplate, BoundedLabels) {
  EXPECT_EQ(endpoint_template("/tasks"), "/tasks");
  EXPECT_EQ(endpoint_template("/tasks/abc"), "/tasks/{id}");
  EXPECT_EQ(endpoint_template("/tasks/next"), "/tasks/next");
  EXPECT_EQ(endpoint_template("/tasks/abc/comments"), "/tasks/{id}/comments");
  EXPECT_EQ(endpoint_template("/projects/p1"), "/projects/{id}");
  EXPECT_EQ(endpoint_template("/evil/../x"), "other");
  EXPECT_EQ(endpoint_template("/tasks/a/b/c"), "other");
}

}  // namespace
}  // namespace taskman::client
