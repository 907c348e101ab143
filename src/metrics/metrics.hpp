#pragma once
// One Prometheus registry per process (docs/observability.md#metrics) with every family the services export,
// created up front so names, help and buckets are declared in one place. Layers record through the typed
// helpers here; child references are cached because Family::Add costs ~100-150 ns
// (docs/architecture.md#build-notes). Label values come from bounded sets only: fold anything else into
// "other". Thread-safe: prometheus-cpp metrics are; the child caches publish immutable snapshots.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace taskman::metrics {

// Returns `value` when it is in `allowed`, else "other".
std::string bounded(std::string_view value, std::initializer_list<std::string_view> allowed);

// Caches the child of a family for a label-value tuple, because Family::Add costs ~200 ns. A hit
// must stay cheap on every request: the tuple is encoded into a stack buffer (each value behind
// its 4-byte length, so distinct tuples never share a key) and looked up in a hash map without
// allocating. A std::map keyed by std::vector<std::string> cost ~750 instructions per lookup at
// realistic sizes (callgrind, docs/benchmarks.md).
template <class M>
class ChildCache {
 public:
  using Values = std::initializer_list<std::string_view>;
  ChildCache(prometheus::Family<M>& family, std::vector<std::string> label_names)
      : family_(&family), names_(std::move(label_names)) {}
  ~ChildCache() {
    for (const Map* m : retired_) delete m;
    delete current_.load(std::memory_order_relaxed);
  }
  ChildCache(const ChildCache&) = delete;
  ChildCache& operator=(const ChildCache&) = delete;

  // `values` are in the order of the label names given to the constructor.
  template <class... Args>
  M& get(Values values, Args&&... args) {
    char buffer[256];
    std::string spill;  // only for tuples longer than the buffer
    const std::string_view key = encode(values, buffer, spill);
    // Hits read an immutable snapshot without a lock (the mutex was ~40 % of a hit). Tuples come from
    // bounded sets, so misses are few: they copy the map, add the child and publish the new snapshot;
    // old snapshots stay allocated until the cache goes, as a reader may still be in one.
    if (const Map* m = current_.load(std::memory_order_acquire)) {
      if (auto it = m->find(key); it != m->end()) return *it->second;
    }
    std::lock_guard lock(mu_);
    const Map* old = current_.load(std::memory_order_relaxed);
    if (old != nullptr) {
      if (auto it = old->find(key); it != old->end()) return *it->second;
    }
    prometheus::Labels labels;
    std::size_t i = 0;
    for (auto v : values) labels[names_.at(i++)] = std::string(v);
    M& m = family_->Add(labels, std::forward<Args>(args)...);
    auto next = old != nullptr ? std::make_unique<Map>(*old) : std::make_unique<Map>();
    next->emplace(std::string(key), &m);
    current_.store(next.release(), std::memory_order_release);
    if (old != nullptr) retired_.push_back(old);
    return m;
  }

 private:
  static std::string_view encode(Values values, char (&buffer)[256], std::string& spill) {
    std::size_t n = 0;
    for (auto v : values) n += sizeof(std::uint32_t) + v.size();
    char* out = buffer;
    if (n > sizeof buffer) {
      spill.resize(n);
      out = spill.data();
    }
    char* p = out;
    for (auto v : values) {
      const auto len = static_cast<std::uint32_t>(v.size());
      std::memcpy(p, &len, sizeof len);
      p += sizeof len;
      std::memcpy(p, v.data(), v.size());
      p += v.size();
    }
    return {out, n};
  }
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, M*, Hash, std::equal_to<>>;
  std::mutex mu_;  // serializes misses (Family::Add and publishing a snapshot) and guards retired_
  prometheus::Family<M>* family_;
  std::vector<std::string> names_;
  std::atomic<const Map*> current_{nullptr};
  std::vector<const Map*> retired_;
};

class Metrics {
 public:
  Metrics(std::string_view version, std::string_view revision);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Text exposition format 0.0.4 of the registry plus the process collector. Runs the scrape
  // hooks first (gauges read from their owners at scrape time).
  std::string serialize() const;
  // Register during wiring, before serving.
  void add_scrape_hook(std::function<void(Metrics&)> hook) { scrape_hooks_.push_back(std::move(hook)); }
  prometheus::Registry& registry() { return *registry_; }

  // HTTP server (both services). `route` must be a route template or "unmatched".
  void http_request_started();
  void http_request_finished(std::string_view method, const std::string& route, int status, double seconds);

  // Health checks.
  void health_check(const std::string& check, bool ok, double seconds);

  // MCP server. `method` and `tool` must come from bounded sets (the caller folds unknown ones).
  void mcp_request(const std::string& method, const std::string& outcome);
  void mcp_tool_call(const std::string& tool, const std::string& outcome, double seconds);
  void mcp_sessions_active(std::size_t n) { mcp_sessions_.Set(static_cast<double>(n)); }

  // Backend client. `endpoint` is a route template; `status` a code or a transport failure name.
  void backend_request(const std::string& method, const std::string& endpoint, const std::string& status,
                       double seconds);
  void backend_retry(const std::string& reason);

  // Circuit breaker and fallback cache.
  void breaker_state(const std::string& state);  // 1 for `state`, 0 for the others
  void breaker_transition(const std::string& from, const std::string& to);
  void breaker_rejection(const std::string& reason);
  void cache_lookup(const std::string& result);
  void cache_entries(std::size_t n) { cache_entries_.Set(static_cast<double>(n)); }
  void cache_eviction(const std::string& reason, std::size_t n);

  // Database (backend) and tracer self-metrics.
  void db_query(const std::string& operation, double seconds);
  void spans_exported(std::size_t n) { spans_exported_.Increment(static_cast<double>(n)); }
  void spans_dropped(std::size_t n) { spans_dropped_.Increment(static_cast<double>(n)); }

 private:
  std::vector<std::function<void(Metrics&)>> scrape_hooks_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Gauge& http_in_flight_;
  prometheus::Family<prometheus::Gauge>& health_status_;
  prometheus::Family<prometheus::Histogram>& health_duration_;
  prometheus::Gauge& mcp_sessions_;
  prometheus::Gauge& cache_entries_;
  prometheus::Counter& spans_exported_;
  prometheus::Counter& spans_dropped_;
  ChildCache<prometheus::Counter> mcp_requests_;
  ChildCache<prometheus::Counter> mcp_tool_calls_;
  ChildCache<prometheus::Histogram> mcp_tool_duration_;
  ChildCache<prometheus::Counter> backend_requests_;
  ChildCache<prometheus::Histogram> backend_duration_;
  ChildCache<prometheus::Counter> backend_retries_;
  ChildCache<prometheus::Gauge> breaker_state_;
  ChildCache<prometheus::Counter> breaker_transitions_;
  ChildCache<prometheus::Counter> breaker_rejections_;
  ChildCache<prometheus::Counter> cache_lookups_;
  ChildCache<prometheus::Counter> cache_evictions_;
  ChildCache<prometheus::Histogram> db_duration_;
  ChildCache<prometheus::Counter> http_requests_cache_;
  ChildCache<prometheus::Histogram> http_duration_cache_;
  ChildCache<prometheus::Gauge> health_status_cache_;
  ChildCache<prometheus::Histogram> health_duration_cache_;
};

// Seconds buckets of http.server.request.duration (OTel semantic conventions).
const prometheus::Histogram::BucketBoundaries& http_duration_buckets();

}  // namespace taskman::metrics
