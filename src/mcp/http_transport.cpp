#include "mcp/http_transport.hpp"

#include <deque>
#include <utility>

#include "core/text.hpp"
#include "mcp/http_session.hpp"

namespace taskman::mcp {
namespace {

// Error bodies are JSON-RPC errors with a null id, as the reference SDK answers transport errors.
http::Response rpc_error_response(int status, int code, std::string message) {
  return http::Response::json(status, serialize(make_error(nullptr, RpcError{code, std::move(message), {}})));
}

// The media types of an Accept or Content-Type header, lowercased, without parameters.
std::vector<std::string> media_types(std::string_view header) {
  std::vector<std::string> out;
  while (!header.empty()) {
    const auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    item = item.substr(0, item.find(';'));
    item = trim(item);
    if (!item.empty()) out.push_back(to_lower(item));
  }
  return out;
}

bool accepts(const std::vector<std::string>& types, std::string_view wanted) {
  const std::string_view major = wanted.substr(0, wanted.find('/'));
  for (const auto& t : types) {
    if (t == wanted || t == "*/*") return true;
    if (t.size() == major.size() + 2 && t.compare(0, major.size(), major) == 0 && t.ends_with("/*"))
      return true;
  }
  return false;
}

// Host name of a Host header value ("[::1]:3000" -> "[::1]", "Example.com:80" -> "example.com").
std::string host_name(std::string_view host) {
  host = trim(host);
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    return to_lower(host.substr(0, close == std::string_view::npos ? host.size() : close + 1));
  }
  return to_lower(host.substr(0, host.find(':')));
}

bool is_loopback_name(std::string_view name) {
  return name == "localhost" || name == "127.0.0.1" || name == "[::1]";
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  for (const auto& v : list)
    if (v == "*" || iequals(v, value)) return true;
  return false;
}

}  // namespace

HttpTransport::HttpTransport(Server& server, HttpTransportOptions options)
    : server_(server), options_(std::move(options)) {}

HttpTransport::~HttpTransport() { close_all(); }

void HttpTransport::register_routes(http::Router& router) {
  router.add("POST", options_.path,
             [this](http::Request& req, http::Responder r) { handle_post(req, std::move(r)); });
  router.add("GET", options_.path,
             [this](http::Request& req, http::Responder r) { handle_get(req, std::move(r)); });
  router.add("DELETE", options_.path,
             [this](http::Request& req, http::Responder r) { handle_delete(req, std::move(r)); });
}

std::size_t HttpTransport::session_count() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

std::vector<HttpTransport::RevisionCount> HttpTransport::sessions_by_revision() const {
  std::map<std::string, RevisionCount> by;
  std::lock_guard lock(mu_);
  for (const auto& [id, hs] : sessions_) {
    (void)id;
    const std::string rev = hs->session ? hs->session->protocol_version() : std::string();
    RevisionCount& c = by[rev];
    c.revision = rev;
    ++c.sessions;
    std::lock_guard session_lock(hs->mu);
    if (hs->get_stream && !hs->get_stream->closed()) ++c.open_streams;
    for (const auto& [stream, exchange] : hs->exchanges) {
      (void)stream;
      if (!exchange.expired()) ++c.open_streams;
    }
  }
  std::vector<RevisionCount> out;
  for (auto& [rev, c] : by) out.push_back(std::move(c));
  return out;
}

void HttpTransport::close_all() {
  std::map<std::string, std::shared_ptr<HttpSession>, std::less<>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(sessions_);
  }
  server_.close_listeners();
  for (auto& [id, hs] : all) {
    server_.close_session(hs->session);
    std::lock_guard lock(hs->mu);
    if (hs->get_stream) hs->get_stream->close();
  }
}

