#pragma once
// Thin wrappers over libpq: an owned result (PgResult), text-format parameters (Params), error
// mapping by SQLSTATE, and a connection (PgConn) with its prepared-statement cache, deferred
// transaction-control commands sent in one pipeline with the next statement, and reconnection of
// a broken connection. Everything above them speaks records, not PQ*.
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.hpp"

namespace taskman::store::postgres {

// An owned PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* r = nullptr) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept {
    std::swap(r_, o.r_);
    return *this;
  }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult() {
    if (r_ != nullptr) PQclear(r_);
  }

  PGresult* get() const { return r_; }
  int rows() const { return PQntuples(r_); }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::optional<std::string> opt_text(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return text(row, col);
  }
  std::int64_t i64(int row, int col) const;
  std::optional<std::int64_t> opt_i64(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return i64(row, col);
  }
  bool boolean(int row, int col) const { return PQgetvalue(r_, row, col)[0] == 't'; }
  // Rows an INSERT/UPDATE/DELETE touched.
  std::int64_t affected() const;

 private:
  PGresult* r_;
};

// Parameters of one statement, in text format; the server infers their types from the statement
// (casts in the SQL where it cannot, e.g. $1::text[]).
class Params {
 public:
  // Adds a value; returns its placeholder ("$3").
  std::string add(std::string_view v);
  std::string add(std::int64_t v) { return add(std::string_view(std::to_string(v))); }
  std::string add(int v) { return add(static_cast<std::int64_t>(v)); }
  std::string add(const char* v) { return add(std::string_view(v)); }
  std::string add(const std::string& v) { return add(std::string_view(v)); }
  std::string add_null();
  template <class T>
  std::string add(const std::optional<T>& v) {
    return v ? add(*v) : add_null();
  }
  // A text[] literal ({"a","b"}); the SQL casts it: $1::text[].
  std::string add_array(const std::vector<std::string>& items);

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers for libpq; valid while this object is unchanged.
  std::vector<const char*> pointers() const;

 private:
  std::vector<std::string> values_;
  std::vector<bool> null_;
};

// Parses a text[] value as PostgreSQL prints it ({a,"b c"}).
std::vector<std::string> parse_text_array(std::string_view s);

// A unique violation is kConflict, a dangling reference kUnprocessable; a lost connection, a
// server shutting down, a statement or lock timeout, a deadlock or a resource shortage kUnavailable
// with a retry hint; anything else kInternal.
Error pg_error(PGconn* c, const PGresult* r, std::string_view what);

// `message` with every occurrence of the password of `url` (as written and percent-decoded)
// replaced, for errors that might echo part of a connection string.
std::string redact_password(std::string message, std::string_view url);

// What to connect to and how long to wait for it.
struct ConnectOptions {
  std::string url;                  // postgres://... or postgresql://... (libpq reads it)
  int connect_timeout_s = 5;        // unless the URL or PGCONNECT_TIMEOUT says otherwise
  int statement_timeout_ms = 5000;  // unless the session already has one (URL options, PGOPTIONS)
};

// One connection with its prepared statements. Used by one thread at a time.
class PgConn {
 public:
  static Result<std::unique_ptr<PgConn>> connect(const ConnectOptions& options);
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;
  ~PgConn();

  // A parameterised statement through the cache: prepared on first use, then executed by name.
  // Deferred commands go first, in the same pipeline (one round trip).
  Result<PgResult> query(const std::string& sql, const Params& params = {});
  // A statement without parameters, by the simple protocol (DDL, several statements in one string);
  // deferred commands go first, in the same string.
  Status exec(const std::string& sql);
  // Sends a statement without waiting for its answer, which is read (and dropped) before the next
  // use of the connection: ending a read transaction costs no round trip of its own.
  void send_and_forget(const std::string& sql);

  // Queues a transaction-control command (BEGIN, SAVEPOINT, RELEASE, ...) to be sent with the next
  // statement instead of costing a round trip of its own.
  void defer(std::string sql) { deferred_.push_back(std::move(sql)); }
  // Drops the deferred commands (the transaction is being abandoned).
  void discard_deferred() { deferred_.clear(); }
  const std::vector<std::string>& deferred() const { return deferred_; }

  // `v` as an SQL string literal, for deferred commands (which take no parameters).
  std::string quote(std::string_view v) const;

  // A broken connection is re-established here, at most every kRetryInterval (in between, and when
  // the server is still away, kUnavailable naming the server at once).
  Status ensure_connected();
  // "host:port" of the server, for messages (never the password).
  std::string server() const;

  static constexpr std::chrono::milliseconds kRetryInterval{500};

 private:
  PgConn(PGconn* c, ConnectOptions options) : c_(c), options_(std::move(options)) {}
  Status set_up_session();
  Result<PgResult> pipeline(const std::string& name, bool prepare, const std::string& sql, const Params& p);
  Error unreachable(std::string_view detail) const;
  void drain_unread();

  PGconn* c_;
  ConnectOptions options_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::vector<std::string> deferred_;
  std::chrono::steady_clock::time_point next_retry_{};
  bool unread_ = false;  // an answer of send_and_forget() has not been read yet
  bool broken_ = false;  // a pipeline went wrong half-way: reconnect before the next use
};

}  // namespace taskman::store::postgres
