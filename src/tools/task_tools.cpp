#include "tools/task_tools.hpp"

#include <chrono>
#include <string>
#include <utility>

#include "mcp/json_schema.hpp"
#include "tools/board_tools.hpp"
#include "tools/prompts.hpp"
#include "tools/resources.hpp"
#include "tools/tool_results.hpp"
#include "tools/tool_specs.hpp"

namespace taskman::tools {

const std::vector<std::string>& tool_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> n;
    for (const auto& s : specs()) n.push_back(s.tool.name);
    return n;
  }();
  return kNames;
}

void register_task_tools(mcp::Server& server, Backend& backend, ToolsOptions options) {
  for (const auto& spec : specs()) {
    if (options.read_only && !spec.read_only) continue;
    const Json schema = spec.tool.input_schema;
    auto run = spec.run;
    auto on_call = options.on_call;
    const std::string name = spec.tool.name;
    server.add_tool(
        spec.tool,
        [&backend, schema, run, on_call, name](mcp::CallPtr ctx, Json args, mcp::Reply<Json> reply) {
          if (on_call) {
            const auto started = std::chrono::steady_clock::now();
            reply = [reply = std::move(reply), on_call, name, started](Result<Json> r) {
              const bool failed = !r.ok() || r->value("isError", false);
              on_call(name, failed ? "tool_error" : "ok",
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
              reply(std::move(r));
            };
          }
          if (args.is_null()) args = Json::object();
          if (auto ok = mcp::validate_against_schema(schema, args); !ok) {
            std::string problems;
            for (const auto& f : ok.error().fields)
              problems += (problems.empty() ? "" : "; ") + f.field + " " + f.message;
            reply(error_result(
                "Invalid arguments: " + problems + ". Fix the named fields and call the tool again.",
                request_id_of(ctx)));
            return;
          }
          run(backend, ctx, args, std::move(reply));
        },
        spec.audience);
  }

  register_resources(server, backend);
  register_prompts(server, backend);
  register_completions(server, backend);
  register_board_view(server);
}

}  // namespace taskman::tools
