#pragma once
// Opaque page cursors: base64url of "v1|<sort tag>|<key>|<id>". The sort tag binds a cursor to the
// order it was made for, so a cursor from another sort is refused instead of skipping rows.
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/model.hpp"

namespace taskman::tasks {

inline constexpr std::string_view kCreatedTag = "created_at";

std::string sort_tag(store::TaskSort sort, bool descending);
std::string make_cursor(std::string_view sort_tag, const store::KeysetPosition& pos);
// Not ours, damaged, or made for another sort than `expected_tag` → 400 naming "cursor".
Result<store::KeysetPosition> decode_cursor(std::string_view cursor, std::string_view expected_tag);

}  // namespace taskman::tasks
