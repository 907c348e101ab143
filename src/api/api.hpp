#pragma once
// The Task Manager REST API (docs/api.md) as a thin adapter: decode → TaskService → encode. The entry
// points `taskman api`, `taskman serve` and `taskman migrate` use. Handlers never touch the
// database on an I/O thread: the service runs on the store's threads and answers from there.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/context.hpp"
#include "core/result.hpp"

namespace taskman::log {
class Logger;
}
namespace taskman::http {
class Router;
}
namespace taskman::store {
class Store;
}
namespace taskman::tasks {
class TaskService;
}

namespace taskman::api {

// Tracing hook for the database span of a request (OTel db conventions: kind CLIENT, name
// "{operation} {collection}", db.system.name of the engine): called on the I/O thread just before the
// request's database work is queued; the returned function is called once when that work has
// answered (ok = false for a database/internal failure), on a database thread.
using DbSpanHook = std::function<std::function<void(bool ok)>(const RequestContext& ctx,
                                                              const char* operation, const char* collection)>;

struct ApiOptions {
  std::string database_url;  // DATABASE_URL; the store's factory picks the engine
  int db_readers = 2;
  std::size_t db_max_batch = 512;  // writes per group commit
  // Optional timing hook for db_query_duration_seconds{operation} ("read", "write_batch", "commit"),
  // called on database threads.
  std::function<void(const char* operation, std::chrono::nanoseconds duration)> db_observer;
  DbSpanHook db_span;  // optional
};

// The /api/v1 REST service: owns the store and the task service and answers the route table.
// Thread-safe after open().
class RestApi {
 public:
  // Opens the database (creating parent directories) and applies pending migrations.
  static Result<std::unique_ptr<RestApi>> open(const ApiOptions& options, log::Logger& logger);
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  // Every /api/v1 route. The RestApi must outlive the router's use.
  void register_routes(http::Router& router);
  // For /health/ready. The blocking form runs SELECT 1 on a dedicated connection (microseconds; a
  // lock wait is capped at 100 ms), so it is fit for an I/O thread and is not queued behind reads.
  // The callback form goes through the reader pool (answered on a database thread).
  Status check_database();
  void check_database(std::function<void(Status)> done);
  // Finishes queued database work and closes the connections. Idempotent.
  void close();

  tasks::TaskService& service();

 private:
  struct Impl;
  explicit RestApi(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Applies pending migrations and exits (for `taskman migrate`).
Status migrate(const ApiOptions& options, log::Logger& logger);

}  // namespace taskman::api
