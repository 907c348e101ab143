#pragma once
// Closed-loop load for the benchmarks: keeps `in_flight` asynchronous operations going until
// `total` have completed. start(done) begins one operation, which must call done() exactly once,
// from any thread; done() starts the next one while any are left. Returns when all completed.
#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace taskman::bench {

inline void run_closed_loop(int in_flight, int total,
                            const std::function<void(std::function<void()>)>& start) {
  std::mutex mu;
  std::condition_variable cv;
  int remaining = total;
  int started = std::min(in_flight, total);
  std::function<void()> one;
  one = [&] {
    start([&] {
      bool more = false;
      {
        std::lock_guard lk(mu);
        --remaining;
        if (started < total) {
          ++started;
          more = true;
        }
        if (remaining == 0) cv.notify_all();
      }
      if (more) one();
    });
  };
  for (int i = 0; i < std::min(in_flight, total); ++i) one();
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return remaining == 0; });
}

}  // namespace taskman::bench
