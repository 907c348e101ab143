#pragma once
// Liveness and readiness (SPEC §6): /health/live answers while the process runs; /health/ready
// answers 503 until start-up completes and while draining, else 200 with each check's result.
// Thread-safe: flags are atomics; checks are registered before the server starts.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "http/router.hpp"

namespace taskman::app {

struct CheckResult {
  enum class State { kOk, kDegraded, kFailed } state = State::kOk;
  std::string detail;
};

class Health {
 public:
  // A failed critical check makes ready 503; a degraded one keeps 200 (SPEC §6).
  void add_check(std::string name, std::function<CheckResult()> check);
  void set_ready(bool ready) { ready_ = ready; }
  void set_draining() { draining_ = true; }
  bool draining() const { return draining_; }
  // /health, /health/live, /health/ready
  void register_routes(http::Router& router);
  http::Response readiness() const;

 private:
  struct Check {
    std::string name;
    std::function<CheckResult()> fn;
  };
  std::vector<Check> checks_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};
};

}  // namespace taskman::app
