#include "tracing/tracing_support.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "http/server.hpp"
#include "log/log.hpp"
#include "support/process.hpp"

namespace taskman::testing::tracing {

using Json = nlohmann::json;

struct OtlpCollector::Impl {
  Impl(int status, std::optional<int> retry_after_s)
      : sink(stderr, log::Level::kWarn, log::Format::kJson),
        logger("otlp-collector", sink),
        pool(1),
        status(status),
        retry_after_s(retry_after_s) {}

  log::Sink sink;  // warnings only: its access log would drown the test output
  log::Logger logger;
  http::IoPool pool;
  std::unique_ptr<http::Server> server;
  const int status;
  const std::optional<int> retry_after_s;

  mutable std::mutex mu;  // guards bodies (the handler runs on the I/O thread)
  std::condition_variable cv;
  std::vector<std::string> bodies;
};

OtlpCollector::OtlpCollector(int status, std::optional<int> retry_after_s)
    : impl_(std::make_shared<Impl>(status, retry_after_s)) {
  http::Router router;
  std::weak_ptr<Impl> weak = impl_;  // the Impl owns the server: a strong reference would be a cycle
  router.add_sync("POST", "/v1/traces", [weak](http::Request& req) {
    auto impl = weak.lock();
    if (!impl) return http::Response::empty(503);
    {
      std::lock_guard lock(impl->mu);
      impl->bodies.push_back(req.body);
    }
    impl->cv.notify_all();
    http::Response r;
    r.status = impl->status;
    if (impl->status == 200) {
      // An empty ExportTraceServiceResponse: full success, no partialSuccess.
      r.headers.set("Content-Type", "application/x-protobuf");
    } else {
      r.headers.set("Content-Type", "text/plain");
      r.body = "collector unavailable";
      if (impl->retry_after_s) r.headers.set("Retry-After", std::to_string(*impl->retry_after_s));
    }
    return r;
  });
  http::ServerOptions options;
  options.max_body_bytes = 16u << 20;  // a full batch of 512 spans stays far below this
  impl_->server =
      std::make_unique<http::Server>(impl_->pool, std::move(options), std::move(router), impl_->logger);
  impl_->server->start();
  impl_->pool.start();
}

OtlpCollector::~OtlpCollector() {
  // Drain first so no connection coroutine is parked on the I/O context when it is destroyed.
  auto drained = std::make_shared<std::promise<void>>();
  auto done = drained->get_future();
  impl_->server->drain(std::chrono::seconds(2), [drained] { drained->set_value(); });
  const bool clean = done.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  impl_->pool.stop();
  if (!clean) {
    // A connection outlived the drain: its coroutine frame still references the server, so the
    // server is deliberately kept alive (leaked) rather than destroyed under it.
    new std::shared_ptr<Impl>(impl_);
  }
}

std::uint16_t OtlpCollector::port() const { return impl_->server->port(); }

std::string OtlpCollector::base_url() const { return "http://127.0.0.1:" + std::to_string(port()); }

std::vector<std::string> OtlpCollector::bodies() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bodies;
}

bool OtlpCollector::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->bodies.size() >= n; });
}

std::string DecodedSpan::str(const std::string& key) const {
  auto it = attributes.find(key);
  if (it == attributes.end() || !it->second.contains("stringValue")) return {};
  return it->second["stringValue"].get<std::string>();
}

std::optional<long long> DecodedSpan::integer(const std::string& key) const {
  auto it = attributes.find(key);
  if (it == attributes.end() || !it->second.contains("intValue")) return std::nullopt;
  const auto& v = it->second["intValue"];  // decode.cjs prints int64 as a decimal string
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<long long>();
}

std::string DecodedSpan::describe() const {
  return "'" + name + "' [" + service + "] kind " + std::to_string(kind) + " " + trace_id + "/" + span_id +
         " <- " + (parent_span_id.empty() ? std::string("(root)") : parent_span_id);
}

