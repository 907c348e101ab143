#pragma once
// What a Responder completes (http/message.hpp): the handler fills it from any thread, the connection
// coroutine of http/server.cpp waits on `signal` (a timer used as an event: cancel() wakes the waiter)
// and writes what it finds. All wake-ups are posted to the connection's single-threaded executor, so
// check-then-wait there cannot miss one. Private to the HTTP library.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "http/message.hpp"

namespace taskman::http {

struct Responder::State : std::enable_shared_from_this<Responder::State> {
  explicit State(boost::asio::any_io_executor ex) : executor(ex), signal(ex) {}

  boost::asio::any_io_executor executor;
  boost::asio::steady_timer signal;
  std::mutex mu;
  bool done = false;  // send() or stream() called
  std::optional<Response> response;
  bool streaming = false;
  bool event_stream = false;  // StreamKind::kEventStream: the drain closes it
  int stream_status = 200;
  Headers stream_headers;
  std::deque<std::string> chunks;
  bool stream_closed = false;

  void wake() {
    if (executor.target<boost::asio::io_context::executor_type>() != nullptr &&
        executor.target<boost::asio::io_context::executor_type>()->running_in_this_thread()) {
      signal.cancel();
      return;
    }
    boost::asio::post(executor, [self = shared_from_this()] { self->signal.cancel(); });
  }
};

}  // namespace taskman::http