std::size_t HttpTransport::expire_sessions() {
  const auto now = options_.clock();
  std::vector<std::shared_ptr<HttpSession>> expired;
  {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      bool idle;
      {
        std::lock_guard slock(it->second->mu);
        idle = now - it->second->last_used > options_.session_ttl &&
               (!it->second->get_stream || it->second->get_stream->closed());
      }
      if (idle && it->second->session->in_flight() == 0) {
        expired.push_back(it->second);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& hs : expired) server_.close_session(hs->session);
  return expired.size();
}

bool HttpTransport::host_allowed(std::string_view host_header) const {
  const std::string name = host_name(host_header);
  return is_loopback_name(name) || contains(options_.allowed_hosts, name);
}

bool HttpTransport::origin_allowed(std::string_view origin) const {
  origin = trim(origin);
  if (contains(options_.allowed_origins, origin)) return true;
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;  // includes the opaque "null" origin
  const std::string scheme = to_lower(origin.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return false;
  std::string_view authority = origin.substr(scheme_end + 3);
  if (authority.find('/') != std::string_view::npos || authority.find('@') != std::string_view::npos)
    return false;
  return is_loopback_name(host_name(authority));
}

std::optional<http::Response> HttpTransport::check_origin(const http::Request& req) const {
  // DNS rebinding: a page on evil.example.com resolving to 127.0.0.1 sends its own Host and Origin.
  const auto host = req.headers.get("Host");
  if (!host || !host_allowed(*host)) {
    return rpc_error_response(403, rpc::kConnectionClosed, "Forbidden: Host header not allowed");
  }
  if (const auto origin = req.headers.get("Origin"); origin && !origin_allowed(*origin)) {
    return rpc_error_response(403, rpc::kConnectionClosed, "Forbidden: Origin not allowed");
  }
  return std::nullopt;
}

std::shared_ptr<HttpTransport::HttpSession> HttpTransport::find_session(const http::Request& req,
                                                                        http::Response& error) {
  const auto id = req.headers.get(kSessionHeader);
  if (!id || id->empty()) {
    error = rpc_error_response(400, rpc::kConnectionClosed, "Bad Request: Mcp-Session-Id header is required");
    return nullptr;
  }
  std::shared_ptr<HttpSession> hs;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(*id);
    if (it != sessions_.end()) hs = it->second;
  }
  if (hs) {
    const auto now = options_.clock();
    bool expired;
    {
      std::lock_guard lock(hs->mu);
      expired = now - hs->last_used > options_.session_ttl && (!hs->get_stream || hs->get_stream->closed()) &&
                hs->session->in_flight() == 0;
      if (!expired) hs->last_used = now;
    }
    if (expired) {
      remove_session(hs->id);
      hs.reset();
    }
  }
  // §Session Management: an unknown, expired or terminated session is 404; the client re-initializes.
  if (!hs) error = rpc_error_response(404, -32001, "Session not found");
  return hs;
}

std::shared_ptr<HttpTransport::HttpSession> HttpTransport::create_session(http::Response& error) {
  if (session_count() >= options_.max_sessions) expire_sessions();
  // Built whole before it is published in sessions_: other threads read it without hs->mu.
  auto hs = std::make_shared<HttpSession>();
  hs->id = random_hex(16);
  hs->max_events = options_.max_replay_events;
  hs->last_used = options_.clock();
  hs->session = server_.open_session(hs->id);
  std::weak_ptr<HttpSession> weak = hs;
  hs->session->set_outbound([weak](const Json& m) {
    auto s = weak.lock();
    if (!s) return false;
    std::shared_ptr<http::Stream> stream;
    {
      std::lock_guard lock(s->mu);
      stream = s->get_stream;
    }
    if (!stream) return false;  // the client never opened a GET stream: nowhere to deliver it
    // Recorded even when the stream has dropped: a client resuming with Last-Event-ID gets it.
    return stream->write(s->record(0, &m));
  });
  bool full;
  {
    std::lock_guard lock(mu_);
    full = sessions_.size() >= options_.max_sessions;
    if (!full) sessions_.emplace(hs->id, hs);
  }
  if (full) {
    server_.close_session(hs->session);
    error = rpc_error_response(503, rpc::kConnectionClosed, "Service Unavailable: too many sessions");
    error.headers.set("Retry-After", "5");
    return nullptr;
  }
  return hs;
}

void HttpTransport::remove_session(const std::string& id) {
  std::shared_ptr<HttpSession> hs;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    hs = it->second;
    sessions_.erase(it);
  }
  server_.close_session(hs->session);
  std::shared_ptr<http::Stream> stream;
  {
    std::lock_guard lock(hs->mu);
    stream = std::move(hs->get_stream);
  }
  if (stream) stream->close();
}

