#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "http/client.hpp"
#include "http/request_id.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace taskman::http {
namespace {

TEST(RequestId, AcceptsTheSpecAlphabetOnly) {
  EXPECT_TRUE(valid_request_id("abc-123_X.y:z+/="));
  EXPECT_TRUE(valid_request_id(std::string(128, 'a')));
  EXPECT_FALSE(valid_request_id(std::string(129, 'a')));
  EXPECT_FALSE(valid_request_id(""));
  EXPECT_FALSE(valid_request_id("has space"));
  EXPECT_FALSE(valid_request_id("new\nline"));
  EXPECT_FALSE(valid_request_id("quote\""));
  EXPECT_FALSE(valid_request_id("caf\xC3\xA9"));
  const auto id = new_request_id();
  EXPECT_TRUE(valid_request_id(id));
  EXPECT_NE(id, new_request_id());
}

TEST(Router, MatchesTemplatesAndDecodesParams) {
  Router router;
  int hit = 0;
  router.add_sync("GET", "/api/v1/tasks/next", [&](Request&) {
    hit = 1;
    return Response::empty(204);
  });
  router.add_sync("GET", "/api/v1/tasks/{id}", [&](Request&) {
    hit = 2;
    return Response::empty(200);
  });
  router.add_sync("DELETE", "/api/v1/tasks/{id}", [&](Request&) { return Response::empty(204); });
  Request req;
  req.method = "GET";
  req.path = "/api/v1/tasks/a%20b";
  auto m = router.match(req);
  ASSERT_NE(m.handler, nullptr);
  EXPECT_EQ(m.route, "/api/v1/tasks/{id}");
  EXPECT_EQ(req.path_param("id"), "a b");
  req.path = "/api/v1/tasks/next";
  m = router.match(req);
  EXPECT_EQ(m.route, "/api/v1/tasks/next");
  req.method = "PUT";
  req.path = "/api/v1/tasks/x";
  m = router.match(req);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.route, "/api/v1/tasks/{id}");
  EXPECT_EQ(m.allow, "GET, DELETE");
  req.path = "/nope";
  m = router.match(req);
  EXPECT_TRUE(m.route.empty());
}

TEST(Request, QueryParamsDecodeAndRepeat) {
  Request req;
  req.query = "status=todo&status=done&q=hello+world%21&empty=&flag";
  const auto qp = req.query_params();
  ASSERT_EQ(qp.size(), 5u);
  EXPECT_EQ(qp[1], (std::pair<std::string, std::string>{"status", "done"}));
  EXPECT_EQ(qp[2].second, "hello world!");
  EXPECT_EQ(qp[4].first, "flag");
}

TEST(Url, ParsesEndpoints) {
  auto u = parse_url("http://localhost:3001/api/v1/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 3001);
  EXPECT_EQ(u->base_path, "/api/v1");
  auto v6 = parse_url("http://[::1]:8080");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(parse_url("ftp://x"));
  EXPECT_FALSE(parse_url("http://host:0/"));
  auto tls = parse_url("https://collector.example/v1/traces");
  ASSERT_TRUE(tls);
  EXPECT_EQ(tls->scheme, "https");
  EXPECT_EQ(tls->port, 443) << "https defaults to 443";
  EXPECT_EQ(tls->base_path, "/v1/traces");
  auto tls_port = parse_url("https://127.0.0.1:8443");
  ASSERT_TRUE(tls_port);
  EXPECT_EQ(tls_port->port, 8443);
}

// Found by fuzz/url: brackets and colons outside [...] were taken into the host ("::1]"), and so were
// spaces and control characters (a CR LF in the Host header of every backend call).
TEST(Url, RefusesHostsThatAreNotNamesOrBracketedAddresses) {
  for (const char* bad :
       {"http://::1]:4318", "http://a:b:80/", "http://a]:80", "http://a[b]:80", "http://exa mple:80",
        "http://h\r\nX-Injected: 1:80", "http://h\x7f/", "http://[['1]:4318/", "http://[a]:80"}) {
    auto u = parse_url(bad);
    ASSERT_FALSE(u) << bad;
    EXPECT_EQ(u.error().fields.at(0).field, "url");
  }
  EXPECT_TRUE(parse_url("http://[fe80::1%25eth0]:80"));
  EXPECT_TRUE(parse_url("http://127.0.0.1:8081/api/v1"));
}

// A real server on a loopback port, talked to over raw sockets.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add_sync("GET", "/hello",
                     [](Request& r) { return Response::json(200, "{\"id\":\"" + r.ctx.request_id + "\"}"); });
    router_.add_sync("POST", "/echo", [](Request& r) { return Response::text(200, r.body); });
    router_.add("GET", "/slow", [this](Request&, Responder responder) {
      {
        std::lock_guard lock(slow_mu_);  // handlers run on I/O threads; TearDown clears on the test's
        slow_.push_back(std::move(responder));
      }
      slow_started_.set_value();
    });
    router_.add("GET", "/stream-held", [this](Request&, Responder responder) {
      held_stream_ = responder.stream(200, {});
      held_stream_->write("one\n");
      slow_started_.set_value();
    });
    router_.add("GET", "/stream", [](Request&, Responder responder) {
      auto s = responder.stream(200, {});
      std::thread([s] {
        s->write("one\n");
        s->write("two\n");
        s->close();
      }).detach();
    });
  }
  void start(ServerOptions opts = {}) {
    opts.port = 0;
    server_ = std::make_unique<Server>(pool_, opts, router_, logger_);
    server_->start();
    pool_.start();
  }
  void TearDown() override {
    {
      std::lock_guard lock(slow_mu_);
      slow_.clear();
    }
    // Drain before stopping the pool, so no server coroutine (which owns its socket) is left parked on
    // an I/O context that is then destroyed under it.
    if (server_) {
      auto drained = std::make_shared<std::promise<void>>();
      auto once = std::make_shared<std::atomic<bool>>(false);
      server_->drain(std::chrono::seconds(2), [drained, once] {
        if (!once->exchange(true)) drained->set_value();
      });
      drained->get_future().wait_for(std::chrono::seconds(5));
    }
    pool_.stop();
  }

  int connect_raw() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server_->port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  }
  static void send_all(int fd, const std::string& s) {
    ASSERT_EQ(::send(fd, s.data(), s.size(), 0), (ssize_t)s.size());
  }
  // Reads until the peer closes.
  static std::string read_all(int fd) {
    std::string out;
    char buf[4096];
    for (;;) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, n);
    }
    return out;
  }
  std::string roundtrip_close(const std::string& raw) {
    int fd = connect_raw();
    send_all(fd, raw);
    auto out = read_all(fd);
    ::close(fd);
    return out;
  }

  log::Sink sink_{stderr, log::Level::kWarn, log::Format::kJson};
  log::Logger logger_{"test", sink_};
  IoPool pool_{2};
  Router router_;
  std::unique_ptr<Server> server_;
  std::mutex slow_mu_;
  std::vector<Responder> slow_;
  std::shared_ptr<Stream> held_stream_;
  std::promise<void> slow_started_;
};

