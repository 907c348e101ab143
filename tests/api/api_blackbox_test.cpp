// The REST API through the real binary (`taskman api`): durability across kill -9, and the
// `taskman migrate` entry point.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

Process::Options api_options(const TempDir& dir) {
  Process::Options o;
  o.args = {"api", "--api-port", "0", "--database-url", "sqlite:" + dir.path() + "/data/tasks.db"};
  o.cwd = dir.path();
  return o;
}

// docs/api.md#durability: a 2xx answer means the change is committed and survives kill -9 of the server.
TEST(ApiBlackbox, AcknowledgedCreatesSurviveKill9) {
  TempDir dir;
  std::set<std::string> acked;
  {
    Process api(api_options(dir));
    const int port = api.wait_for_port("taskman-api");
    ASSERT_GT(port, 0);
    for (int i = 0; i < 50; ++i) {
      auto r = http(port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
                    R"({"title":"durable )" + std::to_string(i) + "\"}");
      ASSERT_EQ(r.status, 201) << r.body;
      acked.insert(json::parse(r.body)["id"].get<std::string>());
    }
    api.signal(SIGKILL);
    EXPECT_EQ(api.wait_exit(), 128 + SIGKILL);
  }
  Process again(api_options(dir));
  const int port = again.wait_for_port("taskman-api");
  ASSERT_GT(port, 0);
  std::set<std::string> found;
  std::string target = "/api/v1/tasks?limit=100";
  for (int page = 0; page < 10; ++page) {
    auto r = http(port, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    for (const auto& t : j["items"]) found.insert(t["id"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    target = "/api/v1/tasks?limit=100&cursor=" + j["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(found, acked);
}

// Runs a shell command and returns its stdout (for the sqlite3 CLI, a checker we did not write).
std::string run_command(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ::pclose(p);
  return out;
}

std::set<std::string> all_task_ids(int port) {
  std::set<std::string> found;
  std::string target = "/api/v1/tasks?limit=100";
  for (int page = 0; page < 1000; ++page) {
    auto r = http(port, "GET", target);
    if (r.status != 200) throw std::runtime_error("list failed: " + r.body);
    auto j = json::parse(r.body);
    for (const auto& t : j["items"]) found.insert(t["id"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    target = "/api/v1/tasks?limit=100&cursor=" + j["next_cursor"].get<std::string>();
  }
  return found;
}

// Writers keep creating tasks from several threads while the server is SIGKILLed mid-burst.
// Every create that was answered 2xx must be there after a restart, and the file must be sound.
TEST(ApiBlackbox, KillDuringAWriteBurstLosesNoAcknowledgedWrite) {
  TempDir dir;
  std::set<std::string> acked;
  std::mutex mu;
  int unanswered = 0;
  {
    Process api(api_options(dir));
    const int port = api.wait_for_port("taskman-api");
    std::atomic<bool> stop{false};
    std::promise<void> enough;
    std::atomic<bool> signalled{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; !stop; ++i) {
          HttpResponse r;
          try {
            r = http(port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
                     R"({"title":"burst )" + std::to_string(w) + "-" + std::to_string(i) + "\"}");
          } catch (const std::exception&) {
            std::lock_guard lock(mu);
            ++unanswered;  // the server died under this request: no promise was made
            return;
          }
          std::lock_guard lock(mu);
          if (r.status == 201) acked.insert(json::parse(r.body)["id"].get<std::string>());
          if (acked.size() >= 200 && !signalled.exchange(true)) enough.set_value();
        }
      });
    }
    enough.get_future().wait();
    api.signal(SIGKILL);  // the writers are still sending
    EXPECT_EQ(api.wait_exit(), 128 + SIGKILL);
    stop = true;
    for (auto& t : writers) t.join();
  }
  EXPECT_GE(acked.size(), 200u);
  Process again(api_options(dir));
  const int port = again.wait_for_port("taskman-api");
  const auto found = all_task_ids(port);
  for (const auto& id : acked) EXPECT_EQ(found.count(id), 1u) << "acknowledged task " << id << " was lost";
  again.signal(SIGTERM);
  EXPECT_EQ(again.wait_exit(), 0);
  EXPECT_EQ(run_command("sqlite3 " + dir.path() + "/data/tasks.db 'PRAGMA integrity_check;'"), "ok\n");
}

// Keyset pagination over HTTP while another client inserts: no item skipped, none repeated.
TEST(ApiBlackbox, PaginationUnderConcurrentInsertsNeitherSkipsNorRepeats) {
  TempDir dir;
  Process api(api_options(dir));
  const int port = api.wait_for_port("taskman-api");
  std::set<std::string> before;
  for (int i = 0; i < 60; ++i) {
    auto r = http(port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
                  R"({"title":"page )" + std::to_string(i) + "\"}");
    ASSERT_EQ(r.status, 201);
    before.insert(json::parse(r.body)["id"].get<std::string>());
  }
  std::atomic<bool> stop{false};
  auto inserter = std::async(std::launch::async, [&] {
    int n = 0;
    while (!stop) {
      http(port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
           R"({"title":"late )" + std::to_string(n++) + "\"}");
    }
    return n;
  });
  std::vector<std::string> seen;
  std::string target = "/api/v1/tasks?limit=7";
  for (;;) {
    auto r = http(port, "GET", target);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    for (const auto& t : j["items"]) seen.push_back(t["id"].get<std::string>());
    if (j["next_cursor"].is_null()) break;
    target = "/api/v1/tasks?limit=7&cursor=" + j["next_cursor"].get<std::string>();
  }
  stop = true;
  EXPECT_GT(inserter.get(), 0);
  const std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "an item was repeated";
  for (const auto& id : before) EXPECT_EQ(unique.count(id), 1u) << "item " << id << " was skipped";
}

TEST(ApiBlackbox, MigrateCreatesTheSchemaAndIsIdempotent) {
  TempDir dir;
  for (int i = 0; i < 2; ++i) {
    Process::Options o;
    o.args = {"migrate", "--database-url", "sqlite:" + dir.path() + "/m/tasks.db"};
    o.cwd = dir.path();
    Process m(o);
    EXPECT_EQ(m.wait_exit(), 0);
  }
  Process::Options bad;
  bad.args = {"migrate", "--database-url", "mysql://nope"};
  bad.cwd = dir.path();
  Process m(bad);
  EXPECT_NE(m.wait_exit(), 0);
}

}  // namespace
}  // namespace taskman::testing
