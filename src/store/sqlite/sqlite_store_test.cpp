// What is particular to the SQLite engine, against real files in a temporary directory: the
// file layout, values corrupted behind the store's back, schema versions in the file, and
// durability of acknowledged writes across kill -9. The engine-independent behaviour is in
// store_contract_test.cpp.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <string>

#include "store/sqlite/sqlite_schema.hpp"
#include "store/store.hpp"
#include "store/store_testing.hpp"
#include "support/temp_dir.hpp"

namespace taskman::store {
namespace {

using namespace store::testing;
using taskman::testing::TempDir;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = open_store("sqlite:" + dir_.file("sub/dir/t.db"));
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_ = std::move(*s);
  }
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(SqliteStoreTest, CreatesParentDirectoriesAndMigrates) {
  EXPECT_TRUE(std::filesystem::exists(dir_.file("sub/dir/t.db")));
  auto v = migrate_database("sqlite:" + dir_.file("sub/dir/t.db"));
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, sqlite::latest_schema_version());
  EXPECT_TRUE(store_->ping_sync().ok());
}

TEST_F(SqliteStoreTest, CorruptEnumIsAnInternalErrorNotUndefinedBehaviour) {
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

TEST_F(SqliteStoreTest, RefusesSchemaNewerThanTheBuild) {
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

// docs/api.md: a 2xx (here: a write callback) means committed; it survives kill -9. A child process
// writes as fast as it can and reports each acknowledged id on a pipe; the parent kills it with
// SIGKILL mid-stream and then finds every acknowledged row in the file. (Not a fixture test: the
// fork happens before this process starts any thread.)
TEST(SqliteStoreDurability, AcknowledgedWritesSurviveSigkill) {
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
