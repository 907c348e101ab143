// Query strings of the list endpoints (GET /api/v1/tasks, /tasks/next, /projects, comments). The
// input is split like a query string (the HTTP layer's own splitting is fuzzed through http_head):
// '&' between parameters, the first '=' between name and value, each percent-decoded with '+' as a
// space. Invariants: no throw; a refusal is a 400 naming a parameter; accepted pages are in range.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/encoding.hpp"
#include "fuzz_check.hpp"
#include "tasks/limits.hpp"
#include "tasks/query.hpp"

using namespace taskman;
using namespace taskman::tasks;

namespace {

template <class T>
void check_refusal(const Result<T>& r) {
  if (r) return;
  FUZZ_CHECK(r.error().code == ErrorCode::kInvalidArgument);
  FUZZ_CHECK(!r.error().fields.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  QueryParams params;
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    const auto eq = item.find('=');
    std::string name, value;
    if (!percent_decode(item.substr(0, eq), name, true)) name.assign(item.substr(0, eq));
    if (eq != std::string_view::npos && !percent_decode(item.substr(eq + 1), value, true)) {
      value.assign(item.substr(eq + 1));
    }
    params.emplace_back(std::move(name), std::move(value));
  }
  auto list = parse_task_list(params);
  check_refusal(list);
  if (list) FUZZ_CHECK(list->page.limit >= kMinLimit && list->page.limit <= kMaxLimit);
  auto page = parse_page(params);
  check_refusal(page);
  if (page) FUZZ_CHECK(page->limit >= kMinLimit && page->limit <= kMaxLimit);
  check_refusal(parse_next_task(params));
  return 0;
}
