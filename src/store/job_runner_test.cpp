// The job runner over a scripted in-memory connection: queueing, grouping, savepoints and
// threading, without any database engine.
#include "store/job_runner.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace taskman::store {
namespace {

// The committed state every fake connection shares: project id -> name, and a log of the
// transaction calls in the order the connections made them.
struct FakeDatabase {
  std::mutex mu;
  std::map<std::string, std::string> committed;
  std::vector<std::string> log;
  bool fail_prepare_commit = false;
  std::atomic<int> connections_alive{0};

  void note(std::string call) {
    std::lock_guard lk(mu);
    log.push_back(std::move(call));
  }
  std::vector<std::string> calls() {
    std::lock_guard lk(mu);
    return log;
  }
  std::map<std::string, std::string> state() {
    std::lock_guard lk(mu);
    return committed;
  }
};

Error not_in_fake() { return Error::make(ErrorCode::kInternal, "not part of the fake"); }

// Projects only: insert (a duplicate name is kConflict, like a unique index) and get.
class FakeTx final : public WriteTx {
 public:
  explicit FakeTx(std::map<std::string, std::string>& view) : view_(view) {}

  Status insert_project(const Project& p) override {
    for (const auto& [id, name] : view_) {
      if (name == p.name) return Error::make(ErrorCode::kConflict, "name taken");
    }
    view_[p.id] = p.name;
    return {};
  }
  Result<std::optional<Project>> get_project(std::string_view id) override {
    auto it = view_.find(std::string(id));
    if (it == view_.end()) return std::optional<Project>();
    return std::optional<Project>(Project{it->first, it->second, "", 0, 0});
  }

  Result<std::vector<Project>> list_projects(const PageQuery&) override { return not_in_fake(); }
  Result<std::int64_t> count_project_tasks(std::string_view) override { return not_in_fake(); }
  Result<std::optional<Task>> get_task(std::string_view) override { return not_in_fake(); }
  Result<std::vector<std::string>> existing_task_ids(const std::vector<std::string>&) override {
    return not_in_fake();
  }
  Result<std::vector<Task>> list_tasks(const TaskListQuery&) override { return not_in_fake(); }
  Result<std::optional<Task>> next_task(const std::optional<std::string>&,
                                        const std::optional<std::string>&) override {
    return not_in_fake();
  }
  Result<bool> depends_transitively(const std::vector<std::string>&, std::string_view) override {
    return not_in_fake();
  }
  Result<bool> is_ancestor_or_self(std::string_view, std::string_view) override { return not_in_fake(); }
  Result<std::vector<std::string>> project_task_ids(std::string_view) override { return not_in_fake(); }
  Result<std::vector<Comment>> list_comments(std::string_view, const PageQuery&) override {
    return not_in_fake();
  }
  Result<std::optional<Comment>> get_comment(std::string_view, std::string_view) override {
    return not_in_fake();
  }
  Result<std::optional<IdempotencyRecord>> get_idempotency(std::string_view) override {
    return not_in_fake();
  }
  Status update_project(const Project&) override { return not_in_fake(); }
  Status delete_project(std::string_view) override { return not_in_fake(); }
  Status insert_task(const Task&) override { return not_in_fake(); }
  Status update_task(const Task&) override { return not_in_fake(); }
  Status delete_task(std::string_view, TimeMs) override { return not_in_fake(); }
  Status insert_comment(const Comment&) override { return not_in_fake(); }
  Status put_idempotency(const IdempotencyRecord&) override { return not_in_fake(); }
  Result<std::int64_t> purge_idempotency(TimeMs) override { return not_in_fake(); }

 private:
  std::map<std::string, std::string>& view_;
};

// Transactions over copies of the committed state: a read sees the copy taken at begin_read, a
// write works on a copy that commit() publishes, and each savepoint is a copy to roll back to.
class FakeConnection final : public Connection {
 public:
  explicit FakeConnection(FakeDatabase& db) : db_(db), tx_(view_) { ++db_.connections_alive; }
  ~FakeConnection() override { --db_.connections_alive; }

