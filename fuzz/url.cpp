// Service URLs (TASK_MANAGER_API_ENDPOINT and the OTLP endpoint go through http::parse_url).
// Invariants: no throw; refusals name "url"; an accepted URL has a host, a port in 1..65535 and a
// base path without a trailing slash, and printing it back gives a URL that parses to the same parts.
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/client.hpp"

using namespace taskman;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto url = http::parse_url(text);
  if (!url) {
    FUZZ_CHECK(url.error().code == ErrorCode::kInvalidArgument);
    FUZZ_CHECK(!url.error().fields.empty() && url.error().fields[0].field == "url");
    return 0;
  }
  FUZZ_CHECK(!url->host.empty() && url->port != 0);
  FUZZ_CHECK(url->base_path.empty() || url->base_path.back() != '/');
  const bool v6 = url->host.find(':') != std::string::npos;
  const std::string printed = url->scheme + "://" + (v6 ? "[" + url->host + "]" : url->host) + ":" +
                              std::to_string(url->port) + url->base_path;
  auto again = http::parse_url(printed);
  FUZZ_CHECK(again && again->scheme == url->scheme && again->host == url->host && again->port == url->port &&
             again->base_path == url->base_path);
  return 0;
}
