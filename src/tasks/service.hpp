#pragma once
// The task service: every rule of docs/api.md#task-rules (references, cycles, completed_at, versions,
// conditional updates, idempotent creates), over the asynchronous Store. Transport-neutral: the
// REST handlers are thin adapters over it. Callbacks run on database threads.
// Thread-safe: any method may be called from any thread.
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/context.hpp"
#include "core/result.hpp"
#include "store/store.hpp"
#include "tasks/codec.hpp"

namespace taskman::tasks {

template <class T>
using Callback = std::function<void(Result<T>)>;
using Clock = std::function<TimeMs()>;  // milliseconds since the epoch; injected for tests

TimeMs system_now_ms();

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
};

// A transport-level answer stored with an Idempotency-Key so a retry gets the same bytes back.
struct Reply {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// draft-ietf-httpapi-idempotency-key-header: `fingerprint` identifies the request payload
// (method + path + body); `make_reply` renders the success answer that is stored with the key.
template <class T>
struct Idempotency {
  std::string key;
  std::string fingerprint;
  std::function<Reply(const T&)> make_reply;
};

// Result of a create: either the new value, or the stored reply of an earlier identical request.
template <class T>
struct Created {
  T value;
  std::optional<Reply> replay;
};

inline constexpr TimeMs kIdempotencyTtlMs = 24LL * 60 * 60 * 1000;

class TaskService {
 public:
  explicit TaskService(store::Store& store, Clock clock = system_now_ms);

  void create_project(const RequestContext& ctx, ProjectInput in, std::optional<Idempotency<Project>> idem,
                      Callback<Created<Project>> done);
  void get_project(const RequestContext& ctx, std::string id, Callback<Project> done);
  void list_projects(const RequestContext& ctx, PageRequest page, Callback<Page<Project>> done);
  void update_project(const RequestContext& ctx, std::string id, ProjectInput patch, Callback<Project> done);
  // 409 while the project has tasks, unless `cascade` (then its tasks and their comments go too).
  void delete_project(const RequestContext& ctx, std::string id, bool cascade, Callback<bool> done);

  void create_task(const RequestContext& ctx, TaskInput in, std::optional<Idempotency<Task>> idem,
                   Callback<Created<Task>> done);
  void get_task(const RequestContext& ctx, std::string id, Callback<Task> done);
  void list_tasks(const RequestContext& ctx, TaskListRequest req, Callback<Page<Task>> done);
  // The most urgent actionable task, or nullopt.
  void next_task(const RequestContext& ctx, NextTaskRequest req, Callback<std::optional<Task>> done);
  // `expected_version` (If-Match): checked inside the write transaction, so of concurrent updates
  // made against the same version exactly one succeeds and the others get 412.
  void update_task(const RequestContext& ctx, std::string id, TaskInput patch,
                   std::optional<std::int64_t> expected_version, Callback<Task> done);
  void delete_task(const RequestContext& ctx, std::string id, std::optional<std::int64_t> expected_version,
                   Callback<bool> done);

  void add_comment(const RequestContext& ctx, std::string task_id, CommentInput in,
                   std::optional<Idempotency<Comment>> idem, Callback<Created<Comment>> done);
  void list_comments(const RequestContext& ctx, std::string task_id, PageRequest page,
                     Callback<Page<Comment>> done);
  void get_comment(const RequestContext& ctx, std::string task_id, std::string id, Callback<Comment> done);

 private:
  // Runs `create` in a write job, honouring an Idempotency-Key.
  template <class T>
  void create_idempotent(std::optional<Idempotency<T>> idem,
                         std::function<Result<T>(store::WriteTx&, TimeMs)> create, Callback<Created<T>> done);

  store::Store& store_;
  Clock clock_;

  std::mutex mu_;                                           // guards in_flight_, last_purge_
  std::unordered_map<std::string, std::string> in_flight_;  // Idempotency-Key → fingerprint
  TimeMs last_purge_ = 0;
};

}  // namespace taskman::tasks