  Status begin_read() override {
    db_.note("begin_read");
    view_ = db_.state();
    return {};
  }
  Status begin_write() override {
    db_.note("begin_write");
    view_ = db_.state();
    writing_ = true;
    return {};
  }
  Status savepoint() override {
    db_.note("savepoint");
    savepoints_.push_back(view_);
    return {};
  }
  Status rollback_to_savepoint() override {
    db_.note("rollback_to");
    view_ = savepoints_.back();
    return {};
  }
  Status release_savepoint() override {
    db_.note("release");
    savepoints_.pop_back();
    return {};
  }
  Status prepare_commit() override {
    db_.note("prepare_commit");
    if (db_.fail_prepare_commit) return Error::make(ErrorCode::kUnavailable, "disk full");
    return {};
  }
  Status commit() override {
    if (!writing_) {
      db_.note("end_read");
      return {};
    }
    db_.note("commit");
    std::lock_guard lk(db_.mu);
    db_.committed = view_;
    writing_ = false;
    return {};
  }
  void rollback() override {
    db_.note("rollback");
    writing_ = false;
  }
  Status ping() override { return {}; }
  ReadTx& read_tx() override { return tx_; }
  WriteTx& write_tx() override { return tx_; }

 private:
  FakeDatabase& db_;
  std::map<std::string, std::string> view_;
  std::vector<std::map<std::string, std::string>> savepoints_;
  FakeTx tx_;
  bool writing_ = false;
};

std::unique_ptr<JobRunner> make_runner(FakeDatabase& db, StoreOptions options = {}, int readers = 2) {
  std::vector<std::unique_ptr<Connection>> rs;
  for (int i = 0; i < readers; ++i) rs.push_back(std::make_unique<FakeConnection>(db));
  return std::make_unique<JobRunner>(std::make_unique<FakeConnection>(db), std::move(rs), options);
}

// Submits a write job; the future holds the runner's completion error, or nullopt when the job's
// group committed.
std::future<std::optional<Error>> submit(JobRunner& runner, std::function<bool(WriteTx&)> run) {
  auto p = std::make_shared<std::promise<std::optional<Error>>>();
  auto f = p->get_future();
  runner.submit_write(JobRunner::WriteJob{
      std::move(run),
      [p](const Error* e) { p->set_value(e != nullptr ? std::optional<Error>(*e) : std::nullopt); }});
  return f;
}

std::function<bool(WriteTx&)> insert(std::string id, std::string name) {
  return [id, name](WriteTx& tx) { return tx.insert_project(Project{id, name, "", 0, 0}).ok(); };
}

// Holds the writer inside a job until opened, so the jobs queued meanwhile form one group.
class Gate {
 public:
  explicit Gate(JobRunner& runner) {
    auto entered = entered_.get_future();
    done_ = submit(runner, [this, release = release_.get_future().share()](WriteTx&) {
      entered_.set_value();
      release.wait();
      return true;
    });
    entered.wait();
  }
  void open() { release_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
  std::future<std::optional<Error>> done_;
};

bool ready_within(std::future<std::optional<Error>>& f, std::chrono::seconds limit) {
  return f.wait_for(limit) == std::future_status::ready;
}

TEST(JobRunner, FullWriteQueueIsRefusedAtOnceOnTheCallingThread) {
  FakeDatabase db;
  StoreOptions options;
  options.max_queue = 2;
  auto runner = make_runner(db, options);
  Gate gate(*runner);
  auto a = submit(*runner, insert("a", "a"));
  auto b = submit(*runner, insert("b", "b"));
  std::thread::id refused_on;
  bool answered = false;
  runner->submit_write(JobRunner::WriteJob{insert("c", "c"), [&](const Error* e) {
                                             refused_on = std::this_thread::get_id();
                                             answered = e != nullptr && e->code == ErrorCode::kUnavailable &&
                                                        e->retry_after_ms > 0;
                                           }});
  EXPECT_TRUE(answered);  // before submit_write returned
  EXPECT_EQ(refused_on, std::this_thread::get_id());
  gate.open();
  EXPECT_FALSE(a.get().has_value());
  EXPECT_FALSE(b.get().has_value());
  runner->close();
  EXPECT_EQ(db.state(), (std::map<std::string, std::string>{{"a", "a"}, {"b", "b"}}));
}

TEST(JobRunner, FullReadQueueIsRefusedAtOnceOnTheCallingThread) {
  FakeDatabase db;
  StoreOptions options;
  options.max_queue = 1;
  auto runner = make_runner(db, options, 1);
  std::promise<void> entered, release;
  auto release_f = release.get_future().share();
  runner->submit_read([&](Connection*, const Error*) {
    entered.set_value();
    release_f.wait();
  });
  entered.get_future().wait();  // the only reader is busy
  std::promise<bool> queued_ran;
  runner->submit_read(
      [&](Connection* c, const Error* e) { queued_ran.set_value(c != nullptr && e == nullptr); });
  bool refused = false;
  std::thread::id refused_on;
  runner->submit_read([&](Connection* c, const Error* e) {
    refused_on = std::this_thread::get_id();
    refused = c == nullptr && e != nullptr && e->code == ErrorCode::kUnavailable;
  });
  EXPECT_TRUE(refused);
  EXPECT_EQ(refused_on, std::this_thread::get_id());
  release.set_value();
  EXPECT_TRUE(queued_ran.get_future().get());
}

TEST(JobRunner, OneFailingJobRollsBackAloneWhileItsGroupCommitsOnce) {
  FakeDatabase db;
  auto runner = make_runner(db);
  ASSERT_FALSE(submit(*runner, insert("p0", "taken")).get().has_value());
  const auto before = runner->stats();
  Gate gate(*runner);
  const auto gate_calls = db.calls().size();
  auto one = submit(*runner, insert("p1", "one"));
  // Inserts a row, then fails on the duplicate name: its own first insert must vanish too.
  auto two = submit(*runner, [](WriteTx& tx) {
    return tx.insert_project(Project{"p2", "two", "", 0, 0}).ok() &&
           tx.insert_project(Project{"p3", "taken", "", 0, 0}).ok();
  });
  auto thrown = submit(*runner, [](WriteTx&) -> bool { throw std::runtime_error("boom"); });
  auto four = submit(*runner, insert("p4", "four"));
  gate.open();
  // Every job of a committed group hears "committed"; whether its own work was kept is the job's
  // result, which Store::write carries (see the contract suite).
  for (auto* f : {&one, &two, &thrown, &four}) EXPECT_FALSE(f->get().has_value());
  EXPECT_EQ(db.state(), (std::map<std::string, std::string>{{"p0", "taken"}, {"p1", "one"}, {"p4", "four"}}));
  const auto calls = db.calls();
  // After the gate's group (its release, prepare and commit): one group of four savepoints.
  const std::vector<std::string> group(calls.begin() + static_cast<std::ptrdiff_t>(gate_calls) + 3,
                                       calls.end());
  EXPECT_EQ(group, (std::vector<std::string>{"begin_write", "savepoint", "release", "savepoint",
                                             "rollback_to", "release", "savepoint", "rollback_to", "release",
                                             "savepoint", "release", "prepare_commit", "commit"}));
  const auto after = runner->stats();
  EXPECT_EQ(after.commits - before.commits, 2u);
  EXPECT_EQ(after.writes - before.writes, 5u);
}

TEST(JobRunner, AFailedCommitFailsEveryJobOfTheGroupAndKeepsNothing) {
  FakeDatabase db;
  auto runner = make_runner(db);
  Gate gate(*runner);
  db.fail_prepare_commit = true;  // read by the writer only after the gate opens (its group fails too)
  auto a = submit(*runner, insert("a", "a"));
  auto b = submit(*runner, insert("b", "b"));
  gate.open();
  for (auto* f : {&a, &b}) {
    auto e = f->get();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->code, ErrorCode::kUnavailable);
  }
  EXPECT_EQ(db.calls().back(), "rollback");
  EXPECT_TRUE(db.state().empty());
}

TEST(JobRunner, GroupsAreBoundedByMaxBatch) {
  FakeDatabase db;
  StoreOptions options;
  options.max_batch = 2;
  auto runner = make_runner(db, options);
  Gate gate(*runner);
  std::vector<std::future<std::optional<Error>>> jobs;
  for (int i = 0; i < 5; ++i)
    jobs.push_back(submit(*runner, insert("p" + std::to_string(i), std::to_string(i))));
  gate.open();
  for (auto& f : jobs) EXPECT_FALSE(f.get().has_value());
  EXPECT_EQ(runner->stats().commits, 1u + 3u);  // the gate's, then 2 + 2 + 1
  EXPECT_EQ(db.state().size(), 5u);
}

TEST(JobRunner, ReadsRunWhileTheWriterIsBusyAndOnSeveralReadersAtOnce) {
  FakeDatabase db;
  auto runner = make_runner(db, {}, 2);
  ASSERT_FALSE(submit(*runner, insert("p", "committed")).get().has_value());
  Gate gate(*runner);  // the writer is now held inside a job
  // Two read jobs that each wait (bounded) until both are running: only true if the two readers run
  // them at the same time, while the writer is still held.
  std::atomic<int> running{0};
  std::vector<std::promise<bool>> saw(2);
  for (auto& s : saw) {
    runner->submit_read([&running, &s](Connection* c, const Error* e) {
      if (c == nullptr || e != nullptr) return s.set_value(false);
      ++running;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (running.load() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
      auto p = c->read_tx().get_project("p");
      s.set_value(running.load() == 2 && p.ok() && p->has_value());
    });
  }
  for (auto& s : saw) EXPECT_TRUE(s.get_future().get());
  gate.open();
}

TEST(JobRunner, OffloadedCallbacksRunAfterTheCommitOffTheWriterThread) {
  FakeDatabase db;
  StoreOptions options;
  options.offload_callbacks = true;
  auto runner = make_runner(db, options);
  std::promise<std::thread::id> writer_thread;
  auto p = std::make_shared<std::promise<std::pair<std::thread::id, bool>>>();
  runner->submit_write(JobRunner::WriteJob{
      [&](WriteTx& tx) {
        writer_thread.set_value(std::this_thread::get_id());
        return tx.insert_project(Project{"a", "a", "", 0, 0}).ok();
      },
      [&db, p](const Error* e) {
        p->set_value({std::this_thread::get_id(), e == nullptr && db.state().count("a") == 1});
      }});
  auto [callback_thread, committed] = p->get_future().get();
  EXPECT_TRUE(committed);
  EXPECT_NE(callback_thread, writer_thread.get_future().get());
}

TEST(JobRunner, CloseFinishesQueuedWorkThenRefusesAndReleasesTheConnections) {
  FakeDatabase db;
  auto runner = make_runner(db);
  EXPECT_EQ(db.connections_alive.load(), 3);
  std::future<std::optional<Error>> queued;
  {
    Gate gate(*runner);
    queued = submit(*runner, insert("a", "a"));
    gate.open();
  }
  runner->close();
  EXPECT_FALSE(queued.get().has_value());
  EXPECT_EQ(db.state().count("a"), 1u);
  EXPECT_EQ(db.connections_alive.load(), 0);
  auto late = submit(*runner, insert("b", "b"));
  ASSERT_TRUE(ready_within(late, std::chrono::seconds(0)));  // answered on this thread
  auto e = late.get();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, ErrorCode::kUnavailable);
  bool read_refused = false;
  runner->submit_read(
      [&](Connection* c, const Error* err) { read_refused = c == nullptr && err != nullptr; });
  EXPECT_TRUE(read_refused);
}

}  // namespace
}  // namespace taskman::store
