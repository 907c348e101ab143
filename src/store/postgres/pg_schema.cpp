#include "store/postgres/pg_schema.hpp"

#include <chrono>
#include <iterator>
#include <string>

namespace taskman::store::postgres {
namespace {

// Advisory lock key of the migration (pg_advisory_xact_lock(bigint)); the two-int keys of the
// idempotency claims live in a separate key space.
constexpr const char* kMigrationLock = "7346122911";

// Versioned schema. Append only: a released migration is never edited.
struct Migration {
  int version;
  const char* sql;
};

// Ids compare byte-wise (COLLATE "C") like SQLite's, whatever the database's locale, so keyset
// cursors mean the same on both engines. Times are milliseconds since the epoch.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE projects (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX projects_created ON projects(created_at, id);
CREATE TABLE tasks (
  rid BIGINT GENERATED ALWAYS AS IDENTITY,  -- insertion order
  id TEXT COLLATE "C" PRIMARY KEY,
  project_id TEXT COLLATE "C" REFERENCES projects(id),
  parent_id TEXT COLLATE "C" REFERENCES tasks(id),
  title TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  assignee TEXT,
  due_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  completed_at BIGINT,
  version BIGINT NOT NULL,
  -- Full text over title + description; 'simple' (no stemming), like SQLite's unicode61 tokens.
  -- Generated, so it follows every insert, update, delete and rollback by itself.
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || description)) STORED
);
CREATE INDEX tasks_created ON tasks(created_at, id);
CREATE INDEX tasks_updated ON tasks(updated_at, id);
CREATE INDEX tasks_project ON tasks(project_id, created_at, id);
CREATE INDEX tasks_parent ON tasks(parent_id);
CREATE INDEX tasks_status ON tasks(status, priority, created_at);
CREATE INDEX tasks_search ON tasks USING GIN (search);
CREATE TABLE task_labels (
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  label TEXT NOT NULL,
  PRIMARY KEY (task_id, pos)
);
CREATE INDEX task_labels_label ON task_labels(label, task_id);
CREATE TABLE task_deps (
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  pos INTEGER NOT NULL,
  depends_on TEXT COLLATE "C" NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  PRIMARY KEY (task_id, pos)
);
CREATE INDEX task_deps_target ON task_deps(depends_on);
CREATE TABLE comments (
  id TEXT COLLATE "C" PRIMARY KEY,
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
  author TEXT,
  body TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX comments_task ON comments(task_id, created_at, id);
CREATE TABLE idempotency_keys (
  key TEXT COLLATE "C" PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL,
  body TEXT NOT NULL,
  headers TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX idempotency_expiry ON idempotency_keys(expires_at);
)sql"},
};

constexpr const char* kVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)";

}  // namespace

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

Result<int> current_version(PgConn& c) {
  auto exists = c.query("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists) return exists.take_error();
  if (!exists->boolean(0, 0)) return 0;
  auto r = c.query("SELECT coalesce(max(version), 0) FROM schema_migrations");
  if (!r) return r.take_error();
  return static_cast<int>(r->i64(0, 0));
}

Result<int> apply_migrations(PgConn& c) {
  // The lock is the transaction's: it goes with COMMIT or ROLLBACK, also when this process dies.
  if (auto st = c.exec(std::string("BEGIN; SELECT pg_advisory_xact_lock(") + kMigrationLock + "); " +
                       kVersionTable);
      !st) {
    (void)c.exec("ROLLBACK");
    return st.take_error();
  }
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
                                                      "): upgrade taskman"));
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
  if (auto st = c.exec("COMMIT"); !st) return fail(st.take_error());
  return v;
}

}  // namespace taskman::store::postgres
