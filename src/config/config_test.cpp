#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace taskman::config {
namespace {

template <class R>
std::vector<std::string> problem_fields(const R& r) {
  std::vector<std::string> out;
  for (const auto& f : r.error().fields) out.push_back(f.field);
  return out;
}

TEST(Config, DefaultsAreValidAndMatchTheSeed) {
  auto cfg = Config::from_map({});
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->integer("PORT"), 3000);
  EXPECT_EQ(cfg->integer("API_PORT"), 3001);
  EXPECT_EQ(cfg->str("TASK_MANAGER_API_ENDPOINT"), "http://localhost:3001/api/v1");
  EXPECT_EQ(cfg->integer("CIRCUIT_BREAKER_ERROR_THRESHOLD"), 50);
  EXPECT_EQ(cfg->integer("CIRCUIT_BREAKER_RESET_TIMEOUT_MS"), 30000);
  EXPECT_EQ(cfg->integer("FALLBACK_CACHE_MAX_SIZE"), 1000);
  EXPECT_EQ(cfg->integer("FALLBACK_CACHE_TTL_MS"), 300000);
  EXPECT_EQ(cfg->integer("BACKEND_TIMEOUT_MS"), 30000);
  EXPECT_EQ(cfg->integer("BACKEND_MAX_RETRIES"), 3);
  EXPECT_TRUE(cfg->boolean("ENABLE_METRICS"));
  EXPECT_FALSE(cfg->boolean("ENABLE_TRACING"));
  EXPECT_EQ(cfg->str("OTEL_EXPORTER_OTLP_ENDPOINT"), "http://localhost:4318/v1/traces");
}

TEST(Config, TracingDefaultsOnInProduction) {
  auto cfg = Config::from_map({{"APP_ENV", "production"}});
  ASSERT_TRUE(cfg);
  EXPECT_TRUE(cfg->boolean("ENABLE_TRACING"));
  EXPECT_EQ(cfg->source("ENABLE_TRACING"), Source::kDerived);
  auto off = Config::from_map({{"APP_ENV", "production"}, {"ENABLE_TRACING", "false"}});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->boolean("ENABLE_TRACING"));
}

TEST(Config, ReportsEveryBadVariableAtOnce) {
  auto cfg = Config::from_map({{"FALLBACK_CACHE_MAX_SIZE", "-1"},
                               {"CIRCUIT_BREAKER_ERROR_THRESHOLD", "500"},
                               {"OTEL_EXPORTER_OTLP_ENDPOINT", "not-a-uri"}});
  ASSERT_FALSE(cfg);
  auto fields = problem_fields(cfg);
  std::sort(fields.begin(), fields.end());
  EXPECT_EQ(fields, (std::vector<std::string>{"CIRCUIT_BREAKER_ERROR_THRESHOLD", "FALLBACK_CACHE_MAX_SIZE",
                                              "OTEL_EXPORTER_OTLP_ENDPOINT"}));
  for (const auto& f : cfg.error().fields) {
    if (f.field == "CIRCUIT_BREAKER_ERROR_THRESHOLD") {
      EXPECT_EQ(f.message, "\"500\": must be an integer from 1 to 100");
    }
  }
}

