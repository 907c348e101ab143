#include "resilience/fallback_cache.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace taskman::resilience {
namespace {

FallbackCacheOptions options(std::size_t max_size, std::int64_t ttl_ms = 300000) {
  FallbackCacheOptions o;
  o.max_size = max_size;
  o.ttl_ms = ttl_ms;
  return o;
}

CachedResponse body(std::string text) { return CachedResponse{200, std::move(text), "application/json", ""}; }

std::set<std::string> keys_present(FallbackCache& cache, const std::vector<std::string>& candidates) {
  std::set<std::string> present;
  for (const auto& k : candidates) {
    if (cache.get(k)) present.insert(k);
  }
  return present;
}

TEST(NormalizeKey, SortsQueryParameters) {
  EXPECT_EQ(normalize_key("/tasks", "b=1&a=2"), normalize_key("/tasks", "a=2&b=1"));
  EXPECT_EQ(normalize_key("/tasks", "b=1&a=2"), "/tasks?a=2&b=1");
  EXPECT_NE(normalize_key("/tasks", "a=1"), normalize_key("/tasks", "a=2"));
}

TEST(NormalizeKey, RepeatedParametersAreASet) {
  EXPECT_EQ(normalize_key("/tasks", "status=todo&status=done"),
            normalize_key("/tasks", "status=done&status=todo"));
  EXPECT_EQ(normalize_key("/tasks", "status=todo&status=done"), "/tasks?status=done&status=todo");
}

TEST(NormalizeKey, DropsEmptyPiecesAndTrailingSlash) {
  EXPECT_EQ(normalize_key("/tasks/", ""), "/tasks");
  EXPECT_EQ(normalize_key("/tasks", "&&a=1&"), "/tasks?a=1");
  EXPECT_EQ(normalize_key("/", ""), "/");
  EXPECT_EQ(normalize_key("/tasks", "flag&a="), "/tasks?a=&flag");  // valueless params are kept
}

TEST(NormalizeKey, NormalizesPercentEscapes) {
  EXPECT_EQ(normalize_key("/tasks", "q=a%2fb"), "/tasks?q=a%2Fb");  // hex upper-cased
  EXPECT_EQ(normalize_key("/tasks", "q=%7Eme"), "/tasks?q=~me");    // unreserved decoded
  EXPECT_EQ(normalize_key("/tasks", "q=100%"), "/tasks?q=100%");    // malformed escape kept
  EXPECT_EQ(normalize_key("/tasks", "q=%zz"), "/tasks?q=%zz");
}

TEST(NormalizeKey, TargetSplitsPathQueryAndFragment) {
  EXPECT_EQ(normalize_target("/tasks?b=1&a=2#frag"), "/tasks?a=2&b=1");
  EXPECT_EQ(normalize_target("/tasks/42"), "/tasks/42");
  EXPECT_EQ(normalize_target("/tasks?"), "/tasks");
}

TEST(FallbackCache, RejectsBadOptions) {
  ManualClock clock;
  EXPECT_THROW(FallbackCache(options(0), clock), std::invalid_argument);
  EXPECT_THROW(FallbackCache(options(1, 0), clock), std::invalid_argument);
}

TEST(FallbackCache, HitReportsAgeAndMissIsCounted) {
  ManualClock clock;
  FallbackCache cache(options(10), clock);
  cache.put("/tasks/1", CachedResponse{200, "{\"id\":\"1\"}", "application/json", "\"3\""});
  clock.advance_ms(1234);
  const auto hit = cache.get("/tasks/1");
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->value.body, "{\"id\":\"1\"}");
  EXPECT_EQ(hit->value.status, 200);
  EXPECT_EQ(hit->value.content_type, "application/json");
  EXPECT_EQ(hit->value.etag, "\"3\"");
  EXPECT_EQ(hit->age_ms, 1234);
  EXPECT_FALSE(cache.get("/tasks/2").has_value());
  const FallbackCacheStats s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
}

TEST(FallbackCache, EvictsLeastRecentlyUsed) {
  ManualClock clock;
  FallbackCache cache(options(3), clock);
  cache.put("a", body("A"));
  cache.put("b", body("B"));
  cache.put("c", body("C"));
  ASSERT_TRUE(cache.get("a"));  // a is now the most recent; b is the least
  cache.put("d", body("D"));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_FALSE(cache.get("b"));
  EXPECT_TRUE(cache.get("a"));
  EXPECT_TRUE(cache.get("c"));
  EXPECT_TRUE(cache.get("d"));
  EXPECT_EQ(cache.stats().evicted_lru, 1u);
}

