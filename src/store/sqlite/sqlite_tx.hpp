#pragma once
// The SQL of the SQLite engine: every ReadTx/WriteTx operation as statements over one connection.
// Also keeps the full-text index in step with the kept jobs of a group (see flush_fts()). Used by
// one thread at a time, like its connection.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "store/sqlite/sqlite_db.hpp"
#include "store/store.hpp"

namespace taskman::store::sqlite {

class Tx final : public WriteTx {
 public:
  explicit Tx(Db& c) : c_(c) {}

  // Full-text maintenance is deferred to the end of the group (see the schema): each job's touched
  // rows are kept only if the job's savepoint is kept.
  void begin_job() { fts_job_.clear(); }
  void end_job(bool kept);
  // Writes the index changes of the kept jobs: one statement per kind for the whole group.
  Status flush_fts();

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
  Status put_idempotency(const IdempotencyRecord& r) override;
  Result<std::int64_t> purge_idempotency(TimeMs now) override;

 private:
  Result<std::vector<Task>> collect_tasks(Stmt& s);
  Status load_lists(std::vector<Task>& tasks);
  Status write_lists(const Task& t, bool replace);

  Db& c_;
  std::vector<std::pair<std::int64_t, bool>> fts_job_;    // (rid, newly inserted) of the running job
  std::vector<std::pair<std::int64_t, bool>> fts_batch_;  // of the kept jobs of this batch
};

}  // namespace taskman::store::sqlite
