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

namespace taskman::tracing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";
const std::string kValid = std::string("00-") + kTrace + "-" + kSpan + "-01";

// ---------------------------------------------------------------- traceparent

struct TraceparentCase {
  const char* name;
  std::vector<std::string> values;
  bool valid;
};

TEST(Traceparent, ConformanceTable) {
  const std::string t = kTrace;
  const std::string s = kSpan;
  const std::vector<TraceparentCase> cases = {
      {"valid sampled", {kValid}, true},
      {"valid not sampled", {"00-" + t + "-" + s + "-00"}, true},
      {"unknown flag bits accepted", {"00-" + t + "-" + s + "-ff"}, true},
      {"uppercase trace id", {"00-4BF92F3577B34DA6A3CE929D0E0E4736-" + s + "-01"}, false},
      {"uppercase span id", {"00-" + t + "-00F067AA0BA902B7-01"}, false},
      {"uppercase flags", {"00-" + t + "-" + s + "-0A"}, false},
      {"uppercase version", {"0A-" + t + "-" + s + "-01"}, false},
      {"all-zero trace id", {"00-00000000000000000000000000000000-" + s + "-01"}, false},
      {"all-zero span id", {"00-" + t + "-0000000000000000-01"}, false},
      {"trace id too short", {"00-" + t.substr(1) + "-" + s + "-01"}, false},
      {"trace id too long", {"00-" + t + "0-" + s + "-01"}, false},
      {"span id too short", {"00-" + t + "-" + s.substr(1) + "-01"}, false},
      {"flags one digit", {"00-" + t + "-" + s + "-1"}, false},
      {"empty", {""}, false},
      {"version ff", {"ff-" + t + "-" + s + "-01"}, false},
      {"version 00 with extra field", {kValid + "-what"}, false},
      {"version 00 with trailing dash", {kValid + "-"}, false},
      {"version 00 with trailing junk", {kValid + "x"}, false},
      {"future version exact length", {"cc-" + t + "-" + s + "-01"}, true},
      {"future version with extra fields", {"cc-" + t + "-" + s + "-01-what-the-future-holds"}, true},
      {"future version, junk after flags", {"cc-" + t + "-" + s + "-01.what"}, false},
      {"future version, invalid trace id", {"cc-00000000000000000000000000000000-" + s + "-01-x"}, false},
      {"surrounding spaces and tabs", {" \t" + kValid + "\t "}, true},
      {"inner space", {"00-" + t + " -" + s + "-01"}, false},
      {"non-hex trace id", {"00-4bf92f3577b34da6a3ce929d0e0e473g-" + s + "-01"}, false},
      {"non-hex span id", {"00-" + t + "-00f067aa0ba902bz-01"}, false},
      {"non-hex flags", {"00-" + t + "-" + s + "-0g"}, false},
      {"non-hex version", {"0x-" + t + "-" + s + "-01"}, false},
      {"wrong separator", {"00_" + t + "-" + s + "-01"}, false},
      {"two headers", {kValid, kValid}, false},
      {"two values folded into one", {kValid + "," + kValid}, false},
      {"no header", {}, false},
  };
  for (const auto& c : cases) {
    std::vector<std::string_view> views(c.values.begin(), c.values.end());
    const auto ctx = parse_traceparent(views);
    EXPECT_EQ(ctx.has_value(), c.valid) << c.name;
  }
}

TEST(Traceparent, ParsesFieldsAndFormatsOnlyTheSampledBit) {
  const auto ctx = parse_traceparent(std::string_view("00-" + std::string(kTrace) + "-" + kSpan + "-03"));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id_hex(), kTrace);
  EXPECT_EQ(ctx->span_id_hex(), kSpan);
  EXPECT_EQ(ctx->flags, 0x03);
  EXPECT_TRUE(ctx->sampled());
  EXPECT_TRUE(ctx->remote);
  EXPECT_EQ(format_traceparent(*ctx), kValid);  // other flag bits zeroed on output
  auto unsampled = *ctx;
  unsampled.flags = 0x02;
  EXPECT_EQ(format_traceparent(unsampled), "00-" + std::string(kTrace) + "-" + kSpan + "-00");
  // A future version is re-emitted as version 00.
  const auto future =
      parse_traceparent(std::string_view("cc-" + std::string(kTrace) + "-" + kSpan + "-01-x"));
  ASSERT_TRUE(future);
  EXPECT_EQ(format_traceparent(*future), kValid);
}

