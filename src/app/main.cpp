// taskman: one binary, several commands (README.md#commands).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli.hpp"
#include "app/services.hpp"
#include "app/version.hpp"
#include "bench/bench.hpp"
#include "config/config.hpp"

namespace {

using namespace taskman;

int print_config_errors(const Error& e) {
  std::fprintf(stderr, "taskman: %s:\n", e.message.c_str());
  for (const auto& f : e.fields) std::fprintf(stderr, "  %s: %s\n", f.field.c_str(), f.message.c_str());
  return app::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto inv = app::parse_args(args);
  if (!inv) {
    std::fprintf(stderr, "taskman: %s\nRun 'taskman --help' for usage.\n", inv.error().message.c_str());
    return app::kExitUsage;
  }
  if (inv->help) {
    std::fputs(app::help_text(inv->command).c_str(), stdout);
    return app::kExitOk;
  }
  const std::string& cmd = inv->command;
  if (cmd == "version") {
    std::printf("taskman %s (revision %s, %s build)\n", app::version(), app::git_revision(),
                app::build_type());
    return app::kExitOk;
  }
  if (cmd == "config docs") {
    std::fputs(config::markdown_table().c_str(), stdout);
    return app::kExitOk;
  }

  if (cmd == "bench") {
    auto opts = bench::parse_bench_options(inv->command_args);
    if (!opts) {
      std::fprintf(stderr, "taskman bench: %s\nRun 'taskman bench --help' for usage.\n",
                   opts.error().message.c_str());
      return app::kExitUsage;
    }
    auto report = bench::run_bench(*opts);
    if (!report) {
      std::fprintf(stderr, "taskman bench: %s\n", report.error().message.c_str());
      return app::kExitFailure;
    }
    std::fputs(bench::format_report(*opts, *report).c_str(), stdout);
    return report->errors == 0 ? app::kExitOk : app::kExitFailure;
  }

  config::Inputs inputs;
  inputs.environment = config::process_environment();
  inputs.env_file = inv->env_file;
  inputs.flags = inv->config_flags;
  auto cfg = config::Config::load(inputs);
  if (!cfg) return print_config_errors(cfg.error());
  // Same rule for `config check` and start-up: what the check accepts, this build can run.
  if (auto supported = config::check_supported(*cfg); !supported)
    return print_config_errors(supported.error());

  if (cmd == "config check") {
    std::printf("configuration is valid:\n%s", cfg->describe().c_str());
    return app::kExitOk;
  }
  if (cmd == "serve" || cmd == "api" || cmd == "mcp" || cmd == "migrate") {
    return app::run(*inv, *cfg);
  }
  std::fprintf(stderr, "taskman: '%s' is not implemented yet\n", cmd.c_str());
  return app::kExitNotImplemented;
}
