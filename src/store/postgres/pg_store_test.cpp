// What only PostgreSQL has: several store instances (processes) on one database, through the
// domain — an Idempotency-Key in flight elsewhere, concurrent If-Match updates and dependency
// edges; migrations started at once and schema versions; libpq environment variables; a server
// that goes away and comes back; the statement timeout. Runs against a throwaway cluster.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include "store/postgres/pg_conn.hpp"
#include "store/store.hpp"
#include "store/store_testing.hpp"
#include "support/pg_cluster.hpp"
#include "tasks/codec.hpp"
#include "tasks/service.hpp"

namespace taskman::store {
namespace {

using namespace store::testing;
using taskman::testing::PgCluster;
using tasks::Created;
using tasks::Idempotency;
using tasks::TaskService;

template <class T, class F>
Result<T> sync(F&& start) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  start([&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

// A write job that holds the writer's transaction open (after the jobs queued before it in the
// same group ran) until released.
class Hold {
 public:
  explicit Hold(Store& s) {
    auto release = release_.get_future().share();
    s.write<bool>(
        [this, release](WriteTx&) -> Result<bool> {
          entered_.set_value();
          release.wait();
          return true;
        },
        [](Result<bool>) {});
  }
  void wait_entered() { entered_.get_future().wait(); }
  void open() { release_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
};

std::string db_name(const std::string& url) { return describe_database(url).value().name; }

// Polls (bounded) until a session of `db` waits for a lock: the other instance's job is blocked.
bool wait_for_lock_waiter(const std::string& db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (PgCluster::shared().sql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db +
                                                "' AND wait_event_type = 'Lock'") != "0") {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

class TwoInstances : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = PgCluster::shared().fresh_database("two");
    for (auto* s : {&a_, &b_}) {
      auto opened = open_store(url_);
      ASSERT_TRUE(opened.ok()) << opened.error().message;
      *s = std::move(*opened);
    }
    svc_a_ = std::make_unique<TaskService>(*a_);
    svc_b_ = std::make_unique<TaskService>(*b_);
  }
  tasks::Task must_create(TaskService& svc, std::string_view json) {
    auto r = sync<Created<tasks::Task>>([&](auto cb) {
      svc.create_task(ctx_, tasks::decode_task(json, tasks::Mode::kCreate).value(), std::nullopt, cb);
    });
    if (!r) throw std::runtime_error(r.error().message);
    return r->value;
  }
  static Idempotency<tasks::Task> idem(const std::string& key) {
    return Idempotency<tasks::Task>{
        key, "fp", [](const tasks::Task& t) {
          return tasks::Reply{201, tasks::encode_task(t), {{"Location", "/t/" + t.id}}};
        }};
  }

  std::string url_;
  std::unique_ptr<Store> a_, b_;
  std::unique_ptr<TaskService> svc_a_, svc_b_;
  RequestContext ctx_;
};

TEST_F(TwoInstances, IdempotencyKeyInFlightOnOneIsAConflictOnTheOtherThenReplays) {
  auto gate = std::make_unique<WriterGate>(*a_);
  std::promise<Result<Created<tasks::Task>>> first;
  svc_a_->create_task(ctx_, tasks::decode_task(R"({"title":"once"})", tasks::Mode::kCreate).value(),
                      idem("k"), [&](Result<Created<tasks::Task>> r) { first.set_value(std::move(r)); });
  Hold hold(*a_);  // same group as the create: its transaction stays open with the key claimed
  gate->open();
  hold.wait_entered();

  auto in_flight = sync<Created<tasks::Task>>([&](auto cb) {
    svc_b_->create_task(ctx_, tasks::decode_task(R"({"title":"once"})", tasks::Mode::kCreate).value(),
                        idem("k"), cb);
  });
  ASSERT_FALSE(in_flight.ok());
  EXPECT_EQ(in_flight.error().code, ErrorCode::kConflict);
  EXPECT_NE(in_flight.error().message.find("in progress"), std::string::npos) << in_flight.error().message;
  EXPECT_GE(in_flight.error().retry_after_ms, 0);

  hold.open();
  auto created = first.get_future().get();
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_FALSE(created->replay.has_value());
  auto replayed = sync<Created<tasks::Task>>([&](auto cb) {
    svc_b_->create_task(ctx_, tasks::decode_task(R"({"title":"once"})", tasks::Mode::kCreate).value(),
                        idem("k"), cb);
  });
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  ASSERT_TRUE(replayed->replay.has_value());
  EXPECT_EQ(replayed->replay->body, tasks::encode_task(created->value));
  EXPECT_EQ(PgCluster::shared().sql(db_name(url_), "SELECT count(*) FROM tasks"), "1");
}

TEST_F(TwoInstances, SameExpectedVersionOnBothInstancesExactlyOneWins) {
  const auto t = must_create(*svc_a_, R"({"title":"contended"})");
  auto gate = std::make_unique<WriterGate>(*a_);
  std::promise<Result<tasks::Task>> on_a;
  svc_a_->update_task(ctx_, t.id, tasks::decode_task(R"({"title":"by a"})", tasks::Mode::kPatch).value(), 1,
                      [&](Result<tasks::Task> r) { on_a.set_value(std::move(r)); });
  Hold hold(*a_);
  gate->open();
  hold.wait_entered();  // a has updated the row, not committed
  std::promise<Result<tasks::Task>> on_b;
  svc_b_->update_task(ctx_, t.id, tasks::decode_task(R"({"title":"by b"})", tasks::Mode::kPatch).value(), 1,
                      [&](Result<tasks::Task> r) { on_b.set_value(std::move(r)); });
  ASSERT_TRUE(wait_for_lock_waiter(db_name(url_)));  // b waits for a's row
  hold.open();
  auto a = on_a.get_future().get();
  auto b = on_b.get_future().get();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kPreconditionFailed) << b.error().message;
  EXPECT_EQ(PgCluster::shared().sql(db_name(url_), "SELECT title || ' v' || version FROM tasks"), "by a v2");
}

TEST_F(TwoInstances, OppositeDependenciesOnBothInstancesCannotMakeACycle) {
  const auto x = must_create(*svc_a_, R"({"title":"x"})");
  const auto y = must_create(*svc_a_, R"({"title":"y"})");
  auto gate = std::make_unique<WriterGate>(*a_);
  std::promise<Result<tasks::Task>> on_a;
  svc_a_->update_task(
      ctx_, x.id, tasks::decode_task(R"({"depends_on":[")" + y.id + R"("]})", tasks::Mode::kPatch).value(),
      std::nullopt, [&](Result<tasks::Task> r) { on_a.set_value(std::move(r)); });
  Hold hold(*a_);
  gate->open();
  hold.wait_entered();  // x -> y written, not committed
  std::promise<Result<tasks::Task>> on_b;
  svc_b_->update_task(
      ctx_, y.id, tasks::decode_task(R"({"depends_on":[")" + x.id + R"("]})", tasks::Mode::kPatch).value(),
      std::nullopt, [&](Result<tasks::Task> r) { on_b.set_value(std::move(r)); });
  ASSERT_TRUE(wait_for_lock_waiter(db_name(url_)));  // b waits for the graph
  hold.open();
  auto a = on_a.get_future().get();
  auto b = on_b.get_future().get();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::kUnprocessable) << b.error().message;
  EXPECT_EQ(PgCluster::shared().sql(db_name(url_), "SELECT count(*) FROM task_deps"), "1");
}

TEST(PgMigrations, InstancesStartingAtOnceMigrateOnceAndAllOpen) {
  const std::string url = PgCluster::shared().fresh_database("mig");
  constexpr int kInstances = 6;
  std::vector<std::future<Result<int>>> started;
  for (int i = 0; i < kInstances; ++i) {
    started.push_back(std::async(std::launch::async, [&url]() -> Result<int> {
      auto s = open_store(url);
      if (!s) return s.take_error();
      return (*s)->schema_version();
    }));
  }
  for (auto& f : started) {
    auto v = f.get();
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(*v, 1);
  }
  const std::string db = db_name(url);
  EXPECT_EQ(PgCluster::shared().sql(db, "SELECT count(*) FROM schema_migrations"), "1");
  auto again = migrate_database(url);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, 1);
}

TEST(PgMigrations, DatabaseOfANewerBuildIsRefusedAndAnUnmigratedOneNamesTheCommand) {
  const std::string fresh = PgCluster::shared().fresh_database("old");
  StoreOptions no_migration;
  no_migration.migrate = false;
  auto unmigrated = open_store(fresh, no_migration);
  ASSERT_FALSE(unmigrated.ok());
  EXPECT_NE(unmigrated.error().message.find("taskman migrate"), std::string::npos)
      << unmigrated.error().message;

  ASSERT_TRUE(migrate_database(fresh).ok());
  PgCluster::shared().sql(db_name(fresh), "INSERT INTO schema_migrations VALUES (99, 0)");
  auto opened = open_store(fresh);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("newer than this build"), std::string::npos)
      << opened.error().message;
  auto migrated = migrate_database(fresh);
  ASSERT_FALSE(migrated.ok());
  EXPECT_NE(migrated.error().message.find("99"), std::string::npos) << migrated.error().message;
}

