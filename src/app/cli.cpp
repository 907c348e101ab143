#include "app/cli.hpp"

#include "config/config.hpp"

namespace taskman::app {
namespace {

struct CommandInfo {
  const char* name;
  const char* summary;
  const char* usage;
  const char* details;
};

const CommandInfo kCommands[] = {
    {"serve", "run the whole system: backend API + MCP over HTTP (or --stdio), embedded database by default",
     "taskman serve [--stdio] [--port N] [--api-port N] [--database-url URL] [options]",
     "Starts the backend API on API_HOST:API_PORT (default 127.0.0.1:3001) and the MCP server on\n"
     "HOST:PORT (default 127.0.0.1:3000) in one process, on the database named by DATABASE_URL\n"
     "(default {DATABASE_URL}, created on first start). With --stdio the MCP server speaks on\n"
     "stdin/stdout (for desktop agent clients) and the API still runs on loopback.\n"
     "SIGTERM or SIGINT drains in-flight requests (SHUTDOWN_TIMEOUT_MS) and exits 0; a second signal\n"
     "exits at once with status 1.\n\n"
     "  --stdio                            serve MCP on stdin/stdout instead of HTTP\n"
     "  --insecure-allow-unauthenticated   allow binding a non-loopback address without tokens\n"},
    {"api", "run the backend REST API (/api/v1) alone",
     "taskman api [--api-port N] [--database-url URL] [options]",
     "Serves /api/v1, /health and /metrics on API_HOST:API_PORT over DATABASE_URL.\n\n"
     "  --insecure-allow-unauthenticated   allow binding a non-loopback address without API_KEYS\n"},
    {"mcp", "run the MCP server alone, pointed at TASK_MANAGER_API_ENDPOINT",
     "taskman mcp [--stdio] [--port N] [--task-manager-api-endpoint URL] [options]",
     "Serves MCP over Streamable HTTP at HOST:PORT/mcp, or on stdin/stdout with --stdio.\n\n"
     "  --stdio                            serve MCP on stdin/stdout instead of HTTP\n"
     "  --insecure-allow-unauthenticated   allow binding a non-loopback address without MCP_AUTH_TOKENS\n"},
    {"migrate", "apply database migrations and exit", "taskman migrate [--database-url URL]",
     "Applies every pending schema migration to DATABASE_URL and exits 0.\n"},
    {"config check", "validate the configuration and print the effective values",
     "taskman config check [options]",
     "Reads the defaults, the .env file (or --env-file), the environment and the flags, validates\n"
     "every variable, prints the effective values with their source (secrets redacted) and exits 0;\n"
     "on any problem it lists every bad variable and exits 2.\n"},
    {"config docs", "print the configuration reference as a Markdown table", "taskman config docs",
     "Prints the table of every variable (the README's configuration section is checked against it).\n"},
    {"bench", "load generator against an MCP endpoint", "taskman bench [--url URL] [--sessions N] [options]",
     "Opens N MCP sessions over Streamable HTTP and has each call one tool back to back; prints live\n"
     "progress on stderr, then calls, errors, req/s and latency p50/p90/p99/max on stdout. Exits 1 when\n"
     "any call failed.\n\n"
     "  --url URL          MCP endpoint [default http://127.0.0.1:3000/mcp]\n"
     "  --sessions N       concurrent sessions [default 16]\n"
     "  --duration SECS    measured time [default 10]\n"
     "  --warmup SECS      unmeasured time before it [default 1]\n"
     "  --requests N       stop after N calls instead of after a duration\n"
     "  --tool NAME        tool to call [default get_task]\n"
     "  --args JSON        its arguments [default: get_task on a task the bench creates, else {}]\n"
     "  --token TOKEN      bearer token (when the server has MCP_AUTH_TOKENS)\n"
     "  --json             print the summary as one JSON object\n"},
    {"version", "print version, git revision and build type", "taskman version", ""},
};

const CommandInfo* find_command(const std::string& name) {
  for (const auto& c : kCommands) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

std::string config_flags_help() {
  std::string out =
      "Configuration flags (each also an environment variable; flags win, then the environment,\n"
      "then the .env file in the working directory or --env-file PATH):\n";
  for (const auto& var : config::schema()) {
    std::string flag = config::flag_for(var.name);
    std::string line = "  " + flag + " " + (var.type == config::Type::kBool ? "BOOL" : "VALUE");
    if (line.size() < 44) line.resize(44, ' ');
    out += line + " " + std::string(var.name) + ": " + std::string(var.doc);
    if (!var.default_value.empty()) out += " [default " + std::string(var.default_value) + "]";
    out += "\n";
  }
  out += "  --env-file PATH                            read variables from PATH instead of ./.env\n";
  return out;
}

}  // namespace

std::string help_text(const std::string& command) {
  if (const auto* c = find_command(command)) {
    std::string out = "usage: " + std::string(c->usage) + "\n\n" + c->summary + ".\n\n" + c->details;
    // Defaults come from the one declaration in src/config, so the help cannot drift from it.
    for (const auto& var : config::schema()) {
      const std::string slot = "{" + std::string(var.name) + "}";
      for (auto at = out.find(slot); at != std::string::npos; at = out.find(slot, at))
        out.replace(at, slot.size(), std::string(var.default_value));
    }
    if (command != "version" && command != "config docs" && command != "bench")
      out += "\n" + config_flags_help();
    return out;
  }
  std::string out =
      "taskman: a task manager that AI agents use through the Model Context Protocol.\n\n"
      "usage: taskman <command> [options]\n\ncommands:\n";
  for (const auto& c : kCommands) {
    std::string name = c.name;
    name.resize(14, ' ');
    out += "  " + name + c.summary + "\n";
  }
  out +=
      "\nRun 'taskman <command> --help' for a command's options.\n\n"
      "exit status: 0 success, 1 runtime failure (cannot bind, database error), 2 bad command line or\n"
      "configuration, 3 command not implemented yet.\n";
  return out;
}

Result<Invocation> parse_args(const std::vector<std::string>& args) {
  Invocation inv;
  std::size_t i = 0;
  if (i < args.size() && (args[i] == "--help" || args[i] == "-h" || args[i] == "help")) {
    inv.command = "help";
    inv.help = true;
    if (i + 1 < args.size()) {
      inv.command = args[i + 1];
      if (inv.command == "config" && i + 2 < args.size()) inv.command += " " + args[i + 2];
    }
    return inv;
  }
  if (i >= args.size()) return Error::invalid("command", "missing command");
  inv.command = args[i++];
  if (inv.command == "--version") inv.command = "version";
  if (inv.command == "config") {
    if (i < args.size() && (args[i] == "check" || args[i] == "docs")) {
      inv.command += " " + args[i++];
    } else if (i < args.size() && (args[i] == "--help" || args[i] == "-h")) {
      inv.command = "config check";
      inv.help = true;
      return inv;
    } else {
      return Error::invalid("command", "'config' needs a subcommand: check or docs");
    }
  }
  if (find_command(inv.command) == nullptr) {
    return Error::invalid("command", "unknown command '" + inv.command + "'");
  }
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      inv.help = true;
      continue;
    }
    if (inv.command == "bench") {
      inv.command_args.push_back(a);  // the bench validates its own options
      continue;
    }
    if (!a.starts_with("--")) return Error::invalid(a, "unexpected argument '" + a + "'");
    std::string name = a;
    std::optional<std::string> value;
    if (const auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    const bool takes_stdio = inv.command == "serve" || inv.command == "mcp";
    const bool serves = takes_stdio || inv.command == "api";
    if (name == "--stdio" && takes_stdio && !value) {
      inv.stdio = true;
      continue;
    }
    if (name == "--insecure-allow-unauthenticated" && serves && !value) {
      inv.insecure_allow_unauthenticated = true;
      continue;
    }
    auto take_value = [&]() -> std::optional<std::string> {
      if (value) return value;
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    if (name == "--env-file") {
      auto v = take_value();
      if (!v) return Error::invalid(name, "--env-file needs a path");
      inv.env_file = *v;
      continue;
    }
    const config::Var* var = nullptr;
    for (const auto& candidate : config::schema()) {
      if (config::flag_for(candidate.name) == name) var = &candidate;
    }
    if (var == nullptr || inv.command == "version" || inv.command == "config docs") {
      return Error::invalid(name, "unknown option " + name + " for 'taskman " + inv.command + "'");
    }
    auto v = take_value();
    if (!v) return Error::invalid(name, name + " needs a value");
    inv.config_flags[std::string(var->name)] = *v;
  }
  return inv;
}

}  // namespace taskman::app
