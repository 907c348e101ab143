// The HTTP-level rows of the bad-input matrix (both surfaces) and the REST rows: every route of
// /api/v1 with hostile bodies, query strings and headers, and pipelining.
#include "hardening/bad_input_rows.hpp"

namespace taskman::testing::bad_input {

std::string request(const std::string& method, const std::string& target, const std::string& headers,
                    const std::string& body, bool content_length) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + headers;
  if (content_length) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

std::string nested(char open, char close, std::size_t depth, const std::string& inner) {
  return std::string(depth, open) + inner + std::string(depth, close);
}

std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i) s += R"({"a":)";
  s += "1";
  return s + std::string(depth, '}');
}

namespace {

std::string api_json(const std::string& method, const std::string& target, const std::string& body,
                     const std::string& extra_headers = {}) {
  return request(method, target, "Content-Type: application/json\r\n" + extra_headers, body);
}

}  // namespace

void add_http_rows(std::vector<Row>& rows, Port port, const std::string& tag) {
  const std::string path = port == Port::kApi ? "/api/v1/tasks" : "/mcp";
  auto add = [&](std::string name, std::function<std::string(const Seed&)> bytes, std::vector<Want> want) {
    rows.push_back({tag + "_" + std::move(name), port, std::move(bytes), std::move(want)});
  };
  const std::string post = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  add("tls_client_hello",
      [](const Seed&) { return std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11); }, {{400}});
  add("non_http_bytes",
      [](const Seed&) { return std::string("hello, is it me you're looking for?\r\n\r\n"); }, {{400}});
  add("binary_garbage", [](const Seed&) { return std::string("\x00\xff\xfe\r\n\x01\x02\r\n\r\n", 11); },
      {{400}});
  add("http2_preface", [](const Seed&) { return std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); }, {{4}});
  add("bad_chunk_size",
      [=](const Seed&) {
        return post +
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
      },
      {{400}});
  add("chunk_size_overflow",
      [=](const Seed&) {
        return post +
               "Content-Type: application/json\r\nTransfer-Encoding: "
               "chunked\r\n\r\nfffffffffffffffffffff\r\n{}\r\n0\r\n\r\n";
      },
      {{4}});
  add("chunk_larger_than_max_body",
      [=](const Seed&) {
        return post + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n{}";
      },
      {{413}});
  add("chunk_without_crlf",
      [=](const Seed&) {
        return post +
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n";
      },
      {{400}});
  // The fuzz input that once tripped an assertion in the http_head harness: a final chunk followed by
  // a trailer whose field name is not a token.
  add("chunk_trailer_bad_field_name",
      [=](const Seed&) {
        return post +
               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n@: "
               "x\r\n\r\n";
      },
      {{400}});
  add("content_length_with_transfer_encoding",
      [=](const Seed&) {
        return post +
               "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: "
               "chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
      },
      {{400}});
  add("transfer_encoding_gzip", [=](const Seed&) { return post + "Transfer-Encoding: gzip\r\n\r\n{}"; },
      {{4}});
  add("two_content_lengths",
      [=](const Seed&) {
        return post + "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x";
      },
      {{400}});
  add("content_length_negative", [=](const Seed&) { return post + "Content-Length: -1\r\n\r\n"; }, {{400}});
  add("content_length_not_a_number", [=](const Seed&) { return post + "Content-Length: 12abc\r\n\r\n"; },
      {{400}});
  add("content_length_beyond_uint64",
      [=](const Seed&) { return post + "Content-Length: 99999999999999999999999\r\n\r\n{}"; }, {{4}});
  add("content_length_absurd", [=](const Seed&) { return post + "Content-Length: 1000000000000\r\n\r\n{}"; },
      {{413}});
  add("content_length_above_max_body",
      [=](const Seed&) { return post + "Content-Length: " + std::to_string(kMaxBody + 1) + "\r\n\r\n{}"; },
      {{413}});
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
      [=](const Seed&) {
        return post + "X-Big: " + std::string(64 * 1024, 'a') + "\r\nContent-Length: 2\r\n\r\n{}";
      },
      {{431}});
  add("huge_request_target",
      [=](const Seed&) { return "GET " + path + "?" + std::string(64 * 1024, 'a') + " HTTP/1.1\r\n\r\n"; },
      {{4}});
  add("header_without_colon", [=](const Seed&) { return post + "NoColonHere\r\nContent-Length: 0\r\n\r\n"; },
      {{400}});
  add("header_with_nul",
      [=](const Seed&) { return post + std::string("X-A: a\0b\r\n", 10) + "Content-Length: 0\r\n\r\n"; },
      {{400}});
  // Beast unfolds obs-fold (RFC 9112 §5.2 allows it); the body-less POST then gets its 4xx.
  add("obsolete_line_folding",
      [=](const Seed&) { return post + "X-A: a\r\n  folded\r\nContent-Length: 0\r\n\r\n"; }, {{4}});
  add("bare_lf_line_endings", [=](const Seed&) { return "GET " + path + " HTTP/1.1\nHost: x\n\n"; }, {{4}});
  add("http_version_9", [=](const Seed&) { return "GET " + path + " HTTP/9.9\r\nHost: x\r\n\r\n"; }, {{4}});
  add("method_with_spaces", [=](const Seed&) { return "G E T " + path + " HTTP/1.1\r\n\r\n"; }, {{400}});
  add("unknown_http_method",
      [=](const Seed&) { return "BREW " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"; },
      {{4}});
  add("asterisk_target",
      [](const Seed&) { return std::string("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); },
      {{4}});
  add("absolute_form_target",
      [=](const Seed&) {
        return "GET http://evil.example" + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      },
      {{4}});
  add("bad_percent_encoding", [=](const Seed&) { return request("GET", path + "/%zz%", "", "", false); },
      {{4}});
  add("percent_encoded_nul", [=](const Seed&) { return request("GET", path + "/%00", "", "", false); },
      {{4}});
  add("dot_dot_segments",
      [=](const Seed&) { return request("GET", path + "/../../../etc/passwd", "", "", false); }, {{4}});
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
      {"number_huge_integer",
       R"({"title":"x","name":"x","body":"x","labels":[)" + std::string(5000, '9') + "]}"},
      {"invalid_utf8", "{\"title\":\"\xff\xfe\",\"name\":\"\xc3\x28\",\"body\":\"\xed\xa0\x80\"}"},
      {"lone_surrogate", R"({"title":"\ud800","name":"\udc00x","body":"\ud800"})"},
      {"raw_nul_byte", with_nul("{\"title\":\"a\0b\",\"name\":\"a\0b\",\"body\":\"a\0b\"}")},
      {"escaped_nul_only", R"({"title":"\u0000","name":"\u0000","body":"\u0000","due_at":"\u0000"})"},
      {"duplicate_keys_bad_last", R"({"title":"ok","title":"","name":"ok","name":"","body":"ok","body":""})"},
      {"huge_string_near_max_body", "{\"title\":\"" + std::string(kMaxBody - 200, 'x') +
                                        "\",\"name\":\"x\",\"body\":\"" + std::string(100, 'y') + "\"}"},
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
      add(route.tag + "_" + name,
          [route, b = body](const Seed& s) { return api_json(route.method, route.target(s), b); }, {{4}});
    }
    add(route.tag + "_body_above_max_body",
        [route](const Seed& s) {
          return api_json(route.method, route.target(s), std::string(kMaxBody + 1, ' '));
        },
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
      [](const Seed& s) {
        return api_json("PATCH", "/api/v1/tasks/" + s.task_id, R"({"title":"x"})",
                        "If-Match: \"18446744073709551616\"\r\n");
      },
      {{412}});
  add("patch_task_if_match_garbage",
      [](const Seed& s) {
        return api_json("PATCH", "/api/v1/tasks/" + s.task_id, R"({"title":"x"})", "If-Match: 1e400\r\n");
      },
      {{400}});
  add("delete_task_if_match_minus_zero",
      [](const Seed& s) {
        return request("DELETE", "/api/v1/tasks/" + s.task_id, "If-Match: \"-0\"\r\n", "", false);
      },
      {{412}});
  add("delete_project_cascade_garbage",
      [](const Seed& s) {
        return request("DELETE", "/api/v1/projects/" + s.project_id + "?cascade=%ff", "", "", false);
      },
      {{400}});
  add("create_task_idempotency_key_control_chars",
      [](const Seed&) {
        return api_json("POST", "/api/v1/tasks", R"({"title":"x"})", "Idempotency-Key: a\x01z\r\n");
      },
      {{400}});
  add("create_task_idempotency_key_huge",
      [](const Seed&) {
        return api_json("POST", "/api/v1/tasks", R"({"title":"x"})",
                        "Idempotency-Key: " + std::string(300, 'k') + "\r\n");
      },
      {{400}});
  add("create_task_unknown_project",
      [](const Seed&) {
        return api_json("POST", "/api/v1/tasks", R"({"title":"x","project_id":"does-not-exist"})");
      },
      {{4}});
  // Pipelining: a good request, a bad one and a good one on one connection, answered in order.
  add("pipelined_good_bad_good",
      [](const Seed& s) {
        const std::string get = "GET /api/v1/tasks/" + s.task_id + " HTTP/1.1\r\nHost: x\r\n\r\n";
        const std::string bad =
            "POST /api/v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            "5\r\n\r\n[[[[[";
        return get + bad + "GET /api/v1/tasks/" + s.task_id +
               " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      },
      {{200}, {400}, {200}});
  add(
      "pipelined_hundred_gets",
      [](const Seed& s) {
        std::string out;
        for (int i = 0; i < 99; ++i) out += "GET /api/v1/tasks/" + s.task_id + " HTTP/1.1\r\nHost: x\r\n\r\n";
        return out + "GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
      },
      std::vector<Want>(100, Want{200}));
  return rows;
}

}  // namespace taskman::testing::bad_input
