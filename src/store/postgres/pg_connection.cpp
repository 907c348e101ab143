#include "store/postgres/pg_connection.hpp"

namespace taskman::store::postgres {
namespace {

constexpr const char* kBeginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

}  // namespace

Status Connection::begin_read() {
  if (auto st = c_->ensure_connected(); !st) return st;
  c_->defer(kBeginRead);
  reading_ = true;
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
  if (reading_) {
    reading_ = false;
    // A read job that sent nothing has nothing to end; otherwise the read-only transaction ends
    // without waiting for the answer (nothing can be lost by it).
    if (c_->deferred().size() == 1 && c_->deferred().front() == kBeginRead) {
      c_->discard_deferred();
    } else {
      c_->send_and_forget("COMMIT");
    }
    return {};
  }
  return c_->exec("COMMIT");
}

void Connection::rollback() {
  reading_ = false;
  c_->discard_deferred();
  (void)c_->exec("ROLLBACK");
}

Status Connection::ping() { return tx_.select_one(); }

}  // namespace taskman::store::postgres
