#include "resilience/circuit_breaker.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace taskman::resilience {

const char* breaker_state_name(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "closed";
}

const char* reject_reason_name(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "";
    case RejectReason::kOpen:
      return "open";
    case RejectReason::kHalfOpenBusy:
      return "half_open_busy";
    case RejectReason::kForcedOpen:
      return "forced_open";
  }
  return "";
}

const char* breaker_mode_name(BreakerMode mode) {
  switch (mode) {
    case BreakerMode::kAuto:
      return "auto";
    case BreakerMode::kForcedOpen:
      return "forced_open";
    case BreakerMode::kForcedClosed:
      return "forced_closed";
  }
  return "auto";
}

const char* transition_reason_name(TransitionReason reason) {
  switch (reason) {
    case TransitionReason::kErrorThreshold:
      return "error_threshold";
    case TransitionReason::kResetTimeout:
      return "reset_timeout";
    case TransitionReason::kProbeSucceeded:
      return "probe_succeeded";
    case TransitionReason::kProbeFailed:
      return "probe_failed";
    case TransitionReason::kProbeLost:
      return "probe_lost";
    case TransitionReason::kForcedOpen:
      return "forced_open";
    case TransitionReason::kForcedClosed:
      return "forced_closed";
    case TransitionReason::kOperatorAuto:
      return "operator_auto";
  }
  return "";
}

Error rejection_error(const Admission& rejected) {
  if (rejected.reason == RejectReason::kForcedOpen) {
    return Error::make(
        ErrorCode::kUnavailable,
        "the task backend is not being called: circuit forced open by an operator; nothing was "
        "changed, retry after the operator sets the breaker back to automatic");
  }
  // Whole seconds, rounded up, read better in a message than milliseconds; the exact value is in
  // retry_after_ms.
  const std::int64_t seconds = (std::max<std::int64_t>(0, rejected.retry_after_ms) + 999) / 1000;
  std::string message = rejected.reason == RejectReason::kHalfOpenBusy
                            ? "the task backend is recovering (circuit breaker half-open, a trial request is "
                              "in flight); nothing was changed, retry in a moment"
                            : "the task backend is unavailable (circuit breaker open); nothing was changed, "
                              "retry in about " +
                                  std::to_string(std::max<std::int64_t>(1, seconds)) + " s";
  Error e = Error::make(ErrorCode::kUnavailable, std::move(message));
  e.retry_after_ms = std::max<std::int64_t>(0, rejected.retry_after_ms);
  return e;
}

Status validate(const CircuitBreakerOptions& o) {
  std::vector<FieldError> errors;
  if (o.error_threshold_percent < 1 || o.error_threshold_percent > 100) {
    errors.push_back({"error_threshold_percent", "must be an integer from 1 to 100"});
  }
  if (o.volume_threshold < 0) errors.push_back({"volume_threshold", "must be >= 0"});
  // 10 buckets of at least 1 ms each.
  if (o.rolling_window_ms < 10) errors.push_back({"rolling_window_ms", "must be >= 10"});
  if (o.reset_timeout_ms < 1) errors.push_back({"reset_timeout_ms", "must be >= 1"});
  if (o.probe_timeout_ms < 0) errors.push_back({"probe_timeout_ms", "must be >= 0 (0: reset_timeout_ms)"});
  if (errors.empty()) return {};
  std::string summary = "invalid circuit breaker options:";
  for (const auto& e : errors) summary += " " + e.field + " " + e.message + ";";
  return Error{ErrorCode::kInvalidArgument, std::move(summary), std::move(errors)};
}

namespace {

const CircuitBreakerOptions& checked(const CircuitBreakerOptions& options) {
  if (auto status = validate(options); !status.ok()) throw std::invalid_argument(status.error().message);
  return options;
}

}  // namespace

CircuitBreaker::CircuitBreaker(CircuitBreakerOptions options, const Clock& clock)
    : options_(checked(options)),
      clock_(clock),
      // A window that is not a multiple of 10 ms is rounded down to one (e.g. 10005 ms -> 10000 ms).
      bucket_ms_(options_.rolling_window_ms / kBuckets),
      probe_timeout_ms_(options_.probe_timeout_ms > 0 ? options_.probe_timeout_ms
                                                      : options_.reset_timeout_ms) {}

