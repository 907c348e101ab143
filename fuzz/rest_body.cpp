// REST request bodies (POST/PATCH /api/v1/projects, /tasks, /tasks/{id}/comments). The first byte picks
// the decoder and mode, the rest is the body. Invariants: no throw; a refusal is a 400 that names at
// least one field; an accepted body respects the limits the schema publishes.
#include <cstdint>
#include <string_view>

#include "core/result.hpp"
#include "fuzz_check.hpp"
#include "tasks/limits.hpp"
#include "tasks/validation.hpp"

using namespace taskman;
using namespace taskman::tasks;

namespace {

template <class T>
void check_refusal(const Result<T>& r) {
  if (r) return;
  FUZZ_CHECK(r.error().code == ErrorCode::kInvalidArgument);
  FUZZ_CHECK(!r.error().fields.empty());
  // The field is the key as sent, so an unknown key "" is reported as field "" (with its message).
  for (const auto& f : r.error().fields) FUZZ_CHECK(!f.message.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Mode mode = (data[0] & 1) ? Mode::kPatch : Mode::kCreate;
  switch ((data[0] >> 1) % 3) {
    case 0: {
      auto r = decode_task(body, mode);
      check_refusal(r);
      if (r && mode == Mode::kCreate) FUZZ_CHECK(r->title.has_value());
      if (r && r->labels) FUZZ_CHECK(r->labels->size() <= kLabelsMax);
      if (r && r->depends_on) FUZZ_CHECK(r->depends_on->size() <= kDependsOnMax);
      break;
    }
    case 1: {
      auto r = decode_project(body, mode);
      check_refusal(r);
      if (r && mode == Mode::kCreate) FUZZ_CHECK(r->name.has_value());
      break;
    }
    default: {
      auto r = decode_comment(body);
      check_refusal(r);
      if (r) FUZZ_CHECK(!r->body.empty());
      break;
    }
  }
  return 0;
}
