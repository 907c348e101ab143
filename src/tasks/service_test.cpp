// The task service over a real SQLite file: the rules of docs/api.md#task-rules.
#include "tasks/service.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <set>
#include <thread>

#include "core/text.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace taskman::tasks {
namespace {

using testing::TempDir;

// Turns a callback API into a blocking call for the test thread.
template <class T, class F>
Result<T> sync(F&& start) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

TaskInput decode_or_die(std::string_view json, Mode mode = Mode::kCreate) {
  auto r = decode_task(json, mode);
  if (!r) throw std::runtime_error("bad test input: " + r.error().message);
  return std::move(*r);
}

std::vector<std::string> fields_of(const Error& e) {
  std::vector<std::string> out;
  for (const auto& f : e.fields) out.push_back(f.field);
  return out;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = store::open_store("sqlite:" + dir_.file("svc.db"));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
    svc_ = std::make_unique<TaskService>(*store_, [this] { return now_.load(); });
  }

  Result<Task> create(std::string_view json) {
    auto r =
        sync<Created<Task>>([&](auto cb) { svc_->create_task(ctx_, decode_or_die(json), std::nullopt, cb); });
    if (!r) return r.take_error();
    return std::move(r->value);
  }
  Task must_create(std::string_view json) {
    auto r = create(json);
    if (!r) throw std::runtime_error("create failed: " + r.error().message);
    return std::move(*r);
  }
  Result<Task> patch(const std::string& id, std::string_view json, std::optional<std::int64_t> version = {}) {
    return sync<Task>(
        [&](auto cb) { svc_->update_task(ctx_, id, decode_or_die(json, Mode::kPatch), version, cb); });
  }
  Result<Project> create_project(const std::string& name) {
    ProjectInput in;
    in.name = name;
    auto r = sync<Created<Project>>([&](auto cb) { svc_->create_project(ctx_, in, std::nullopt, cb); });
    if (!r) return r.take_error();
    return std::move(r->value);
  }
  Result<Page<Task>> list(const QueryParams& params) {
    auto req = parse_task_list(params);
    if (!req) return req.take_error();
    return sync<Page<Task>>([&](auto cb) { svc_->list_tasks(ctx_, *req, cb); });
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<TaskService> svc_;
  std::atomic<TimeMs> now_{1'700'000'000'000};
  RequestContext ctx_;
};

TEST_F(ServiceTest, CreateAppliesDefaults) {
  Task t = must_create(R"({"title":"write tests"})");
  EXPECT_EQ(t.status, TaskStatus::kTodo);
  EXPECT_EQ(t.priority, Priority::kMedium);
  EXPECT_EQ(t.version, 1);
  EXPECT_EQ(t.created_at, now_.load());
  EXPECT_FALSE(t.completed_at.has_value());
  auto got = sync<Task>([&](auto cb) { svc_->get_task(ctx_, t.id, cb); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(encode_task(*got), encode_task(t));
}

TEST_F(ServiceTest, CompletedAtFollowsStatusAndVersionCountsChanges) {
  Task t = must_create(R"({"title":"x"})");
  now_ += 1000;
  auto done = patch(t.id, R"({"status":"done"})");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->completed_at, now_.load());
  EXPECT_EQ(done->version, 2);
  EXPECT_EQ(done->updated_at, now_.load());

  now_ += 1000;
  auto same = patch(t.id, R"({"status":"done","title":"x"})");  // no change: no new version
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->version, 2);
  EXPECT_EQ(same->completed_at, done->completed_at);

  auto reopened = patch(t.id, R"({"status":"in_progress"})");
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(reopened->completed_at.has_value());
  EXPECT_EQ(reopened->version, 3);

  Task born_done = must_create(R"({"title":"y","status":"done"})");
  EXPECT_EQ(born_done.completed_at, now_.load());
}

TEST_F(ServiceTest, ReferencesMustExistAndAllAreReported) {
  auto r = create(R"({"title":"x","project_id":"nope","parent_id":"nope2","depends_on":["nope3"]})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(fields_of(r.error()), (std::vector<std::string>{"project_id", "parent_id", "depends_on[0]"}));

  auto p = create_project("home");
  ASSERT_TRUE(p.ok());
  Task a = must_create(R"({"title":"a"})");
  auto ok = create(R"({"title":"b","project_id":")" + p->id + R"(","parent_id":")" + a.id +
                   R"(","depends_on":[")" + a.id + R"("]})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->project_id, p->id);
}

