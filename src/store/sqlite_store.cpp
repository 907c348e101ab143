#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "core/text.hpp"

namespace taskman::store {
namespace {

// Versioned schema. Append only: a released migration is never edited.
struct Migration {
  int version;
  const char* sql;
};

constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE projects (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX projects_created ON projects(created_at, id);
CREATE TABLE tasks (
  rid INTEGER PRIMARY KEY,  -- rowid alias, the FTS5 content rowid
  id TEXT NOT NULL UNIQUE,
  project_id TEXT REFERENCES projects(id),
  parent_id TEXT REFERENCES tasks(id),
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  assignee TEXT,
  due_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER,
  version INTEGER NOT NULL
);
CREATE INDEX tasks_created ON tasks(created_at, id);
CREATE INDEX tasks_updated ON tasks(updated_at, id);
CREATE INDEX tasks_project ON tasks(project_id, created_at, id);
CREATE INDEX tasks_parent ON tasks(parent_id);
CREATE INDEX tasks_status ON tasks(status, priority, created_at);
CREATE TABLE task_labels (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  label TEXT NOT NULL,
  PRIMARY KEY (task_id, pos)
);
CREATE INDEX task_labels_label ON task_labels(label, task_id);
CREATE TABLE task_deps (
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  depends_on TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, pos)
);
CREATE INDEX task_deps_target ON task_deps(depends_on);
CREATE TABLE comments (
  id TEXT PRIMARY KEY,
  task_id TEXT NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  author TEXT,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX comments_task ON comments(task_id, created_at, id);
CREATE TABLE idempotency_keys (
  key TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  headers TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency_keys(expires_at);
-- Full-text index over title + description, keyed by tasks.rid. Maintained by the writer once per
-- group commit rather than by triggers: FTS5 flushes its pending terms at every savepoint, which
-- made per-row triggers inside per-job savepoints cost 3x the whole insert.
CREATE VIRTUAL TABLE tasks_fts USING fts5(title, description);
)sql"},
};

constexpr std::int64_t kNullsLastAsc = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kNullsLastDesc = std::numeric_limits<std::int64_t>::min();

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string msg = std::string(what) + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (ext) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error::make(ErrorCode::kConflict, std::move(msg));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error::make(ErrorCode::kUnprocessable, std::move(msg));
    default:
      break;
  }
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN: {
      Error e = Error::make(ErrorCode::kUnavailable, "database unavailable: " + msg);
      e.retry_after_ms = 1000;
      return e;
    }
    default:
      return Error::make(ErrorCode::kInternal, "database error: " + msg);
  }
}

// A cached prepared statement, reset (and its bindings cleared) when the handle goes away.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }

  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // true: a row is available; false: done.
  Result<bool> step() {
    const int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, rc, "step");
  }
  Status run() {
    auto r = step();
    if (!r) return r.take_error();
    return {};
  }

  bool is_null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  std::string text(int c) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, c));
    return p == nullptr ? std::string()
                        : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, c)));
  }
  std::optional<std::string> opt_text(int c) const {
    if (is_null(c)) return std::nullopt;
    return text(c);
  }
  std::optional<std::int64_t> opt_i64(int c) const {
    if (is_null(c)) return std::nullopt;
    return i64(c);
  }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
};

// One connection with its statement cache. Used by one thread at a time.
class Conn {
 public:
  static Result<std::unique_ptr<Conn>> open(const std::string& path, bool reader) {
    // Memory statistics take a global mutex on every allocation; we never read them. Only possible
    // before SQLite initialises, hence once and ignoring "misuse" when someone was first.
    static std::once_flag once;
    std::call_once(once, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    auto conn = std::unique_ptr<Conn>(new Conn(db));
    if (rc != SQLITE_OK) return sqlite_error(db, rc, "open " + path);
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, 5000);
    // synchronous=FULL: a committed transaction survives power loss / kill -9 (SPEC §3 durability).
    std::string pragmas = "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY;";
    // Readers keep SQLite's default 2 MiB page cache (RSS budget, SPEC §9); the writer gets 8 MiB for
    // the index pages every insert touches.
    pragmas += reader ? "PRAGMA query_only=ON;" : "PRAGMA cache_size=-8192;";
    if (auto st = conn->exec(pragmas); !st) return st.take_error();
    return conn;
  }
  ~Conn() {
    for (auto& [sql, s] : cache_) sqlite3_finalize(s);
    if (db_ != nullptr) sqlite3_close_v2(db_);
  }

