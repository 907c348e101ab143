// The operator's override of the breaker (POST /admin/breaker): forced open, forced closed, auto.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "resilience/circuit_breaker.hpp"

namespace taskman::resilience {
namespace {

using State = BreakerState;
using Event = std::tuple<State, State, TransitionReason>;

CircuitBreakerOptions options(int threshold, std::int64_t volume, std::int64_t reset_ms = 30000) {
  CircuitBreakerOptions o;
  o.error_threshold_percent = threshold;
  o.volume_threshold = volume;
  o.rolling_window_ms = 10000;
  o.reset_timeout_ms = reset_ms;
  return o;
}

struct Recorder {
  std::vector<Event> events;
  void attach(CircuitBreaker& b) {
    b.add_listener(
        [this](State from, State to, TransitionReason why) { events.emplace_back(from, to, why); });
  }
};

TEST(CircuitBreakerMode, Names) {
  EXPECT_STREQ(breaker_mode_name(BreakerMode::kAuto), "auto");
  EXPECT_STREQ(breaker_mode_name(BreakerMode::kForcedOpen), "forced_open");
  EXPECT_STREQ(breaker_mode_name(BreakerMode::kForcedClosed), "forced_closed");
  EXPECT_STREQ(reject_reason_name(RejectReason::kForcedOpen), "forced_open");
  EXPECT_STREQ(transition_reason_name(TransitionReason::kForcedOpen), "forced_open");
  EXPECT_STREQ(transition_reason_name(TransitionReason::kForcedClosed), "forced_closed");
  EXPECT_STREQ(transition_reason_name(TransitionReason::kOperatorAuto), "operator_auto");
}

TEST(CircuitBreakerMode, ForcedOpenRejectsEveryCallEvenPastTheResetTimeout) {
  ManualClock clock;
  CircuitBreaker b(options(50, 10, 100), clock);
  Recorder rec;
  rec.attach(b);
  const Admission before = b.admit();  // admitted under auto, reported after the override
  ASSERT_TRUE(before.allowed);
  b.set_mode(BreakerMode::kForcedOpen);
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_EQ(b.mode(), BreakerMode::kForcedOpen);
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(rec.events[0], Event(State::kClosed, State::kOpen, TransitionReason::kForcedOpen));
  EXPECT_FALSE(b.record_success(before.token));  // stale: it cannot close a forced-open breaker
  for (int i = 0; i < 3; ++i) {
    clock.advance_ms(1000);  // ten reset timeouts: no probe is ever let through
    const Admission a = b.admit();
    EXPECT_FALSE(a.allowed);
    EXPECT_EQ(a.reason, RejectReason::kForcedOpen);
    EXPECT_FALSE(a.probe);
  }
  EXPECT_EQ(b.state(), State::kOpen);
  const BreakerSnapshot s = b.snapshot();
  EXPECT_EQ(s.mode, BreakerMode::kForcedOpen);
  EXPECT_FALSE(s.time_until_half_open_ms);  // no timer runs while forced
  const Error e = rejection_error(b.admit());
  EXPECT_EQ(e.code, ErrorCode::kUnavailable);
  EXPECT_NE(e.message.find("circuit forced open by an operator"), std::string::npos) << e.message;
  EXPECT_EQ(rec.events.size(), 1u);
}

TEST(CircuitBreakerMode, ForcedClosedAdmitsAllAndNeverOpensThenAutoRestartsClean) {
  ManualClock clock;
  CircuitBreaker b(options(50, 2), clock);
  Recorder rec;
  rec.attach(b);
  b.set_mode(BreakerMode::kForcedClosed);
  EXPECT_TRUE(rec.events.empty());  // already closed: no transition
  for (int i = 0; i < 20; ++i) {
    const Admission a = b.admit();
    ASSERT_TRUE(a.allowed) << i;
    EXPECT_TRUE(b.record_failure(a.token));
  }
  EXPECT_EQ(b.state(), State::kClosed);
  const BreakerSnapshot s = b.snapshot();
  EXPECT_EQ(s.failures_in_window, 20);  // still counted, for the status page
  EXPECT_DOUBLE_EQ(s.error_percent, 100.0);
  b.set_mode(BreakerMode::kAuto);
  EXPECT_EQ(b.mode(), BreakerMode::kAuto);
  EXPECT_EQ(b.snapshot().calls_in_window, 0);  // the forced-closed failures do not open it at once
  const Admission a = b.admit();
  ASSERT_TRUE(a.allowed);
  b.record_failure(a.token);
  EXPECT_EQ(b.state(), State::kClosed);  // one failure is below the volume threshold of 2
  const Admission c = b.admit();
  b.record_failure(c.token);
  EXPECT_EQ(b.state(), State::kOpen);  // the normal state machine again
  ASSERT_EQ(rec.events.size(), 1u);
  EXPECT_EQ(rec.events[0], Event(State::kClosed, State::kOpen, TransitionReason::kErrorThreshold));
}

TEST(CircuitBreakerMode, ForcingClosedClosesAnOpenBreakerAndAutoFromForcedOpenCloses) {
  ManualClock clock;
  CircuitBreaker b(options(50, 0), clock);
  Recorder rec;
  rec.attach(b);
  const Admission a = b.admit();
  b.record_failure(a.token);
  ASSERT_EQ(b.state(), State::kOpen);
  b.set_mode(BreakerMode::kForcedClosed);
  EXPECT_EQ(b.state(), State::kClosed);
  b.set_mode(BreakerMode::kForcedOpen);
  EXPECT_EQ(b.state(), State::kOpen);
  b.set_mode(BreakerMode::kForcedOpen);  // again: nothing happens
  b.set_mode(BreakerMode::kAuto);
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_TRUE(b.admit().allowed);
  const std::vector<Event> want = {
      {State::kClosed, State::kOpen, TransitionReason::kErrorThreshold},
      {State::kOpen, State::kClosed, TransitionReason::kForcedClosed},
      {State::kClosed, State::kOpen, TransitionReason::kForcedOpen},
      {State::kOpen, State::kClosed, TransitionReason::kOperatorAuto},
  };
  EXPECT_EQ(rec.events, want);
}

TEST(CircuitBreakerMode, ForcedOpenAppliesToADisabledBreaker) {
  ManualClock clock;
  auto o = options(50, 0);
  o.enabled = false;
  CircuitBreaker b(o, clock);
  EXPECT_TRUE(b.admit().allowed);
  b.set_mode(BreakerMode::kForcedOpen);
  EXPECT_FALSE(b.admit().allowed);
  EXPECT_EQ(b.state(), State::kOpen);
  EXPECT_EQ(b.snapshot().state, State::kOpen);
  b.set_mode(BreakerMode::kAuto);
  EXPECT_TRUE(b.admit().allowed);
  EXPECT_EQ(b.state(), State::kClosed);
}

}  // namespace
}  // namespace taskman::resilience
