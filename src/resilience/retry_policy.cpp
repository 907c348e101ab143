#include "resilience/retry_policy.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace taskman::resilience {

Status validate(const RetryOptions& o) {
  std::vector<FieldError> errors;
  if (o.max_retries < 0) errors.push_back({"max_retries", "must be >= 0"});
  if (o.base_delay_ms < 1) errors.push_back({"base_delay_ms", "must be >= 1"});
  if (o.max_delay_ms < o.base_delay_ms) errors.push_back({"max_delay_ms", "must be >= base_delay_ms"});
  if (errors.empty()) return {};
  std::string summary = "invalid retry options:";
  for (const auto& e : errors) summary += " " + e.field + " " + e.message + ";";
  return Error{ErrorCode::kInvalidArgument, std::move(summary), std::move(errors)};
}

bool is_idempotent(std::string_view method, bool has_idempotency_key) {
  static constexpr std::array<std::string_view, 6> kIdempotent = {"GET",    "HEAD",    "PUT",
                                                                  "DELETE", "OPTIONS", "TRACE"};
  if (std::find(kIdempotent.begin(), kIdempotent.end(), method) != kIdempotent.end()) return true;
  return has_idempotency_key && (method == "POST" || method == "PATCH");
}

const char* retry_verdict_name(RetryVerdict verdict) {
  switch (verdict) {
    case RetryVerdict::kRetry:
      return "retry";
    case RetryVerdict::kNotIdempotent:
      return "not_idempotent";
    case RetryVerdict::kNotRetryable:
      return "not_retryable";
    case RetryVerdict::kRetriesExhausted:
      return "retries_exhausted";
    case RetryVerdict::kDeadline:
      return "deadline";
  }
  return "";
}

namespace {

// A small cursor over an HTTP-date; every reader returns false on a mismatch.
class DateReader {
 public:
  explicit DateReader(std::string_view s) : s_(s) {}
  bool done() const { return pos_ == s_.size(); }
  bool literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  bool digits(int n, int& out) {
    out = 0;
    for (int i = 0; i < n; ++i) {
      if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return false;
      out = out * 10 + (s_[pos_++] - '0');
    }
    return true;
  }
  // One of `names`, case-sensitively (RFC 9110 §5.6.7 day-name and month are case-sensitive); index out.
  template <std::size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& out) {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        out = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool time_of_day(int& h, int& m, int& sec) {
    // second 60 is a leap second (RFC 9110 allows it); sys_days arithmetic just rolls it over.
    return digits(2, h) && literal(":") && digits(2, m) && literal(":") && digits(2, sec) && h <= 23 &&
           m <= 59 && sec <= 60;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

constexpr std::array<std::string_view, 7> kDays = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDays = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                       "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::optional<std::chrono::system_clock::time_point> make_time(int y, int mon0, int d, int h, int m, int s) {
  using namespace std::chrono;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(mon0 + 1)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;  // 31 Feb and friends
  return sys_days{ymd} + hours{h} + minutes{m} + seconds{s};
}

std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view v, std::chrono::system_clock::time_point now) {
  int wd = 0, d = 0, mon = 0, y = 0, h = 0, m = 0, s = 0;
  {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    DateReader r(v);
    if (r.one_of(kDays, wd) && r.literal(", ") && r.digits(2, d) && r.literal(" ") &&
        r.one_of(kMonths, mon) && r.literal(" ") && r.digits(4, y) && r.literal(" ") &&
        r.time_of_day(h, m, s) && r.literal(" GMT") && r.done()) {
      return make_time(y, mon, d, h, m, s);
    }
  }
  {  // obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    DateReader r(v);
    if (r.one_of(kLongDays, wd) && r.literal(", ") && r.digits(2, d) && r.literal("-") &&
        r.one_of(kMonths, mon) && r.literal("-") && r.digits(2, y) && r.literal(" ") &&
        r.time_of_day(h, m, s) && r.literal(" GMT") && r.done()) {
      // RFC 9110 §5.6.7: a two-digit year more than 50 years in the future means the most recent past
      // year with those digits.
      const int now_year =
          static_cast<int>(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)}.year());
      int full = now_year - now_year % 100 + y;
      if (full > now_year + 50) full -= 100;
      return make_time(full, mon, d, h, m, s);
    }
  }
  {  // obsolete asctime: Sun Nov  6 08:49:37 1994
    DateReader r(v);
    if (r.one_of(kDays, wd) && r.literal(" ") && r.one_of(kMonths, mon) && r.literal(" ")) {
      const bool day_ok = r.literal(" ") ? r.digits(1, d) : r.digits(2, d);
      if (day_ok && r.literal(" ") && r.time_of_day(h, m, s) && r.literal(" ") && r.digits(4, y) &&
          r.done()) {
        return make_time(y, mon, d, h, m, s);
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::int64_t> parse_retry_after_ms(std::string_view value,
                                                 std::chrono::system_clock::time_point now) {
  // Field values may carry optional whitespace around them (RFC 9110 §5.5).
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    // delta-seconds = 1*DIGIT; saturate instead of overflowing (a huge value just means "not soon").
    constexpr std::int64_t kMaxSeconds = std::numeric_limits<std::int64_t>::max() / 1000;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = seconds > (kMaxSeconds - (c - '0')) / 10 ? kMaxSeconds : seconds * 10 + (c - '0');
    }
    return seconds * 1000;
  }
  const auto when = parse_http_date(value, now);
  if (!when) return std::nullopt;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*when - now).count();
  return std::max<std::int64_t>(0, ms);
}

