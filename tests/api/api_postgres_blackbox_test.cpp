// `taskman api` and `taskman migrate` on PostgreSQL through the real binary and a throwaway
// cluster: durability across kill -9 during a write burst, migrate, the start-up error of an
// unreachable server, a password that is never printed, and an outage while running (readiness
// down, 503 + Retry-After without hanging, back by itself).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "support/pg_cluster.hpp"
#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Process::Options api_options(const TempDir& dir, const std::string& url) {
  Process::Options o;
  o.args = {"api", "--api-port", "0", "--database-url", url};
  o.cwd = dir.path();
  return o;
}

std::string db_of(const std::string& url) { return url.substr(url.rfind('/') + 1); }

HttpResponse create(int port, const std::string& title) {
  return http(port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
              json{{"title", title}}.dump());
}

// Polls `probe` (bounded) until it returns true.
template <class F>
bool eventually(F probe, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Several writers create tasks while `taskman api` is SIGKILLed mid-burst: every create answered
// 201 is in the database afterwards (seen by a restarted server and by a direct count).
TEST(ApiPostgres, KillDuringAWriteBurstLosesNoAcknowledgedWrite) {
  TempDir dir;
  const std::string url = PgCluster::shared().fresh_database("burst");
  std::set<std::string> acked;
  std::mutex mu;
  {
    Process api(api_options(dir, url));
    const int port = api.wait_for_port("taskman-api");
    ASSERT_GT(port, 0) << api.stderr_text();
    std::atomic<bool> stop{false};
    std::promise<void> enough;
    std::atomic<bool> signalled{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 6; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; !stop; ++i) {
          HttpResponse r;
          try {
            r = create(port, "burst " + std::to_string(w) + "-" + std::to_string(i));
          } catch (const std::exception&) {
            return;  // the server died under this request: no promise was made
          }
          std::lock_guard lock(mu);
          if (r.status == 201) acked.insert(json::parse(r.body)["id"].get<std::string>());
          if (acked.size() >= 300 && !signalled.exchange(true)) enough.set_value();
        }
      });
    }
    enough.get_future().wait();
    api.signal(SIGKILL);  // the writers are still sending
    EXPECT_EQ(api.wait_exit(), 128 + SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
  }
  ASSERT_GE(acked.size(), 300u);
  Process again(api_options(dir, url));
  const int port = again.wait_for_port("taskman-api");
  ASSERT_GT(port, 0) << again.stderr_text();
  std::set<std::string> found;
  std::string target = "/api/v1/tasks?limit=100";
  for (int page = 0; page < 1000; ++page) {
    auto r = http(port, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    for (const auto& t : j["items"]) found.insert(t["id"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    target = "/api/v1/tasks?limit=100&cursor=" + j["next_cursor"].get<std::string>();
  }
  for (const auto& id : acked) EXPECT_EQ(found.count(id), 1u) << "acknowledged task " << id << " was lost";
  EXPECT_EQ(PgCluster::shared().sql(db_of(url), "SELECT count(*) FROM tasks"), std::to_string(found.size()));
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait_exit(), 0);
}

TEST(ApiPostgres, MigrateCreatesTheSchemaIsIdempotentAndNeverPrintsThePassword) {
  TempDir dir;
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.fresh_database("mig");
  for (int i = 0; i < 2; ++i) {
    Process::Options o;
    o.args = {"migrate", "--database-url", url};
    o.cwd = dir.path();
    Process m(o);
    EXPECT_EQ(m.wait_exit(), 0) << m.stderr_text();
    EXPECT_EQ(m.stderr_text().find(cluster.password()), std::string::npos) << m.stderr_text();
  }
  EXPECT_EQ(cluster.sql(db_of(url), "SELECT max(version) FROM schema_migrations"), "1");
}

int unused_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(ApiPostgres, UnreachableAtStartExitsOneNamingHostAndPortWithoutThePassword) {
  TempDir dir;
  const int port = unused_port();
  Process api(api_options(dir, "postgres://taskman:S3cretPw@127.0.0.1:" + std::to_string(port) + "/tasks"));
  EXPECT_EQ(api.wait_exit(), 1);
  const std::string err = api.stderr_text();
  EXPECT_NE(err.find("127.0.0.1:" + std::to_string(port)), std::string::npos) << err;
  EXPECT_EQ(err.find("S3cretPw"), std::string::npos) << err;
}

TEST(ApiPostgres, ConfigCheckAcceptsPostgresUrlsAndRedactsThePassword) {
  TempDir dir;
  for (const char* scheme : {"postgres", "postgresql"}) {
    Process::Options o;
    o.args = {"config", "check"};
    o.env = {
        {"DATABASE_URL", std::string(scheme) + "://taskman:S3cretPw@db.example:5432/tasks?sslmode=require"}};
    o.cwd = dir.path();
    o.capture_stdout = true;
    Process check(o);
    std::string out;
    while (auto line = check.read_stdout_line(std::chrono::seconds(5))) out += *line + "\n";
    EXPECT_EQ(check.wait_exit(), 0) << check.stderr_text();
    EXPECT_NE(out.find("DATABASE_URL"), std::string::npos) << out;
    EXPECT_NE(out.find("db.example:5432/tasks"), std::string::npos) << out;
    EXPECT_EQ(out.find("S3cretPw"), std::string::npos) << out;
  }
}

// PostgreSQL stops under a running server and comes back: readiness goes down and up by itself,
// requests meanwhile get 503 with Retry-After within a bounded time, nothing acknowledged is lost.
TEST(ApiPostgres, OutageWhileRunningIsReportedAndRecoveredFrom) {
  TempDir dir;
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.fresh_database("outage");
  Process api(api_options(dir, url));
  const int port = api.wait_for_port("taskman-api");
  ASSERT_GT(port, 0) << api.stderr_text();
  auto before = create(port, "before the outage");
  ASSERT_EQ(before.status, 201) << before.body;
  ASSERT_EQ(http(port, "GET", "/health/ready").status, 200);

  cluster.stop();
  EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health/ready").status == 503; }));
  for (int i = 0; i < 3; ++i) {
    const auto start = Clock::now();
    auto w = create(port, "during the outage");
    auto r = http(port, "GET", "/api/v1/tasks");
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(12)) << "requests must not hang";
    EXPECT_EQ(w.status, 503) << w.body;
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_FALSE(w.headers["retry-after"].empty());
    EXPECT_FALSE(r.headers["retry-after"].empty());
  }

  cluster.start();
  EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health/ready").status == 200; }));
  EXPECT_TRUE(eventually([&] { return create(port, "after the outage").status == 201; }));
  auto list = http(port, "GET", "/api/v1/tasks?limit=100");
  ASSERT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(json::parse(before.body)["id"].get<std::string>()), std::string::npos);
  api.signal(SIGTERM);
  EXPECT_EQ(api.wait_exit(), 0) << api.stderr_text();
}

