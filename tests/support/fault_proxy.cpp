#include "support/fault_proxy.hpp"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <utility>

#include "http/client.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"

namespace taskman::testing {

const char* fault_name(Fault::Kind kind) {
  switch (kind) {
    case Fault::Kind::kForward:
      return "forward";
    case Fault::Kind::kFail:
      return "fail";
    case Fault::Kind::kDelay:
      return "delay";
    case Fault::Kind::kHang:
      return "hang";
    case Fault::Kind::kMalformed:
      return "malformed";
    case Fault::Kind::kForwardThenFail:
      return "forward_then_fail";
  }
  return "";
}

namespace {

// Every REST shape of docs/api.md#endpoints: the router matches whole segments, so each needs its own
// template.
constexpr const char* kRoutes[] = {"/api/v1/tasks",      "/api/v1/tasks/next",
                                   "/api/v1/tasks/{id}", "/api/v1/tasks/{id}/comments",
                                   "/api/v1/projects",   "/api/v1/projects/{id}"};
constexpr const char* kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

// Per-connection headers (RFC 9110 §7.6.1) and framing are not passed along: each hop frames its own
// message (the client and server set Host and Content-Length themselves).
bool is_hop_header(std::string_view name) {
  static constexpr std::string_view kDrop[] = {
      "connection", "keep-alive", "transfer-encoding", "content-length",  "host",
      "upgrade",    "te",         "trailer",           "proxy-connection"};
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::find(std::begin(kDrop), std::end(kDrop), lower) != std::end(kDrop);
}

bool equals_ignore_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

http::Response problem(int status, const std::string& detail) {
  const std::string body = R"({"type":"about:blank","title":"injected fault","status":)" +
                           std::to_string(status) + R"(,"detail":")" + detail + R"("})";
  auto r = http::Response::json(status, body);
  r.headers.set("Content-Type", "application/problem+json");
  return r;
}

struct Rule {
  std::string method;
  std::string route;
  std::vector<Fault> sequence;
  bool repeat = false;
  std::size_t next = 0;
};

}  // namespace

struct FaultProxy::Impl : std::enable_shared_from_this<FaultProxy::Impl> {
  Impl(std::uint16_t upstream_port, std::string upstream_host)
      : sink(stderr, log::Level::kWarn, log::Format::kJson),
        logger("fault-proxy", sink),
        pool(1),
        client(pool, std::move(upstream_host), upstream_port) {}

  log::Sink sink;  // warnings only: the proxy's access log would drown the test output
  log::Logger logger;
  http::IoPool pool;
  http::HttpClient client;
  std::unique_ptr<http::Server> server;

  mutable std::mutex mu;  // guards everything below
  std::condition_variable cv;
  Fault fallback;
  std::vector<Rule> rules;
  std::vector<SeenRequest> requests;  // every request seen, in arrival order
  std::vector<std::shared_ptr<http::Responder>> held;
  bool stopping = false;

  // mu held. The fault for this request, consuming one step of the first matching rule.
  Fault pick(const std::string& method, const std::string& route) {
    for (auto it = rules.begin(); it != rules.end(); ++it) {
      if ((it->method != "*" && it->method != method) || (it->route != "*" && it->route != route)) continue;
      Fault f = it->sequence[it->next++];
      if (it->next == it->sequence.size()) {
        if (it->repeat) {
          it->next = 0;
        } else {
          rules.erase(it);
        }
      }
      return f;
    }
    return fallback;
  }

  void set_upstream_status(std::size_t index, int status) {
    {
      std::lock_guard lock(mu);
      requests[index].upstream_status = status;
    }
    cv.notify_all();
  }

