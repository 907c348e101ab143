#pragma once
// Fallback cache (docs/resilience.md#fallback-cache): the last good GET answers, LRU-bounded and TTL-limited,
// served marked stale when the backend cannot answer. Writes invalidate by pattern so a stale answer never
// predates a change made through this server.
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "resilience/clock.hpp"

namespace taskman::resilience {

// Cache key for a GET: the path (API base path stripped by the caller, e.g. "/tasks/42") and its query
// with parameters sorted, empty ones dropped and percent-escapes normalized (RFC 3986 §6.2.2: hex digits
// upper-cased, unreserved characters decoded), so "?b=1&a=2" and "?a=2&b=1" share an entry. Repeated
// parameters (status=todo&status=done) are sorted too: the API treats them as a set.
std::string normalize_key(std::string_view path, std::string_view query);
// Same, from a request target "path?query#fragment".
std::string normalize_target(std::string_view target);

struct CachedResponse {
  int status = 200;
  std::string body;
  std::string content_type;
  std::string etag;  // optional; lets the caller show which version it is serving
};

struct CacheHit {
  CachedResponse value;
  std::int64_t age_ms = 0;  // for _meta "taskman/age_ms"
};

struct FallbackCacheOptions {
  bool enabled = true;           // FALLBACK_CACHE_ENABLED
  std::size_t max_size = 1000;   // FALLBACK_CACHE_MAX_SIZE, >= 1
  std::int64_t ttl_ms = 300000;  // FALLBACK_CACHE_TTL_MS, >= 1: older entries are never served
};

// Label values: fallback_cache_lookups_total{result} and fallback_cache_evictions_total{reason}.
enum class LookupResult { kHit, kMiss, kStale };
const char* lookup_result_name(LookupResult r);  // "hit" | "miss" | "stale" (found but past its TTL)
enum class EvictionReason { kLru, kTtl, kInvalidated, kPurged };
const char* eviction_reason_name(EvictionReason r);  // "lru" | "ttl" | "invalidated" | "purged" (an operator)

// Glob match of a cache key: '*' matches any run of characters (slashes too), everything else
// itself. "/tasks/*" matches "/tasks/42" and "/tasks/42?x=1" but not "/tasks".
bool key_matches(std::string_view pattern, std::string_view key);

// Hooks for metrics. Called under the cache's lock, so the entries gauge is never set out of order: they
// must be cheap (a counter increment) and must not call back into the cache. Any may be empty.
struct FallbackCacheObserver {
  std::function<void(LookupResult)> on_lookup;
  std::function<void(EvictionReason, std::size_t count)> on_evict;
  std::function<void(std::size_t entries)> on_entries;  // after every change in size
};

struct FallbackCacheStats {
  std::uint64_t hits = 0, misses = 0, stale = 0;
  std::uint64_t evicted_lru = 0, evicted_ttl = 0, evicted_invalidated = 0, evicted_purged = 0;
  std::size_t entries = 0;
};

// Thread-safe: one mutex guards the LRU list and the index. get/put are O(1) (hash map + list);
// invalidation scans all entries, O(max_size), which at the configured sizes costs microseconds and
// happens only on writes.
class FallbackCache {
 public:
  // The clock must outlive the cache. max_size 0 or ttl_ms < 1 throw std::invalid_argument.
  FallbackCache(FallbackCacheOptions options, const Clock& clock, FallbackCacheObserver observer = {});
  FallbackCache(const FallbackCache&) = delete;
  FallbackCache& operator=(const FallbackCache&) = delete;

  // Stores (or replaces, restarting its age) the answer for `key`, making it most recently used.
  // When full, evicts the least recently used entry (reason "ttl" if that one had expired anyway).
  void put(const std::string& key, CachedResponse value);
  // A fresh entry (age <= ttl_ms), made most recently used. An expired entry is removed and reported as
  // "stale". Disabled: always nullopt, nothing counted.
  std::optional<CacheHit> get(const std::string& key);

  // Drops every entry whose key starts with `prefix` (plain string prefix). Returns how many.
  std::size_t invalidate_prefix(std::string_view prefix);
  // Drops what a successful write `method path` may have changed (docs/api.md#endpoints paths, base path
  // stripped):
  //   POST /tasks                 -> task lists (/tasks, /tasks?...) and /tasks/next...
  //   PATCH|PUT|POST /tasks/{id}[/...] -> /tasks/{id}, /tasks/{id}?..., /tasks/{id}/..., lists, next
  //   DELETE /tasks/{id}          -> every /tasks... entry (the store rewrites dependents and children)
  //   POST /projects              -> project lists (/projects, /projects?...)
  //   PATCH /projects/{id}[/...]  -> /projects/{id}..., project lists
  //   DELETE /projects/{id}       -> /projects/{id}..., project lists, every /tasks... (cascade)
  //   anything else               -> everything (a write we do not understand)
  // Segment-aware: a write to task 4 keeps /tasks/42. Returns how many entries were dropped.
  std::size_t invalidate_for_write(std::string_view method, std::string_view path);
  void clear();
  // An operator's purge (POST /admin/cache/purge): drops every entry whose key matches the glob
  // `pattern` (see key_matches; "*" is everything). Counted as "purged". Returns how many.
  std::size_t purge(std::string_view pattern);
  // Age of the entry stored longest ago (O(n), for the status page); nullopt when empty.
  std::optional<std::int64_t> oldest_age_ms() const;
  // O(n) sweep of expired entries, for an optional periodic timer; get() already never serves them.
  std::size_t purge_expired();

  std::size_t size() const;
  FallbackCacheStats stats() const;
  const FallbackCacheOptions& options() const { return options_; }

 private:
  struct Entry {
    std::string key;
    CachedResponse value;
    std::int64_t stored_ms = 0;
  };
  using List = std::list<Entry>;  // front = most recently used

  // Drops entries matching `pred`, counts and reports them; mu_ held. Returns the count.
  template <class Pred>
  std::size_t erase_if_locked(Pred pred, EvictionReason reason);
  // mu_ held (see FallbackCacheObserver).
  void notify(std::optional<LookupResult> lookup, EvictionReason reason, std::size_t evicted,
              std::optional<std::size_t> entries) const;

  const FallbackCacheOptions options_;
  const Clock& clock_;
  const FallbackCacheObserver observer_;

  mutable std::mutex mu_;  // guards lru_, index_ and stats_
  List lru_;
  std::unordered_map<std::string_view, List::iterator> index_;  // views into Entry::key (stable in a list)
  FallbackCacheStats stats_;
};

}  // namespace taskman::resilience