// ---------------------------------------------------------------- tracestate

TEST(TraceState, ParsesListMembers) {
  const auto ts = TraceState::parse(" rojo=00f067aa0ba902b7 ,, congo=t61rcWkgMzE,\tt@vendor=a b ");
  ASSERT_TRUE(ts);
  ASSERT_EQ(ts->size(), 3u);
  EXPECT_EQ(ts->members()[0].first, "rojo");
  EXPECT_EQ(ts->get("congo").value(), "t61rcWkgMzE");
  EXPECT_EQ(ts->get("t@vendor").value(), "a b");
  EXPECT_EQ(ts->to_header(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE,t@vendor=a b");
}

TEST(TraceState, SeveralHeadersCombine) {
  const std::string_view values[] = {"a=1", "b=2,c=3"};
  const auto ts = TraceState::parse(values);
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->to_header(), "a=1,b=2,c=3");
}

TEST(TraceState, RejectsInvalidMembers) {
  for (const char* bad : {"A=1", "a", "=1", "a=", "a=1=2", "a=b\x7f", "1a@B=x", "a@=x", "@a=x", "a@b@c=x",
                          "a@1b=x", "a@abcdefghijklmno=x", "a=1,a=2", "a= ", "a=\xc3\xa9", "a b=1"}) {
    EXPECT_FALSE(TraceState::parse(bad)) << bad;
  }
  EXPECT_TRUE(TraceState::parse("1a=x"));  // level 2: a simple key may start with a digit
  EXPECT_TRUE(TraceState::parse("a-_*/b=x"));
  EXPECT_TRUE(TraceState::parse(std::string(256, 'k') + "=v"));
  EXPECT_FALSE(TraceState::parse(std::string(257, 'k') + "=v"));
  EXPECT_TRUE(TraceState::parse("k=" + std::string(256, 'v')));
  EXPECT_FALSE(TraceState::parse("k=" + std::string(257, 'v')));
  EXPECT_TRUE(TraceState::parse(""));  // empty header: empty list
}

TEST(TraceState, AtMost32Members) {
  std::string s;
  for (int i = 0; i < 32; ++i) s += (i ? ",k" : "k") + std::to_string(i) + "=v";
  ASSERT_TRUE(TraceState::parse(s));
  EXPECT_EQ(TraceState::parse(s)->size(), 32u);
  EXPECT_FALSE(TraceState::parse(s + ",k32=v"));  // 33 members: discard the header
}

TEST(TraceState, PutMovesToFrontAndDropsRightmost) {
  auto ts = TraceState::parse("a=1,b=2").value();
  EXPECT_TRUE(ts.put("b", "3"));
  EXPECT_EQ(ts.to_header(), "b=3,a=1");
  EXPECT_FALSE(ts.put("B", "3"));
  EXPECT_FALSE(ts.put("c", "x=y"));
  std::string s;
  for (int i = 0; i < 32; ++i) s += (i ? ",k" : "k") + std::to_string(i) + "=v";
  auto full = TraceState::parse(s).value();
  EXPECT_TRUE(full.put("new", "v"));
  EXPECT_EQ(full.size(), 32u);
  EXPECT_EQ(full.members().front().first, "new");
  EXPECT_FALSE(full.get("k31"));
}

TEST(TraceState, TruncatesWholeEntriesLongOnesFirst) {
  // 5 entries of 100 chars + one of 200 chars: 700+ chars, over the 512 limit.
  TraceState ts;
  const std::string v98(98, 'x');
  std::vector<std::string> keys = {"a", "b", "c", "d", "e"};
  for (auto it = keys.rbegin(); it != keys.rend(); ++it)
    ASSERT_TRUE(ts.put(*it, v98));                     // "a=xxx" = 100 chars
  ASSERT_TRUE(ts.put("long", std::string(195, 'y')));  // 200 chars, at the front
  const std::string full = ts.to_header(100000);
  ASSERT_GT(full.size(), 512u);
  const std::string cut = ts.to_header();
  EXPECT_LE(cut.size(), 512u);
  // The long entry went first although it is the leftmost; then nothing else had to go.
  EXPECT_EQ(cut.find("long="), std::string::npos);
  EXPECT_NE(cut.find("e="), std::string::npos);
  // With a smaller limit entries are then removed from the end, whole.
  const std::string small = ts.to_header(250);
  EXPECT_EQ(small, "a=" + v98 + ",b=" + v98);
}

TEST(Extract, TracestateOnlyWithAValidTraceparent) {
  const std::string_view tp[] = {kValid};
  const std::string_view ts[] = {"congo=t61rcWkgMzE"};
  const std::string_view bad_ts[] = {"Congo=x"};
  const std::string_view bad_tp[] = {"00-zz"};
  auto ctx = extract(tp, ts);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_state.to_header(), "congo=t61rcWkgMzE");
  ctx = extract(tp, bad_ts);  // a bad tracestate is dropped, traceparent kept
  ASSERT_TRUE(ctx);
  EXPECT_TRUE(ctx->trace_state.empty());
  EXPECT_FALSE(extract(bad_tp, ts));
  const auto headers = inject(*extract(tp, ts));
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"traceparent", kValid}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"tracestate", "congo=t61rcWkgMzE"}));
}

