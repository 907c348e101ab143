#pragma once
// The resilience components use the process's one Clock (core/clock.hpp) under their own namespace.
#include "core/clock.hpp"

namespace taskman::resilience {

using ::taskman::Clock;
using ::taskman::ManualClock;
using ::taskman::SteadyClock;
using ::taskman::TimePoint;

}  // namespace taskman::resilience
