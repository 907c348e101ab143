#include "store/postgres/pg_tx.hpp"

#include <limits>

namespace taskman::store::postgres {
namespace {

constexpr std::int64_t kNullsLastAsc = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kNullsLastDesc = std::numeric_limits<std::int64_t>::min();

// Advisory lock keys (two-int form): the dependency graph, and one per Idempotency-Key (its hash).
constexpr const char* kGraphLock = "SELECT pg_advisory_xact_lock(1952541792, 0)";
constexpr const char* kIdempotencyLockClass = "1952541793";

Error corrupt(std::string_view what, std::string_view id) {
  return Error::make(ErrorCode::kInternal,
                     "corrupt row in database: " + std::string(what) + " of " + std::string(id));
}

// Labels and dependencies come with the row (columns 13 and 14), so a page is one query.
constexpr const char* kTaskColumns =
    "t.id, t.project_id, t.parent_id, t.title, t.description, t.status, t.priority, t.assignee, t.due_at, "
    "t.created_at, t.updated_at, t.completed_at, t.version, "
    "ARRAY(SELECT l.label FROM task_labels l WHERE l.task_id = t.id ORDER BY l.pos), "
    "ARRAY(SELECT d.depends_on FROM task_deps d WHERE d.task_id = t.id ORDER BY d.pos)";

constexpr const char* kProjectColumns = "id, name, description, created_at, updated_at";
constexpr const char* kCommentColumns = "id, task_id, author, body, created_at";

Project project_row(const PgResult& r, int i) {
  return Project{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.i64(i, 3), r.i64(i, 4)};
}

Comment comment_row(const PgResult& r, int i) {
  return Comment{r.text(i, 0), r.text(i, 1), r.opt_text(i, 2), r.text(i, 3), r.i64(i, 4)};
}

// Column order of kTaskColumns. Values the domain could never have written are reported as
// internal errors instead of being trusted.
Result<Task> task_row(const PgResult& r, int i) {
  Task t;
  t.id = r.text(i, 0);
  t.project_id = r.opt_text(i, 1);
  t.parent_id = r.opt_text(i, 2);
  t.title = r.text(i, 3);
  t.description = r.text(i, 4);
  auto status = parse_status(r.text(i, 5));
  if (!status) return corrupt("status", t.id);
  t.status = *status;
  const auto prio = r.i64(i, 6);
  if (prio < 0 || prio > 3) return corrupt("priority", t.id);
  t.priority = static_cast<Priority>(prio);
  t.assignee = r.opt_text(i, 7);
  t.due_at = r.opt_i64(i, 8);
  t.created_at = r.i64(i, 9);
  t.updated_at = r.i64(i, 10);
  t.completed_at = r.opt_i64(i, 11);
  t.version = r.i64(i, 12);
  t.labels = parse_text_array(r.text(i, 13));
  t.depends_on = parse_text_array(r.text(i, 14));
  if (t.version < 1) return corrupt("version", t.id);
  if (t.completed_at.has_value() != (t.status == TaskStatus::kDone)) return corrupt("completed_at", t.id);
  return t;
}

// The words of `q` (split on white space): each must match, as a phrase of its own tokens, so
// tsquery operators in user text are inert.
std::vector<std::string> words(std::string_view q) {
  std::vector<std::string> out;
  std::size_t i = 0;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < q.size()) {
    while (i < q.size() && space(q[i])) ++i;
    std::size_t j = i;
    while (j < q.size() && !space(q[j])) ++j;
    if (j > i) out.emplace_back(q.substr(i, j - i));
    i = j;
  }
  return out;
}

// `task`'s columns as parameters $1.. (id, project, parent, title, description, status, priority,
// assignee, due, [created,] updated, completed, version).
Params task_params(const Task& t, bool with_created) {
  Params p;
  p.add(t.id);
  p.add(t.project_id);
  p.add(t.parent_id);
  p.add(t.title);
  p.add(t.description);
  p.add(to_string(t.status));
  p.add(static_cast<std::int64_t>(t.priority));
  p.add(t.assignee);
  p.add(t.due_at);
  if (with_created) p.add(t.created_at);
  p.add(t.updated_at);
  p.add(t.completed_at);
  p.add(t.version);
  return p;
}

Result<std::vector<std::string>> first_column(Result<PgResult> r) {
  if (!r) return r.take_error();
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->text(i, 0));
  return out;
}

}  // namespace

