// The bad-input matrix: hostile HTTP, hostile JSON and odd JSON-RPC/MCP messages sent as raw bytes
// to the real `taskman serve`, on both surfaces (the REST API under /api/v1, every route, and MCP
// on /mcp). Each row names the bytes and the answer they deserve. After every row the server must
// still be ready on both ports and the data untouched (row counts and the seed task's version);
// at the end the server must exit cleanly and `PRAGMA integrity_check` must say ok.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "hardening/raw_http.hpp"
#include "support/mcp_session.hpp"
#include "support/process.hpp"

namespace taskman::testing {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxBody = 1 << 20;  // MAX_BODY_BYTES default

enum class Port { kApi, kMcp };

// What a row deserves: an exact status, or any status of a class (4 = "some 4xx"); for MCP rows,
// optionally a JSON-RPC error code in the body or a CallToolResult with isError.
struct Want {
  int status = 4;
  std::optional<int> rpc_error;
  bool tool_error = false;
};

struct Seed {
  std::string project_id, task_id, comment_id, session_id;
  int api_port = 0, mcp_port = 0;
};

struct Row {
  std::string name;
  Port port;
  std::function<std::string(const Seed&)> bytes;
  std::vector<Want> want;  // one per response (pipelining: several); none: the server must close
};

std::string request(const std::string& method, const std::string& target, const std::string& headers,
                    const std::string& body, bool content_length = true) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers;
  if (content_length) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

std::string api_json(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& extra_headers = {}) {
  return request(method, target, "Content-Type: application/json\r\n" + extra_headers, body);
}

std::string mcp_headers(const Seed& s) {
  return "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: " +
         s.session_id + "\r\nMCP-Protocol-Version: 2025-11-25\r\n";
}

std::string mcp_post(const Seed& s, const std::string& body) { return request("POST", "/mcp", mcp_headers(s), body); }

std::string tool_call(const Seed& s, const std::string& name, const std::string& arguments) {
  return mcp_post(s, R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":")" + name +
                         R"(","arguments":)" + arguments + "}}");
}

// A string literal with embedded NUL bytes, whole.
template <std::size_t N>
std::string with_nul(const char (&s)[N]) {
  return std::string(s, N - 1);
}

std::string nested(char open, char close, std::size_t depth, const std::string& inner = "") {
  return std::string(depth, open) + inner + std::string(depth, close);
}

std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += R"({"a":)";
  s += "1";
  return s + std::string(depth, '}');
}

// The JSON-RPC message in a JSON or SSE body.
json rpc_body(const RawResponse& r) {
  if (header_value(r.head, "content-type").find("text/event-stream") == std::string::npos) {
    return json::parse(r.body, nullptr, false);
  }
  std::size_t pos = 0;
  while (pos < r.body.size()) {
    auto eol = r.body.find('\n', pos);
    if (eol == std::string::npos) eol = r.body.size();
    const std::string line = r.body.substr(pos, eol - pos);
    if (line.rfind("data:", 0) == 0) {
      auto j = json::parse(line.substr(5), nullptr, false);
      if (j.is_object() && (j.contains("result") || j.contains("error"))) return j;
    }
    pos = eol + 1;
  }
  return json::value_t::discarded;
}

