#pragma once
// TLS settings of the HTTP client and server (plain structs: no OpenSSL or Asio here). The
// contexts are built in tls.cpp; a certificate that does not verify is always an error.
#include <string>

namespace taskman::http {

struct TlsClientSettings {
  std::string ca_file;    // PEM bundle of trusted CAs; empty: the system store
  std::string cert_file;  // PEM client certificate chain (mutual TLS); empty: none
  std::string key_file;   // PEM key of cert_file
};

struct TlsServerSettings {
  std::string cert_file;  // PEM certificate chain, leaf first
  std::string key_file;   // PEM private key
  // Set: clients must present a certificate that verifies against this PEM CA bundle (mutual TLS).
  std::string client_ca_file;
  bool enabled() const { return !cert_file.empty(); }
};

}  // namespace taskman::http
