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

}  // namespace
}  // namespace taskman::tracing
