#pragma once
// Storage interface: the domain talks to this, never to SQL. An engine (SQLite today, PostgreSQL
// later) provides transactions whose operations are expressed in records; the shared job runner
// (job_runner.hpp) runs them off the caller's thread: reads on a pool of reader connections,
// writes on one writer that group-commits (every queued write runs in its own savepoint inside one
// transaction, which is committed once). Completion callbacks run on the database threads, after
// the commit, so a successful write callback means the change is durable.
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/model.hpp"

namespace taskman::store {

// Operations visible inside a read transaction (one consistent snapshot).
class ReadTx {
 public:
  virtual ~ReadTx() = default;

  virtual Result<std::optional<Project>> get_project(std::string_view id) = 0;
  virtual Result<std::vector<Project>> list_projects(const PageQuery& q) = 0;
  virtual Result<std::int64_t> count_project_tasks(std::string_view project_id) = 0;

  virtual Result<std::optional<Task>> get_task(std::string_view id) = 0;
  // Of `ids`, those that exist.
  virtual Result<std::vector<std::string>> existing_task_ids(const std::vector<std::string>& ids) = 0;
  virtual Result<std::vector<Task>> list_tasks(const TaskListQuery& q) = 0;
  // Most urgent task with status todo whose dependencies are all done.
  virtual Result<std::optional<Task>> next_task(const std::optional<std::string>& project_id,
                                                const std::optional<std::string>& assignee) = 0;
  // True when `target` is reachable from any of `from` by following depends_on edges (or equals one).
  virtual Result<bool> depends_transitively(const std::vector<std::string>& from,
                                            std::string_view target) = 0;
  // True when `ancestor` is `task` or one of its parents, grandparents, ...
  virtual Result<bool> is_ancestor_or_self(std::string_view ancestor, std::string_view task) = 0;
  virtual Result<std::vector<std::string>> project_task_ids(std::string_view project_id) = 0;

  virtual Result<std::vector<Comment>> list_comments(std::string_view task_id, const PageQuery& q) = 0;
  virtual Result<std::optional<Comment>> get_comment(std::string_view task_id, std::string_view id) = 0;

  virtual Result<std::optional<IdempotencyRecord>> get_idempotency(std::string_view key) = 0;
};

// Operations of the (single) writer. Constraint failures come back as values: a duplicate unique
// value is kConflict, a dangling reference kUnprocessable.
class WriteTx : public ReadTx {
 public:
  virtual Status insert_project(const Project& p) = 0;
  virtual Status update_project(const Project& p) = 0;
  virtual Status delete_project(std::string_view id) = 0;

  virtual Status insert_task(const Task& t) = 0;
  // Replaces every column, labels and dependencies of an existing task.
  virtual Status update_task(const Task& t) = 0;
  // Deletes the task with its comments and dependency edges; tasks that depended on it or had it as
  // parent lose that reference and get version + 1 and updated_at = now.
  virtual Status delete_task(std::string_view id, TimeMs now) = 0;

  virtual Status insert_comment(const Comment& c) = 0;

  // Claims `key` for this transaction until it ends, so that writers of other processes on the
  // same database see the request in flight: false when another transaction holds the claim (answer
  // "in progress"). An engine with one writer per database (SQLite) has nothing to claim.
  virtual Result<bool> claim_idempotency(std::string_view /*key*/) { return true; }
  virtual Status put_idempotency(const IdempotencyRecord& r) = 0;  // insert or replace
  virtual Result<std::int64_t> purge_idempotency(TimeMs now) = 0;  // drops expired keys
};

class Store {
 public:
  virtual ~Store() = default;

  // The engine that runs ("sqlite"), e.g. for the db.system.name span attribute.
  virtual std::string_view engine() const = 0;
  // The schema version of the open database (after migration at open, the newest this build knows).
  virtual int schema_version() const = 0;

  template <class T>
  using ReadFn = std::function<Result<T>(ReadTx&)>;
  template <class T>
  using WriteFn = std::function<Result<T>(WriteTx&)>;
  template <class T>
  using Done = std::function<void(Result<T>)>;

  // Runs `fn` in a read transaction on a reader thread, then `done` on that thread. When the store
  // is closed or its queue is full, `done` gets kUnavailable at once on the calling thread.
  template <class T>
  void read(ReadFn<T> fn, Done<T> done) {
    submit_read([fn = std::move(fn), done = std::move(done)](ReadTx* tx, const Error* err) {
      if (err != nullptr) return done(*err);
      std::optional<Result<T>> r;
      try {
        r.emplace(fn(*tx));
      } catch (const std::exception& e) {  // a broken invariant: answer 500 rather than never
        r.emplace(Error::make(ErrorCode::kInternal, std::string("read job failed: ") + e.what()));
      }
      done(std::move(*r));
    });
  }