TEST(Extract, FromMcpMeta) {
  auto params = nlohmann::json::parse(R"({"name":"get_task","_meta":{"traceparent":")" + kValid +
                                      R"(","tracestate":"a=1"}})");
  auto ctx = extract_from_mcp_params(params);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id_hex(), kTrace);
  EXPECT_EQ(ctx->trace_state.to_header(), "a=1");
  EXPECT_FALSE(extract_from_mcp_params(nlohmann::json::parse(R"({"_meta":{"traceparent":42}})")));
  EXPECT_FALSE(extract_from_mcp_params(nlohmann::json::parse(R"({"_meta":{"traceparent":"00-bad"}})")));
  EXPECT_FALSE(extract_from_mcp_params(nlohmann::json::parse(R"({"_meta":"x"})")));
  EXPECT_FALSE(extract_from_mcp_params(nlohmann::json::parse(R"([1,2])")));
  EXPECT_FALSE(extract_from_mcp_params(nlohmann::json()));
  nlohmann::json meta;
  inject_into_mcp_meta(*ctx, meta);
  EXPECT_EQ(meta["traceparent"], kValid);
  EXPECT_EQ(meta["tracestate"], "a=1");
}

// ---------------------------------------------------------------- sampler

TraceId trace_id_with_low(std::uint64_t low) {
  TraceId id{};
  id[0] = 1;
  for (int i = 0; i < 8; ++i) id[15 - i] = static_cast<std::uint8_t>(low >> (8 * i));
  return id;
}

SpanContext remote_parent(bool sampled) {
  SpanContext p = *parse_traceparent(std::string_view(kValid));
  p.flags = sampled ? 1 : 0;
  return p;
}

TEST(Sampler, Decisions) {
  const TraceId id = trace_id_with_low(0);
  const auto sampled = remote_parent(true);
  const auto unsampled = remote_parent(false);
  struct Row {
    SamplerKind kind;
    bool root, with_sampled_parent, with_unsampled_parent;
  };
  for (const Row& r : std::vector<Row>{{SamplerKind::kAlwaysOn, true, true, true},
                                       {SamplerKind::kAlwaysOff, false, false, false},
                                       {SamplerKind::kParentBasedAlwaysOn, true, true, false},
                                       {SamplerKind::kParentBasedAlwaysOff, false, true, false}}) {
    Sampler s({r.kind, 1.0});
    EXPECT_EQ(s.should_sample(nullptr, id), r.root) << sampler_kind_name(r.kind);
    EXPECT_EQ(s.should_sample(&sampled, id), r.with_sampled_parent) << sampler_kind_name(r.kind);
    EXPECT_EQ(s.should_sample(&unsampled, id), r.with_unsampled_parent) << sampler_kind_name(r.kind);
  }
  SpanContext invalid;
  EXPECT_FALSE(
      Sampler({SamplerKind::kParentBasedAlwaysOff, 1}).should_sample(&invalid, id));  // no parent: root
}

