#include "app/cli.hpp"

#include <gtest/gtest.h>

#include "config/config.hpp"

namespace taskman::app {
namespace {

TEST(Cli, ParsesCommandAndConfigFlags) {
  auto inv = parse_args({"serve", "--port", "0", "--api-port=4001", "--stdio", "--env-file", "x.env"});
  ASSERT_TRUE(inv) << inv.error().message;
  EXPECT_EQ(inv->command, "serve");
  EXPECT_TRUE(inv->stdio);
  EXPECT_EQ(inv->config_flags.at("PORT"), "0");
  EXPECT_EQ(inv->config_flags.at("API_PORT"), "4001");
  EXPECT_EQ(inv->env_file, "x.env");
}

TEST(Cli, ConfigSubcommands) {
  auto inv = parse_args({"config", "check", "--log-level", "debug"});
  ASSERT_TRUE(inv);
  EXPECT_EQ(inv->command, "config check");
  EXPECT_FALSE(parse_args({"config"}));
  EXPECT_FALSE(parse_args({"config", "frobnicate"}));
}

TEST(Cli, RejectsUnknownCommandsAndOptions) {
  EXPECT_FALSE(parse_args({}));
  EXPECT_FALSE(parse_args({"launch"}));
  auto bad = parse_args({"api", "--no-such-flag"});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--no-such-flag"), std::string::npos);
  EXPECT_FALSE(parse_args({"api", "--stdio"}));  // only serve and mcp speak stdio
  EXPECT_FALSE(parse_args({"api", "--port"}));   // missing value
  EXPECT_FALSE(parse_args({"version", "--port", "1"}));
}

TEST(Cli, HelpForEveryCommand) {
  for (const char* c : {"serve", "api", "mcp", "migrate", "config check", "bench", "version"}) {
    const auto text = help_text(c);
    EXPECT_NE(text.find("usage: taskman"), std::string::npos) << c;
  }
  EXPECT_NE(help_text("serve").find("--database-url"), std::string::npos);
  EXPECT_NE(help_text("").find("exit status"), std::string::npos);
  auto h = parse_args({"api", "--help"});
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->help);
}

}  // namespace
}  // namespace taskman::app

namespace taskman::app {
TEST(Cli, HelpNamesTheDeclaredDefaults) {
  const auto* var = config::find_var("DATABASE_URL");
  ASSERT_NE(var, nullptr);
  const std::string help = help_text("serve");
  EXPECT_NE(help.find("(default " + std::string(var->default_value) + ","), std::string::npos) << help;
  EXPECT_EQ(help.find('{'), std::string::npos) << "an unfilled placeholder: " << help;
}
}  // namespace taskman::app