Status Tx::select_one() {
  auto r = c_.query("SELECT 1");
  if (!r) return r.take_error();
  return {};
}

// Other processes' writers run concurrently (READ COMMITTED): the statement after the lock sees
// what they committed before releasing it. Sent with the next statement (one round trip).
void Tx::lock_graph() {
  if (locking_) c_.defer(kGraphLock);
}

// ---- projects
Result<std::optional<Project>> Tx::get_project(std::string_view id) {
  // On the writer the row is locked first, so a concurrent change of another process is waited
  // for and then seen (the read is a statement of its own, with a fresh snapshot).
  if (locking_) c_.defer("SELECT 1 FROM projects WHERE id = " + c_.quote(id) + " FOR UPDATE");
  Params p;
  p.add(id);
  auto r = c_.query(std::string("SELECT ") + kProjectColumns + " FROM projects WHERE id = $1", p);
  if (!r) return r.take_error();
  if (r->rows() == 0) return std::optional<Project>();
  return std::optional<Project>(project_row(*r, 0));
}

Result<std::vector<Project>> Tx::list_projects(const PageQuery& q) {
  Params p;
  std::string sql = std::string("SELECT ") + kProjectColumns + " FROM projects";
  if (q.after) {
    const auto key = p.add(q.after->key);
    sql += " WHERE (created_at, id) > (" + key + ", " + p.add(q.after->id) + ")";
  }
  sql += " ORDER BY created_at, id LIMIT " + p.add(q.limit);
  auto r = c_.query(sql, p);
  if (!r) return r.take_error();
  std::vector<Project> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(project_row(*r, i));
  return out;
}

Result<std::int64_t> Tx::count_project_tasks(std::string_view project_id) {
  Params p;
  p.add(project_id);
  auto r = c_.query("SELECT count(*) FROM tasks WHERE project_id = $1", p);
  if (!r) return r.take_error();
  return r->i64(0, 0);
}

// ---- tasks
Result<std::vector<Task>> Tx::tasks(const std::string& sql, const Params& p) {
  auto r = c_.query(sql, p);
  if (!r) return r.take_error();
  std::vector<Task> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    auto t = task_row(*r, i);
    if (!t) return t.take_error();
    out.push_back(std::move(*t));
  }
  return out;
}

Result<std::optional<Task>> Tx::get_task(std::string_view id) {
  if (locking_) c_.defer("SELECT 1 FROM tasks WHERE id = " + c_.quote(id) + " FOR UPDATE");
  Params p;
  p.add(id);
  auto found = tasks(std::string("SELECT ") + kTaskColumns + " FROM tasks t WHERE t.id = $1", p);
  if (!found) return found.take_error();
  if (found->empty()) return std::optional<Task>();
  return std::optional<Task>(std::move(found->front()));
}

Result<std::vector<std::string>> Tx::existing_task_ids(const std::vector<std::string>& ids) {
  Params p;
  p.add_array(ids);
  return first_column(c_.query("SELECT id FROM tasks WHERE id = ANY($1::text[])", p));
}

