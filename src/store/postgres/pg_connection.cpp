#include "store/postgres/pg_connection.hpp"

namespace taskman::store::postgres {
namespace {

constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

}  // namespace

Status Connection::begin_read() {
  if (auto st = c_->ensure_connected(); !st) return st;
  c_->defer(kBeginRead);
  return {};
}

Status Connection::begin_write() {
  if (auto st = c_->ensure_connected(); !st) return st;
  c_->defer("BEGIN");
  return {};
}

Status Connection::savepoint() {
  c_->defer("SAVEPOINT job");
  return {};
}

Status Connection::rollback_to_savepoint() {
  c_->defer("ROLLBACK TO SAVEPOINT job");
  return {};
}

Status Connection::release_savepoint() {
  c_->defer("RELEASE SAVEPOINT job");
  return {};
}

Status Connection::commit() {
  // A read job that sent nothing has nothing to end.
  if (c_->deferred().size() == 1 && c_->deferred().front() == kBeginRead) {
    c_->discard_deferred();
    return {};
  }
  return c_->exec("COMMIT");
}

void Connection::rollback() {
  c_->discard_deferred();
  (void)c_->exec("ROLLBACK");
}

Status Connection::ping() { return tx_.select_one(); }

}  // namespace taskman::store::postgres
