// The factory: the one place that reads a DATABASE_URL and picks the engine behind it.
#include <array>

#include "store/postgres/pg_store.hpp"
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

// libpq reads the URL itself (user, password, host, port, database, sslmode, ...), and the PG*
// environment variables for what it leaves out.
Result<std::string> postgres_url(std::string_view url) { return std::string(url); }

// An engine this build has: the URL prefix that selects it, how the rest of the URL names a
// database (what open and migrate receive, and what describe_database reports: never a password),
// and how to open and migrate that database.
struct Engine {
  std::string_view name;
  std::string_view prefix;
  Result<std::string> (*database)(std::string_view url);
  Result<std::string> (*display)(std::string_view url);
  Result<std::unique_ptr<Store>> (*open)(const std::string& database, const StoreOptions& options);
  Result<int> (*migrate)(const std::string& database);
};

// Every engine of this build; adding one is one entry here (and its library in CMakeLists.txt).
const std::array kEngines = {
    Engine{sqlite::kEngineName, "sqlite:", sqlite_path, sqlite_path, sqlite::open_store, sqlite::migrate},
    Engine{postgres::kEngineName, "postgres://", postgres_url, postgres::database_name, postgres::open_store,
           postgres::migrate},
    Engine{postgres::kEngineName, "postgresql://", postgres_url, postgres::database_name,
           postgres::open_store, postgres::migrate},
};

Result<const Engine*> engine_for(std::string_view url) {
  // A NUL would cut the URL short where the engine's C API reads it (libpq, sqlite3_open_v2), so the
  // database opened would not be the one configured; no control character belongs in a URL.
  for (char c : url) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error::invalid("DATABASE_URL", "contains a control character (byte " +
                                                std::to_string(static_cast<unsigned char>(c)) + ")");
    }
  }
  for (const auto& e : kEngines) {
    if (url.starts_with(e.prefix)) return &e;
  }
  return Error::invalid("DATABASE_URL", "must be sqlite:<path>, postgres://... or postgresql://...");
}

}  // namespace

Result<DatabaseTarget> describe_database(std::string_view database_url) {
  auto engine = engine_for(database_url);
  if (!engine) return engine.take_error();
  auto name = (*engine)->display(database_url);
  if (!name) return name.take_error();
  return DatabaseTarget{std::string((*engine)->name), std::move(*name)};
}

Result<std::unique_ptr<Store>> open_store(std::string_view database_url, const StoreOptions& options) {
  auto engine = engine_for(database_url);
  if (!engine) return engine.take_error();
  auto database = (*engine)->database(database_url);
  if (!database) return database.take_error();
  return (*engine)->open(*database, options);
}

std::vector<std::string_view> supported_url_prefixes() {
  std::vector<std::string_view> out;
  for (const auto& e : kEngines) out.push_back(e.prefix);
  return out;
}

Result<int> migrate_database(std::string_view database_url) {
  auto engine = engine_for(database_url);
  if (!engine) return engine.take_error();
  auto database = (*engine)->database(database_url);
  if (!database) return database.take_error();
  return (*engine)->migrate(*database);
}

}  // namespace taskman::store
