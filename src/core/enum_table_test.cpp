#include "core/enum_table.hpp"

#include <gtest/gtest.h>

#include "core/result.hpp"

namespace taskman {
namespace {

enum class Colour { kRed, kGreen, kBlue };
constexpr EnumName<Colour> kColours[] = {{Colour::kRed, "red"}, {Colour::kGreen, "green"}};

TEST(EnumTable, BothDirectionsReadOneTable) {
  EXPECT_EQ(enum_name(kColours, Colour::kGreen, "?"), "green");
  EXPECT_EQ(enum_name(kColours, Colour::kBlue, "?"), "?");
  EXPECT_EQ(enum_from_name(kColours, "red"), Colour::kRed);
  EXPECT_EQ(enum_from_name(kColours, "Red"), std::nullopt);
}

TEST(ErrorCodes, NameAndStatusComeFromOneTable) {
  EXPECT_STREQ(error_code_name(ErrorCode::kPreconditionFailed), "precondition_failed");
  EXPECT_EQ(http_status(ErrorCode::kPreconditionFailed), 412);
  EXPECT_STREQ(error_code_name(ErrorCode::kUnavailable), "unavailable");
  EXPECT_EQ(http_status(ErrorCode::kUnavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::kInternal), 500);
}

}  // namespace
}  // namespace taskman
