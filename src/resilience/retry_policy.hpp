#pragma once
// Retry decisions for backend calls (docs/resilience.md#retries): which requests may be repeated, after which
// outcomes, how long to wait (full jitter, AWS "Exponential Backoff and Jitter"), and Retry-After honoured
// within the caller's overall deadline. Pure logic: the caller sleeps (on its executor's timer), not this
// class.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/result.hpp"
#include "resilience/outcome.hpp"
#include "resilience/random.hpp"

namespace taskman::resilience {

struct RetryOptions {
  int max_retries = 3;              // BACKEND_MAX_RETRIES: attempts = 1 + max_retries
  std::int64_t base_delay_ms = 25;  // Envoy's defaults (base 25 ms, cap 250 ms)
  std::int64_t max_delay_ms = 250;
};
Status validate(const RetryOptions& options);

// RFC 9110 §9.2.2 idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS, TRACE), plus POST and PATCH
// when they carry an Idempotency-Key (the backend then replays instead of repeating the effect).
// Methods are case-sensitive (RFC 9110 §9.1).
bool is_idempotent(std::string_view method, bool has_idempotency_key);

// Retry-After (RFC 9110 §10.2.3) as milliseconds from `now`: delta-seconds or an HTTP-date in any of the
// three formats recipients must accept (IMF-fixdate, RFC 850, asctime). A date in the past gives 0.
// nullopt for anything else (negative, fractional, garbage): the header is then ignored.
std::optional<std::int64_t> parse_retry_after_ms(std::string_view value,
                                                 std::chrono::system_clock::time_point now);

enum class RetryVerdict { kRetry, kNotIdempotent, kNotRetryable, kRetriesExhausted, kDeadline };
// "retry" | "not_idempotent" | "not_retryable" | "retries_exhausted" | "deadline"
const char* retry_verdict_name(RetryVerdict verdict);

// The attempt that just failed, and what the caller knows about its budget.
struct FailedAttempt {
  std::string_view method;
  bool has_idempotency_key = false;
  AttemptOutcome outcome;
  int retries_done = 0;                        // 0 after the first attempt
  std::optional<std::int64_t> retry_after_ms;  // parsed Retry-After of the answer, if any
  std::optional<std::int64_t> remaining_ms;    // until the overall deadline; nullopt: no deadline
};

struct RetryDecision {
  bool retry = false;
  std::int64_t delay_ms = 0;  // wait this long before the next attempt (when retry)
  RetryVerdict verdict = RetryVerdict::kNotRetryable;
};

// Thread-safe if the RandomSource is (SeededRandom is); holds no other mutable state.
class RetryPolicy {
 public:
  // Throws std::invalid_argument when validate(options) fails (a start-up error). `random` must
  // outlive the policy.
  RetryPolicy(RetryOptions options, RandomSource& random);

  // Method and outcome alone: idempotent (or keyed) and a retryable outcome. Ignores budgets.
  static bool should_retry(std::string_view method, bool has_idempotency_key, const AttemptOutcome& outcome);
  // min(max_delay, base * 2^retry_index): the upper bound of the jittered wait before retry
  // number retry_index + 1.
  std::int64_t backoff_ceiling_ms(int retry_index) const;
  // Full jitter: uniform in [0, backoff_ceiling_ms(retry_index)].
  std::int64_t backoff_ms(int retry_index);
  // The whole decision. The delay is max(jittered backoff, Retry-After). No retry when the retry count
  // is spent, or when the wait would use up the remaining deadline (in particular when Retry-After
  // alone reaches past it: the server asked us not to come back before then).
  RetryDecision decide(const FailedAttempt& attempt);

  const RetryOptions& options() const { return options_; }

 private:
  const RetryOptions options_;
  RandomSource& random_;
};

}  // namespace taskman::resilience
