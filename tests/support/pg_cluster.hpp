#pragma once
// A throwaway PostgreSQL cluster for tests: initdb + pg_ctl from the PostgreSQL 15 binaries into a
// temporary directory (run as the `postgres` system user when the tests run as root, since initdb
// refuses root), listening on a free loopback port with its unix socket inside that directory,
// fsync on, password authentication over TCP. Stopped by the postmaster's pid at the end.
// Starting fails loudly (std::runtime_error with the reason): a PostgreSQL test never skips.
#include <sys/types.h>

#include <memory>
#include <string>

#include "support/temp_dir.hpp"

namespace taskman::testing {

class PgCluster {
 public:
  // Where the server binaries are looked for (PG_BINDIR overrides).
  static std::string bin_dir();
  // The cluster of this test process, started on first use and stopped at exit.
  static PgCluster& shared();

  PgCluster();  // initdb + start; throws std::runtime_error naming what failed
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  // postgres://postgres:<password>@127.0.0.1:<port>/<database>
  std::string url(const std::string& database) const;
  // The same without the password (for PGPASSWORD tests).
  std::string url_without_password(const std::string& database) const;
  // Creates a database with a name of its own (prefix + a counter) and returns its URL.
  std::string fresh_database(const std::string& prefix = "t");
  // Runs one SQL statement as the superuser in `database` (over the unix socket); throws on error.
  // Returns the first value of the first row ("" when there is none).
  std::string sql(const std::string& database, const std::string& statement) const;

  // Fast shutdown (SIGINT to the postmaster), waiting until it is gone; start() brings it back on
  // the same port and data. Both throw on failure.
  void stop();
  void start();
  bool running() const { return pid_ > 0; }
  pid_t postmaster_pid() const { return pid_; }
  std::string log_text() const;

 private:
  TempDir dir_;
  std::string root_, data_, log_;
  int port_ = 0;
  std::string password_;
  pid_t pid_ = -1;
  int databases_ = 0;
};

}  // namespace taskman::testing
