#pragma once
// SQLite implementation of the Store (WAL, synchronous=FULL, foreign keys, FTS5). One writer
// connection on its own thread group-commits every queued write; reads go to a pool of reader
// connections that see the last committed state (WAL readers never block the writer).
#include <memory>
#include <string>

#include "core/result.hpp"
#include "store/store.hpp"

namespace taskman::store {

// `path` is a file name; its parent directories are created.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const StoreOptions& options);
// Applies pending migrations; returns the schema version now in the file.
Result<int> migrate_sqlite(const std::string& path);
// The newest schema version this build knows.
int sqlite_schema_version();

}  // namespace taskman::store
