#include "tasks/service.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace taskman::tasks {
namespace {

using store::ReadTx;
using store::WriteTx;

constexpr TimeMs kPurgeIntervalMs = 60'000;

Error not_found(std::string_view what, std::string_view id) {
  return Error::make(ErrorCode::kNotFound, std::string(what) + " " + std::string(id) + " not found");
}

// A row that must exist: the store's error, a 404 naming it, or the row.
template <class T>
Result<T> existing(Result<std::optional<T>> row, std::string_view what, std::string_view id) {
  if (!row) return row.take_error();
  if (!row->has_value()) return not_found(what, id);
  return std::move(**row);
}

Error version_mismatch(std::int64_t expected, std::int64_t current) {
  return Error::make(ErrorCode::kPreconditionFailed,
                     "version mismatch: If-Match names version " + std::to_string(expected) +
                         ", the task is at version " + std::to_string(current));
}

// 422 collecting every dangling or cyclic reference.
using Semantic = FieldErrors;

Status check_project_ref(ReadTx& tx, const std::optional<std::string>& project_id, Semantic& sem) {
  if (!project_id) return {};
  auto p = tx.get_project(*project_id);
  if (!p) return p.take_error();
  if (!p->has_value()) sem.add("project_id", "project " + *project_id + " does not exist");
  return {};
}

// `task_id` is empty for a task being created (it cannot be anyone's ancestor or dependency yet).
Status check_parent(ReadTx& tx, std::string_view task_id, const std::optional<std::string>& parent_id,
                    Semantic& sem) {
  if (!parent_id) return {};
  if (*parent_id == task_id) {
    sem.add("parent_id", "a task cannot be its own parent");
    return {};
  }
  auto exists = tx.existing_task_ids({*parent_id});
  if (!exists) return exists.take_error();
  if (exists->empty()) {
    sem.add("parent_id", "task " + *parent_id + " does not exist");
    return {};
  }
  if (!task_id.empty()) {
    auto cyc = tx.is_ancestor_or_self(task_id, *parent_id);
    if (!cyc) return cyc.take_error();
    if (*cyc) sem.add("parent_id", "task " + *parent_id + " is a descendant of this task (cycle)");
  }
  return {};
}

Status check_dependencies(ReadTx& tx, std::string_view task_id, const std::vector<std::string>& deps,
                          Semantic& sem) {
  if (deps.empty()) return {};
  auto existing = tx.existing_task_ids(deps);
  if (!existing) return existing.take_error();
  const std::set<std::string> have(existing->begin(), existing->end());
  bool all_exist = true;
  for (std::size_t i = 0; i < deps.size(); ++i) {
    const std::string field = "depends_on[" + std::to_string(i) + "]";
    if (deps[i] == task_id) {
      sem.add(field, "a task cannot depend on itself");
      all_exist = false;
    } else if (!have.count(deps[i])) {
      sem.add(field, "task " + deps[i] + " does not exist");
      all_exist = false;
    }
  }
  if (!all_exist || task_id.empty()) return {};
  auto cyc = tx.depends_transitively(deps, task_id);
  if (!cyc) return cyc.take_error();
  if (*cyc) sem.add("depends_on", "would create a dependency cycle through this task");
  return {};
}

// completed_at follows status (docs/api.md#task-rules): set on entering done, cleared on leaving it.
void apply_status(Task& t, TaskStatus next, TimeMs now) {
  if (next == TaskStatus::kDone && t.status != TaskStatus::kDone) t.completed_at = now;
  if (next != TaskStatus::kDone) t.completed_at.reset();
  t.status = next;
}

template <class T>
void set_if(std::optional<T>& field, const std::optional<std::optional<T>>& patch) {
  if (patch) field = *patch;
}

template <class T, class KeyFn>
Page<T> make_page(std::vector<T> rows, int limit, std::string_view tag, KeyFn key) {
  Page<T> page;
  if (rows.size() > static_cast<std::size_t>(limit)) {
    rows.resize(static_cast<std::size_t>(limit));
    page.next_cursor = make_cursor(tag, store::KeysetPosition{key(rows.back()), rows.back().id});
  }
  page.items = std::move(rows);
  return page;
}

}  // namespace

