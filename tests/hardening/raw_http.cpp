#include "hardening/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace taskman::testing {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Parses one complete response at the start of `buf`; returns the bytes it used, or 0 if incomplete.
std::size_t parse_one(const std::string& buf, RawResponse& out) {
  const auto head_end = buf.find("\r\n\r\n");
  if (head_end == std::string::npos || buf.size() < 12 || buf.compare(0, 5, "HTTP/") != 0) return 0;
  out.head = buf.substr(0, head_end);
  out.status = std::atoi(buf.substr(9, 3).c_str());
  std::size_t pos = head_end + 4;
  if (out.status == 204 || out.status == 304 || out.status / 100 == 1) return pos;
  if (lower(header_value(out.head, "transfer-encoding")).find("chunked") != std::string::npos) {
    out.body.clear();
    for (;;) {
      const auto eol = buf.find("\r\n", pos);
      if (eol == std::string::npos) return 0;
      const auto size = std::stoul(buf.substr(pos, eol - pos), nullptr, 16);
      if (buf.size() < eol + 2 + size + 2) return 0;
      if (size == 0) {
        const auto end = buf.find("\r\n\r\n", eol);  // no trailers from this server
        return end == std::string::npos ? 0 : end + 4;
      }
      out.body += buf.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
  }
  const std::string cl = header_value(out.head, "content-length");
  const std::size_t len = cl.empty() ? 0 : std::stoul(cl);
  if (buf.size() < pos + len) return 0;
  out.body = buf.substr(pos, len);
  return pos + len;
}

}  // namespace

std::string header_value(const std::string& head, const std::string& name) {
  const std::string want = lower(name) + ":";
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    pos += 2;
    const auto eol = std::min(head.find("\r\n", pos), head.size());
    const std::string line = head.substr(pos, eol - pos);
    if (lower(line.substr(0, want.size())) == want) {
      std::string v = line.substr(want.size());
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      return v;
    }
    pos = eol;
  }
  return "";
}

RawExchange raw_exchange(int port, const std::string& bytes, std::size_t want,
                         std::chrono::milliseconds deadline) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to port " + std::to_string(port) + " failed");
  }
  const auto until = std::chrono::steady_clock::now() + deadline;
  RawExchange ex;
  std::string buf;
  std::size_t sent = 0;
  while (want == 0 || ex.responses.size() < want) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ex.timed_out = true;
      break;
    }
    pollfd p{fd, static_cast<short>(POLLIN | (sent < bytes.size() ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    if ((p.revents & POLLOUT) && sent < bytes.size()) {
      const auto n = ::send(fd, bytes.data() + sent, std::min<std::size_t>(bytes.size() - sent, 65536),
                            MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
      if (n < 0 && errno != EAGAIN) sent = bytes.size();  // the server closed early: read what it said
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char chunk[65536];
      const auto n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
      if (n > 0) {
        buf.append(chunk, static_cast<std::size_t>(n));
        RawResponse r;
        while (std::size_t used = parse_one(buf, r)) {
          ex.responses.push_back(r);
          buf.erase(0, used);
          r = RawResponse{};
        }
      } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
        ex.closed = true;
        break;
      }
    }
  }
  ex.leftover = buf;
  ::close(fd);
  return ex;
}

}  // namespace taskman::testing
