#pragma once
// One PostgreSQL connection as the job runner sees it. Reads run in REPEATABLE READ READ ONLY
// transactions (one snapshot per job); a write group is one READ COMMITTED transaction with a
// SAVEPOINT per job and one COMMIT. Transaction control is deferred and travels in the pipeline
// of the next statement, so a one-statement job costs one round trip and the group's COMMIT one
// more; a read job's COMMIT is sent without waiting for its answer. A broken connection is re-established at
// the start of the next job.
#include <memory>

#include "store/connection.hpp"
#include "store/postgres/pg_conn.hpp"
#include "store/postgres/pg_tx.hpp"

namespace taskman::store::postgres {

class Connection final : public store::Connection {
 public:
  Connection(std::unique_ptr<PgConn> c, bool writer) : c_(std::move(c)), tx_(*c_, writer) {}

  Status begin_read() override;
  Status begin_write() override;
  Status savepoint() override;
  Status rollback_to_savepoint() override;
  Status release_savepoint() override;
  Status commit() override;
  void rollback() override;
  Status ping() override;

  ReadTx& read_tx() override { return tx_; }
  WriteTx& write_tx() override { return tx_; }

 private:
  std::unique_ptr<PgConn> c_;
  Tx tx_;
  bool reading_ = false;  // in a read transaction (begin_read() .. commit())
};

}  // namespace taskman::store::postgres
