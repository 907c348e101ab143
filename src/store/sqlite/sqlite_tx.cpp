#include "store/sqlite/sqlite_tx.hpp"

#include <limits>
#include <unordered_map>
#include <variant>

#include "core/text.hpp"

namespace taskman::store::sqlite {
namespace {

constexpr std::int64_t kNullsLastAsc = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kNullsLastDesc = std::numeric_limits<std::int64_t>::min();

Error corrupt(std::string_view what, std::string_view id) {
  return Error::make(ErrorCode::kInternal,
                     "corrupt row in database: " + std::string(what) + " of " + std::string(id));
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += json_quote(items[i]);
  }
  out += ']';
  return out;
}

// User text to an FTS5 query: every whitespace-separated word becomes a quoted string (so FTS5
// operators in user input are inert), and all words must match.
std::string fts_query(std::string_view q) {
  std::string out;
  std::size_t i = 0;
  while (i < q.size()) {
    while (i < q.size() && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < q.size() && !(q[j] == ' ' || q[j] == '\t' || q[j] == '\n' || q[j] == '\r')) ++j;
    if (j > i) {
      if (!out.empty()) out += ' ';
      out += '"';
      for (char c : q.substr(i, j - i)) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    i = j;
  }
  return out;
}

constexpr const char* kTaskColumns =
    "t.id, t.project_id, t.parent_id, t.title, t.description, t.status, t.priority, t.assignee, t.due_at, "
    "t.created_at, t.updated_at, t.completed_at, t.version";

using Param = std::variant<std::int64_t, std::string>;

Project project_row(const Stmt& s) { return Project{s.text(0), s.text(1), s.text(2), s.i64(3), s.i64(4)}; }

// Column order of kTaskColumns. Values the domain could never have written are reported as
// internal errors instead of being trusted.
Result<Task> task_row(const Stmt& s) {
  Task t;
  t.id = s.text(0);
  t.project_id = s.opt_text(1);
  t.parent_id = s.opt_text(2);
  t.title = s.text(3);
  t.description = s.text(4);
  auto status = parse_status(s.text(5));
  if (!status) return corrupt("status", t.id);
  t.status = *status;
  const auto prio = s.i64(6);
  if (prio < 0 || prio > 3) return corrupt("priority", t.id);
  t.priority = static_cast<Priority>(prio);
  t.assignee = s.opt_text(7);
  t.due_at = s.opt_i64(8);
  t.created_at = s.i64(9);
  t.updated_at = s.i64(10);
  t.completed_at = s.opt_i64(11);
  t.version = s.i64(12);
  if (t.version < 1) return corrupt("version", t.id);
  if (t.completed_at.has_value() != (t.status == TaskStatus::kDone)) return corrupt("completed_at", t.id);
  return t;
}

void bind_task(Stmt& s, const Task& t) {
  s.bind(1, t.id).bind(2, t.project_id).bind(3, t.parent_id).bind(4, t.title).bind(5, t.description);
  s.bind(6, to_string(t.status)).bind(7, static_cast<std::int64_t>(t.priority)).bind(8, t.assignee);
  s.bind(9, t.due_at).bind(11, t.updated_at).bind(12, t.completed_at).bind(13, t.version);
}

}  // namespace

void Tx::end_job(bool kept) {
  if (kept) fts_batch_.insert(fts_batch_.end(), fts_job_.begin(), fts_job_.end());
  fts_job_.clear();
}

// One statement per kind for the whole batch: FTS5 syncs its pending terms per statement, so
// row-at-a-time statements cost ~10 µs each where one set-based statement costs ~1 µs per row.
Status Tx::flush_fts() {
  auto batch = std::move(fts_batch_);
  fts_batch_.clear();
  if (batch.empty()) return {};
  std::string stale = "[", all = "[";
  for (const auto& [rid, fresh] : batch) {
    if (!fresh) stale += (stale.size() > 1 ? "," : "") + std::to_string(rid);
    all += (all.size() > 1 ? "," : "") + std::to_string(rid);
  }
  stale += ']';
  all += ']';
  if (stale.size() > 2) {
    TM_SQLITE_PREPARE(d, c_, "DELETE FROM tasks_fts WHERE rowid IN (SELECT value FROM json_each(?1))");
    d.bind(1, stale);
    TM_SQLITE_TRY(d.run());
  }
  TM_SQLITE_PREPARE(
      i, c_,
      "INSERT INTO tasks_fts (rowid, title, description) SELECT rid, title, description FROM tasks "
      "WHERE rid IN (SELECT DISTINCT value FROM json_each(?1))");
  i.bind(1, all);
  return i.run();
}

Status Tx::select_one() {
  TM_SQLITE_PREPARE(s, c_, "SELECT 1");
  return s.run();
}

// ---- projects
Result<std::optional<Project>> Tx::get_project(std::string_view id) {
  TM_SQLITE_PREPARE(s, c_,
                    "SELECT id, name, description, created_at, updated_at FROM projects WHERE id = ?1");
  s.bind(1, id);
  auto r = s.step();
  if (!r) return r.take_error();
  if (!*r) return std::optional<Project>();
  return std::optional<Project>(project_row(s));
}

Result<std::vector<Project>> Tx::list_projects(const PageQuery& q) {
  std::string sql = "SELECT id, name, description, created_at, updated_at FROM projects";
  if (q.after) sql += " WHERE (created_at, id) > (?2, ?3)";
  sql += " ORDER BY created_at, id LIMIT ?1";
  TM_SQLITE_PREPARE(s, c_, sql);
  s.bind(1, q.limit);
  if (q.after) s.bind(2, q.after->key).bind(3, q.after->id);
  std::vector<Project> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) break;
    out.push_back(project_row(s));
  }
  return out;
}

