// X-Request-ID: an incoming id is kept (echoed and logged) only when it matches
// ^[A-Za-z0-9._:+/=-]{1,128}$. Differential: valid_request_id must agree with that regex exactly,
// so no byte outside the set (CR, LF, quotes, NUL) can reach a log line or a response header.
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "http/request_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::regex kRule("^[A-Za-z0-9._:+/=-]{1,128}$");
  const std::string id(reinterpret_cast<const char*>(data), size);
  const bool expected = size <= 256 ? std::regex_match(id, kRule) : false;
  FUZZ_CHECK(taskman::http::valid_request_id(id) == expected);
  return 0;
}
