#include "resilience/fallback_cache.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "core/encoding.hpp"

namespace taskman::resilience {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// `key` is the resource `base` itself (with any query) or something beneath it, on a segment boundary.
bool within(std::string_view key, std::string_view base) {
  if (!starts_with(key, base)) return false;
  if (key.size() == base.size()) return true;
  const char next = key[base.size()];
  return next == '?' || next == '/';
}

// The collection itself (with any query), not its members.
bool is_list(std::string_view key, std::string_view collection) {
  return starts_with(key, collection) && (key.size() == collection.size() || key[collection.size()] == '?');
}

}  // namespace

std::string normalize_key(std::string_view path, std::string_view query) {
  std::string key = normalize_percent_escapes(path);
  // "/tasks/" and "/tasks" name the same resource in this API.
  while (key.size() > 1 && key.back() == '/') key.pop_back();
  std::vector<std::string> params;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    if (end > start) params.push_back(normalize_percent_escapes(query.substr(start, end - start)));
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  for (std::size_t i = 0; i < params.size(); ++i) {
    key += i == 0 ? '?' : '&';
    key += params[i];
  }
  return key;
}

std::string normalize_target(std::string_view target) {
  if (auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  const auto q = target.find('?');
  if (q == std::string_view::npos) return normalize_key(target, {});
  return normalize_key(target.substr(0, q), target.substr(q + 1));
}

const char* lookup_result_name(LookupResult r) {
  switch (r) {
    case LookupResult::kHit:
      return "hit";
    case LookupResult::kMiss:
      return "miss";
    case LookupResult::kStale:
      return "stale";
  }
  return "";
}

const char* eviction_reason_name(EvictionReason r) {
  switch (r) {
    case EvictionReason::kLru:
      return "lru";
    case EvictionReason::kTtl:
      return "ttl";
    case EvictionReason::kInvalidated:
      return "invalidated";
    case EvictionReason::kPurged:
      return "purged";
  }
  return "";
}

bool key_matches(std::string_view pattern, std::string_view key) {
  // Iterative glob with one backtrack point (the last '*'): linear in practice, no recursion.
  std::size_t p = 0, k = 0, star = std::string_view::npos, resume = 0;
  while (k < key.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = k;
    } else if (p < pattern.size() && pattern[p] == key[k]) {
      ++p;
      ++k;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      k = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

const FallbackCacheOptions& checked(const FallbackCacheOptions& o) {
  if (o.max_size < 1) throw std::invalid_argument("fallback cache max_size must be >= 1");
  if (o.ttl_ms < 1) throw std::invalid_argument("fallback cache ttl_ms must be >= 1");
  return o;
}

}  // namespace

FallbackCache::FallbackCache(FallbackCacheOptions options, const Clock& clock, FallbackCacheObserver observer)
    : options_(checked(options)), clock_(clock), observer_(std::move(observer)) {
  index_.reserve(options_.max_size);
}

void FallbackCache::put(const std::string& key, CachedResponse value) {
  if (!options_.enabled) return;
  std::lock_guard lock(mu_);
  const std::int64_t now = clock_.now_ms();
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->value = std::move(value);
    it->second->stored_ms = now;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;  // size unchanged, nothing to report
  }
  std::size_t evicted = 0;
  EvictionReason reason = EvictionReason::kLru;
  if (lru_.size() >= options_.max_size) {
    const Entry& victim = lru_.back();
    // An expired victim would have been dropped by TTL anyway; say so, so "lru" means real pressure.
    reason = now - victim.stored_ms > options_.ttl_ms ? EvictionReason::kTtl : EvictionReason::kLru;
    (reason == EvictionReason::kTtl ? stats_.evicted_ttl : stats_.evicted_lru) += 1;
    evicted = 1;
    index_.erase(victim.key);
    lru_.pop_back();
  }
  lru_.push_front(Entry{key, std::move(value), now});
  index_.emplace(lru_.front().key, lru_.begin());
  stats_.entries = lru_.size();
  notify(std::nullopt, reason, evicted, lru_.size());
}

std::optional<CacheHit> FallbackCache::get(const std::string& key) {
  if (!options_.enabled) return std::nullopt;
  std::lock_guard lock(mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.misses;
    notify(LookupResult::kMiss, EvictionReason::kTtl, 0, std::nullopt);
    return std::nullopt;
  }
  const std::int64_t age = clock_.now_ms() - it->second->stored_ms;
  if (age > options_.ttl_ms) {
    // Too old to serve; drop it now so it neither occupies a slot nor is counted again.
    ++stats_.stale;
    ++stats_.evicted_ttl;
    const auto entry = it->second;
    index_.erase(it);  // before the list node: the index key is a view into it
    lru_.erase(entry);
    stats_.entries = lru_.size();
    notify(LookupResult::kStale, EvictionReason::kTtl, 1, lru_.size());
    return std::nullopt;
  }
  ++stats_.hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  notify(LookupResult::kHit, EvictionReason::kTtl, 0, std::nullopt);
  return CacheHit{it->second->value, std::max<std::int64_t>(0, age)};
}

template <class Pred>
std::size_t FallbackCache::erase_if_locked(Pred pred, EvictionReason reason) {
  std::size_t n = 0;
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (pred(*it)) {
      index_.erase(it->key);
      it = lru_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  if (n == 0) return 0;
  stats_.entries = lru_.size();
  (reason == EvictionReason::kTtl      ? stats_.evicted_ttl
   : reason == EvictionReason::kLru    ? stats_.evicted_lru
   : reason == EvictionReason::kPurged ? stats_.evicted_purged
                                       : stats_.evicted_invalidated) += n;
  notify(std::nullopt, reason, n, lru_.size());
  return n;
}

std::size_t FallbackCache::invalidate_prefix(std::string_view prefix) {
  std::lock_guard lock(mu_);
  return erase_if_locked([&](const Entry& e) { return starts_with(e.key, prefix); },
                         EvictionReason::kInvalidated);
}

std::size_t FallbackCache::invalidate_for_write(std::string_view method, std::string_view path) {
  if (auto q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
  const std::string norm = normalize_key(path, {});
  // Segments of the path: "/tasks/42/comments" -> collection "tasks", id "42".
  std::string_view rest = norm;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const std::string_view collection = rest.substr(0, slash);
  const std::string_view id = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
  const std::string_view id_only = id.substr(0, id.find('/'));
  // Only these write methods have a known, narrow effect; DELETE and anything unexpected are treated as
  // the widest case.
  const bool narrow = method == "POST" || method == "PATCH" || method == "PUT";

  std::function<bool(const Entry&)> pred;
  if (collection == "tasks" && id_only.empty()) {
    pred = [](const Entry& e) { return is_list(e.key, "/tasks") || within(e.key, "/tasks/next"); };
  } else if (collection == "tasks" && narrow) {
    const std::string task = "/tasks/" + std::string(id_only);
    pred = [task](const Entry& e) {
      return within(e.key, task) || is_list(e.key, "/tasks") || within(e.key, "/tasks/next");
    };
  } else if (collection == "tasks") {
    // Deleting a task rewrites the tasks that depend on it or are its children (sqlite_store).
    pred = [](const Entry& e) { return within(e.key, "/tasks"); };
  } else if (collection == "projects" && id_only.empty()) {
    pred = [](const Entry& e) { return is_list(e.key, "/projects"); };
  } else if (collection == "projects") {
    const std::string project = "/projects/" + std::string(id_only);
    // A project delete may cascade to its tasks and their comments.
    const bool cascade = !narrow;
    pred = [project, cascade](const Entry& e) {
      return within(e.key, project) || is_list(e.key, "/projects") || (cascade && within(e.key, "/tasks"));
    };
  } else {
    pred = [](const Entry&) { return true; };
  }
  std::lock_guard lock(mu_);
  return erase_if_locked(pred, EvictionReason::kInvalidated);
}

void FallbackCache::clear() {
  std::lock_guard lock(mu_);
  erase_if_locked([](const Entry&) { return true; }, EvictionReason::kInvalidated);
}

std::size_t FallbackCache::purge(std::string_view pattern) {
  std::lock_guard lock(mu_);
  return erase_if_locked([&](const Entry& e) { return key_matches(pattern, e.key); },
                         EvictionReason::kPurged);
}

std::optional<std::int64_t> FallbackCache::oldest_age_ms() const {
  std::lock_guard lock(mu_);
  if (lru_.empty()) return std::nullopt;
  // Not lru_.back(): a get() makes an entry recent without making it younger.
  std::int64_t oldest = lru_.front().stored_ms;
  for (const Entry& e : lru_) oldest = std::min(oldest, e.stored_ms);
  return std::max<std::int64_t>(0, clock_.now_ms() - oldest);
}

std::size_t FallbackCache::purge_expired() {
  std::lock_guard lock(mu_);
  const std::int64_t now = clock_.now_ms();
  return erase_if_locked([&](const Entry& e) { return now - e.stored_ms > options_.ttl_ms; },
                         EvictionReason::kTtl);
}

std::size_t FallbackCache::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

FallbackCacheStats FallbackCache::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void FallbackCache::notify(std::optional<LookupResult> lookup, EvictionReason reason, std::size_t evicted,
                           std::optional<std::size_t> entries) const {
  if (lookup && observer_.on_lookup) observer_.on_lookup(*lookup);
  if (evicted > 0 && observer_.on_evict) observer_.on_evict(reason, evicted);
  if (entries && observer_.on_entries) observer_.on_entries(*entries);
}

}  // namespace taskman::resilience