Result<std::vector<Task>> Tx::list_tasks(const TaskListQuery& q) {
  Params p;
  std::string key;
  switch (q.sort) {
    case TaskSort::kCreatedAt:
      key = "t.created_at";
      break;
    case TaskSort::kUpdatedAt:
      key = "t.updated_at";
      break;
    case TaskSort::kPriority:
      key = "t.priority::bigint";
      break;
    case TaskSort::kDueAt:
      key = "coalesce(t.due_at, " + p.add(q.descending ? kNullsLastDesc : kNullsLastAsc) + "::bigint)";
      break;
  }
  std::string where;
  auto add = [&](const std::string& cond) { where += (where.empty() ? " WHERE " : " AND ") + cond; };
  const TaskFilter& f = q.filter;
  if (f.project_id) add("t.project_id = " + p.add(*f.project_id));
  if (!f.statuses.empty()) {
    std::vector<std::string> names;
    for (auto st : f.statuses) names.emplace_back(to_string(st));
    add("t.status = ANY(" + p.add_array(names) + "::text[])");
  }
  if (f.priority) add("t.priority = " + p.add(static_cast<std::int64_t>(*f.priority)));
  if (f.assignee) add("t.assignee = " + p.add(*f.assignee));
  if (f.label)
    add("EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id AND l.label = " + p.add(*f.label) + ")");
  if (f.parent_id) add("t.parent_id = " + p.add(*f.parent_id));
  if (f.due_before) add("t.due_at < " + p.add(*f.due_before));
  if (f.due_after) add("t.due_at > " + p.add(*f.due_after));
  if (f.q) {
    // One tsquery for all words (an uncommitted scalar: the GIN index applies); words without any
    // token drop out, and no word at all matches nothing, as in SQLite.
    add("t.search @@ (SELECT string_agg('(' || w.q::text || ')', ' & ')::tsquery FROM "
        "(SELECT phraseto_tsquery('simple', x) AS q FROM unnest(" +
        p.add_array(words(*f.q)) + "::text[]) AS x) w WHERE numnode(w.q) > 0)");
  }
  const char* dir = q.descending ? "DESC" : "ASC";
  if (q.after) {
    const auto after_key = p.add(q.after->key);
    add("(" + key + ", t.id) " + (q.descending ? "<" : ">") + " (" + after_key + "::bigint, " +
        p.add(q.after->id) + ")");
  }
  const std::string sql = std::string("SELECT ") + kTaskColumns + " FROM tasks t" + where + " ORDER BY " +
                          key + " " + dir + ", t.id " + dir + " LIMIT " +
                          p.add(static_cast<std::int64_t>(q.limit));
  return tasks(sql, p);
}

Result<std::optional<Task>> Tx::next_task(const std::optional<std::string>& project_id,
                                          const std::optional<std::string>& assignee) {
  Params p;
  const auto last = p.add(kNullsLastAsc);
  std::string sql = std::string("SELECT ") + kTaskColumns +
                    " FROM tasks t WHERE t.status = 'todo'"
                    " AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks u ON u.id = d.depends_on"
                    " WHERE d.task_id = t.id AND u.status <> 'done')";
  if (project_id) sql += " AND t.project_id = " + p.add(*project_id);
  if (assignee) sql += " AND t.assignee = " + p.add(*assignee);
  sql += " ORDER BY t.priority, coalesce(t.due_at, " + last + "::bigint), t.created_at, t.id LIMIT 1";
  auto found = tasks(sql, p);
  if (!found) return found.take_error();
  if (found->empty()) return std::optional<Task>();
  return std::optional<Task>(std::move(found->front()));
}

Result<bool> Tx::depends_transitively(const std::vector<std::string>& from, std::string_view target) {
  lock_graph();
  Params p;
  p.add_array(from);
  p.add(target);
  // UNION (not UNION ALL) de-duplicates, so the walk ends even if the graph already had a cycle.
  auto r = c_.query(
      "WITH RECURSIVE reach(id) AS (SELECT unnest($1::text[]) COLLATE \"C\" UNION "
      "SELECT d.depends_on FROM task_deps d JOIN reach r ON d.task_id = r.id) "
      "SELECT 1 FROM reach WHERE id = $2 LIMIT 1",
      p);
  if (!r) return r.take_error();
  return r->rows() > 0;
}

Result<bool> Tx::is_ancestor_or_self(std::string_view ancestor, std::string_view task) {
  lock_graph();
  Params p;
  p.add(ancestor);
  p.add(task);
  auto r = c_.query(
      "WITH RECURSIVE chain(id) AS (SELECT $2::text COLLATE \"C\" UNION "
      "SELECT t.parent_id FROM tasks t JOIN chain c ON t.id = c.id WHERE t.parent_id IS NOT NULL) "
      "SELECT 1 FROM chain WHERE id = $1 LIMIT 1",
      p);
  if (!r) return r.take_error();
  return r->rows() > 0;
}

