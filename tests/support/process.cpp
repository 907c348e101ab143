#include "support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace taskman::testing {

std::string taskman_binary() {
  if (const char* p = std::getenv("TASKMAN_BINARY")) return p;
  return TASKMAN_BINARY_PATH;
}

std::vector<std::string> serve_args(const TempDir& dir, std::vector<std::string> extra) {
  std::vector<std::string> args = {
      "serve", "--port", "0", "--api-port", "0", "--database-url", "sqlite:" + dir.path() + "/t.db"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

Process::Options serve_options(const TempDir& dir, std::vector<std::string> extra) {
  Process::Options o;
  o.args = serve_args(dir, std::move(extra));
  o.cwd = dir.path();
  return o;
}

Process::Process(Options options, std::string binary) {
  int err_pipe[2], out_pipe[2] = {-1, -1}, in_pipe[2] = {-1, -1};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (options.capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (options.pipe_stdin && ::pipe2(in_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");

  std::vector<std::string> env_strings;
  std::map<std::string, std::string> env = {
      {"PATH", std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"},
      {"HOME", std::getenv("HOME") ? std::getenv("HOME") : "/tmp"}};
  for (const auto& [k, v] : options.env) env[k] = v;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  argv.push_back(binary.data());
  for (auto& a : options.args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Child: only async-signal-safe calls from here on.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(options.pipe_stdin ? in_pipe[0] : devnull, 0);
    ::dup2(options.capture_stdout ? out_pipe[1] : devnull, 1);
    ::dup2(err_pipe[1], 2);
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(err_pipe[1]);
  err_thread_ = std::thread([this, fd = err_pipe[0]] { reader(fd, true); });
  if (options.capture_stdout) {
    ::close(out_pipe[1]);
    out_thread_ = std::thread([this, fd = out_pipe[0]] { reader(fd, false); });
  } else {
    out_eof_ = true;
  }
  if (options.pipe_stdin) {
    ::close(in_pipe[0]);
    stdin_fd_ = in_pipe[1];
  }
  auto promise = std::make_shared<std::promise<int>>();
  exit_ = promise->get_future().share();
  wait_thread_ = std::thread([pid = pid_, promise] {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    promise->set_value(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  });
}

Process::~Process() {
  if (exit_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) ::kill(pid_, SIGKILL);
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  wait_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
  if (out_thread_.joinable()) out_thread_.join();
}

void Process::reader(int fd, bool is_stderr) {
  std::string pending;
  char buf[8192];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      {
        std::lock_guard lock(mu_);
        (is_stderr ? err_lines_ : out_lines_).push_back(pending.substr(0, nl));
      }
      cv_.notify_all();
      pending.erase(0, nl + 1);
    }
  }
  ::close(fd);
  {
    std::lock_guard lock(mu_);
    if (!pending.empty()) (is_stderr ? err_lines_ : out_lines_).push_back(pending);
    (is_stderr ? err_eof_ : out_eof_) = true;
  }
  cv_.notify_all();
}

std::optional<std::string> Process::wait_for_line(const std::function<bool(const std::string&)>& pred,
                                                  std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  std::size_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; seen < err_lines_.size(); ++seen) {
      if (pred(err_lines_[seen])) return err_lines_[seen];
    }
    if (err_eof_) return std::nullopt;
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && seen == err_lines_.size()) {
      return std::nullopt;
    }
  }
}

int Process::wait_for_port(const std::string& service, std::chrono::milliseconds timeout) {
  auto line = wait_for_line(
      [&](const std::string& l) {
        auto j = nlohmann::json::parse(l, nullptr, false);
        return j.is_object() && j.value("msg", "") == "listening" && j.value("service", "") == service;
      },
      timeout);
  if (!line) {
    std::string all;
    for (const auto& l : stderr_lines()) all += l + "\n";
    throw std::runtime_error("no 'listening' line from " + service + "; stderr:\n" + all);
  }
  return nlohmann::json::parse(*line)["port"].get<int>();
}

std::vector<std::string> Process::stderr_lines() {
  std::lock_guard lock(mu_);
  return err_lines_;
}

std::string Process::stderr_text() {
  std::string all;
  for (const auto& l : stderr_lines()) all += l + "\n";
  return all;
}

std::optional<std::string> Process::read_stdout_line(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  const bool ready =
      cv_.wait_for(lock, timeout, [&] { return out_consumed_ < out_lines_.size() || out_eof_; });
  if (!ready || out_consumed_ >= out_lines_.size()) return std::nullopt;
  return out_lines_[out_consumed_++];
}

void Process::write_stdin(const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const auto n = ::write(stdin_fd_, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to child stdin failed");
    off += static_cast<std::size_t>(n);
  }
}

void Process::close_stdin() {
  if (stdin_fd_ >= 0) ::close(stdin_fd_);
  stdin_fd_ = -1;
}

void Process::signal(int sig) { ::kill(pid_, sig); }

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (exit_.wait_until(deadline) != std::future_status::ready) return std::nullopt;
  // Everything the process wrote is read before its status is reported (its pipes close at exit).
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return err_eof_ && out_eof_; });
  return exit_.get();
}

namespace {

int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const auto size = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    if (size == 0) break;
    out += body.substr(eol + 2, size);
    pos = eol + 2 + size + 2;
  }
  return out;
}

}  // namespace

std::string http_raw(int port, const std::string& bytes) {
  int fd = connect_loopback(port);
  std::size_t off = 0;
  while (off < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (e.g. 413): read what it said
    off += static_cast<std::size_t>(n);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

HttpResponse http(int port, const std::string& method, const std::string& target,
                  const std::map<std::string, std::string>& headers, const std::string& body) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  HttpResponse res;
  res.raw = http_raw(port, req);
  const auto head_end = res.raw.find("\r\n\r\n");
  if (res.raw.size() < 12 || head_end == std::string::npos) {
    throw std::runtime_error("no HTTP response from port " + std::to_string(port) + ": " + res.raw);
  }
  res.status = std::stoi(res.raw.substr(9, 3));
  std::size_t pos = res.raw.find("\r\n") + 2;
  while (pos < head_end) {
    const auto eol = res.raw.find("\r\n", pos);
    const auto line = res.raw.substr(pos, eol - pos);
    const auto colon = line.find(':');
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    res.headers[name] = value;
    pos = eol + 2;
  }
  res.body = res.raw.substr(head_end + 4);
  if (res.headers["transfer-encoding"] == "chunked") res.body = dechunk(res.body);
  return res;
}

}  // namespace taskman::testing
