#include "resilience/circuit_breaker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <random>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <vector>

namespace taskman::resilience {
namespace {

using State = BreakerState;

CircuitBreakerOptions options(int threshold, std::int64_t volume, std::int64_t window_ms = 10000,
                              std::int64_t reset_ms = 30000) {
  CircuitBreakerOptions o;
  o.error_threshold_percent = threshold;
  o.volume_threshold = volume;
  o.rolling_window_ms = window_ms;
  o.reset_timeout_ms = reset_ms;
  return o;
}

// Admits and records `n` calls with one outcome; every call must be admitted.
void calls(CircuitBreaker& b, int n, bool fail) {
  for (int i = 0; i < n; ++i) {
    const Admission a = b.admit();
    ASSERT_TRUE(a.allowed) << "call " << i;
    if (fail) {
      b.record_failure(a.token);
    } else {
      b.record_success(a.token);
    }
  }
}

using Event = std::tuple<State, State, TransitionReason>;

struct Recorder {
  std::vector<Event> events;
  void attach(CircuitBreaker& b) {
    b.add_listener(
        [this](State from, State to, TransitionReason why) { events.emplace_back(from, to, why); });
  }
};

// Drives a breaker (threshold 50, volume 0) into OPEN with one failure.
void trip(CircuitBreaker& b) {
  const Admission a = b.admit();
  ASSERT_TRUE(a.allowed);
  b.record_failure(a.token);
  ASSERT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreakerNames, LowercaseLabels) {
  EXPECT_STREQ(breaker_state_name(State::kClosed), "closed");
  EXPECT_STREQ(breaker_state_name(State::kOpen), "open");
  EXPECT_STREQ(breaker_state_name(State::kHalfOpen), "half_open");
  EXPECT_STREQ(reject_reason_name(RejectReason::kOpen), "open");
  EXPECT_STREQ(reject_reason_name(RejectReason::kHalfOpenBusy), "half_open_busy");
  EXPECT_STREQ(transition_reason_name(TransitionReason::kProbeLost), "probe_lost");
}

TEST(CircuitBreakerOptions, ValidationReportsEveryBadField) {
  CircuitBreakerOptions o;
  o.error_threshold_percent = 0;
  o.rolling_window_ms = 9;
  o.reset_timeout_ms = 0;
  o.volume_threshold = -1;
  const Status s = validate(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().fields.size(), 4u);
  o = CircuitBreakerOptions{};
  o.error_threshold_percent = 101;
  EXPECT_FALSE(validate(o).ok());
  o.error_threshold_percent = 100;
  EXPECT_TRUE(validate(o).ok());
  o.error_threshold_percent = 1;
  EXPECT_TRUE(validate(o).ok());
  ManualClock clock;
  EXPECT_THROW(CircuitBreaker(options(0, 0), clock), std::invalid_argument);
}

TEST(CircuitBreaker, ClosedAdmitsAndCountsOutcomes) {
  ManualClock clock;
  CircuitBreaker b(options(50, 100), clock);
  calls(b, 3, false);
  calls(b, 1, true);
  const Admission a = b.admit();
  ASSERT_TRUE(a.allowed);
  EXPECT_FALSE(a.probe);
  EXPECT_TRUE(b.record_ignored(a.token));  // counted as reported, but not in the window
  const BreakerSnapshot s = b.snapshot();
  EXPECT_EQ(s.state, State::kClosed);
  EXPECT_EQ(s.calls_in_window, 4);
  EXPECT_EQ(s.failures_in_window, 1);
  EXPECT_DOUBLE_EQ(s.error_percent, 25.0);
  EXPECT_FALSE(s.time_until_half_open_ms.has_value());
}

// Volume 100 and the successes first: the threshold is judged exactly once, at the 100th call.
struct BoundaryCase {
  int threshold;
  int successes;
  int failures;
  State expected;
};

class ThresholdBoundary : public ::testing::TestWithParam<BoundaryCase> {};

TEST_P(ThresholdBoundary, OpensWhenErrorPercentReachesThreshold) {
  const BoundaryCase c = GetParam();
  ManualClock clock;
  CircuitBreaker b(options(c.threshold, 100), clock);
  calls(b, c.successes, false);
  calls(b, c.failures, true);
  EXPECT_EQ(b.state(), c.expected) << c.failures << "% failed, threshold " << c.threshold;
}

INSTANTIATE_TEST_SUITE_P(
    CircuitBreaker, ThresholdBoundary,
    ::testing::Values(BoundaryCase{50, 51, 49, State::kClosed},
                      // docs/resilience.md#threshold-comparison: >= (opossum's > would stay closed here).
                      BoundaryCase{50, 50, 50, State::kOpen}, BoundaryCase{50, 49, 51, State::kOpen},
                      // 100 means "every call failed", not "never".
                      BoundaryCase{100, 1, 99, State::kClosed}, BoundaryCase{100, 0, 100, State::kOpen},
                      BoundaryCase{1, 99, 1, State::kOpen}, BoundaryCase{1, 100, 0, State::kClosed}));

TEST(CircuitBreaker, VolumeThresholdHoldsOffOpening) {
  ManualClock clock;
  CircuitBreaker b(options(50, 5), clock);
  calls(b, 4, true);  // 100 % errors, but only 4 calls
  EXPECT_EQ(b.state(), State::kClosed);
  calls(b, 1, true);
  EXPECT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreaker, ZeroVolumeThresholdOpensOnFirstFailure) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0), clock);
  calls(b, 1, true);
  EXPECT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreaker, OldBucketsRollOutOfTheWindow) {
  ManualClock clock;  // starts on a bucket boundary (1 h)
  CircuitBreaker b(options(50, 4, /*window_ms=*/10000), clock);
  calls(b, 3, true);       // bucket 0
  clock.advance_ms(9999);  // last millisecond of bucket 9: bucket 0 still counts
  EXPECT_EQ(b.snapshot().calls_in_window, 3);
  clock.advance_ms(1);  // bucket 10: bucket 0 has rolled out
  EXPECT_EQ(b.snapshot().calls_in_window, 0);
  calls(b, 1, true);  // would be the 4th failure had the old ones stayed
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_EQ(b.snapshot().calls_in_window, 1);
}

