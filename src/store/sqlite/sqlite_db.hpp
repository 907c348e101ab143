#pragma once
// Thin wrappers over the SQLite C API: error mapping, a cached prepared statement (Stmt) and a
// connection with its statement cache (Db). Everything above them speaks records, not sqlite3_*.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"

namespace taskman::store::sqlite {

// A unique or primary-key violation is kConflict, a dangling reference kUnprocessable, a busy,
// full or unreadable file kUnavailable with a retry hint; anything else kInternal.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// A cached prepared statement, reset (and its bindings cleared) when the handle goes away.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // true: a row is available; false: done.
  Result<bool> step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, rc, "step");
  }
  Status run() {
    auto r = step();
    if (!r) return r.take_error();
    return {};
  }

  bool is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  std::string text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p == nullptr ? std::string()
                        : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)));
  }
  std::optional<std::string> opt_text(int c) const {
    if (is_null(c)) return std::nullopt;
    return text(c);
  }
  std::optional<std::int64_t> opt_i64(int c) const {
    if (is_null(c)) return std::nullopt;
    return i64(c);
  }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// One connection with its statement cache. Used by one thread at a time.
class Db {
 public:
  // WAL-ready connection with foreign keys and synchronous=FULL; `reader` makes it query-only.
  static Result<std::unique_ptr<Db>> open(const std::string& path, bool reader);
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  sqlite3* db() const { return db_; }

  Status exec(const std::string& sql);
  // A cached single statement without parameters (transaction control on the hot path).
  Status run_cached(const std::string& sql);
  // Statements are cached by their text; dynamic list queries have a bounded number of shapes.
  Result<sqlite3_stmt*> prepare(const std::string& sql);

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Creates the parent directories of a database file.
Status prepare_file(const std::string& path);
// The writer connection: also switches the file to WAL (persistent in the file), so readers never
// block the writer, nor it them.
Result<std::unique_ptr<Db>> open_writer(const std::string& path);

}  // namespace taskman::store::sqlite

// Early-return helpers for Result-returning code over these wrappers (no exceptions on expected
// failures); used by the SQLite engine's .cpp files only.
#define TM_SQLITE_PREPARE(var, conn, sql)    \
  auto var##_p = (conn).prepare(sql);        \
  if (!var##_p) return var##_p.take_error(); \
  ::taskman::store::sqlite::Stmt var((conn).db(), *var##_p)

#define TM_SQLITE_TRY(expr)                               \
  do {                                                    \
    if (auto _st = (expr); !_st) return _st.take_error(); \
  } while (0)