TEST(FallbackCache, PutReplacesAndRefreshes) {
  ManualClock clock;
  FallbackCache cache(options(2), clock);
  cache.put("a", body("old"));
  cache.put("b", body("B"));
  clock.advance_ms(500);
  cache.put("a", body("new"));  // replaces, restarts the age and makes "a" most recent
  cache.put("c", body("C"));    // so "b" goes
  const auto a = cache.get("a");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value.body, "new");
  EXPECT_EQ(a->age_ms, 0);
  EXPECT_FALSE(cache.get("b"));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(FallbackCache, ExpiredEntriesAreNotServedAndAreRemoved) {
  ManualClock clock;
  FallbackCache cache(options(10, 1000), clock);
  cache.put("a", body("A"));
  clock.advance_ms(1000);
  auto hit = cache.get("a");  // exactly the TTL old: still served
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->age_ms, 1000);
  clock.advance_ms(1);
  EXPECT_FALSE(cache.get("a"));  // too old: stale, dropped
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.get("a"));  // now simply a miss
  const FallbackCacheStats s = cache.stats();
  EXPECT_EQ(s.stale, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.evicted_ttl, 1u);
  EXPECT_EQ(s.entries, 0u);
}

TEST(FallbackCache, FullCacheEvictingAnExpiredEntryCountsItAsTtl) {
  ManualClock clock;
  FallbackCache cache(options(2, 1000), clock);
  cache.put("old", body("O"));
  clock.advance_ms(2000);
  cache.put("b", body("B"));
  cache.put("c", body("C"));  // full: the LRU victim "old" had expired anyway
  FallbackCacheStats s = cache.stats();
  EXPECT_EQ(s.evicted_ttl, 1u);
  EXPECT_EQ(s.evicted_lru, 0u);
  cache.put("d", body("D"));  // victim "b" is fresh: real LRU pressure
  s = cache.stats();
  EXPECT_EQ(s.evicted_lru, 1u);
}

TEST(FallbackCache, PurgeExpiredSweepsOnlyOldEntries) {
  ManualClock clock;
  FallbackCache cache(options(10, 1000), clock);
  cache.put("a", body("A"));
  clock.advance_ms(600);
  cache.put("b", body("B"));
  clock.advance_ms(600);
  EXPECT_EQ(cache.purge_expired(), 1u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.get("b"));
}

const std::vector<std::string> kKeys = {
    "/tasks/42",
    "/tasks/42?fields=x",
    "/tasks/42/comments",
    "/tasks/42/comments?limit=5",
    "/tasks/420",
    "/tasks/4",
    "/tasks/7",
    "/tasks",
    "/tasks?status=todo",
    "/tasks/next",
    "/tasks/next?project_id=P",
    "/projects",
    "/projects?limit=5",
    "/projects/P",
    "/projects/P?x=1",
    "/projects/P2",
};

std::set<std::string> after_write(const std::string& method, const std::string& path, std::size_t* dropped) {
  ManualClock clock;
  FallbackCache cache(options(100), clock);
  for (const auto& k : kKeys) cache.put(k, body(k));
  *dropped = cache.invalidate_for_write(method, path);
  return keys_present(cache, kKeys);
}

TEST(FallbackCacheInvalidation, TaskUpdateDropsTheTaskItsChildrenListsAndNext) {
  std::size_t dropped = 0;
  const auto left = after_write("PATCH", "/tasks/42", &dropped);
  const std::set<std::string> expected = {"/tasks/420",      "/tasks/4",          "/tasks/7",
                                          "/projects",       "/projects?limit=5", "/projects/P",
                                          "/projects/P?x=1", "/projects/P2"};
  EXPECT_EQ(left, expected);
  EXPECT_EQ(dropped, kKeys.size() - expected.size());
}

TEST(FallbackCacheInvalidation, CommentOnATaskIsATaskWrite) {
  std::size_t dropped = 0;
  const auto left = after_write("POST", "/tasks/42/comments", &dropped);
  EXPECT_FALSE(left.count("/tasks/42"));
  EXPECT_FALSE(left.count("/tasks/42/comments?limit=5"));
  EXPECT_FALSE(left.count("/tasks?status=todo"));
  EXPECT_TRUE(left.count("/tasks/420"));
  EXPECT_TRUE(left.count("/tasks/7"));
}