TEST(CircuitBreaker, WindowKeepsRecentBucketsWhileOldOnesExpire) {
  ManualClock clock;
  CircuitBreaker b(options(50, 4, 10000), clock);
  calls(b, 2, true);  // bucket 0
  clock.advance_ms(5000);
  calls(b, 2, false);      // bucket 5
  clock.advance_ms(5000);  // bucket 10: the failures are gone, the successes remain
  BreakerSnapshot s = b.snapshot();
  EXPECT_EQ(s.calls_in_window, 2);
  EXPECT_EQ(s.failures_in_window, 0);
  calls(b, 2, true);  // 2 of 4 = 50 % with volume 4: opens
  EXPECT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreaker, SlotReuseAfterAFullRotationStartsEmpty) {
  ManualClock clock;
  CircuitBreaker b(options(50, 3, 10000), clock);
  calls(b, 2, true);        // bucket 0, slot 0
  clock.advance_ms(20000);  // bucket 20 maps to slot 0 again
  calls(b, 1, true);        // must not be added to the two stale failures
  EXPECT_EQ(b.snapshot().calls_in_window, 1);
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreaker, OpenRejectsWithTimeUntilProbe) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  trip(b);
  clock.advance_ms(12000);
  const Admission a = b.admit();
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, RejectReason::kOpen);
  EXPECT_EQ(a.retry_after_ms, 18000);
  const BreakerSnapshot s = b.snapshot();
  EXPECT_EQ(s.state, State::kOpen);
  ASSERT_TRUE(s.time_until_half_open_ms.has_value());
  EXPECT_EQ(*s.time_until_half_open_ms, 18000);
  clock.advance_ms(17999);
  EXPECT_FALSE(b.admit().allowed);
  EXPECT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreaker, RejectionErrorIsUnavailableWithARetryHint) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  trip(b);
  clock.advance_ms(2500);
  const Error e = rejection_error(b.admit());
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_EQ(e.retry_after_ms, 27500);
  EXPECT_NE(e.message.find("circuit breaker open"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("28 s"), std::string::npos) << e.message;
  clock.advance_ms(27500);
  ASSERT_TRUE(b.admit().probe);
  const Error busy = rejection_error(b.admit());
  EXPECT_NE(busy.message.find("half-open"), std::string::npos) << busy.message;
}