TEST(PgConnection, LibpqEnvironmentIsHonouredAndThePasswordNeverInErrors) {
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.fresh_database("env");
  const std::string bare = cluster.url_without_password(db_name(url));
  ::setenv("PGPASSWORD", cluster.password().c_str(), 1);
  auto with_env = open_store(bare);
  // PGSSLMODE too: the test cluster has no TLS, so "require" must make the connection fail.
  ::setenv("PGSSLMODE", "require", 1);
  auto tls_required = open_store(bare);
  ::unsetenv("PGSSLMODE");
  ::unsetenv("PGPASSWORD");
  ASSERT_TRUE(with_env.ok()) << with_env.error().message;
  (*with_env)->close();
  ASSERT_FALSE(tls_required.ok());
  EXPECT_NE(tls_required.error().message.find("SSL"), std::string::npos) << tls_required.error().message;

  const std::string wrong = "Wr0ng-" + cluster.password();
  auto refused = open_store("postgres://postgres:" + wrong + "@127.0.0.1:" + std::to_string(cluster.port()) +
                            "/" + db_name(url));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(refused.error().message.find("127.0.0.1:" + std::to_string(cluster.port())), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("password authentication failed"), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(refused.error().message.find(wrong), std::string::npos) << refused.error().message;
  // A malformed URL whose error echoes part of it: the password is masked.
  auto malformed = open_store("postgres://postgres:" + wrong + "%zz@127.0.0.1/db");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().message.find(wrong), std::string::npos) << malformed.error().message;
}

