#include "mcp/stdio_transport.hpp"

#include <istream>
#include <ostream>
#include <string>

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
  std::shared_ptr<Exchange> exchange;
  if (m.kind == MessageKind::kRequest) exchange = std::make_shared<StdioExchange>(*this);
  server_.handle(session_, m, std::move(exchange));
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
  session_->wait_idle(options_.drain_timeout);
  session_->close();
}

}  // namespace taskman::mcp
