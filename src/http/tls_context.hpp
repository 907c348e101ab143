#pragma once
// Internal to the http library: OpenSSL contexts built from the TLS settings (Asio's SSL layer, no
// Beast, so tls.cpp stays cheap to compile). The stream that uses them is in tls_stream.hpp.
#include <boost/asio/ssl.hpp>

#include <memory>
#include <string>

#include "http/tls.hpp"

namespace taskman::http {

// "certificate verify failed (unable to get local issuer certificate)": the library's reason, with
// the chain verification result when that is what failed.
std::string tls_failure_reason(const boost::system::error_code& ec, SSL* ssl);

// A client context: verify the peer against `settings.ca_file` (or the system store when empty),
// with an optional client certificate. Throws std::invalid_argument naming the file that failed.
std::shared_ptr<boost::asio::ssl::context> make_client_context(const TlsClientSettings& settings);
// A server context from a PEM certificate chain and key. Throws std::invalid_argument naming the
// file that failed.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const TlsServerSettings& settings);
// Before the client handshake: SNI (host names only, RFC 6066 §3) and the name or IP address the
// certificate must carry (checked by OpenSSL during the handshake).
bool set_client_peer_name(SSL* ssl, const std::string& host);

}  // namespace taskman::http
