#pragma once
// The PostgreSQL engine (libpq): a writer connection and a pool of reader connections per process
// under the shared job runner, several processes on one database. Reached through open_store()
// ("postgres://..." or "postgresql://...", passed to libpq as written), never directly.
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/store.hpp"

namespace taskman::store::postgres {

inline constexpr std::string_view kEngineName = "postgresql";

Result<std::unique_ptr<Store>> open_store(const std::string& url, const StoreOptions& options);
// Applies pending migrations; returns the schema version now in the database.
Result<int> migrate(const std::string& url);
// The database a URL names (for db.namespace), without connecting and without the password.
Result<std::string> database_name(std::string_view url);

}  // namespace taskman::store::postgres
