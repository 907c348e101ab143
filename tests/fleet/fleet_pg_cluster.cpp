// A throwaway PostgreSQL cluster (tests/support/pg_cluster) for tests written in another language:
// prints one JSON line {"url": ..., "port": ...} with a fresh database, then obeys lines on stdin
// ("stop", "start"; answered "stopped", "started", or "error: ..."), and stops the cluster when
// stdin closes. Exits 1 with the reason when the cluster cannot start.
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "support/pg_cluster.hpp"

int main() {
  using taskman::testing::PgCluster;
  std::string url;
  try {
    url = PgCluster::shared().fresh_database("fleet");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  std::printf("{\"url\":\"%s\",\"port\":%d}\n", url.c_str(), PgCluster::shared().port());
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
    try {
      if (line == "stop") {
        PgCluster::shared().stop();
        std::puts("stopped");
      } else if (line == "start") {
        PgCluster::shared().start();
        std::puts("started");
      } else {
        std::puts(("error: unknown command " + line).c_str());
      }
    } catch (const std::exception& e) {
      std::puts((std::string("error: ") + e.what()).c_str());
    }
    std::fflush(stdout);
  }
  return 0;  // the cluster stops with the process (PgCluster's destructor)
}