// Rows that make sense on both surfaces: broken HTTP before any route is reached.
void add_http_rows(std::vector<Row>& rows, Port port, const std::string& tag) {
  const std::string path = port == Port::kApi ? "/api/v1/tasks" : "/mcp";
  auto add = [&](std::string name, std::function<std::string(const Seed&)> bytes, std::vector<Want> want) {
    rows.push_back({tag + "_" + std::move(name), port, std::move(bytes), std::move(want)});
  };
  const std::string post = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  add("tls_client_hello", [](const Seed&) { return std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11); },
      {{400}});
  add("non_http_bytes", [](const Seed&) { return std::string("hello, is it me you're looking for?\r\n\r\n"); }, {{400}});
  add("binary_garbage", [](const Seed&) { return std::string("\x00\xff\xfe\r\n\x01\x02\r\n\r\n", 11); }, {{400}});
  add("http2_preface", [](const Seed&) { return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); }, {{4}});
  add("bad_chunk_size",
      [=](const Seed&) { return post + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"; },
      {{400}});
  add("chunk_size_overflow",
      [=](const Seed&) {
        return post + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n{}\r\n0\r\n\r\n";
      },
      {{4}});
  add("chunk_larger_than_max_body",
      [=](const Seed&) { return post + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n{}"; },
      {{413}});
  add("chunk_without_crlf",
      [=](const Seed&) { return post + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n"; },
      {{400}});
  add("content_length_with_transfer_encoding",
      [=](const Seed&) {
        return post + "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
      },
      {{400}});
  add("transfer_encoding_gzip", [=](const Seed&) { return post + "Transfer-Encoding: gzip\r\n\r\n{}"; }, {{4}});
  add("two_content_lengths",
      [=](const Seed&) { return post + "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"; },
      {{400}});
  add("content_length_negative", [=](const Seed&) { return post + "Content-Length: -1\r\n\r\n"; }, {{400}});
  add("content_length_not_a_number", [=](const Seed&) { return post + "Content-Length: 12abc\r\n\r\n"; }, {{400}});
  add("content_length_beyond_uint64",
      [=](const Seed&) { return post + "Content-Length: 99999999999999999999999\r\n\r\n{}"; }, {{4}});
  add("content_length_absurd", [=](const Seed&) { return post + "Content-Length: 1000000000000\r\n\r\n{}"; }, {{413}});
  add("content_length_above_max_body",
      [=](const Seed&) { return post + "Content-Length: " + std::to_string(kMaxBody + 1) + "\r\n\r\n{}"; }, {{413}});
  add("body_shorter_than_content_length",
      [=](const Seed&) { return post + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{}"; },
      {});  // the read timeout closes the connection: no answer is owed to half a request
  add("thousands_of_headers",
      [=](const Seed&) {
        std::string h;
        for (int i = 0; i < 5000; ++i) h += "X-H" + std::to_string(i) + ": v\r\n";
        return post + h + "Content-Length: 2\r\n\r\n{}";
      },
      {{431}});
  add("one_huge_header",
      [=](const Seed&) { return post + "X-Big: " + std::string(64 * 1024, 'a') + "\r\nContent-Length: 2\r\n\r\n{}"; },
      {{431}});
  add("huge_request_target", [=](const Seed&) { return "GET " + path + "?" + std::string(64 * 1024, 'a') + " HTTP/1.1\r\n\r\n"; },
      {{4}});
  add("header_without_colon", [=](const Seed&) { return post + "NoColonHere\r\nContent-Length: 0\r\n\r\n"; }, {{400}});
  add("header_with_nul", [=](const Seed&) { return post + std::string("X-A: a\0b\r\n", 10) + "Content-Length: 0\r\n\r\n"; },
      {{400}});
  // Beast unfolds obs-fold (RFC 9112 §5.2 allows it); the body-less POST then gets its 4xx.
  add("obsolete_line_folding", [=](const Seed&) { return post + "X-A: a\r\n  folded\r\nContent-Length: 0\r\n\r\n"; },
      {{4}});
  add("bare_lf_line_endings", [=](const Seed&) { return "GET " + path + " HTTP/1.1\nHost: x\n\n"; }, {{4}});
  add("http_version_9", [=](const Seed&) { return "GET " + path + " HTTP/9.9\r\nHost: x\r\n\r\n"; }, {{4}});
  add("method_with_spaces", [=](const Seed&) { return "G E T " + path + " HTTP/1.1\r\n\r\n"; }, {{400}});
  add("unknown_http_method", [=](const Seed&) { return "BREW " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"; },
      {{4}});
  add("asterisk_target", [](const Seed&) { return std::string("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); },
      {{4}});
  add("absolute_form_target",
      [=](const Seed&) { return "GET http://evil.example" + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"; },
      {{4}});
  add("bad_percent_encoding", [=](const Seed&) { return request("GET", path + "/%zz%", "", "", false); }, {{4}});
  add("percent_encoded_nul", [=](const Seed&) { return request("GET", path + "/%00", "", "", false); }, {{4}});
  add("dot_dot_segments", [=](const Seed&) { return request("GET", path + "/../../../etc/passwd", "", "", false); },
      {{4}});
}

std::vector<Row> api_rows() {
  std::vector<Row> rows;
  add_http_rows(rows, Port::kApi, "api");
  auto add = [&](std::string name, std::function<std::string(const Seed&)> bytes, std::vector<Want> want) {
    rows.push_back({"api_" + std::move(name), Port::kApi, std::move(bytes), std::move(want)});
  };
  // Every body-carrying route gets the same hostile bodies.
  struct Route {
    std::string tag, method;
    std::function<std::string(const Seed&)> target;
  };
  const std::vector<Route> body_routes = {
      {"create_task", "POST", [](const Seed&) { return std::string("/api/v1/tasks"); }},
      {"patch_task", "PATCH", [](const Seed& s) { return "/api/v1/tasks/" + s.task_id; }},
      {"create_project", "POST", [](const Seed&) { return std::string("/api/v1/projects"); }},
      {"patch_project", "PATCH", [](const Seed& s) { return "/api/v1/projects/" + s.project_id; }},
      {"add_comment", "POST", [](const Seed& s) { return "/api/v1/tasks/" + s.task_id + "/comments"; }},
  };
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"deep_arrays", nested('[', ']', 100000)},
      {"deep_objects", nested_objects(100000)},
      {"deep_unclosed", std::string(100000, '[')},
      {"number_1e400", R"({"title":"x","name":"x","body":"x","priority":1e400,"description":1e400})"},
      {"number_minus_zero", R"({"title":-0,"name":-0,"body":-0})"},
      {"number_2_pow_64", R"({"title":"x","name":"x","body":"x","version":18446744073709551616})"},
      {"number_huge_integer", R"({"title":"x","name":"x","body":"x","labels":[)" + std::string(5000, '9') + "]}"},
      {"invalid_utf8", "{\"title\":\"\xff\xfe\",\"name\":\"\xc3\x28\",\"body\":\"\xed\xa0\x80\"}"},
      {"lone_surrogate", R"({"title":"\ud800","name":"\udc00x","body":"\ud800"})"},
      {"raw_nul_byte", with_nul("{\"title\":\"a\0b\",\"name\":\"a\0b\",\"body\":\"a\0b\"}")},
      {"escaped_nul_only", R"({"title":"\u0000","name":"\u0000","body":"\u0000","due_at":"\u0000"})"},
      {"duplicate_keys_bad_last", R"({"title":"ok","title":"","name":"ok","name":"","body":"ok","body":""})"},
      {"huge_string_near_max_body",
       "{\"title\":\"" + std::string(kMaxBody - 200, 'x') + "\",\"name\":\"x\",\"body\":\"" + std::string(100, 'y') + "\"}"},
      {"top_level_array", "[]"},
      {"top_level_string", "\"title\""},
      {"top_level_null", "null"},
      {"empty_body", ""},
      {"trailing_garbage", R"({"title":"a","name":"a","body":"a"} {"x":1})"},
      {"byte_order_mark", "\xef\xbb\xbf{\"title\":\"a\",\"name\":\"a\",\"body\":\"a\"}x"},
      {"unknown_field_object", R"({"title":"a","name":"a","body":"a","zzz":{"a":[1,2,{"b":null}]}})"},
      {"wrong_types", R"({"title":[],"name":{},"body":true,"labels":"x","depends_on":{},"priority":7})"},
  };
  for (const auto& route : body_routes) {
    for (const auto& [name, body] : bodies) {
      add(route.tag + "_" + name, [route, b = body](const Seed& s) { return api_json(route.method, route.target(s), b); },
          {{4}});
    }
    add(route.tag + "_body_above_max_body",
        [route](const Seed& s) { return api_json(route.method, route.target(s), std::string(kMaxBody + 1, ' ')); },
        {{413}});
    add(route.tag + "_utf16_content_type",
        [route](const Seed& s) {
          return request(route.method, route.target(s), "Content-Type: text/plain\r\n", R"({"title":"a"})");
        },
        {{415}});
  }
  // Query strings and headers on every route that reads them.
  const std::vector<std::pair<std::string, std::string>> targets = {
      {"list_limit_2_pow_64", "/api/v1/tasks?limit=18446744073709551616"},
      {"list_limit_huge", "/api/v1/tasks?limit=" + std::string(400, '9')},
      {"list_limit_minus_zero", "/api/v1/tasks?limit=-0"},
      {"list_limit_float", "/api/v1/tasks?limit=1e400"},
      {"list_limit_repeated", "/api/v1/tasks?limit=1&limit=2"},
      {"list_limit_nul", "/api/v1/tasks?limit=1%00"},
      {"list_cursor_garbage", "/api/v1/tasks?cursor=%ff%fe%00"},
      {"list_cursor_huge", "/api/v1/tasks?cursor=" + std::string(8000, 'A')},
      {"list_status_invalid_utf8", "/api/v1/tasks?status=%c3%28"},
      {"list_unknown_param", "/api/v1/tasks?evil=1"},
      {"list_due_before_garbage", "/api/v1/tasks?due_before=9999999999-99-99"},
      {"next_limit_garbage", "/api/v1/tasks/next?assignee=%00&bogus=1"},
      {"projects_limit_2_pow_64", "/api/v1/projects?limit=18446744073709551616"},
      {"projects_cursor_garbage", "/api/v1/projects?cursor=!!!"},
      {"comments_limit_negative", "/api/v1/tasks/{task}/comments?limit=-1"},
      {"comments_cursor_garbage", "/api/v1/tasks/{task}/comments?cursor=%00%00"},
      {"get_task_unknown_param", "/api/v1/tasks/{task}?x=1"},
      {"get_comment_invalid_utf8_id", "/api/v1/tasks/{task}/comments/%ff%fe"},
      {"get_project_long_id", "/api/v1/projects/" + std::string(5000, 'p')},
  };
  for (const auto& [name, target] : targets) {
    add(name,
        [t = target](const Seed& s) {
          std::string out = t;
          if (auto p = out.find("{task}"); p != std::string::npos) out.replace(p, 6, s.task_id);
          return request("GET", out, "", "", false);
        },
        {{4}});
  }
  add("patch_task_if_match_2_pow_64",
      [](const Seed& s) { return api_json("PATCH", "/api/v1/tasks/" + s.task_id, R"({"title":"x"})", "If-Match: \"18446744073709551616\"\r\n"); },
      {{412}});
  add("patch_task_if_match_garbage",
      [](const Seed& s) { return api_json("PATCH", "/api/v1/tasks/" + s.task_id, R"({"title":"x"})", "If-Match: 1e400\r\n"); },
      {{400}});
  add("delete_task_if_match_minus_zero",
      [](const Seed& s) { return request("DELETE", "/api/v1/tasks/" + s.task_id, "If-Match: \"-0\"\r\n", "", false); },
      {{412}});
  add("delete_project_cascade_garbage",
      [](const Seed& s) { return request("DELETE", "/api/v1/projects/" + s.project_id + "?cascade=%ff", "", "", false); },
      {{400}});
  add("create_task_idempotency_key_control_chars",
      [](const Seed&) { return api_json("POST", "/api/v1/tasks", R"({"title":"x"})", "Idempotency-Key: a\x01z\r\n"); },
      {{400}});
  add("create_task_idempotency_key_huge",
      [](const Seed&) {
        return api_json("POST", "/api/v1/tasks", R"({"title":"x"})", "Idempotency-Key: " + std::string(300, 'k') + "\r\n");
      },
      {{400}});
  add("create_task_unknown_project",
      [](const Seed&) { return api_json("POST", "/api/v1/tasks", R"({"title":"x","project_id":"does-not-exist"})"); },
      {{4}});
  // Pipelining: a good request, a bad one and a good one on one connection, answered in order.
  add("pipelined_good_bad_good",
      [](const Seed& s) {
        const std::string get = "GET /api/v1/tasks/" + s.task_id + " HTTP/1.1\r\nHost: x\r\n\r\n";
        const std::string bad =
            "POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n[[[[[";
        return get + bad + "GET /api/v1/tasks/" + s.task_id + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      },
      {{200}, {400}, {200}});
  add("pipelined_hundred_gets",
      [](const Seed& s) {
        std::string out;
        for (int i = 0; i < 99; ++i) out += "GET /api/v1/tasks/" + s.task_id + " HTTP/1.1\r\nHost: x\r\n\r\n";
        return out + "GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      },
      std::vector<Want>(100, Want{200}));
  return rows;
}

std::vector<Row> mcp_rows() {
  std::vector<Row> rows;
  add_http_rows(rows, Port::kMcp, "mcp");
  auto add_all = [&](std::string name, std::function<std::string(const Seed&)> bytes, std::vector<Want> want) {
    rows.push_back({"mcp_" + std::move(name), Port::kMcp, std::move(bytes), std::move(want)});
  };
  auto add = [&](std::string name, std::function<std::string(const Seed&)> bytes, Want want) {
    add_all(std::move(name), std::move(bytes), {want});
  };
  auto body = [&](std::string name, std::string b, Want want) {
    add(std::move(name), [b = std::move(b)](const Seed& s) { return mcp_post(s, b); }, want);
  };
  constexpr int kParse = -32700, kInvalid = -32600, kNoMethod = -32601, kParams = -32602;
  // Deep nesting parses (nlohmann's parser is iterative) and is then refused as a message.
  body("deep_arrays", nested('[', ']', 100000), {400, kInvalid});
  body("deep_objects", nested_objects(100000), {400, kInvalid});
  body("deep_params", R"({"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":)" + nested('[', ']', 100000) + "}}", {200});
  body("invalid_json", R"({"jsonrpc":"2.0","id":1,"method":)", {400, kParse});
  body("invalid_utf8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"p\xffng\"}", {400, kParse});
  body("lone_surrogate", R"({"jsonrpc":"2.0","id":"\ud800","method":"ping"})", {400, kParse});
  body("raw_nul_byte", with_nul("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\0ng\"}"), {400, kParse});
  body("empty_body", "", {400, kParse});
  body("batch_array", R"([{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}])",
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
  body("result_and_error", R"({"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}})", {400, kInvalid});
  body("duplicate_method_key", R"({"jsonrpc":"2.0","id":1,"method":"ping","method":"nope/nope"})", {200, kNoMethod});
  body("notification_name_with_id", R"({"jsonrpc":"2.0","id":3,"method":"notifications/initialized"})",
       {200, kNoMethod});
  body("unknown_method", R"({"jsonrpc":"2.0","id":3,"method":"tasks/steal"})", {200, kNoMethod});
  body("params_array", R"({"jsonrpc":"2.0","id":3,"method":"tools/list","params":[1,2]})", {200, kParams});
  body("params_string", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":"create_task"})", {200, kParams});
  body("tools_call_arguments_array", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"create_task","arguments":[{"title":"x"}]}})",
       {200, kParams});
  body("tools_call_name_number", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":1,"arguments":{}}})",
       {200, kParams});
  body("tools_call_no_name", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{}}})", {200, kParams});
  body("tools_call_unknown_tool", R"({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"rm_rf","arguments":{}}})",
       {200, kParams});
  body("initialize_again", R"({"jsonrpc":"2.0","id":3,"method":"initialize","params":{"protocolVersion":1e400,"capabilities":[],"clientInfo":7}})",
       {4});
  body("meta_hostile",
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
      {"create_task_huge_params", "create_task", R"({"title":"x","description":")" + std::string(kMaxBody - 300, 'd') + "\"}", tool_error},
      {"create_task_title_1e400", "create_task", R"({"title":1e400})", parse_error},
      {"create_task_title_blank", "create_task", R"({"title":" \t\n "})", tool_error},
      {"create_task_labels_deep", "create_task", R"({"title":"x","labels":)" + nested('[', ']', 5000) + "}", tool_error},
      {"create_task_unknown_field", "create_task", R"({"title":"x","version":18446744073709551616})", tool_error},
      {"get_task_id_number", "get_task", R"({"id":18446744073709551616})", tool_error},
      {"get_task_id_nul", "get_task", R"({"id":"\u0000"})", tool_error},
      {"get_task_id_path_traversal", "get_task", R"({"id":"../projects"})", tool_error},
      {"update_task_expected_version_1e400", "update_task", R"({"id":"{task}","title":"y","expected_version":1e400})", parse_error},
      {"update_task_expected_version_2_pow_64", "update_task", R"({"id":"{task}","title":"y","expected_version":18446744073709551616})", tool_error},
      {"update_task_expected_version_uint64_max", "update_task", R"({"id":"{task}","title":"y","expected_version":18446744073709551615})", tool_error},
      {"update_task_expected_version_2_pow_63", "update_task", R"({"id":"{task}","title":"y","expected_version":9223372036854775808})", tool_error},
      {"update_task_expected_version_float", "update_task", R"({"id":"{task}","title":"y","expected_version":1.5})", tool_error},
      {"update_task_expected_version_negative", "update_task", R"({"id":"{task}","title":"y","expected_version":-1})", tool_error},
      {"update_task_expected_version_huge", "update_task", R"({"id":"{task}","title":"y","expected_version":)" + std::string(400, '9') + "}", parse_error},
      {"update_task_status_bogus", "update_task", R"({"id":"{task}","status":"exploded"})", tool_error},
      {"list_tasks_limit_2_pow_64", "list_tasks", R"({"limit":18446744073709551616})", tool_error},
      {"list_tasks_limit_uint64_max", "list_tasks", R"({"limit":18446744073709551615})", tool_error},
      {"list_tasks_limit_1e400", "list_tasks", R"({"limit":1e400})", parse_error},
      {"list_tasks_limit_float", "list_tasks", R"({"limit":0.5})", tool_error},
      {"list_tasks_limit_minus", "list_tasks", R"({"limit":-9223372036854775808})", tool_error},
      {"list_tasks_cursor_garbage", "list_tasks", R"({"cursor":"\u0000\uffff"})", tool_error},
      {"delete_task_id_array", "delete_task", R"({"id":["{task}"]})", tool_error},
      {"add_comment_body_empty", "add_comment", R"({"task_id":"{task}","body":""})", tool_error},
      {"create_project_name_too_long", "create_project", R"({"name":")" + std::string(5000, 'n') + "\"}", tool_error},
      {"list_projects_limit_1e400", "list_projects", R"({"limit":1e400})", parse_error},
  };
  for (const auto& call : calls) {
    add(call.name,
        [tool = call.tool, args = call.arguments](const Seed& s) {
          std::string a = args;
          for (auto p = a.find("{task}"); p != std::string::npos; p = a.find("{task}")) a.replace(p, 6, s.task_id);
          return tool_call(s, tool, a);
        },
        call.want);
  }
  // Transport-level refusals.
  add("no_session_header", [](const Seed&) { return request("POST", "/mcp", "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n", R"({"jsonrpc":"2.0","id":1,"method":"ping"})"); },
      {400});
  add("unknown_session",
      [](const Seed&) {
        return request("POST", "/mcp",
                       "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Session-Id: \x01\x02zz\r\n",
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
      [](const Seed& s) { return request("POST", "/mcp", "Content-Type: application/json\r\nMcp-Session-Id: " + s.session_id + "\r\n", "{}"); },
      {406});
  add("wrong_content_type",
      [](const Seed& s) {
        std::string h = mcp_headers(s);
        h.replace(0, h.find("\r\n"), "Content-Type: application/x-www-form-urlencoded");
        return request("POST", "/mcp", h, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
      },
      {415});
  add("body_above_max_body", [](const Seed& s) { return mcp_post(s, std::string(kMaxBody + 1, ' ')); }, {413});
  add_all("pipelined_ping_bad_ping",
      [](const Seed& s) {
        std::string keep = request("POST", "/mcp", mcp_headers(s), R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
        keep.replace(keep.find("Connection: close"), 17, "Connection: keep-alive");
        std::string bad = request("POST", "/mcp", mcp_headers(s), "[[[");
        bad.replace(bad.find("Connection: close"), 17, "Connection: keep-alive");
        return keep + bad + request("POST", "/mcp", mcp_headers(s), R"({"jsonrpc":"2.0","id":2,"method":"ping"})");
      },
      {{200, std::nullopt}, {400, kParse}, {200, std::nullopt}});
  return rows;
}

// One `taskman serve` for the whole matrix (hundreds of rows), seeded with a project, a task in
// it and a comment.
class BadInput : public ::testing::TestWithParam<Row> {
 public:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    auto opts = serve_options(*dir_);
    opts.env["HTTP_READ_TIMEOUT_MS"] = "1500";  // short: rows that send half a request end quickly
    server_ = std::make_unique<Process>(opts);
    seed_.api_port = server_->wait_for_port("taskman-api");
    seed_.mcp_port = server_->wait_for_port("taskman-mcp");
    ASSERT_GT(seed_.api_port, 0) << server_->stderr_text();
    ASSERT_GT(seed_.mcp_port, 0) << server_->stderr_text();
    auto p = http(seed_.api_port, "POST", "/api/v1/projects", {{"Content-Type", "application/json"}}, R"({"name":"seed"})");
    ASSERT_EQ(p.status, 201) << p.body;
    seed_.project_id = json::parse(p.body)["id"];
    auto t = http(seed_.api_port, "POST", "/api/v1/tasks", {{"Content-Type", "application/json"}},
                  json{{"title", "seed"}, {"project_id", seed_.project_id}}.dump());
    ASSERT_EQ(t.status, 201) << t.body;
    seed_.task_id = json::parse(t.body)["id"];
    auto c = http(seed_.api_port, "POST", "/api/v1/tasks/" + seed_.task_id + "/comments",
                  {{"Content-Type", "application/json"}}, R"({"body":"seed"})");
    ASSERT_EQ(c.status, 201) << c.body;
    seed_.comment_id = json::parse(c.body)["id"];
    seed_.session_id = McpSession::open(seed_.mcp_port).id();
    baseline_ = snapshot();
  }

  static void TearDownTestSuite() {
    if (!server_) return;
    server_->signal(SIGTERM);
    const auto status = server_->wait_exit(std::chrono::seconds(30));
    EXPECT_EQ(status, std::optional<int>(0)) << server_->stderr_text();
    server_.reset();
    const std::string cmd = std::string(SQLITE3_PATH) + " '" + dir_->path() + "/t.db' 'PRAGMA integrity_check'";
    std::string out;
    if (FILE* f = ::popen(cmd.c_str(), "r")) {
      char buf[256];
      while (std::fgets(buf, sizeof buf, f) != nullptr) out += buf;
      ::pclose(f);
    }
    EXPECT_EQ(out, "ok\n");
    dir_.reset();
  }

 protected:
  // Row counts and the seed task's version: what no bad input may change.
  static std::string snapshot() {
    auto count = [](const std::string& target) {
      auto r = http(seed_.api_port, "GET", target);
      if (r.status != 200) return std::string("HTTP ") + std::to_string(r.status);
      auto j = json::parse(r.body);
      return std::to_string(j["items"].size()) + (j["next_cursor"].is_null() ? "" : "+");
    };
    auto task = http(seed_.api_port, "GET", "/api/v1/tasks/" + seed_.task_id);
    return "projects=" + count("/api/v1/projects?limit=100") + " tasks=" + count("/api/v1/tasks?limit=100") +
           " comments=" + count("/api/v1/tasks/" + seed_.task_id + "/comments?limit=100") +
           " seed_etag=" + task.headers["etag"];
  }

  static inline std::unique_ptr<TempDir> dir_;
  static inline std::unique_ptr<Process> server_;
  static inline Seed seed_;
  static inline std::string baseline_;
};

TEST_P(BadInput, AnswersRightStaysHealthyKeepsData) {
  ASSERT_TRUE(server_) << "the server did not start";
  const Row& row = GetParam();
  const int port = row.port == Port::kApi ? seed_.api_port : seed_.mcp_port;
  const auto ex = raw_exchange(port, row.bytes(seed_), row.want.size());
  EXPECT_FALSE(ex.timed_out) << "no answer and no close within the deadline";
  if (row.want.empty()) EXPECT_TRUE(ex.closed);
  ASSERT_EQ(ex.responses.size(), row.want.size()) << "closed=" << ex.closed << " leftover=" << ex.leftover.substr(0, 300);
  for (std::size_t i = 0; i < row.want.size(); ++i) {
    const auto& got = ex.responses[i];
    const auto& want = row.want[i];
    SCOPED_TRACE("response " + std::to_string(i) + ": " + got.head + "\n" + got.body.substr(0, 500));
    EXPECT_LT(got.status, 500);
    if (want.status < 10) {
      EXPECT_EQ(got.status / 100, want.status);
    } else {
      EXPECT_EQ(got.status, want.status);
    }
    if (want.rpc_error || want.tool_error) {
      const json rpc = rpc_body(got);
      ASSERT_TRUE(rpc.is_object()) << "not a JSON-RPC message";
      if (want.rpc_error) {
        ASSERT_TRUE(rpc.contains("error"));
        EXPECT_EQ(rpc["error"].value("code", 0), *want.rpc_error);
        EXPECT_FALSE(rpc["error"].value("message", std::string()).empty());
      }
      if (want.tool_error) {
        ASSERT_TRUE(rpc.contains("result")) << "a tool's bad arguments are a CallToolResult with isError";
        EXPECT_EQ(rpc["result"].value("isError", false), true);
        EXPECT_FALSE(rpc["result"]["content"].empty());
      }
    }
  }
  for (int p : {seed_.api_port, seed_.mcp_port}) {
    auto ready = http(p, "GET", "/health/ready");
    EXPECT_EQ(ready.status, 200) << "port " << p << ": " << ready.body << "\n" << server_->stderr_text();
  }
  EXPECT_EQ(snapshot(), baseline_);
}

std::vector<Row> all_rows() {
  auto rows = api_rows();
  for (auto& r : mcp_rows()) rows.push_back(std::move(r));
  return rows;
}

INSTANTIATE_TEST_SUITE_P(Matrix, BadInput, ::testing::ValuesIn(all_rows()),
                         [](const ::testing::TestParamInfo<Row>& info) { return info.param.name; });

}  // namespace
}  // namespace taskman::testing
