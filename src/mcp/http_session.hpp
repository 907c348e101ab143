#pragma once
// The Streamable HTTP transport's per-client state (HttpSession) and the reply channel of one
// POSTed request (HttpExchange), shared by the session-era handling (http_transport.cpp) and the
// per-request era (http_modern.cpp). Internal to the transport; not for other callers.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "http/message.hpp"
#include "mcp/http_transport.hpp"

namespace taskman::mcp {

inline constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
inline constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";

inline std::string sse_event(const std::string& id, const Json& message) {
  std::string out;
  if (!id.empty()) out += "id: " + id + "\n";
  out += "data: " + serialize(message) + "\n\n";
  return out;
}

inline http::Headers sse_headers(const std::string& session_id) {
  http::Headers h;
  h.set("Content-Type", "text/event-stream");
  h.set("Cache-Control", "no-cache");
  if (!session_id.empty()) h.set(kSessionHeader, session_id);
  return h;
}

// The HTTP status of a per-request-era response (http_modern.cpp): 404 for an unknown method,
// 400 for the era's request errors, 200 otherwise (handler errors stay 200).
int modern_http_status(const Json& response);

// One client's state on this transport. The GET stream and the replay buffer live here.
struct HttpTransport::HttpSession {
  struct StoredEvent {
    std::uint64_t stream;
    std::uint64_t seq;
    std::string text;  // the whole SSE event
  };

  std::string id;  // empty in stateless mode
  std::shared_ptr<Session> session;
  bool resumable = true;
  std::size_t max_events = 0;

  std::mutex mu;  // guards everything below
  std::chrono::steady_clock::time_point last_used;
  std::shared_ptr<http::Stream> get_stream;
  std::uint64_t next_stream = 1;  // stream 0 is the GET stream
  std::uint64_t next_seq = 1;
  std::deque<StoredEvent> events;
  std::map<std::uint64_t, std::weak_ptr<HttpExchange>> exchanges;

  // Assigns an event id, remembers the event for replay; returns the SSE text.
  std::string record(std::uint64_t stream, const Json* message) {
    std::lock_guard lock(mu);
    const std::uint64_t seq = next_seq++;
    const std::string id = std::to_string(stream) + "_" + std::to_string(seq);
    std::string text = message ? sse_event(id, *message) : "id: " + id + "\ndata: \n\n";
    if (resumable && message) {
      events.push_back({stream, seq, text});
      while (events.size() > max_events) events.pop_front();
    }
    return text;
  }
  std::vector<std::string> replay(std::uint64_t stream, std::uint64_t after) {
    std::lock_guard lock(mu);
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.stream == stream && e.seq > after) out.push_back(e.text);
    return out;
  }
};

// The revision that decides SSE details (priming events) for a stream: the one the session
// negotiated, which a client may not restate in every header (the conformance suite sends
// 2025-03-26 on a 2025-11-25 session); the header's only when the session has none yet.
inline const Revision& stream_revision(const HttpTransport::HttpSession& hs,
                                       const Revision& header_revision) {
  if (hs.session) {
    if (const Revision* negotiated = hs.session->revision()) return *negotiated;
  }
  return header_revision;
}

// The answer to one POSTed request: a JSON body when nothing else is sent first, else an SSE
// stream that carries the related messages and then the response (§Sending Messages to the Server).
class HttpTransport::HttpExchange : public Exchange {
 public:
  // header_revision: what the request's MCP-Protocol-Version header names (or implies).
  HttpExchange(http::Responder responder, std::shared_ptr<HttpSession> hs, const Revision& header_revision,
               std::chrono::milliseconds retry, std::function<void()> on_done)
      : responder_(std::move(responder)),
        hs_(std::move(hs)),
        header_revision_(header_revision),
        retry_(retry),
        on_done_(std::move(on_done)) {
    std::lock_guard lock(hs_->mu);
    stream_no_ = hs_->next_stream++;
  }
  std::uint64_t stream_no() const { return stream_no_; }
  // A request of the per-request era: its errors get the era's HTTP statuses; `listen` streams
  // (subscriptions/listen) are event streams the graceful shutdown closes.
  void set_per_request_era(bool listen) {
    std::lock_guard lock(mu_);
    per_request_era_ = true;
    event_stream_ = listen;
  }
  bool gone() const override {
    std::lock_guard lock(mu_);
    return stream_lost_ || (stream_ && stream_->closed());
  }

  void send_related(const Json& message) override {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!stream_ && !detached_) open_stream_locked();
    emit_locked(message);
  }

  void finish(std::optional<Json> response) override {
    std::function<void()> done;
    {
      std::lock_guard lock(mu_);
      if (finished_) return;
      finished_ = true;
      done = std::move(on_done_);
      if (stream_ || detached_) {
        if (response) emit_locked(*response);
        if (stream_) stream_->close();
        stream_.reset();
      } else if (responder_) {
        const int status = response && per_request_era_ ? modern_http_status(*response) : 200;
        http::Response r =
            response ? http::Response::json(status, serialize(*response)) : http::Response::empty(202);
        if (!hs_->id.empty()) r.headers.set(kSessionHeader, hs_->id);
        responder_->send(std::move(r));
        responder_.reset();
      }
    }
    if (done) done();
  }

  void close_stream() override {
    std::lock_guard lock(mu_);
    if (finished_ || !hs_->resumable) return;
    if (!stream_ && !detached_) open_stream_locked();
    if (stream_) stream_->close();
    stream_.reset();
    detached_ = true;
  }

  // Continues this exchange on a new stream after `after` (a GET with Last-Event-ID).
  void resume(std::shared_ptr<http::Stream> stream, std::uint64_t after) {
    std::lock_guard lock(mu_);
    for (auto& text : hs_->replay(stream_no_, after)) stream->write(std::move(text));
    if (finished_) {
      stream->close();
      return;
    }
    if (stream_) stream_->close();
    stream_ = std::move(stream);
    detached_ = false;
  }

 private:
  void open_stream_locked() {
    stream_ =
        responder_->stream(200, sse_headers(hs_->id),
                           event_stream_ ? http::StreamKind::kEventStream : http::StreamKind::kResponse);
    responder_.reset();
    // The priming event carries an id so the client can resume this stream (§Resumability). The
    // revision is looked up now, not at construction: an initialize request has negotiated it by
    // the time anything is streamed.
    if (hs_->resumable && stream_revision(*hs_, header_revision_).has(Feature::kSsePriming)) {
      std::string text = hs_->record(stream_no_, nullptr);
      if (retry_.count() > 0)
        text.insert(text.find("data:"), "retry: " + std::to_string(retry_.count()) + "\n");
      stream_->write(std::move(text));
    }
  }
  void emit_locked(const Json& message) {
    std::string text = hs_->resumable ? hs_->record(stream_no_, &message) : sse_event("", message);
    if (stream_ && !stream_->write(std::move(text))) {
      stream_.reset();
      stream_lost_ = true;
    }
  }

  mutable std::mutex mu_;  // orders writes: related messages, then the response
  std::optional<http::Responder> responder_;
  std::shared_ptr<HttpSession> hs_;
  const Revision& header_revision_;
  const std::chrono::milliseconds retry_;
  std::function<void()> on_done_;
  std::uint64_t stream_no_ = 0;
  std::shared_ptr<http::Stream> stream_;
  bool finished_ = false;
  bool detached_ = false;  // the server closed the stream; events wait for the client to resume
  bool per_request_era_ = false;
  bool event_stream_ = false;
  bool stream_lost_ = false;  // a write failed: the client went away
};

}  // namespace taskman::mcp