TEST(FallbackCacheInvalidation, TaskCreateDropsListsAndNextOnly) {
  std::size_t dropped = 0;
  const auto left = after_write("POST", "/tasks", &dropped);
  EXPECT_EQ(dropped, 4u);  // /tasks, /tasks?status=todo, /tasks/next, /tasks/next?project_id=P
  EXPECT_TRUE(left.count("/tasks/42"));
  EXPECT_TRUE(left.count("/tasks/42/comments"));
  EXPECT_FALSE(left.count("/tasks"));
  EXPECT_FALSE(left.count("/tasks/next?project_id=P"));
}

TEST(FallbackCacheInvalidation, TaskDeleteDropsEveryTaskEntry) {
  std::size_t dropped = 0;
  const auto left = after_write("DELETE", "/tasks/42", &dropped);
  const std::set<std::string> expected = {"/projects", "/projects?limit=5", "/projects/P", "/projects/P?x=1",
                                          "/projects/P2"};
  EXPECT_EQ(left, expected);
}

TEST(FallbackCacheInvalidation, ProjectUpdateDropsTheProjectAndProjectLists) {
  std::size_t dropped = 0;
  const auto left = after_write("PATCH", "/projects/P", &dropped);
  EXPECT_EQ(dropped, 4u);  // /projects, /projects?limit=5, /projects/P, /projects/P?x=1
  EXPECT_TRUE(left.count("/projects/P2"));
  EXPECT_TRUE(left.count("/tasks"));
}

TEST(FallbackCacheInvalidation, ProjectDeleteCascadesToTasks) {
  std::size_t dropped = 0;
  const auto left = after_write("DELETE", "/projects/P?cascade=true", &dropped);
  EXPECT_EQ(left, std::set<std::string>{"/projects/P2"});
}

TEST(FallbackCacheInvalidation, ProjectCreateDropsProjectListsOnly) {
  std::size_t dropped = 0;
  const auto left = after_write("POST", "/projects", &dropped);
  EXPECT_EQ(dropped, 2u);
  EXPECT_TRUE(left.count("/projects/P"));
}

TEST(FallbackCacheInvalidation, UnknownWriteDropsEverything) {
  std::size_t dropped = 0;
  const auto left = after_write("POST", "/admin/reindex", &dropped);
  EXPECT_TRUE(left.empty());
  EXPECT_EQ(dropped, kKeys.size());
}

TEST(FallbackCacheInvalidation, PlainPrefixAndCounts) {
  ManualClock clock;
  std::map<EvictionReason, std::size_t> evicted;
  FallbackCacheObserver obs;
  obs.on_evict = [&](EvictionReason r, std::size_t n) { evicted[r] += n; };
  FallbackCache cache(options(100), clock, obs);
  for (const auto& k : kKeys) cache.put(k, body(k));
  EXPECT_EQ(cache.invalidate_prefix("/tasks/42"), 5u);  // plain prefix: includes /tasks/420
  EXPECT_FALSE(cache.get("/tasks/420"));
  EXPECT_EQ(cache.stats().evicted_invalidated, 5u);
  EXPECT_EQ(evicted[EvictionReason::kInvalidated], 5u);
  cache.clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.stats().evicted_invalidated, kKeys.size());
}

TEST(FallbackCache, ObserverSeesLookupsEvictionsAndEntries) {
  ManualClock clock;
  std::map<LookupResult, int> lookups;
  std::map<EvictionReason, std::size_t> evicted;
  std::vector<std::size_t> entries;
  FallbackCacheObserver obs;
  obs.on_lookup = [&](LookupResult r) { ++lookups[r]; };
  obs.on_evict = [&](EvictionReason r, std::size_t n) { evicted[r] += n; };
  obs.on_entries = [&](std::size_t n) { entries.push_back(n); };
  FallbackCache cache(options(2, 1000), clock, obs);
  cache.put("a", body("A"));
  cache.put("b", body("B"));
  cache.put("c", body("C"));  // evicts a (lru)
  EXPECT_TRUE(cache.get("b"));
  EXPECT_FALSE(cache.get("a"));
  clock.advance_ms(1001);
  EXPECT_FALSE(cache.get("c"));  // stale: dropped
  EXPECT_EQ(cache.invalidate_prefix("b"), 1u);
  EXPECT_EQ(lookups[LookupResult::kHit], 1);
  EXPECT_EQ(lookups[LookupResult::kMiss], 1);
  EXPECT_EQ(lookups[LookupResult::kStale], 1);
  EXPECT_EQ(evicted[EvictionReason::kLru], 1u);
  EXPECT_EQ(evicted[EvictionReason::kTtl], 1u);
  EXPECT_EQ(evicted[EvictionReason::kInvalidated], 1u);
  EXPECT_EQ(entries, (std::vector<std::size_t>{1, 2, 2, 1, 0}));
  EXPECT_STREQ(lookup_result_name(LookupResult::kStale), "stale");
  EXPECT_STREQ(eviction_reason_name(EvictionReason::kInvalidated), "invalidated");
}

