#include "core/text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace taskman {
namespace {

TEST(JsonEscape, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(json_quote("a\"b\\c\nd\r\t\x01"), R"("a\"b\\c\nd\r\t\u0001")");
}

TEST(JsonEscape, EscapesBetweenLongPlainRuns) {
  const std::string plain(40, 'x');
  EXPECT_EQ(json_quote(plain + "\"" + plain + "\x7F" + plain + "\\"),
            "\"" + plain + "\\\"" + plain + "\\u007f" + plain + "\\\\\"");
  EXPECT_EQ(json_quote(""), "\"\"");
}

TEST(JsonEscape, InvalidUtf8BecomesReplacementAndStaysValidJson) {
  const std::string bad = std::string("ok\xC3") + "\x28" + "\xED\xA0\x80" + "\xF5";
  const std::string quoted = json_quote(bad);
  EXPECT_EQ(quoted, R"("ok\ufffd(\ufffd\ufffd\ufffd\ufffd")");
  EXPECT_NO_THROW((void)nlohmann::json::parse(quoted));
}

TEST(JsonEscape, KeepsValidMultibyte) {
  EXPECT_EQ(json_quote("h\xC3\xA9llo \xF0\x9F\x98\x80"), "\"h\xC3\xA9llo \xF0\x9F\x98\x80\"");
}

TEST(Rfc3339, FormatsMillisecondsUtc) {
  const auto t = std::chrono::system_clock::from_time_t(0) + std::chrono::milliseconds(1234);
  EXPECT_EQ(format_rfc3339_ms(t), "1970-01-01T00:00:01.234Z");
}

TEST(Rfc3339, FormatsEveryFieldWithLeadingZerosAndRoundTrips) {
  const auto t = parse_rfc3339("2026-02-03T04:05:06.007Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_rfc3339_ms(*t), "2026-02-03T04:05:06.007Z");
  const auto late = parse_rfc3339("1999-12-31T23:59:59.999Z");
  ASSERT_TRUE(late);
  EXPECT_EQ(format_rfc3339_ms(*late), "1999-12-31T23:59:59.999Z");
}

TEST(Rfc3339, ParsesOffsetsAndFractions) {
  auto a = parse_rfc3339("2026-11-27T10:00:00Z");
  auto b = parse_rfc3339("2026-11-27T12:00:00.000+02:00");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  auto c = parse_rfc3339("2026-11-27T10:00:00.5Z");
  ASSERT_TRUE(c);
  EXPECT_EQ(*c - *a, std::chrono::milliseconds(500));
}

TEST(Rfc3339, RejectsMalformed) {
  for (const char* s :
       {"", "2026-11-27", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-27T10:00:00",
        "2026-11-27T25:00:00Z", "2026-11-27T10:00:00Zjunk", "2026-11-27T10:00:00.Z"}) {
    EXPECT_FALSE(parse_rfc3339(s)) << s;
  }
}

// Found by fuzz/query and fuzz/rest_body: years far from 1970 overflowed system_clock's nanoseconds (UB).
TEST(Rfc3339, RejectsTimesOutsideTheClockRange) {
  for (const char* s : {"9005-01-01T00:00:00Z", "1013-01-01T00:00:00Z", "0000-01-01T00:00:00Z",
                        "9999-12-31T23:59:59.999+14:00", "2262-04-12T00:00:00Z", "1677-09-20T00:00:00Z"}) {
    EXPECT_FALSE(parse_rfc3339(s)) << s;
  }
  EXPECT_TRUE(parse_rfc3339("2262-04-10T00:00:00Z"));
  EXPECT_TRUE(parse_rfc3339("1677-09-22T00:00:00Z"));
}

TEST(JsonNesting, CountsOnlyBracketsOutsideStrings) {
  EXPECT_FALSE(json_nesting_exceeds("[[1]]", 2));
  EXPECT_TRUE(json_nesting_exceeds("[[[1]]]", 2));
  EXPECT_TRUE(json_nesting_exceeds("{\"a\":{\"b\":[", 2));         // unterminated still counts
  EXPECT_FALSE(json_nesting_exceeds(R"(["[[[[", "\"[[[["])", 1));  // inside strings, escaped quotes
  EXPECT_FALSE(json_nesting_exceeds("[][][][][]", 1));             // siblings are not depth
  EXPECT_TRUE(json_nesting_exceeds(std::string(1000000, '[')));
  EXPECT_FALSE(json_nesting_exceeds(std::string(kMaxJsonDepth, '[')));
}

TEST(RandomHex, LengthAndAlphabet) {
  const auto h = random_hex(16);
  EXPECT_EQ(h.size(), 32u);
  EXPECT_EQ(h.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(h, random_hex(16));
}

}  // namespace
}  // namespace taskman
