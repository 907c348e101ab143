#pragma once
// Circuit breaker with opossum semantics (docs/resilience.md#circuit-breaker): a rolling window of 10 buckets
// counts successes and failures; the breaker opens when failures reach error_threshold_percent of at least
// volume_threshold calls, stays OPEN for reset_timeout_ms, then lets exactly one probe through (HALF_OPEN)
// whose outcome closes or re-opens it. Pure logic over an injected Clock: no timers, no threads.
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "resilience/clock.hpp"

namespace taskman::resilience {

enum class BreakerState { kClosed, kOpen, kHalfOpen };
// "closed" | "open" | "half_open": metric label values and /health/ready detail.
const char* breaker_state_name(BreakerState state);

// Why admit() turned a call away; also the `reason` label of circuit_breaker_rejections_total.
enum class RejectReason { kNone, kOpen, kHalfOpenBusy, kForcedOpen };
const char* reject_reason_name(RejectReason reason);  // "" | "open" | "half_open_busy" | "forced_open"

// An operator's override (Hystrix's forceOpen/forceClosed): kAuto is the normal state machine;
// kForcedOpen rejects every call; kForcedClosed admits every call and never opens.
enum class BreakerMode { kAuto, kForcedOpen, kForcedClosed };
const char* breaker_mode_name(BreakerMode mode);  // "auto" | "forced_open" | "forced_closed"

// Why a transition happened, for the warn log line and span events (a bounded set).
enum class TransitionReason {
  kErrorThreshold,
  kResetTimeout,
  kProbeSucceeded,
  kProbeFailed,
  kProbeLost,
  kForcedOpen,    // an operator forced it open
  kForcedClosed,  // an operator forced it closed
  kOperatorAuto,  // an operator handed it back to the state machine (it restarts CLOSED, clean window)
};
// "error_threshold" | "reset_timeout" | "probe_succeeded" | "probe_failed" | "probe_lost" |
// "forced_open" | "forced_closed" | "operator_auto"
const char* transition_reason_name(TransitionReason reason);

struct CircuitBreakerOptions {
  bool enabled = true;  // CIRCUIT_BREAKER_ENABLED; disabled admits everything
  int error_threshold_percent =
      50;  // CIRCUIT_BREAKER_ERROR_THRESHOLD, 1..100, opens when >= (docs/resilience.md#threshold-comparison)
  std::int64_t volume_threshold = 10;  // CIRCUIT_BREAKER_VOLUME_THRESHOLD: calls in window before it may open
  std::int64_t rolling_window_ms = 10000;  // CIRCUIT_BREAKER_ROLLING_WINDOW_MS, >= 10 (10 buckets of >= 1 ms)
  std::int64_t reset_timeout_ms = 30000;   // CIRCUIT_BREAKER_RESET_TIMEOUT_MS, >= 1
  // A probe that has not reported after this long is treated as failed, so a caller that never
  // reports (crashed coroutine, lost callback) cannot wedge the breaker in HALF_OPEN. 0 means
  // reset_timeout_ms. Set it above the per-attempt timeout so a slow but live probe is not cut short.
  std::int64_t probe_timeout_ms = 0;
};
// Every problem at once (Error.fields), for start-up validation.
Status validate(const CircuitBreakerOptions& options);

// Identifies one admission so its outcome is counted against the state that admitted it. An outcome
// reported after the breaker has moved on (a new generation) is stale and ignored.
struct BreakerToken {
  std::uint64_t generation = 0;
  std::uint64_t probe_ticket = 0;  // non-zero only for the HALF_OPEN probe
  bool counted = true;             // false for a disabled breaker: outcomes are not recorded
};

struct Admission {
  bool allowed = false;
  RejectReason reason = RejectReason::kNone;
  // When rejected: milliseconds until the breaker will let a probe through. For kOpen, the rest of
  // the reset timeout. For kHalfOpenBusy, an upper bound: the time until the in-flight probe is
  // declared lost (it usually resolves much sooner).
  std::int64_t retry_after_ms = 0;
  bool probe = false;  // this call is the single HALF_OPEN trial
  BreakerToken token;  // report the outcome with exactly one record_*(token)
};

// The error an agent sees when the breaker turns a call away (docs/resilience.md#circuit-breaker: writes fail
// fast with a clear message): ErrorCode::kUnavailable (503) with retry_after_ms set from the admission. A
// forced-open rejection says an operator did it and carries no retry hint (nobody knows when they will undo
// it).
Error rejection_error(const Admission& rejected);

// Point-in-time view for /health/ready detail and the state gauge.
struct BreakerSnapshot {
  BreakerState state = BreakerState::kClosed;
  BreakerMode mode = BreakerMode::kAuto;
  bool enabled = true;
  std::int64_t calls_in_window = 0;  // successes + failures in the rolling window
  std::int64_t failures_in_window = 0;
  double error_percent = 0.0;  // 0 when the window is empty
  // Set while OPEN: ms until the next admit() may probe (0: the next admit() will probe).
  std::optional<std::int64_t> time_until_half_open_ms;
  bool probe_in_flight = false;
  std::uint64_t generation = 0;      // bumps on every transition
  std::uint64_t stale_outcomes = 0;  // outcomes ignored because the breaker had moved on
};

// (from, to, reason). Called outside the breaker's lock, in transition order, possibly on another
// thread than the one whose call caused the transition (one thread delivers at a time). A listener
// may call back into the breaker.
using TransitionListener = std::function<void(BreakerState from, BreakerState to, TransitionReason reason)>;

// Thread-safe: one mutex guards all state; admit()/record_*() are O(1) and never block on I/O.
class CircuitBreaker {
 public:
  // Throws std::invalid_argument when validate(options) fails (a start-up error). The clock must
  // outlive the breaker.
  CircuitBreaker(CircuitBreakerOptions options, const Clock& clock);
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Asks to make one call. OPEN becomes HALF_OPEN lazily here once the reset timeout has passed.
  Admission admit();
  // Report the outcome of an allowed call exactly once. Returns false when the outcome was stale (the
  // breaker had moved to another state since admission) or the token was not counted.
  // Failure: 5xx, timeout, connection error. Success: the backend answered sensibly (2xx-4xx: a 4xx
  // is the caller's mistake, not the backend's; opossum's errorFilter also counts those as success).
  bool record_success(const BreakerToken& token);
  bool record_failure(const BreakerToken& token);
  // The call says nothing about the backend's health (cancelled by our caller, never sent). A probe
  // reported this way frees the probe slot; the breaker stays HALF_OPEN and the next admit() probes.
  bool record_ignored(const BreakerToken& token);