TEST(FallbackCache, DisabledStoresNothing) {
  ManualClock clock;
  FallbackCacheOptions o = options(10);
  o.enabled = false;
  FallbackCache cache(o, clock);
  cache.put("a", body("A"));
  EXPECT_FALSE(cache.get("a"));
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.stats().misses, 0u);
}

TEST(FallbackCache, ConcurrentUseKeepsTheBoundAndTheIndexConsistent) {
  constexpr int kThreads = 4;
  ManualClock clock;
  FallbackCache cache(options(50, 1000), clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        const std::string key = "/tasks/" + std::to_string((i * 7 + t) % 120);
        switch (i % 5) {
          case 0:
            cache.invalidate_for_write("PATCH", key);
            break;
          case 1:
            clock.advance_ms(1);
            [[fallthrough]];
          case 2:
            (void)cache.get(key);
            break;
          default:
            cache.put(key, body(key));
            break;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.size(), 50u);
  const FallbackCacheStats s = cache.stats();
  EXPECT_EQ(s.entries, cache.size());
  // Every entry still present is reachable through the index.
  std::size_t reachable = 0;
  for (int k = 0; k < 120; ++k) {
    if (cache.get("/tasks/" + std::to_string(k))) ++reachable;
  }
  EXPECT_EQ(reachable + cache.stats().stale - s.stale, s.entries);
}

}  // namespace
}  // namespace taskman::resilience

namespace taskman::resilience {
namespace {

TEST(FallbackCachePurge, GlobPatterns) {
  EXPECT_TRUE(key_matches("*", ""));
  EXPECT_TRUE(key_matches("*", "/tasks/1"));
  EXPECT_TRUE(key_matches("/tasks/*", "/tasks/42"));
  EXPECT_TRUE(key_matches("/tasks/*", "/tasks/42/comments?limit=5"));
  EXPECT_FALSE(key_matches("/tasks/*", "/tasks"));
  EXPECT_FALSE(key_matches("/tasks/*", "/projects/1"));
  EXPECT_TRUE(key_matches("/tasks*", "/tasks?status=todo"));
  EXPECT_TRUE(key_matches("*comments*", "/tasks/7/comments"));
  EXPECT_TRUE(key_matches("/tasks/4", "/tasks/4"));
  EXPECT_FALSE(key_matches("/tasks/4", "/tasks/42"));  // no '*': exact
  EXPECT_TRUE(key_matches("/t*s/*2", "/tasks/42"));
  EXPECT_FALSE(key_matches("/t*s/*2", "/tasks/43"));
}

TEST(FallbackCachePurge, ByPatternCountsPurgedAndReportsOldestAge) {
  ManualClock clock;
  std::map<EvictionReason, std::size_t> evicted;
  FallbackCacheObserver obs;
  obs.on_evict = [&](EvictionReason r, std::size_t n) { evicted[r] += n; };
  FallbackCacheOptions o;
  o.max_size = 100;
  o.ttl_ms = 60000;
  FallbackCache cache(o, clock, obs);
  EXPECT_FALSE(cache.oldest_age_ms());
  cache.put("/tasks", {200, "[]", "application/json", ""});
  clock.advance_ms(300);
  cache.put("/tasks/1", {200, "{}", "application/json", ""});
  cache.put("/tasks/2", {200, "{}", "application/json", ""});
  cache.put("/projects/1", {200, "{}", "application/json", ""});
  clock.advance_ms(200);
  ASSERT_TRUE(cache.get("/tasks"));  // most recently used now, still the oldest stored
  EXPECT_EQ(cache.oldest_age_ms(), 500);
  EXPECT_EQ(cache.purge("/tasks/*"), 2u);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.get("/tasks"));
  EXPECT_FALSE(cache.get("/tasks/1"));
  EXPECT_EQ(cache.stats().evicted_purged, 2u);
  EXPECT_EQ(evicted[EvictionReason::kPurged], 2u);
  EXPECT_EQ(cache.purge("*"), 2u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_FALSE(cache.oldest_age_ms());
  EXPECT_EQ(cache.stats().evicted_purged, 4u);
  EXPECT_EQ(cache.stats().evicted_invalidated, 0u);
  EXPECT_STREQ(eviction_reason_name(EvictionReason::kPurged), "purged");
}

}  // namespace
}  // namespace taskman::resilience
