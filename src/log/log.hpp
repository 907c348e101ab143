#pragma once
// Structured logging: one JSON object per line on stderr (docs/observability.md#logs) or a pretty line for
// humans. Every value is escaped, so no input can forge or split a log line. A Logger names the service; the
// request context (request id, trace and span ids, session) is passed explicitly at each call and attached by
// the logger, so call sites never repeat those fields. Thread-safe: lines are written whole under one mutex.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "core/context.hpp"

namespace taskman::log {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
enum class Format { kJson, kPretty };

std::optional<Level> parse_level(std::string_view s);  // trace|debug|info|warn|error|off
const char* level_name(Level level);

struct Field {
  std::string_view key;
  std::variant<std::string_view, std::int64_t, double, bool> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class I>
  requires std::is_integral_v<I> Field(std::string_view k, I v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
};
using Fields = std::initializer_list<Field>;

// Where lines go. One per process; shared by every Logger.
// stderr is unbuffered in C, so one line would cost one write(2) under the lock. When `buffered`
// (the services use it when stderr is not a terminal), lines gather in a block buffer that is
// flushed at once for warn and above, on flush(), and otherwise at least every kFlushInterval by a
// background thread, so an info line is never more than that late.
class Sink {
 public:
  static constexpr std::chrono::milliseconds kFlushInterval{200};
  Sink(std::FILE* out, Level level, Format format, bool buffered = false);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;
  // Atomic, so an operator can change it at runtime (POST /admin/log-level) while every thread logs;
  // relaxed: a line racing the change may use either level.
  Level level() const { return level_.load(std::memory_order_relaxed); }
  void set_level(Level level) { level_.store(level, std::memory_order_relaxed); }
  Format format() const { return format_; }
  void write_line(std::string_view line, Level level);
  void flush();

 private:
  std::mutex mu_;
  std::FILE* out_;
  std::atomic<Level> level_;
  Format format_;
  bool dirty_ = false;  // guarded by mu_
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread flusher_;
};

class Logger {
 public:
  Logger(std::string service, Sink& sink) : service_(std::move(service)), sink_(&sink) {}
  const std::string& service() const { return service_; }
  bool enabled(Level level) const { return level >= sink_->level(); }

  void log(Level level, const RequestContext* ctx, std::string_view msg, Fields fields = {});
  void trace(const RequestContext& c, std::string_view m, Fields f = {}) { log(Level::kTrace, &c, m, f); }
  void debug(const RequestContext& c, std::string_view m, Fields f = {}) { log(Level::kDebug, &c, m, f); }
  void info(const RequestContext& c, std::string_view m, Fields f = {}) { log(Level::kInfo, &c, m, f); }
  void warn(const RequestContext& c, std::string_view m, Fields f = {}) { log(Level::kWarn, &c, m, f); }
  void error(const RequestContext& c, std::string_view m, Fields f = {}) { log(Level::kError, &c, m, f); }
  // Outside any request (start-up, shutdown, background work).
  void info(std::string_view m, Fields f = {}) { log(Level::kInfo, nullptr, m, f); }
  void warn(std::string_view m, Fields f = {}) { log(Level::kWarn, nullptr, m, f); }
  void error(std::string_view m, Fields f = {}) { log(Level::kError, nullptr, m, f); }
  void debug(std::string_view m, Fields f = {}) { log(Level::kDebug, nullptr, m, f); }

  // The formatted line without the trailing newline (exposed for tests).
  std::string format(Level level, const RequestContext* ctx, std::string_view msg, Fields fields) const;

 private:
  std::string service_;
  Sink* sink_;
};

}  // namespace taskman::log