void HttpTransport::handle_post(http::Request& req, http::Responder responder) {
  if (auto forbidden = check_origin(req)) return responder.send(std::move(*forbidden));
  // §Sending Messages: the client MUST accept both application/json and text/event-stream.
  const auto accept = media_types(req.headers.get("Accept").value_or(""));
  if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
    return responder.send(
        rpc_error_response(406, rpc::kConnectionClosed,
                           "Not Acceptable: Client must accept both application/json and text/event-stream"));
  }
  const auto content_type = media_types(req.headers.get("Content-Type").value_or(""));
  if (content_type.size() != 1 || content_type[0] != "application/json") {
    return responder.send(rpc_error_response(
        415, rpc::kConnectionClosed, "Unsupported Media Type: Content-Type must be application/json"));
  }
  auto parsed = parse_json(req.body);
  if (auto* err = std::get_if<RpcError>(&parsed)) {
    return responder.send(http::Response::json(400, serialize(make_error(nullptr, *err))));
  }
  auto decoded = to_message(std::get<Json>(parsed));
  if (auto* bad = std::get_if<InvalidMessage>(&decoded)) {
    return responder.send(http::Response::json(400, serialize(make_error(bad->id, bad->error))));
  }
  Message msg = std::move(std::get<Message>(decoded));
  if (routes_to_modern(req, msg)) return handle_modern_post(req, std::move(msg), std::move(responder));
  const bool is_initialize = msg.kind == MessageKind::kRequest && msg.method == "initialize";
  const auto version_header = req.headers.get(kVersionHeader);
  // initialize negotiates in its body (the server's job); any other request names its revision in
  // the header, which must be one the revision table knows.
  const Revision* header_revision = revision_for_header(version_header);
  if (!is_initialize && !header_revision) {
    return responder.send(
        rpc_error_response(400, rpc::kConnectionClosed,
                           "Bad Request: Unsupported protocol version: " + std::string(*version_header)));
  }
  if (!header_revision) header_revision = revision_for_header(std::nullopt);

  std::shared_ptr<HttpSession> hs;
  std::function<void()> on_done;
  http::Response error;
  if (options_.stateless) {
    // Each POST stands alone: a throwaway session, initialized as the header says (§Protocol
    // Version Header: 2025-03-26 when absent).
    hs = std::make_shared<HttpSession>();
    hs->resumable = false;
    hs->session = server_.open_session("stateless-" + random_hex(8));
    if (!is_initialize) hs->session->assume_initialized(*header_revision);
    on_done = [this, s = hs->session] { server_.close_session(s); };
  } else if (is_initialize) {
    hs = create_session(error);
    if (!hs) return responder.send(std::move(error));
  } else {
    hs = find_session(req, error);
    if (!hs) return responder.send(std::move(error));
  }

  if (msg.kind != MessageKind::kRequest) {
    // Notifications and responses are accepted with 202 and no body (§Sending Messages, 4).
    server_.handle(hs->session, msg, nullptr, req.ctx);
    if (on_done) on_done();
    http::Response r = http::Response::empty(202);
    if (!hs->id.empty()) r.headers.set(kSessionHeader, hs->id);
    return responder.send(std::move(r));
  }

  auto exchange = std::make_shared<HttpExchange>(std::move(responder), hs, *header_revision,
                                                 options_.sse_retry, std::move(on_done));
  if (hs->resumable) {
    std::lock_guard lock(hs->mu);
    hs->exchanges[exchange->stream_no()] = exchange;
    // Forget exchanges that ended (their events stay in the replay buffer).
    for (auto it = hs->exchanges.begin(); it != hs->exchanges.end();) {
      it = it->second.expired() ? hs->exchanges.erase(it) : std::next(it);
    }
  }
  server_.handle(hs->session, msg, exchange, req.ctx);
  // A failed initialize leaves no session behind.
  if (is_initialize && !options_.stateless && !hs->session->initialized()) remove_session(hs->id);
}