TEST(CircuitBreaker, ProbeSuccessClosesWithAFreshWindow) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  Recorder rec;
  rec.attach(b);
  trip(b);
  clock.advance_ms(30000);
  const Admission probe = b.admit();
  ASSERT_TRUE(probe.allowed);
  EXPECT_TRUE(probe.probe);
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_TRUE(b.snapshot().probe_in_flight);
  EXPECT_TRUE(b.record_success(probe.token));
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_EQ(b.snapshot().calls_in_window, 0);  // the failure that opened it is forgotten
  const std::vector<Event> expected = {
      {State::kClosed, State::kOpen, TransitionReason::kErrorThreshold},
      {State::kOpen, State::kHalfOpen, TransitionReason::kResetTimeout},
      {State::kHalfOpen, State::kClosed, TransitionReason::kProbeSucceeded},
  };
  EXPECT_EQ(rec.events, expected);
  // Closed again: traffic flows and counts from zero.
  calls(b, 3, false);
  EXPECT_EQ(b.snapshot().calls_in_window, 3);
}

TEST(CircuitBreaker, FailuresFromBeforeTheOpeningCannotReopenAClosedBreaker) {
  ManualClock clock;
  // The window (60 s) outlives the reset timeout (1 s), so the opening failures are still in it.
  CircuitBreaker b(options(50, 4, 60000, 1000), clock);
  calls(b, 4, true);
  ASSERT_EQ(b.state(), State::kOpen);
  clock.advance_ms(1000);
  const Admission probe = b.admit();
  ASSERT_TRUE(probe.probe);
  b.record_success(probe.token);
  ASSERT_EQ(b.state(), State::kClosed);
  calls(b, 1, true);  // 1 call, under the volume threshold; 5 of 5 had the old ones stayed
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_EQ(b.snapshot().calls_in_window, 1);
}

TEST(CircuitBreaker, ProbeFailureReopensWithAFreshTimer) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  Recorder rec;
  rec.attach(b);
  trip(b);
  clock.advance_ms(30000);
  const Admission probe = b.admit();
  ASSERT_TRUE(probe.probe);
  clock.advance_ms(700);  // the probe took a while to fail
  EXPECT_TRUE(b.record_failure(probe.token));
  EXPECT_EQ(b.state(), State::kOpen);
  Admission a = b.admit();
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.retry_after_ms, 30000);  // measured from the probe's failure, not the first opening
  clock.advance_ms(29999);
  EXPECT_FALSE(b.admit().allowed);
  clock.advance_ms(1);
  a = b.admit();
  EXPECT_TRUE(a.allowed);
  EXPECT_TRUE(a.probe);
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.events[2], Event(State::kHalfOpen, State::kOpen, TransitionReason::kProbeFailed));
  EXPECT_EQ(rec.events[3], Event(State::kOpen, State::kHalfOpen, TransitionReason::kResetTimeout));
}