namespace {

struct NodeRun {
  int exit_code = -1;
  std::string out;
};

NodeRun run_decoder(const std::string& file) {
  // stderr joins stdout so a rejection's reason reaches the failure message.
  const std::string cmd =
      std::string("'") + NODE_EXECUTABLE + "' '" + OTLP_DECODER_DIR + "/decode.cjs' '" + file + "' 2>&1";
  NodeRun r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 8192> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string hex_or_empty(const Json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::uint64_t u64(const Json& j, const char* key) {
  if (!j.contains(key)) return 0;
  return j[key].is_string() ? std::stoull(j[key].get<std::string>()) : j[key].get<std::uint64_t>();
}

void collect(const Json& request, std::vector<DecodedSpan>& out) {
  for (const auto& rs : request.value("resourceSpans", Json::array())) {
    std::string service;
    if (rs.contains("resource")) {
      for (const auto& kv : rs["resource"].value("attributes", Json::array())) {
        if (kv.value("key", "") == "service.name") service = kv["value"].value("stringValue", "");
      }
    }
    for (const auto& ss : rs.value("scopeSpans", Json::array())) {
      for (const auto& sp : ss.value("spans", Json::array())) {
        DecodedSpan d;
        d.service = service;
        d.trace_id = hex_or_empty(sp, "traceId");
        d.span_id = hex_or_empty(sp, "spanId");
        d.parent_span_id = hex_or_empty(sp, "parentSpanId");
        d.trace_state = sp.value("traceState", "");
        d.name = sp.value("name", "");
        d.kind = sp.value("kind", 0);
        if (sp.contains("status")) d.status_code = sp["status"].value("code", 0);
        d.start_ns = u64(sp, "startTimeUnixNano");
        d.end_ns = u64(sp, "endTimeUnixNano");
        for (const auto& kv : sp.value("attributes", Json::array())) d.attributes[kv["key"]] = kv["value"];
        for (const auto& ev : sp.value("events", Json::array())) d.events.push_back(ev.value("name", ""));
        out.push_back(std::move(d));
      }
    }
  }
}

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  for (;;) {
    std::string s;
    for (std::size_t i = 0; i < digits; ++i) s += kHex[rng() & 0xf];
    if (s.find_first_not_of('0') != std::string::npos) return s;  // all-zero ids are invalid (W3C)
  }
}

}  // namespace

std::vector<DecodedSpan> decode_bodies(const std::vector<std::string>& bodies) {
  namespace fs = std::filesystem;
  std::vector<DecodedSpan> spans;
  if (!fs::exists(fs::path(OTLP_DECODER_DIR) / "node_modules/@opentelemetry/otlp-transformer")) {
    ADD_FAILURE()
        << "tests/otlp/node_modules is missing: run `npm ci` in tests/otlp (scripts/bootstrap --test)";
    return spans;
  }
  TempDir dir;
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    const std::string file = dir.path() + "/body-" + std::to_string(i) + ".bin";
    {
      std::ofstream f(file, std::ios::binary);
      f.write(bodies[i].data(), static_cast<std::streamsize>(bodies[i].size()));
    }
    const NodeRun r = run_decoder(file);
    if (r.exit_code != 0) {
      ADD_FAILURE() << "the OTLP decoder rejected export body #" << i << " (" << bodies[i].size()
                    << " bytes): exit " << r.exit_code << ": " << r.out;
      continue;
    }
    const Json j = Json::parse(r.out, nullptr, false);
    if (j.is_discarded() || !j.contains("request")) {
      ADD_FAILURE() << "decoder output is not the expected JSON: " << r.out;
      continue;
    }
    // A different re-encoded length means bytes under field numbers the schema does not know.
    EXPECT_EQ(j["reencodedLength"], j["inputLength"])
        << "body #" << i << " carries fields the decoder skipped";
    collect(j["request"], spans);
  }
  return spans;
}

std::vector<const DecodedSpan*> with_request_id(const std::vector<DecodedSpan>& spans,
                                                const std::string& request_id) {
  std::vector<const DecodedSpan*> out;
  for (const auto& s : spans) {
    if (s.str("taskman.request_id") == request_id) out.push_back(&s);
  }
  return out;
}

std::vector<const DecodedSpan*> in_trace(const std::vector<DecodedSpan>& spans, const std::string& trace_id) {
  std::vector<const DecodedSpan*> out;
  for (const auto& s : spans) {
    if (s.trace_id == trace_id) out.push_back(&s);
  }
  return out;
}

Process::Options traced(const TempDir& dir, std::vector<std::string> args, const std::string& collector_url,
                        const std::map<std::string, std::string>& env) {
  Process::Options o;
  o.args = std::move(args);
  o.cwd = dir.path();
  o.env = {{"ENABLE_TRACING", "true"},
           {"OTEL_EXPORTER_OTLP_ENDPOINT", collector_url},
           {"OTEL_BSP_SCHEDULE_DELAY", "100"}};
  for (const auto& [k, v] : env) o.env[k] = v;
  return o;
}

std::string random_trace_id() { return random_hex(32); }
std::string random_span_id() { return random_hex(16); }
std::string traceparent(const std::string& trace_id, const std::string& parent_id) {
  return "00-" + trace_id + "-" + parent_id + "-01";
}

bool is_id_hex(const std::string& s, std::size_t len) {
  return s.size() == len && s.find_first_not_of("0123456789abcdef") == std::string::npos &&
         s.find_first_not_of('0') != std::string::npos;
}

}  // namespace taskman::testing::tracing
