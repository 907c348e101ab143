#pragma once
// The SQLite schema: versioned DDL (append-only migrations) and applying it.
#include "core/result.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace taskman::store::sqlite {

// The newest schema version this build knows.
int latest_schema_version();
// The version recorded in the file (0 for a new file).
Result<int> current_version(Db& c);
// Applies every pending migration in one IMMEDIATE transaction, so concurrent migrators serialise;
// a file from a newer build is refused. Returns the version now in the file.
Result<int> apply_migrations(Db& c);

}  // namespace taskman::store::sqlite
