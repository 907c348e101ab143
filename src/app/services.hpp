#pragma once
#include "app/cli.hpp"
#include "config/config.hpp"

namespace taskman::app {

// Runs serve | api | mcp | migrate until done or signalled; returns the exit code.
int run(const Invocation& inv, const config::Config& cfg);

}  // namespace taskman::app
