#include "log/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace taskman::log {
namespace {

TEST(Log, JsonLineHasRequiredFieldsAndContext) {
  Sink sink(stderr, Level::kInfo, Format::kJson);
  Logger logger("taskman-api", sink);
  RequestContext ctx;
  ctx.request_id = "req-1";
  ctx.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ctx.span_id = "00f067aa0ba902b7";
  const auto line =
      logger.format(Level::kWarn, &ctx, "hello", {{"status", 200}, {"ok", true}, {"path", "/x"}});
  const auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["msg"], "hello");
  EXPECT_EQ(j["service"], "taskman-api");
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j["span_id"], "00f067aa0ba902b7");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["ok"], true);
  const std::string time = j["time"];
  EXPECT_EQ(time.size(), 24u);
  EXPECT_EQ(time.back(), 'Z');
}

TEST(Log, NumbersAreWrittenLikePrintf) {
  Sink sink(stderr, Level::kInfo, Format::kJson);
  Logger logger("svc", sink);
  const auto line =
      logger.format(Level::kInfo, nullptr, "n",
                    {{"ms", 79.38834}, {"tiny", 1e-7}, {"big", 123456789.0}, {"neg", std::int64_t{-42}}});
  EXPECT_NE(line.find(R"("ms":79.3883,"tiny":1e-07,"big":1.23457e+08,"neg":-42})"), std::string::npos)
      << line;
}

TEST(Log, HostileValuesCannotSplitOrForgeALine) {
  Sink sink(stderr, Level::kInfo, Format::kJson);
  Logger logger("svc", sink);
  const std::string evil = "x\"}\n{\"level\":\"error\",\"msg\":\"forged\xff";
  RequestContext ctx;
  ctx.request_id = evil;
  const auto line = logger.format(Level::kInfo, &ctx, evil, {{evil, evil}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const auto j = nlohmann::json::parse(line);  // exactly one valid object
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["msg"].get<std::string>().substr(0, 3), "x\"}");
}

TEST(Log, PrettyFormatEscapesToo) {
  Sink sink(stderr, Level::kInfo, Format::kPretty);
  Logger logger("svc", sink);
  const auto line = logger.format(Level::kError, nullptr, "boom\nline", {{"k", "a b\r\n"}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("ERROR"), std::string::npos);
  EXPECT_NE(line.find("k=\"a b\\r\\n\""), std::string::npos);
}

TEST(Log, LevelFiltering) {
  Sink sink(stderr, Level::kWarn, Format::kJson);
  Logger logger("svc", sink);
  EXPECT_FALSE(logger.enabled(Level::kInfo));
  EXPECT_TRUE(logger.enabled(Level::kError));
  EXPECT_EQ(parse_level("WARN"), Level::kWarn);
  EXPECT_FALSE(parse_level("loud"));
}

TEST(Log, LevelChangesAtRuntimeForEveryLoggerOfTheSink) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  Sink sink(f, Level::kInfo, Format::kJson);
  Logger a("a", sink);
  Logger b("b", sink);
  a.debug("hidden");
  sink.set_level(Level::kDebug);
  EXPECT_EQ(sink.level(), Level::kDebug);
  EXPECT_TRUE(b.enabled(Level::kDebug));
  b.debug("shown");
  sink.set_level(Level::kError);
  a.warn("hidden too");
  sink.flush();
  std::rewind(f);
  std::string text(4096, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), f));
  std::fclose(f);
  EXPECT_EQ(text.find("hidden"), std::string::npos) << text;
  EXPECT_NE(text.find("\"msg\":\"shown\""), std::string::npos) << text;
}

}  // namespace
}  // namespace taskman::log

namespace taskman::log {
namespace {

std::string file_text(std::FILE* f) {
  std::string out;
  std::rewind(f);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(Sink, BufferedSinkWritesWarningsAtOnceAndInfoOnFlush) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  int fd = ::dup(::fileno(f));
  std::FILE* reader = ::fdopen(fd, "r");
  {
    Sink sink(f, Level::kInfo, Format::kJson, /*buffered=*/true);
    Logger logger("svc", sink);
    logger.info("quiet line");
    EXPECT_EQ(file_text(reader).find("quiet line"), std::string::npos);  // still in the block buffer
    logger.warn("loud line");
    const auto text = file_text(reader);
    EXPECT_NE(text.find("quiet line"), std::string::npos);  // a warning flushes everything before it
    EXPECT_NE(text.find("loud line"), std::string::npos);
    logger.info("last line");
    sink.flush();
    EXPECT_NE(file_text(reader).find("last line"), std::string::npos);
  }
  std::fclose(reader);
  std::fclose(f);
}

}  // namespace
}  // namespace taskman::log