TimeMs system_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TaskService::TaskService(store::Store& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

template <class T>
void TaskService::create_idempotent(std::optional<Idempotency<T>> idem,
                                    std::function<Result<T>(WriteTx&, TimeMs)> create,
                                    Callback<Created<T>> done) {
  const TimeMs now = clock_();
  if (!idem) {
    store_.write<Created<T>>(
        [create = std::move(create), now](WriteTx& tx) -> Result<Created<T>> {
          auto v = create(tx, now);
          if (!v) return v.take_error();
          return Created<T>{std::move(*v), std::nullopt};
        },
        std::move(done));
    return;
  }
  bool purge = false;
  {
    std::lock_guard lk(mu_);
    if (auto it = in_flight_.find(idem->key); it != in_flight_.end()) {
      // The draft: a retry while the original is still being processed is a 409; a different
      // payload under the same key is a 422 whatever the state.
      Error e = it->second == idem->fingerprint
                    ? Error::make(ErrorCode::kConflict,
                                  "a request with this Idempotency-Key is still in progress; retry later")
                    : Error::make(ErrorCode::kUnprocessable,
                                  "Idempotency-Key was already used with a different request");
      if (e.code == ErrorCode::kConflict) e.retry_after_ms = 1000;
      done(std::move(e));
      return;
    }
    in_flight_.emplace(idem->key, idem->fingerprint);
    if (now - last_purge_ >= kPurgeIntervalMs) {
      last_purge_ = now;
      purge = true;
    }
  }
  const std::string key = idem->key;
  store_.write<Created<T>>(
      [idem = std::move(*idem), create = std::move(create), now, purge](WriteTx& tx) -> Result<Created<T>> {
        // Lazy expiry: keys older than 24 h are purged at most once a minute, and an expired record
        // found here is simply overwritten.
        if (purge) {
          auto n = tx.purge_idempotency(now);
          if (!n) return n.take_error();
        }
        // Another process on the same database may be running this key right now: in progress.
        auto claimed = tx.claim_idempotency(idem.key);
        if (!claimed) return claimed.take_error();
        if (!*claimed) {
          Error e = Error::make(ErrorCode::kConflict,
                                "a request with this Idempotency-Key is still in progress; retry later");
          e.retry_after_ms = 1000;
          return e;
        }
        auto rec = tx.get_idempotency(idem.key);
        if (!rec) return rec.take_error();
        if (rec->has_value() && (*rec)->expires_at > now) {
          const auto& r = **rec;
          if (r.fingerprint != idem.fingerprint) {
            return Error::make(ErrorCode::kUnprocessable,
                               "Idempotency-Key was already used with a different request");
          }
          return Created<T>{T{}, Reply{r.status, r.body, decode_headers(r.headers_json)}};
        }
        auto v = create(tx, now);
        if (!v) return v.take_error();  // failures are not stored: nothing changed, a retry may run again
        Reply reply = idem.make_reply(*v);
        store::IdempotencyRecord record{
            idem.key, idem.fingerprint,       reply.status, reply.body, encode_headers(reply.headers),
            now,      now + kIdempotencyTtlMs};
        if (auto st = tx.put_idempotency(record); !st) return st.take_error();
        return Created<T>{std::move(*v), std::nullopt};
      },
      [this, key, done = std::move(done)](Result<Created<T>> r) {
        {
          std::lock_guard lk(mu_);
          in_flight_.erase(key);
        }
        done(std::move(r));
      });
}

// ---------------------------------------------------------------- projects

void TaskService::create_project(const RequestContext&, ProjectInput in,
                                 std::optional<Idempotency<Project>> idem, Callback<Created<Project>> done) {
  auto create = [in = std::move(in)](WriteTx& tx, TimeMs now) -> Result<Project> {
    Project p{new_id(now), in.name.value_or(""), in.description.value_or(""), now, now};
    if (auto st = tx.insert_project(p); !st) {
      Error e = st.take_error();
      if (e.code == ErrorCode::kConflict) {
        return Error{ErrorCode::kConflict,
                     "a project named \"" + p.name + "\" already exists",
                     {{"name", "already exists"}}};
      }
      return e;
    }
    return p;
  };
  create_idempotent<Project>(std::move(idem), std::move(create), std::move(done));
}

void TaskService::get_project(const RequestContext&, std::string id, Callback<Project> done) {
  store_.read<Project>(
      [id = std::move(id)](ReadTx& tx) -> Result<Project> {
        return existing(tx.get_project(id), "project", id);
      },
      std::move(done));
}

void TaskService::list_projects(const RequestContext&, PageRequest page, Callback<Page<Project>> done) {
  store_.read<Page<Project>>(
      [page = std::move(page)](ReadTx& tx) -> Result<Page<Project>> {
        auto rows = tx.list_projects(store::PageQuery{page.after, page.limit + 1});
        if (!rows) return rows.take_error();
        return make_page(std::move(*rows), page.limit, kCreatedTag,
                         [](const Project& p) { return p.created_at; });
      },
      std::move(done));
}

void TaskService::update_project(const RequestContext&, std::string id, ProjectInput patch,
                                 Callback<Project> done) {
  const TimeMs now = clock_();
  store_.write<Project>(
      [id = std::move(id), patch = std::move(patch), now](WriteTx& tx) -> Result<Project> {
        auto cur = existing(tx.get_project(id), "project", id);
        if (!cur) return cur.take_error();
        Project p = *cur;
        if (patch.name) p.name = *patch.name;
        if (patch.description) p.description = *patch.description;
        if (p.name == cur->name && p.description == cur->description) return p;  // no change
        p.updated_at = std::max(now, p.updated_at);
        if (auto st = tx.update_project(p); !st) {
          Error e = st.take_error();
          if (e.code == ErrorCode::kConflict) {
            return Error{ErrorCode::kConflict,
                         "a project named \"" + p.name + "\" already exists",
                         {{"name", "already exists"}}};
          }
          return e;
        }
        return p;
      },
      std::move(done));
}

void TaskService::delete_project(const RequestContext&, std::string id, bool cascade, Callback<bool> done) {
  const TimeMs now = clock_();
  store_.write<bool>(
      [id = std::move(id), cascade, now](WriteTx& tx) -> Result<bool> {
        auto cur = existing(tx.get_project(id), "project", id);
        if (!cur) return cur.take_error();
        auto ids = tx.project_task_ids(id);
        if (!ids) return ids.take_error();
        if (!ids->empty() && !cascade) {
          return Error::make(ErrorCode::kConflict, "project " + id + " still has " +
                                                       std::to_string(ids->size()) +
                                                       " task(s); delete them first or pass cascade=true");
        }
        for (const auto& task_id : *ids) {
          if (auto st = tx.delete_task(task_id, now); !st) return st.take_error();
        }
        if (auto st = tx.delete_project(id); !st) return st.take_error();
        return true;
      },
      std::move(done));
}

// ---------------------------------------------------------------- tasks

void TaskService::create_task(const RequestContext&, TaskInput in, std::optional<Idempotency<Task>> idem,
                              Callback<Created<Task>> done) {
  auto create = [in = std::move(in)](WriteTx& tx, TimeMs now) -> Result<Task> {
    Task t;
    t.id = new_id(now);
    t.title = in.title.value_or("");
    t.description = in.description.value_or("");
    set_if(t.project_id, in.project_id);
    set_if(t.parent_id, in.parent_id);
    set_if(t.assignee, in.assignee);
    set_if(t.due_at, in.due_at);
    t.priority = in.priority.value_or(Priority::kMedium);
    if (in.labels) t.labels = *in.labels;
    if (in.depends_on) t.depends_on = *in.depends_on;
    t.created_at = t.updated_at = now;
    t.version = 1;
    t.status = TaskStatus::kTodo;
    apply_status(t, in.status.value_or(TaskStatus::kTodo), now);

    Semantic sem(ErrorCode::kUnprocessable);
    if (auto st = check_project_ref(tx, t.project_id, sem); !st) return st.take_error();
    if (auto st = check_parent(tx, "", t.parent_id, sem); !st) return st.take_error();
    if (auto st = check_dependencies(tx, "", t.depends_on, sem); !st) return st.take_error();
    if (!sem.empty()) return std::move(sem).to_error();
    if (auto st = tx.insert_task(t); !st) return st.take_error();
    return t;
  };
  create_idempotent<Task>(std::move(idem), std::move(create), std::move(done));
}

void TaskService::get_task(const RequestContext&, std::string id, Callback<Task> done) {
  store_.read<Task>(
      [id = std::move(id)](ReadTx& tx) -> Result<Task> { return existing(tx.get_task(id), "task", id); },
      std::move(done));
}

void TaskService::list_tasks(const RequestContext&, TaskListRequest req, Callback<Page<Task>> done) {
  store_.read<Page<Task>>(
      [req = std::move(req)](ReadTx& tx) -> Result<Page<Task>> {
        store::TaskListQuery q{req.filter, req.sort, req.descending, req.page.after, req.page.limit + 1};
        auto rows = tx.list_tasks(q);
        if (!rows) return rows.take_error();
        return make_page(std::move(*rows), req.page.limit, sort_tag(req.sort, req.descending),
                         [&](const Task& t) { return store::task_sort_key(t, req.sort, req.descending); });
      },
      std::move(done));
}

void TaskService::next_task(const RequestContext&, NextTaskRequest req, Callback<std::optional<Task>> done) {
  store_.read<std::optional<Task>>(
      [req = std::move(req)](ReadTx& tx) { return tx.next_task(req.project_id, req.assignee); },
      std::move(done));
}

void TaskService::update_task(const RequestContext&, std::string id, TaskInput patch,
                              std::optional<std::int64_t> expected_version, Callback<Task> done) {
  const TimeMs now = clock_();
  store_.write<Task>(
      [id = std::move(id), patch = std::move(patch), expected_version, now](WriteTx& tx) -> Result<Task> {
        auto cur = existing(tx.get_task(id), "task", id);
        if (!cur) return cur.take_error();
        const Task& before = *cur;
        if (expected_version && *expected_version != before.version) {
          return version_mismatch(*expected_version, before.version);
        }
        Task t = before;
        if (patch.title) t.title = *patch.title;
        if (patch.description) t.description = *patch.description;
        set_if(t.project_id, patch.project_id);
        set_if(t.parent_id, patch.parent_id);
        set_if(t.assignee, patch.assignee);
        set_if(t.due_at, patch.due_at);
        if (patch.priority) t.priority = *patch.priority;
        if (patch.labels) t.labels = *patch.labels;
        if (patch.depends_on) t.depends_on = *patch.depends_on;
        if (patch.status) apply_status(t, *patch.status, now);

        const bool changed = t.title != before.title || t.description != before.description ||
                             t.project_id != before.project_id || t.parent_id != before.parent_id ||
                             t.assignee != before.assignee || t.due_at != before.due_at ||
                             t.priority != before.priority || t.labels != before.labels ||
                             t.depends_on != before.depends_on || t.status != before.status;
        if (!changed) return t;  // version counts changes; an empty PATCH is not one

        Semantic sem(ErrorCode::kUnprocessable);
        if (t.project_id != before.project_id) {
          if (auto st = check_project_ref(tx, t.project_id, sem); !st) return st.take_error();
        }
        if (t.parent_id != before.parent_id) {
          if (auto st = check_parent(tx, t.id, t.parent_id, sem); !st) return st.take_error();
        }
        if (t.depends_on != before.depends_on) {
          if (auto st = check_dependencies(tx, t.id, t.depends_on, sem); !st) return st.take_error();
        }
        if (!sem.empty()) return std::move(sem).to_error();
        t.version = before.version + 1;
        t.updated_at = std::max(now, before.updated_at);
        if (auto st = tx.update_task(t); !st) return st.take_error();
        return t;
      },
      std::move(done));
}

void TaskService::delete_task(const RequestContext&, std::string id,
                              std::optional<std::int64_t> expected_version, Callback<bool> done) {
  const TimeMs now = clock_();
  store_.write<bool>(
      [id = std::move(id), expected_version, now](WriteTx& tx) -> Result<bool> {
        auto cur = existing(tx.get_task(id), "task", id);
        if (!cur) return cur.take_error();
        if (expected_version && *expected_version != cur->version) {
          return version_mismatch(*expected_version, cur->version);
        }
        if (auto st = tx.delete_task(id, now); !st) return st.take_error();
        return true;
      },
      std::move(done));
}

// ---------------------------------------------------------------- comments

void TaskService::add_comment(const RequestContext&, std::string task_id, CommentInput in,
                              std::optional<Idempotency<Comment>> idem, Callback<Created<Comment>> done) {
  auto create = [task_id = std::move(task_id), in = std::move(in)](WriteTx& tx,
                                                                   TimeMs now) -> Result<Comment> {
    auto t = tx.existing_task_ids({task_id});
    if (!t) return t.take_error();
    if (t->empty()) return not_found("task", task_id);
    Comment c{new_id(now), task_id, in.author, in.body, now};
    if (auto st = tx.insert_comment(c); !st) return st.take_error();
    return c;
  };
  create_idempotent<Comment>(std::move(idem), std::move(create), std::move(done));
}

void TaskService::list_comments(const RequestContext&, std::string task_id, PageRequest page,
                                Callback<Page<Comment>> done) {
  store_.read<Page<Comment>>(
      [task_id = std::move(task_id), page = std::move(page)](ReadTx& tx) -> Result<Page<Comment>> {
        auto t = tx.existing_task_ids({task_id});
        if (!t) return t.take_error();
        if (t->empty()) return not_found("task", task_id);
        auto rows = tx.list_comments(task_id, store::PageQuery{page.after, page.limit + 1});
        if (!rows) return rows.take_error();
        return make_page(std::move(*rows), page.limit, kCreatedTag,
                         [](const Comment& c) { return c.created_at; });
      },
      std::move(done));
}

void TaskService::get_comment(const RequestContext&, std::string task_id, std::string id,
                              Callback<Comment> done) {
  store_.read<Comment>(
      [task_id = std::move(task_id), id = std::move(id)](ReadTx& tx) -> Result<Comment> {
        return existing(tx.get_comment(task_id, id), "comment", id);
      },
      std::move(done));
}

}  // namespace taskman::tasks
