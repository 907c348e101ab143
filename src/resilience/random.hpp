#pragma once
// The resilience components use the process's one RandomSource (core/random.hpp) under their own
// namespace.
#include "core/random.hpp"

namespace taskman::resilience {

using ::taskman::RandomSource;
using ::taskman::SeededRandom;

}  // namespace taskman::resilience