Result<std::vector<std::string>> Tx::project_task_ids(std::string_view project_id) {
  Params p;
  p.add(project_id);
  return first_column(c_.query("SELECT id FROM tasks WHERE project_id = $1 ORDER BY rid", p));
}

// ---- comments
Result<std::vector<Comment>> Tx::list_comments(std::string_view task_id, const PageQuery& q) {
  Params p;
  std::string sql =
      std::string("SELECT ") + kCommentColumns + " FROM comments WHERE task_id = " + p.add(task_id);
  if (q.after) {
    const auto key = p.add(q.after->key);
    sql += " AND (created_at, id) > (" + key + ", " + p.add(q.after->id) + ")";
  }
  sql += " ORDER BY created_at, id LIMIT " + p.add(q.limit);
  auto r = c_.query(sql, p);
  if (!r) return r.take_error();
  std::vector<Comment> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(comment_row(*r, i));
  return out;
}

Result<std::optional<Comment>> Tx::get_comment(std::string_view task_id, std::string_view id) {
  Params p;
  p.add(id);
  p.add(task_id);
  auto r =
      c_.query(std::string("SELECT ") + kCommentColumns + " FROM comments WHERE id = $1 AND task_id = $2", p);
  if (!r) return r.take_error();
  if (r->rows() == 0) return std::optional<Comment>();
  return std::optional<Comment>(comment_row(*r, 0));
}

// ---- idempotency
Result<std::optional<IdempotencyRecord>> Tx::get_idempotency(std::string_view key) {
  Params p;
  p.add(key);
  auto r = c_.query(
      "SELECT key, fingerprint, status, body, headers, created_at, expires_at FROM idempotency_keys "
      "WHERE key = $1",
      p);
  if (!r) return r.take_error();
  if (r->rows() == 0) return std::optional<IdempotencyRecord>();
  IdempotencyRecord rec{r->text(0, 0), r->text(0, 1), static_cast<int>(r->i64(0, 2)),
                        r->text(0, 3), r->text(0, 4), r->i64(0, 5),
                        r->i64(0, 6)};
  if (rec.status < 100 || rec.status > 599) return corrupt("status", rec.key);
  return std::optional<IdempotencyRecord>(std::move(rec));
}

// ---- writes
Status Tx::insert_project(const Project& pr) {
  Params p;
  p.add(pr.id);
  p.add(pr.name);
  p.add(pr.description);
  p.add(pr.created_at);
  p.add(pr.updated_at);
  auto r = c_.query(
      "INSERT INTO projects (id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)", p);
  if (!r) return r.take_error();
  return {};
}

Status Tx::update_project(const Project& pr) {
  Params p;
  p.add(pr.id);
  p.add(pr.name);
  p.add(pr.description);
  p.add(pr.updated_at);
  auto r = c_.query("UPDATE projects SET name = $2, description = $3, updated_at = $4 WHERE id = $1", p);
  if (!r) return r.take_error();
  if (r->affected() != 1) return Error::make(ErrorCode::kNotFound, "project not found");
  return {};
}

Status Tx::delete_project(std::string_view id) {
  Params p;
  p.add(id);
  auto r = c_.query("DELETE FROM projects WHERE id = $1", p);
  if (!r) {
    Error e = r.take_error();
    if (e.code == ErrorCode::kUnprocessable) e.code = ErrorCode::kConflict;  // tasks still reference it
    return e;
  }
  if (r->affected() != 1) return Error::make(ErrorCode::kNotFound, "project not found");
  return {};
}

Status Tx::insert_task(const Task& t) {
  auto r = c_.query(
      "INSERT INTO tasks (id, project_id, parent_id, title, description, status, priority, assignee, "
      "due_at, created_at, updated_at, completed_at, version) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
      task_params(t, true));
  if (!r) return r.take_error();
  return write_lists(t);
}

