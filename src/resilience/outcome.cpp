#include "resilience/outcome.hpp"

namespace taskman::resilience {

BreakerVerdict breaker_verdict(const AttemptOutcome& outcome) {
  if (outcome.kind != OutcomeKind::kHttpStatus) return BreakerVerdict::kFailure;
  return outcome.status >= 500 ? BreakerVerdict::kFailure : BreakerVerdict::kSuccess;
}

std::string_view retry_reason(const AttemptOutcome& outcome) {
  switch (outcome.kind) {
    case OutcomeKind::kConnectError:
      return "connect_error";
    case OutcomeKind::kTimeout:
      return "timeout";
    case OutcomeKind::kConnectionLost:
      return "connection_lost";
    case OutcomeKind::kProtocolError:
      return "";
    case OutcomeKind::kHttpStatus:
      switch (outcome.status) {
        case 429:
          return "status_429";
        case 502:
          return "status_502";
        case 503:
          return "status_503";
        case 504:
          return "status_504";
        default:
          return "";
      }
  }
  return "";
}

bool is_retryable(const AttemptOutcome& outcome) { return !retry_reason(outcome).empty(); }

}  // namespace taskman::resilience
