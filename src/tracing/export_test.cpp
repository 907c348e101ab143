#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <latch>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tracing/batch_processor.hpp"
#include "tracing/otlp_encode.hpp"
#include "tracing/sampler.hpp"
#include "tracing/settings.hpp"
#include "tracing/trace_context.hpp"
#include "tracing/tracer.hpp"

#include "tracing/tracing_test_support.hpp"

namespace taskman::tracing {
namespace {

using namespace std::chrono_literals;
using namespace taskman::tracing::testing;

// ---------------------------------------------------------------- batch processor

SpanData make_span(int i) {
  SpanData s;
  s.trace_id = trace_id_with_low(static_cast<std::uint64_t>(i) + 1);
  s.span_id[7] = static_cast<std::uint8_t>(i + 1);
  s.name = "span-" + std::to_string(i);
  return s;
}

// Counts exports; the first export blocks until release() when block_first is set.
class FakeExporter : public SpanExporter {
 public:
  explicit FakeExporter(bool block_first) : block_first_(block_first) {}
  ExportResult export_spans(std::vector<SpanData>& batch, std::chrono::steady_clock::time_point) override {
    const int call = calls_.fetch_add(1);
    if (block_first_ && call == 0) {
      entered_.count_down();
      release_.wait();
    }
    std::lock_guard lock(mu_);
    for (auto& s : batch) names_.push_back(s.name);
    batch_sizes_.push_back(batch.size());
    exported_cv_.notify_all();
    return fail_ ? ExportResult::kFailure : ExportResult::kSuccess;
  }
  // Waits (bounded) until `n` spans have been exported.
  bool wait_for_spans(std::size_t n, std::chrono::milliseconds bound) {
    std::unique_lock lock(mu_);
    return exported_cv_.wait_for(lock, bound, [&] { return names_.size() >= n; });
  }
  void cancel() override {
    cancelled_ = true;
    release();
  }
  void release() {
    if (!released_.exchange(true)) release_.count_down();
  }
  std::vector<std::string> names() {
    std::lock_guard lock(mu_);
    return names_;
  }
  std::vector<std::size_t> batch_sizes() {
    std::lock_guard lock(mu_);
    return batch_sizes_;
  }

  std::latch entered_{1};
  std::latch release_{1};
  std::atomic<bool> released_{false};
  std::atomic<bool> cancelled_{false};
  std::atomic<int> calls_{0};
  bool fail_ = false;