Result<std::int64_t> Tx::count_project_tasks(std::string_view project_id) {
  TM_SQLITE_PREPARE(s, c_, "SELECT count(*) FROM tasks WHERE project_id = ?1");
  s.bind(1, project_id);
  auto r = s.step();
  if (!r) return r.take_error();
  return s.i64(0);
}

// ---- tasks
Result<std::optional<Task>> Tx::get_task(std::string_view id) {
  TM_SQLITE_PREPARE(s, c_, std::string("SELECT ") + kTaskColumns + " FROM tasks t WHERE t.id = ?1");
  s.bind(1, id);
  auto r = s.step();
  if (!r) return r.take_error();
  if (!*r) return std::optional<Task>();
  auto t = task_row(s);
  if (!t) return t.take_error();
  std::vector<Task> one{std::move(*t)};
  TM_SQLITE_TRY(load_lists(one));
  return std::optional<Task>(std::move(one[0]));
}

Result<std::vector<std::string>> Tx::existing_task_ids(const std::vector<std::string>& ids) {
  TM_SQLITE_PREPARE(s, c_, "SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(?1))");
  s.bind(1, json_array(ids));
  std::vector<std::string> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) break;
    out.push_back(s.text(0));
  }
  return out;
}

Result<std::vector<Task>> Tx::list_tasks(const TaskListQuery& q) {
  std::vector<Param> params;
  auto p = [&](Param v) {
    params.push_back(std::move(v));
    return "?" + std::to_string(params.size());
  };
  std::string key;
  switch (q.sort) {
    case TaskSort::kCreatedAt:
      key = "t.created_at";
      break;
    case TaskSort::kUpdatedAt:
      key = "t.updated_at";
      break;
    case TaskSort::kPriority:
      key = "t.priority";
      break;
    case TaskSort::kDueAt:
      key = "coalesce(t.due_at, " + p(q.descending ? kNullsLastDesc : kNullsLastAsc) + ")";
      break;
  }
  std::string where;
  auto add = [&](const std::string& cond) { where += (where.empty() ? " WHERE " : " AND ") + cond; };
  const TaskFilter& f = q.filter;
  if (f.project_id) add("t.project_id = " + p(*f.project_id));
  if (!f.statuses.empty()) {
    std::string in;
    for (auto st : f.statuses) in += (in.empty() ? "" : ", ") + p(std::string(to_string(st)));
    add("t.status IN (" + in + ")");
  }
  if (f.priority) add("t.priority = " + p(static_cast<std::int64_t>(*f.priority)));
  if (f.assignee) add("t.assignee = " + p(*f.assignee));
  if (f.label)
    add("EXISTS (SELECT 1 FROM task_labels l WHERE l.task_id = t.id AND l.label = " + p(*f.label) + ")");
  if (f.parent_id) add("t.parent_id = " + p(*f.parent_id));
  if (f.due_before) add("t.due_at < " + p(*f.due_before));
  if (f.due_after) add("t.due_at > " + p(*f.due_after));
  if (f.q) add("t.rid IN (SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH " + p(fts_query(*f.q)) + ")");
  const char* dir = q.descending ? "DESC" : "ASC";
  if (q.after) {
    add("(" + key + ", t.id) " + (q.descending ? "<" : ">") + " (" + p(q.after->key) + ", " + p(q.after->id) +
        ")");
  }
  std::string sql = std::string("SELECT ") + kTaskColumns + " FROM tasks t" + where + " ORDER BY " + key +
                    " " + dir + ", t.id " + dir + " LIMIT " + p(static_cast<std::int64_t>(q.limit));
  TM_SQLITE_PREPARE(s, c_, sql);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const int idx = static_cast<int>(i + 1);
    if (const auto* iv = std::get_if<std::int64_t>(&params[i])) {
      s.bind(idx, *iv);
    } else {
      s.bind(idx, std::get<std::string>(params[i]));
    }
  }
  return collect_tasks(s);
}

