#include "resilience/bulkhead.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace taskman::resilience {
namespace {

TEST(Bulkhead, RejectsBeyondCapacityAndFreesOnRelease) {
  Bulkhead b(2);
  auto p1 = b.try_acquire();
  auto p2 = b.try_acquire();
  ASSERT_TRUE(p1 && p2);
  EXPECT_EQ(b.in_flight(), 2u);
  EXPECT_FALSE(b.try_acquire());
  EXPECT_EQ(b.rejected_total(), 1u);
  p1.reset();  // permit destroyed: slot freed
  EXPECT_EQ(b.in_flight(), 1u);
  auto p3 = b.try_acquire();
  EXPECT_TRUE(p3);
  p2->release();
  p2->release();  // idempotent: must not free a second slot
  EXPECT_EQ(b.in_flight(), 1u);
}

TEST(Bulkhead, PermitsMoveWithoutDoubleRelease) {
  Bulkhead b(1);
  auto p = b.try_acquire();
  ASSERT_TRUE(p);
  Bulkhead::Permit moved = std::move(*p);
  p.reset();  // the moved-from permit holds nothing
  EXPECT_EQ(b.in_flight(), 1u);
  EXPECT_FALSE(b.try_acquire());
  { Bulkhead::Permit sink = std::move(moved); }
  EXPECT_EQ(b.in_flight(), 0u);
  EXPECT_TRUE(b.try_acquire());
}

TEST(Bulkhead, MoveAssignmentReleasesTheOldSlot) {
  Bulkhead b(2);
  auto a = b.try_acquire();
  auto c = b.try_acquire();
  ASSERT_TRUE(a && c);
  *a = std::move(*c);  // a's original slot is freed; a now holds c's
  EXPECT_EQ(b.in_flight(), 1u);
  a.reset();
  c.reset();
  EXPECT_EQ(b.in_flight(), 0u);
}

TEST(Bulkhead, ZeroCapacityIsAStartupError) { EXPECT_THROW(Bulkhead(0), std::invalid_argument); }

TEST(Bulkhead, ExactlyCapacityWinWhenEveryoneArrivesAtOnce) {
  constexpr int kThreads = 8;
  constexpr std::size_t kCapacity = 3;
  constexpr int kRounds = 100;
  Bulkhead b(kCapacity);
  std::atomic<int> granted{0};
  std::barrier sync(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        sync.arrive_and_wait();
        auto permit = b.try_acquire();  // nobody releases until everyone has tried
        if (permit) ++granted;
        sync.arrive_and_wait();  // everyone has tried
        sync.arrive_and_wait();  // the main thread has counted
        permit.reset();          // released before this thread joins the next round's start
      }
    });
  }
  int bad_rounds = 0;
  for (int r = 0; r < kRounds; ++r) {
    granted = 0;
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    if (granted.load() != static_cast<int>(kCapacity) || b.in_flight() != kCapacity) ++bad_rounds;
    sync.arrive_and_wait();
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad_rounds, 0);
  EXPECT_EQ(b.in_flight(), 0u);
  EXPECT_EQ(b.rejected_total(), static_cast<std::uint64_t>(kRounds * (kThreads - kCapacity)));
}

TEST(Bulkhead, NeverMoreThanCapacityInFlightUnderChurn) {
  constexpr int kThreads = 6;
  constexpr std::size_t kCapacity = 2;
  Bulkhead b(kCapacity);
  std::atomic<int> inside{0};
  std::atomic<int> max_inside{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        auto permit = b.try_acquire();
        if (!permit) continue;
        const int now = ++inside;
        int seen = max_inside.load();
        while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
        }
        --inside;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(max_inside.load(), static_cast<int>(kCapacity));
  EXPECT_EQ(b.in_flight(), 0u);
}

}  // namespace
}  // namespace taskman::resilience
