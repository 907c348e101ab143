// Responder and the Stream it hands out for chunked answers: the handler's side of a request.
#include "http/responder_state.hpp"

namespace taskman::http {

namespace {

class StreamImpl final : public Stream {
 public:
  explicit StreamImpl(std::shared_ptr<Responder::State> s) : s_(std::move(s)) {}
  bool write(std::string chunk) override {
    {
      std::lock_guard lock(s_->mu);
      if (s_->stream_closed) return false;
      s_->chunks.push_back(std::move(chunk));
    }
    s_->wake();
    return true;
  }
  void close() override {
    {
      std::lock_guard lock(s_->mu);
      if (s_->stream_closed) return;
      s_->stream_closed = true;
    }
    s_->wake();
  }
  bool closed() const override {
    std::lock_guard lock(s_->mu);
    return s_->stream_closed;
  }

 private:
  std::shared_ptr<Responder::State> s_;
};

}  // namespace

Responder::~Responder() {
  if (!state_) return;
  bool unanswered;
  {
    std::lock_guard lock(state_->mu);
    unanswered = !state_->done;
  }
  if (unanswered) send(Response::json(500, R"({"title":"handler did not answer","status":500})"));
}

void Responder::send(Response response) {
  if (!state_) return;
  {
    std::lock_guard lock(state_->mu);
    if (state_->done) return;
    state_->done = true;
    state_->response = std::move(response);
  }
  state_->wake();
  state_.reset();
}

std::shared_ptr<Stream> Responder::stream(int status, Headers headers, StreamKind kind) {
  auto s = std::move(state_);
  {
    std::lock_guard lock(s->mu);
    s->done = true;
    s->streaming = true;
    s->event_stream = kind == StreamKind::kEventStream;
    s->stream_status = status;
    s->stream_headers = std::move(headers);
  }
  s->wake();
  return std::make_shared<StreamImpl>(s);
}

}  // namespace taskman::http
