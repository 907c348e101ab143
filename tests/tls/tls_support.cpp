#include "tls/tls_support.hpp"

#include <condition_variable>
#include <cstdlib>
#include <future>
#include <mutex>
#include <stdexcept>

#include "http/server.hpp"
#include "log/log.hpp"

namespace taskman::testing::tls {

TestPki::TestPki() {
  const std::string cmd = "sh '" TASKMAN_TLS_CERT_SCRIPT "' '" + dir_.path() + "'";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("cannot make the test certificates: " + cmd);
}

struct TlsOtlpReceiver::Impl {
  Impl() : sink(stderr, log::Level::kWarn, log::Format::kJson), logger("tls-otlp-receiver", sink), pool(1) {}
  log::Sink sink;  // warnings only (a failed handshake is one)
  log::Logger logger;
  http::IoPool pool;
  std::unique_ptr<http::Server> server;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> bodies;
};

TlsOtlpReceiver::TlsOtlpReceiver(http::TlsServerSettings tls) : impl_(std::make_shared<Impl>()) {
  http::Router router;
  std::weak_ptr<Impl> weak = impl_;
  router.add_sync("POST", "/v1/traces", [weak](http::Request& req) {
    auto impl = weak.lock();
    if (!impl) return http::Response::empty(503);
    {
      std::lock_guard lock(impl->mu);
      impl->bodies.push_back(req.body);
    }
    impl->cv.notify_all();
    http::Response r;
    r.status = 200;
    r.headers.set("Content-Type", "application/x-protobuf");
    return r;
  });
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.max_body_bytes = 16 << 20;
  o.tls = std::move(tls);
  impl_->server = std::make_unique<http::Server>(impl_->pool, o, std::move(router), impl_->logger);
  impl_->server->start();
  impl_->pool.start();
}

TlsOtlpReceiver::~TlsOtlpReceiver() {
  auto drained = std::make_shared<std::promise<void>>();
  auto done = drained->get_future();
  impl_->server->drain(std::chrono::seconds(2), [drained] { drained->set_value(); });
  const bool clean = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  impl_->pool.stop();
  if (!clean) new std::shared_ptr<Impl>(impl_);  // a connection frame still uses it: keep it alive
}

std::uint16_t TlsOtlpReceiver::port() const { return impl_->server->port(); }

std::vector<std::string> TlsOtlpReceiver::bodies() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bodies;
}

bool TlsOtlpReceiver::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->bodies.size() >= n; });
}

}  // namespace taskman::testing::tls
