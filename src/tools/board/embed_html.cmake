# Writes OUTPUT, a C++ source defining taskman::tools::board::html() as the bytes of INPUT in a raw
# string literal, so the binary serves the board with no file on disk. Run with cmake -P.
if(NOT DEFINED INPUT OR NOT DEFINED OUTPUT)
  message(FATAL_ERROR "usage: cmake -DINPUT=board.html -DOUTPUT=board_html.cpp -P embed_html.cmake")
endif()
file(READ "${INPUT}" content)
set(delim "tm_board")  # raw-string delimiters are at most 16 characters
string(FIND "${content}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delim}\"; pick another in embed_html.cmake")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from board.html by embed_html.cmake: do not edit.\n"
  "#include \"tools/board/board_html.hpp\"\n\n"
  "namespace taskman::tools::board {\n\n"
  "namespace {\n"
  "constexpr char kHtml[] = R\"${delim}(${content})${delim}\";\n"
  "}  // namespace\n\n"
  "std::string_view html() { return {kHtml, sizeof(kHtml) - 1}; }\n\n"
  "}  // namespace taskman::tools::board\n")
# Only touch OUTPUT when the text changed, so an unchanged board does not recompile.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
