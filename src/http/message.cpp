#include "http/message.hpp"

#include <cstdint>
#include <string>

#include "core/text.hpp"
#include "http/request_id.hpp"
#include "http/router.hpp"

namespace taskman::http {

void Headers::set(std::string_view name, std::string value) {
  for (auto it = items_.begin(); it != items_.end();) {
    if (iequals(it->first, name)) {
      it = items_.erase(it);
    } else {
      ++it;
    }
  }
  items_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : items_) {
    if (iequals(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::size_t Headers::count(std::string_view name) const {
  std::size_t n = 0;
  for (const auto& [k, v] : items_) n += iequals(k, name) ? 1 : 0;
  return n;
}

std::string_view Request::path_param(std::string_view name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view{} : std::string_view(it->second);
}

std::vector<std::pair<std::string, std::string>> Request::query_params() const {
  std::vector<std::pair<std::string, std::string>> out;
  std::string_view q = query;
  while (!q.empty()) {
    const auto amp = q.find('&');
    const auto part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    std::string k, v;
    // A malformed escape keeps the raw text: validation downstream names the parameter.
    if (!percent_decode(part.substr(0, eq), k, true)) k = std::string(part.substr(0, eq));
    if (eq != std::string_view::npos && !percent_decode(part.substr(eq + 1), v, true)) {
      v = std::string(part.substr(eq + 1));
    }
    out.emplace_back(std::move(k), std::move(v));
  }
  return out;
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::empty(int status) {
  Response r;
  r.status = status;
  return r;
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '+' || c == '/' || c == '=' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// RAND_bytes per request was ~7k instructions (OpenSSL 3 provider lookups, locks) twice per MCP call.
// A request id correlates, it authorizes nothing: xoshiro256** per thread, seeded from the CSPRNG
// (as span ids are), keeps ids unpredictable across processes at a few instructions each.
class RequestIdRng {
 public:
  RequestIdRng() {
    const std::string seed = random_hex(sizeof s_);  // the CSPRNG, once per thread
    for (std::size_t i = 0; i < 4; ++i) {
      s_[i] = std::stoull(seed.substr(i * 16, 16), nullptr, 16);
    }
    if ((s_[0] | s_[1] | s_[2] | s_[3]) == 0) s_[0] = 0x9e3779b97f4a7c15ULL;  // all-zero is a fixpoint
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace

std::string new_request_id() {
  // Generator state, not request context: a thread-local is safe here.
  thread_local RequestIdRng rng;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (std::size_t half = 0; half < 2; ++half) {
    std::uint64_t v = rng.next();
    for (std::size_t k = 0; k < 16; ++k, v >>= 4) out[half * 16 + k] = kHex[v & 0xF];
  }
  return out;
}

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  if (!path.empty() && path.front() == '/') pos = 1;
  while (pos <= path.size()) {
    const auto slash = path.find('/', pos);
    out.push_back(path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

void Router::add(std::string method, std::string route_template, Handler handler) {
  Route r;
  r.method = std::move(method);
  for (auto seg : split_path(route_template)) r.segments.emplace_back(seg);
  r.route = std::move(route_template);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::add_sync(std::string method, std::string route_template, SyncHandler handler) {
  add(std::move(method), std::move(route_template),
      [h = std::move(handler)](Request& req, Responder responder) { responder.send(h(req)); });
}

Router::Match Router::match(Request& req) const {
  const auto segs = split_path(req.path);
  Match m;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    std::map<std::string, std::string, std::less<>> params;
    bool ok = true;
    for (std::size_t i = 0; i < segs.size() && ok; ++i) {
      const auto& t = r.segments[i];
      if (t.size() >= 2 && t.front() == '{' && t.back() == '}') {
        std::string decoded;
        ok = !segs[i].empty() && percent_decode(segs[i], decoded, false);
        if (ok) params.emplace(t.substr(1, t.size() - 2), std::move(decoded));
      } else {
        ok = t == segs[i];
      }
    }
    if (!ok) continue;
    m.route = r.route;
    if (r.method == req.method) {
      m.handler = &r.handler;
      m.allow.clear();
      req.path_params = std::move(params);
      return m;
    }
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += r.method;
  }
  return m;
}

}  // namespace taskman::http
