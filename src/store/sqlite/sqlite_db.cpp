#include "store/sqlite/sqlite_db.hpp"

#include <filesystem>
#include <mutex>

namespace taskman::store::sqlite {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error::make(ErrorCode::kConflict, std::move(msg));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error::make(ErrorCode::kUnprocessable, std::move(msg));
    default:
      break;
  }
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: {
      Error e = Error::make(ErrorCode::kUnavailable, "database unavailable: " + msg);
      e.retry_after_ms = 1000;
      return e;
    }
    default:
      return Error::make(ErrorCode::kInternal, "database error: " + msg);
  }
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool reader) {
  // Memory statistics take a global mutex on every allocation; we never read them. Only possible
  // before SQLite initialises, hence once and ignoring "misuse" when someone was first.
  static std::once_flag once;
  std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  auto conn = std::unique_ptr<Db>(new Db(db));
  if (rc != SQLITE_OK) return sqlite_error(db, rc, "open " + path);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  // synchronous=FULL: a committed transaction survives power loss / kill -9 (docs/api.md durability).
  std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;";
  // Readers keep SQLite's default 2 MiB page cache (RSS budget, docs/performance.md); the writer gets 8 MiB
  // for the index pages every insert touches.
  pragmas += reader ? "PRAGMA query_only=ON;" : "PRAGMA cache_size=-8192;";
  if (auto st = conn->exec(pragmas); !st) return st.take_error();
  return conn;
}

Db::~Db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

Status Db::exec(const std::string& sql) {
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    Error e = sqlite_error(db_, rc, "exec");
    e.message += " (" + msg + ")";
    return e;
  }
  return {};
}

Status Db::run_cached(const std::string& sql) {
  auto s = prepare(sql);
  if (!s) return s.take_error();
  Stmt st(db_, *s);
  return st.run();
}

Result<sqlite3_stmt*> Db::prepare(const std::string& sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &s, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare");
  cache_.emplace(sql, s);
  return s;
}

Status prepare_file(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    return Error::make(ErrorCode::kUnavailable,
                       "cannot create directory " + parent.string() + ": " + ec.message());
  return {};
}

Result<std::unique_ptr<Db>> open_writer(const std::string& path) {
  TM_SQLITE_TRY(prepare_file(path));
  auto c = Db::open(path, false);
  if (!c) return c.take_error();
  TM_SQLITE_TRY((*c)->exec("PRAGMA journal_mode=WAL"));
  return c;
}

}  // namespace taskman::store::sqlite
