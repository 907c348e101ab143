// TLS on the wire, through the real binary: https:// OTLP export to a TLS receiver (spans decoded by
// @opentelemetry/otlp-transformer), `taskman mcp` over an https:// backend, wrong CA and wrong host
// name refused with a clear error before any byte of HTTP, and SIGHUP certificate reloads. Every
// certificate is made at test time by make_test_certs.sh.
#include <signal.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "http/client.hpp"
#include "http/server.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"
#include "tls/tls_support.hpp"
#include "tracing/tracing_support.hpp"

namespace taskman::testing {
namespace {

using namespace std::chrono_literals;
using tls::TestPki;
using tls::TlsOtlpReceiver;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `taskman api` on port 0 with SQLite in `dir`, tracing exported to `otlp_base_url` (quickly, and with
// a short export deadline so a refused collector does not hold up shutdown).
Process::Options traced_api(const TempDir& dir, const std::string& otlp_base_url,
                            const std::map<std::string, std::string>& env) {
  auto o = tracing::traced(dir, {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.file("t.db")},
                           otlp_base_url, {{"OTEL_BSP_EXPORT_TIMEOUT", "3000"}});
  for (const auto& [k, v] : env) o.env[k] = v;
  return o;
}

Process::Options tls_api(const TempDir& dir, const std::string& cert, const std::string& key) {
  Process::Options o;
  o.args = {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.file("t.db")};
  o.cwd = dir.path();
  o.env = {{"API_TLS_CERT_FILE", cert}, {"API_TLS_KEY_FILE", key}};
  return o;
}

Process::Options mcp_to(const TempDir& dir, const std::string& endpoint, const std::string& ca_file) {
  Process::Options o;
  o.args = {"mcp",    "--port",
            "0",      "--task-manager-api-endpoint",
            endpoint, "--backend-max-retries",
            "0",      "--backend-timeout-ms",
            "5000"};
  o.cwd = dir.path();
  o.env = {{"BACKEND_CA_FILE", ca_file}};
  return o;
}

// The TLS client the tests themselves use (our HttpClient): one fresh connection per call.
http::ClientResult tls_get(int port, const std::string& ca_file, const std::string& host = "127.0.0.1") {
  http::IoPool pool(1);
  pool.start();
  http::ClientOptions o;
  o.tls = http::TlsClientSettings{ca_file, "", ""};
  http::HttpClient client(pool, host, static_cast<std::uint16_t>(port), o);
  http::ClientRequest req;
  req.target = "/health/live";
  auto r = client.send_sync(req, 5s);
  pool.stop();
  return r;
}

// Runs a traced `taskman api`, makes one request, stops it (the batch is flushed on shutdown).
std::string run_traced_api_once(const TempDir& dir, const std::string& otlp_url,
                                const std::map<std::string, std::string>& env) {
  Process api(traced_api(dir, otlp_url, env));
  const int port = api.wait_for_port("taskman-api");
  EXPECT_EQ(http(port, "GET", "/api/v1/tasks").status, 200);
  api.signal(SIGTERM);
  EXPECT_EQ(api.wait_exit(30s), 0) << api.stderr_text();
  return api.stderr_text();
}

// Done when: https:// OTLP export, the CA given through OTEL_EXPORTER_OTLP_CERTIFICATE (its _TRACES_
// form, which wins over a generic one naming a CA that would fail), a client certificate required
// by the receiver; what arrives is decodable by the decoder we did not write.
TEST(TlsOtlp, HttpsExportDeliversDecodableSpans) {
  TestPki pki;
  TlsOtlpReceiver receiver({pki.pem("server"), pki.key("server"), pki.pem("ca")});
  TempDir dir;
  const auto err = run_traced_api_once(dir, "https://127.0.0.1:" + std::to_string(receiver.port()),
                                       {{"OTEL_EXPORTER_OTLP_CERTIFICATE", pki.pem("other-ca")},
                                        {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", pki.pem("ca")},
                                        {"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", pki.pem("client")},
                                        {"OTEL_EXPORTER_OTLP_CLIENT_KEY", pki.key("client")}});
  ASSERT_TRUE(receiver.wait_for_requests(1, 5s)) << err;
  const auto spans = tracing::decode_bodies(receiver.bodies());
  bool found = false;
  for (const auto& s : spans) {
    found = found || (s.service == "taskman-api" && s.kind == 2 && s.str("http.route") == "/api/v1/tasks");
  }
  EXPECT_TRUE(found) << "no server span for GET /api/v1/tasks among " << spans.size() << " spans\n" << err;
  EXPECT_FALSE(contains(err, "TLS handshake")) << err;
}

// The receiver asks for a client certificate: without one the export is refused, clearly.
TEST(TlsOtlp, MissingClientCertificateIsRefused) {
  TestPki pki;
  TlsOtlpReceiver receiver({pki.pem("server"), pki.key("server"), pki.pem("ca")});
  TempDir dir;
  const auto err = run_traced_api_once(dir, "https://127.0.0.1:" + std::to_string(receiver.port()),
                                       {{"OTEL_EXPORTER_OTLP_CERTIFICATE", pki.pem("ca")}});
  EXPECT_TRUE(receiver.bodies().empty());
  // TLS 1.3: the server refuses the missing certificate after the client's handshake, on the first read.
  EXPECT_TRUE(contains(err, "TLS connection with 127.0.0.1:" + std::to_string(receiver.port()) +
                                " failed: tlsv13 alert certificate required"))
      << err;
}

TEST(TlsOtlp, WrongCaIsAClearErrorAndNothingIsSent) {
  TestPki pki;
  TlsOtlpReceiver receiver({pki.pem("server"), pki.key("server"), ""});
  TempDir dir;
  const auto err = run_traced_api_once(dir, "https://127.0.0.1:" + std::to_string(receiver.port()),
                                       {{"OTEL_EXPORTER_OTLP_CERTIFICATE", pki.pem("other-ca")}});
  EXPECT_TRUE(
      contains(err, "TLS handshake with 127.0.0.1:" + std::to_string(receiver.port()) +
                        " failed: certificate verify failed (unable to get local issuer certificate)"))
      << err;
  EXPECT_TRUE(receiver.bodies().empty()) << "a collector that did not verify got data";
}

TEST(TlsOtlp, WrongHostNameIsAClearErrorAndNothingIsSent) {
  TestPki pki;
  TlsOtlpReceiver receiver({pki.pem("wrong-host"), pki.key("wrong-host"), ""});
  const std::string port = std::to_string(receiver.port());
  {
    TempDir dir;
    const auto err = run_traced_api_once(dir, "https://127.0.0.1:" + port,
                                         {{"OTEL_EXPORTER_OTLP_CERTIFICATE", pki.pem("ca")}});
    EXPECT_TRUE(contains(err, "TLS handshake with 127.0.0.1:" + port +
                                  " failed: certificate verify failed (IP address mismatch)"))
        << err;
  }
  {
    TempDir dir;
    const auto err = run_traced_api_once(dir, "https://localhost:" + port,
                                         {{"OTEL_EXPORTER_OTLP_CERTIFICATE", pki.pem("ca")}});
    EXPECT_TRUE(contains(err, "TLS handshake with localhost:" + port +
                                  " failed: certificate verify failed (hostname mismatch)"))
        << err;
  }
  EXPECT_TRUE(receiver.bodies().empty()) << "a collector with another host's certificate got data";
}

// Done when: `taskman mcp` reaches `taskman api` over https:// (inbound TLS on the API, the CA in
// BACKEND_CA_FILE) end to end; a plain-HTTP client at the TLS listener gets no answer.
TEST(TlsBackend, McpReachesAnHttpsApiEndToEnd) {
  TestPki pki;
  TempDir dir;
  Process api(tls_api(dir, pki.pem("server"), pki.key("server")));
  const int api_port = api.wait_for_port("taskman-api");
  Process mcp(mcp_to(dir, "https://127.0.0.1:" + std::to_string(api_port) + "/api/v1", pki.pem("ca")));
  const int mcp_port = mcp.wait_for_port("taskman-mcp");

  auto session = McpSession::open(mcp_port);
  auto created = session.call_tool("create_project", {{"name", "over-tls"}});
  ASSERT_FALSE(created.value("isError", false)) << created.dump() << mcp.stderr_text();
  auto listed = session.call_tool("list_projects", nlohmann::json::object());
  ASSERT_FALSE(listed.value("isError", false)) << listed.dump();
  EXPECT_TRUE(contains(listed.dump(), "over-tls")) << listed.dump();
  EXPECT_TRUE(api.wait_for_line(
      [](const std::string& l) { return contains(l, "\"path\":\"/api/v1/projects\""); }, 10s))
      << "the API served it";

  // Plain HTTP at the TLS port: the handshake fails, the API says with whom and why.
  EXPECT_THROW(http(api_port, "GET", "/health/live"), std::runtime_error);
  EXPECT_TRUE(api.wait_for_line(
      [](const std::string& l) {
        return contains(l, "TLS handshake with 127.0.0.1:") && contains(l, "failed: ");
      },
      10s))
      << api.stderr_text();
}

TEST(TlsBackend, WrongCaOrHostFailsAndNothingReachesTheApi) {
  TestPki pki;
  struct Case {
    const char* cert;
    const char* ca;
    const char* reason;
  };
  for (const Case c :
       {Case{"server", "other-ca", "certificate verify failed (unable to get local issuer certificate)"},
        Case{"wrong-host", "ca", "certificate verify failed (IP address mismatch)"}}) {
    SCOPED_TRACE(c.reason);
    TempDir dir;
    Process api(tls_api(dir, pki.pem(c.cert), pki.key(c.cert)));
    const int api_port = api.wait_for_port("taskman-api");
    Process mcp(mcp_to(dir, "https://127.0.0.1:" + std::to_string(api_port) + "/api/v1", pki.pem(c.ca)));
    auto session = McpSession::open(mcp.wait_for_port("taskman-mcp"));
    auto r = session.call_tool("create_project", {{"name", "must-not-arrive"}});
    EXPECT_TRUE(r.value("isError", false)) << r.dump();
    EXPECT_TRUE(mcp.wait_for_line(
        [&](const std::string& l) {
          return contains(
              l, "TLS handshake with 127.0.0.1:" + std::to_string(api_port) + " failed: " + c.reason);
        },
        10s))
        << mcp.stderr_text();
    EXPECT_TRUE(
        api.wait_for_line([](const std::string& l) { return contains(l, "TLS handshake with"); }, 10s))
        << api.stderr_text();
    api.signal(SIGTERM);  // its log is complete once it has exited
    EXPECT_EQ(api.wait_exit(), 0);
    EXPECT_FALSE(contains(api.stderr_text(), "/api/v1/projects")) << "no request reached the API";
  }
}

// SIGHUP loads the certificate files again for new connections; a reload that fails keeps the old
// certificate and says why.
TEST(TlsInbound, SighupReloadsTheCertificateAndKeepsTheOldOneOnFailure) {
  TestPki pki;
  TempDir dir;
  const std::string cert = dir.file("live.pem");
  const std::string key = dir.file("live.key");
  namespace fs = std::filesystem;
  fs::copy_file(pki.pem("server"), cert);
  fs::copy_file(pki.key("server"), key);
  Process api(tls_api(dir, cert, key));
  const int port = api.wait_for_port("taskman-api");
  auto first = tls_get(port, pki.pem("ca"));
  ASSERT_TRUE(first.ok()) << first.error_message;
  EXPECT_EQ(first.response.status, 200);

  { std::ofstream(cert, std::ios::trunc) << "not a certificate\n"; }
  api.signal(SIGHUP);
  ASSERT_TRUE(api.wait_for_line([](const std::string& l) {
    return contains(l, "TLS certificate reload failed");
  })) << api.stderr_text();
  EXPECT_TRUE(contains(api.stderr_text(), cert)) << "the error names the file";
  auto kept = tls_get(port, pki.pem("ca"));
  EXPECT_TRUE(kept.ok()) << "the old certificate stays in use: " << kept.error_message;

  fs::copy_file(pki.pem("wrong-host"), cert, fs::copy_options::overwrite_existing);
  fs::copy_file(pki.key("wrong-host"), key, fs::copy_options::overwrite_existing);
  api.signal(SIGHUP);
  ASSERT_TRUE(api.wait_for_line([](const std::string& l) { return contains(l, "TLS certificate reloaded"); }))
      << api.stderr_text();
  auto swapped = tls_get(port, pki.pem("ca"));
  ASSERT_FALSE(swapped.ok()) << "new connections get the new (wrong.example) certificate";
  EXPECT_TRUE(contains(swapped.error_message, "certificate verify failed (IP address mismatch)"))
      << swapped.error_message;

  api.signal(SIGTERM);
  EXPECT_EQ(api.wait_exit(), 0);
}

TEST(TlsInbound, UnreadableCertificateStopsStartUpWithTheFileNamed) {
  TestPki pki;
  TempDir dir;
  const std::string garbage = dir.file("garbage.pem");
  { std::ofstream(garbage) << "not a certificate\n"; }
  Process api(tls_api(dir, garbage, pki.key("server")));
  EXPECT_EQ(api.wait_exit(), 1);
  EXPECT_TRUE(contains(api.stderr_text(), "cannot load the server certificate " + garbage))
      << api.stderr_text();
  EXPECT_FALSE(contains(api.stderr_text(), "\"listening\"")) << api.stderr_text();
}

}  // namespace
}  // namespace taskman::testing
