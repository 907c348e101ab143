#include "app/health.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace taskman::app {
namespace {

// Check durations come from the injected Clock, so they are exact in a test.
TEST(Health, MeasuresChecksOnTheInjectedClock) {
  ManualClock clock;
  Health health(clock);
  health.add_check("database", [&clock] {
    clock.advance_ms(250);
    return CheckResult{};
  });
  double seconds = -1;
  health.on_check([&seconds](const std::string&, bool ok, double secs) {
    EXPECT_TRUE(ok);
    seconds = secs;
  });
  health.set_ready(true);
  const auto r = health.readiness();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_DOUBLE_EQ(seconds, 0.25);
  const auto body = nlohmann::json::parse(r.body);
  EXPECT_DOUBLE_EQ(body["checks"]["database"]["duration_ms"].get<double>(), 250.0) << r.body;
}

}  // namespace
}  // namespace taskman::app
