#pragma once
// docs/security.md: an unauthenticated service is never exposed beyond loopback unless asked to be.
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "config/config.hpp"

namespace taskman::app {

bool is_loopback(const std::string& host);
// One line per service that `inv` would start on a non-loopback address without tokens; empty when
// --insecure-allow-unauthenticated was given.
std::vector<std::string> unauthenticated_exposures(const Invocation& inv, const config::Config& cfg);

}  // namespace taskman::app