TEST_F(ServerTest, EchoesValidRequestIdAndReplacesInvalidOnes) {
  start();
  auto ok =
      roundtrip_close("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc-123\r\nConnection: close\r\n\r\n");
  EXPECT_NE(ok.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(ok.find("X-Request-ID: abc-123\r\n"), std::string::npos);
  auto bad =
      roundtrip_close("GET /hello HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\"b\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(bad.find("a\"b"), std::string::npos);
  EXPECT_NE(bad.find("X-Request-ID: "), std::string::npos);
}

TEST_F(ServerTest, NotFoundAndMethodNotAllowed) {
  start();
  auto nf = roundtrip_close("GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(nf.find("HTTP/1.1 404"), std::string::npos);
  EXPECT_NE(nf.find("application/problem+json"), std::string::npos);
  auto na = roundtrip_close("DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(na.find("HTTP/1.1 405"), std::string::npos);
  EXPECT_NE(na.find("Allow: GET"), std::string::npos);
}

TEST_F(ServerTest, BodyOverLimitIs413) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  start(o);
  auto r = roundtrip_close("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" +
                           std::string(2048, 'x'));
  EXPECT_NE(r.find("HTTP/1.1 413"), std::string::npos);
  auto fine = roundtrip_close(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
  EXPECT_NE(fine.find("hello"), std::string::npos);
}

class RecordingObserver : public RequestObserver {
 public:
  void on_request_start(Request&) override { ++started; }
  void on_request_end(const Request& req, int status, std::chrono::nanoseconds) override {
    std::lock_guard lock(mu);
    ended.emplace_back(req.route, status);
  }
  std::atomic<int> started{0};
  std::mutex mu;
  std::vector<std::pair<std::string, int>> ended;
};

TEST_F(ServerTest, ObserversSeeRejectedRequestsToo) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  o.port = 0;
  RecordingObserver observer;
  server_ = std::make_unique<Server>(pool_, o, router_, logger_);
  server_->add_observer(&observer);
  server_->start();
  pool_.start();
  roundtrip_close("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n" + std::string(2048, 'x'));
  roundtrip_close("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::lock_guard lock(observer.mu);
  EXPECT_EQ(observer.started, 2);
  EXPECT_EQ(observer.ended, (std::vector<std::pair<std::string, int>>{{"", 413}, {"/hello", 200}}));
}

TEST_F(ServerTest, OversizedHeadersAre431) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  start(o);
  auto r = roundtrip_close("GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 431"), std::string::npos);
}

