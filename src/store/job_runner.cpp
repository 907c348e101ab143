#include "store/job_runner.hpp"

#include <algorithm>

namespace taskman::store {
namespace {

template <class F>
void run_guarded(F&& f) {
  try {
    f();
  } catch (...) {
    // A throwing callback must not take the database thread down with it.
  }
}

}  // namespace

Error store_overloaded_error() {
  Error e = Error::make(ErrorCode::kUnavailable, "database overloaded: too many queued requests");
  e.retry_after_ms = 1000;
  return e;
}

Error store_closed_error() {
  Error e = Error::make(ErrorCode::kUnavailable, "database is shutting down");
  e.retry_after_ms = 1000;
  return e;
}

JobRunner::JobRunner(std::unique_ptr<Connection> writer, std::vector<std::unique_ptr<Connection>> readers,
                     const StoreOptions& options)
    : writer_(std::move(writer)),
      readers_(std::move(readers)),
      max_batch_(std::max<std::size_t>(1, options.max_batch)),
      max_queue_(std::max<std::size_t>(1, options.max_queue)),
      offload_callbacks_(options.offload_callbacks),
      observer_(options.observer) {
  writer_thread_ = std::thread([this] { writer_loop(); });
  completion_thread_ = std::thread([this] { completion_loop(); });
  for (auto& r : readers_) reader_threads_.emplace_back([this, conn = r.get()] { reader_loop(*conn); });
}

JobRunner::~JobRunner() { close(); }

Store::Stats JobRunner::stats() const {
  std::lock_guard lk(stats_mu_);
  return stats_;
}

void JobRunner::close() {
  {
    std::scoped_lock lk(wmu_, rmu_);
    if (closed_) return;
    closed_ = true;
  }
  wcv_.notify_all();
  rcv_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
  {
    std::lock_guard lk(cmu_);
    writer_done_ = true;
  }
  ccv_.notify_all();
  if (completion_thread_.joinable()) completion_thread_.join();
  for (auto& t : reader_threads_) {
    if (t.joinable()) t.join();
  }
  writer_.reset();
  readers_.clear();
}

void JobRunner::submit_read(ReadJob job) {
  bool closed = false;
  {
    std::lock_guard lk(rmu_);
    closed = closed_;
    if (!closed && rq_.size() < max_queue_) {
      rq_.push_back(std::move(job));
      rcv_.notify_one();
      return;
    }
  }
  const Error e = closed ? store_closed_error() : store_overloaded_error();
  job(nullptr, &e);
}

void JobRunner::submit_write(WriteJob job) {
  bool closed = false;
  {
    std::lock_guard lk(wmu_);
    closed = closed_;
    if (!closed && wq_.size() < max_queue_) {
      wq_.push_back(std::move(job));
      wcv_.notify_one();
      return;
    }
  }
  const Error e = closed ? store_closed_error() : store_overloaded_error();
  job.complete(&e);
}

void JobRunner::reader_loop(Connection& conn) {
  while (true) {
    ReadJob job;
    {
      std::unique_lock lk(rmu_);
      rcv_.wait(lk, [&] { return closed_ || !rq_.empty(); });
      if (rq_.empty()) return;  // closed and drained
      job = std::move(rq_.front());
      rq_.pop_front();
    }
    if (auto st = conn.begin_read(); !st) {
      run_guarded([&] { job(nullptr, &st.error()); });
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    run_guarded([&] { job(&conn, nullptr); });
    // A read transaction changed nothing: ending it cannot lose anything the job was told.
    (void)conn.commit();
    observe("read", start);
  }
}

void JobRunner::writer_loop() {
  std::vector<WriteJob> batch;
  while (true) {
    batch.clear();
    {
      std::unique_lock lk(wmu_);
      wcv_.wait(lk, [&] { return closed_ || !wq_.empty(); });
      if (wq_.empty()) return;  // closed and drained
      while (!wq_.empty() && batch.size() < max_batch_) {
        batch.push_back(std::move(wq_.front()));
        wq_.pop_front();
      }
    }
    run_batch(batch);
  }
}

// Group commit: each job in its own savepoint, one commit (one fsync) for the batch, then the
// callbacks.
void JobRunner::run_batch(std::vector<WriteJob>& batch) {
  Connection& c = *writer_;
  const auto start = std::chrono::steady_clock::now();
  if (auto st = c.begin_write(); !st) {
    for (auto& job : batch) run_guarded([&] { job.complete(&st.error()); });
    batch.clear();
    return;
  }
  WriteTx& tx = c.write_tx();
  for (auto& job : batch) {
    if (auto st = c.savepoint(); !st) {
      job.run = nullptr;  // its callback reports that it did not run
      continue;
    }
    bool keep = false;
    try {
      keep = job.run(tx);
    } catch (...) {
      keep = false;  // the job's callback reports that it did not run to completion
    }
    if (!keep) (void)c.rollback_to_savepoint();
    (void)c.release_savepoint();
  }
  Status commit = c.prepare_commit();
  const auto commit_start = std::chrono::steady_clock::now();
  if (commit) commit = c.commit();
  if (!commit) c.rollback();
  observe("commit", commit_start);
  observe("write_batch", start);
  {
    std::lock_guard lk(stats_mu_);
    if (commit) ++stats_.commits;
    stats_.writes += batch.size();
  }
  // The callbacks (encoding, answering) run here after the commit, or on the completion thread
  // when offloaded (see StoreOptions::offload_callbacks).
  Completion done{std::move(batch), commit ? std::nullopt : std::optional<Error>(commit.error())};
  batch.clear();
  if (!offload_callbacks_) {
    for (auto& job : done.jobs) run_guarded([&] { job.complete(done.error ? &*done.error : nullptr); });
    return;
  }
  {
    std::lock_guard lk(cmu_);
    cq_.push_back(std::move(done));
  }
  ccv_.notify_one();
}

void JobRunner::completion_loop() {
  while (true) {
    Completion c;
    {
      std::unique_lock lk(cmu_);
      ccv_.wait(lk, [&] { return writer_done_ || !cq_.empty(); });
      if (cq_.empty()) return;  // the writer has finished and everything is answered
      c = std::move(cq_.front());
      cq_.pop_front();
    }
    for (auto& job : c.jobs) run_guarded([&] { job.complete(c.error ? &*c.error : nullptr); });
  }
}

void JobRunner::observe(const char* operation, std::chrono::steady_clock::time_point start) const {
  if (observer_) observer_(operation, std::chrono::steady_clock::now() - start);
}

}  // namespace taskman::store
