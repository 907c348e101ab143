#pragma once
// Black-box test support: start a real process (build/taskman), follow its stderr line by line,
// talk to it over real loopback sockets, signal it and collect its exit status. Waiting is done
// on condition variables and futures with deadlines, never by sleeping.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/temp_dir.hpp"

namespace taskman::testing {

// Path of the built taskman binary (set by CMake).
std::string taskman_binary();

// Arguments of `taskman serve` on free ports (0) with a SQLite file in `dir`, plus `extra`.
std::vector<std::string> serve_args(const TempDir& dir, std::vector<std::string> extra = {});

class Process {
 public:
  struct Options {
    std::vector<std::string> args;           // argv[1..]
    std::map<std::string, std::string> env;  // added to a minimal environment (PATH, HOME)
    std::string cwd;                         // empty: inherit
    bool pipe_stdin = false;                 // otherwise /dev/null
    bool capture_stdout = false;             // otherwise /dev/null
  };
  explicit Process(Options options, std::string binary = taskman_binary());
  ~Process();  // SIGKILLs the process if still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Waits until a stderr line satisfies `pred`; returns it, or nullopt on timeout or exit.
  std::optional<std::string> wait_for_line(const std::function<bool(const std::string&)>& pred,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Convenience: waits for the JSON log line with "msg":"listening" of `service`; returns its port.
  int wait_for_port(const std::string& service, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  std::vector<std::string> stderr_lines();
  // Everything read from stderr so far, one line per line (for assertion messages).
  std::string stderr_text();
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  void write_stdin(const std::string& data);
  void close_stdin();
  void signal(int sig);
  // Exit status (or 128+signal), or nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));

 private:
  void reader(int fd, bool is_stderr);
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> err_lines_;
  std::vector<std::string> out_lines_;
  std::size_t out_consumed_ = 0;
  bool err_eof_ = false;
  bool out_eof_ = false;
  std::thread err_thread_, out_thread_;
  std::shared_future<int> exit_;
  std::thread wait_thread_;
};

// serve_args(dir, extra) run in `dir`.
Process::Options serve_options(const TempDir& dir, std::vector<std::string> extra = {});

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names (last wins)
  std::string body;                            // de-chunked
  std::string raw;
};

// One request on a fresh connection (Connection: close); throws std::runtime_error on socket errors.
HttpResponse http(int port, const std::string& method, const std::string& target,
                  const std::map<std::string, std::string>& headers = {}, const std::string& body = {});
// Sends raw bytes and reads until the server closes.
std::string http_raw(int port, const std::string& bytes);

}  // namespace taskman::testing