Result<std::optional<Task>> Tx::next_task(const std::optional<std::string>& project_id,
                                          const std::optional<std::string>& assignee) {
  std::string sql = std::string("SELECT ") + kTaskColumns +
                    " FROM tasks t WHERE t.status = 'todo'"
                    " AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks u ON u.id = d.depends_on"
                    " WHERE d.task_id = t.id AND u.status <> 'done')";
  if (project_id) sql += " AND t.project_id = ?2";
  if (assignee) sql += " AND t.assignee = ?3";
  sql += " ORDER BY t.priority, coalesce(t.due_at, ?1), t.created_at, t.id LIMIT 1";
  TM_SQLITE_PREPARE(s, c_, sql);
  s.bind(1, kNullsLastAsc);
  if (project_id) s.bind(2, *project_id);
  if (assignee) s.bind(3, *assignee);
  auto tasks = collect_tasks(s);
  if (!tasks) return tasks.take_error();
  if (tasks->empty()) return std::optional<Task>();
  return std::optional<Task>(std::move(tasks->front()));
}

Result<bool> Tx::depends_transitively(const std::vector<std::string>& from, std::string_view target) {
  // UNION (not UNION ALL) de-duplicates, so the walk ends even if the graph already had a cycle.
  TM_SQLITE_PREPARE(s, c_,
                    "WITH RECURSIVE reach(id) AS (SELECT value FROM json_each(?1) UNION "
                    "SELECT d.depends_on FROM task_deps d JOIN reach r ON d.task_id = r.id) "
                    "SELECT 1 FROM reach WHERE id = ?2 LIMIT 1");
  s.bind(1, json_array(from)).bind(2, target);
  return s.step();
}