TEST(Sampler, RatioIsDeterministicOnTheTraceId) {
  Sampler half({SamplerKind::kTraceIdRatio, 0.5});
  EXPECT_TRUE(half.should_sample(nullptr, trace_id_with_low(0)));
  EXPECT_TRUE(
      half.should_sample(nullptr, trace_id_with_low(0x7fffffffffffffffULL)));  // >>1 → just under 2^62
  EXPECT_FALSE(half.should_sample(nullptr, trace_id_with_low(0x8000000000000000ULL)));
  EXPECT_FALSE(half.should_sample(nullptr, trace_id_with_low(~0ULL)));
  // Same id, same answer, whatever the sampler instance.
  const TraceId id = trace_id_with_low(0x5555555555555555ULL);
  EXPECT_EQ(half.should_sample(nullptr, id),
            Sampler({SamplerKind::kTraceIdRatio, 0.5}).should_sample(nullptr, id));
  EXPECT_TRUE(Sampler({SamplerKind::kTraceIdRatio, 1.0}).should_sample(nullptr, trace_id_with_low(~0ULL)));
  EXPECT_FALSE(Sampler({SamplerKind::kTraceIdRatio, 0.0}).should_sample(nullptr, trace_id_with_low(0)));
  // The admitted fraction follows the ratio over evenly spread ids.
  Sampler quarter({SamplerKind::kTraceIdRatio, 0.25});
  int admitted = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) {
    admitted += quarter.should_sample(nullptr, trace_id_with_low(i * (~0ULL / 1000))) ? 1 : 0;
  }
  EXPECT_NEAR(admitted, 250, 2);
  // Parent-based ratio: the parent decides when there is one.
  Sampler pb({SamplerKind::kParentBasedTraceIdRatio, 0.0});
  const auto parent = remote_parent(true);
  EXPECT_TRUE(pb.should_sample(&parent, trace_id_with_low(~0ULL)));
  EXPECT_FALSE(pb.should_sample(nullptr, trace_id_with_low(0)));
}

// ---------------------------------------------------------------- tracer

class CollectingProcessor : public SpanProcessor {
 public:
  void on_end(SpanData&& span) override {
    std::lock_guard lock(mu_);
    spans_.push_back(std::move(span));
  }
  std::vector<SpanData> spans() {
    std::lock_guard lock(mu_);
    return spans_;
  }

 private:
  std::mutex mu_;
  std::vector<SpanData> spans_;
};

TEST(Tracer, ChildSpansShareTheTraceAndRecordEverything) {
  CollectingProcessor processor;
  std::uint64_t now = 1000;
  Tracer tracer({}, &processor, nullptr, [&] { return now; });
  auto parent_ctx = *parse_traceparent(std::string_view(kValid));
  parent_ctx.trace_state = TraceState::parse("congo=x").value();
  {
    Span server = tracer.start_span("GET /api/v1/tasks/{id}", SpanKind::kServer, parent_ctx,
                                    {{"http.request.method", "GET"}, {"server.port", 3001}});
    ASSERT_TRUE(server.is_recording());
    EXPECT_EQ(server.context().trace_id_hex(), kTrace);
    EXPECT_NE(server.context().span_id_hex(), kSpan);
    EXPECT_TRUE(server.context().sampled());
    now = 1500;
    Span db = tracer.start_span("SELECT tasks", SpanKind::kClient, server.context(),
                                {{"db.system.name", "sqlite"}});
    db.set_attribute({"ratio", 0.5});
    db.set_attribute({"cached", false});
    db.set_attribute({"rows", std::size_t{3}});
    db.set_attribute({"rows", 4});  // same key: replaced, not repeated
    db.add_event("retry", {{"attempt", 1}});
    db.set_status(StatusCode::kError, "disk I/O error");
    now = 1800;
    db.end();
    db.set_attribute({"late", true});  // after end: ignored
    server.set_status(StatusCode::kOk);
    server.set_status(StatusCode::kError, "too late");  // Ok is final
    RequestContext rc;
    server.fill(rc);
    EXPECT_EQ(rc.trace_id, kTrace);
    EXPECT_EQ(rc.span_id, server.context().span_id_hex());
    now = 2000;
  }
  const auto spans = processor.spans();
  ASSERT_EQ(spans.size(), 2u);
  const SpanData& db = spans[0];
  const SpanData& server = spans[1];
  EXPECT_EQ(db.trace_id, server.trace_id);
  EXPECT_EQ(db.parent_span_id, server.span_id);
  EXPECT_FALSE(db.parent_remote);
  EXPECT_TRUE(server.parent_remote);
  EXPECT_EQ(to_hex(server.parent_span_id), kSpan);
  EXPECT_EQ(server.trace_state, "congo=x");
  EXPECT_EQ(db.start_unix_nano, 1500u);
  EXPECT_EQ(db.end_unix_nano, 1800u);
  EXPECT_EQ(server.end_unix_nano, 2000u);
  ASSERT_EQ(db.attributes.size(), 4u);
  EXPECT_EQ(db.attributes[0], Attribute("db.system.name", "sqlite"));
  EXPECT_EQ(db.attributes[1], Attribute("ratio", 0.5));
  EXPECT_EQ(db.attributes[2], Attribute("cached", false));
  EXPECT_EQ(db.attributes[3], Attribute("rows", std::int64_t{4}));
  ASSERT_EQ(db.events.size(), 1u);
  EXPECT_EQ(db.events[0].time_unix_nano, 1500u);
  EXPECT_EQ(db.status, StatusCode::kError);
  EXPECT_EQ(db.status_message, "disk I/O error");
  EXPECT_EQ(server.status, StatusCode::kOk);
  EXPECT_EQ(server.status_message, "");
}