  void handle(http::Request& req, http::Responder responder) {
    auto res = std::make_shared<http::Responder>(std::move(responder));
    Fault fault;
    std::size_t index = 0;
    {
      std::lock_guard lock(mu);
      fault = pick(req.method, req.route);
      SeenRequest s;
      s.method = req.method;
      s.path = req.path;
      s.route = req.route;
      s.idempotency_key = std::string(req.headers.get("Idempotency-Key").value_or(""));
      s.request_id = std::string(req.headers.get("X-Request-ID").value_or(""));
      s.traceparent = std::string(req.headers.get("traceparent").value_or(""));
      s.tracestate = std::string(req.headers.get("tracestate").value_or(""));
      s.applied = fault.kind;
      index = requests.size();
      requests.push_back(std::move(s));
      if (fault.kind == Fault::Kind::kHang && !stopping) held.push_back(res);
    }
    cv.notify_all();

    // The Request is only valid until the handler answers, so the forwarded copy is made now.
    http::ClientRequest out;
    out.method = req.method;
    out.target = req.target;
    out.body = req.body;
    // End-to-end headers go through untouched (X-Request-ID, Idempotency-Key, If-Match, Content-Type...).
    for (const auto& [k, v] : req.headers.items()) {
      if (!is_hop_header(k)) out.headers.add(k, v);
    }

    switch (fault.kind) {
      case Fault::Kind::kForward:
        forward(std::move(out), res, index, std::nullopt);
        return;
      case Fault::Kind::kForwardThenFail:
        forward(std::move(out), res, index, fault.status);
        return;
      case Fault::Kind::kDelay: {
        auto self = shared_from_this();
        auto shared_out = std::make_shared<http::ClientRequest>(std::move(out));
        pool.schedule(fault.delay, [self, shared_out, res, index] {
          self->forward(std::move(*shared_out), res, index, std::nullopt);
        });
        return;
      }
      case Fault::Kind::kFail: {
        http::Response r;
        if (fault.body == Fault::Body::kProblem) {
          r = problem(fault.status, std::string("the fault proxy answered ") + std::to_string(fault.status));
        } else if (fault.body == Fault::Body::kPlainText) {
          r = http::Response::text(fault.status, "upstream unavailable, try again later\n");
        } else {
          r = http::Response::empty(fault.status);
        }
        if (fault.retry_after_s) r.headers.set("Retry-After", std::to_string(*fault.retry_after_s));
        res->send(std::move(r));
        return;
      }
      case Fault::Kind::kMalformed: {
        http::Response r;
        r.status = fault.status;
        r.headers.set("Content-Type", "application/json");
        r.body = "<html><body>502 Bad Gateway (not JSON)</body>";
        res->send(std::move(r));
        return;
      }
      case Fault::Kind::kHang:
        // Held in `held` (answered by release_hung() or the destructor). If the proxy is already
        // stopping, the Responder's destructor answers 500 when `res` goes away here.
        return;
    }
  }

  // Sends `out` upstream and answers with what came back, or with `fail_status` once the backend
  // has answered (forward-then-fail); 502 when the backend could not be reached.
  void forward(http::ClientRequest out, std::shared_ptr<http::Responder> res, std::size_t index,
               std::optional<int> fail_status) {
    auto self = shared_from_this();
    client.send(
        std::move(out), std::chrono::seconds(10), [self, res, index, fail_status](http::ClientResult r) {
          self->set_upstream_status(index, r.ok() ? r.response.status : 0);
          if (!r.ok()) {
            res->send(problem(502, "the fault proxy could not reach the backend"));
            return;
          }
          if (fail_status) {
            res->send(problem(*fail_status, "the backend answered " + std::to_string(r.response.status) +
                                                "; the fault proxy reports " + std::to_string(*fail_status)));
            return;
          }
          http::Response back;
          back.status = r.response.status;
          // The proxy's server sets X-Request-ID on every answer itself (from the client's), so the
          // backend's copy is dropped rather than sent twice.
          for (const auto& [k, v] : r.response.headers.items()) {
            if (!is_hop_header(k) && !equals_ignore_case(k, "X-Request-ID")) back.headers.add(k, v);
          }
          back.body = std::move(r.response.body);
          res->send(std::move(back));
        });
  }

