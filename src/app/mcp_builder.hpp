#pragma once
// Builds taskman-mcp: the resilient backend client, the MCP server with the task tools and its
// telemetry, the backend health check, and (unless stdio) the Streamable HTTP transport and server.
#include <memory>
#include <string>

#include "app/cli.hpp"
#include "app/hosted_service.hpp"
#include "client/backend_client.hpp"
#include "config/config.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"

namespace taskman::app {

struct McpService {
  // The server's call observers (tracing, metrics), declared first so they outlive the server.
  std::vector<std::unique_ptr<mcp::CallObserver>> observers;
  std::unique_ptr<client::BackendClient> backend_client;
  std::unique_ptr<mcp::Server> server;
  std::unique_ptr<mcp::HttpTransport> http;  // null over stdio
};

// The backend client's resilience settings from the configuration.
client::BackendClientOptions client_options(const config::Config& cfg, std::string endpoint);

// `endpoint` is the REST base URL the tools call. Throws what the server start throws.
McpService build_mcp(ServiceHost& host, HostedService& s, const config::Config& cfg, const Invocation& inv,
                     std::string endpoint);

}  // namespace taskman::app