Result<bool> Tx::is_ancestor_or_self(std::string_view ancestor, std::string_view task) {
  TM_SQLITE_PREPARE(
      s, c_,
      "WITH RECURSIVE chain(id) AS (SELECT ?2 UNION "
      "SELECT t.parent_id FROM tasks t JOIN chain c ON t.id = c.id WHERE t.parent_id IS NOT NULL) "
      "SELECT 1 FROM chain WHERE id = ?1 LIMIT 1");
  s.bind(1, ancestor).bind(2, task);
  return s.step();
}

Result<std::vector<std::string>> Tx::project_task_ids(std::string_view project_id) {
  TM_SQLITE_PREPARE(s, c_, "SELECT id FROM tasks WHERE project_id = ?1 ORDER BY rid");
  s.bind(1, project_id);
  std::vector<std::string> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) break;
    out.push_back(s.text(0));
  }
  return out;
}

// ---- comments
Result<std::vector<Comment>> Tx::list_comments(std::string_view task_id, const PageQuery& q) {
  std::string sql = "SELECT id, task_id, author, body, created_at FROM comments WHERE task_id = ?1";
  if (q.after) sql += " AND (created_at, id) > (?3, ?4)";
  sql += " ORDER BY created_at, id LIMIT ?2";
  TM_SQLITE_PREPARE(s, c_, sql);
  s.bind(1, task_id).bind(2, q.limit);
  if (q.after) s.bind(3, q.after->key).bind(4, q.after->id);
  std::vector<Comment> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) break;
    out.push_back(Comment{s.text(0), s.text(1), s.opt_text(2), s.text(3), s.i64(4)});
  }
  return out;
}

Result<std::optional<Comment>> Tx::get_comment(std::string_view task_id, std::string_view id) {
  TM_SQLITE_PREPARE(
      s, c_, "SELECT id, task_id, author, body, created_at FROM comments WHERE id = ?1 AND task_id = ?2");
  s.bind(1, id).bind(2, task_id);
  auto r = s.step();
  if (!r) return r.take_error();
  if (!*r) return std::optional<Comment>();
  return std::optional<Comment>(Comment{s.text(0), s.text(1), s.opt_text(2), s.text(3), s.i64(4)});
}

// ---- idempotency
Result<std::optional<IdempotencyRecord>> Tx::get_idempotency(std::string_view key) {
  TM_SQLITE_PREPARE(
      s, c_,
      "SELECT key, fingerprint, status, body, headers, created_at, expires_at FROM idempotency_keys "
      "WHERE key = ?1");
  s.bind(1, key);
  auto r = s.step();
  if (!r) return r.take_error();
  if (!*r) return std::optional<IdempotencyRecord>();
  IdempotencyRecord rec{s.text(0), s.text(1), static_cast<int>(s.i64(2)), s.text(3), s.text(4),
                        s.i64(5),  s.i64(6)};
  if (rec.status < 100 || rec.status > 599) return corrupt("status", rec.key);
  return std::optional<IdempotencyRecord>(std::move(rec));
}