TEST(Tracer, UnsampledSpansCarryIdsButAreNotExported) {
  CollectingProcessor processor;
  Tracer tracer({.enabled = true, .sampler = {SamplerKind::kParentBasedAlwaysOn, 1.0}}, &processor);
  auto parent = remote_parent(false);
  {
    Span span = tracer.start_span("x", SpanKind::kServer, parent);
    EXPECT_FALSE(span.is_recording());
    EXPECT_TRUE(span.context().valid());
    EXPECT_FALSE(span.context().sampled());
    EXPECT_EQ(span.context().trace_id_hex(), kTrace);
    EXPECT_EQ(format_traceparent(span.context()).substr(53), "00");
    span.set_attribute({"a", 1});
  }
  EXPECT_TRUE(processor.spans().empty());
}

TEST(Tracer, DisabledTracerRecordsNothingAndPassesTheFlagThrough) {
  CollectingProcessor processor;
  TracerOptions disabled;
  disabled.enabled = false;
  Tracer tracer(disabled, &processor);
  {
    Span a = tracer.start_span("x", SpanKind::kServer, remote_parent(true));
    EXPECT_FALSE(a.is_recording());
    EXPECT_TRUE(a.context().sampled());
    Span b = tracer.start_span("y", SpanKind::kServer);
    EXPECT_TRUE(b.context().valid());
    EXPECT_FALSE(b.context().sampled());
  }
  EXPECT_TRUE(processor.spans().empty());
}

// The OTel API without an SDK: a disabled tracer's span is the parent's context, so what the caller
// sent (trace id, span id, flags, tracestate) is what goes downstream and into the logs.
TEST(Tracer, DisabledTracerKeepsTheParentsContextForPropagation) {
  Tracer tracer({.enabled = false});
  for (bool sampled : {true, false}) {
    SpanContext parent = remote_parent(sampled);
    parent.trace_state.put("vendor", "v1");
    Span span = tracer.start_span("x", SpanKind::kServer, parent);
    EXPECT_FALSE(span.is_recording());
    EXPECT_EQ(span.context().trace_id, parent.trace_id);
    EXPECT_EQ(span.context().span_id, parent.span_id);
    EXPECT_EQ(span.context().sampled(), sampled);
    EXPECT_EQ(format_traceparent(span.context()), format_traceparent(parent));
    EXPECT_EQ(span.context().trace_state.to_header(), "vendor=v1");
    RequestContext ctx;
    span.fill(ctx);
    EXPECT_EQ(ctx.trace_id, parent.trace_id_hex());
    EXPECT_EQ(ctx.span_id, parent.span_id_hex());
  }
  // Enabled but left out by our sampler: nothing recorded, so the caller's context goes on as it came
  // (its span id, its flag — even a sampled one), as when tracing is off.
  Tracer ratio0({.enabled = true, .sampler = {SamplerKind::kTraceIdRatio, 0.0}});
  for (bool sampled : {false, true}) {
    Span unsampled = ratio0.start_span("y", SpanKind::kServer, remote_parent(sampled));
    EXPECT_FALSE(unsampled.is_recording());
    EXPECT_EQ(format_traceparent(unsampled.context()), format_traceparent(remote_parent(sampled)));
  }
  // Without a caller's context a left-out request still gets ids of its own, unsampled.
  Span root = ratio0.start_span("z", SpanKind::kServer, SpanContext{});
  EXPECT_TRUE(root.context().valid());
  EXPECT_FALSE(root.context().sampled());
}