// Each rule type accepts a good value and rejects a bad one.
TEST(Config, EachRuleCanFail) {
  struct Case {
    const char* name;
    const char* good;
    const char* bad;
  };
  const Case cases[] = {
      {"CIRCUIT_BREAKER_ERROR_THRESHOLD", "100", "0"},
      {"CIRCUIT_BREAKER_ERROR_THRESHOLD", "1", "12x"},
      {"PORT", "0", "65536"},
      {"PORT", "8080", "-1"},
      {"ENABLE_METRICS", "FALSE", "maybe"},
      {"LOG_FORMAT", "Pretty", "xml"},
      {"APP_ENV", "test", "staging"},
      {"TASK_MANAGER_API_ENDPOINT", "https://[::1]:8443/api/v1", "ftp://x/api"},
      {"TASK_MANAGER_API_ENDPOINT", "http://backend:3001", "http://backend:99999"},
      {"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318", "http://"},
      {"HOST", "0.0.0.0", "bad host!"},
      {"DATABASE_URL", "sqlite:/tmp/x.db", "mysql://x"},
      {"DATABASE_URL", "postgres://u@localhost/db", "sqlite:"},
      {"DATABASE_URL", "sqlite:/tmp/y.db", "sqlite:/tmp/a\nb.db"},
      {"MCP_ALLOWED_ORIGINS", "https://a.example.com, http://b:8080", "https://a.example.com/path"},
      {"MCP_AUTH_TOKENS", "0123456789abcdef,fedcba9876543210", "short"},
      {"API_KEYS", "0123456789abcdef", "0123456789 abcdef"},
  };
  for (const auto& c : cases) {
    EXPECT_TRUE(Config::from_map({{c.name, c.good}})) << c.name << "=" << c.good;
    auto bad = Config::from_map({{c.name, c.bad}});
    ASSERT_FALSE(bad) << c.name << "=" << c.bad;
    EXPECT_EQ(problem_fields(bad), std::vector<std::string>{c.name});
  }
}

TEST(Config, TraceUiUrlIsAnHttpOrHttpsLinkAndOptional) {
  auto unset = Config::from_map({});
  ASSERT_TRUE(unset);
  EXPECT_EQ(unset->str("TRACE_UI_URL"), "");
  EXPECT_TRUE(Config::from_map({{"TRACE_UI_URL", ""}}));
  for (const char* good : {"http://localhost:16686/trace/{trace_id}", "https://jaeger.example.com",
                           "http://tempo:3000/explore?trace={trace_id}"}) {
    auto cfg = Config::from_map({{"TRACE_UI_URL", good}});
    ASSERT_TRUE(cfg) << good;
    EXPECT_TRUE(check_supported(*cfg)) << good;  // a link, never connected to: https is fine
  }
  for (const char* bad : {"ftp://x/trace", "localhost:16686", "http://", "http://x/<script>"}) {
    auto cfg = Config::from_map({{"TRACE_UI_URL", bad}});
    ASSERT_FALSE(cfg) << bad;
    EXPECT_EQ(problem_fields(cfg), std::vector<std::string>{"TRACE_UI_URL"});
  }
}

