#include "store/store.hpp"

#include <future>

#include "store/sqlite_store.hpp"

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

}  // namespace

Status Store::ping_sync(std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto fut = promise->get_future();
  ping([promise](Status st) { promise->set_value(std::move(st)); });
  if (fut.wait_for(timeout) != std::future_status::ready) {
    return Error::make(ErrorCode::kUnavailable, "database readers did not answer in time");
  }
  return fut.get();
}

Result<std::unique_ptr<Store>> open_store(std::string_view database_url, const StoreOptions& options) {
  if (database_url.starts_with("sqlite:")) {
    auto path = sqlite_path(database_url);
    if (!path) return path.take_error();
    return open_sqlite_store(*path, options);
  }
  if (database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
    return Error::invalid("DATABASE_URL", "PostgreSQL is not implemented in this build; use sqlite:<path>");
  }
  return Error::invalid("DATABASE_URL", "must be sqlite:<path> or postgres://...");
}

Result<int> migrate_database(std::string_view database_url) {
  if (database_url.starts_with("sqlite:")) {
    auto path = sqlite_path(database_url);
    if (!path) return path.take_error();
    return migrate_sqlite(*path);
  }
  return Error::invalid("DATABASE_URL", "must be sqlite:<path>");
}

}  // namespace taskman::store