Admission CircuitBreaker::admit() {
  Admission a;
  if (mode_.load(std::memory_order_acquire) == BreakerMode::kForcedOpen) {
    a.reason = RejectReason::kForcedOpen;
    return a;
  }
  if (!options_.enabled) {
    a.allowed = true;
    a.token.counted = false;
    return a;
  }
  bool deliver = false;
  {
    std::lock_guard lock(mu_);
    const std::int64_t now = clock_.now_ms();
    settle_lost_probe(now);
    // Lazy OPEN -> HALF_OPEN: no timer thread; the first caller after the reset timeout becomes the probe.
    // Re-checked under the lock: set_mode() may have forced it open since the unlocked read.
    const BreakerMode mode = mode_.load(std::memory_order_relaxed);
    if (mode == BreakerMode::kForcedOpen) {
      a.reason = RejectReason::kForcedOpen;
      return a;
    }
    if (state_ == BreakerState::kOpen && now - opened_at_ms_ >= options_.reset_timeout_ms) {
      transition(BreakerState::kHalfOpen, TransitionReason::kResetTimeout, now);
    }
    switch (state_) {
      case BreakerState::kClosed:
        a.allowed = true;
        a.token = BreakerToken{generation_, 0, true};
        break;
      case BreakerState::kOpen:
        a.reason = RejectReason::kOpen;
        a.retry_after_ms = opened_at_ms_ + options_.reset_timeout_ms - now;
        break;
      case BreakerState::kHalfOpen:
        if (probe_ticket_ == 0) {
          probe_ticket_ = next_ticket_++;
          probe_started_ms_ = now;
          a.allowed = true;
          a.probe = true;
          a.token = BreakerToken{generation_, probe_ticket_, true};
        } else {
          // Exactly one probe (opossum #119 let everyone through here).
          a.reason = RejectReason::kHalfOpenBusy;
          a.retry_after_ms = std::max<std::int64_t>(0, probe_started_ms_ + probe_timeout_ms_ - now);
        }
        break;
    }
    deliver = claim_delivery();
  }
  if (deliver) deliver_transitions();
  return a;
}

bool CircuitBreaker::record_success(const BreakerToken& token) { return record(token, Outcome::kSuccess); }
bool CircuitBreaker::record_failure(const BreakerToken& token) { return record(token, Outcome::kFailure); }
bool CircuitBreaker::record_ignored(const BreakerToken& token) { return record(token, Outcome::kIgnored); }

bool CircuitBreaker::record(const BreakerToken& token, Outcome outcome) {
  if (!token.counted || !options_.enabled) return false;
  bool counted = false;
  bool deliver = false;
  {
    std::lock_guard lock(mu_);
    const std::int64_t now = clock_.now_ms();
    // An outcome admitted under an earlier state must not steer the current one: e.g. failures of
    // calls started before the breaker opened must not restart its reset timer (opossum #385), and
    // a slow success from before it opened must not close it.
    if (token.generation != generation_) {
      ++stale_outcomes_;
      return false;
    }
    switch (state_) {
      case BreakerState::kClosed: {
        counted = true;
        if (outcome == Outcome::kIgnored) break;
        Bucket& b = current_bucket(now);
        if (outcome == Outcome::kSuccess) {
          ++b.successes;
          break;
        }
        ++b.failures;
        // Only a failure can raise the error rate, so only a failure can open the breaker.
        std::int64_t successes = 0;
        std::int64_t failures = 0;
        window_totals(now, successes, failures);
        const std::int64_t calls = successes + failures;
        // docs/resilience.md#threshold-comparison: >= (opossum uses >), so threshold 100 means "every call
        // failed", not "never". Forced closed: still counted (the status page shows the error rate) but never
        // opens.
        if (mode_.load(std::memory_order_relaxed) == BreakerMode::kAuto &&
            calls >= std::max<std::int64_t>(1, options_.volume_threshold) &&
            failures * 100 >= static_cast<std::int64_t>(options_.error_threshold_percent) * calls) {
          transition(BreakerState::kOpen, TransitionReason::kErrorThreshold, now);
        }
        break;
      }
      case BreakerState::kOpen:
        // No admissions happen in OPEN, so no token can carry its generation.
        ++stale_outcomes_;
        return false;
      case BreakerState::kHalfOpen:
        if (token.probe_ticket == 0 || token.probe_ticket != probe_ticket_) {
          ++stale_outcomes_;
          return false;
        }
        // A probe reporting after probe_timeout_ms but before any admit() declared it lost still counts:
        // nothing else has happened meanwhile and its answer is the freshest evidence there is.
        counted = true;
        if (outcome == Outcome::kSuccess) {
          transition(BreakerState::kClosed, TransitionReason::kProbeSucceeded, now);
        } else if (outcome == Outcome::kFailure) {
          transition(BreakerState::kOpen, TransitionReason::kProbeFailed, now);
        } else {
          probe_ticket_ = 0;  // free the slot; the next admit() probes
        }
        break;
    }
    deliver = claim_delivery();
  }
  if (deliver) deliver_transitions();
  return counted;
}

void CircuitBreaker::set_mode(BreakerMode mode) {
  bool deliver = false;
  {
    std::lock_guard lock(mu_);
    const BreakerMode before = mode_.load(std::memory_order_relaxed);
    if (before == mode) return;
    mode_.store(mode, std::memory_order_release);
    const std::int64_t now = clock_.now_ms();
    switch (mode) {
      case BreakerMode::kForcedOpen:
        if (state_ != BreakerState::kOpen) {
          transition(BreakerState::kOpen, TransitionReason::kForcedOpen, now);
        } else {
          ++generation_;  // outcomes of calls admitted before the override must not count after it
        }
        break;
      case BreakerMode::kForcedClosed:
        if (state_ != BreakerState::kClosed) {
          transition(BreakerState::kClosed, TransitionReason::kForcedClosed, now);
        }
        break;
      case BreakerMode::kAuto:
        if (state_ != BreakerState::kClosed) {
          transition(BreakerState::kClosed, TransitionReason::kOperatorAuto, now);
        } else {
          reset_window();  // what was counted while forced closed must not open it at once
        }
        break;
    }
    deliver = claim_delivery();
  }
  if (deliver) deliver_transitions();
}

