// The JSON-RPC and MCP rows of the bad-input matrix: hostile JSON, odd JSON-RPC messages, tools/call
// with bad arguments for every kind of tool, and transport-level refusals on /mcp.
#include "hardening/bad_input_rows.hpp"

namespace taskman::testing::bad_input {
namespace {

std::string mcp_headers(const Seed& s) {
  return "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: " +
         s.session_id + "\r\nMCP-Protocol-Version: 2025-11-25\r\n";
}

std::string mcp_post(const Seed& s, const std::string& body) {
  return request("POST", "/mcp", mcp_headers(s), body);
}

std::string tool_call(const Seed& s, const std::string& name, const std::string& arguments) {
  return mcp_post(s, R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":")" + name +
                         R"(","arguments":)" + arguments + "}}");
}

}  // namespace

std::vector<Row> mcp_rows() {
  std::vector<Row> rows;
  add_http_rows(rows, Port::kMcp, "mcp");
  auto add_all = [&](std::string name, std::function<std::string(const Seed&)> bytes,
                     std::vector<Want> want) {
    rows.push_back({"mcp_" + std::move(name), Port::kMcp, std::move(bytes), std::move(want)});
  };
  auto add = [&](std::string name, std::function<std::string(const Seed&)> bytes, Want want) {
    add_all(std::move(name), std::move(bytes), {want});
  };
  auto body = [&](std::string name, std::string b, Want want) {
    add(
        std::move(name), [b = std::move(b)](const Seed& s) { return mcp_post(s, b); }, want);
  };
  constexpr int kParse = -32700, kInvalid = -32600, kNoMethod = -32601, kParams = -32602;
  // Deep nesting parses (nlohmann's parser is iterative) and is then refused as a message.
  // Nesting past the parser's depth limit is refused before parsing (a million levels once overflowed an
  // I/O thread's stack), so it is a parse error whatever the message would have been.
  body("deep_arrays", nested('[', ']', 100000), {400, kParse});
  body("deep_objects", nested_objects(100000), {400, kParse});
  body("deep_params",
       R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" + nested('[', ']', 100000) + "}}",
       {400, kParse});
  body("half_million_deep", nested('[', ']', 500000), {400, kParse});  // just under MAX_BODY_BYTES
  body("invalid_json", R"({"jsonrpc":"2.0","id":1,"method":)", {400, kParse});
  body("invalid_utf8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffng\"}", {400, kParse});
  body("lone_surrogate", R"({"jsonrpc":"2.0","id":"\ud800","method":"ping"})", {400, kParse});
  body("raw_nul_byte", with_nul("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\0ng\"}"), {400, kParse});
  body("empty_body", "", {400, kParse});
  body("batch_array",
       R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}])",
       {400, kInvalid});
  body("empty_batch", "[]", {400, kInvalid});
  body("top_level_number", "1e400", {400});
  body("id_null", R"({"jsonrpc":"2.0","id":null,"method":"ping"})", {400, kInvalid});
  body("id_object", R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", {400, kInvalid});
  body("id_array", R"({"jsonrpc":"2.0","id":[1],"method":"ping"})", {400, kInvalid});
  body("id_float", R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", {400, kInvalid});
  body("id_1e400", R"({"jsonrpc":"2.0","id":1e400,"method":"ping"})", {400});
  body("id_2_pow_64", R"({"jsonrpc":"2.0","id":18446744073709551616,"method":"ping"})", {400, kInvalid});
  body("missing_jsonrpc", R"({"id":1,"method":"ping"})", {400, kInvalid});
  body("jsonrpc_1_0", R"({"jsonrpc":"1.0","id":1,"method":"ping"})", {400, kInvalid});
  body("method_number", R"({"jsonrpc":"2.0","id":1,"method":42})", {400, kInvalid});
  body("method_missing", R"({"jsonrpc":"2.0","id":1})", {400, kInvalid});
  body("result_and_error", R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}})",
       {400, kInvalid});
  body("duplicate_method_key", R"({"jsonrpc":"2.0","id":1,"method":"ping","method":"nope/nope"})",
       {200, kNoMethod});
  body("notification_name_with_id", R"({"jsonrpc":"2.0","id":3,"method":"notifications/initialized"})",
       {200, kNoMethod});
  body("unknown_method", R"({"jsonrpc":"2.0","id":3,"method":"tasks/steal"})", {200, kNoMethod});
  body("params_array", R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":[1,2]})", {200, kParams});
  body("params_string", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":"create_task"})",
       {200, kParams});
  body(
      "tools_call_arguments_array",
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_task","arguments":[{"title":"x"}]}})",
      {200, kParams});
  body("tools_call_name_number",
       R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":1,"arguments":{}}})",
       {200, kParams});
  body("tools_call_no_name", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{}}})",
       {200, kParams});
  body("tools_call_unknown_tool",
       R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"rm_rf","arguments":{}}})",
       {200, kParams});
  body(
      "initialize_again",
      R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":1e400,"capabilities":[],"clientInfo":7}})",
      {4});
  body(
      "meta_hostile",
      R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"rm_rf","_meta":{"traceparent":{"x":1},"progressToken":{"x":[1e300]}}}})",
      {200, kParams});
  Want tool_error{200, std::nullopt, true};
  struct Call {
    std::string name, tool, arguments;
    Want want;
  };
  // Numbers beyond a double (1e400, 400 digits) are not JSON this server can hold: -32700 for the message.
  const Want parse_error{400, kParse};
  const std::vector<Call> calls = {
      {"create_task_huge_params", "create_task",
       R"({"title":"x","description":")" + std::string(kMaxBody - 300, 'd') + "\"}", tool_error},
      {"create_task_title_1e400", "create_task", R"({"title":1e400})", parse_error},
      {"create_task_title_blank", "create_task", R"({"title":" \t\n "})", tool_error},
      {"create_task_labels_deep", "create_task", R"({"title":"x","labels":)" + nested('[', ']', 5000) + "}",
       parse_error},
      {"create_task_unknown_field", "create_task", R"({"title":"x","version":18446744073709551616})",
       tool_error},
      {"get_task_id_number", "get_task", R"({"id":18446744073709551616})", tool_error},
      {"get_task_id_nul", "get_task", R"({"id":"\u0000"})", tool_error},
      {"get_task_id_path_traversal", "get_task", R"({"id":"../projects"})", tool_error},
      {"update_task_expected_version_1e400", "update_task",
       R"({"id":"{task}","title":"y","expected_version":1e400})", parse_error},
      {"update_task_expected_version_2_pow_64", "update_task",
       R"({"id":"{task}","title":"y","expected_version":18446744073709551616})", tool_error},
      {"update_task_expected_version_uint64_max", "update_task",
       R"({"id":"{task}","title":"y","expected_version":18446744073709551615})", tool_error},
      {"update_task_expected_version_2_pow_63", "update_task",
       R"({"id":"{task}","title":"y","expected_version":9223372036854775808})", tool_error},
      {"update_task_expected_version_float", "update_task",
       R"({"id":"{task}","title":"y","expected_version":1.5})", tool_error},
      {"update_task_expected_version_negative", "update_task",
       R"({"id":"{task}","title":"y","expected_version":-1})", tool_error},
      {"update_task_expected_version_huge", "update_task",
       R"({"id":"{task}","title":"y","expected_version":)" + std::string(400, '9') + "}", parse_error},
      {"update_task_status_bogus", "update_task", R"({"id":"{task}","status":"exploded"})", tool_error},
      {"list_tasks_limit_2_pow_64", "list_tasks", R"({"limit":18446744073709551616})", tool_error},
      {"list_tasks_limit_uint64_max", "list_tasks", R"({"limit":18446744073709551615})", tool_error},
      {"list_tasks_limit_1e400", "list_tasks", R"({"limit":1e400})", parse_error},
      {"list_tasks_limit_float", "list_tasks", R"({"limit":0.5})", tool_error},
      {"list_tasks_limit_minus", "list_tasks", R"({"limit":-9223372036854775808})", tool_error},
      {"list_tasks_cursor_garbage", "list_tasks", R"({"cursor":"\u0000\uffff"})", tool_error},
      {"delete_task_id_array", "delete_task", R"({"id":["{task}"]})", tool_error},
      {"add_comment_body_empty", "add_comment", R"({"task_id":"{task}","body":""})", tool_error},
      {"create_project_name_too_long", "create_project", R"({"name":")" + std::string(5000, 'n') + "\"}",
       tool_error},
      {"list_projects_limit_1e400", "list_projects", R"({"limit":1e400})", parse_error},
  };
  for (const auto& call : calls) {
    add(
        call.name,
        [tool = call.tool, args = call.arguments](const Seed& s) {
          std::string a = args;
          for (auto p = a.find("{task}"); p != std::string::npos; p = a.find("{task}"))
            a.replace(p, 6, s.task_id);
          return tool_call(s, tool, a);
        },
        call.want);
  }
  // Transport-level refusals.
  add("no_session_header",
      [](const Seed&) {
        return request("POST", "/mcp",
                       "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n",
                       R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
      },
      {400});
  add("unknown_session",
      [](const Seed&) {
        return request("POST", "/mcp",
                       "Content-Type: application/json\r\nAccept: application/json, "
                       "text/event-stream\r\nMcp-Session-Id: \x01\x02zz\r\n",
                       R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
      },
      {4});
  add("bad_protocol_version_header",
      [](const Seed& s) {
        std::string h = mcp_headers(s);
        h.replace(h.find("2025-11-25"), 10, std::string(3000, '9'));
        return request("POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
      },
      {400});
  add("no_accept",
      [](const Seed& s) {
        return request("POST", "/mcp",
                       "Content-Type: application/json\r\nMcp-Session-Id: " + s.session_id + "\r\n", "{}");
      },
      {406});
  add("wrong_content_type",
      [](const Seed& s) {
        std::string h = mcp_headers(s);
        h.replace(0, h.find("\r\n"), "Content-Type: application/x-www-form-urlencoded");
        return request("POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
      },
      {415});
  add("body_above_max_body", [](const Seed& s) { return mcp_post(s, std::string(kMaxBody + 1, ' ')); },
      {413});
  add_all("pipelined_ping_bad_ping",
          [](const Seed& s) {
            std::string keep =
                request("POST", "/mcp", mcp_headers(s), R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
            keep.replace(keep.find("Connection: close"), 17, "Connection: keep-alive");
            std::string bad = request("POST", "/mcp", mcp_headers(s), "[[[");
            bad.replace(bad.find("Connection: close"), 17, "Connection: keep-alive");
            return keep + bad +
                   request("POST", "/mcp", mcp_headers(s), R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
          },
          {{200, std::nullopt}, {400, kParse}, {200, std::nullopt}});
  return rows;
}

}  // namespace taskman::testing::bad_input