// PostgreSQL stopped for 10 s under load from several writers and a reader, then started: no
// request takes longer than its bound, readiness goes down and comes back, every create answered
// 201 (before, during or after) is stored.
TEST(ApiPostgres, StoppedForTenSecondsUnderLoadNothingHangsNothingAcknowledgedIsLost) {
  TempDir dir;
  auto& cluster = PgCluster::shared();
  const std::string url = cluster.fresh_database("load");
  Process api(api_options(dir, url));
  const int port = api.wait_for_port("taskman-api");
  ASSERT_GT(port, 0) << api.stderr_text();

  std::mutex mu;
  std::set<std::string> acked;
  std::map<int, int> statuses;
  Clock::duration slowest{};
  std::atomic<bool> stop{false};
  auto timed = [&](auto&& request) {
    const auto start = Clock::now();
    HttpResponse r = request();
    const auto took = Clock::now() - start;
    std::lock_guard lk(mu);
    slowest = std::max(slowest, took);
    ++statuses[r.status];
    return r;
  };
  std::vector<std::thread> load;
  for (int w = 0; w < 4; ++w) {
    load.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        auto r = timed([&] { return create(port, "load " + std::to_string(w) + "-" + std::to_string(i)); });
        if (r.status == 201) {
          std::lock_guard lk(mu);
          acked.insert(json::parse(r.body)["id"].get<std::string>());
        }
      }
    });
  }
  load.emplace_back([&] {
    while (!stop) timed([&] { return http(port, "GET", "/api/v1/tasks?limit=5"); });
  });
  auto acked_count = [&] {
    std::lock_guard lk(mu);
    return acked.size();
  };
  ASSERT_TRUE(eventually([&] { return acked_count() >= 50; }));

  cluster.stop();
  const auto stopped_at = Clock::now();
  EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health/ready").status == 503; }));
  // The outage lasts 10 s; readiness must stay down all that time.
  bool ready_while_down = false;
  while (Clock::now() - stopped_at < std::chrono::seconds(10)) {
    ready_while_down = ready_while_down || http(port, "GET", "/health/ready").status == 200;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_FALSE(ready_while_down);
  const std::size_t before_restart = acked_count();
  cluster.start();
  EXPECT_TRUE(eventually([&] { return http(port, "GET", "/health/ready").status == 200; }));
  EXPECT_TRUE(eventually([&] { return acked_count() >= before_restart + 50; })) << "writes resume";
  stop = true;
  for (auto& t : load) t.join();

  EXPECT_LT(slowest, std::chrono::seconds(8)) << "a request hung past its bound";
  EXPECT_GT(statuses[503], 0) << "requests during the outage are refused, not held";
  for (const auto& [status, n] : statuses) {
    EXPECT_TRUE(status == 200 || status == 201 || status == 503) << n << " answers with status " << status;
  }
  EXPECT_EQ(cluster.sql(
                db_of(url), "SELECT count(*) FROM tasks WHERE id = ANY('{" +
                                [&] {
                                  std::string ids;
                                  for (const auto& id : acked) ids += (ids.empty() ? "" : ",") + id;
                                  return ids;
                                }() +
                                "}')"),
            std::to_string(acked.size()))
      << "an acknowledged create was lost";
  api.signal(SIGTERM);
  EXPECT_EQ(api.wait_exit(), 0) << api.stderr_text();
}

}  // namespace
}  // namespace taskman::testing