// ---- writes
Status Tx::insert_project(const Project& p) {
  TM_SQLITE_PREPARE(
      s, c_,
      "INSERT INTO projects (id, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  s.bind(1, p.id).bind(2, p.name).bind(3, p.description).bind(4, p.created_at).bind(5, p.updated_at);
  return s.run();
}

Status Tx::update_project(const Project& p) {
  TM_SQLITE_PREPARE(s, c_, "UPDATE projects SET name = ?2, description = ?3, updated_at = ?4 WHERE id = ?1");
  s.bind(1, p.id).bind(2, p.name).bind(3, p.description).bind(4, p.updated_at);
  TM_SQLITE_TRY(s.run());
  if (s.changes() != 1) return Error::make(ErrorCode::kNotFound, "project not found");
  return {};
}

Status Tx::delete_project(std::string_view id) {
  TM_SQLITE_PREPARE(s, c_, "DELETE FROM projects WHERE id = ?1");
  s.bind(1, id);
  if (auto st = s.run(); !st) {
    Error e = st.take_error();
    if (e.code == ErrorCode::kUnprocessable) e.code = ErrorCode::kConflict;  // tasks still reference it
    return e;
  }
  if (s.changes() != 1) return Error::make(ErrorCode::kNotFound, "project not found");
  return {};
}

Status Tx::insert_task(const Task& t) {
  TM_SQLITE_PREPARE(
      s, c_,
      "INSERT INTO tasks (id, project_id, parent_id, title, description, status, priority, assignee, "
      "due_at, created_at, updated_at, completed_at, version) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  bind_task(s, t);
  s.bind(10, t.created_at);
  TM_SQLITE_TRY(s.run());
  fts_job_.push_back({sqlite3_last_insert_rowid(c_.db()), true});
  return write_lists(t, false);
}

Status Tx::update_task(const Task& t) {
  TM_SQLITE_PREPARE(
      s, c_,
      "UPDATE tasks SET project_id = ?2, parent_id = ?3, title = ?4, description = ?5, status = ?6, "
      "priority = ?7, assignee = ?8, due_at = ?9, updated_at = ?11, completed_at = ?12, version = ?13 "
      "WHERE id = ?1 RETURNING rid");
  bind_task(s, t);
  auto row = s.step();
  if (!row) return row.take_error();
  if (!*row) return Error::make(ErrorCode::kNotFound, "task not found");
  fts_job_.push_back({s.i64(0), false});
  TM_SQLITE_TRY(s.run());  // finish the statement
  return write_lists(t, true);
}

Status Tx::delete_task(std::string_view id, TimeMs now) {
  {
    TM_SQLITE_PREPARE(s, c_,
                      "UPDATE tasks SET version = version + 1, updated_at = ?2 "
                      "WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = ?1) AND id <> ?1");
    s.bind(1, id).bind(2, now);
    TM_SQLITE_TRY(s.run());
  }
  {
    TM_SQLITE_PREPARE(
        s, c_,
        "UPDATE tasks SET parent_id = NULL, version = version + 1, updated_at = ?2 WHERE parent_id = ?1");
    s.bind(1, id).bind(2, now);
    TM_SQLITE_TRY(s.run());
  }
  TM_SQLITE_PREPARE(s, c_, "DELETE FROM tasks WHERE id = ?1 RETURNING rid");
  s.bind(1, id);
  auto row = s.step();
  if (!row) return row.take_error();
  if (!*row) return Error::make(ErrorCode::kNotFound, "task not found");
  fts_job_.push_back({s.i64(0), false});
  TM_SQLITE_TRY(s.run());
  return {};
}

Status Tx::insert_comment(const Comment& c) {
  TM_SQLITE_PREPARE(
      s, c_, "INSERT INTO comments (id, task_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  s.bind(1, c.id).bind(2, c.task_id).bind(3, c.author).bind(4, c.body).bind(5, c.created_at);
  return s.run();
}

Status Tx::put_idempotency(const IdempotencyRecord& r) {
  TM_SQLITE_PREPARE(
      s, c_,
      "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, status, body, headers, created_at, "
      "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  s.bind(1, r.key).bind(2, r.fingerprint).bind(3, r.status).bind(4, r.body).bind(5, r.headers_json);
  s.bind(6, r.created_at).bind(7, r.expires_at);
  return s.run();
}

Result<std::int64_t> Tx::purge_idempotency(TimeMs now) {
  TM_SQLITE_PREPARE(s, c_, "DELETE FROM idempotency_keys WHERE expires_at <= ?1");
  s.bind(1, now);
  TM_SQLITE_TRY(s.run());
  return static_cast<std::int64_t>(s.changes());
}

Result<std::vector<Task>> Tx::collect_tasks(Stmt& s) {
  std::vector<Task> out;
  while (true) {
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) break;
    auto t = task_row(s);
    if (!t) return t.take_error();
    out.push_back(std::move(*t));
  }
  TM_SQLITE_TRY(load_lists(out));
  return out;
}

// Labels and dependencies of a page of tasks: one query each, whatever the page size. One task (get_task,
// every write's answer) is looked up by key: `IN (SELECT value FROM json_each(?1))` makes SQLite build the
// list as an ephemeral b-tree first (EXPLAIN QUERY PLAN: LIST SUBQUERY), two zeroed pages per query,
// which cost more than the index search itself.
Status Tx::load_lists(std::vector<Task>& tasks) {
  if (tasks.empty()) return {};
  if (tasks.size() == 1) {
    Task& t = tasks.front();
    {
      TM_SQLITE_PREPARE(s, c_, "SELECT label FROM task_labels WHERE task_id = ?1 ORDER BY pos");
      s.bind(1, t.id);
      while (true) {
        auto r = s.step();
        if (!r) return r.take_error();
        if (!*r) break;
        t.labels.push_back(s.text(0));
      }
    }
    TM_SQLITE_PREPARE(s, c_, "SELECT depends_on FROM task_deps WHERE task_id = ?1 ORDER BY pos");
    s.bind(1, t.id);
    while (true) {
      auto r = s.step();
      if (!r) return r.take_error();
      if (!*r) break;
      t.depends_on.push_back(s.text(0));
    }
    return {};
  }
  std::unordered_map<std::string_view, Task*> by_id;
  std::vector<std::string> ids;
  ids.reserve(tasks.size());
  for (auto& t : tasks) {
    by_id.emplace(t.id, &t);
    ids.push_back(t.id);
  }
  const std::string ids_json = json_array(ids);
  {
    TM_SQLITE_PREPARE(
        s, c_,
        "SELECT task_id, label FROM task_labels WHERE task_id IN (SELECT value FROM json_each(?1)) "
        "ORDER BY task_id, pos");
    s.bind(1, ids_json);
    while (true) {
      auto r = s.step();
      if (!r) return r.take_error();
      if (!*r) break;
      if (auto it = by_id.find(s.text(0)); it != by_id.end()) it->second->labels.push_back(s.text(1));
    }
  }
  TM_SQLITE_PREPARE(
      s, c_,
      "SELECT task_id, depends_on FROM task_deps WHERE task_id IN (SELECT value FROM json_each(?1)) "
      "ORDER BY task_id, pos");
  s.bind(1, ids_json);
  while (true) {
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) break;
    if (auto it = by_id.find(s.text(0)); it != by_id.end()) it->second->depends_on.push_back(s.text(1));
  }
  return {};
}

Status Tx::write_lists(const Task& t, bool replace) {
  if (replace) {
    TM_SQLITE_PREPARE(dl, c_, "DELETE FROM task_labels WHERE task_id = ?1");
    dl.bind(1, t.id);
    TM_SQLITE_TRY(dl.run());
    TM_SQLITE_PREPARE(dd, c_, "DELETE FROM task_deps WHERE task_id = ?1");
    dd.bind(1, t.id);
    TM_SQLITE_TRY(dd.run());
  }
  for (std::size_t i = 0; i < t.labels.size(); ++i) {
    TM_SQLITE_PREPARE(s, c_, "INSERT INTO task_labels (task_id, pos, label) VALUES (?1, ?2, ?3)");
    s.bind(1, t.id).bind(2, static_cast<std::int64_t>(i)).bind(3, t.labels[i]);
    TM_SQLITE_TRY(s.run());
  }
  for (std::size_t i = 0; i < t.depends_on.size(); ++i) {
    TM_SQLITE_PREPARE(s, c_, "INSERT INTO task_deps (task_id, pos, depends_on) VALUES (?1, ?2, ?3)");
    s.bind(1, t.id).bind(2, static_cast<std::int64_t>(i)).bind(3, t.depends_on[i]);
    TM_SQLITE_TRY(s.run());
  }
  return {};
}

}  // namespace taskman::store::sqlite
