#pragma once
// Internal to server.cpp and client.cpp (it pulls in Beast and OpenSSL): a TCP stream that is
// either plain or TLS, chosen at run time per connection, so the HTTP code is written once and
// instantiated once. Timeouts stay on the TCP layer (tcp().expires_after) for both.
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include <memory>
#include <optional>
#include <string>

#include "http/tls_context.hpp"

namespace taskman::http {

class MaybeTlsStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  explicit MaybeTlsStream(boost::asio::ip::tcp::socket s) : tcp_(std::move(s)) {}
  explicit MaybeTlsStream(const boost::asio::any_io_executor& ex) : tcp_(ex) {}

  // Wraps the connected socket in TLS; `ctx` is kept alive as long as this stream (a certificate
  // reload swaps the server's context for new connections only).
  void use_tls(std::shared_ptr<boost::asio::ssl::context> ctx) {
    ctx_ = std::move(ctx);
    tls_.emplace(tcp_, *ctx_);
  }
  bool is_tls() const { return tls_.has_value(); }
  boost::beast::ssl_stream<boost::beast::tcp_stream&>& tls() { return *tls_; }
  boost::beast::tcp_stream& tcp() { return tcp_; }
  executor_type get_executor() { return tcp_.get_executor(); }

  // Both branches initiate with the same completion signature, so they return the same type.
  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return tcp_.async_read_some(buffers, std::forward<Token>(token));
  }
  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return tcp_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  boost::beast::tcp_stream tcp_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream&>> tls_;
};

}  // namespace taskman::http