TEST(PgConnection, StatementTimeoutEndsARunawayQuery) {
  postgres::ConnectOptions o;
  o.url = PgCluster::shared().fresh_database("slow");
  o.statement_timeout_ms = 200;
  auto c = postgres::PgConn::connect(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto start = std::chrono::steady_clock::now();
  auto r = (*c)->query("SELECT pg_sleep(10)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable) << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE((*c)->query("SELECT 1").ok());  // the connection is still good
}

// The server stops under an open store: every call fails fast with kUnavailable (503 + Retry-After
// at the REST surface), then the store reconnects by itself once the server is back.
TEST(PgOutage, CallsFailFastWhileTheServerIsDownAndTheStoreReconnects) {
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.fresh_database("outage");
  auto opened = open_store(url);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  Store& s = **opened;
  ASSERT_TRUE(write_sync<bool>(s, [](WriteTx& tx) -> Result<bool> {
                if (auto st = tx.insert_project(project("p1", "before")); !st) return st.take_error();
                return true;
              }).ok());
  cluster.stop();
  auto fast = [](auto&& call) {
    const auto start = std::chrono::steady_clock::now();
    auto r = call();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(6));
    return r;
  };
  for (int i = 0; i < 3; ++i) {
    auto read = fast([&] {
      return read_sync<std::optional<Project>>(s, [](ReadTx& tx) { return tx.get_project("p1"); });
    });
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().code, ErrorCode::kUnavailable) << read.error().message;
    EXPECT_GE(read.error().retry_after_ms, 0);
    auto write = fast([&] {
      return write_sync<bool>(s, [](WriteTx& tx) -> Result<bool> {
        if (auto st = tx.insert_project(project("p2", "during")); !st) return st.take_error();
        return true;
      });
    });
    ASSERT_FALSE(write.ok());
    EXPECT_EQ(write.error().code, ErrorCode::kUnavailable) << write.error().message;
    auto ping = fast([&] { return s.ping_sync(); });
    ASSERT_FALSE(ping.ok());
    EXPECT_EQ(ping.error().code, ErrorCode::kUnavailable);
  }
  cluster.start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!s.ping_sync().ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(s.ping_sync().ok());
  // Reader and writer connections come back on their next job (after the retry interval).
  Result<std::optional<Project>> read = Error::make(ErrorCode::kUnavailable, "not tried");
  Result<bool> write = Error::make(ErrorCode::kUnavailable, "not tried");
  while (std::chrono::steady_clock::now() < deadline && (!read.ok() || !write.ok())) {
    if (!read.ok())
      read = read_sync<std::optional<Project>>(s, [](ReadTx& tx) { return tx.get_project("p1"); });
    if (!write.ok()) {
      write = write_sync<bool>(s, [](WriteTx& tx) -> Result<bool> {
        if (auto st = tx.insert_project(project("p3", "after")); !st) return st.take_error();
        return true;
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ((*read)->name, "before");
  ASSERT_TRUE(write.ok()) << write.error().message;
  EXPECT_EQ(PgCluster::shared().sql(db_name(url), "SELECT string_agg(id, ',' ORDER BY id) FROM projects"),
            "p1,p3");
}

}  // namespace
}  // namespace taskman::store
