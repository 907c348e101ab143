#include "core/encoding.hpp"

#include <gtest/gtest.h>

#include "core/redact.hpp"

namespace taskman {
namespace {

TEST(Hex, EncodesEveryByteLowercase) {
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(hex_encode(""), "");
  std::string upper;
  append_hex_byte(upper, 0xab, true);
  EXPECT_EQ(upper, "AB");
  EXPECT_EQ(hex_digit_value('F'), 15);
  EXPECT_EQ(hex_digit_value('g'), -1);
}

TEST(Percent, DecodesEscapesAndOptionallyPlus) {
  std::string out;
  EXPECT_TRUE(percent_decode("a%20b%2c%2C+", out, true));
  EXPECT_EQ(out, "a b,, ");
  EXPECT_TRUE(percent_decode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_FALSE(percent_decode("a%2", out));
  EXPECT_FALSE(percent_decode("a%", out));
  EXPECT_FALSE(percent_decode("%g0", out));
}

TEST(Percent, NormalizesEscapesPerRfc3986) {
  EXPECT_EQ(normalize_percent_escapes("/a%7eb%2fc"), "/a~b%2Fc");
  EXPECT_EQ(normalize_percent_escapes("%zz%4"), "%zz%4");  // malformed escapes are kept
}

TEST(Redact, HidesUserinfoOnly) {
  EXPECT_EQ(redact_url("postgres://user:secret@db.example.com:5432/tasks"),
            "postgres://REDACTED@db.example.com:5432/tasks");
  EXPECT_EQ(redact_url("postgresql://user@host/db"), "postgresql://REDACTED@host/db");
  EXPECT_EQ(redact_url("sqlite:data/taskman.db"), "sqlite:data/taskman.db");
  // A '@' in the path or query is not userinfo.
  EXPECT_EQ(redact_url("sqlite:///var/lib/a@b.db"), "sqlite:///var/lib/a@b.db");
  EXPECT_EQ(redact_url("http://host/p@th?x=a@b"), "http://host/p@th?x=a@b");
  // The last '@' of the authority ends the userinfo, so a secret containing '@' is hidden whole.
  EXPECT_EQ(redact_url("postgres://u:p@ss@host/db"), "postgres://REDACTED@host/db");
}

}  // namespace
}  // namespace taskman
