#include "store/sqlite/sqlite_schema.hpp"

#include <chrono>
#include <iterator>
#include <string>

namespace taskman::store::sqlite {
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

}  // namespace

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

Result<int> current_version(Db& c) {
  TM_SQLITE_TRY(
      c.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER "
             "NOT NULL)"));
  TM_SQLITE_PREPARE(s, c, "SELECT coalesce(max(version), 0) FROM schema_migrations");
  auto r = s.step();
  if (!r) return r.take_error();
  return static_cast<int>(s.i64(0));
}

// Applies every pending migration in one IMMEDIATE transaction, so concurrent migrators serialise.
Result<int> apply_migrations(Db& c) {
  TM_SQLITE_TRY(c.run_cached("BEGIN IMMEDIATE"));
  auto fail = [&](Error e) -> Result<int> {
    (void)c.exec("ROLLBACK");
    return e;
  };
  auto version = current_version(c);
  if (!version) return fail(version.take_error());
  const int known = latest_schema_version();
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

}  // namespace taskman::store::sqlite
