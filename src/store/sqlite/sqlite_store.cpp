#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <mutex>

#include "store/job_runner.hpp"
#include "store/sqlite/sqlite_connection.hpp"
#include "store/sqlite/sqlite_schema.hpp"

namespace taskman::store::sqlite {
namespace {

// The store: the shared job runner over one writer and a pool of reader connections, plus a
// connection of its own for ping_sync().
class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<store::Connection>> readers,
              std::unique_ptr<Db> ping, int schema_version, const StoreOptions& o)
      : runner_(std::move(writer), std::move(readers), o),
        ping_db_(std::move(ping)),
        ping_tx_(std::make_unique<Tx>(*ping_db_)),
        schema_version_(schema_version) {}
  ~SqliteStore() override { close(); }

  std::string_view engine() const override { return kEngineName; }
  int schema_version() const override { return schema_version_; }

  // SELECT 1 on its own connection: microseconds, bounded by a short busy timeout, and independent of
  // the reader queue (health checks run on I/O threads).
  Status ping_sync(std::chrono::milliseconds timeout) override {
    std::lock_guard lk(ping_mu_);
    if (!ping_db_) return store_closed_error();
    sqlite3_busy_timeout(ping_db_->db(), static_cast<int>(std::min<std::int64_t>(timeout.count(), 100)));
    return ping_tx_->select_one();
  }

  void ping(std::function<void(Status)> done) override {
    runner_.submit_read([done = std::move(done)](store::Connection* conn, const Error* err) {
      if (err != nullptr) return done(*err);
      done(conn->ping());
    });
  }

  Stats stats() const override { return runner_.stats(); }

  void close() override {
    runner_.close();
    std::lock_guard lk(ping_mu_);
    ping_tx_.reset();
    ping_db_.reset();
  }

 protected:
  void submit_read(std::function<void(ReadTx*, const Error*)> job) override {
    runner_.submit_read([job = std::move(job)](store::Connection* conn, const Error* err) {
      job(conn != nullptr ? &conn->read_tx() : nullptr, err);
    });
  }

  void submit_write(WriteJob job) override { runner_.submit_write(std::move(job)); }

 private:
  JobRunner runner_;
  std::mutex ping_mu_;  // guards ping_db_, ping_tx_
  std::unique_ptr<Db> ping_db_;
  std::unique_ptr<Tx> ping_tx_;
  const int schema_version_;
};

}  // namespace

Result<int> migrate(const std::string& path) {
  auto c = open_writer(path);
  if (!c) return c.take_error();
  return apply_migrations(**c);
}

Result<std::unique_ptr<Store>> open_store(const std::string& path, const StoreOptions& options) {
  auto writer = open_writer(path);
  if (!writer) return writer.take_error();
  int version = 0;
  if (options.migrate) {
    auto v = apply_migrations(**writer);
    if (!v) return v.take_error();
    version = *v;
  } else {
    auto v = current_version(**writer);
    if (!v) return v.take_error();
    if (*v != latest_schema_version()) {
      return Error::make(ErrorCode::kUnavailable,
                         "database schema is at version " + std::to_string(*v) + ", expected " +
                             std::to_string(latest_schema_version()) + ": run taskman migrate");
    }
    version = *v;
  }
  std::vector<std::unique_ptr<store::Connection>> readers;
  for (int i = 0; i < std::max(1, options.readers); ++i) {
    auto r = Db::open(path, true);
    if (!r) return r.take_error();
    readers.push_back(std::make_unique<Connection>(std::move(*r)));
  }
  auto ping = Db::open(path, true);
  if (!ping) return ping.take_error();
  return std::unique_ptr<Store>(new SqliteStore(std::make_unique<Connection>(std::move(*writer)),
                                                std::move(readers), std::move(*ping), version, options));
}

}  // namespace taskman::store::sqlite