TEST_F(ServiceTest, RejectsSelfParentAndParentCycles) {
  Task a = must_create(R"({"title":"a"})");
  auto self = patch(a.id, R"({"parent_id":")" + a.id + R"("})");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(fields_of(self.error()), std::vector<std::string>{"parent_id"});

  Task b = must_create(R"({"title":"b","parent_id":")" + a.id + R"("})");
  Task c = must_create(R"({"title":"c","parent_id":")" + b.id + R"("})");
  auto cycle = patch(a.id, R"({"parent_id":")" + c.id + R"("})");
  ASSERT_FALSE(cycle.ok());
  EXPECT_EQ(cycle.error().code, ErrorCode::kUnprocessable);
  EXPECT_TRUE(patch(c.id, R"({"parent_id":null})").ok());
  EXPECT_TRUE(patch(a.id, R"({"parent_id":")" + c.id + R"("})").ok());
}

TEST_F(ServiceTest, RejectsDependencyCycles) {
  Task a = must_create(R"({"title":"a"})");
  Task b = must_create(R"({"title":"b","depends_on":[")" + a.id + R"("]})");
  Task c = must_create(R"({"title":"c","depends_on":[")" + b.id + R"("]})");
  auto self = patch(a.id, R"({"depends_on":[")" + a.id + R"("]})");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, ErrorCode::kUnprocessable);
  auto cycle = patch(a.id, R"({"depends_on":[")" + c.id + R"("]})");
  ASSERT_FALSE(cycle.ok());
  EXPECT_EQ(cycle.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(fields_of(cycle.error()), std::vector<std::string>{"depends_on"});
  // Not a cycle: a diamond.
  Task d = must_create(R"({"title":"d"})");
  EXPECT_TRUE(patch(c.id, R"({"depends_on":[")" + b.id + R"(",")" + d.id + R"("]})").ok());
  EXPECT_TRUE(patch(d.id, R"({"depends_on":[")" + a.id + R"("]})").ok());
}

TEST_F(ServiceTest, ProjectDeleteRefusesWithTasksUnlessCascade) {
  auto p = create_project("work");
  ASSERT_TRUE(p.ok());
  auto dup = create_project("work");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_EQ(fields_of(dup.error()), std::vector<std::string>{"name"});

  Task t = must_create(R"({"title":"t","project_id":")" + p->id + R"("})");
  Task outside = must_create(R"({"title":"o","depends_on":[")" + t.id + R"("]})");
  CommentInput ci{"hello", std::nullopt};
  ASSERT_TRUE(
      sync<Created<Comment>>([&](auto cb) { svc_->add_comment(ctx_, t.id, ci, std::nullopt, cb); }).ok());

  auto refused = sync<bool>([&](auto cb) { svc_->delete_project(ctx_, p->id, false, cb); });
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);

  ASSERT_TRUE(sync<bool>([&](auto cb) { svc_->delete_project(ctx_, p->id, true, cb); }).ok());
  auto gone = sync<Task>([&](auto cb) { svc_->get_task(ctx_, t.id, cb); });
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  auto left = sync<Task>([&](auto cb) { svc_->get_task(ctx_, outside.id, cb); });
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->depends_on.empty());
  EXPECT_EQ(left->version, 2);
  auto no_project = sync<Project>([&](auto cb) { svc_->get_project(ctx_, p->id, cb); });
  EXPECT_EQ(no_project.error().code, ErrorCode::kNotFound);
}

