#pragma once
// Helpers for tests of any Store: blocking forms of read()/write(), record builders, and a gate
// that holds the writer so the jobs queued meanwhile form one group.
#include <future>
#include <string>

#include "store/store.hpp"

namespace taskman::store::testing {

template <class T>
Result<T> write_sync(Store& s, Store::WriteFn<T> fn) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  s.write<T>(std::move(fn), [&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

template <class T>
Result<T> read_sync(Store& s, Store::ReadFn<T> fn) {
  std::promise<Result<T>> p;
  auto f = p.get_future();
  s.read<T>(std::move(fn), [&p](Result<T> r) { p.set_value(std::move(r)); });
  return f.get();
}

inline Project project(const std::string& id, const std::string& name, TimeMs at = 1000) {
  return Project{id, name, "", at, at};
}

inline Task task(const std::string& id, TimeMs at) {
  Task t;
  t.id = id;
  t.title = "task " + id;
  t.created_at = t.updated_at = at;
  return t;
}

// Holds the writer inside a job until released, so the jobs queued meanwhile form one batch.
class WriterGate {
 public:
  explicit WriterGate(Store& s) {
    auto entered = entered_.get_future();
    auto release = release_.get_future().share();
    s.write<bool>(
        [this, release](WriteTx&) -> Result<bool> {
          entered_.set_value();
          release.wait();
          return true;
        },
        [](Result<bool>) {});
    entered.wait();
  }
  void open() { release_.set_value(); }

 private:
  std::promise<void> entered_;
  std::promise<void> release_;
};

}  // namespace taskman::store::testing