TEST(Config, SecretsAreNeverPrinted) {
  auto bad = Config::from_map({{"MCP_AUTH_TOKENS", "tiny-secret"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().fields[0].message.find("tiny-secret"), std::string::npos);
  auto good = Config::from_map({{"API_KEYS", "super-secret-token-123"}});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->describe().find("super-secret"), std::string::npos);
  EXPECT_NE(good->describe().find("<redacted>"), std::string::npos);
}

TEST(Config, PrecedenceFlagOverEnvironmentOverEnvFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("taskman-config-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = (dir / "test.env").string();
  std::ofstream(file) << "# comment\nexport PORT=4000\nAPI_PORT='4001'\nLOG_LEVEL=\"debug\" # trailing\n";
  Inputs in;
  in.env_file = file;
  in.environment = {{"API_PORT", "5001"}};
  in.flags = {{"LOG_LEVEL", "warn"}};
  auto cfg = Config::load(in);
  ASSERT_TRUE(cfg) << cfg.error().message;
  EXPECT_EQ(cfg->integer("PORT"), 4000);
  EXPECT_EQ(cfg->source("PORT"), Source::kEnvFile);
  EXPECT_EQ(cfg->integer("API_PORT"), 5001);
  EXPECT_EQ(cfg->str("LOG_LEVEL"), "warn");
  std::filesystem::remove_all(dir);
}

TEST(Config, MissingExplicitEnvFileIsAnError) {
  Inputs in;
  in.env_file = "/nonexistent/dir/x.env";
  auto cfg = Config::load(in);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(problem_fields(cfg), std::vector<std::string>{"--env-file"});
}

TEST(EnvFile, MalformedLinesAreNamed) {
  auto r = parse_env_file("GOOD=1\nno equals here\n1BAD=2\nQ=\"open\n", "x.env");
  ASSERT_FALSE(r);
  std::vector<std::string> where;
  for (const auto& f : r.error().fields) where.push_back(f.field);
  EXPECT_EQ(where, (std::vector<std::string>{"x.env:2", "x.env:3", "x.env:4"}));
}

TEST(EnvFile, QuotesAndEscapes) {
  auto r = parse_env_file("A=\"x\\ny # not comment\"\nB='lit\\n'\nC=plain value # comment\n", "f");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("A"), "x\ny # not comment");
  EXPECT_EQ(r->at("B"), "lit\\n");
  EXPECT_EQ(r->at("C"), "plain value");
}

TEST(Config, FlagNamesDeriveFromVariableNames) {
  EXPECT_EQ(flag_for("API_PORT"), "--api-port");
  EXPECT_EQ(flag_for("DATABASE_URL"), "--database-url");
}

TEST(Config, MarkdownTableListsEveryVariable) {
  const auto table = markdown_table();
  for (const auto& var : schema()) {
    EXPECT_NE(table.find("`" + std::string(var.name) + "`"), std::string::npos) << var.name;
  }
  EXPECT_NE(table.find("json\\|pretty"), std::string::npos);
}

// This build speaks TLS: https:// endpoints pass the rule start-up uses.
TEST(Config, HttpsEndpointsAreSupported) {
  auto cfg = Config::from_map({{"TASK_MANAGER_API_ENDPOINT", "https://backend:8443/api/v1"},
                               {"OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"}});
  ASSERT_TRUE(cfg) << "syntax is valid";
  auto st = check_supported(*cfg);
  EXPECT_TRUE(st) << "https:// is supported: " << (st ? std::string() : st.error().message);

  auto defaults = Config::from_map({});
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(check_supported(*defaults));
}

// This build has the PostgreSQL engine: its URLs pass the same rule start-up uses (the store
// factory's list of engines), and `config check` shows them without the password.
TEST(Config, PostgresUrlsAreSupportedAndShownWithoutThePassword) {
  for (const char* url :
       {"postgres://user:hunter2@db:5432/tasks?sslmode=require", "postgresql://user:hunter2@db/t"}) {
    auto cfg = Config::from_map({{"DATABASE_URL", url}});
    ASSERT_TRUE(cfg) << url;
    EXPECT_TRUE(check_supported(*cfg)) << url;
    const std::string shown = cfg->describe();
    EXPECT_EQ(shown.find("hunter2"), std::string::npos) << shown;
    EXPECT_NE(shown.find("REDACTED@db"), std::string::npos) << shown;
  }
  auto bad = Config::from_map({{"DATABASE_URL", "postgres:/user:hunter2@db/tasks"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.find("hunter2"), std::string::npos) << bad.error().message;
}

// TLS files: each must be readable, certificates come with their keys, the _TRACES_ forms count too.
TEST(Config, TlsFilesMustBeReadableAndPaired) {
  testing::TempDir dir;
  const std::string pem = dir.path() + "/cert.pem";
  { std::ofstream(pem) << "-----BEGIN CERTIFICATE-----\n"; }
  const std::string missing = dir.path() + "/missing.pem";
  auto cfg = Config::from_map({{"BACKEND_CA_FILE", missing},
                               {"TLS_CERT_FILE", pem},
                               {"API_TLS_CERT_FILE", pem},
                               {"API_TLS_KEY_FILE", pem},
                               {"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", dir.path()}});
  ASSERT_TRUE(cfg) << "syntax is valid";
  auto st = check_supported(*cfg);
  ASSERT_FALSE(st);
  EXPECT_EQ(
      problem_fields(st),
      (std::vector<std::string>{"BACKEND_CA_FILE", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "TLS_KEY_FILE"}));
  std::string all;
  for (const auto& f : st.error().fields) all += f.field + ": " + f.message + "\n";
  EXPECT_NE(all.find("BACKEND_CA_FILE: " + missing + ": cannot open the file for reading"), std::string::npos)
      << all;
  EXPECT_NE(all.find("TLS_KEY_FILE: must be set together with TLS_CERT_FILE"), std::string::npos) << all;

  auto empty = Config::from_map({{"BACKEND_CA_FILE", ""}});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(check_supported(*empty)) << "an empty file variable is unset";
}

}  // namespace
}  // namespace taskman::config
