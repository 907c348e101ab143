// The conformance fixture's tools and prompt for the per-request era (MCP 2026-07-28): the
// input_required (multi-round-trip) scenarios, the capability gate and the no-log-without-logLevel
// probe, looked up by name by @modelcontextprotocol/conformance 0.2.x.
#include "fixture_modern.hpp"

#include <string>
#include <utility>
#include <vector>

#include "mcp/input_required.hpp"
#include "mcp/modern.hpp"

namespace taskman::mcp::fixture {
namespace {

Json no_arguments() { return Json{{"type", "object"}, {"properties", Json::object()}}; }

Tool tool(std::string name, std::string description) {
  Tool t;
  t.name = std::move(name);
  t.description = std::move(description);
  t.input_schema = no_arguments();
  return t;
}

Json text_result(const std::string& text) { return tool_result(Json::array({text_content(text)})); }

Json elicitation(const std::string& message, const std::string& field, const char* type = "string") {
  return input_request("elicitation/create", Json{{"message", message},
                                                  {"requestedSchema",
                                                   {{"type", "object"},
                                                    {"properties", {{field, {{"type", type}}}}},
                                                    {"required", Json::array({field})}}}});
}

Json sampling(const std::string& text, int max_tokens) {
  return input_request("sampling/createMessage",
                       Json{{"messages", Json::array({{{"role", "user"}, {"content", text_content(text)}}})},
                            {"maxTokens", max_tokens}});
}

Json roots() { return input_request("roots/list", Json::object()); }

// The requests of `wanted` the retried request has not answered yet (all of them on a first try).
Json unanswered(const CallContext& ctx, const Json& wanted) {
  Json missing = Json::object();
  for (const auto& [key, request] : wanted.items())
    if (!input_response(ctx, key)) missing[key] = request;
  return missing;
}

std::string elicited(const CallContext& ctx, std::string_view key, const std::string& field) {
  const Json* r = input_response(ctx, key);
  const Json content = r ? r->value("content", Json::object()) : Json::object();
  return content.is_object() && content.contains(field) ? serialize(content[field]) : std::string("(none)");
}

// One round: the requests of `wanted` not answered yet come back as input_required (with `state`
// sealed when non-null), else `done` produces the complete result.
void one_round(const CallPtr& ctx, const Json& wanted, const Json& state, Reply<Json> reply,
               const std::function<Json()>& done) {
  if (Json missing = unanswered(*ctx, wanted); !missing.empty())
    return reply(input_required_result(std::move(missing), state.is_null() ? "" : ctx->seal_state(state)));
  reply(done());
}

}  // namespace

void register_modern_fixtures(Server& server) {
  server.add_tool(tool("test_missing_capability", "Needs the client's sampling capability"),
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    if (!ctx->client_declared("sampling"))
                      return ctx->reply_error(modern::missing_capability("sampling"));
                    reply(text_result("The client declared sampling"));
                  });
  server.add_tool(tool("test_logging_tool", "Logs while it runs (only to a request that set logLevel)"),
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    ctx->log(LogLevel::kInfo, "Tool execution started");
                    ctx->log(LogLevel::kInfo, "Tool execution completed");
                    reply(text_result("Logging tool executed"));
                  });
  server.add_tool(tool("test_streaming_elicitation", "Asks the user through input_required, never a request"),
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    one_round(ctx, Json{{"answer", elicitation("Anything to add?", "answer")}}, nullptr,
                              reply,
                              [&] { return text_result("answer=" + elicited(*ctx, "answer", "answer")); });
                  });
  server.add_tool(tool("test_input_required_result_elicitation", "input_required: one elicitation"),
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    one_round(
                        ctx, Json{{"user_name", elicitation("What is your name?", "name")}}, nullptr, reply,
                        [&] { return text_result("Hello, " + elicited(*ctx, "user_name", "name") + "!"); });
                  });
  server.add_tool(tool("test_input_required_result_sampling", "input_required: one sampling request"),
                  [](CallPtr ctx, Json, Reply<Json> reply) {
                    one_round(
                        ctx, Json{{"capital_question", sampling("What is the capital of France?", 100)}},
                        nullptr, reply, [&] {
                          const Json* r = input_response(*ctx, "capital_question");
                          const Json content = r->value("content", Json::object());
                          return text_result("LLM response: " + content.value("text", serialize(content)));
                        });
                  });
  server.add_tool(
      tool("test_input_required_result_list_roots", "input_required: the client's roots"),
      [](CallPtr ctx, Json, Reply<Json> reply) {
        one_round(ctx, Json{{"client_roots", roots()}}, nullptr, reply, [&] {
          return text_result("Roots: " +
                             serialize(input_response(*ctx, "client_roots")->value("roots", Json::array())));
        });
      });
  auto confirm_with_state = [](CallPtr ctx, Json, Reply<Json> reply) {
    // The state is checked by the server before this handler runs; a retry must carry it.
    if (input_response(*ctx, "confirm") && ctx->request_state().is_null()) {
      return ctx->reply_error(RpcError{rpc::kInvalidParams, "Invalid params: requestState is required", {}});
    }
    one_round(ctx, Json{{"confirm", elicitation("Please confirm", "ok", "boolean")}},
              Json{{"step", "confirm"}}, reply,
              [&] { return text_result("state-ok: confirmed=" + elicited(*ctx, "confirm", "ok")); });
  };
  server.add_tool(
      tool("test_input_required_result_request_state", "input_required with a sealed requestState"),
      confirm_with_state);
  server.add_tool(
      tool("test_input_required_result_tampered_state", "input_required; a tampered state is refused"),
      confirm_with_state);
  server.add_tool(
      tool("test_input_required_result_multiple_inputs", "input_required: elicitation, sampling, roots"),
      [](CallPtr ctx, Json, Reply<Json> reply) {
        const Json wanted = {{"user_name", elicitation("What is your name?", "name")},
                             {"greeting", sampling("Generate a greeting", 50)},
                             {"client_roots", roots()}};
        one_round(ctx, wanted, Json{{"step", "all"}}, reply, [&] {
          return text_result("All inputs received: name=" + elicited(*ctx, "user_name", "name"));
        });
      });
  server.add_tool(
      tool("test_input_required_result_multi_round", "input_required over two rounds"),
      [](CallPtr ctx, Json, Reply<Json> reply) {
        const Json& state = ctx->request_state();
        const int round = state.is_object() ? state.value("round", 0) : 0;
        if (round == 1 && input_response(*ctx, "step1")) {
          const Json next = {{"round", 2}, {"name", elicited(*ctx, "step1", "name")}};
          return reply(input_required_result(
              Json{{"step2", elicitation("Step 2: What is your favorite color?", "color")}},
              ctx->seal_state(next)));
        }
        if (round == 2 && input_response(*ctx, "step2")) {
          return reply(text_result("Done: name=" + state.value("name", "") +
                                   ", color=" + elicited(*ctx, "step2", "color")));
        }
        reply(input_required_result(Json{{"step1", elicitation("Step 1: What is your name?", "name")}},
                                    ctx->seal_state(Json{{"round", 1}})));
      });
  server.add_tool(
      tool("test_input_required_result_capabilities", "input_required only for declared capabilities"),
      [](CallPtr ctx, Json, Reply<Json> reply) {
        Json wanted = Json::object();
        if (ctx->client_declared("elicitation")) wanted["user_name"] = elicitation("Your name?", "name");
        if (ctx->client_declared("sampling")) wanted["summary"] = sampling("Summarize the task", 50);
        if (ctx->client_declared("roots")) wanted["client_roots"] = roots();
        if (wanted.empty())
          return reply(text_result("The client declared none of elicitation, sampling, roots"));
        one_round(ctx, wanted, nullptr, reply, [] { return text_result("Inputs received"); });
      });

  Prompt p;
  p.name = "test_input_required_result_prompt";
  p.description = "A prompt that asks the user for context first (input_required)";
  server.add_prompt(p, [](CallPtr ctx, Json, Reply<Json> reply) {
    one_round(ctx, Json{{"user_context", elicitation("What context should the prompt use?", "context")}},
              nullptr, reply, [&] {
                const std::string text = "Use this context: " + elicited(*ctx, "user_context", "context");
                return Json{{"messages", Json::array({{{"role", "user"}, {"content", text_content(text)}}})}};
              });
  });
}

}  // namespace taskman::mcp::fixture
