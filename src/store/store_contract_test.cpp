// The store contract: what every engine must do, run against each engine of this build through
// the factory (open_store) and the Store interface only. A new engine joins by one entry in
// kEngines at the end of this file.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <ostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "store/store.hpp"
#include "store/store_testing.hpp"
#include "support/pg_cluster.hpp"
#include "support/temp_dir.hpp"

namespace taskman::store {
namespace {

using namespace store::testing;
using taskman::testing::TempDir;

// An engine under test: the name its stores report, and the URL of a fresh database `name`
// (distinct names are distinct databases) set up for one test in `dir`.
struct EngineUnderTest {
  std::string name;
  std::function<std::string(const TempDir& dir, const std::string& name)> url;
};

void PrintTo(const EngineUnderTest& engine, std::ostream* os) { *os << engine.name; }

class StoreContract : public ::testing::TestWithParam<EngineUnderTest> {
 protected:
  void SetUp() override {
    url_ = url_for("t");
    auto s = open_store(url_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  std::string url_for(const std::string& name) const { return GetParam().url(dir_, name); }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, ReportsItsEngineAndTheSchemaVersionMigrationReaches) {
  EXPECT_EQ(store_->engine(), GetParam().name);
  EXPECT_GE(store_->schema_version(), 1);
  auto v = migrate_database(url_);
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, store_->schema_version());
  auto target = describe_database(url_);
  ASSERT_TRUE(target.ok()) << target.error().message;
  EXPECT_EQ(target->engine, GetParam().name);
  EXPECT_TRUE(store_->ping_sync().ok());
}

TEST_P(StoreContract, GroupCommitRollsBackOnlyTheFailingJob) {
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

TEST_P(StoreContract, TaskRoundTripWithListsAndCascadingDelete) {
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

TEST_P(StoreContract, FullTextQueryTreatsOperatorsAsWords) {
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

TEST_P(StoreContract, FullTextIndexFollowsUpdatesDeletesAndRollbacks) {
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

TEST_P(StoreContract, CommittedWritesSurviveReopen) {
  ASSERT_TRUE(write_sync<bool>(*store_, [](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.insert_project(project("p", "kept")); !st) return st.take_error();
                return true;
              }).ok());
  store_->close();
  auto s = open_store(url_);
  ASSERT_TRUE(s.ok());
  auto p = read_sync<std::optional<Project>>(**s, [](ReadTx& tx) { return tx.get_project("p"); });
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->name, "kept");
}

TEST_P(StoreContract, ClosedStoreAnswersUnavailable) {
  store_->close();
  auto r = write_sync<bool>(*store_, [](WriteTx&) -> Result<bool> { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  auto q = read_sync<bool>(*store_, [](ReadTx&) -> Result<bool> { return true; });
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(store_->ping_sync().error().code, ErrorCode::kUnavailable);
}

TEST_P(StoreContract, FullQueueIsRefusedAtOnceAndCloseFinishesQueuedWork) {
  StoreOptions opts;
  opts.max_queue = 2;
  auto s = open_store(url_for("q"), opts);
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

TEST_P(StoreContract, CallbacksOnTheCompletionThreadAllRunAndSeeCommittedData) {
  StoreOptions opts;
  opts.offload_callbacks = true;
  auto s = open_store(url_for("o"), opts);
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

TEST_P(StoreContract, ReadersSeeOneSnapshotWhileWritesContinue) {
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

// Every engine of this build. PostgreSQL runs in a throwaway cluster of this test process, a fresh
// database per URL; if that cluster cannot start, every PostgreSQL test fails with the reason.
const EngineUnderTest kEngines[] = {
    {"sqlite",
     [](const TempDir& dir, const std::string& name) { return "sqlite:" + dir.file(name + ".db"); }},
    {"postgresql",
     [](const TempDir&, const std::string& name) {
       return taskman::testing::PgCluster::shared().fresh_database(name);
     }},
};

INSTANTIATE_TEST_SUITE_P(Engines, StoreContract, ::testing::ValuesIn(kEngines),
                         [](const ::testing::TestParamInfo<EngineUnderTest>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace taskman::store