TEST(CircuitBreaker, HalfOpenRejectsOthersWhileTheProbeIsOut) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  trip(b);
  clock.advance_ms(30000);
  ASSERT_TRUE(b.admit().allowed);
  clock.advance_ms(1000);
  for (int i = 0; i < 5; ++i) {
    const Admission a = b.admit();
    EXPECT_FALSE(a.allowed);
    EXPECT_EQ(a.reason, RejectReason::kHalfOpenBusy);
    EXPECT_EQ(a.retry_after_ms, 29000);  // until the probe would be declared lost
  }
}

TEST(CircuitBreaker, ExactlyOneProbeUnderConcurrentCallers) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 1000), clock);
  trip(b);
  std::atomic<int> allowed{0};
  std::atomic<int> busy{0};
  std::vector<BreakerToken> probe_tokens(kThreads);
  std::vector<char> was_probe(kThreads, 0);
  std::barrier sync(kThreads + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        sync.arrive_and_wait();  // start together
        const Admission a = b.admit();
        if (a.allowed) ++allowed;
        if (a.reason == RejectReason::kHalfOpenBusy) ++busy;
        was_probe[t] = a.probe;
        probe_tokens[t] = a.token;
        sync.arrive_and_wait();  // done
      }
    });
  }
  int failures = 0;
  for (int r = 0; r < kRounds; ++r) {
    clock.advance_ms(1000);  // reset timeout over: the next admit() races to be the probe
    allowed = 0;
    busy = 0;
    sync.arrive_and_wait();
    sync.arrive_and_wait();
    if (allowed.load() != 1 || busy.load() != kThreads - 1) ++failures;
    // Fail the probe so the next round races from OPEN again.
    for (int t = 0; t < kThreads; ++t) {
      if (was_probe[t]) {
        EXPECT_TRUE(b.record_failure(probe_tokens[t]));
      }
    }
    ASSERT_EQ(b.state(), State::kOpen) << "round " << r;
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0) << "rounds without exactly one probe";
}

