// Page cursors come back from clients verbatim (?cursor=...). Invariants: decode_cursor never throws
// and refuses with a 400 naming "cursor"; whatever it accepts re-encodes to a cursor that decodes to
// the same position (so a client can never make the server skip or repeat rows by re-encoding).
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "tasks/cursor.hpp"

using namespace taskman;
using namespace taskman::tasks;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view cursor(reinterpret_cast<const char*>(data), size);
  for (auto sort : {store::TaskSort::kCreatedAt, store::TaskSort::kUpdatedAt, store::TaskSort::kPriority,
                    store::TaskSort::kDueAt}) {
    for (bool descending : {false, true}) {
      const auto tag = sort_tag(sort, descending);
      auto pos = decode_cursor(cursor, tag);
      if (!pos) {
        FUZZ_CHECK(pos.error().code == ErrorCode::kInvalidArgument);
        FUZZ_CHECK(pos.error().fields.size() == 1 && pos.error().fields[0].field == "cursor");
        continue;
      }
      auto again = decode_cursor(make_cursor(tag, *pos), tag);
      FUZZ_CHECK(again && again->key == pos->key && again->id == pos->id);
    }
  }
  return 0;
}