TEST_F(ServiceTest, NextTaskIsTheMostUrgentActionableOne) {
  auto next = [&](NextTaskRequest req = {}) {
    return sync<std::optional<Task>>([&](auto cb) { svc_->next_task(ctx_, req, cb); });
  };
  auto next_id = [&](NextTaskRequest req = {}) -> std::string {
    auto r = next(req);
    if (!r.ok()) return "error: " + r.error().message;
    return r.value().has_value() ? r.value()->id : std::string("none");
  };
  auto none = next();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  Task low = must_create(R"({"title":"low","priority":"low"})");
  now_ += 1;
  Task high_late = must_create(R"({"title":"hl","priority":"high","due_at":"2030-01-02T00:00:00Z"})");
  now_ += 1;
  Task high_soon = must_create(R"({"title":"hs","priority":"high","due_at":"2030-01-01T00:00:00Z"})");
  now_ += 1;
  Task high_none = must_create(R"({"title":"hn","priority":"high"})");
  Task blocker = must_create(R"({"title":"blocker","priority":"low"})");
  Task urgent = must_create(R"({"title":"u","priority":"urgent","depends_on":[")" + blocker.id + R"("]})");
  Task busy = must_create(R"({"title":"busy","priority":"urgent","status":"in_progress","assignee":"ann"})");

  auto n = next();
  ASSERT_TRUE(n.ok() && n->has_value());
  EXPECT_EQ((*n)->id, high_soon.id);  // the urgent one is blocked by an unfinished dependency

  ASSERT_TRUE(patch(blocker.id, R"({"status":"done"})").ok());
  n = next();
  EXPECT_EQ((*n)->id, urgent.id);
  ASSERT_TRUE(patch(urgent.id, R"({"status":"cancelled"})").ok());
  ASSERT_TRUE(patch(high_soon.id, R"({"status":"done"})").ok());
  EXPECT_EQ(next_id(), high_late.id);
  ASSERT_TRUE(patch(high_late.id, R"({"status":"blocked"})").ok());
  EXPECT_EQ(next_id(), high_none.id);  // no due date sorts after any due date
  ASSERT_TRUE(patch(high_none.id, R"({"assignee":"ann"})").ok());
  EXPECT_EQ(next_id(NextTaskRequest{std::nullopt, "ann"}), high_none.id);
  EXPECT_EQ(next_id(NextTaskRequest{std::nullopt, "nobody"}), "none");
  ASSERT_TRUE(patch(high_none.id, R"({"status":"done"})").ok());
  EXPECT_EQ(next_id(), low.id);
  (void)busy;
}

TEST_F(ServiceTest, FiltersSelectWhatTheyName) {
  Task a = must_create(R"({"title":"alpha release","labels":["ops","web"],"assignee":"ann",
                         "due_at":"2030-01-01T00:00:00Z"})");
  now_ += 1;  // distinct created_at: the default order is then fully determined
  Task b =
      must_create(R"({"title":"beta","description":"the release notes","status":"blocked","priority":"high",
                         "parent_id":")" +
                  a.id + R"("})");
  now_ += 1;
  Task c = must_create(R"({"title":"gamma","status":"done","due_at":"2030-06-01T00:00:00Z"})");
  auto ids = [&](const QueryParams& q) {
    auto r = list(q);
    if (!r) throw std::runtime_error(r.error().message);
    std::vector<std::string> out;
    for (const auto& t : r->items) out.push_back(t.id);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(ids({{"status", "blocked"}, {"status", "done"}}), (V{b.id, c.id}));
  EXPECT_EQ(ids({{"priority", "high"}}), (V{b.id}));
  EXPECT_EQ(ids({{"label", "web"}}), (V{a.id}));
  EXPECT_EQ(ids({{"assignee", "ann"}}), (V{a.id}));
  EXPECT_EQ(ids({{"parent_id", a.id}}), (V{b.id}));
  EXPECT_EQ(ids({{"q", "release"}}), (V{a.id, b.id}));
  EXPECT_EQ(ids({{"due_before", "2030-03-01T00:00:00Z"}}), (V{a.id}));
  EXPECT_EQ(ids({{"due_after", "2030-03-01T00:00:00Z"}}), (V{c.id}));
  EXPECT_EQ(ids({{"sort", "priority"}}), (V{b.id, a.id, c.id}));
  EXPECT_EQ(ids({{"sort", "-due_at"}}), (V{c.id, a.id, b.id}));
  EXPECT_EQ(ids({{"sort", "due_at"}}), (V{a.id, c.id, b.id}));
}

