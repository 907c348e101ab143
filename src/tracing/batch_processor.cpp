#include "tracing/batch_processor.hpp"

#include <algorithm>

namespace taskman::tracing {

using SteadyClock = std::chrono::steady_clock;

BatchSpanProcessor::BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options)
    : exporter_(std::move(exporter)), options_(options) {
  options_.max_queue_size = std::max<std::size_t>(1, options_.max_queue_size);
  // sdk.md: maxExportBatchSize must be <= maxQueueSize.
  options_.max_export_batch_size =
      std::clamp<std::size_t>(options_.max_export_batch_size, 1, options_.max_queue_size);
  // A zero delay would make the idle worker spin; one millisecond keeps "export as soon as possible".
  options_.schedule_delay = std::max(options_.schedule_delay, std::chrono::milliseconds(1));
  worker_ = std::thread([this] { run(); });
}

BatchSpanProcessor::~BatchSpanProcessor() { shutdown(SteadyClock::now() + options_.export_timeout); }

void BatchSpanProcessor::on_end(SpanData&& span) {
  if (shut_down_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);  // held only for a push: never across an export
    if (stopping_ || queue_.size() >= options_.max_queue_size) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(span));
    ++enqueued_seq_;
    wake = queue_.size() == options_.max_export_batch_size;
  }
  if (wake) work_cv_.notify_one();
}

std::size_t BatchSpanProcessor::export_one_batch(std::unique_lock<std::mutex>& lock,
                                                 SteadyClock::time_point deadline) {
  const std::size_t n = std::min(queue_.size(), options_.max_export_batch_size);
  if (n == 0) return 0;
  std::vector<SpanData> batch;
  batch.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  lock.unlock();
  const ExportResult result = exporter_->export_spans(batch, deadline);
  if (result == ExportResult::kSuccess) {
    exported_.fetch_add(n, std::memory_order_relaxed);
  } else {
    export_failed_spans_.fetch_add(n, std::memory_order_relaxed);
    export_failures_.fetch_add(1, std::memory_order_relaxed);
  }
  lock.lock();
  handled_seq_ += n;
  done_cv_.notify_all();
  return n;
}

void BatchSpanProcessor::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    const auto wake_at = SteadyClock::now() + options_.schedule_delay;
    const bool signalled = work_cv_.wait_until(lock, wake_at, [&] {
      return stopping_ || queue_.size() >= options_.max_export_batch_size || flush_target_ > handled_seq_;
    });
    // On the schedule delay everything queued goes out; otherwise full batches, or all of it when a
    // flush or shutdown asks.
    for (;;) {
      if (queue_.empty()) break;
      const bool drain = !signalled || stopping_ || flush_target_ > handled_seq_;
      if (!drain && queue_.size() < options_.max_export_batch_size) break;
      auto deadline = SteadyClock::now() + options_.export_timeout;
      if (stopping_) {
        if (SteadyClock::now() >= shutdown_deadline_) {
          // Out of time: what is left is lost, and counted as such.
          dropped_.fetch_add(queue_.size(), std::memory_order_relaxed);
          handled_seq_ += queue_.size();
          queue_.clear();
          break;
        }
        deadline = std::min(deadline, shutdown_deadline_);
      }
      export_one_batch(lock, deadline);
    }
    if (stopping_ && queue_.empty()) break;
  }
  stopped_ = true;
  done_cv_.notify_all();
}

bool BatchSpanProcessor::force_flush(SteadyClock::time_point deadline) {
  std::unique_lock lock(mu_);
  const std::uint64_t target = enqueued_seq_;
  if (handled_seq_ >= target) return true;
  flush_target_ = std::max(flush_target_, target);
  work_cv_.notify_one();
  done_cv_.wait_until(lock, deadline, [&] { return handled_seq_ >= target || stopped_; });
  return handled_seq_ >= target;
}

bool BatchSpanProcessor::shutdown(SteadyClock::time_point deadline) {
  if (shut_down_.exchange(true)) {
    if (worker_.joinable()) worker_.join();
    return true;
  }
  bool done;
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
    shutdown_deadline_ = deadline;
    work_cv_.notify_one();
    done = done_cv_.wait_until(lock, deadline, [&] { return stopped_; });
  }
  // The deadline passed with an export still running: make the exporter give up so join returns.
  if (!done) exporter_->cancel();
  worker_.join();
  return done;
}

BatchStats BatchSpanProcessor::stats() const {
  BatchStats s;
  s.spans_exported = exported_.load(std::memory_order_relaxed);
  s.spans_dropped = dropped_.load(std::memory_order_relaxed);
  s.spans_export_failed = export_failed_spans_.load(std::memory_order_relaxed);
  s.export_failures = export_failures_.load(std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  s.queue_size = queue_.size();
  return s;
}

}  // namespace taskman::tracing
