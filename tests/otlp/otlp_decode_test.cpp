// Encodes ExportTraceServiceRequests with taskman's hand-written protobuf writer and decodes them
// with the generated decoder from @opentelemetry/otlp-transformer (tests/otlp/decode.cjs), so a wrong
// field number, wire type or length prefix fails here (docs/architecture.md#third-party-parts).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "tracing/otlp_encode.hpp"

namespace taskman::tracing {
namespace {

namespace fs = std::filesystem;

struct Decoded {
  int exit_code = -1;
  std::string out;
};

// Runs the node decoder on `bytes` (written to a temporary file) and returns its stdout.
Decoded decode_with_node(const std::string& bytes) {
  const fs::path dir = fs::temp_directory_path() / ("taskman-otlp-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path file = dir / "request.bin";
  {
    std::ofstream f(file, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  const std::string cmd =
      std::string("'") + NODE_EXECUTABLE + "' '" + OTLP_DECODER_DIR + "/decode.cjs' '" + file.string() + "'";
  Decoded d;
  if (std::FILE* p = ::popen(cmd.c_str(), "r")) {
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) d.out.append(buf.data(), n);
    const int status = ::pclose(p);
    d.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  fs::remove_all(dir);
  return d;
}

class OtlpDecode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(fs::path(OTLP_DECODER_DIR) / "node_modules/@opentelemetry/otlp-transformer")) {
      FAIL() << "tests/otlp/node_modules is missing: run `npm ci` in tests/otlp (scripts/bootstrap --test)";
    }
  }

  static SpanData span(const char* trace, const char* id, const char* parent, std::string name,
                       SpanKind kind) {
    SpanData s;
    from_hex(trace, s.trace_id);
    from_hex(id, s.span_id);
    if (parent) from_hex(parent, s.parent_span_id);
    s.name = std::move(name);
    s.kind = kind;
    s.trace_flags = kFlagSampled;
    return s;
  }

  Resource resource_{{{"service.name", "taskman-mcp"},
                      {"service.version", "0.1.0"},
                      {"telemetry.sdk.language", "cpp"},
                      {"process.pid", std::int64_t{4242}}}};
  InstrumentationScope scope_{"taskman", "0.1.0"};

  std::vector<SpanData> spans() const {
    constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    std::vector<SpanData> out;
    // 1: MCP server span under a remote parent, with tracestate and every attribute type.
    auto server =
        span(kTrace, "1111111111111111", "00f067aa0ba902b7", "tools/call create_task", SpanKind::kServer);
    server.parent_remote = true;
    server.trace_state = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
    server.start_unix_nano = 1764212345123456789ULL;
    server.end_unix_nano = 1764212345223456789ULL;
    server.attributes = {{"mcp.method.name", "tools/call"},
                         {"gen_ai.tool.name", "create_task"},
                         {"empty", ""},
                         {"unicode", "caf\xc3\xa9 \xe2\x9c\x93"},
                         {"ok", true},
                         {"cached", false},
                         {"zero", std::int64_t{0}},
                         {"negative", std::int64_t{-42}},
                         {"big", std::int64_t{9007199254740993}},  // beyond double precision
                         {"min", std::numeric_limits<std::int64_t>::min()},
                         {"ratio", 0.25},
                         {"neg_double", -1.5e300}};
    server.status = StatusCode::kOk;
    // 2: client span, a local child, with events and an error status.
    auto client = span(kTrace, "2222222222222222", "1111111111111111", "POST", SpanKind::kClient);
    client.start_unix_nano = 1764212345130000000ULL;
    client.end_unix_nano = 1764212345140000000ULL;
    client.attributes = {{"http.request.method", "POST"}, {"http.request.resend_count", 2}};
    client.events = {{"retry", 1764212345131000000ULL, {{"attempt", 1}, {"reason", "503"}}},
                     {"exception", 1764212345139000000ULL, {}}};
    client.status = StatusCode::kError;
    client.status_message = "backend unavailable";
    // 3: an internal root span of another trace, nothing optional set, not sampled flag.
    auto root =
        span("0af7651916cd43dd8448eb211c80319c", "3333333333333333", nullptr, "", SpanKind::kInternal);
    root.trace_flags = 0;
    out.push_back(std::move(server));
    out.push_back(std::move(client));
    out.push_back(std::move(root));
    return out;
  }

  void check(const std::string& bytes, bool gzipped) {
    const Decoded d = decode_with_node(bytes);
    ASSERT_EQ(d.exit_code, 0) << d.out;
    const auto j = nlohmann::json::parse(d.out);
    EXPECT_EQ(j["gzipped"], gzipped);
    // Every byte we wrote was understood: no unknown field numbers or wire types.
    EXPECT_EQ(j["reencodedLength"], j["inputLength"]);

    const auto& rs = j["request"]["resourceSpans"];
    ASSERT_EQ(rs.size(), 1u);
    const auto& rattrs = rs[0]["resource"]["attributes"];
    ASSERT_EQ(rattrs.size(), 4u);
    EXPECT_EQ(rattrs[0]["key"], "service.name");
    EXPECT_EQ(rattrs[0]["value"]["stringValue"], "taskman-mcp");
    EXPECT_EQ(rattrs[3]["value"]["intValue"], "4242");
    const auto& ss = rs[0]["scopeSpans"];
    ASSERT_EQ(ss.size(), 1u);
    EXPECT_EQ(ss[0]["scope"]["name"], "taskman");
    EXPECT_EQ(ss[0]["scope"]["version"], "0.1.0");
    const auto& sp = ss[0]["spans"];
    ASSERT_EQ(sp.size(), 3u);

    const auto& server = sp[0];
    EXPECT_EQ(server["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(server["spanId"], "1111111111111111");
    EXPECT_EQ(server["parentSpanId"], "00f067aa0ba902b7");
    EXPECT_EQ(server["traceState"], "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    EXPECT_EQ(server["name"], "tools/call create_task");
    EXPECT_EQ(server["kind"], 2);
    EXPECT_EQ(server["startTimeUnixNano"], "1764212345123456789");
    EXPECT_EQ(server["endTimeUnixNano"], "1764212345223456789");
    EXPECT_EQ(server["flags"], 0x301);  // sampled + has-is-remote + is-remote
    EXPECT_EQ(server["status"]["code"], 1);
    const auto& a = server["attributes"];
    ASSERT_EQ(a.size(), 12u);
    EXPECT_EQ(a[0]["key"], "mcp.method.name");
    EXPECT_EQ(a[0]["value"]["stringValue"], "tools/call");
    EXPECT_EQ(a[2]["value"]["stringValue"], "");  // oneof member present even when empty
    EXPECT_EQ(a[3]["value"]["stringValue"], "caf\xc3\xa9 \xe2\x9c\x93");
    EXPECT_EQ(a[4]["value"]["boolValue"], true);
    EXPECT_EQ(a[5]["value"]["boolValue"], false);
    EXPECT_EQ(a[6]["value"]["intValue"], "0");
    EXPECT_EQ(a[7]["value"]["intValue"], "-42");
    EXPECT_EQ(a[8]["value"]["intValue"], "9007199254740993");
    EXPECT_EQ(a[9]["value"]["intValue"], "-9223372036854775808");
    EXPECT_EQ(a[10]["value"]["doubleValue"], 0.25);
    EXPECT_EQ(a[11]["value"]["doubleValue"], -1.5e300);

    const auto& client = sp[1];
    EXPECT_EQ(client["parentSpanId"], "1111111111111111");
    EXPECT_EQ(client["kind"], 3);
    EXPECT_EQ(client["flags"], 0x101);  // local parent
    EXPECT_EQ(client["status"]["code"], 2);
    EXPECT_EQ(client["status"]["message"], "backend unavailable");
    EXPECT_EQ(client["attributes"][1]["value"]["intValue"], "2");
    ASSERT_EQ(client["events"].size(), 2u);
    EXPECT_EQ(client["events"][0]["name"], "retry");
    EXPECT_EQ(client["events"][0]["timeUnixNano"], "1764212345131000000");
    EXPECT_EQ(client["events"][0]["attributes"][0]["value"]["intValue"], "1");
    EXPECT_EQ(client["events"][0]["attributes"][1]["value"]["stringValue"], "503");
    EXPECT_EQ(client["events"][1]["name"], "exception");

    const auto& root = sp[2];
    EXPECT_EQ(root["traceId"], "0af7651916cd43dd8448eb211c80319c");
    EXPECT_FALSE(root.contains("parentSpanId") && !root["parentSpanId"].get<std::string>().empty());
    EXPECT_EQ(root["kind"], 1);
    EXPECT_FALSE(root.contains("flags") && root["flags"] != 0);
    EXPECT_FALSE(root.contains("status") && root["status"].contains("code") && root["status"]["code"] != 0);
  }
};

TEST_F(OtlpDecode, PlainProtobufDecodesToTheSameFields) {
  check(encode_protobuf(resource_, scope_, spans()), false);
}

TEST_F(OtlpDecode, GzippedProtobufDecodesToTheSameFields) {
  const auto gz = gzip_compress(encode_protobuf(resource_, scope_, spans()));
  ASSERT_TRUE(gz);
  check(*gz, true);
}

TEST_F(OtlpDecode, GarbageIsRejectedByTheDecoder) {
  // Guards the test itself: the decoder must fail on bytes that are not a valid request.
  const Decoded d = decode_with_node(std::string("\x0a\xff\xff\xff\x0f\x01", 6));
  EXPECT_NE(d.exit_code, 0);
}

}  // namespace
}  // namespace taskman::tracing