 private:
  bool block_first_;
  std::mutex mu_;
  std::condition_variable exported_cv_;
  std::vector<std::string> names_;
  std::vector<std::size_t> batch_sizes_;
};

BatchOptions slow_schedule(std::size_t queue, std::size_t batch) {
  BatchOptions o;
  o.max_queue_size = queue;
  o.max_export_batch_size = batch;
  o.schedule_delay = std::chrono::hours(1);  // only batch size, flush and shutdown trigger exports
  o.export_timeout = 10s;
  return o;
}

TEST(BatchSpanProcessor, FullQueueDropsWithoutBlocking) {
  auto owned = std::make_unique<FakeExporter>(true);
  FakeExporter& exporter = *owned;
  BatchSpanProcessor bsp(std::move(owned), slow_schedule(2, 1));
  bsp.on_end(make_span(0));  // reaches the batch size: the worker takes it and blocks in export
  exporter.entered_.wait();
  // The worker is stuck; the queue (2) fills and further spans are dropped. If on_end waited for the
  // exporter this test would hang here instead of passing.
  for (int i = 1; i <= 5; ++i) bsp.on_end(make_span(i));
  auto stats = bsp.stats();
  EXPECT_EQ(stats.queue_size, 2u);
  EXPECT_EQ(stats.spans_dropped, 3u);
  EXPECT_EQ(stats.spans_exported, 0u);
  exporter.release();
  EXPECT_TRUE(bsp.force_flush(std::chrono::steady_clock::now() + 10s));
  stats = bsp.stats();
  EXPECT_EQ(stats.spans_exported, 3u);
  EXPECT_EQ(stats.queue_size, 0u);
  EXPECT_EQ(exporter.names(), (std::vector<std::string>{"span-0", "span-1", "span-2"}));
}

TEST(BatchSpanProcessor, ShutdownFlushesEverythingInBatches) {
  auto owned = std::make_unique<FakeExporter>(false);
  FakeExporter& exporter = *owned;
  BatchSpanProcessor bsp(std::move(owned), slow_schedule(100, 4));
  for (int i = 0; i < 10; ++i) bsp.on_end(make_span(i));
  EXPECT_TRUE(bsp.shutdown(std::chrono::steady_clock::now() + 10s));
  EXPECT_EQ(exporter.names().size(), 10u);
  for (std::size_t n : exporter.batch_sizes()) EXPECT_LE(n, 4u);
  EXPECT_EQ(bsp.stats().spans_exported, 10u);
  bsp.on_end(make_span(99));  // after shutdown: dropped, counted
  EXPECT_EQ(bsp.stats().spans_dropped, 1u);
  EXPECT_EQ(exporter.names().size(), 10u);
}

TEST(BatchSpanProcessor, ShutdownIsBoundedWhenTheExporterHangs) {
  auto owned = std::make_unique<FakeExporter>(true);
  FakeExporter& exporter = *owned;
  BatchSpanProcessor bsp(std::move(owned), slow_schedule(100, 1));
  bsp.on_end(make_span(0));
  exporter.entered_.wait();
  bsp.on_end(make_span(1));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(bsp.shutdown(start + 100ms));  // the exporter never returns on its own
  EXPECT_TRUE(exporter.cancelled_.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  const auto stats = bsp.stats();
  EXPECT_EQ(stats.spans_dropped, 1u);  // span-1 never got out
  EXPECT_EQ(stats.queue_size, 0u);
}

TEST(BatchSpanProcessor, FailedExportsAreCounted) {
  auto owned = std::make_unique<FakeExporter>(false);
  owned->fail_ = true;
  BatchSpanProcessor bsp(std::move(owned), slow_schedule(100, 100));
  for (int i = 0; i < 3; ++i) bsp.on_end(make_span(i));
  EXPECT_TRUE(bsp.force_flush(std::chrono::steady_clock::now() + 10s));
  const auto stats = bsp.stats();
  EXPECT_EQ(stats.spans_exported, 0u);
  EXPECT_EQ(stats.spans_export_failed, 3u);
  EXPECT_EQ(stats.export_failures, 1u);
}

TEST(BatchSpanProcessor, ScheduleDelayExportsAPartialBatch) {
  auto owned = std::make_unique<FakeExporter>(false);
  FakeExporter& exporter = *owned;
  BatchOptions o = slow_schedule(100, 100);
  o.schedule_delay = 1ms;  // the timer, not a flush, must send the lone span
  BatchSpanProcessor bsp(std::move(owned), o);
  bsp.on_end(make_span(0));
  // Waits on the export itself (a condition variable with a generous bound, not a sleep).
  EXPECT_TRUE(exporter.wait_for_spans(1, 10s));
  EXPECT_EQ(exporter.calls_.load(), 1);
}

// ---------------------------------------------------------------- encodings

SpanData rich_span() {
  SpanData s;
  s.trace_id = *[] {
    TraceId t;
    from_hex(kTrace, t);
    return std::optional(t);
  }();
  from_hex("0102030405060708", s.span_id);
  from_hex(kSpan, s.parent_span_id);
  s.parent_remote = true;
  s.trace_flags = 1;
  s.trace_state = "congo=x";
  s.name = "tools/call create_task";
  s.kind = SpanKind::kServer;
  s.start_unix_nano = 1764212345000000001ULL;
  s.end_unix_nano = 1764212345000000999ULL;
  s.attributes = {{"s", "v"}, {"b", true}, {"i", std::int64_t{-5}}, {"d", 1.5}};
  s.events = {{"exception", 1764212345000000500ULL, {{"exception.message", "boom"}}}};
  s.status = StatusCode::kError;
  s.status_message = "boom";
  return s;
}

TEST(OtlpJson, EncodesPerTheOtlpJsonMapping) {
  Resource r{{{"service.name", "taskman-mcp"}}};
  const std::vector<SpanData> spans = {rich_span()};
  const auto j = nlohmann::json::parse(encode_json(r, {"taskman", "0.1.0"}, spans));
  const auto& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(rs["scopeSpans"][0]["scope"]["version"], "0.1.0");
  const auto& s = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(s["traceId"], kTrace);  // hex, not base64
  EXPECT_EQ(s["spanId"], "0102030405060708");
  EXPECT_EQ(s["parentSpanId"], kSpan);
  EXPECT_EQ(s["traceState"], "congo=x");
  EXPECT_EQ(s["kind"], 2);  // enums as integers
  EXPECT_EQ(s["flags"], 0x301);
  EXPECT_EQ(s["startTimeUnixNano"], "1764212345000000001");  // 64-bit as strings
  EXPECT_EQ(s["attributes"][0]["value"]["stringValue"], "v");
  EXPECT_EQ(s["attributes"][1]["value"]["boolValue"], true);
  EXPECT_EQ(s["attributes"][2]["value"]["intValue"], "-5");
  EXPECT_EQ(s["attributes"][3]["value"]["doubleValue"], 1.5);
  EXPECT_EQ(s["events"][0]["timeUnixNano"], "1764212345000000500");
  EXPECT_EQ(s["events"][0]["attributes"][0]["value"]["stringValue"], "boom");
  EXPECT_EQ(s["status"]["code"], 2);
  EXPECT_EQ(s["status"]["message"], "boom");
}

TEST(OtlpProtobuf, GzipRoundTripsAndStartsWithResourceSpans) {
  const std::vector<SpanData> spans = {rich_span(), make_span(1)};
  const std::string pb = encode_protobuf({{{"service.name", "x"}}}, {}, spans);
  ASSERT_FALSE(pb.empty());
  EXPECT_EQ(static_cast<unsigned char>(pb[0]), 0x0a);  // field 1, wire type 2
  const auto gz = gzip_compress(pb);
  ASSERT_TRUE(gz);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  EXPECT_EQ(gzip_decompress(*gz).value(), pb);
  EXPECT_FALSE(gzip_decompress(gz->substr(0, gz->size() / 2)));
}

TEST(OtlpProtobuf, PartialSuccessResponse) {
  // ExportTraceServiceResponse{partial_success{rejected_spans: 3, error_message: "bad"}}
  const std::string body(
      "\x0a\x07\x08\x03\x12\x03"
      "bad",
      9);
  const auto ps = decode_partial_success_protobuf(body);
  ASSERT_TRUE(ps);
  EXPECT_EQ(ps->rejected_spans, 3);
  EXPECT_EQ(ps->error_message, "bad");
  EXPECT_FALSE(decode_partial_success_protobuf(""));
  EXPECT_FALSE(decode_partial_success_protobuf(std::string("\x0a\x09\x08", 3)));  // truncated
}

}  // namespace
}  // namespace taskman::tracing