  sqlite3* db() const { return db_; }

  Status exec(const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      Error e = sqlite_error(db_, rc, "exec");
      e.message += " (" + msg + ")";
      return e;
    }
    return {};
  }

  // A cached single statement without parameters (transaction control on the hot path).
  Status run_cached(const std::string& sql) {
    auto s = prepare(sql);
    if (!s) return s.take_error();
    Stmt st(db_, *s);
    return st.run();
  }

  // Statements are cached by their text; dynamic list queries have a bounded number of shapes.
  Result<sqlite3_stmt*> prepare(const std::string& sql) {
    if (auto it = cache_.find(sql); it != cache_.end()) return it->second;
    sqlite3_stmt* s = nullptr;
    const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare");
    cache_.emplace(sql, s);
    return s;
  }

 private:
  explicit Conn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Early-return helpers for Result-returning code (no exceptions on expected failures); local to this
// file and undefined at its end.
#define TM_PREPARE(var, conn, sql)           \
  auto var##_p = (conn).prepare(sql);        \
  if (!var##_p) return var##_p.take_error(); \
  Stmt var((conn).db(), *var##_p)

#define TM_TRY(expr)                                      \
  do {                                                    \
    if (auto _st = (expr); !_st) return _st.take_error(); \
  } while (0)

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

class SqliteTx final : public WriteTx {
 public:
  explicit SqliteTx(Conn& c) : c_(c) {}

  // Full-text maintenance is deferred to the end of the batch (see the schema): each job's touched
  // rows are kept only if the job's savepoint is kept.
  void begin_job() { fts_job_.clear(); }
  void end_job(bool kept) {
    if (kept) fts_batch_.insert(fts_batch_.end(), fts_job_.begin(), fts_job_.end());
    fts_job_.clear();
  }
  // One statement per kind for the whole batch: FTS5 syncs its pending terms per statement, so
  // row-at-a-time statements cost ~10 µs each where one set-based statement costs ~1 µs per row.
  Status flush_fts() {
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
      TM_PREPARE(d, c_, "DELETE FROM tasks_fts WHERE rowid IN (SELECT value FROM json_each(?1))");
      d.bind(1, stale);
      TM_TRY(d.run());
    }
    TM_PREPARE(i, c_,
               "INSERT INTO tasks_fts (rowid, title, description) SELECT rid, title, description FROM tasks "
               "WHERE rid IN (SELECT DISTINCT value FROM json_each(?1))");
    i.bind(1, all);
    return i.run();
  }

  Status select_one() {
    TM_PREPARE(s, c_, "SELECT 1");
    return s.run();
  }

  // ---- projects
  Result<std::optional<Project>> get_project(std::string_view id) override {
    TM_PREPARE(s, c_, "SELECT id, name, description, created_at, updated_at FROM projects WHERE id = ?1");
    s.bind(1, id);
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) return std::optional<Project>();
    return std::optional<Project>(project_row(s));
  }

  Result<std::vector<Project>> list_projects(const PageQuery& q) override {
    std::string sql = "SELECT id, name, description, created_at, updated_at FROM projects";
    if (q.after) sql += " WHERE (created_at, id) > (?2, ?3)";
    sql += " ORDER BY created_at, id LIMIT ?1";
    TM_PREPARE(s, c_, sql);
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

  Result<std::int64_t> count_project_tasks(std::string_view project_id) override {
    TM_PREPARE(s, c_, "SELECT count(*) FROM tasks WHERE project_id = ?1");
    s.bind(1, project_id);
    auto r = s.step();
    if (!r) return r.take_error();
    return s.i64(0);
  }

  // ---- tasks
  Result<std::optional<Task>> get_task(std::string_view id) override {
    TM_PREPARE(s, c_, std::string("SELECT ") + kTaskColumns + " FROM tasks t WHERE t.id = ?1");
    s.bind(1, id);
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) return std::optional<Task>();
    auto t = task_row(s);
    if (!t) return t.take_error();
    std::vector<Task> one{std::move(*t)};
    TM_TRY(load_lists(one));
    return std::optional<Task>(std::move(one[0]));
  }

  Result<std::vector<std::string>> existing_task_ids(const std::vector<std::string>& ids) override {
    TM_PREPARE(s, c_, "SELECT id FROM tasks WHERE id IN (SELECT value FROM json_each(?1))");
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

  Result<std::vector<Task>> list_tasks(const TaskListQuery& q) override {
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
      add("(" + key + ", t.id) " + (q.descending ? "<" : ">") + " (" + p(q.after->key) + ", " +
          p(q.after->id) + ")");
    }
    std::string sql = std::string("SELECT ") + kTaskColumns + " FROM tasks t" + where + " ORDER BY " + key +
                      " " + dir + ", t.id " + dir + " LIMIT " + p(static_cast<std::int64_t>(q.limit));
    TM_PREPARE(s, c_, sql);
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

  Result<std::optional<Task>> next_task(const std::optional<std::string>& project_id,
                                        const std::optional<std::string>& assignee) override {
    std::string sql = std::string("SELECT ") + kTaskColumns +
                      " FROM tasks t WHERE t.status = 'todo'"
                      " AND NOT EXISTS (SELECT 1 FROM task_deps d JOIN tasks u ON u.id = d.depends_on"
                      " WHERE d.task_id = t.id AND u.status <> 'done')";
    if (project_id) sql += " AND t.project_id = ?2";
    if (assignee) sql += " AND t.assignee = ?3";
    sql += " ORDER BY t.priority, coalesce(t.due_at, ?1), t.created_at, t.id LIMIT 1";
    TM_PREPARE(s, c_, sql);
    s.bind(1, kNullsLastAsc);
    if (project_id) s.bind(2, *project_id);
    if (assignee) s.bind(3, *assignee);
    auto tasks = collect_tasks(s);
    if (!tasks) return tasks.take_error();
    if (tasks->empty()) return std::optional<Task>();
    return std::optional<Task>(std::move(tasks->front()));
  }

  Result<bool> depends_transitively(const std::vector<std::string>& from, std::string_view target) override {
    // UNION (not UNION ALL) de-duplicates, so the walk ends even if the graph already had a cycle.
    TM_PREPARE(s, c_,
               "WITH RECURSIVE reach(id) AS (SELECT value FROM json_each(?1) UNION "
               "SELECT d.depends_on FROM task_deps d JOIN reach r ON d.task_id = r.id) "
               "SELECT 1 FROM reach WHERE id = ?2 LIMIT 1");
    s.bind(1, json_array(from)).bind(2, target);
    return s.step();
  }

  Result<bool> is_ancestor_or_self(std::string_view ancestor, std::string_view task) override {
    TM_PREPARE(s, c_,
               "WITH RECURSIVE chain(id) AS (SELECT ?2 UNION "
               "SELECT t.parent_id FROM tasks t JOIN chain c ON t.id = c.id WHERE t.parent_id IS NOT NULL) "
               "SELECT 1 FROM chain WHERE id = ?1 LIMIT 1");
    s.bind(1, ancestor).bind(2, task);
    return s.step();
  }

  Result<std::vector<std::string>> project_task_ids(std::string_view project_id) override {
    TM_PREPARE(s, c_, "SELECT id FROM tasks WHERE project_id = ?1 ORDER BY rid");
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
  Result<std::vector<Comment>> list_comments(std::string_view task_id, const PageQuery& q) override {
    std::string sql = "SELECT id, task_id, author, body, created_at FROM comments WHERE task_id = ?1";
    if (q.after) sql += " AND (created_at, id) > (?3, ?4)";
    sql += " ORDER BY created_at, id LIMIT ?2";
    TM_PREPARE(s, c_, sql);
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

  Result<std::optional<Comment>> get_comment(std::string_view task_id, std::string_view id) override {
    TM_PREPARE(s, c_,
               "SELECT id, task_id, author, body, created_at FROM comments WHERE id = ?1 AND task_id = ?2");
    s.bind(1, id).bind(2, task_id);
    auto r = s.step();
    if (!r) return r.take_error();
    if (!*r) return std::optional<Comment>();
    return std::optional<Comment>(Comment{s.text(0), s.text(1), s.opt_text(2), s.text(3), s.i64(4)});
  }

  // ---- idempotency
  Result<std::optional<IdempotencyRecord>> get_idempotency(std::string_view key) override {
    TM_PREPARE(s, c_,
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
  Status insert_project(const Project& p) override {
    TM_PREPARE(
        s, c_,
        "INSERT INTO projects (id, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, p.id).bind(2, p.name).bind(3, p.description).bind(4, p.created_at).bind(5, p.updated_at);
    return s.run();
  }

  Status update_project(const Project& p) override {
    TM_PREPARE(s, c_, "UPDATE projects SET name = ?2, description = ?3, updated_at = ?4 WHERE id = ?1");
    s.bind(1, p.id).bind(2, p.name).bind(3, p.description).bind(4, p.updated_at);
    TM_TRY(s.run());
    if (s.changes() != 1) return Error::make(ErrorCode::kNotFound, "project not found");
    return {};
  }

  Status delete_project(std::string_view id) override {
    TM_PREPARE(s, c_, "DELETE FROM projects WHERE id = ?1");
    s.bind(1, id);
    if (auto st = s.run(); !st) {
      Error e = st.take_error();
      if (e.code == ErrorCode::kUnprocessable) e.code = ErrorCode::kConflict;  // tasks still reference it
      return e;
    }
    if (s.changes() != 1) return Error::make(ErrorCode::kNotFound, "project not found");
    return {};
  }

  Status insert_task(const Task& t) override {
    TM_PREPARE(
        s, c_,
        "INSERT INTO tasks (id, project_id, parent_id, title, description, status, priority, assignee, "
        "due_at, created_at, updated_at, completed_at, version) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
    bind_task(s, t);
    s.bind(10, t.created_at);
    TM_TRY(s.run());
    fts_job_.push_back({sqlite3_last_insert_rowid(c_.db()), true});
    return write_lists(t, false);
  }

  Status update_task(const Task& t) override {
    TM_PREPARE(
        s, c_,
        "UPDATE tasks SET project_id = ?2, parent_id = ?3, title = ?4, description = ?5, status = ?6, "
        "priority = ?7, assignee = ?8, due_at = ?9, updated_at = ?11, completed_at = ?12, version = ?13 "
        "WHERE id = ?1 RETURNING rid");
    bind_task(s, t);
    auto row = s.step();
    if (!row) return row.take_error();
    if (!*row) return Error::make(ErrorCode::kNotFound, "task not found");
    fts_job_.push_back({s.i64(0), false});
    TM_TRY(s.run());  // finish the statement
    return write_lists(t, true);
  }

  Status delete_task(std::string_view id, TimeMs now) override {
    {
      TM_PREPARE(s, c_,
                 "UPDATE tasks SET version = version + 1, updated_at = ?2 "
                 "WHERE id IN (SELECT task_id FROM task_deps WHERE depends_on = ?1) AND id <> ?1");
      s.bind(1, id).bind(2, now);
      TM_TRY(s.run());
    }
    {
      TM_PREPARE(
          s, c_,
          "UPDATE tasks SET parent_id = NULL, version = version + 1, updated_at = ?2 WHERE parent_id = ?1");
      s.bind(1, id).bind(2, now);
      TM_TRY(s.run());
    }
    TM_PREPARE(s, c_, "DELETE FROM tasks WHERE id = ?1 RETURNING rid");
    s.bind(1, id);
    auto row = s.step();
    if (!row) return row.take_error();
    if (!*row) return Error::make(ErrorCode::kNotFound, "task not found");
    fts_job_.push_back({s.i64(0), false});
    TM_TRY(s.run());
    return {};
  }

  Status insert_comment(const Comment& c) override {
    TM_PREPARE(s, c_,
               "INSERT INTO comments (id, task_id, author, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
    s.bind(1, c.id).bind(2, c.task_id).bind(3, c.author).bind(4, c.body).bind(5, c.created_at);
    return s.run();
  }

  Status put_idempotency(const IdempotencyRecord& r) override {
    TM_PREPARE(
        s, c_,
        "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, status, body, headers, created_at, "
        "expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    s.bind(1, r.key).bind(2, r.fingerprint).bind(3, r.status).bind(4, r.body).bind(5, r.headers_json);
    s.bind(6, r.created_at).bind(7, r.expires_at);
    return s.run();
  }

  Result<std::int64_t> purge_idempotency(TimeMs now) override {
    TM_PREPARE(s, c_, "DELETE FROM idempotency_keys WHERE expires_at <= ?1");
    s.bind(1, now);
    TM_TRY(s.run());
    return static_cast<std::int64_t>(s.changes());
  }

 private:
  static Project project_row(const Stmt& s) {
    return Project{s.text(0), s.text(1), s.text(2), s.i64(3), s.i64(4)};
  }

  // Column order of kTaskColumns. Values the domain could never have written are reported as
  // internal errors instead of being trusted.
  static Result<Task> task_row(const Stmt& s) {
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

  static void bind_task(Stmt& s, const Task& t) {
    s.bind(1, t.id).bind(2, t.project_id).bind(3, t.parent_id).bind(4, t.title).bind(5, t.description);
    s.bind(6, to_string(t.status)).bind(7, static_cast<std::int64_t>(t.priority)).bind(8, t.assignee);
    s.bind(9, t.due_at).bind(11, t.updated_at).bind(12, t.completed_at).bind(13, t.version);
  }

  Result<std::vector<Task>> collect_tasks(Stmt& s) {
    std::vector<Task> out;
    while (true) {
      auto r = s.step();
      if (!r) return r.take_error();
      if (!*r) break;
      auto t = task_row(s);
      if (!t) return t.take_error();
      out.push_back(std::move(*t));
    }
    TM_TRY(load_lists(out));
    return out;
  }

  // Labels and dependencies of a page of tasks: one query each, whatever the page size.
  Status load_lists(std::vector<Task>& tasks) {
    if (tasks.empty()) return {};
    std::unordered_map<std::string_view, Task*> by_id;
    std::vector<std::string> ids;
    ids.reserve(tasks.size());
    for (auto& t : tasks) {
      by_id.emplace(t.id, &t);
      ids.push_back(t.id);
    }
    const std::string ids_json = json_array(ids);
    {
      TM_PREPARE(s, c_,
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
    TM_PREPARE(s, c_,
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

  Status write_lists(const Task& t, bool replace) {
    if (replace) {
      TM_PREPARE(dl, c_, "DELETE FROM task_labels WHERE task_id = ?1");
      dl.bind(1, t.id);
      TM_TRY(dl.run());
      TM_PREPARE(dd, c_, "DELETE FROM task_deps WHERE task_id = ?1");
      dd.bind(1, t.id);
      TM_TRY(dd.run());
    }
    for (std::size_t i = 0; i < t.labels.size(); ++i) {
      TM_PREPARE(s, c_, "INSERT INTO task_labels (task_id, pos, label) VALUES (?1, ?2, ?3)");
      s.bind(1, t.id).bind(2, static_cast<std::int64_t>(i)).bind(3, t.labels[i]);
      TM_TRY(s.run());
    }
    for (std::size_t i = 0; i < t.depends_on.size(); ++i) {
      TM_PREPARE(s, c_, "INSERT INTO task_deps (task_id, pos, depends_on) VALUES (?1, ?2, ?3)");
      s.bind(1, t.id).bind(2, static_cast<std::int64_t>(i)).bind(3, t.depends_on[i]);
      TM_TRY(s.run());
    }
    return {};
  }

  Conn& c_;
  std::vector<std::pair<std::int64_t, bool>> fts_job_;    // (rid, newly inserted) of the running job
  std::vector<std::pair<std::int64_t, bool>> fts_batch_;  // of the kept jobs of this batch
};

Result<int> current_version(Conn& c) {
  TM_TRY(
      c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER "
             "NOT NULL)"));
  TM_PREPARE(s, c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  auto r = s.step();
  if (!r) return r.take_error();
  return static_cast<int>(s.i64(0));
}

// Applies every pending migration in one IMMEDIATE transaction, so concurrent migrators serialise.
Result<int> apply_migrations(Conn& c) {
  TM_TRY(c.run_cached("BEGIN IMMEDIATE"));
  auto fail = [&](Error e) -> Result<int> {
    (void)c.exec("ROLLBACK");
    return e;
  };
  auto version = current_version(c);
  if (!version) return fail(version.take_error());
  const int known = sqlite_schema_version();
  if (*version > known) {
    return fail(Error::make(ErrorCode::kInternal, "database schema version " + std::to_string(*version) +
                                                      " is newer than this build (" + std::to_string(known) +
                                                      ")"));
  }
  int v = *version;
  for (const auto& m : kMigrations) {
    if (m.version <= v) continue;
    if (auto st = c.exec(m.sql); !st) return fail(st.take_error());
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (auto st = c.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                         std::to_string(m.version) + ", " + std::to_string(now) + ")");
        !st) {
      return fail(st.take_error());
    }
    v = m.version;
  }
  if (auto st = c.run_cached("COMMIT"); !st) return fail(st.take_error());
  return v;
}

Status prepare_file(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    return Error::make(ErrorCode::kUnavailable,
                       "cannot create directory " + parent.string() + ": " + ec.message());
  return {};
}

Result<std::unique_ptr<Conn>> open_writer(const std::string& path) {
  TM_TRY(prepare_file(path));
  auto c = Conn::open(path, false);
  if (!c) return c.take_error();
  // WAL is persistent in the file; readers then never block the writer, nor it them.
  TM_TRY((*c)->exec("PRAGMA journal_mode=WAL"));
  return c;
}

// The store: one writer thread (group commit) and a pool of reader threads.
class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Conn> writer, std::vector<std::unique_ptr<Conn>> readers,
              std::unique_ptr<Conn> ping, const StoreOptions& o)
      : writer_(std::move(writer)),
        readers_(std::move(readers)),
        ping_conn_(std::move(ping)),
        max_batch_(std::max<std::size_t>(1, o.max_batch)),
        max_queue_(std::max<std::size_t>(1, o.max_queue)),
        offload_callbacks_(o.offload_callbacks),
        observer_(o.observer) {
    writer_thread_ = std::thread([this] { writer_loop(); });
    completion_thread_ = std::thread([this] { completion_loop(); });
    for (auto& r : readers_) reader_threads_.emplace_back([this, conn = r.get()] { reader_loop(*conn); });
  }
  ~SqliteStore() override { close(); }

  // SELECT 1 on its own connection: microseconds, bounded by a short busy timeout, and independent of
  // the reader queue (health checks run on I/O threads).
  Status ping_sync(std::chrono::milliseconds timeout) override {
    std::lock_guard lk(ping_mu_);
    if (!ping_conn_) return closed_error();
    sqlite3_busy_timeout(ping_conn_->db(), static_cast<int>(std::min<std::int64_t>(timeout.count(), 100)));
    return SqliteTx(*ping_conn_).select_one();
  }

  void ping(std::function<void(Status)> done) override {
    submit_read([done = std::move(done)](ReadTx* tx, const Error* err) {
      if (err != nullptr) return done(*err);
      done(static_cast<SqliteTx*>(tx)->select_one());
    });
  }

  Stats stats() const override {
    std::lock_guard lk(stats_mu_);
    return stats_;
  }

  void close() override {
    {
      std::scoped_lock lk(wmu_, rmu_);
      if (closed_) return;
      closed_ = true;
    }
    wcv_.notify_all();
    rcv_.notify_all();
    if (writer_thread_.joinable()) writer_thread_.join();
    {
      std::lock_guard lk(cmu_);
      writer_done_ = true;
    }
    ccv_.notify_all();
    if (completion_thread_.joinable()) completion_thread_.join();
    for (auto& t : reader_threads_) {
      if (t.joinable()) t.join();
    }
    writer_.reset();
    readers_.clear();
    std::lock_guard lk(ping_mu_);
    ping_conn_.reset();
  }

 protected:
  // A full queue is refused at once (503 + Retry-After) rather than letting memory and latency grow
  // without bound; the refusal runs the callback on the caller's thread.
  void submit_read(std::function<void(ReadTx*, const Error*)> job) override {
    bool closed = false;
    {
      std::lock_guard lk(rmu_);
      closed = closed_;
      if (!closed && rq_.size() < max_queue_) {
        rq_.push_back(std::move(job));
        rcv_.notify_one();
        return;
      }
    }
    const Error e = closed ? closed_error() : overloaded_error();
    job(nullptr, &e);
  }

  void submit_write(WriteJob job) override {
    bool closed = false;
    {
      std::lock_guard lk(wmu_);
      closed = closed_;
      if (!closed && wq_.size() < max_queue_) {
        wq_.push_back(std::move(job));
        wcv_.notify_one();
        return;
      }
    }
    const Error e = closed ? closed_error() : overloaded_error();
    job.complete(&e);
  }

 private:
  static Error overloaded_error() {
    Error e = Error::make(ErrorCode::kUnavailable, "database overloaded: too many queued requests");
    e.retry_after_ms = 1000;
    return e;
  }

  static Error closed_error() {
    Error e = Error::make(ErrorCode::kUnavailable, "database is shutting down");
    e.retry_after_ms = 1000;
    return e;
  }

  void reader_loop(Conn& conn) {
    SqliteTx tx(conn);
    while (true) {
      std::function<void(ReadTx*, const Error*)> job;
      {
        std::unique_lock lk(rmu_);
        rcv_.wait(lk, [&] { return closed_ || !rq_.empty(); });
        if (rq_.empty()) return;  // closed and drained
        job = std::move(rq_.front());
        rq_.pop_front();
      }
      // One read transaction per job: every query of the job sees the same snapshot.
      if (auto st = conn.run_cached("BEGIN"); !st) {
        run_guarded([&] { job(nullptr, &st.error()); });
        continue;
      }
      const auto start = std::chrono::steady_clock::now();
      run_guarded([&] { job(&tx, nullptr); });
      (void)conn.run_cached("COMMIT");
      observe("read", start);
    }
  }

  void writer_loop() {
    SqliteTx tx(*writer_);
    std::vector<WriteJob> batch;
    while (true) {
      batch.clear();
      {
        std::unique_lock lk(wmu_);
        wcv_.wait(lk, [&] { return closed_ || !wq_.empty(); });
        if (wq_.empty()) return;  // closed and drained
        while (!wq_.empty() && batch.size() < max_batch_) {
          batch.push_back(std::move(wq_.front()));
          wq_.pop_front();
        }
      }
      run_batch(tx, batch);
    }
  }

  // Group commit: each job in its own savepoint, one COMMIT (one fsync) for the batch, then the
  // callbacks, so no caller hears "done" before its change is durable.
  void run_batch(SqliteTx& tx, std::vector<WriteJob>& batch) {
    Conn& c = *writer_;
    const auto start = std::chrono::steady_clock::now();
    if (auto st = c.run_cached("BEGIN IMMEDIATE"); !st) {
      for (auto& job : batch) run_guarded([&] { job.complete(&st.error()); });
      batch.clear();
      return;
    }
    for (auto& job : batch) {
      if (auto st = c.run_cached("SAVEPOINT job"); !st) {
        job.run = nullptr;
        continue;
      }
      bool keep = false;
      tx.begin_job();
      try {
        keep = job.run(tx);
      } catch (...) {
        keep = false;  // the job's callback reports that it did not run to completion
      }
      if (!keep) (void)c.run_cached("ROLLBACK TO job");
      (void)c.run_cached("RELEASE job");
      tx.end_job(keep);
    }
    Status commit = tx.flush_fts();
    const auto commit_start = std::chrono::steady_clock::now();
    if (commit) commit = c.run_cached("COMMIT");
    if (!commit) (void)c.exec("ROLLBACK");
    observe("commit", commit_start);
    observe("write_batch", start);
    {
      std::lock_guard lk(stats_mu_);
      if (commit) ++stats_.commits;
      stats_.writes += batch.size();
    }
    // The callbacks (encoding, answering) run here after the commit, or on the completion thread
    // when offloaded (see StoreOptions::offload_callbacks).
    Completion done{std::move(batch), commit ? std::nullopt : std::optional<Error>(commit.error())};
    batch.clear();
    if (!offload_callbacks_) {
      for (auto& job : done.jobs) run_guarded([&] { job.complete(done.error ? &*done.error : nullptr); });
      return;
    }
    {
      std::lock_guard lk(cmu_);
      cq_.push_back(std::move(done));
    }
    ccv_.notify_one();
  }

  struct Completion {
    std::vector<WriteJob> jobs;
    std::optional<Error> error;  // the commit failed
  };

  void completion_loop() {
    while (true) {
      Completion c;
      {
        std::unique_lock lk(cmu_);
        ccv_.wait(lk, [&] { return writer_done_ || !cq_.empty(); });
        if (cq_.empty()) return;  // the writer has finished and everything is answered
        c = std::move(cq_.front());
        cq_.pop_front();
      }
      for (auto& job : c.jobs) run_guarded([&] { job.complete(c.error ? &*c.error : nullptr); });
    }
  }

  void observe(const char* operation, std::chrono::steady_clock::time_point start) const {
    if (observer_) observer_(operation, std::chrono::steady_clock::now() - start);
  }

  template <class F>
  static void run_guarded(F&& f) {
    try {
      f();
    } catch (...) {
      // A throwing callback must not take the database thread down with it.
    }
  }

  std::unique_ptr<Conn> writer_;
  std::vector<std::unique_ptr<Conn>> readers_;
  std::mutex ping_mu_;  // guards ping_conn_
  std::unique_ptr<Conn> ping_conn_;
  const std::size_t max_batch_;
  const std::size_t max_queue_;
  const bool offload_callbacks_;
  const QueryObserver observer_;

  std::mutex wmu_;  // guards wq_, closed_ (with rmu_)
  std::condition_variable wcv_;
  std::deque<WriteJob> wq_;
  std::mutex rmu_;  // guards rq_
  std::condition_variable rcv_;
  std::deque<std::function<void(ReadTx*, const Error*)>> rq_;
  bool closed_ = false;

  mutable std::mutex stats_mu_;
  Stats stats_;

  std::mutex cmu_;  // guards cq_, writer_done_
  std::condition_variable ccv_;
  std::deque<Completion> cq_;
  bool writer_done_ = false;

  std::thread writer_thread_;
  std::thread completion_thread_;
  std::vector<std::thread> reader_threads_;
};

}  // namespace

#undef TM_PREPARE
#undef TM_TRY

int sqlite_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

Result<int> migrate_sqlite(const std::string& path) {
  auto c = open_writer(path);
  if (!c) return c.take_error();
  return apply_migrations(**c);
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path, const StoreOptions& options) {
  auto writer = open_writer(path);
  if (!writer) return writer.take_error();
  if (options.migrate) {
    auto v = apply_migrations(**writer);
    if (!v) return v.take_error();
  } else {
    auto v = current_version(**writer);
    if (!v) return v.take_error();
    if (*v != sqlite_schema_version()) {
      return Error::make(ErrorCode::kUnavailable,
                         "database schema is at version " + std::to_string(*v) + ", expected " +
                             std::to_string(sqlite_schema_version()) + ": run taskman migrate");
    }
  }
  std::vector<std::unique_ptr<Conn>> readers;
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    auto r = Conn::open(path, true);
    if (!r) return r.take_error();
    readers.push_back(std::move(*r));
  }
  auto ping = Conn::open(path, true);
  if (!ping) return ping.take_error();
  return std::unique_ptr<Store>(
      new SqliteStore(std::move(*writer), std::move(readers), std::move(*ping), options));
}

}  // namespace taskman::store
