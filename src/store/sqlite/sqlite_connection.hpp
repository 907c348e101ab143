#pragma once
// One SQLite connection as the job runner sees it: BEGIN / BEGIN IMMEDIATE, a SAVEPOINT per write
// job, and the full-text index written once per group just before COMMIT (only for the jobs whose
// savepoint was kept). Used by one thread at a time.
#include <memory>

#include "store/connection.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/sqlite/sqlite_tx.hpp"

namespace taskman::store::sqlite {

class Connection final : public store::Connection {
 public:
  explicit Connection(std::unique_ptr<Db> db) : db_(std::move(db)), tx_(*db_) {}

  Status begin_read() override { return db_->run_cached("BEGIN"); }
  Status begin_write() override { return db_->run_cached("BEGIN IMMEDIATE"); }
  Status savepoint() override;
  Status rollback_to_savepoint() override;
  Status release_savepoint() override;
  Status prepare_commit() override { return tx_.flush_fts(); }
  Status commit() override { return db_->run_cached("COMMIT"); }
  void rollback() override { (void)db_->exec("ROLLBACK"); }
  Status ping() override { return tx_.select_one(); }

  ReadTx& read_tx() override { return tx_; }
  WriteTx& write_tx() override { return tx_; }

 private:
  std::unique_ptr<Db> db_;
  Tx tx_;
  bool job_kept_ = true;  // the running job's savepoint has not been rolled back to
};

}  // namespace taskman::store::sqlite
