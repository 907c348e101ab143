// The embedded board is the source file byte for byte, and it is self-contained: the default MCP Apps
// CSP (default-src 'none'; connect-src 'none') would block any external or network reference.
#include "tools/board/board_html.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace taskman::tools::board {
namespace {

std::string source_file() {
  std::ifstream in(TASKMAN_BOARD_HTML_PATH, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(BoardHtml, EmbedsTheSourceFileByteForByte) {
  const std::string file = source_file();
  ASSERT_FALSE(file.empty()) << "cannot read " << TASKMAN_BOARD_HTML_PATH;
  EXPECT_EQ(std::string(html()), file);
}

TEST(BoardHtml, IsOneWholeHtml5Document) {
  const std::string_view h = html();
  EXPECT_TRUE(h.starts_with("<!doctype html>"));
  EXPECT_NE(h.find("</html>"), std::string_view::npos);
  EXPECT_NE(h.find("<meta charset=\"utf-8\">"), std::string_view::npos);
}

TEST(BoardHtml, ReferencesNothingOutsideItself) {
  const std::string_view h = html();
  for (const char* banned :
       {"http://", "https://", "<link", "@import", " src=", "url(", "fetch(", "XMLHttpRequest", "WebSocket",
        "EventSource", "localStorage", "sessionStorage", "indexedDB", "document.cookie"}) {
    EXPECT_EQ(h.find(banned), std::string_view::npos) << "board.html contains " << banned;
  }
}

}  // namespace
}  // namespace taskman::tools::board
