// SQLite store against real files in a temporary directory.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "core/text.hpp"
#include "support/temp_dir.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"

namespace taskman::store {
namespace {

using testing::TempDir;

template <class T>
Result<T> write_sync(Store& s, Store::WriteFn<T> fn) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  s.write<T>(std::move(fn), [&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

template <class T>
Result<T> read_sync(Store& s, Store::ReadFn<T> fn) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  s.read<T>(std::move(fn), [&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

Project project(const std::string& id, const std::string& name, TimeMs at = 1000) {
  return Project{id, name, "", at, at};
}

Task task(const std::string& id, TimeMs at) {
  Task t;
  t.id = id;
  t.title = "task " + id;
  t.created_at = t.updated_at = at;
  return t;
}

// Holds the writer inside a job until released, so the jobs queued meanwhile form one batch.
class WriterGate {
 public:
  explicit WriterGate(Store& s) {
    auto entered = entered_.get_future();
    auto release = release_.get_future().share();
    s.write<bool>(
        [this, release](WriteTx&) -> Result<bool> {
          entered_.set_value();
          release.wait();
          return true;
        },
        [](Result<bool>) {});
    entered.wait();
  }
  void open() { release_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = open_store("sqlite:" + dir_.file("sub/dir/t.db"));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CreatesParentDirectoriesAndMigrates) {
  EXPECT_TRUE(std::filesystem::exists(dir_.file("sub/dir/t.db")));
  auto v = migrate_database("sqlite:" + dir_.file("sub/dir/t.db"));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, sqlite_schema_version());
  EXPECT_TRUE(store_->ping_sync().ok());
}

TEST_F(StoreTest, RejectsUnknownUrls) {
  EXPECT_EQ(open_store("mysql://x").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(open_store("sqlite:").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(StoreTest, GroupCommitRollsBackOnlyTheFailingJob) {
  ASSERT_TRUE(write_sync<bool>(*store_, [](WriteTx& tx) -> Result<bool> {
                auto st = tx.insert_project(project("p0", "taken"));
                if (!st) return st.take_error();
                return true;
              }).ok());
  const auto before = store_->stats();

  WriterGate gate(*store_);
  std::vector<std::future<Result<bool>>> results;
  auto submit = [&](std::function<Result<bool>(WriteTx&)> fn) {
    auto p = std::make_shared<std::promise<Result<bool>>>();
    results.push_back(p->get_future());
    store_->write<bool>(std::move(fn), [p](Result<bool> r) { p->set_value(std::move(r)); });
  };
  submit([](WriteTx& tx) -> Result<bool> {
    if (auto st = tx.insert_project(project("p1", "one")); !st) return st.take_error();
    return true;
  });
  // Inserts a row, then fails on the duplicate name: its own first insert must vanish too.
  submit([](WriteTx& tx) -> Result<bool> {
    if (auto st = tx.insert_project(project("p2", "two")); !st) return st.take_error();
    if (auto st = tx.insert_project(project("p3", "taken")); !st) return st.take_error();
    return true;
  });
  submit([](WriteTx&) -> Result<bool> { throw std::runtime_error("boom"); });
  submit([](WriteTx& tx) -> Result<bool> {
    if (auto st = tx.insert_project(project("p4", "four")); !st) return st.take_error();
    return true;
  });
  gate.open();

  EXPECT_TRUE(results[0].get().ok());
  auto failed = results[1].get();
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, ErrorCode::kConflict);
  auto thrown = results[2].get();
  ASSERT_FALSE(thrown.ok());
  EXPECT_EQ(thrown.error().code, ErrorCode::kInternal);
  EXPECT_TRUE(results[3].get().ok());

  auto present =
      read_sync<std::vector<std::string>>(*store_, [](ReadTx& tx) -> Result<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const char* id : {"p1", "p2", "p3", "p4"}) {
          auto p = tx.get_project(id);
          if (!p) return p.take_error();
          if (p->has_value()) out.push_back(id);
        }
        return out;
      });
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(*present, (std::vector<std::string>{"p1", "p4"}));
  // The gate's batch and the four jobs: two commits, not five.
  const auto after = store_->stats();
  EXPECT_EQ(after.commits - before.commits, 2u);
  EXPECT_EQ(after.writes - before.writes, 5u);
}

TEST_F(StoreTest, TaskRoundTripWithListsAndCascadingDelete) {
  Task a = task("a", 1), b = task("b", 2), c = task("c", 3);
  b.labels = {"x", "y"};
  b.depends_on = {"a"};
  c.parent_id = "b";
  c.due_at = 5000;
  c.assignee = "bob";
  auto w = write_sync<bool>(*store_, [&](WriteTx& tx) -> Result<bool> {
    for (const Task* t : {&a, &b, &c}) {
      if (auto st = tx.insert_task(*t); !st) return st.take_error();
    }
    return true;
  });
  ASSERT_TRUE(w.ok()) << w.error().message;

  auto got = read_sync<std::optional<Task>>(*store_, [](ReadTx& tx) { return tx.get_task("b"); });
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ((*got)->depends_on, (std::vector<std::string>{"a"}));

  // Deleting a drops b's dependency (b changes: version + 1); deleting b orphans c.
  ASSERT_TRUE(write_sync<bool>(*store_, [](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.delete_task("a", 10); !st) return st.take_error();
                if (auto st = tx.delete_task("b", 11); !st) return st.take_error();
                return true;
              }).ok());
  auto orphan = read_sync<std::optional<Task>>(*store_, [](ReadTx& tx) { return tx.get_task("c"); });
  ASSERT_TRUE(orphan.ok() && orphan->has_value());
  EXPECT_FALSE((*orphan)->parent_id.has_value());
  EXPECT_EQ((*orphan)->version, 2);
  EXPECT_EQ((*orphan)->updated_at, 11);
  auto missing = write_sync<bool>(*store_, [](WriteTx& tx) -> Result<bool> {
    if (auto st = tx.delete_task("a", 12); !st) return st.take_error();
    return true;
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(StoreTest, FullTextQueryTreatsOperatorsAsWords) {
  Task a = task("a", 1);
  a.title = "Fix the login bug";
  Task b = task("b", 2);
  b.description = "login page: NEAR AND OR \"quoted\" -minus *star";
  ASSERT_TRUE(write_sync<bool>(*store_, [&](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.insert_task(a); !st) return st.take_error();
                if (auto st = tx.insert_task(b); !st) return st.take_error();
                return true;
              }).ok());
  auto search = [&](std::string q) {
    return read_sync<std::vector<Task>>(*store_, [q](ReadTx& tx) {
      TaskListQuery lq;
      lq.filter.q = q;
      return tx.list_tasks(lq);
    });
  };
  auto both = search("login");
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(both->size(), 2u);
  auto one = search("LOGIN bug");
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ(one->front().id, "a");
  for (const char* hostile : {"\"", "AND", "NEAR(", "-minus", "*", "a\"b OR", "(", "title:x"}) {
    auto r = search(hostile);
    EXPECT_TRUE(r.ok()) << hostile << ": " << r.error().message;
  }
}

TEST_F(StoreTest, FullTextIndexFollowsUpdatesDeletesAndRollbacks) {
  auto search = [&](std::string q) {
    auto r = read_sync<std::vector<Task>>(*store_, [q](ReadTx& tx) {
      TaskListQuery lq;
      lq.filter.q = q;
      return tx.list_tasks(lq);
    });
    std::vector<std::string> ids;
    if (r.ok()) {
      for (const auto& t : *r) ids.push_back(t.id);
    }
    return ids;
  };
  using V = std::vector<std::string>;
  Task a = task("a", 1);
  a.title = "apple";
  ASSERT_TRUE(write_sync<bool>(*store_, [&](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.insert_task(a); !st) return st.take_error();
                return true;
              }).ok());
  EXPECT_EQ(search("apple"), V{"a"});
  a.title = "banana";
  ASSERT_TRUE(write_sync<bool>(*store_, [&](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.update_task(a); !st) return st.take_error();
                return true;
              }).ok());
  EXPECT_EQ(search("apple"), V{});
  EXPECT_EQ(search("banana"), V{"a"});
  // A failing job's index changes vanish with its savepoint; a task created and deleted within one
  // batch leaves nothing behind.
  WriterGate gate(*store_);
  std::promise<Result<bool>> failed, churn;
  Task b = task("b", 2);
  b.title = "cherry";
  store_->write<bool>(
      [&](WriteTx& tx) -> Result<bool> {
        if (auto st = tx.insert_task(b); !st) return st.take_error();
        return Error::make(ErrorCode::kConflict, "changed my mind");
      },
      [&](Result<bool> r) { failed.set_value(std::move(r)); });
  Task c = task("c", 3);
  c.title = "damson";
  store_->write<bool>(
      [&](WriteTx& tx) -> Result<bool> {
        if (auto st = tx.insert_task(c); !st) return st.take_error();
        if (auto st = tx.delete_task("c", 4); !st) return st.take_error();
        return true;
      },
      [&](Result<bool> r) { churn.set_value(std::move(r)); });
  gate.open();
  EXPECT_FALSE(failed.get_future().get().ok());
  EXPECT_TRUE(churn.get_future().get().ok());
  EXPECT_EQ(search("cherry"), V{});
  EXPECT_EQ(search("damson"), V{});
  ASSERT_TRUE(write_sync<bool>(*store_, [&](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.delete_task("a", 5); !st) return st.take_error();
                return true;
              }).ok());
  EXPECT_EQ(search("banana"), V{});
}

TEST_F(StoreTest, CorruptEnumIsAnInternalErrorNotUndefinedBehaviour) {
  ASSERT_TRUE(write_sync<bool>(*store_, [&](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.insert_task(task("a", 1)); !st) return st.take_error();
                if (auto st = tx.insert_task(task("b", 2)); !st) return st.take_error();
                return true;
              }).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.file("sub/dir/t.db").c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(
      sqlite3_exec(
          db,
          "UPDATE tasks SET status = 'bogus' WHERE id = 'a'; UPDATE tasks SET priority = 9 WHERE id = 'b'",
          nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  for (const char* id : {"a", "b"}) {
    auto r = read_sync<std::optional<Task>>(*store_, [id](ReadTx& tx) { return tx.get_task(id); });
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  }
}

TEST_F(StoreTest, CommittedWritesSurviveReopen) {
  ASSERT_TRUE(write_sync<bool>(*store_, [](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.insert_project(project("p", "kept")); !st) return st.take_error();
                return true;
              }).ok());
  store_->close();
  auto s = open_store("sqlite:" + dir_.file("sub/dir/t.db"));
  ASSERT_TRUE(s.ok());
  auto p = read_sync<std::optional<Project>>(**s, [](ReadTx& tx) { return tx.get_project("p"); });
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->name, "kept");
}

TEST_F(StoreTest, ClosedStoreAnswersUnavailable) {
  store_->close();
  auto r = write_sync<bool>(*store_, [](WriteTx&) -> Result<bool> { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto q = read_sync<bool>(*store_, [](ReadTx&) -> Result<bool> { return true; });
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store_->ping_sync().error().code, ErrorCode::kUnavailable);
}

TEST(StoreBackpressure, FullQueueIsRefusedAtOnceAndCloseFinishesQueuedWork) {
  TempDir dir;
  StoreOptions opts;
  opts.max_queue = 2;
  auto s = open_store("sqlite:" + dir.file("q.db"), opts);
  ASSERT_TRUE(s.ok());
  Store& store = **s;
  WriterGate gate(store);
  std::vector<std::promise<Result<bool>>> results(3);
  for (int i = 0; i < 3; ++i) {
    const std::string id = "p" + std::to_string(i);
    store.write<bool>(
        [id](WriteTx& tx) -> Result<bool> {
          if (auto st = tx.insert_project(project(id, id)); !st) return st.take_error();
          return true;
        },
        [&results, i](Result<bool> r) { results[static_cast<std::size_t>(i)].set_value(std::move(r)); });
  }
  auto refused = results[2].get_future().get();  // answered on this thread, before the gate opens
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_GE(refused.error().retry_after_ms, 0);
  gate.open();
  store.close();  // finishes the two queued writes before returning
  EXPECT_TRUE(results[0].get_future().get().ok());
  EXPECT_TRUE(results[1].get_future().get().ok());
}

TEST(StoreOffload, CallbacksOnTheCompletionThreadAllRunAndSeeCommittedData) {
  TempDir dir;
  StoreOptions opts;
  opts.offload_callbacks = true;
  auto s = open_store("sqlite:" + dir.file("o.db"), opts);
  ASSERT_TRUE(s.ok());
  constexpr int kWrites = 200;
  std::vector<std::promise<bool>> seen(kWrites);
  for (int i = 0; i < kWrites; ++i) {
    const std::string id = "p" + std::to_string(i);
    (*s)->write<bool>(
        [id](WriteTx& tx) -> Result<bool> {
          if (auto st = tx.insert_project(project(id, id)); !st) return st.take_error();
          return true;
        },
        [&, id, i](Result<bool> r) {
          // Committed before the callback: a reader already sees the row.
          auto p = read_sync<std::optional<Project>>(**s, [id](ReadTx& tx) { return tx.get_project(id); });
          seen[static_cast<std::size_t>(i)].set_value(r.ok() && p.ok() && p->has_value());
        });
  }
  for (auto& f : seen) EXPECT_TRUE(f.get_future().get());
  (*s)->close();
}

TEST_F(StoreTest, RefusesSchemaNewerThanTheBuild) {
  store_->close();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.file("sub/dir/t.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 0)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto s = open_store("sqlite:" + dir_.file("sub/dir/t.db"));
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("newer"), std::string::npos);
}

TEST_F(StoreTest, ReadersSeeOneSnapshotWhileWritesContinue) {
  // Many concurrent writers and readers: every read of a project count is consistent with itself
  // (the two queries of one read job see the same snapshot).
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      auto id = "p" + std::to_string(i);
      (void)write_sync<bool>(*store_, [id](WriteTx& tx) -> Result<bool> {
        if (auto st = tx.insert_project(project(id, id, 1000 + std::stoi(id.substr(1)))); !st)
          return st.take_error();
        return true;
      });
    }
    stop = true;
  });
  int checks = 0;
  while (!stop) {
    auto r = read_sync<bool>(*store_, [](ReadTx& tx) -> Result<bool> {
      auto a = tx.list_projects(PageQuery{std::nullopt, 1000});
      if (!a) return a.take_error();
      std::this_thread::yield();
      auto b = tx.list_projects(PageQuery{std::nullopt, 1000});
      if (!b) return b.take_error();
      return a->size() == b->size();
    });
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(*r);
    ++checks;
  }
  writer.join();
  EXPECT_GT(checks, 0);
}

// SPEC §3: a 2xx (here: a write callback) means committed; it survives kill -9. A child process
// writes as fast as it can and reports each acknowledged id on a pipe; the parent kills it with
// SIGKILL mid-stream and then finds every acknowledged row in the file. (Not a fixture test: the
// fork happens before this process starts any thread.)
TEST(StoreDurability, AcknowledgedWritesSurviveSigkill) {
  TempDir dir;
  const std::string url = "sqlite:" + dir.file("kill.db");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto s = open_store(url);
    if (!s) ::_exit(3);
    std::atomic<int> next{0};
    std::function<void()> submit = [&] {
      const std::string id = "p" + std::to_string(next++);
      (*s)->write<bool>(
          [id](WriteTx& tx) -> Result<bool> {
            if (auto st = tx.insert_project(project(id, id)); !st) return st.take_error();
            return true;
          },
          [&, id](Result<bool> r) {
            if (!r.ok()) ::_exit(4);
            const std::string line = id + "\n";
            if (::write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(5);
            submit();
          });
    };
    for (int i = 0; i < 16; ++i) submit();
    for (;;) ::pause();
  }
  ::close(fds[1]);
  std::string acked;
  char buf[4096];
  auto lines = [&] { return std::count(acked.begin(), acked.end(), '\n'); };
  while (lines() < 300) {
    const auto n = ::read(fds[0], buf, sizeof buf);
    ASSERT_GT(n, 0) << "child stopped early";
    acked.append(buf, static_cast<std::size_t>(n));
  }
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  for (;;) {  // acknowledgements written before the kill
    const auto n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    acked.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);

  auto s = open_store(url);
  ASSERT_TRUE(s.ok()) << s.error().message;
  std::vector<std::string> ids;
  for (std::size_t pos = 0; pos < acked.size();) {
    const auto nl = acked.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line is not an acknowledgement
    ids.push_back(acked.substr(pos, nl - pos));
    pos = nl + 1;
  }
  auto missing =
      read_sync<std::vector<std::string>>(**s, [&](ReadTx& tx) -> Result<std::vector<std::string>> {
        std::vector<std::string> out;
        for (const auto& id : ids) {
          auto p = tx.get_project(id);
          if (!p) return p.take_error();
          if (!p->has_value()) out.push_back(id);
        }
        return out;
      });
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_GE(ids.size(), 300u);
  EXPECT_TRUE(missing->empty()) << missing->size() << " acknowledged writes lost, first " << missing->front();
}

}  // namespace
}  // namespace taskman::store
