#pragma once
#include <string>
#include <string_view>

#include "core/encoding.hpp"

namespace taskman::http {

// docs/observability.md#request-ids: an incoming X-Request-ID is kept when it matches
// ^[A-Za-z0-9._:+/=-]{1,128}$.
bool valid_request_id(std::string_view id);
// A fresh id: 32 lowercase hex characters, unpredictable (a per-thread generator seeded from the CSPRNG).
std::string new_request_id();

// The one percent codec lives in core; the name stays reachable here for the HTTP layer.
using ::taskman::percent_decode;

}  // namespace taskman::http