void CircuitBreaker::add_listener(TransitionListener listener) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(listener));
}

BreakerState CircuitBreaker::state() const {
  if (!options_.enabled && mode() != BreakerMode::kForcedOpen) return BreakerState::kClosed;
  std::lock_guard lock(mu_);
  return state_;
}

BreakerSnapshot CircuitBreaker::snapshot() const {
  BreakerSnapshot s;
  s.enabled = options_.enabled;
  std::lock_guard lock(mu_);
  const std::int64_t now = clock_.now_ms();
  s.mode = mode_.load(std::memory_order_relaxed);
  s.state = options_.enabled || s.mode == BreakerMode::kForcedOpen ? state_ : BreakerState::kClosed;
  std::int64_t successes = 0;
  window_totals(now, successes, s.failures_in_window);
  s.calls_in_window = successes + s.failures_in_window;
  s.error_percent = s.calls_in_window == 0 ? 0.0 : 100.0 * s.failures_in_window / s.calls_in_window;
  if (options_.enabled && state_ == BreakerState::kOpen && s.mode == BreakerMode::kAuto) {
    s.time_until_half_open_ms = std::max<std::int64_t>(0, opened_at_ms_ + options_.reset_timeout_ms - now);
  }
  s.probe_in_flight = state_ == BreakerState::kHalfOpen && probe_ticket_ != 0;
  s.generation = generation_;
  s.stale_outcomes = stale_outcomes_;
  return s;
}

void CircuitBreaker::transition(BreakerState to, TransitionReason reason, std::int64_t now_ms) {
  pending_.push_back(Transition{state_, to, reason});
  state_ = to;
  ++generation_;  // every token issued before this point is now stale
  probe_ticket_ = 0;
  if (to == BreakerState::kOpen) opened_at_ms_ = now_ms;
  // Closing starts from a clean window (opossum resets its stats on close), so the failures that
  // opened the breaker cannot re-open it on the first new failure.
  if (to == BreakerState::kClosed) reset_window();
}

void CircuitBreaker::settle_lost_probe(std::int64_t now_ms) {
  if (state_ != BreakerState::kHalfOpen || probe_ticket_ == 0) return;
  const std::int64_t deadline = probe_started_ms_ + probe_timeout_ms_;
  if (now_ms < deadline) return;
  transition(BreakerState::kOpen, TransitionReason::kProbeLost, now_ms);
  // As if the probe had failed at its deadline: if the reset timeout has also passed since then, the
  // caller asking now becomes the next probe instead of waiting a whole extra reset timeout.
  opened_at_ms_ = deadline;
}

CircuitBreaker::Bucket& CircuitBreaker::current_bucket(std::int64_t now_ms) {
  const std::int64_t index = now_ms / bucket_ms_;
  Bucket& b = buckets_[((index % kBuckets) + kBuckets) % kBuckets];
  if (b.index != index) b = Bucket{index, 0, 0};  // the slot held a slice that has rolled out of the window
  return b;
}

void CircuitBreaker::window_totals(std::int64_t now_ms, std::int64_t& successes,
                                   std::int64_t& failures) const {
  const std::int64_t current = now_ms / bucket_ms_;
  successes = 0;
  failures = 0;
  for (const Bucket& b : buckets_) {
    if (b.index > current - kBuckets && b.index <= current) {
      successes += b.successes;
      failures += b.failures;
    }
  }
}

void CircuitBreaker::reset_window() {
  for (Bucket& b : buckets_) b = Bucket{};
}

bool CircuitBreaker::claim_delivery() {
  if (pending_.empty() || delivering_) return false;
  delivering_ = true;
  return true;
}

void CircuitBreaker::deliver_transitions() {
  // One thread delivers at a time, draining pending_ until it is empty, so listeners see transitions in
  // the order they happened (a state gauge set from `to` stays right) and run outside mu_ (so they may
  // log, count or call state() without deadlock). delivering_ is cleared under mu_ only when pending_
  // is seen empty, so no transition queued meanwhile can be stranded.
  for (;;) {
    std::vector<Transition> batch;
    std::vector<TransitionListener> listeners;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) {
        delivering_ = false;
        return;
      }
      batch.swap(pending_);
      listeners = listeners_;  // transitions are rare; copying keeps add_listener safe meanwhile
    }
    for (const Transition& t : batch) {
      for (const auto& listener : listeners) {
        try {
          listener(t.from, t.to, t.reason);
        } catch (...) {
          // A throwing listener must neither wedge delivery nor turn admit() into an exception.
        }
      }
    }
  }
}

}  // namespace taskman::resilience
