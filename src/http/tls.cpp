// OpenSSL contexts for the HTTP client and server (Asio's SSL layer, not Beast: cheap to compile).
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <stdexcept>

#include "http/tls_context.hpp"

namespace taskman::http {

namespace ssl = boost::asio::ssl;

namespace {

// The last OpenSSL error's reason ("no such file", "key values mismatch"), or `fallback`.
std::string openssl_reason(const boost::system::error_code& ec) {
  std::string out = ec.message();
  const unsigned long e = ERR_get_error();
  if (e != 0) {
    if (const char* r = ERR_reason_error_string(e)) out = r;
  }
  ERR_clear_error();
  return out;
}

void load_identity(ssl::context& ctx, const std::string& cert_file, const std::string& key_file,
                   const char* what) {
  boost::system::error_code ec;
  ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    throw std::invalid_argument(std::string("cannot load the ") + what + " certificate " + cert_file + ": " +
                                openssl_reason(ec));
  }
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    throw std::invalid_argument(std::string("cannot load the ") + what + " key " + key_file + ": " +
                                openssl_reason(ec));
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    throw std::invalid_argument(std::string("the ") + what + " key " + key_file +
                                " does not match the certificate " + cert_file);
  }
}

}  // namespace

std::string tls_failure_reason(const boost::system::error_code& ec, SSL* ssl) {
  if (ssl != nullptr) {
    const long verify = SSL_get_verify_result(ssl);
    if (verify != X509_V_OK) {
      return std::string("certificate verify failed (") + X509_verify_cert_error_string(verify) + ")";
    }
  }
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    if (const char* r = ERR_reason_error_string(static_cast<unsigned long>(ec.value()))) return r;
  }
  if (ec == ssl::error::stream_truncated) return "the peer closed the connection during the handshake";
  return ec.message();
}

std::shared_ptr<ssl::context> make_client_context(const TlsClientSettings& settings) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (settings.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec)
      throw std::invalid_argument("cannot load the system's trusted certificates: " + openssl_reason(ec));
  } else {
    ctx->load_verify_file(settings.ca_file, ec);
    if (ec) {
      throw std::invalid_argument("cannot load the CA file " + settings.ca_file + ": " + openssl_reason(ec));
    }
  }
  // No callback: OpenSSL's own chain and name checks decide, and a failure aborts the handshake.
  ctx->set_verify_mode(ssl::verify_peer);
  if (!settings.cert_file.empty()) {
    load_identity(*ctx, settings.cert_file,
                  settings.key_file.empty() ? settings.cert_file : settings.key_file, "client");
  }
  return ctx;
}

std::shared_ptr<ssl::context> make_server_context(const TlsServerSettings& settings) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  load_identity(*ctx, settings.cert_file, settings.key_file, "server");
  if (!settings.client_ca_file.empty()) {
    boost::system::error_code ec;
    ctx->load_verify_file(settings.client_ca_file, ec);
    if (ec) {
      throw std::invalid_argument("cannot load the client CA file " + settings.client_ca_file + ": " +
                                  openssl_reason(ec));
    }
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

bool set_client_peer_name(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (!ec) {
    // An IP literal: matched against the certificate's iPAddress names; no SNI for addresses.
    return X509_VERIFY_PARAM_set1_ip_asc(param, address.to_string().c_str()) == 1;
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set1_host(ssl, host.c_str()) == 1 && SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

}  // namespace taskman::http
