#include "status/recorder.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "status/recent.hpp"

namespace taskman::status {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

const LatencyStats* find(const std::vector<LatencyStats>& v, const std::string& label) {
  for (const auto& s : v) {
    if (s.label == label) return &s;
  }
  return nullptr;
}

TEST(WindowRecorder, CountsRateAndPercentilesPerLabel) {
  ManualClock clock;
  WindowRecorder r(clock);
  clock.advance_ms(10'000);  // ten seconds lived: the rate divides by 10
  for (int i = 0; i < 90; ++i) r.record("GET /a", milliseconds(3), false);   // bucket (2, 5]
  for (int i = 0; i < 10; ++i) r.record("GET /a", milliseconds(400), true);  // bucket (250, 500]
  r.record("POST /b", microseconds(100), false);
  const auto snap = r.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  const auto* a = find(snap, "GET /a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->requests, 100u);
  EXPECT_EQ(a->errors, 10u);
  EXPECT_DOUBLE_EQ(a->rps, 10.0);
  EXPECT_GT(a->p50_ms, 2.0);
  EXPECT_LE(a->p50_ms, 5.0);
  EXPECT_GT(a->p99_ms, 250.0);
  EXPECT_LE(a->p99_ms, 500.0);
  EXPECT_LE(a->p90_ms, 5.0);  // exactly 90 % are fast
  const auto* b = find(snap, "POST /b");
  ASSERT_NE(b, nullptr);
  EXPECT_LE(b->p99_ms, 0.25);
}

TEST(WindowRecorder, OldSecondsRollOutOfTheMinute) {
  ManualClock clock;
  WindowRecorder r(clock);
  r.record("x", milliseconds(1), false);
  clock.advance_ms(30'000);
  r.record("x", milliseconds(1), false);
  EXPECT_EQ(r.snapshot().at(0).requests, 2u);
  clock.advance_ms(30'500);  // the first request is now 60.5 s old
  auto snap = r.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].requests, 1u);
  EXPECT_NEAR(snap[0].rps, 1.0 / 60.0, 1e-9);  // a full minute lived
  clock.advance_ms(60'000);
  EXPECT_TRUE(r.snapshot().empty());
  r.record("x", milliseconds(1), false);  // a slot reused after a full lap starts from zero
  EXPECT_EQ(r.snapshot().at(0).requests, 1u);
}

TEST(WindowRecorder, LabelsAreBoundedAndFoldIntoOther) {
  ManualClock clock;
  WindowRecorder r(clock, 4);
  for (int i = 0; i < 10; ++i) r.record("label" + std::to_string(i), milliseconds(1), false);
  const auto snap = r.snapshot();
  ASSERT_EQ(snap.size(), 4u);
  const auto* other = find(snap, "other");
  ASSERT_NE(other, nullptr);
  EXPECT_EQ(other->requests, 7u);  // three real labels, the rest folded
}

TEST(WindowRecorder, QuantileInterpolatesAndCapsTheOverflowBucket) {
  std::array<std::uint64_t, WindowRecorder::kBoundsMs.size() + 1> h{};
  EXPECT_EQ(WindowRecorder::quantile(h, 0.5), 0.0);
  h[2] = 10;  // (0.5, 1] ms
  EXPECT_DOUBLE_EQ(WindowRecorder::quantile(h, 0.5), 0.75);
  h = {};
  h.back() = 5;  // slower than the last bound: reported as the bound
  EXPECT_DOUBLE_EQ(WindowRecorder::quantile(h, 0.99), WindowRecorder::kBoundsMs.back());
}

TEST(WindowRecorder, ConcurrentRecordsAreAllCounted) {
  ManualClock clock;
  WindowRecorder r(clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&r] {
      for (int i = 0; i < 1000; ++i) r.record("GET /x", microseconds(500), i % 10 == 0);
    });
  }
  for (auto& t : threads) t.join();
  const auto snap = r.snapshot();
  ASSERT_EQ(snap.size(), 1u);
  EXPECT_EQ(snap[0].requests, 4000u);
  EXPECT_EQ(snap[0].errors, 400u);
}

TEST(RecentList, KeepsTheNewestN) {
  RecentList<int> l(3);
  for (int i = 1; i <= 5; ++i) l.push(i);
  EXPECT_EQ(l.items(), (std::vector<int>{5, 4, 3}));
}

}  // namespace
}  // namespace taskman::status
