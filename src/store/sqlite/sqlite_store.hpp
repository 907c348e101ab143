#pragma once
// The SQLite engine (WAL, synchronous=FULL, foreign keys, FTS5): one writer connection and a pool
// of reader connections under the shared job runner; WAL readers see the last committed state and
// never block the writer. Reached through open_store() ("sqlite:<path>"), never directly.
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/store.hpp"

namespace taskman::store::sqlite {

inline constexpr std::string_view kEngineName = "sqlite";

// `path` is a file name; its parent directories are created.
Result<std::unique_ptr<Store>> open_store(const std::string& path, const StoreOptions& options);
// Applies pending migrations; returns the schema version now in the file.
Result<int> migrate(const std::string& path);

}  // namespace taskman::store::sqlite
