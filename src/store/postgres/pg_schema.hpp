#pragma once
// The PostgreSQL schema: versioned migrations (append-only) applied under an advisory lock, so
// several instances starting at once on one database serialise (one migrates, the others wait and
// then find nothing to do), and a database from a newer build is refused.
#include "core/result.hpp"
#include "store/postgres/pg_conn.hpp"

namespace taskman::store::postgres {

int latest_schema_version();
// The version recorded in schema_migrations (0 for an empty database).
Result<int> current_version(PgConn& c);
// Applies every pending migration in one transaction under the migration lock; returns the version
// reached. Refuses a database whose version is newer than this build knows.
Result<int> apply_migrations(PgConn& c);

}  // namespace taskman::store::postgres
