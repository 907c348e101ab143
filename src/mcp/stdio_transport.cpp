#include "mcp/stdio_transport.hpp"

#include <algorithm>
#include <istream>
#include <ostream>
#include <string>

#include "mcp/modern.hpp"

namespace taskman::mcp {

// Related messages and the response all go to the one output stream, in call order.
class StdioTransport::StdioExchange : public Exchange {
 public:
  explicit StdioExchange(StdioTransport& t) : t_(t) {}
  void send_related(const Json& message) override { t_.write(message); }
  void finish(std::optional<Json> response) override {
    if (response) t_.write(*response);
  }

 private:
  StdioTransport& t_;
};

StdioTransport::StdioTransport(Server& server, std::istream& in, std::ostream& out, StdioOptions options)
    : server_(server), in_(in), out_(out), options_(std::move(options)) {
  session_ = server_.open_session(options_.session_id);
  session_->set_outbound([this](const Json& m) { return write(m); });
}

StdioTransport::~StdioTransport() { server_.close_session(session_); }

bool StdioTransport::write(const Json& message) {
  const std::string line = serialize(message) + "\n";
  std::lock_guard lock(out_mu_);
  out_ << line;
  out_.flush();
  return static_cast<bool>(out_);
}

void StdioTransport::handle_line(std::string_view line) {
  auto parsed = parse_json(line);
  if (auto* err = std::get_if<RpcError>(&parsed)) {
    write(make_error(nullptr, *err));
    return;
  }
  auto msg = to_message(std::get<Json>(parsed));
  if (auto* bad = std::get_if<InvalidMessage>(&msg)) {
    write(make_error(bad->id, bad->error));
    return;
  }
  auto& m = std::get<Message>(msg);
  // A cancellation may itself carry the era's _meta: the era's calls are looked up first.
  if (m.kind == MessageKind::kNotification && m.method == "notifications/cancelled" && cancel_modern(m))
    return;
  if (modern::claims_modern(m)) return handle_modern(m);
  if (m.kind == MessageKind::kRequest && m.method == "initialize" && modern_fixed_) {
    const Json requested = m.params.is_object() ? m.params.value("protocolVersion", Json("")) : Json("");
    write(make_error(m.id,
                     modern::unsupported_version(requested.is_string() ? requested.get<std::string>() : "")));
    return;
  }
  std::shared_ptr<Exchange> exchange;
  if (m.kind == MessageKind::kRequest) exchange = std::make_shared<StdioExchange>(*this);
  server_.handle(session_, m, std::move(exchange));
}

void StdioTransport::handle_modern(const Message& m) {
  // A discover probe does not fix the era: a client may still initialize after it.
  if (m.kind == MessageKind::kRequest && m.method != "server/discover") modern_fixed_ = true;
  std::shared_ptr<Exchange> exchange;
  if (m.kind == MessageKind::kRequest) exchange = std::make_shared<StdioExchange>(*this);
  auto session = server_.handle_modern(m, std::move(exchange));
  for (auto it = modern_calls_.begin(); it != modern_calls_.end();)
    it = it->second.expired() ? modern_calls_.erase(it) : std::next(it);
  if (session && session->in_flight() > 0) modern_calls_[id_key(m.id)] = session;
}

bool StdioTransport::cancel_modern(const Message& m) {
  if (!m.params.is_object() || !m.params.contains("requestId")) return false;
  auto it = modern_calls_.find(id_key(m.params["requestId"]));
  if (it == modern_calls_.end()) return false;
  if (auto session = it->second.lock()) server_.handle(session, m, nullptr);
  return true;
}

void StdioTransport::run() {
  std::string line;
  while (std::getline(in_, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    handle_line(line);
  }
  // EOF (transports §stdio shutdown): the client can no longer answer requests, but may still read
  // our output; give running calls drain_timeout to finish and be answered, then cancel the rest.
  session_->end_input();
  // Listen streams have no end of their own: they end now, answered, like the calls that finish.
  server_.close_listeners();
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  session_->wait_idle(options_.drain_timeout);
  for (auto& [id, weak] : modern_calls_) {
    if (auto s = weak.lock()) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      s->wait_idle(std::max(left, std::chrono::milliseconds(0)));
      s->close();
    }
  }
  session_->close();
}

}  // namespace taskman::mcp
