#pragma once
// The batch span processor of the OTel SDK spec (trace/sdk.md "Batching processor"): finished spans
// go into a bounded queue; one background thread exports them in batches. A full queue drops the
// span and counts it -- on_end never waits for export (docs/observability.md#sampling-and-export: tracing
// never blocks a request).
//
// Thread-safety: on_end may be called from any thread; the queue is guarded by mu_, which is never
// held while exporting. force_flush/shutdown may be called from any thread but the worker.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "tracing/tracer.hpp"

namespace taskman::tracing {

enum class ExportResult { kSuccess, kFailure };

// Sends a batch somewhere. Called only from the processor's worker thread, one batch at a time.
class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Must return by `deadline` (give up retries, bound the request timeout by it).
  virtual ExportResult export_spans(std::vector<SpanData>& batch,
                                    std::chrono::steady_clock::time_point deadline) = 0;
  // Makes an export in progress (and any later one) return promptly; called from another thread
  // when shutdown's deadline passes. Idempotent.
  virtual void cancel() {}
};

struct BatchOptions {
  std::size_t max_queue_size = 2048;        // OTEL_BSP_MAX_QUEUE_SIZE
  std::size_t max_export_batch_size = 512;  // OTEL_BSP_MAX_EXPORT_BATCH_SIZE (clamped to the queue size)
  std::chrono::milliseconds schedule_delay{5000};   // OTEL_BSP_SCHEDULE_DELAY
  std::chrono::milliseconds export_timeout{30000};  // OTEL_BSP_EXPORT_TIMEOUT
};

// Self-metrics for the metrics layer (docs/observability.md#metrics: tracer_spans_exported_total /
// tracer_spans_dropped_total).
struct BatchStats {
  std::uint64_t spans_exported = 0;       // in batches the exporter reported as delivered
  std::uint64_t spans_dropped = 0;        // queue full, or ended after shutdown
  std::uint64_t spans_export_failed = 0;  // in batches whose export failed (not retried further)
  std::uint64_t export_failures = 0;      // failed export calls
  std::size_t queue_size = 0;
};

class BatchSpanProcessor final : public SpanProcessor {
 public:
  BatchSpanProcessor(std::unique_ptr<SpanExporter> exporter, BatchOptions options);
  ~BatchSpanProcessor() override;  // shutdown with the export timeout as bound
  BatchSpanProcessor(const BatchSpanProcessor&) = delete;
  BatchSpanProcessor& operator=(const BatchSpanProcessor&) = delete;

  void on_end(SpanData&& span) override;
  // Exports everything queued before the call; true when it was all handed over by `deadline`.
  bool force_flush(std::chrono::steady_clock::time_point deadline);
  // Flushes what is queued within `deadline`, then stops the worker. Later spans are dropped. When
  // the deadline passes the exporter is cancelled and the call returns false.
  bool shutdown(std::chrono::steady_clock::time_point deadline);

  BatchStats stats() const;
  const BatchOptions& options() const { return options_; }

 private:
  void run();
  // Exports up to one batch from the queue; returns the number of spans taken. Called on the worker
  // with `lock` held; unlocks around the export.
  std::size_t export_one_batch(std::unique_lock<std::mutex>& lock,
                               std::chrono::steady_clock::time_point deadline);

  std::unique_ptr<SpanExporter> exporter_;
  BatchOptions options_;

  mutable std::mutex mu_;            // guards queue_, the flush bookkeeping and the flags below
  std::condition_variable work_cv_;  // worker waits: batch ready, flush, shutdown, or schedule delay
  std::condition_variable done_cv_;  // flushers wait for flushed_seq_ to advance
  std::deque<SpanData> queue_;
  std::uint64_t enqueued_seq_ = 0;  // spans ever accepted into the queue
  std::uint64_t handled_seq_ = 0;   // spans the worker has finished exporting (or failing)
  std::uint64_t flush_target_ = 0;  // the worker exports until handled_seq_ reaches this
  bool stopping_ = false;
  std::chrono::steady_clock::time_point shutdown_deadline_{};
  bool stopped_ = false;  // worker has left its loop

  std::atomic<std::uint64_t> exported_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> export_failed_spans_{0};
  std::atomic<std::uint64_t> export_failures_{0};
  std::atomic<bool> shut_down_{false};

  std::thread worker_;
};

}  // namespace taskman::tracing
