#include "store/postgres/pg_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include <pwd.h>
#include <unistd.h>

#include "store/job_runner.hpp"
#include "store/postgres/pg_connection.hpp"
#include "store/postgres/pg_schema.hpp"

namespace taskman::store::postgres {
namespace {

// The store: the shared job runner over one writer and a pool of reader connections, plus a
// connection of its own for ping_sync(), so a deep read queue cannot hold a health check up.
class PgStore final : public Store {
 public:
  PgStore(std::unique_ptr<store::Connection> writer, std::vector<std::unique_ptr<store::Connection>> readers,
          std::unique_ptr<PgConn> ping, int schema_version, const StoreOptions& o)
      : runner_(std::move(writer), std::move(readers), o),
        ping_conn_(std::move(ping)),
        ping_tx_(std::make_unique<Tx>(*ping_conn_, false)),
        schema_version_(schema_version) {}
  ~PgStore() override { close(); }

  std::string_view engine() const override { return kEngineName; }
  int schema_version() const override { return schema_version_; }

  // SELECT 1 on its own connection; a lost connection is re-established here (at most every
  // PgConn::kRetryInterval), so readiness comes back by itself with the server.
  Status ping_sync(std::chrono::milliseconds) override {
    std::lock_guard lk(ping_mu_);
    if (!ping_conn_) return store_closed_error();
    if (auto st = ping_conn_->ensure_connected(); !st) return st;
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
    ping_conn_.reset();
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
  std::mutex ping_mu_;  // guards ping_conn_, ping_tx_
  std::unique_ptr<PgConn> ping_conn_;
  std::unique_ptr<Tx> ping_tx_;
  const int schema_version_;
};

Result<std::unique_ptr<PgConn>> connect(const std::string& url) {
  ConnectOptions o;
  o.url = url;
  return PgConn::connect(o);
}

}  // namespace

Result<int> migrate(const std::string& url) {
  auto c = connect(url);
  if (!c) return c.take_error();
  return apply_migrations(**c);
}

Result<std::unique_ptr<Store>> open_store(const std::string& url, const StoreOptions& options) {
  auto writer = connect(url);
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
    auto r = connect(url);
    if (!r) return r.take_error();
    readers.push_back(std::make_unique<Connection>(std::move(*r), false));
  }
  auto ping = connect(url);
  if (!ping) return ping.take_error();
  return std::unique_ptr<Store>(new PgStore(std::make_unique<Connection>(std::move(*writer), true),
                                            std::move(readers), std::move(*ping), version, options));
}

Result<std::string> database_name(std::string_view url) {
  char* err = nullptr;
  const std::string s(url);
  PQconninfoOption* opts = PQconninfoParse(s.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err != nullptr ? err : "out of memory";
    if (err != nullptr) PQfreemem(err);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Error::invalid("DATABASE_URL", redact_password(msg, url));
  }
  std::string name, user;
  for (auto* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string_view(o->keyword) == "dbname") name = o->val;
    if (std::string_view(o->keyword) == "user") user = o->val;
  }
  PQconninfoFree(opts);
  // libpq's defaults: PGDATABASE, else the user name (PGUSER, else the login).
  if (name.empty() && std::getenv("PGDATABASE") != nullptr) name = std::getenv("PGDATABASE");
  if (name.empty())
    name = !user.empty() ? user : (std::getenv("PGUSER") != nullptr ? std::getenv("PGUSER") : "");
  if (name.empty()) {
    // Last, libpq's own default: the operating-system user the process runs as.
    if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr)
      name = pw->pw_name;
  }
  if (name.empty()) return Error::invalid("DATABASE_URL", "names no database, and no user to default to");
  return name;
}

}  // namespace taskman::store::postgres
