#include "store/store.hpp"

#include <future>

namespace taskman::store {

Status Store::ping_sync(std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto fut = promise->get_future();
  ping([promise](Status st) { promise->set_value(std::move(st)); });
  if (fut.wait_for(timeout) != std::future_status::ready) {
    return Error::make(ErrorCode::kUnavailable, "database readers did not answer in time");
  }
  return fut.get();
}

}  // namespace taskman::store
