#pragma once
// What the job runner (job_runner.hpp) needs of one database connection: transaction control for
// read jobs and for groups of write jobs (a savepoint per job), and the record-level transaction
// objects the jobs run against. An engine implements it once; the runner does the queueing,
// grouping and threading for every engine. A connection is used by one thread at a time.
#include "core/result.hpp"
#include "store/store.hpp"

namespace taskman::store {

class Connection {
 public:
  virtual ~Connection() = default;

  // A read transaction: every query of one read job sees the same snapshot.
  virtual Status begin_read() = 0;
  // A write transaction that takes the write lock at once, so a group never fails half-way on a
  // lock upgrade.
  virtual Status begin_write() = 0;
  // The savepoint of one write job: opened before the job runs, rolled back to when the job fails,
  // then released (what was not rolled back stays in the transaction).
  virtual Status savepoint() = 0;
  virtual Status rollback_to_savepoint() = 0;
  virtual Status release_savepoint() = 0;
  // Work done once per group inside the transaction just before it commits (SQLite updates its
  // full-text index here). A failure rolls the whole group back.
  virtual Status prepare_commit() { return {}; }
  virtual Status commit() = 0;
  // Ends a failed transaction; best effort (the engine's own error handling follows).
  virtual void rollback() = 0;

  // The cheapest round trip to the database (health checks).
  virtual Status ping() = 0;

  // The transaction objects the jobs see; valid for the connection's lifetime.
  virtual ReadTx& read_tx() = 0;
  virtual WriteTx& write_tx() = 0;
};

}  // namespace taskman::store
