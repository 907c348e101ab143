// URLs that come from configuration: DATABASE_URL (through the store factory's describe_database, the
// same parsing open_store uses) and the endpoint rules of the config schema (kUrl, kDatabaseUrl,
// kHost, kOrigins). Invariants: no throw; refusals name DATABASE_URL; an accepted URL starts with the
// prefix of an engine this build has and names a non-empty database (a SQLite file, a PostgreSQL
// database).
#include <cstdint>
#include <string_view>

#include "config/config.hpp"
#include "fuzz_check.hpp"
#include "store/store.hpp"

using namespace taskman;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url(reinterpret_cast<const char*>(data), size);
  auto target = store::describe_database(url);
  if (target) {
    bool known_prefix = false;
    for (auto prefix : store::supported_url_prefixes()) known_prefix |= url.starts_with(prefix);
    FUZZ_CHECK(known_prefix && !target->engine.empty() && !target->name.empty());
  } else {
    FUZZ_CHECK(target.error().code == ErrorCode::kInvalidArgument);
    FUZZ_CHECK(!target.error().fields.empty() && target.error().fields[0].field == "DATABASE_URL");
  }
  for (const auto& var : config::schema()) {
    if (var.type == config::Type::kUrl || var.type == config::Type::kDatabaseUrl ||
        var.type == config::Type::kHost || var.type == config::Type::kOrigins) {
      if (!config::check_value(var, url)) (void)config::unsupported_reason(var.type, url);
    }
  }
  return 0;
}