  // Runs `fn` in its own savepoint of the writer's current batch: an error result (or exception)
  // rolls back just this job. `done` runs on a database thread after the batch committed, with
  // fn's result, or with an error when the commit failed.
  template <class T>
  void write(WriteFn<T> fn, Done<T> done) {
    auto slot = std::make_shared<std::optional<Result<T>>>();
    WriteJob job;
    job.run = [fn = std::move(fn), slot](WriteTx& tx) -> bool {
      try {
        slot->emplace(fn(tx));
      } catch (const std::exception& e) {  // rolled back alone, like any failing job
        slot->emplace(Error::make(ErrorCode::kInternal, std::string("write job failed: ") + e.what()));
      }
      return slot->value().ok();
    };
    job.complete = [slot, done = std::move(done)](const Error* commit_error) {
      if (commit_error != nullptr) return done(*commit_error);
      if (!slot->has_value()) return done(Error::make(ErrorCode::kInternal, "write job did not run"));
      done(std::move(**slot));
    };
    submit_write(std::move(job));
  }

  struct Stats {
    std::uint64_t commits = 0;  // write transactions committed (one per group)
    std::uint64_t writes = 0;   // write jobs run
  };
  virtual Stats stats() const = 0;

  // Liveness probe: SELECT 1 on a reader connection; `done` runs on a database thread.
  virtual void ping(std::function<void(Status)> done) = 0;
  // Blocking form (waits at most `timeout`). The default goes through ping(); an engine may answer
  // from a dedicated connection (SQLite does), so a deep read queue cannot hold a health check up.
  virtual Status ping_sync(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  // Stops taking work, finishes what is queued, closes connections. Idempotent.
  virtual void close() = 0;

  struct WriteJob {
    std::function<bool(WriteTx&)> run;           // true: keep the savepoint
    std::function<void(const Error*)> complete;  // null: committed
  };

 protected:
  // The error pointer is non-null when the job cannot run (store closed, connection failure).
  virtual void submit_read(std::function<void(ReadTx*, const Error*)> job) = 0;
  virtual void submit_write(WriteJob job) = 0;
};

// Timing hook for db_query_duration_seconds{operation}: operation is one of "read", "write_batch"
// (a whole group: savepoints + commit) and "commit". Called on database threads; must not block.
using QueryObserver = std::function<void(const char* operation, std::chrono::nanoseconds duration)>;

struct StoreOptions {
  int readers = 2;                // reader connections (threads)
  std::size_t max_batch = 512;    // writes per transaction; 1 = one commit per write (for comparison)
  std::size_t max_queue = 10000;  // queued reads (and, separately, writes) before refusing with 503
  bool migrate = true;            // apply pending migrations at open
  // Run write callbacks on a completion thread so the writer can start the next group at once.
  // Off by default: measured on 2 cores (store_bench/tasks_bench, 64 submitters) the writer running
  // the callbacks itself lets more writes queue for the next group (61 vs ~31 per commit) and was
  // as fast or faster (66k vs 54k/s raw, 51k vs 48k/s through the service).
  bool offload_callbacks = false;
  QueryObserver observer;  // optional
};

// The factory (factory.cpp), the one place that reads a DATABASE_URL. Opens the store it names:
// "sqlite:<path>" (parent directories are created), "postgres://..." or "postgresql://..."
// (PostgreSQL; libpq reads the URL and the PG* environment variables).
Result<std::unique_ptr<Store>> open_store(std::string_view database_url, const StoreOptions& options = {});
// Applies pending migrations and returns the resulting schema version.
Result<int> migrate_database(std::string_view database_url);

// What a DATABASE_URL names, without opening it: the engine ("sqlite") and the database within it
// (for SQLite the file path), e.g. for the db.system.name and db.namespace span attributes.
struct DatabaseTarget {
  std::string engine;
  std::string name;
};
Result<DatabaseTarget> describe_database(std::string_view database_url);
// The DATABASE_URL prefixes of the engines of this build ("sqlite:", "postgres://", ...).
std::vector<std::string_view> supported_url_prefixes();

}  // namespace taskman::store