TEST_F(ServerTest, IncompleteRequestIsDroppedAfterReadTimeout) {
  ServerOptions o;
  o.read_timeout = std::chrono::milliseconds(200);
  o.idle_timeout = std::chrono::seconds(60);
  start(o);
  // Headers never finish (slowloris): read_all returns only because the server closes the socket.
  auto r = roundtrip_close("GET /hello HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(r, "");
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions o;
  o.idle_timeout = std::chrono::milliseconds(200);
  start(o);
  int fd = connect_raw();
  EXPECT_EQ(read_all(fd), "");  // returns only because the server closed the idle connection
  ::close(fd);
}

TEST_F(ServerTest, StreamsChunks) {
  start();
  auto r = roundtrip_close("GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("Transfer-Encoding: chunked"), std::string::npos);
  EXPECT_NE(r.find("one\n"), std::string::npos);
  EXPECT_NE(r.find("two\n"), std::string::npos);
  EXPECT_NE(r.find("0\r\n\r\n"), std::string::npos);
}

// A close() that arrives on its own, after the last chunk went out, must still end the response.
TEST_F(ServerTest, StreamClosedSeparatelyEndsTheResponse) {
  start();
  int fd = connect_raw();
  send_all(fd, "GET /stream-held HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  slow_started_.get_future().wait();
  std::string got;
  char buf[4096];
  while (got.find("one\n") == std::string::npos) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    got.append(buf, n);
  }
  held_stream_->close();
  got += read_all(fd);  // returns only when the server ends the response and closes
  EXPECT_NE(got.find("0\r\n\r\n"), std::string::npos) << got;
  ::close(fd);
}

TEST_F(ServerTest, DrainFinishesInFlightRequestAndClosesIdle) {
  start();
  int idle_fd = connect_raw();
  int busy_fd = connect_raw();
  send_all(busy_fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  slow_started_.get_future().wait();
  std::promise<void> drained;
  server_->drain(std::chrono::seconds(30), [&] { drained.set_value(); });
  EXPECT_EQ(read_all(idle_fd), "");  // idle connection closed by the drain
  // The in-flight request still gets its answer, then the connection closes.
  pool_.post([this] {
    std::lock_guard lock(slow_mu_);
    slow_.back().send(Response::text(200, "finished"));
  });
  auto r = read_all(busy_fd);
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(r.find("finished"), std::string::npos);
  EXPECT_NE(r.find("Connection: close"), std::string::npos);
  drained.get_future().wait();
  EXPECT_EQ(server_->open_connections(), 0u);
  ::close(idle_fd);
  ::close(busy_fd);
}

TEST_F(ServerTest, BearerTokensGuardThePrefix) {
  ServerOptions o;
  o.bearer_tokens = {"0123456789abcdef", "another-token-here"};
  o.auth_path_prefix = "/echo";
  start(o);
  auto none =
      roundtrip_close("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
  EXPECT_NE(none.find("HTTP/1.1 401"), std::string::npos);
  EXPECT_NE(none.find("WWW-Authenticate: Bearer"), std::string::npos);
  auto wrong = roundtrip_close(
      "POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer 0123456789abcdeX\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\nhi");
  EXPECT_NE(wrong.find("HTTP/1.1 401"), std::string::npos);
  auto right = roundtrip_close(
      "POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: bearer another-token-here\r\n"
      "Content-Length: 2\r\nConnection: close\r\n\r\nhi");
  EXPECT_NE(right.find("HTTP/1.1 200"), std::string::npos);
  auto open = roundtrip_close("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(open.find("HTTP/1.1 200"), std::string::npos);  // outside the prefix
}

TEST_F(ServerTest, ClientKeepsConnectionsAlive) {
  start();
  HttpClient client(pool_, "127.0.0.1", server_->port());
  for (int i = 0; i < 5; ++i) {
    ClientRequest req;
    req.method = "POST";
    req.target = "/echo";
    req.body = "n" + std::to_string(i);
    auto r = client.send_sync(req, std::chrono::seconds(5));
    ASSERT_TRUE(r.ok()) << r.error_message;
    EXPECT_EQ(r.response.status, 200);
    EXPECT_EQ(r.response.body, req.body);
  }
  EXPECT_LE(server_->open_connections(), 2u);  // one pooled connection per I/O context at most
}

TEST_F(ServerTest, ClientTimesOut) {
  start();
  HttpClient client(pool_, "127.0.0.1", server_->port());
  ClientRequest req;
  req.target = "/slow";
  auto r = client.send_sync(req, std::chrono::milliseconds(100));
  EXPECT_EQ(r.error, TransportError::kTimeout);
}

TEST(Client, ConnectErrorWhenNothingListens) {
  IoPool pool(1);
  pool.start();
  // Bind then close a socket to get a port with no listener.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  HttpClient client(pool, "127.0.0.1", ntohs(a.sin_port));
  auto r = client.send_sync(ClientRequest{}, std::chrono::seconds(2));
  EXPECT_EQ(r.error, TransportError::kConnect);
  pool.stop();
}

}  // namespace
}  // namespace taskman::http

namespace taskman::http {
namespace {

TEST(IoPool, ScheduleRunsLaterOnAnIoThread) {
  IoPool pool(2);
  pool.start();
  std::promise<std::chrono::steady_clock::duration> ran;
  const auto start = std::chrono::steady_clock::now();
  pool.schedule(std::chrono::milliseconds(50),
                [&] { ran.set_value(std::chrono::steady_clock::now() - start); });
  EXPECT_GE(ran.get_future().get(), std::chrono::milliseconds(50));
  pool.stop();
}

}  // namespace
}  // namespace taskman::http