// GET and DELETE: the origin check, and a stateless server has neither streams nor sessions.
std::optional<http::Response> HttpTransport::refuse_stream_or_session_request(
    const http::Request& req) const {
  if (auto forbidden = check_origin(req)) return forbidden;
  if (!options_.stateless) return std::nullopt;
  http::Response r = rpc_error_response(405, rpc::kConnectionClosed, "Method Not Allowed: stateless server");
  r.headers.set("Allow", "POST");
  return r;
}

void HttpTransport::handle_get(http::Request& req, http::Responder responder) {
  if (auto refused = refuse_stream_or_session_request(req)) return responder.send(std::move(*refused));
  if (!accepts(media_types(req.headers.get("Accept").value_or("")), "text/event-stream")) {
    return responder.send(rpc_error_response(406, rpc::kConnectionClosed,
                                             "Not Acceptable: Client must accept text/event-stream"));
  }
  http::Response error;
  auto hs = find_session(req, error);
  if (!hs) return responder.send(std::move(error));
  const auto version_header = req.headers.get(kVersionHeader);
  const Revision* header_revision = revision_for_header(version_header);
  if (!header_revision) {
    return responder.send(
        rpc_error_response(400, rpc::kConnectionClosed,
                           "Bad Request: Unsupported protocol version: " + std::string(*version_header)));
  }
  const Revision& revision = stream_revision(*hs, *header_revision);

  // §Resumability: Last-Event-ID "<stream>_<seq>" resumes that stream after that event.
  if (const auto last = req.headers.get("Last-Event-ID")) {
    const std::string_view v = trim(*last);
    const auto sep = v.find('_');
    std::uint64_t stream_no = 0, seq = 0;
    bool ok = sep != std::string_view::npos && sep > 0 && sep + 1 < v.size() && v.size() < 40;
    for (std::size_t i = 0; ok && i < v.size(); ++i) ok = i == sep || (v[i] >= '0' && v[i] <= '9');
    if (ok) {
      stream_no = std::stoull(std::string(v.substr(0, sep)));
      seq = std::stoull(std::string(v.substr(sep + 1)));
    }
    if (ok && stream_no != 0) {
      std::shared_ptr<HttpExchange> exchange;
      {
        std::lock_guard lock(hs->mu);
        auto it = hs->exchanges.find(stream_no);
        if (it != hs->exchanges.end()) exchange = it->second.lock();
      }
      auto stream = responder.stream(200, sse_headers(hs->id));
      if (exchange) {
        exchange->resume(std::move(stream), seq);
      } else {
        for (auto& text : hs->replay(stream_no, seq)) stream->write(std::move(text));
        stream->close();
      }
      return;
    }
  }

  // One GET stream per session, so no message is sent on two streams (§Multiple Connections). A new
  // GET replaces the old stream rather than being refused: a client reconnects after a network
  // drop the server may not have noticed yet.
  std::shared_ptr<http::Stream> stream =
      responder.stream(200, sse_headers(hs->id), http::StreamKind::kEventStream);
  std::shared_ptr<http::Stream> previous;
  {
    std::lock_guard lock(hs->mu);
    previous = std::exchange(hs->get_stream, stream);
  }
  if (previous) previous->close();
  if (revision.has(Feature::kSsePriming)) stream->write(hs->record(0, nullptr));
  if (const auto last = req.headers.get("Last-Event-ID")) {
    const std::string_view v = trim(*last);
    if (v.starts_with("0_")) {
      std::uint64_t seq = 0;
      bool ok = v.size() > 2 && v.size() < 30;
      for (std::size_t i = 2; ok && i < v.size(); ++i) ok = v[i] >= '0' && v[i] <= '9';
      if (ok) seq = std::stoull(std::string(v.substr(2)));
      if (ok) {
        for (auto& text : hs->replay(0, seq)) stream->write(std::move(text));
      }
    }
  }
}

void HttpTransport::handle_delete(http::Request& req, http::Responder responder) {
  if (auto refused = refuse_stream_or_session_request(req)) return responder.send(std::move(*refused));
  http::Response error;
  auto hs = find_session(req, error);
  if (!hs) return responder.send(std::move(error));
  remove_session(hs->id);
  responder.send(http::Response::empty(200));
}

}  // namespace taskman::mcp