TEST(Tracer, MovedSpanEndsOnce) {
  CollectingProcessor processor;
  Tracer tracer({}, &processor);
  {
    Span a = tracer.start_span("a", SpanKind::kInternal);
    Span b = std::move(a);
    Span c;
    c = std::move(b);
    a.end();
    b.end();
  }
  EXPECT_EQ(processor.spans().size(), 1u);
}

TEST(Tracer, IdsAreUniqueAndNonZeroAcrossThreads) {
  RandomIdGenerator ids;
  std::mutex mu;
  std::set<std::string> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> local;
      for (int i = 0; i < 2000; ++i) {
        const auto id = ids.new_trace_id();
        EXPECT_FALSE(is_zero(id));
        local.push_back(to_hex(id));
        EXPECT_FALSE(is_zero(ids.new_span_id()));
      }
      std::lock_guard lock(mu);
      seen.insert(local.begin(), local.end());
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), 8000u);
}

TEST(Tracer, DebugPrintsOneJsonLinePerSpan) {
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  {
    Tracer tracer({.enabled = true, .sampler = {}, .debug_out = out}, nullptr);
    tracer.start_span("one\nline", SpanKind::kInternal, {}, {{"k", "v\"q"}}).end();
    tracer.start_span("two", SpanKind::kClient).end();
  }
  std::rewind(out);
  char buf[4096];
  std::vector<nlohmann::json> lines;
  while (std::fgets(buf, sizeof buf, out)) lines.push_back(nlohmann::json::parse(buf));
  std::fclose(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["name"], "one\nline");
  EXPECT_EQ(lines[0]["attributes"][0]["value"]["stringValue"], "v\"q");
  EXPECT_EQ(lines[1]["kind"], 3);
}

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

// ---------------------------------------------------------------- settings

Getenv env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Settings, Defaults) {
  EnvMessages m;
  const auto s = settings_from_env(env_of({}), "taskman-api", "0.1.0", &m);
  EXPECT_TRUE(s.enabled);
  EXPECT_FALSE(s.debug);
  EXPECT_EQ(s.service_name, "taskman-api");
  EXPECT_EQ(s.sampler.kind, SamplerKind::kParentBasedAlwaysOn);
  EXPECT_EQ(s.sampler.ratio, 1.0);
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.max_export_batch_size, 512u);
  EXPECT_EQ(s.batch.schedule_delay, 5000ms);
  EXPECT_EQ(s.batch.export_timeout, 30000ms);
  EXPECT_EQ(s.otlp.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(s.otlp.protocol, OtlpProtocol::kHttpProtobuf);
  EXPECT_EQ(s.otlp.compression, OtlpCompression::kNone);
  EXPECT_EQ(s.otlp.timeout, 10000ms);
  EXPECT_TRUE(m.warnings.empty());
  EXPECT_TRUE(m.infos.empty());
}

TEST(Settings, SdkDisabledOnlyByTrue) {
  EXPECT_FALSE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "TRUE"}}), "x", "").enabled);
  EXPECT_FALSE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "true"}}), "x", "").enabled);
  EXPECT_TRUE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "1"}}), "x", "").enabled);
  EXPECT_TRUE(settings_from_env(env_of({{"OTEL_SDK_DISABLED", "yes"}}), "x", "").enabled);
  EXPECT_TRUE(settings_from_env(env_of({{"OTEL_DEBUG", "True"}}), "x", "").debug);
}

TEST(Settings, ServiceNameAndResourceAttributes) {
  auto s =
      settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES",
                                 "service.name=from%20attrs, deployment.environment=prod%2C1,team=a%3Db"}}),
                        "dflt", "1.2.3");
  EXPECT_EQ(s.service_name, "from attrs");
  ASSERT_EQ(s.resource_attributes.size(), 2u);
  EXPECT_EQ(s.resource_attributes[0], Attribute("deployment.environment", "prod,1"));
  EXPECT_EQ(s.resource_attributes[1], Attribute("team", "a=b"));
  s = settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=a"}, {"OTEL_SERVICE_NAME", "b"}}),
                        "d", "");
  EXPECT_EQ(s.service_name, "b");  // OTEL_SERVICE_NAME wins
  // One bad escape discards the whole value, service.name included.
  EnvMessages m;
  s = settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "service.name=a,team=b%zz"}}), "d", "", &m);
  EXPECT_EQ(s.service_name, "d");
  EXPECT_TRUE(s.resource_attributes.empty());
  EXPECT_EQ(m.warnings.size(), 1u);
  s = settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "novalue"}}), "d", "");
  EXPECT_TRUE(s.resource_attributes.empty());
  const auto r =
      make_resource(settings_from_env(env_of({{"OTEL_RESOURCE_ATTRIBUTES", "k=v"}}), "svc", "0.1.0"));
  const Attributes expected = {{"service.name", "svc"},
                               {"service.version", "0.1.0"},
                               {"telemetry.sdk.language", "cpp"},
                               {"telemetry.sdk.name", "taskman"},
                               {"telemetry.sdk.version", "0.1.0"},
                               {"k", "v"}};
  EXPECT_EQ(r.attributes, expected);
}

