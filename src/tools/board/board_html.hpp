#pragma once
// The task board view (board.html beside this header), compiled into the binary by embed_html.cmake.
#include <string_view>

namespace taskman::tools::board {

// The whole HTML5 document, UTF-8: inline CSS and JS, no external references.
std::string_view html();

}  // namespace taskman::tools::board
