#include "app/health.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

namespace taskman::app {

void Health::add_check(std::string name, std::function<CheckResult()> check) {
  checks_.push_back({std::move(name), std::move(check)});
}

http::Response Health::readiness() const {
  nlohmann::json checks = nlohmann::json::object();
  bool failed = false;
  bool degraded = false;
  for (const auto& c : checks_) {
    const auto start = clock_.now();
    const auto r = c.fn();
    const double ms = std::chrono::duration<double, std::milli>(clock_.now() - start).count();
    const char* state = r.state == CheckResult::State::kOk         ? "ok"
                        : r.state == CheckResult::State::kDegraded ? "degraded"
                                                                   : "failed";
    // health_check_status is 1 only for a passing check: a degraded one (breaker open) still serves
    // but is what an alert wants to see.
    if (hook_) hook_(c.name, r.state == CheckResult::State::kOk, ms / 1000.0);
    failed = failed || r.state == CheckResult::State::kFailed;
    degraded = degraded || r.state == CheckResult::State::kDegraded;
    nlohmann::json entry = {{"status", state}, {"duration_ms", ms}};
    if (!r.detail.empty()) entry["detail"] = r.detail;
    checks[c.name] = std::move(entry);
  }
  std::string status = failed ? "unavailable" : degraded ? "degraded" : "ok";
  if (draining_)
    status = "draining";
  else if (!ready_)
    status = "starting";
  const bool serving = ready_ && !draining_ && !failed;
  nlohmann::json body = {{"status", status}, {"checks", std::move(checks)}};
  auto res = http::Response::json(serving ? 200 : 503, body.dump());
  res.headers.set("Cache-Control", "no-store");
  return res;
}

void Health::register_routes(http::Router& router) {
  router.add_sync("GET", "/health/live", [](http::Request&) {
    auto res = http::Response::json(200, R"({"status":"ok"})");
    res.headers.set("Cache-Control", "no-store");
    return res;
  });
  router.add_sync("GET", "/health/ready", [this](http::Request&) { return readiness(); });
  router.add_sync("GET", "/health", [this](http::Request&) { return readiness(); });
}

}  // namespace taskman::app
