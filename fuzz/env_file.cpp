// .env files (taskman --env-file PATH, else ./.env): parsed, then every value validated against the
// configuration schema exactly as at start-up. Invariants: no throw; refusals name the line or the
// variable; an accepted configuration can be described (config check) and checked for support.
#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"

using namespace taskman;
using namespace taskman::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_env_file(text, ".env");
  if (!parsed) {
    FUZZ_CHECK(!parsed.error().fields.empty());
    for (const auto& f : parsed.error().fields) FUZZ_CHECK(f.field.starts_with(".env:"));
    return 0;
  }
  for (const auto& [name, value] : *parsed) {
    if (const Var* var = find_var(name)) (void)check_value(*var, value);
  }
  auto cfg = Config::from_map(*parsed);
  if (!cfg) {
    FUZZ_CHECK(!cfg.error().fields.empty());
    for (const auto& f : cfg.error().fields) FUZZ_CHECK(!f.field.empty() && !f.message.empty());
    return 0;
  }
  FUZZ_CHECK(!cfg->describe().empty());
  (void)check_supported(*cfg);
  return 0;
}
