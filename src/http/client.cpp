// Beast keep-alive client (docs/architecture.md#third-party-parts: Asio/Beast clients beat libcurl here).
#include "http/client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <charconv>
#include <future>

#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "http/tls_stream.hpp"

namespace taskman::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

Result<Url> parse_url(std::string_view url) {
  Url out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    out.scheme = "http";
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.scheme = "https";
    out.port = 443;
    rest = url.substr(8);
  } else {
    return Error::invalid("url", "expected http[s]://host[:port][/path], got " + std::string(url));
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  std::string_view host = authority;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return Error::invalid("url", "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return Error::invalid("url", "junk after IPv6 address");
      port_text = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return Error::invalid("url", "missing host in " + std::string(url));
  // Found by fuzz/url: "http://::1]:4318" was taken as host "::1]". Unbracketed hosts are names or IPv4.
  const bool bracketed = !authority.empty() && authority.front() == '[';
  if (!bracketed && host.find_first_of("[]:") != std::string_view::npos) {
    return Error::invalid("url",
                          "bad host in " + std::string(url) + " (an IPv6 address goes in brackets: [::1])");
  }
  for (unsigned char c : host) {
    if (c <= ' ' || c == 0x7f)
      return Error::invalid("url", "bad character in the host of " + std::string(url));
    // Inside brackets only an IPv6 address (hex, ':', '.') with an optional %zone.
    if (bracketed && !std::isalnum(c) && c != ':' && c != '.' && c != '%' && c != '_' && c != '-') {
      return Error::invalid("url", "bad IPv6 address in " + std::string(url));
    }
  }
  if (bracketed && host.find(':') == std::string_view::npos) {
    return Error::invalid("url", "bad IPv6 address in " + std::string(url));
  }
  out.host = std::string(host);
  if (!port_text.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
    if (ec != std::errc() || ptr != port_text.data() + port_text.size() || p == 0 || p > 65535) {
      return Error::invalid("url", "bad port in " + std::string(url));
    }
    out.port = static_cast<std::uint16_t>(p);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.base_path = std::string(path);
  return out;
}

namespace {

struct PooledConnection {
  explicit PooledConnection(asio::any_io_executor ex) : stream(ex) {}
  MaybeTlsStream stream;
  beast::flat_buffer buffer;
};

bool safe_to_resend(const ClientRequest& r) {
  return r.method == "GET" || r.method == "HEAD" || r.method == "PUT" || r.method == "DELETE" ||
         r.method == "OPTIONS" || r.headers.get("Idempotency-Key").has_value();
}

}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<HttpClient::Impl> {
  Impl(IoPool& p, std::string h, std::uint16_t po, ClientOptions o)
      : pool(p), host(std::move(h)), port(po), options(std::move(o)), idle(p.size()), endpoints(p.size()) {
    if (options.tls) tls = make_client_context(*options.tls);
  }

  IoPool& pool;
  std::string host;
  std::uint16_t port;
  ClientOptions options;
  std::shared_ptr<asio::ssl::context> tls;  // set for https
  // Per I/O context, touched only on that context's thread.
  std::vector<std::vector<std::unique_ptr<PooledConnection>>> idle;
  std::vector<tcp::resolver::results_type> endpoints;

  asio::io_context& ctx(std::size_t i) { return *static_cast<asio::io_context*>(pool.context(i)); }

  std::size_t current_index() {
    for (std::size_t i = 0; i < pool.size(); ++i) {
      if (ctx(i).get_executor().running_in_this_thread()) return i;
    }
    return pool.next_index();
  }

  // Nothing is sent before the peer proved its name: a failure here ends the exchange (no resend).
  asio::awaitable<bool> handshake(PooledConnection& conn, ClientResult& result) {
    conn.stream.use_tls(tls);
    auto* ssl = conn.stream.tls().native_handle();
    const std::string peer = host + ":" + std::to_string(port);
    if (!set_client_peer_name(ssl, host)) {
      result.error = TransportError::kConnect;
      result.error_message = "TLS handshake with " + peer + " failed: cannot set the expected host name";
      co_return false;
    }
    beast::error_code ec;
    co_await conn.stream.tls().async_handshake(asio::ssl::stream_base::client,
                                               asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) co_return true;
    result.error = ec == beast::error::timeout ? TransportError::kTimeout : TransportError::kConnect;
    result.error_message =
        "TLS handshake with " + peer +
        " failed: " + (ec == beast::error::timeout ? std::string("timed out") : tls_failure_reason(ec, ssl));
    co_return false;
  }

  asio::awaitable<ClientResult> exchange(std::size_t index, ClientRequest& req,
                                         std::chrono::steady_clock::time_point deadline) {
    ClientResult result;
    bool resent = false;
    for (;;) {
      std::unique_ptr<PooledConnection> conn;
      bool reused = false;
      if (!idle[index].empty()) {
        conn = std::move(idle[index].back());
        idle[index].pop_back();
        reused = true;
      } else {
        conn = std::make_unique<PooledConnection>(ctx(index).get_executor());
      }
      beast::error_code ec;
      auto remaining = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                     std::chrono::steady_clock::now());
      };
      if (remaining().count() <= 0) {
        result.error = TransportError::kTimeout;
        result.error_message = "deadline passed before the request was sent";
        co_return result;
      }
      if (!reused) {
        if (endpoints[index].empty()) {
          tcp::resolver resolver(ctx(index));
          auto res = co_await resolver.async_resolve(host, std::to_string(port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
          if (ec) {
            result.error = TransportError::kConnect;
            result.error_message = "cannot resolve " + host + ": " + ec.message();
            co_return result;
          }
          endpoints[index] = res;
        }
        conn->stream.tcp().expires_after(remaining());
        co_await conn->stream.tcp().async_connect(endpoints[index],
                                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          result.error = ec == beast::error::timeout ? TransportError::kTimeout : TransportError::kConnect;
          result.error_message =
              "cannot connect to " + host + ":" + std::to_string(port) + ": " + ec.message();
          if (ec != beast::error::timeout) endpoints[index] = {};
          co_return result;
        }
        conn->stream.tcp().socket().set_option(tcp::no_delay(true), ec);
        if (tls && !co_await handshake(*conn, result)) co_return result;
      }

      bhttp::request<bhttp::string_body> out{bhttp::string_to_verb(req.method), req.target, 11};
      out.set(bhttp::field::host, host + ":" + std::to_string(port));
      for (const auto& [k, v] : req.headers.items()) out.insert(k, v);
      out.body() = req.body;
      out.keep_alive(true);
      out.prepare_payload();

      conn->stream.tcp().expires_after(remaining());
      co_await bhttp::async_write(conn->stream, out, asio::redirect_error(asio::use_awaitable, ec));
      bhttp::response_parser<bhttp::string_body> parser;
      parser.body_limit(options.max_response_bytes);
      if (!ec) {
        co_await bhttp::async_read(conn->stream, conn->buffer, parser,
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      if (ec) {
        const bool stale = reused && !parser.got_some() && ec != beast::error::timeout;
        if (stale && !resent && safe_to_resend(req)) {
          resent = true;  // the server closed an idle keep-alive connection: try a fresh one once
          continue;
        }
        result.error = ec == beast::error::timeout ? TransportError::kTimeout
                       : parser.got_some()         ? TransportError::kProtocol
                                                   : TransportError::kClosed;
        if (ec == beast::error::timeout) {
          result.error_message = "timed out";
        } else if (conn->stream.is_tls() && ec.category() == asio::error::get_ssl_category()) {
          // TLS 1.3 reports a refused client certificate after the handshake, on the first read.
          result.error_message = "TLS connection with " + host + ":" + std::to_string(port) +
                                 " failed: " + tls_failure_reason(ec, conn->stream.tls().native_handle());
        } else {
          result.error_message = "connection failed: " + ec.message();
        }
        co_return result;
      }
      auto& msg = parser.get();
      result.response.status = static_cast<int>(msg.result_int());
      for (const auto& f : msg)
        result.response.headers.add(std::string(f.name_string()), std::string(f.value()));
      result.response.body = std::move(msg.body());
      if (msg.keep_alive() && idle[index].size() < options.max_idle_per_context) {
        idle[index].push_back(std::move(conn));
      }
      co_return result;
    }
  }
};

HttpClient::HttpClient(IoPool& pool, std::string host, std::uint16_t port, ClientOptions options)
    : impl_(std::make_shared<Impl>(pool, std::move(host), port, options)) {}

HttpClient::~HttpClient() = default;

const std::string& HttpClient::host() const { return impl_->host; }
std::uint16_t HttpClient::port() const { return impl_->port; }

void HttpClient::send(ClientRequest request, std::chrono::milliseconds timeout,
                      std::function<void(ClientResult)> done) {
  auto impl = impl_;
  const std::size_t index = impl->current_index();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto run = [impl, index, deadline, req = std::move(request)]() mutable -> asio::awaitable<ClientResult> {
    co_return co_await impl->exchange(index, req, deadline);
  };
  asio::co_spawn(impl->ctx(index), std::move(run),
                 [done = std::move(done)](std::exception_ptr e, ClientResult r) {
                   if (e) {
                     r = ClientResult{};
                     r.error = TransportError::kProtocol;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       r.error_message = ex.what();
                     } catch (...) {
                       r.error_message = "unknown error";
                     }
                   }
                   done(std::move(r));
                 });
}

ClientResult HttpClient::send_sync(ClientRequest request, std::chrono::milliseconds timeout) {
  std::promise<ClientResult> p;
  auto f = p.get_future();
  send(std::move(request), timeout, [&p](ClientResult r) { p.set_value(std::move(r)); });
  return f.get();
}

}  // namespace taskman::http
