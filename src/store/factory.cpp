// The factory: the one place that reads a DATABASE_URL and picks the engine behind it.
#include <array>

#include "store/sqlite/sqlite_store.hpp"
#include "store/store.hpp"

namespace taskman::store {
namespace {

// "sqlite:<path>", also "sqlite://<path>" (so "sqlite:///abs/file.db" is an absolute path).
Result<std::string> sqlite_path(std::string_view url) {
  std::string_view rest = url.substr(std::string_view("sqlite:").size());
  if (rest.starts_with("//")) rest.remove_prefix(2);
  if (rest.empty())
    return Error::invalid("DATABASE_URL", "sqlite: needs a file path, e.g. sqlite:data/taskman.db");
  if (rest == ":memory:") {
    return Error::invalid("DATABASE_URL", "in-memory SQLite is not supported (readers need a shared file)");
  }
  return std::string(rest);
}

// An engine this build has: the URL prefix that selects it, how the rest of the URL names a
// database, and how to open and migrate that database.
struct Engine {
  std::string_view name;
  std::string_view prefix;
  Result<std::string> (*database)(std::string_view url);
  Result<std::unique_ptr<Store>> (*open)(const std::string& database, const StoreOptions& options);
  Result<int> (*migrate)(const std::string& database);
};

// Every engine of this build; adding one is one entry here (and its library in CMakeLists.txt).
const std::array kEngines = {
    Engine{sqlite::kEngineName, "sqlite:", sqlite_path, sqlite::open_store, sqlite::migrate},
};

// URL prefixes reserved for engines that are not part of this build.
constexpr std::array<std::string_view, 2> kPostgresPrefixes = {"postgres://", "postgresql://"};

Result<const Engine*> engine_for(std::string_view url) {
  for (const auto& e : kEngines) {
    if (url.starts_with(e.prefix)) return &e;
  }
  for (auto prefix : kPostgresPrefixes) {
    if (url.starts_with(prefix)) {
      return Error::invalid("DATABASE_URL", "PostgreSQL is not implemented in this build; use sqlite:<path>");
    }
  }
  return Error::invalid("DATABASE_URL", "must be sqlite:<path> or postgres://...");
}

}  // namespace

Result<DatabaseTarget> describe_database(std::string_view database_url) {
  auto engine = engine_for(database_url);
  if (!engine) return engine.take_error();
  auto database = (*engine)->database(database_url);
  if (!database) return database.take_error();
  return DatabaseTarget{std::string((*engine)->name), std::move(*database)};
}

Result<std::unique_ptr<Store>> open_store(std::string_view database_url, const StoreOptions& options) {
  auto engine = engine_for(database_url);
  if (!engine) return engine.take_error();
  auto database = (*engine)->database(database_url);
  if (!database) return database.take_error();
  return (*engine)->open(*database, options);
}

Result<int> migrate_database(std::string_view database_url) {
  auto engine = engine_for(database_url);
  if (!engine) return engine.take_error();
  auto database = (*engine)->database(database_url);
  if (!database) return database.take_error();
  return (*engine)->migrate(*database);
}

}  // namespace taskman::store
