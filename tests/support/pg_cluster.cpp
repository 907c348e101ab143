#include "support/pg_cluster.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace taskman::testing {
namespace {

namespace fs = std::filesystem;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("PostgreSQL test cluster: cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv (as the postgres user when we are root) with stdout and stderr appended to `log`;
// returns the exit status.
int run(std::vector<std::string> argv, const std::string& log) {
  if (::geteuid() == 0) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The postmaster is not our child (pg_ctl daemonises it): gone when it no longer exists or is a
// zombie nobody has reaped yet.
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z';
}

void give_to_postgres(const std::string& path) {
  if (::geteuid() != 0) return;
  const passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr)
    throw std::runtime_error("PostgreSQL test cluster: running as root but no 'postgres' user");
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("PostgreSQL test cluster: cannot chown " + path + " to postgres");
  }
}

}  // namespace

std::string PgCluster::bin_dir() {
  const char* env = std::getenv("PG_BINDIR");
  return env != nullptr ? env : "/usr/lib/postgresql/15/bin";
}

PgCluster& PgCluster::shared() {
  static PgCluster cluster;
  return cluster;
}

PgCluster::PgCluster() {
  const std::string bin = bin_dir();
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    if (::access((bin + "/" + tool).c_str(), X_OK) != 0) {
      throw std::runtime_error("PostgreSQL test cluster cannot start: " + bin + "/" + tool +
                               " not found (install the Debian package postgresql, e.g. scripts/bootstrap "
                               "--test, or set PG_BINDIR)");
    }
  }
  root_ = dir_.file("pg");
  fs::create_directories(root_);
  give_to_postgres(dir_.path());  // the socket and data directories live below it
  give_to_postgres(root_);
  data_ = root_ + "/data";
  log_ = root_ + "/server.log";
  std::random_device rd;
  password_ = "pw" + std::to_string(rd()) + std::to_string(rd());
  const std::string pwfile = root_ + "/pwfile";
  std::ofstream(pwfile) << password_ << "\n";
  give_to_postgres(pwfile);
  const std::string init_log = root_ + "/initdb.log";
  const int rc =
      run({bin + "/initdb", "-D", data_, "-U", "postgres", "--pwfile=" + pwfile, "--auth-local=trust",
           "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"},
          init_log);
  if (rc != 0) {
    throw std::runtime_error("PostgreSQL test cluster: initdb failed (exit " + std::to_string(rc) +
                             "): " + read_file(init_log));
  }
  port_ = free_port();
  start();
}

PgCluster::~PgCluster() {
  try {
    stop();
  } catch (...) {
    // Destructors do not throw; stop() has already tried SIGKILL.
  }
}

void PgCluster::start() {
  if (pid_ > 0) return;
  const std::string opts = "-c listen_addresses=127.0.0.1 -c port=" + std::to_string(port_) +
                           " -c unix_socket_directories=" + root_ + " -c fsync=on -c max_connections=200";
  const int rc = run({bin_dir() + "/pg_ctl", "-D", data_, "-l", log_, "-o", opts, "-w", "-t", "60", "start"},
                     root_ + "/pg_ctl.log");
  if (rc != 0) {
    throw std::runtime_error("PostgreSQL test cluster: pg_ctl start failed (exit " + std::to_string(rc) +
                             "): " + read_file(root_ + "/pg_ctl.log") + read_file(log_));
  }
  std::istringstream pidfile(read_file(data_ + "/postmaster.pid"));
  pid_ = -1;
  pidfile >> pid_;
  if (pid_ <= 0) throw std::runtime_error("PostgreSQL test cluster: no pid in postmaster.pid");
}

void PgCluster::stop() {
  if (pid_ <= 0) return;
  const pid_t pid = pid_;
  pid_ = -1;
  ::kill(pid, SIGINT);  // fast shutdown: roll back sessions, checkpoint, exit
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!process_gone(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      throw std::runtime_error("PostgreSQL test cluster: postmaster " + std::to_string(pid) +
                               " did not stop within 30 s; killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling a process we cannot wait for
  }
}

std::string PgCluster::url(const std::string& database) const {
  return "postgres://postgres:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::url_without_password(const std::string& database) const {
  return "postgres://postgres@127.0.0.1:" + std::to_string(port_) + "/" + database;
}

std::string PgCluster::sql(const std::string& database, const std::string& statement) const {
  const std::string conninfo =
      "host=" + root_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + database;
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string error, value;
  if (PQstatus(c) != CONNECTION_OK) {
    error = PQerrorMessage(c);
  } else {
    PGresult* r = PQexec(c, statement.c_str());
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) error = PQresultErrorMessage(r);
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0) value = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  PQfinish(c);
  if (!error.empty()) throw std::runtime_error("PostgreSQL test cluster: " + statement + ": " + error);
  return value;
}

std::string PgCluster::fresh_database(const std::string& prefix) {
  const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
  sql("postgres", "CREATE DATABASE " + name);
  return url(name);
}

std::string PgCluster::log_text() const { return read_file(log_); }

}  // namespace taskman::testing