Status Tx::update_task(const Task& t) {
  auto r = c_.query(
      "UPDATE tasks SET project_id = $2, parent_id = $3, title = $4, description = $5, status = $6, "
      "priority = $7, assignee = $8, due_at = $9, updated_at = $10, completed_at = $11, version = $12 "
      "WHERE id = $1",
      task_params(t, false));
  if (!r) return r.take_error();
  if (r->affected() != 1) return Error::make(ErrorCode::kNotFound, "task not found");
  const std::string id = c_.quote(t.id);
  c_.defer("DELETE FROM task_labels WHERE task_id = " + id);
  c_.defer("DELETE FROM task_deps WHERE task_id = " + id);
  return write_lists(t);
}

Status Tx::delete_task(std::string_view id, TimeMs now) {
  const std::string quoted = c_.quote(id);
  const std::string at = std::to_string(now);
  c_.defer("UPDATE tasks SET version = version + 1, updated_at = " + at +
           " WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = " + quoted + ") AND id <> " +
           quoted);
  c_.defer("UPDATE tasks SET parent_id = NULL, version = version + 1, updated_at = " + at +
           " WHERE parent_id = " + quoted);
  Params p;
  p.add(id);
  auto r = c_.query("DELETE FROM tasks WHERE id = $1", p);
  if (!r) return r.take_error();
  if (r->affected() != 1) return Error::make(ErrorCode::kNotFound, "task not found");
  return {};
}

Status Tx::insert_comment(const Comment& cm) {
  Params p;
  p.add(cm.id);
  p.add(cm.task_id);
  p.add(cm.author);
  p.add(cm.body);
  p.add(cm.created_at);
  auto r =
      c_.query("INSERT INTO comments (id, task_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)", p);
  if (!r) return r.take_error();
  return {};
}

// A transaction-scoped advisory lock on the key's hash: held by the first transaction (of any
// process) that runs the key, until it commits or rolls back, when its record is visible. A
// transaction that finds it taken answers "in progress" at once instead of waiting. Two keys with
// the same hash only delay each other by one such answer.
Result<bool> Tx::claim_idempotency(std::string_view key) {
  Params p;
  p.add(key);
  auto r = c_.query(
      std::string("SELECT pg_try_advisory_xact_lock(") + kIdempotencyLockClass + ", hashtext($1))", p);
  if (!r) return r.take_error();
  return r->boolean(0, 0);
}

Status Tx::put_idempotency(const IdempotencyRecord& rec) {
  Params p;
  p.add(rec.key);
  p.add(rec.fingerprint);
  p.add(rec.status);
  p.add(rec.body);
  p.add(rec.headers_json);
  p.add(rec.created_at);
  p.add(rec.expires_at);
  auto r = c_.query(
      "INSERT INTO idempotency_keys (key, fingerprint, status, body, headers, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO UPDATE SET fingerprint = "
      "EXCLUDED.fingerprint, "
      "status = EXCLUDED.status, body = EXCLUDED.body, headers = EXCLUDED.headers, "
      "created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at",
      p);
  if (!r) return r.take_error();
  return {};
}

Result<std::int64_t> Tx::purge_idempotency(TimeMs now) {
  Params p;
  p.add(now);
  auto r = c_.query("DELETE FROM idempotency_keys WHERE expires_at <= $1", p);
  if (!r) return r.take_error();
  return r->affected();
}

Status Tx::write_lists(const Task& t) {
  if (!t.labels.empty()) {
    Params p;
    p.add(t.id);
    p.add_array(t.labels);
    auto r = c_.query(
        "INSERT INTO task_labels (task_id, pos, label) SELECT $1, u.o - 1, u.l FROM unnest($2::text[]) "
        "WITH ORDINALITY AS u(l, o)",
        p);
    if (!r) return r.take_error();
  }
  if (!t.depends_on.empty()) {
    Params p;
    p.add(t.id);
    p.add_array(t.depends_on);
    auto r = c_.query(
        "INSERT INTO task_deps (task_id, pos, depends_on) SELECT $1, u.o - 1, u.d FROM unnest($2::text[]) "
        "WITH ORDINALITY AS u(d, o)",
        p);
    if (!r) return r.take_error();
  }
  return {};
}

}  // namespace taskman::store::postgres
