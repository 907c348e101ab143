// The I/O pool: one io_context per thread, each run by its own thread (no Beast here).
#include <boost/asio.hpp>

#include <atomic>
#include <thread>

#include "http/server.hpp"

namespace taskman::http {

namespace asio = boost::asio;

struct IoPool::Impl {
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::atomic<std::size_t> next{0};
};

IoPool::IoPool(std::size_t threads) : impl_(std::make_unique<Impl>()) {
  if (threads == 0) threads = 1;
  for (std::size_t i = 0; i < threads; ++i) {
    impl_->contexts.push_back(std::make_unique<asio::io_context>(1));
    impl_->guards.push_back(asio::make_work_guard(*impl_->contexts.back()));
  }
}

IoPool::~IoPool() { stop(); }

void IoPool::start() {
  for (auto& ctx : impl_->contexts) {
    impl_->threads.emplace_back([c = ctx.get()] { c->run(); });
  }
}

void IoPool::stop() {
  impl_->guards.clear();
  for (auto& ctx : impl_->contexts) ctx->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
    if (t.joinable()) t.detach();
  }
  impl_->threads.clear();
}

std::size_t IoPool::size() const { return impl_->contexts.size(); }
void* IoPool::context(std::size_t i) { return impl_->contexts.at(i).get(); }
std::size_t IoPool::next_index() { return impl_->next.fetch_add(1, std::memory_order_relaxed) % size(); }
void IoPool::post(std::function<void()> fn) { asio::post(*impl_->contexts[next_index()], std::move(fn)); }

void IoPool::schedule(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::size_t index = impl_->contexts.size();
  for (std::size_t i = 0; i < impl_->contexts.size(); ++i) {
    if (impl_->contexts[i]->get_executor().running_in_this_thread()) index = i;
  }
  if (index == impl_->contexts.size()) index = next_index();
  auto timer = std::make_shared<asio::steady_timer>(*impl_->contexts[index], delay);
  timer->async_wait([timer, fn = std::move(fn)](const boost::system::error_code&) { fn(); });
}

}  // namespace taskman::http