  // The operator's override. Forcing open or closed moves the state there at once (a transition with
  // reason forced_open/forced_closed, so listeners and the state gauge follow); kAuto from a forced
  // mode restarts the state machine CLOSED with a clean window (reason operator_auto): if the backend
  // is still failing, the error threshold re-opens it. Setting the current mode again changes nothing.
  // Applies even to a disabled breaker (an operator's "stop calling the backend" switch).
  void set_mode(BreakerMode mode);
  BreakerMode mode() const { return mode_.load(std::memory_order_acquire); }

  // Must be called during wiring, before traffic (it takes the lock, so it is safe later too).
  void add_listener(TransitionListener listener);

  // The settled state; an OPEN breaker past its reset timeout stays OPEN until the next admit().
  BreakerState state() const;
  BreakerSnapshot snapshot() const;
  const CircuitBreakerOptions& options() const { return options_; }

 private:
  static constexpr int kBuckets = 10;
  struct Bucket {
    std::int64_t index = -1;  // which bucket_ms-long slice of time this slot holds
    std::int64_t successes = 0;
    std::int64_t failures = 0;
  };
  struct Transition {
    BreakerState from;
    BreakerState to;
    TransitionReason reason;
  };
  enum class Outcome { kSuccess, kFailure, kIgnored };

  bool record(const BreakerToken& token, Outcome outcome);
  // mu_ held for all below except deliver_transitions().
  void transition(BreakerState to, TransitionReason reason, std::int64_t now_ms);
  void settle_lost_probe(std::int64_t now_ms);
  Bucket& current_bucket(std::int64_t now_ms);
  void window_totals(std::int64_t now_ms, std::int64_t& successes, std::int64_t& failures) const;
  void reset_window();
  bool claim_delivery();  // true: this thread must call deliver_transitions() after unlocking
  void deliver_transitions();

  const CircuitBreakerOptions options_;
  const Clock& clock_;
  const std::int64_t bucket_ms_;
  const std::int64_t probe_timeout_ms_;

  mutable std::mutex mu_;  // guards everything below
  BreakerState state_ = BreakerState::kClosed;
  std::uint64_t generation_ = 1;
  Bucket buckets_[kBuckets];
  std::int64_t opened_at_ms_ = 0;   // OPEN: when the reset timer started
  std::uint64_t probe_ticket_ = 0;  // HALF_OPEN: the probe in flight, 0 when none
  std::uint64_t next_ticket_ = 1;
  std::int64_t probe_started_ms_ = 0;
  std::uint64_t stale_outcomes_ = 0;
  // Written under mu_; atomic so a disabled breaker's admit() can read it without the lock.
  std::atomic<BreakerMode> mode_{BreakerMode::kAuto};
  std::vector<TransitionListener> listeners_;
  std::vector<Transition> pending_;  // transitions not yet delivered
  bool delivering_ = false;          // a thread is draining pending_
};

}  // namespace taskman::resilience