  std::size_t release(bool stop) {
    std::vector<std::shared_ptr<http::Responder>> to_answer;
    {
      std::lock_guard lock(mu);
      to_answer.swap(held);
      if (stop) stopping = true;
    }
    for (auto& r : to_answer) r->send(problem(504, "a held request was released by the fault proxy"));
    return to_answer.size();
  }
};

FaultProxy::FaultProxy(std::uint16_t upstream_port, std::string upstream_host)
    : impl_(std::make_shared<Impl>(upstream_port, std::move(upstream_host))) {
  http::Router router;
  // The handler holds the Impl weakly: the Impl owns the server, so a strong reference would be a cycle.
  std::weak_ptr<Impl> weak = impl_;
  for (const char* route : kRoutes) {
    for (const char* method : kMethods) {
      router.add(method, route, [weak](http::Request& req, http::Responder res) {
        if (auto impl = weak.lock()) impl->handle(req, std::move(res));
      });
    }
  }
  impl_->server =
      std::make_unique<http::Server>(impl_->pool, http::ServerOptions{}, std::move(router), impl_->logger);
  impl_->server->start();
  impl_->pool.start();
}

FaultProxy::~FaultProxy() {
  impl_->release(true);
  // Drain first so no connection coroutine is parked on the I/O context when it is destroyed.
  auto drained = std::make_shared<std::promise<void>>();
  auto done = drained->get_future();
  impl_->server->drain(std::chrono::seconds(2), [drained] { drained->set_value(); });
  // drain() also calls back when its timeout passes with connections left, hence the count.
  const bool clean = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready &&
                     impl_->server->open_connections() == 0;
  impl_->pool.stop();
  if (!clean) {
    std::fprintf(stderr, "[fault-proxy] a connection outlived the drain; the proxy's server is kept alive\n");
    // A connection outlived the drain: its coroutine frame still references the server and the pool,
    // so they are deliberately kept alive (leaked) rather than destroyed under it.
    new std::shared_ptr<Impl>(impl_);
  }
}

std::uint16_t FaultProxy::port() const { return impl_->server->port(); }

std::string FaultProxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(port()) + "/api/v1"; }

void FaultProxy::set_default(Fault fault) {
  std::lock_guard lock(impl_->mu);
  impl_->fallback = fault;
}

void FaultProxy::add_rule(std::string method, std::string route, std::vector<Fault> sequence, bool repeat) {
  if (sequence.empty()) return;
  std::lock_guard lock(impl_->mu);
  impl_->rules.push_back(Rule{std::move(method), std::move(route), std::move(sequence), repeat, 0});
}

void FaultProxy::heal() {
  std::lock_guard lock(impl_->mu);
  impl_->rules.clear();
  impl_->fallback = Fault::forward();
}

std::size_t FaultProxy::release_hung() { return impl_->release(false); }

std::size_t FaultProxy::total() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests.size();
}

std::size_t FaultProxy::count(std::string_view method, std::string_view path) const {
  std::lock_guard lock(impl_->mu);
  return static_cast<std::size_t>(
      std::count_if(impl_->requests.begin(), impl_->requests.end(),
                    [&](const SeenRequest& s) { return s.method == method && s.path == path; }));
}

std::size_t FaultProxy::count_applied(Fault::Kind kind) const {
  std::lock_guard lock(impl_->mu);
  return static_cast<std::size_t>(std::count_if(impl_->requests.begin(), impl_->requests.end(),
                                                [&](const SeenRequest& s) { return s.applied == kind; }));
}

std::vector<SeenRequest> FaultProxy::seen() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

bool FaultProxy::wait_until(const std::function<bool(const std::vector<SeenRequest>&)>& pred,
                            std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return pred(impl_->requests); });
}

}  // namespace taskman::testing