TEST(Settings, SamplerRules) {
  EnvMessages m;
  auto s = settings_from_env(
      env_of({{"OTEL_TRACES_SAMPLER", "traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", "0.25"}}), "x", "", &m);
  EXPECT_EQ(s.sampler.kind, SamplerKind::kTraceIdRatio);
  EXPECT_EQ(s.sampler.ratio, 0.25);
  EXPECT_TRUE(m.warnings.empty());
  s = settings_from_env(env_of({{"OTEL_TRACES_SAMPLER", "sometimes"}}), "x", "", &m);
  EXPECT_EQ(s.sampler.kind, SamplerKind::kParentBasedAlwaysOn);
  EXPECT_EQ(m.warnings.size(), 1u);
  for (const char* bad : {"1.5", "-0.1", "half", "0.5x"}) {
    EnvMessages mm;
    s = settings_from_env(
        env_of({{"OTEL_TRACES_SAMPLER", "parentbased_traceidratio"}, {"OTEL_TRACES_SAMPLER_ARG", bad}}), "x",
        "", &mm);
    EXPECT_EQ(s.sampler.ratio, 1.0) << bad;
    EXPECT_EQ(mm.warnings.size(), 1u) << bad;
  }
}

TEST(Settings, UnparsableNumbersWarnAndDefault) {
  EnvMessages m;
  const auto s = settings_from_env(env_of({{"OTEL_BSP_MAX_QUEUE_SIZE", "lots"},
                                           {"OTEL_BSP_SCHEDULE_DELAY", "100"},
                                           {"OTEL_BSP_EXPORT_TIMEOUT", "-5"},
                                           {"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "12.5"},
                                           {"OTEL_EXPORTER_OTLP_TIMEOUT", "2s"}}),
                                   "x", "", &m);
  EXPECT_EQ(s.batch.max_queue_size, 2048u);
  EXPECT_EQ(s.batch.schedule_delay, 100ms);
  EXPECT_EQ(s.batch.export_timeout, 30000ms);
  EXPECT_EQ(s.batch.max_export_batch_size, 512u);
  EXPECT_EQ(s.otlp.timeout, 10000ms);
  EXPECT_EQ(m.warnings.size(), 4u);
  // An empty value counts as unset: no warning.
  EnvMessages m2;
  (void)settings_from_env(env_of({{"OTEL_BSP_MAX_QUEUE_SIZE", ""}}), "x", "", &m2);
  EXPECT_TRUE(m2.warnings.empty());
}

TEST(Settings, ExporterVariables) {
  EnvMessages m;
  auto s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"},
                                     {"OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"},
                                     {"OTEL_EXPORTER_OTLP_HEADERS", "api-key=s%20ecret, x-tenant = t1"},
                                     {"OTEL_EXPORTER_OTLP_TIMEOUT", "2500"}}),
                             "x", "", &m);
  EXPECT_EQ(s.otlp.protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(s.otlp.compression, OtlpCompression::kGzip);
  EXPECT_EQ(s.otlp.timeout, 2500ms);
  ASSERT_EQ(s.otlp.headers.size(), 2u);
  EXPECT_EQ(s.otlp.headers[0], (std::pair<std::string, std::string>{"api-key", "s ecret"}));
  EXPECT_EQ(s.otlp.headers[1], (std::pair<std::string, std::string>{"x-tenant", "t1"}));
  EXPECT_TRUE(m.warnings.empty());
  // Signal-specific variables win; bad values warn and keep defaults; secrets are never echoed.
  s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"},
                                {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json"},
                                {"OTEL_EXPORTER_OTLP_COMPRESSION", "brotli"},
                                {"OTEL_EXPORTER_OTLP_HEADERS", "token=abc%"}}),
                        "x", "", &m);
  EXPECT_EQ(s.otlp.protocol, OtlpProtocol::kHttpJson);
  EXPECT_EQ(s.otlp.compression, OtlpCompression::kNone);
  EXPECT_TRUE(s.otlp.headers.empty());
  ASSERT_EQ(m.warnings.size(), 2u);
  for (const auto& w : m.warnings) EXPECT_EQ(w.find("abc"), std::string::npos) << w;
  // A decoded CR LF must not reach the request: that entry is skipped, the others kept.
  EnvMessages m2;
  s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_HEADERS", "a=1,x=evil%0D%0AHost: other,b%20c=2,d=3"}}),
                        "x", "", &m2);
  ASSERT_EQ(s.otlp.headers.size(), 2u);
  EXPECT_EQ(s.otlp.headers[0].first, "a");
  EXPECT_EQ(s.otlp.headers[1].first, "d");
  EXPECT_EQ(m2.warnings.size(), 2u);
}

