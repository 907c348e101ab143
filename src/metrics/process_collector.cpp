#include "metrics/process_collector.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace taskman::metrics {
namespace {

prometheus::MetricFamily gauge(const char* name, const char* help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(m);
  return f;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int count_open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Field 2 (comm) may contain spaces: parse after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f;
  for (std::string s; fields >> s;) f.push_back(s);
  // f[0] is field 3 (state); field N is f[N - 3].
  auto field = [&](int n) { return std::stod(f.at(static_cast<std::size_t>(n - 3))); };
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  out.push_back(gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                      (field(14) + field(15)) / ticks, prometheus::MetricType::Counter));
  out.push_back(gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", field(23)));
  out.push_back(gauge("process_resident_memory_bytes", "Resident memory size in bytes.", field(24) * page));
  out.push_back(gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                      boot_time_seconds() + field(22) / ticks));
  out.push_back(gauge("process_threads", "Number of OS threads in the process.", field(20)));
  out.push_back(gauge("process_open_fds", "Number of open file descriptors.", count_open_fds()));
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  out.push_back(gauge("process_max_fds", "Maximum number of open file descriptors.",
                      rl.rlim_cur == RLIM_INFINITY ? -1.0 : static_cast<double>(rl.rlim_cur)));
  return out;
}

}  // namespace taskman::metrics
