#pragma once
// JSON of the task domain's answers: projects, tasks, comments and pages, with RFC 3339 UTC times;
// and the headers of a stored reply, kept as a JSON object for replay.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tasks/types.hpp"

namespace taskman::tasks {

std::string encode_project(const Project& p);
std::string encode_task(const Task& t);
std::string encode_comment(const Comment& c);
// {"items":[...],"next_cursor":...} from already-encoded items.
std::string encode_page(const std::vector<std::string>& encoded_items,
                        const std::optional<std::string>& next_cursor);
std::string format_time(TimeMs ms);

// Helpers for replaying stored responses: headers as a JSON object.
std::string encode_headers(const std::vector<std::pair<std::string, std::string>>& headers);
std::vector<std::pair<std::string, std::string>> decode_headers(std::string_view json);

}  // namespace taskman::tasks