// Walks every page while another thread inserts: every task that existed at the start is seen
// exactly once and no task is seen twice.
TEST_F(ServiceTest, PaginationNeverSkipsOrRepeatsUnderConcurrentInserts) {
  const char* prios[] = {"low", "medium", "high", "urgent"};
  std::set<std::string> initial;
  for (int i = 0; i < 60; ++i) {
    now_ += (i % 3 == 0) ? 0 : 1;  // ties in created_at, resolved by id
    std::string due =
        i % 4 == 0 ? "" : R"(,"due_at":"2030-01-)" + std::to_string(10 + i % 7) + R"(T00:00:00Z")";
    initial.insert(must_create(R"({"title":"t)" + std::to_string(i) + R"(","priority":")" + prios[i % 4] +
                               "\"" + due + "}")
                       .id);
  }
  for (const char* sort : {"created_at", "-created_at", "priority", "-priority", "due_at", "-due_at"}) {
    std::atomic<bool> stop{false};
    std::thread inserter([&] {
      int n = 0;
      while (!stop) {
        now_ += 1;
        (void)create(R"({"title":"new )" + std::to_string(n) + R"(","priority":")" + prios[n % 4] + "\"}");
        ++n;
      }
    });
    std::multiset<std::string> seen;
    std::optional<std::string> cursor;
    int pages = 0;
    do {
      QueryParams q{{"limit", "7"}, {"sort", sort}};
      if (cursor) q.emplace_back("cursor", *cursor);
      auto page = list(q);
      ASSERT_TRUE(page.ok()) << page.error().message;
      ASSERT_LE(page->items.size(), 7u);
      for (const auto& t : page->items) seen.insert(t.id);
      cursor = page->next_cursor;
      ++pages;
    } while (cursor && pages < 1000);
    stop = true;
    inserter.join();
    EXPECT_GE(pages, 9) << sort;  // 60 initial items at 7 per page, plus whatever was inserted
    for (const auto& id : initial) EXPECT_EQ(seen.count(id), 1u) << sort << " " << id;
    for (const auto& id : seen) EXPECT_EQ(seen.count(id), 1u) << sort << " repeated " << id;
  }
}

TEST_F(ServiceTest, CursorIsBoundToItsSort) {
  for (int i = 0; i < 3; ++i) must_create(R"({"title":"t"})");
  auto first = list({{"limit", "1"}});
  ASSERT_TRUE(first.ok() && first->next_cursor);
  auto other = list({{"limit", "1"}, {"sort", "priority"}, {"cursor", *first->next_cursor}});
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(fields_of(other.error()), std::vector<std::string>{"cursor"});
  auto junk = list({{"cursor", "!!notbase64"}});
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(fields_of(junk.error()), std::vector<std::string>{"cursor"});
}

TEST_F(ServiceTest, ConcurrentConditionalUpdatesExactlyOneWins) {
  Task t = must_create(R"({"title":"contended"})");
  constexpr int kWriters = 16;
  std::vector<std::future<Result<Task>>> results;
  for (int i = 0; i < kWriters; ++i) {
    auto p = std::make_shared<std::promise<Result<Task>>>();
    results.push_back(p->get_future());
    svc_->update_task(ctx_, t.id,
                      decode_or_die(R"({"title":"writer )" + std::to_string(i) + "\"}", Mode::kPatch),
                      t.version, [p](Result<Task> r) { p->set_value(std::move(r)); });
  }
  int ok = 0, failed = 0;
  for (auto& f : results) {
    auto r = f.get();
    if (r.ok()) {
      ++ok;
      EXPECT_EQ(r->version, 2);
    } else {
      ++failed;
      EXPECT_EQ(r.error().code, ErrorCode::kPreconditionFailed);
    }
  }
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(failed, kWriters - 1);
}

class IdempotencyTest : public ServiceTest {
 protected:
  Idempotency<Task> idem(const std::string& key, const std::string& fingerprint) {
    return Idempotency<Task>{key, fingerprint, [](const Task& t) {
                               return Reply{201, encode_task(t), {{"Location", "/t/" + t.id}}};
                             }};
  }
  void submit(std::string key, std::string fp, std::string body,
              std::vector<std::future<Result<Created<Task>>>>& out) {
    auto p = std::make_shared<std::promise<Result<Created<Task>>>>();
    out.push_back(p->get_future());
    svc_->create_task(ctx_, decode_or_die(body), idem(key, fp),
                      [p](Result<Created<Task>> r) { p->set_value(std::move(r)); });
  }
  std::size_t task_count() {
    auto r = list({{"limit", "100"}});
    return r.ok() ? r->items.size() : 999;
  }
};

