#pragma once
// What one backend attempt came to, in transport-neutral terms, and how the breaker and the retry
// policy read it. The client maps its transport errors (http::TransportError) onto OutcomeKind.
#include <string_view>

namespace taskman::resilience {

enum class OutcomeKind {
  kHttpStatus,      // an HTTP answer arrived; see status
  kConnectError,    // no connection (refused, DNS, unreachable): the request was never received
  kTimeout,         // the per-attempt timeout fired
  kConnectionLost,  // the connection closed or reset before a complete answer
  kProtocolError,   // an answer arrived but was not valid HTTP (or was too large)
};

struct AttemptOutcome {
  OutcomeKind kind = OutcomeKind::kHttpStatus;
  int status = 0;  // valid for kHttpStatus

  static AttemptOutcome http(int status) { return {OutcomeKind::kHttpStatus, status}; }
  static AttemptOutcome connect_error() { return {OutcomeKind::kConnectError, 0}; }
  static AttemptOutcome timeout() { return {OutcomeKind::kTimeout, 0}; }
  static AttemptOutcome connection_lost() { return {OutcomeKind::kConnectionLost, 0}; }
  static AttemptOutcome protocol_error() { return {OutcomeKind::kProtocolError, 0}; }
};

enum class BreakerVerdict { kSuccess, kFailure };
// docs/resilience.md#failure-classification: 5xx and every transport failure (timeouts included) count
// against the backend; 1xx-4xx do not, and count as successes (the backend answered; opossum's errorFilter
// does the same). Calls that never reached an outcome (cancelled by our caller) should be reported with
// record_ignored().
BreakerVerdict breaker_verdict(const AttemptOutcome& outcome);

// Label for backend_retries_total{reason}: "connect_error" | "timeout" | "connection_lost" |
// "status_429" | "status_502" | "status_503" | "status_504"; "" for outcomes that are never retried.
std::string_view retry_reason(const AttemptOutcome& outcome);

// Whether the outcome class is worth another attempt at all (docs/resilience.md#failure-classification),
// ignoring the method. 500 is deliberately not retried: docs/resilience.md#failure-classification lists
// 429/502/503/504 only, and a 500 from our own backend is a broken invariant that the same request will hit
// again. Protocol errors are not retried either: a backend that sends garbage once will send it again.
bool is_retryable(const AttemptOutcome& outcome);

}  // namespace taskman::resilience
