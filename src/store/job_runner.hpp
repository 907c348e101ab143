#pragma once
// The job runner every store shares: a bounded queue of read jobs served by a pool of reader
// connections (one thread each), and a bounded queue of write jobs served by one writer
// connection that group-commits. The writer takes every queued write (up to max_batch), runs each
// in its own savepoint inside one write transaction (a failing or throwing job rolls back alone),
// commits once, and only then runs the callbacks, so no caller hears "done" before its change is
// durable. A full queue is refused at once with kUnavailable and a retry hint (503 + Retry-After
// at the REST surface) rather than letting memory and latency grow without bound.
// Thread-safe: submit_* and stats() may be called from any thread.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "store/connection.hpp"
#include "store/store.hpp"

namespace taskman::store {

// kUnavailable answers of a runner that is closing, and of a full queue.
Error store_closed_error();
Error store_overloaded_error();

class JobRunner {
 public:
  // Runs on a reader thread inside a read transaction; `conn` is null (and `err` set) when the job
  // cannot run (runner closed, queue full, transaction not started).
  using ReadJob = std::function<void(Connection* conn, const Error* err)>;
  using WriteJob = Store::WriteJob;

  // Uses max_batch, max_queue, offload_callbacks and observer of `options`. Starts the threads.
  JobRunner(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
            const StoreOptions& options);
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;
  ~JobRunner();

  // A refusal (closed, full) runs the job's callback at once on the calling thread.
  void submit_read(ReadJob job);
  void submit_write(WriteJob job);

  Store::Stats stats() const;

  // Stops taking work, finishes what is queued, joins the threads and destroys the connections.
  // Idempotent.
  void close();

 private:
  struct Completion {
    std::vector<WriteJob> jobs;
    std::optional<Error> error;  // the commit failed
  };

  void reader_loop(Connection& conn);
  void writer_loop();
  void run_batch(std::vector<WriteJob>& batch);
  void completion_loop();
  void observe(const char* operation, std::chrono::steady_clock::time_point start) const;

  std::unique_ptr<Connection> writer_;
  std::vector<std::unique_ptr<Connection>> readers_;
  const std::size_t max_batch_;
  const std::size_t max_queue_;
  const bool offload_callbacks_;
  const QueryObserver observer_;

  std::mutex wmu_;  // guards wq_, closed_ (with rmu_)
  std::condition_variable wcv_;
  std::deque<WriteJob> wq_;
  std::mutex rmu_;  // guards rq_
  std::condition_variable rcv_;
  std::deque<ReadJob> rq_;
  bool closed_ = false;

  mutable std::mutex stats_mu_;
  Store::Stats stats_;

  std::mutex cmu_;  // guards cq_, writer_done_
  std::condition_variable ccv_;
  std::deque<Completion> cq_;
  bool writer_done_ = false;

  std::thread writer_thread_;
  std::thread completion_thread_;
  std::vector<std::thread> reader_threads_;
};

}  // namespace taskman::store
