#include "resilience/retry_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <limits>
#include <stdexcept>
#include <string>

namespace taskman::resilience {
namespace {

using std::chrono::system_clock;

// Returns scripted values in order, then repeats the last one.
class ScriptedRandom final : public RandomSource {
 public:
  explicit ScriptedRandom(std::deque<double> values) : values_(std::move(values)) {}
  double next_unit() override {
    const double v = values_.front();
    if (values_.size() > 1) values_.pop_front();
    return v;
  }

 private:
  std::deque<double> values_;
};

// Sun, 06 Nov 1994 08:49:37 GMT (the RFC's example), as a system_clock time.
system_clock::time_point rfc_example() {
  using namespace std::chrono;
  return sys_days{year{1994} / November / 6} + hours{8} + minutes{49} + seconds{37};
}

TEST(Idempotency, MethodsAndKeys) {
  for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
    EXPECT_TRUE(is_idempotent(m, false)) << m;
  }
  EXPECT_FALSE(is_idempotent("POST", false));
  EXPECT_FALSE(is_idempotent("PATCH", false));
  EXPECT_TRUE(is_idempotent("POST", true));
  EXPECT_TRUE(is_idempotent("PATCH", true));
  EXPECT_FALSE(is_idempotent("get", false));  // methods are case-sensitive
  EXPECT_FALSE(is_idempotent("CONNECT", true));
}

struct RetryCase {
  const char* method;
  bool key;
  AttemptOutcome outcome;
  bool retry;
};

class ShouldRetry : public ::testing::TestWithParam<RetryCase> {};

TEST_P(ShouldRetry, Table) {
  const RetryCase c = GetParam();
  EXPECT_EQ(RetryPolicy::should_retry(c.method, c.key, c.outcome), c.retry)
      << c.method << " key=" << c.key << " kind=" << static_cast<int>(c.outcome.kind)
      << " status=" << c.outcome.status;
}

INSTANTIATE_TEST_SUITE_P(
    RetryPolicy, ShouldRetry,
    ::testing::Values(RetryCase{"GET", false, AttemptOutcome::connect_error(), true},
                      RetryCase{"GET", false, AttemptOutcome::timeout(), true},
                      RetryCase{"GET", false, AttemptOutcome::connection_lost(), true},
                      RetryCase{"GET", false, AttemptOutcome::protocol_error(), false},
                      RetryCase{"GET", false, AttemptOutcome::http(429), true},
                      RetryCase{"GET", false, AttemptOutcome::http(502), true},
                      RetryCase{"GET", false, AttemptOutcome::http(503), true},
                      RetryCase{"GET", false, AttemptOutcome::http(504), true},
                      RetryCase{
                          "GET", false, AttemptOutcome::http(500),
                          false},  // docs/resilience.md#failure-classification lists 429/502/503/504 only
                      RetryCase{"GET", false, AttemptOutcome::http(501), false},
                      RetryCase{"GET", false, AttemptOutcome::http(200), false},
                      RetryCase{"GET", false, AttemptOutcome::http(400), false},
                      RetryCase{"GET", false, AttemptOutcome::http(404), false},
                      RetryCase{"GET", false, AttemptOutcome::http(409), false},
                      RetryCase{"GET", false, AttemptOutcome::http(412), false},
                      RetryCase{"PUT", false, AttemptOutcome::http(503), true},
                      RetryCase{"DELETE", false, AttemptOutcome::timeout(), true},
                      RetryCase{"HEAD", false, AttemptOutcome::http(502), true},
                      RetryCase{"POST", false, AttemptOutcome::http(503), false},
                      RetryCase{"POST", false, AttemptOutcome::connect_error(), false},
                      RetryCase{"POST", true, AttemptOutcome::http(503), true},
                      RetryCase{"POST", true, AttemptOutcome::timeout(), true},
                      RetryCase{"POST", true, AttemptOutcome::http(422), false},
                      RetryCase{"PATCH", false, AttemptOutcome::timeout(), false},
                      RetryCase{"PATCH", true, AttemptOutcome::http(429), true}));

TEST(Outcome, BreakerVerdictAndRetryReasons) {
  EXPECT_EQ(breaker_verdict(AttemptOutcome::http(200)), BreakerVerdict::kSuccess);
  EXPECT_EQ(breaker_verdict(AttemptOutcome::http(404)), BreakerVerdict::kSuccess);  // 4xx is not a failure
  EXPECT_EQ(breaker_verdict(AttemptOutcome::http(429)), BreakerVerdict::kSuccess);
  EXPECT_EQ(breaker_verdict(AttemptOutcome::http(500)), BreakerVerdict::kFailure);
  EXPECT_EQ(breaker_verdict(AttemptOutcome::http(503)), BreakerVerdict::kFailure);
  EXPECT_EQ(breaker_verdict(AttemptOutcome::timeout()),
            BreakerVerdict::kFailure);  // docs/resilience.md#failure-classification
  EXPECT_EQ(breaker_verdict(AttemptOutcome::connect_error()), BreakerVerdict::kFailure);
  EXPECT_EQ(breaker_verdict(AttemptOutcome::connection_lost()), BreakerVerdict::kFailure);
  EXPECT_EQ(breaker_verdict(AttemptOutcome::protocol_error()), BreakerVerdict::kFailure);
  EXPECT_EQ(retry_reason(AttemptOutcome::http(503)), "status_503");
  EXPECT_EQ(retry_reason(AttemptOutcome::timeout()), "timeout");
  EXPECT_EQ(retry_reason(AttemptOutcome::connect_error()), "connect_error");
  EXPECT_EQ(retry_reason(AttemptOutcome::http(500)), "");
}

TEST(RetryOptions, Validation) {
  EXPECT_TRUE(validate(RetryOptions{}).ok());
  EXPECT_FALSE(validate(RetryOptions{-1, 25, 250}).ok());
  EXPECT_FALSE(validate(RetryOptions{3, 0, 250}).ok());
  EXPECT_FALSE(validate(RetryOptions{3, 100, 50}).ok());
  ScriptedRandom r({0.0});
  EXPECT_THROW(RetryPolicy(RetryOptions{3, 100, 50}, r), std::invalid_argument);
}

TEST(Backoff, CeilingDoublesUpToTheCap) {
  ScriptedRandom r({0.0});
  RetryPolicy p(RetryOptions{3, 25, 250}, r);
  EXPECT_EQ(p.backoff_ceiling_ms(0), 25);
  EXPECT_EQ(p.backoff_ceiling_ms(1), 50);
  EXPECT_EQ(p.backoff_ceiling_ms(2), 100);
  EXPECT_EQ(p.backoff_ceiling_ms(3), 200);
  EXPECT_EQ(p.backoff_ceiling_ms(4), 250);
  EXPECT_EQ(p.backoff_ceiling_ms(1000), 250);  // no overflow for absurd attempt numbers
  RetryPolicy huge(RetryOptions{3, 1, std::numeric_limits<std::int64_t>::max()}, r);
  EXPECT_EQ(huge.backoff_ceiling_ms(62), std::int64_t{1} << 62);
  EXPECT_EQ(huge.backoff_ceiling_ms(63), std::numeric_limits<std::int64_t>::max());  // 2^63 would overflow
  EXPECT_EQ(huge.backoff_ceiling_ms(200), std::numeric_limits<std::int64_t>::max());
  ScriptedRandom top({0.999999999});
  RetryPolicy huge_top(RetryOptions{3, 1, std::numeric_limits<std::int64_t>::max()}, top);
  EXPECT_GT(huge_top.backoff_ms(200), std::numeric_limits<std::int64_t>::max() / 2);  // no overflow to < 0
}

TEST(Backoff, FullJitterSpansZeroToCeiling) {
  ScriptedRandom r({0.0, 0.5, 0.999999999, 0.0, 0.999999999});
  RetryPolicy p(RetryOptions{3, 100, 1000}, r);
  EXPECT_EQ(p.backoff_ms(0), 0);    // u = 0
  EXPECT_EQ(p.backoff_ms(0), 50);   // u = 0.5 of [0, 100]
  EXPECT_EQ(p.backoff_ms(0), 100);  // the ceiling itself is reachable
  EXPECT_EQ(p.backoff_ms(5), 0);
  EXPECT_EQ(p.backoff_ms(5), 1000);  // capped
}

TEST(Backoff, SeededDrawsStayInBoundsAndSpreadOut) {
  SeededRandom r(42);
  RetryPolicy p(RetryOptions{3, 25, 250}, r);
  for (int attempt = 0; attempt < 6; ++attempt) {
    const std::int64_t ceiling = p.backoff_ceiling_ms(attempt);
    std::int64_t lo = ceiling;
    std::int64_t hi = 0;
    for (int i = 0; i < 2000; ++i) {
      const std::int64_t d = p.backoff_ms(attempt);
      ASSERT_GE(d, 0);
      ASSERT_LE(d, ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LE(lo, ceiling / 10) << "attempt " << attempt;      // full jitter reaches near zero...
    EXPECT_GE(hi, ceiling * 9 / 10) << "attempt " << attempt;  // ...and near the ceiling
  }
}

TEST(RetryAfter, DeltaSeconds) {
  const auto now = system_clock::now();
  EXPECT_EQ(parse_retry_after_ms("120", now), 120000);
  EXPECT_EQ(parse_retry_after_ms("0", now), 0);
  EXPECT_EQ(parse_retry_after_ms(" 5\t", now), 5000);
  // Saturates instead of overflowing.
  const auto huge = parse_retry_after_ms("99999999999999999999999", now);
  ASSERT_TRUE(huge.has_value());
  EXPECT_GT(*huge, 0);
}

TEST(RetryAfter, HttpDateInAllThreeFormats) {
  const auto now = rfc_example() - std::chrono::seconds(30);
  EXPECT_EQ(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), 30000);
  EXPECT_EQ(parse_retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT", now), 30000);
  EXPECT_EQ(parse_retry_after_ms("Sun Nov  6 08:49:37 1994", now), 30000);
  EXPECT_EQ(parse_retry_after_ms("Sun Nov 16 08:49:37 1994", now), (10 * 86400 + 30) * 1000);
}

TEST(RetryAfter, DateInThePastMeansNow) {
  const auto now = rfc_example() + std::chrono::hours(1);
  EXPECT_EQ(parse_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
}

TEST(RetryAfter, TwoDigitYearsFollowTheFiftyYearRule) {
  using namespace std::chrono;
  const system_clock::time_point now = sys_days{year{2026} / November / 27};
  // "26" is this century; "94" would be 2094, more than 50 years ahead, so it is 1994 (in the past).
  EXPECT_GT(*parse_retry_after_ms("Saturday, 28-Nov-26 00:00:00 GMT", now), 0);
  EXPECT_EQ(parse_retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT", now), 0);
}

TEST(RetryAfter, GarbageIsIgnored) {
  const auto now = rfc_example();
  for (const char* bad : {"", "   ", "-1", "1.5", "+3", "5s", "soon", "0x10",
                          "sun, 06 Nov 1994 08:49:37 GMT",  // case-sensitive day name
                          "Sun, 06 Nov 1994 08:49:37",      // no GMT
                          "Sun, 06 Nov 1994 08:49:37 UTC",  // only GMT is allowed
                          "Sun, 31 Feb 1994 08:49:37 GMT",  // no such day
                          "Sun, 06 Nov 1994 24:00:00 GMT",  // no such hour
                          "Sun, 6 Nov 1994 08:49:37 GMT",   // IMF-fixdate needs two digits
                          "Sun, 06 Nov 1994 08:49:37 GMT extra", "Sun Nov 6 08:49:37 1994"}) {
    EXPECT_FALSE(parse_retry_after_ms(bad, now).has_value()) << "'" << bad << "'";
  }
}

FailedAttempt attempt(const char* method, AttemptOutcome outcome, int retries_done = 0) {
  FailedAttempt a;
  a.method = method;
  a.outcome = outcome;
  a.retries_done = retries_done;
  return a;
}

TEST(RetryDecide, Verdicts) {
  ScriptedRandom r({0.5});
  RetryPolicy p(RetryOptions{2, 100, 1000}, r);
  EXPECT_EQ(p.decide(attempt("POST", AttemptOutcome::http(503))).verdict, RetryVerdict::kNotIdempotent);
  EXPECT_EQ(p.decide(attempt("GET", AttemptOutcome::http(500))).verdict, RetryVerdict::kNotRetryable);
  EXPECT_EQ(p.decide(attempt("GET", AttemptOutcome::http(404))).verdict, RetryVerdict::kNotRetryable);
  RetryDecision d = p.decide(attempt("GET", AttemptOutcome::http(503), 0));
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.verdict, RetryVerdict::kRetry);
  EXPECT_EQ(d.delay_ms, 50);  // 0.5 of [0, 100]
  d = p.decide(attempt("GET", AttemptOutcome::http(503), 1));
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 100);                                  // 0.5 of [0, 200]
  d = p.decide(attempt("GET", AttemptOutcome::http(503), 2));  // max_retries = 2 already made
  EXPECT_FALSE(d.retry);
  EXPECT_EQ(d.verdict, RetryVerdict::kRetriesExhausted);
  EXPECT_STREQ(retry_verdict_name(RetryVerdict::kDeadline), "deadline");
}

TEST(RetryDecide, ZeroMaxRetriesNeverRetries) {
  ScriptedRandom r({0.0});
  RetryPolicy p(RetryOptions{0, 25, 250}, r);
  EXPECT_EQ(p.decide(attempt("GET", AttemptOutcome::timeout())).verdict, RetryVerdict::kRetriesExhausted);
}

TEST(RetryDecide, RetryAfterRaisesTheDelay) {
  ScriptedRandom r({0.5});
  RetryPolicy p(RetryOptions{3, 100, 1000}, r);
  FailedAttempt a = attempt("GET", AttemptOutcome::http(429));
  a.retry_after_ms = 2000;
  RetryDecision d = p.decide(a);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 2000);  // max(50, 2000)
  a.retry_after_ms = 10;
  d = p.decide(a);
  EXPECT_EQ(d.delay_ms, 50);  // the backoff is larger than the hint
}

TEST(RetryDecide, DeadlineCapsTheWait) {
  ScriptedRandom r({0.5});
  RetryPolicy p(RetryOptions{3, 100, 1000}, r);
  FailedAttempt a = attempt("GET", AttemptOutcome::http(503));
  a.retry_after_ms = 5000;
  a.remaining_ms = 4000;  // the server will not take us back before the deadline
  EXPECT_EQ(p.decide(a).verdict, RetryVerdict::kDeadline);
  a.remaining_ms = 5000;  // waiting exactly until the deadline leaves no time to try
  EXPECT_EQ(p.decide(a).verdict, RetryVerdict::kDeadline);
  a.remaining_ms = 5001;
  RetryDecision d = p.decide(a);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 5000);
  a.retry_after_ms.reset();
  a.remaining_ms = 50;  // the jittered backoff (50) alone would use up the budget
  EXPECT_EQ(p.decide(a).verdict, RetryVerdict::kDeadline);
  a.remaining_ms = 51;
  EXPECT_TRUE(p.decide(a).retry);
  a.remaining_ms.reset();  // no deadline: a long Retry-After is honoured as is
  a.retry_after_ms = 3600000;
  d = p.decide(a);
  EXPECT_TRUE(d.retry);
  EXPECT_EQ(d.delay_ms, 3600000);
}

}  // namespace
}  // namespace taskman::resilience