TEST(CircuitBreaker, StaleOutcomesDoNotSteerTheNewState) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  const Admission first = b.admit();
  const Admission slow_failure = b.admit();
  const Admission slow_success = b.admit();
  ASSERT_TRUE(first.allowed && slow_failure.allowed && slow_success.allowed);
  EXPECT_TRUE(b.record_failure(first.token));
  ASSERT_EQ(b.state(), State::kOpen);
  clock.advance_ms(10000);
  // A failure of a call started before the opening must not restart the reset timer (opossum #385)...
  EXPECT_FALSE(b.record_failure(slow_failure.token));
  // ...and a late success from before the opening must not close the breaker.
  EXPECT_FALSE(b.record_success(slow_success.token));
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_EQ(b.admit().retry_after_ms, 20000);
  EXPECT_EQ(b.snapshot().stale_outcomes, 2u);

  clock.advance_ms(20000);
  const Admission probe = b.admit();
  ASSERT_TRUE(probe.probe);
  // A closed-era token during HALF_OPEN is not the probe's outcome.
  EXPECT_FALSE(b.record_success(first.token));
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_TRUE(b.snapshot().probe_in_flight);
  EXPECT_TRUE(b.record_success(probe.token));
  EXPECT_EQ(b.state(), State::kClosed);
  // Reporting the probe again (or late) changes nothing.
  EXPECT_FALSE(b.record_failure(probe.token));
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreaker, ConcurrentFailuresOpenOnceAndStillRecover) {
  constexpr int kThreads = 8;
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  Recorder rec;
  rec.attach(b);
  std::vector<Admission> admissions;
  for (int i = 0; i < kThreads; ++i) admissions.push_back(b.admit());
  std::barrier sync(kThreads);
  std::atomic<int> counted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      sync.arrive_and_wait();
      if (b.record_failure(admissions[t].token)) ++counted;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counted.load(), 1);  // the first opened it; the rest were stale
  ASSERT_EQ(rec.events.size(), 1u);
  clock.advance_ms(30000);
  const Admission probe = b.admit();
  ASSERT_TRUE(probe.probe);
  b.record_success(probe.token);
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreaker, LostProbeIsTreatedAsFailedAtItsDeadline) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  Recorder rec;
  rec.attach(b);
  trip(b);
  clock.advance_ms(30000);
  const Admission lost = b.admit();
  ASSERT_TRUE(lost.probe);
  clock.advance_ms(29999);
  Admission a = b.admit();
  EXPECT_EQ(a.reason, RejectReason::kHalfOpenBusy);
  EXPECT_EQ(a.retry_after_ms, 1);
  clock.advance_ms(1);  // probe_timeout (= reset_timeout) reached: the probe is lost, re-open from now
  a = b.admit();
  EXPECT_FALSE(a.allowed);
  EXPECT_EQ(a.reason, RejectReason::kOpen);
  EXPECT_EQ(a.retry_after_ms, 30000);
  EXPECT_EQ(rec.events.back(), Event(State::kHalfOpen, State::kOpen, TransitionReason::kProbeLost));
  // The lost probe finally answering changes nothing.
  EXPECT_FALSE(b.record_success(lost.token));
  EXPECT_EQ(b.state(), State::kOpen);
  clock.advance_ms(30000);
  a = b.admit();
  EXPECT_TRUE(a.probe);
  b.record_success(a.token);
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreaker, LostProbeAfterLongIdleLetsTheNextCallerProbe) {
  ManualClock clock;
  CircuitBreakerOptions o = options(50, 0, 10000, 30000);
  o.probe_timeout_ms = 5000;
  CircuitBreaker b(o, clock);
  Recorder rec;
  rec.attach(b);
  trip(b);
  clock.advance_ms(30000);
  ASSERT_TRUE(b.admit().probe);
  clock.advance_ms(5000 + 30000);  // lost at +5 s, re-opened then, and that reset timeout has passed too
  const Admission a = b.admit();
  EXPECT_TRUE(a.allowed);
  EXPECT_TRUE(a.probe);
  ASSERT_EQ(rec.events.size(), 4u);
  EXPECT_EQ(rec.events[2], Event(State::kHalfOpen, State::kOpen, TransitionReason::kProbeLost));
  EXPECT_EQ(rec.events[3], Event(State::kOpen, State::kHalfOpen, TransitionReason::kResetTimeout));
}

TEST(CircuitBreaker, LateProbeResultCountsUntilSomeoneDeclaresItLost) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  trip(b);
  clock.advance_ms(30000);
  const Admission probe = b.admit();
  clock.advance_ms(45000);  // past probe_timeout, but no admit() has looked
  EXPECT_TRUE(b.record_success(probe.token));
  EXPECT_EQ(b.state(), State::kClosed);
}

TEST(CircuitBreaker, IgnoredProbeFreesTheSlot) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  trip(b);
  clock.advance_ms(30000);
  const Admission first = b.admit();
  ASSERT_TRUE(first.probe);
  EXPECT_TRUE(b.record_ignored(first.token));  // e.g. our caller cancelled before the answer
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_FALSE(b.snapshot().probe_in_flight);
  const Admission second = b.admit();
  ASSERT_TRUE(second.probe);
  EXPECT_FALSE(b.record_failure(first.token));  // the first probe's ticket is spent
  EXPECT_EQ(b.state(), State::kHalfOpen);
  EXPECT_EQ(b.admit().reason, RejectReason::kHalfOpenBusy);
  EXPECT_TRUE(b.record_failure(second.token));
  EXPECT_EQ(b.state(), State::kOpen);
}

TEST(CircuitBreaker, DisabledAdmitsEverything) {
  ManualClock clock;
  CircuitBreakerOptions o = options(50, 0);
  o.enabled = false;
  CircuitBreaker b(o, clock);
  Recorder rec;
  rec.attach(b);
  for (int i = 0; i < 50; ++i) {
    const Admission a = b.admit();
    ASSERT_TRUE(a.allowed);
    EXPECT_FALSE(b.record_failure(a.token));
  }
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_FALSE(b.snapshot().enabled);
  EXPECT_TRUE(rec.events.empty());
}

