#pragma once
// The SQL of the PostgreSQL engine: every ReadTx/WriteTx operation as statements over one
// connection. On the writer (`locking`), rows read to be changed are locked (FOR UPDATE) and the
// dependency-graph checks take a graph lock, because writers of other processes may run at the
// same time (SQLite has one writer per file; PostgreSQL has one per process). Used by one thread at
// a time, like its connection.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/postgres/pg_conn.hpp"
#include "store/store.hpp"

namespace taskman::store::postgres {

class Tx final : public WriteTx {
 public:
  Tx(PgConn& c, bool locking) : c_(c), locking_(locking) {}

  Status select_one();

  // ---- projects
  Result<std::optional<Project>> get_project(std::string_view id) override;
  Result<std::vector<Project>> list_projects(const PageQuery& q) override;
  Result<std::int64_t> count_project_tasks(std::string_view project_id) override;

  // ---- tasks
  Result<std::optional<Task>> get_task(std::string_view id) override;
  Result<std::vector<std::string>> existing_task_ids(const std::vector<std::string>& ids) override;
  Result<std::vector<Task>> list_tasks(const TaskListQuery& q) override;
  Result<std::optional<Task>> next_task(const std::optional<std::string>& project_id,
                                        const std::optional<std::string>& assignee) override;
  Result<bool> depends_transitively(const std::vector<std::string>& from, std::string_view target) override;
  Result<bool> is_ancestor_or_self(std::string_view ancestor, std::string_view task) override;
  Result<std::vector<std::string>> project_task_ids(std::string_view project_id) override;

  // ---- comments
  Result<std::vector<Comment>> list_comments(std::string_view task_id, const PageQuery& q) override;
  Result<std::optional<Comment>> get_comment(std::string_view task_id, std::string_view id) override;

  // ---- idempotency
  Result<std::optional<IdempotencyRecord>> get_idempotency(std::string_view key) override;

  // ---- writes
  Status insert_project(const Project& p) override;
  Status update_project(const Project& p) override;
  Status delete_project(std::string_view id) override;
  Status insert_task(const Task& t) override;
  Status update_task(const Task& t) override;
  Status delete_task(std::string_view id, TimeMs now) override;
  Status insert_comment(const Comment& c) override;
  Result<bool> claim_idempotency(std::string_view key) override;
  Status put_idempotency(const IdempotencyRecord& r) override;
  Result<std::int64_t> purge_idempotency(TimeMs now) override;

 private:
  Result<std::vector<Task>> tasks(const std::string& sql, const Params& p);
  Status write_lists(const Task& t);
  void lock_graph();

  PgConn& c_;
  const bool locking_;
};

}  // namespace taskman::store::postgres