TEST_F(IdempotencyTest, FiveSendsOfOneKeyMakeOneTask) {
  const std::string body = R"({"title":"once"})";
  std::vector<std::future<Result<Created<Task>>>> results;
  // Two sequential sends, then three concurrent ones from different threads.
  submit("k1", "fp", body, results);
  auto first = results[0].get();
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->replay.has_value());
  const std::string created_body = encode_task(first->value);
  submit("k1", "fp", body, results);
  {
    std::vector<std::thread> threads;
    std::mutex mu;
    for (int i = 0; i < 3; ++i) {
      threads.emplace_back([&] {
        std::vector<std::future<Result<Created<Task>>>> mine;
        submit("k1", "fp", body, mine);
        std::lock_guard lk(mu);
        results.push_back(std::move(mine[0]));
      });
    }
    for (auto& t : threads) t.join();
  }
  for (std::size_t i = 1; i < results.size(); ++i) {
    auto r = results[i].get();
    if (r.ok()) {
      ASSERT_TRUE(r->replay.has_value()) << i;
      EXPECT_EQ(r->replay->status, 201);
      EXPECT_EQ(r->replay->body, created_body);
      EXPECT_EQ(r->replay->headers,
                (std::vector<std::pair<std::string, std::string>>{{"Location", "/t/" + first->value.id}}));
    } else {
      EXPECT_EQ(r.error().code, ErrorCode::kConflict) << i;  // only while the first is in flight
    }
  }
  EXPECT_EQ(task_count(), 1u);

  std::vector<std::future<Result<Created<Task>>>> other;
  submit("k1", "another-fp", R"({"title":"different"})", other);
  auto mismatch = other[0].get();
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(task_count(), 1u);
}

TEST_F(IdempotencyTest, RetryWhileInFlightIsAConflict) {
  // Hold the writer so the first request is provably still in flight when the retry arrives.
  std::promise<void> entered, release;
  auto release_f = release.get_future().share();
  store_->write<bool>(
      [&entered, release_f](store::WriteTx&) -> Result<bool> {
        entered.set_value();
        release_f.wait();
        return true;
      },
      [](Result<bool>) {});
  entered.get_future().wait();
  std::vector<std::future<Result<Created<Task>>>> results;
  submit("k2", "fp", R"({"title":"slow"})", results);
  submit("k2", "fp", R"({"title":"slow"})", results);
  submit("k2", "other", R"({"title":"changed"})", results);
  auto retry = results[1].get();  // answered at once, without the database
  ASSERT_FALSE(retry.ok());
  EXPECT_EQ(retry.error().code, ErrorCode::kConflict);
  auto changed = results[2].get();
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code, ErrorCode::kUnprocessable);
  release.set_value();
  ASSERT_TRUE(results[0].get().ok());
  EXPECT_EQ(task_count(), 1u);
}

TEST_F(IdempotencyTest, KeysExpireAfter24Hours) {
  std::vector<std::future<Result<Created<Task>>>> results;
  submit("k3", "fp", R"({"title":"a"})", results);
  ASSERT_TRUE(results[0].get().ok());
  now_ += kIdempotencyTtlMs - 1;
  submit("k3", "fp", R"({"title":"a"})", results);
  auto replayed = results[1].get();
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(replayed->replay.has_value());
  now_ += 2;
  submit("k3", "fp", R"({"title":"a"})", results);
  auto fresh = results[2].get();
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(fresh->replay.has_value());
  EXPECT_EQ(task_count(), 2u);
}

TEST_F(IdempotencyTest, FailedRequestsAreNotStored) {
  std::vector<std::future<Result<Created<Task>>>> results;
  submit("k4", "fp", R"({"title":"a","project_id":"missing"})", results);
  auto failed = results[0].get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kUnprocessable);
  submit("k4", "fp2", R"({"title":"a"})", results);  // the key is free again
  EXPECT_TRUE(results[1].get().ok());
}

}  // namespace
}  // namespace taskman::tasks
