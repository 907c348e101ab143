#pragma once
// Support for the TLS black-box tests: a PKI made at test time by make_test_certs.sh (the openssl
// command), and an OTLP/HTTP receiver that serves HTTPS with our own http::Server.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/tls.hpp"
#include "support/temp_dir.hpp"

namespace taskman::testing::tls {

// ca, other-ca, server (localhost + 127.0.0.1), wrong-host (wrong.example), client: NAME.pem/NAME.key
// in a fresh directory. Throws std::runtime_error when the openssl command fails.
class TestPki {
 public:
  TestPki();
  std::string pem(const std::string& name) const { return dir_.file(name + ".pem"); }
  std::string key(const std::string& name) const { return dir_.file(name + ".key"); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
};

// POST /v1/traces over TLS on 127.0.0.1 (port 0): stores each body and answers 200.
class TlsOtlpReceiver {
 public:
  explicit TlsOtlpReceiver(http::TlsServerSettings tls);
  ~TlsOtlpReceiver();
  TlsOtlpReceiver(const TlsOtlpReceiver&) = delete;
  TlsOtlpReceiver& operator=(const TlsOtlpReceiver&) = delete;

  std::uint16_t port() const;
  std::vector<std::string> bodies() const;
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace taskman::testing::tls
