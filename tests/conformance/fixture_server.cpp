// The conformance fixture: an MCP server built on the taskman_mcp library exposing the tools,
// resources and prompts the official suite (@modelcontextprotocol/conformance) calls by name
// (the official @modelcontextprotocol/conformance suite; docs/mcp.md; the 2026-07-28 ones are in
// fixture_modern.cpp). Not part of the product binary.
//
//   mcp_conformance_fixture [--stdio] [--stateless] [--max-body BYTES] [--session-ttl-ms MS]
//
// HTTP mode binds 127.0.0.1 on a free port and prints "LISTENING port=<n>" on stdout, then serves
// until SIGTERM/SIGINT. --stdio serves one session on stdin/stdout until EOF.
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "fixture_modern.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "log/log.hpp"
#include "mcp/http_transport.hpp"
#include "mcp/server.hpp"
#include "mcp/stdio_transport.hpp"

namespace {

using taskman::Error;
using taskman::ErrorCode;
using taskman::Result;
using namespace taskman::mcp;  // NOLINT: a single-file executable

// 1x1 red PNG and a minimal (silent, 1 sample) WAV.
constexpr const char* kPng =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
constexpr const char* kWav = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQIAAACAgA==";

// Runs callbacks after a delay on one thread: the fixture's "work takes a while" without blocking
// the thread that delivered the request (the library's handlers must not block).
class Delayer {
 public:
  Delayer() : thread_([this] { loop(); }) {}
  ~Delayer() { stop(); }
  // Ends the thread (waiting for a callback that is running) and drops what is still queued. Called
  // before the transport goes away: a queued reply must not reach a destroyed transport.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void after(std::chrono::milliseconds d, std::function<void()> fn) {
    {
      std::lock_guard lock(mu_);
      queue_.emplace(std::chrono::steady_clock::now() + d, std::move(fn));
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (queue_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const auto due = queue_.begin()->first;
      if (due > std::chrono::steady_clock::now()) {
        cv_.wait_until(lock, due);  // woken early by a new item or stop: look again
        continue;
      }
      auto fn = std::move(queue_.begin()->second);
      queue_.erase(queue_.begin());
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

Tool tool(std::string name, std::string description,
          Json input_schema = Json{{"type", "object"}, {"properties", Json::object()}}) {
  Tool t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.input_schema = std::move(input_schema);
  return t;
}

Json text_result(std::string text) { return tool_result(Json::array({text_content(text)})); }

Json string_arg_schema(const char* name, const char* description) {
  return Json{{"type", "object"},
              {"properties", {{name, {{"type", "string"}, {"description", description}}}}},
              {"required", Json::array({name})}};
}

// Asks the client through elicitation/create and reports the answer as the suite describes.
void elicit(const CallPtr& ctx, Json params, std::string prefix, Reply<Json> reply) {
  ctx->request("elicitation/create", std::move(params), [reply, prefix](Result<Json> r) {
    if (!r.ok()) return reply(r.error());
    const Json& v = r.value();
    reply(text_result(prefix + "action=" + v.value("action", "") +
                      ", content=" + serialize(v.value("content", Json()))));
  });
}

void register_fixtures(Server& server, Delayer& delayer) {
  server.add_tool(tool("test_simple_text", "Returns a simple text response"),
                  [](CallPtr, Json, Reply<Json> reply) {
                    reply(text_result("This is a simple text response for testing."));
                  });
  server.add_tool(tool("test_image_content", "Returns an image"), [](CallPtr, Json, Reply<Json> reply) {
    reply(tool_result(Json::array({image_content(kPng, "image/png")})));
  });
  server.add_tool(tool("test_audio_content", "Returns audio"), [](CallPtr, Json, Reply<Json> reply) {
    reply(tool_result(Json::array({audio_content(kWav, "audio/wav")})));
  });
  server.add_tool(
      tool("test_embedded_resource", "Returns an embedded resource"), [](CallPtr, Json, Reply<Json> reply) {
        reply(tool_result(Json::array({embedded_text_resource("test://embedded-resource", "text/plain",
                                                              "This is an embedded resource content.")})));
      });
  server.add_tool(tool("test_multiple_content_types", "Returns text, an image and a resource"),
                  [](CallPtr, Json, Reply<Json> reply) {
                    reply(tool_result(Json::array(
                        {text_content("Multiple content types test:"), image_content(kPng, "image/png"),
                         embedded_text_resource("test://mixed-content-resource", "application/json",
                                                R"({"test":"data","value":123})")})));
                  });
  server.add_tool(tool("test_tool_with_logging", "Logs three messages while it runs"),
                  [&delayer](CallPtr ctx, Json, Reply<Json> reply) {
                    ctx->log(LogLevel::kInfo, "Tool execution started");
                    delayer.after(std::chrono::milliseconds(50), [&delayer, ctx, reply] {
                      ctx->log(LogLevel::kInfo, "Tool processing data");
                      delayer.after(std::chrono::milliseconds(50), [ctx, reply] {
                        ctx->log(LogLevel::kInfo, "Tool execution completed");
                        reply(text_result("Tool with logging executed successfully"));
                      });
                    });
                  });
  server.add_tool(tool("test_error_handling", "Always fails"), [](CallPtr, Json, Reply<Json> reply) {
    reply(Error::make(ErrorCode::kInternal, "This tool intentionally returns an error for testing"));
  });
  server.add_tool(tool("test_tool_with_progress", "Reports progress 0, 50, 100 of 100"),
                  [&delayer](CallPtr ctx, Json, Reply<Json> reply) {
                    ctx->progress(0, 100);
                    delayer.after(std::chrono::milliseconds(50), [&delayer, ctx, reply] {
                      ctx->progress(50, 100);
                      delayer.after(std::chrono::milliseconds(50), [ctx, reply] {
                        ctx->progress(100, 100);
                        reply(text_result("Tool with progress executed successfully"));
                      });
                    });
                  });
  server.add_tool(
      tool("test_sampling", "Asks the client's LLM", string_arg_schema("prompt", "The prompt")),
      [](CallPtr ctx, Json args, Reply<Json> reply) {
        Json params = {
            {"messages",
             Json::array({{{"role", "user"}, {"content", text_content(args.value("prompt", ""))}}})},
            {"maxTokens", 100}};
        ctx->request("sampling/createMessage", std::move(params), [reply](Result<Json> r) {
          if (!r.ok()) return reply(r.error());
          const Json content = r.value().value("content", Json::object());
          reply(text_result("LLM response: " + content.value("text", serialize(content))));
        });
      });
  server.add_tool(
      tool("test_elicitation", "Asks the user", string_arg_schema("message", "The message to show")),
      [](CallPtr ctx, Json args, Reply<Json> reply) {
        Json schema = {{"type", "object"},
                       {"properties",
                        {{"username", {{"type", "string"}, {"description", "User's response"}}},
                         {"email", {{"type", "string"}, {"description", "User's email address"}}}}},
                       {"required", Json::array({"username", "email"})}};
        elicit(ctx, Json{{"message", args.value("message", "")}, {"requestedSchema", schema}},
               "User response: ", reply);
      });
  server.add_tool(
      tool("test_elicitation_sep1034_defaults", "Elicitation with defaults"),
      [](CallPtr ctx, Json, Reply<Json> reply) {
        Json props = {
            {"name", {{"type", "string"}, {"default", "John Doe"}}},
            {"age", {{"type", "integer"}, {"default", 30}}},
            {"score", {{"type", "number"}, {"default", 95.5}}},
            {"status",
             {{"type", "string"}, {"enum", {"active", "inactive", "pending"}}, {"default", "active"}}},
            {"verified", {{"type", "boolean"}, {"default", true}}}};
        elicit(ctx,
               Json{{"message", "Please review your information"},
                    {"requestedSchema", {{"type", "object"}, {"properties", props}}}},
               "Elicitation completed: ", reply);
      });
  server.add_tool(tool("test_elicitation_sep1330_enums", "Elicitation with every enum form"),
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    Json props = {
                        {"untitledSingle", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}},
                        {"titledSingle",
                         {{"type", "string"},
                          {"oneOf", Json::array({{{"const", "value1"}, {"title", "First Option"}},
                                                 {{"const", "value2"}, {"title", "Second Option"}},
                                                 {{"const", "value3"}, {"title", "Third Option"}}})}}},
                        {"legacyEnum",
                         {{"type", "string"},
                          {"enum", {"opt1", "opt2", "opt3"}},
                          {"enumNames", {"Option One", "Option Two", "Option Three"}}}},
                        {"untitledMulti",
                         {{"type", "array"},
                          {"items", {{"type", "string"}, {"enum", {"option1", "option2", "option3"}}}}}},
                        {"titledMulti",
                         {{"type", "array"},
                          {"items",
                           {{"anyOf", Json::array({{{"const", "value1"}, {"title", "First Choice"}},
                                                   {{"const", "value2"}, {"title", "Second Choice"}},
                                                   {{"const", "value3"}, {"title", "Third Choice"}}})}}}}}};
                    elicit(ctx,
                           Json{{"message", "Please choose"},
                                {"requestedSchema", {{"type", "object"}, {"properties", props}}}},
                           "Elicitation completed: ", reply);
                  });
  server.add_tool(
      tool("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features",
           Json{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                {"type", "object"},
                {"$defs",
                 {{"address",
                   {{"type", "object"},
                    {"properties", {{"street", {{"type", "string"}}}, {"city", {{"type", "string"}}}}}}}}},
                {"properties", {{"name", {{"type", "string"}}}, {"address", {{"$ref", "#/$defs/address"}}}}},
                {"additionalProperties", false}}),
      [](CallPtr, Json args, Reply<Json> reply) { reply(text_result("Received: " + serialize(args))); });
  // SEP-1699: close the POST's SSE stream mid-call; the answer is collected after the client
  // reconnects with Last-Event-ID.
  server.add_tool(tool("test_reconnection", "Closes the SSE stream mid-call to test client reconnection"),
                  [&delayer](CallPtr ctx, Json, Reply<Json> reply) {
                    ctx->close_stream();
                    delayer.after(std::chrono::milliseconds(100),
                                  [reply] { reply(text_result("Reconnection test completed")); });
                  });

  // Not a suite fixture: lets the end-to-end tests make the server publish a resource update.
  server.add_tool(tool("test_touch_resource", "Publishes notifications/resources/updated for a URI",
                       string_arg_schema("uri", "The resource URI")),
                  [&server](CallPtr, Json args, Reply<Json> reply) {
                    server.notify_resource_updated(args.value("uri", ""));
                    reply(text_result("touched"));
                  });

  auto text_resource = [&server](std::string uri, std::string name, std::string mime, std::string text) {
    Resource r;
    r.uri = uri;
    r.name = name;
    r.description = name + " (conformance fixture)";
    r.mime_type = mime;
    server.add_resource(r, [mime, text](CallPtr, std::string uri, Reply<Json> reply) {
      reply(Json::array({{{"uri", uri}, {"mimeType", mime}, {"text", text}}}));
    });
  };
  text_resource("test://static-text", "Static Text Resource", "text/plain",
                "This is the content of the static text resource.");
  {
    Resource r;
    r.uri = "test://static-binary";
    r.name = "Static Binary Resource";
    r.description = "A 1x1 PNG";
    r.mime_type = "image/png";
    server.add_resource(r, [](CallPtr, std::string uri, Reply<Json> reply) {
      reply(Json::array({{{"uri", uri}, {"mimeType", "image/png"}, {"blob", kPng}}}));
    });
  }
  text_resource("test://watched-resource", "Watched Resource", "text/plain", "Watched resource content");
  {
    ResourceTemplate t;
    t.uri_template = "test://template/{id}/data";
    t.name = "Template Resource";
    t.description = "Data for an id";
    t.mime_type = "application/json";
    server.add_resource_template(t, [](CallPtr, std::string uri, auto vars, Reply<Json> reply) {
      const std::string id = vars.at(0).second;
      const Json body = {{"id", id}, {"templateTest", true}, {"data", "Data for ID: " + id}};
      reply(Json::array({{{"uri", uri}, {"mimeType", "application/json"}, {"text", serialize(body)}}}));
    });
  }

  auto prompt = [](std::string name, std::string description, std::vector<PromptArgument> args = {}) {
    Prompt p;
    p.name = std::move(name);
    p.description = std::move(description);
    p.arguments = std::move(args);
    return p;
  };
  auto user = [](Json content) { return Json{{"role", "user"}, {"content", std::move(content)}}; };
  server.add_prompt(
      prompt("test_simple_prompt", "A simple prompt without arguments"),
      [user](CallPtr, Json, Reply<Json> reply) {
        reply(Json{{"messages", Json::array({user(text_content("This is a simple prompt for testing."))})}});
      });
  server.add_prompt(prompt("test_prompt_with_arguments", "A prompt with two arguments",
                           {{"arg1", "First test argument", true}, {"arg2", "Second test argument", true}}),
                    [user](CallPtr, Json args, Reply<Json> reply) {
                      const std::string text = "Prompt with arguments: arg1='" + args.value("arg1", "") +
                                               "', arg2='" + args.value("arg2", "") + "'";
                      reply(Json{{"messages", Json::array({user(text_content(text))})}});
                    });
  server.add_prompt(
      prompt("test_prompt_with_embedded_resource", "A prompt embedding a resource",
             {{"resourceUri", "URI of the resource to embed", true}}),
      [user](CallPtr, Json args, Reply<Json> reply) {
        reply(Json{
            {"messages", Json::array({user(embedded_text_resource(args.value("resourceUri", ""), "text/plain",
                                                                  "Embedded resource content for testing.")),
                                      user(text_content("Please process the embedded resource above."))})}});
      });
  server.add_prompt(
      prompt("test_prompt_with_image", "A prompt with an image"), [user](CallPtr, Json, Reply<Json> reply) {
        reply(Json{{"messages", Json::array({user(image_content(kPng, "image/png")),
                                             user(text_content("Please analyze the image above."))})}});
      });
  server.set_completion_handler([](CallPtr, Json params, Reply<Json> reply) {
    // Completes arg1 of test_prompt_with_arguments from a fixed list by prefix.
    const std::string value = params["argument"].value("value", "");
    Json values = Json::array();
    for (const char* v : {"test-value-1", "test-value-2", "other"})
      if (std::string(v).rfind(value, 0) == 0) values.push_back(v);
    reply(Json{{"values", values}, {"total", values.size()}, {"hasMore", false}});
  });
}

struct Args {
  bool stdio = false;
  bool stateless = false;
  std::size_t max_body = 1 << 20;
  long session_ttl_ms = 30 * 60 * 1000;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << arg << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--stdio") {
      a.stdio = true;
    } else if (arg == "--stateless") {
      a.stateless = true;
    } else if (arg == "--max-body") {
      a.max_body = std::stoul(next());
    } else if (arg == "--session-ttl-ms") {
      a.session_ttl_ms = std::stol(next());
    } else {
      std::cerr
          << "usage: mcp_conformance_fixture [--stdio] [--stateless] [--max-body N] [--session-ttl-ms N]\n";
      std::exit(2);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  ServerOptions options;
  options.info = {"taskman-conformance-fixture", "0.1.0", "taskman MCP conformance fixture"};
  options.page_size = 50;
  Server server(options);
  Delayer delayer;
  register_fixtures(server, delayer);
  taskman::mcp::fixture::register_modern_fixtures(server);

  if (args.stdio) {
    std::ios::sync_with_stdio(false);
    StdioTransport transport(server, std::cin, std::cout);
    transport.run();
    delayer.stop();
    return 0;
  }

  // Block the stop signals before any thread starts, so only sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  taskman::log::Sink sink(stderr, taskman::log::Level::kWarn, taskman::log::Format::kJson);
  taskman::log::Logger logger("mcp-fixture", sink);
  HttpTransportOptions transport_options;
  transport_options.stateless = args.stateless;
  transport_options.session_ttl = std::chrono::milliseconds(args.session_ttl_ms);
  transport_options.sse_retry = std::chrono::milliseconds(500);
  HttpTransport transport(server, transport_options);
  taskman::http::Router router;
  transport.register_routes(router);
  taskman::http::IoPool pool(2);
  taskman::http::ServerOptions http_options;
  http_options.host = "127.0.0.1";
  http_options.port = 0;
  http_options.max_body_bytes = args.max_body;
  taskman::http::Server http_server(pool, http_options, std::move(router), logger);
  http_server.start();
  pool.start();
  std::printf("LISTENING port=%u\n", static_cast<unsigned>(http_server.port()));
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  transport.close_all();
  std::promise<void> drained;
  http_server.drain(std::chrono::milliseconds(2000), [&] { drained.set_value(); });
  drained.get_future().wait();
  delayer.stop();
  pool.stop();
  return 0;
}
