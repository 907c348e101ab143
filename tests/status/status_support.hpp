#pragma once
// Shared by the status page and admin action tests: a real `taskman api` with a real `taskman mcp`
// in front of it (optionally through the fault proxy), and small HTTP helpers for /status and /admin.
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fault/fault_support.hpp"
#include "support/fault_proxy.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing::status {

using Json = nlohmann::json;

struct Stack {
  explicit Stack(bool through_proxy = false, const std::vector<std::string>& mcp_flags = {});
  ~Stack();
  std::string create(const std::string& title);
  Json status_json() const;
  // POST /admin/<path> with a JSON body from loopback.
  HttpResponse admin(const std::string& path, const std::string& body) const;
  std::string metrics() const;

  TempDir dir;
  std::unique_ptr<Process> api;
  int api_port = 0;
  std::unique_ptr<FaultProxy> proxy;
  std::unique_ptr<Process> mcp;
  int mcp_port = 0;
  std::unique_ptr<McpSession> session;
};

// "(request_id: X)" in a tool error's text, or "".
std::string request_id_in(const std::string& text);

// The first IPv4 address of an interface that is up and not loopback, or nullopt.
std::optional<std::string> non_loopback_ipv4();
// One HTTP/1.1 request to host:port (Connection: close); throws std::runtime_error on socket errors.
HttpResponse http_to(const std::string& host, int port, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers = {}, const std::string& body = {});

}  // namespace taskman::testing::status