TEST(CircuitBreaker, ListenersRunOutsideTheLockAndSeeTheNewState) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  std::vector<std::pair<State, State>> seen;  // (to, state() inside the listener)
  b.add_listener([&](State, State to, TransitionReason) {
    seen.emplace_back(to, b.snapshot().state);  // would deadlock if called under the breaker's lock
  });
  int second_listener_calls = 0;
  b.add_listener([&](State, State, TransitionReason) { ++second_listener_calls; });
  trip(b);
  clock.advance_ms(30000);
  const Admission probe = b.admit();
  b.record_success(probe.token);
  const std::vector<std::pair<State, State>> expected = {
      {State::kOpen, State::kOpen}, {State::kHalfOpen, State::kHalfOpen}, {State::kClosed, State::kClosed}};
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(second_listener_calls, 3);
}

TEST(CircuitBreaker, ListenerMayReenterAndTransitionsStayInOrder) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  Recorder rec;
  bool reentered = false;
  // On opening, this listener advances time and admits: a nested transition (OPEN -> HALF_OPEN) that
  // must be delivered after the current one, not inside it.
  b.add_listener([&](State, State to, TransitionReason) {
    if (to == State::kOpen && !reentered) {
      reentered = true;
      clock.advance_ms(30000);
      EXPECT_TRUE(b.admit().probe);
    }
  });
  rec.attach(b);
  const Admission a = b.admit();
  b.record_failure(a.token);
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(std::get<1>(rec.events[0]), State::kOpen);
  EXPECT_EQ(std::get<1>(rec.events[1]), State::kHalfOpen);
}

TEST(CircuitBreaker, ThrowingListenerDoesNotWedgeDelivery) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0, 10000, 30000), clock);
  b.add_listener([](State, State, TransitionReason) { throw std::runtime_error("boom"); });
  Recorder rec;
  rec.attach(b);
  trip(b);
  clock.advance_ms(30000);
  EXPECT_TRUE(b.admit().probe);
  EXPECT_EQ(rec.events.size(), 2u);
}

// Many threads admitting and reporting while time moves: never two probes out at once, and the
// breaker keeps cycling (no stuck OPEN, no wedged HALF_OPEN). Meant to run under TSan as well.
TEST(CircuitBreaker, StressKeepsAtMostOneProbeOut) {
  constexpr int kThreads = 6;
  constexpr int kIterations = 20000;
  ManualClock clock;
  CircuitBreaker b(options(50, 5, 100, 20), clock);
  std::atomic<int> probes_out{0};
  std::atomic<int> max_probes_out{0};
  std::atomic<int> closes{0};
  b.add_listener([&](State, State to, TransitionReason) {
    if (to == State::kClosed) ++closes;
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      for (int i = 0; i < kIterations; ++i) {
        if (t == 0 && i % 50 == 0) clock.advance_ms(3);
        const Admission a = b.admit();
        if (!a.allowed) continue;
        if (a.probe) {
          const int now_out = ++probes_out;
          int seen = max_probes_out.load();
          while (now_out > seen && !max_probes_out.compare_exchange_weak(seen, now_out)) {
          }
          --probes_out;  // before reporting: once reported, another probe may legitimately start
        }
        switch (rng() % 4) {
          case 0:
            b.record_success(a.token);
            break;
          case 1:
            b.record_ignored(a.token);
            break;
          default:
            b.record_failure(a.token);
            break;  // mostly failing: keeps the breaker cycling
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(max_probes_out.load(), 1);
  EXPECT_GT(closes.load(), 0);
  EXPECT_EQ(b.snapshot().probe_in_flight, false);
}

}  // namespace
}  // namespace taskman::resilience
