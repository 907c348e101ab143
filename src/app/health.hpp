#pragma once
// Liveness and readiness (docs/observability.md#health): /health/live answers while the process runs;
// /health/ready answers 503 until start-up completes and while draining, else 200 with each check's result.
// Thread-safe: flags are atomics; checks are registered before the server starts.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "http/router.hpp"

namespace taskman::app {

struct CheckResult {
  enum class State { kOk, kDegraded, kFailed } state = State::kOk;
  std::string detail;
};

class Health {
 public:
  // Check durations are measured on `clock` (the process's one Clock; a ManualClock in tests).
  explicit Health(const Clock& clock = SteadyClock::instance()) : clock_(clock) {}
  // A failed critical check makes ready 503; a degraded one keeps 200 (docs/observability.md#health).
  void add_check(std::string name, std::function<CheckResult()> check);
  void set_ready(bool ready) { ready_ = ready; }
  void set_draining() { draining_ = true; }
  bool draining() const { return draining_; }
  // /health, /health/live, /health/ready
  void register_routes(http::Router& router);
  http::Response readiness() const;
  // Called after each check run (metrics).
  void on_check(std::function<void(const std::string& name, bool ok, double seconds)> hook) {
    hook_ = std::move(hook);
  }

 private:
  struct Check {
    std::string name;
    std::function<CheckResult()> fn;
  };
  const Clock& clock_;
  std::vector<Check> checks_;
  std::function<void(const std::string&, bool, double)> hook_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace taskman::app