namespace {

const RetryOptions& checked(const RetryOptions& options) {
  if (auto status = validate(options); !status.ok()) throw std::invalid_argument(status.error().message);
  return options;
}

}  // namespace

RetryPolicy::RetryPolicy(RetryOptions options, RandomSource& random)
    : options_(checked(options)), random_(random) {}

bool RetryPolicy::should_retry(std::string_view method, bool has_idempotency_key,
                               const AttemptOutcome& outcome) {
  return is_idempotent(method, has_idempotency_key) && is_retryable(outcome);
}

std::int64_t RetryPolicy::backoff_ceiling_ms(int retry_index) const {
  std::int64_t ceiling = options_.base_delay_ms;
  // Doubling stops at the cap, so base * 2^n never overflows however large n gets.
  for (int i = 0; i < retry_index && ceiling < options_.max_delay_ms; ++i) {
    if (ceiling > options_.max_delay_ms / 2) return options_.max_delay_ms;
    ceiling *= 2;
  }
  return std::min(ceiling, options_.max_delay_ms);
}

std::int64_t RetryPolicy::backoff_ms(int retry_index) {
  const std::int64_t ceiling = backoff_ceiling_ms(retry_index);
  const double u = std::clamp(random_.next_unit(), 0.0, 1.0);
  // (ceiling + 1) buckets so that both 0 and the ceiling itself can be drawn; computed in double so a
  // ceiling near INT64_MAX cannot overflow.
  const double x = u * (static_cast<double>(ceiling) + 1.0);
  if (x >= static_cast<double>(ceiling)) return ceiling;
  return static_cast<std::int64_t>(x);
}

RetryDecision RetryPolicy::decide(const FailedAttempt& a) {
  RetryDecision d;
  if (!is_idempotent(a.method, a.has_idempotency_key)) {
    d.verdict = RetryVerdict::kNotIdempotent;
    return d;
  }
  if (!is_retryable(a.outcome)) {
    d.verdict = RetryVerdict::kNotRetryable;
    return d;
  }
  if (a.retries_done >= options_.max_retries) {
    d.verdict = RetryVerdict::kRetriesExhausted;
    return d;
  }
  const std::int64_t delay = std::max(backoff_ms(a.retries_done), a.retry_after_ms.value_or(0));
  // Waiting up to (or past) the deadline leaves no time for the attempt itself, and a Retry-After
  // beyond the deadline means the server will not take us back in time.
  if (a.remaining_ms && delay >= *a.remaining_ms) {
    d.verdict = RetryVerdict::kDeadline;
    return d;
  }
  d.retry = true;
  d.delay_ms = delay;
  d.verdict = RetryVerdict::kRetry;
  return d;
}

}  // namespace taskman::resilience
