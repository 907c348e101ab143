#include "tasks/cursor.hpp"

#include <vector>

#include "core/base64.hpp"
#include "tasks/checks.hpp"
#include "tasks/ids.hpp"

namespace taskman::tasks {
namespace {

// Longer than any cursor we make; refused before decoding so junk costs nothing.
constexpr std::size_t kCursorMax = 512;

}  // namespace

std::string sort_tag(store::TaskSort sort, bool descending) {
  std::string tag = descending ? "-" : "";
  switch (sort) {
    case store::TaskSort::kCreatedAt:
      return tag + "created_at";
    case store::TaskSort::kUpdatedAt:
      return tag + "updated_at";
    case store::TaskSort::kPriority:
      return tag + "priority";
    case store::TaskSort::kDueAt:
      return tag + "due_at";
  }
  return tag;
}

std::string make_cursor(std::string_view tag, const store::KeysetPosition& pos) {
  return base64url_encode("v1|" + std::string(tag) + "|" + std::to_string(pos.key) + "|" + pos.id);
}

Result<store::KeysetPosition> decode_cursor(std::string_view cursor, std::string_view expected_tag) {
  auto bad = [](std::string msg) { return Error::invalid("cursor", std::move(msg)); };
  if (cursor.size() > kCursorMax) return bad("is not a valid cursor");
  auto raw = base64url_decode(cursor);
  if (!raw) return bad("is not a valid cursor");
  // v1|tag|key|id
  std::vector<std::string_view> parts;
  std::string_view rest = *raw;
  for (int i = 0; i < 3; ++i) {
    auto p = rest.find('|');
    if (p == std::string_view::npos) return bad("is not a valid cursor");
    parts.push_back(rest.substr(0, p));
    rest.remove_prefix(p + 1);
  }
  parts.push_back(rest);
  if (parts[0] != "v1") return bad("is not a valid cursor");
  if (parts[1] != expected_tag) return bad("was made for another sort order; start again without a cursor");
  auto key = detail::parse_i64(parts[2]);
  if (!key || !valid_id(parts[3])) return bad("is not a valid cursor");
  return store::KeysetPosition{*key, std::string(parts[3])};
}

}  // namespace taskman::tasks