TEST(Settings, EndpointRules) {
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, std::nullopt), "http://localhost:4318/v1/traces");
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://collector:4318"),
            "http://collector:4318/v1/traces");
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://collector:4318/"),
            "http://collector:4318/v1/traces");
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://gw/otlp"), "http://gw/otlp/v1/traces");
  std::string info;
  EXPECT_EQ(resolve_traces_endpoint(std::nullopt, "http://localhost:4318/v1/traces", &info),
            "http://localhost:4318/v1/traces");
  EXPECT_NE(info.find("used as it is"), std::string::npos);
  info.clear();
  // The traces endpoint is used exactly as given, whatever its path.
  EXPECT_EQ(resolve_traces_endpoint("http://c:9999/custom", "http://other:4318", &info),
            "http://c:9999/custom");
  EXPECT_EQ(resolve_traces_endpoint("http://c:9999", std::nullopt), "http://c:9999");
  EXPECT_TRUE(info.empty());

  EnvMessages m;
  auto s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318/v1/traces"}}),
                             "x", "", &m);
  EXPECT_EQ(s.otlp.endpoint, "http://localhost:4318/v1/traces");
  EXPECT_EQ(m.infos.size(), 1u);  // said once, at info level
  s = settings_from_env(env_of({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"},
                                {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:1/x"}}),
                        "x", "");
  EXPECT_EQ(s.otlp.endpoint, "http://t:1/x");
}

TEST(Settings, PercentDecode) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b%2c%2C+", out));
  EXPECT_EQ(out, "a b,,+");
  EXPECT_FALSE(percent_decode("a%2", out));
  EXPECT_FALSE(percent_decode("a%", out));
  EXPECT_FALSE(percent_decode("%g0", out));
}

}  // namespace
}  // namespace taskman::tracing

#include "tracing/semconv.hpp"

namespace taskman::tracing {
namespace {

TEST(Semconv, NamesAndStatusRules) {
  EXPECT_EQ(semconv::http_server_span_name("GET", "/api/v1/tasks/{id}"), "GET /api/v1/tasks/{id}");
  EXPECT_EQ(semconv::http_server_span_name("GET", ""), "GET");
  EXPECT_EQ(semconv::mcp_span_name("tools/call", "create_task"), "tools/call create_task");
  EXPECT_EQ(semconv::db_span_name("SELECT", "tasks"), "SELECT tasks");
  CollectingProcessor processor;
  Tracer tracer({}, &processor);
  {
    Span server404 = tracer.start_span("s", SpanKind::kServer);
    semconv::end_http_server_status(server404, 404);
    Span server503 = tracer.start_span("s", SpanKind::kServer);
    semconv::end_http_server_status(server503, 503);
    Span client404 = tracer.start_span("c", SpanKind::kClient);
    semconv::end_http_client_status(client404, 404);
  }
  const auto spans = processor.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[2].status, StatusCode::kUnset);  // destroyed in reverse order: server404 last
  EXPECT_EQ(spans[2].attributes.size(), 1u);
  EXPECT_EQ(spans[1].status, StatusCode::kError);
  EXPECT_EQ(spans[1].attributes[1], Attribute("error.type", "503"));
  EXPECT_EQ(spans[0].status, StatusCode::kError);
}

}  // namespace
}  // namespace taskman::tracing
