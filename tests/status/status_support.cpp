#include "status/status_support.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace taskman::testing::status {

Stack::Stack(bool through_proxy, const std::vector<std::string>& mcp_flags) {
  api = std::make_unique<Process>(fault::api_options(dir));
  api_port = api->wait_for_port("taskman-api");
  if (through_proxy) proxy = std::make_unique<FaultProxy>(static_cast<std::uint16_t>(api_port));
  mcp = std::make_unique<Process>(
      fault::mcp_options(dir, proxy ? proxy->endpoint() : fault::api_endpoint(api_port), mcp_flags));
  mcp_port = mcp->wait_for_port("taskman-mcp");
  session = std::make_unique<McpSession>(McpSession::open(mcp_port));
}

Stack::~Stack() {
  session.reset();
  mcp.reset();
  proxy.reset();
}

std::string Stack::create(const std::string& title) {
  auto r = session->call_tool("create_task", {{"title", title}});
  if (fault::is_error(r)) throw std::runtime_error("create_task: " + fault::text_of(r));
  return r["structuredContent"]["task"]["id"];
}

Json Stack::status_json() const {
  auto r = http(mcp_port, "GET", "/status.json");
  if (r.status != 200)
    throw std::runtime_error("GET /status.json: " + std::to_string(r.status) + " " + r.body);
  return Json::parse(r.body);
}

HttpResponse Stack::admin(const std::string& path, const std::string& body) const {
  return http(mcp_port, "POST", "/admin/" + path, {{"Content-Type", "application/json"}}, body);
}

std::string Stack::metrics() const { return http(mcp_port, "GET", "/metrics").body; }

std::string request_id_in(const std::string& text) {
  const std::string marker = "(request_id: ";
  const auto at = text.find(marker);
  if (at == std::string::npos) return {};
  const auto end = text.find(')', at);
  return text.substr(at + marker.size(), end - at - marker.size());
}

std::optional<std::string> non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (ifaddrs* i = list; i != nullptr && !found; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_UP) == 0 || (i->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char buf[INET_ADDRSTRLEN];
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    if (inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) found = buf;
  }
  freeifaddrs(list);
  return found;
}

HttpResponse http_to(const std::string& host, int port, const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers, const std::string& body) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + " failed");
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::size_t sent = 0; sent < req.size();) {
    const auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("send failed");
    }
    sent += static_cast<std::size_t>(n);
  }
  std::string raw;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  HttpResponse r;
  r.raw = raw;
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.size() < 12 || head_end == std::string::npos) throw std::runtime_error("no HTTP answer: " + raw);
  r.status = std::stoi(raw.substr(9, 3));
  std::size_t line = raw.find("\r\n") + 2;
  while (line < head_end) {
    const auto eol = raw.find("\r\n", line);
    const std::string h = raw.substr(line, eol - line);
    if (const auto colon = h.find(':'); colon != std::string::npos) {
      std::string name = h.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = h.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    line = eol + 2;
  }
  r.body = raw.substr(head_end + 4);  // the admin and status answers are not chunked (Content-Length)
  return r;
}

}  // namespace taskman::testing::status
