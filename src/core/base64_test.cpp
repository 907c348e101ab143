// base64url: the RFC 4648 test vectors (in the URL alphabet, unpadded) and what decoding refuses.
#include "core/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace taskman {
namespace {

TEST(Base64Url, EncodesTheRfcVectorsWithoutPadding) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foob"), "Zm9vYg");
  EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, UsesTheUrlAlphabet) {
  // 0xFB 0xFF encodes to "+/8" in standard base64; the URL alphabet has '-' and '_' instead.
  EXPECT_EQ(base64url_encode(std::string("\xFB\xFF", 2)), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xFB\xFF", 2));
}

TEST(Base64Url, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    const std::string part = all.substr(0, n);
    EXPECT_EQ(base64url_decode(base64url_encode(part)), part) << n;
  }
}

TEST(Base64Url, RefusesForeignCharactersAndImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("Zm9v!"));
  EXPECT_FALSE(base64url_decode("Zm9v+g"));  // standard alphabet
  EXPECT_FALSE(base64url_decode("Zm8="));    // padding is not part of the unpadded form
  EXPECT_FALSE(base64url_decode("Zm9vY"));   // 5 characters: the last holds only 6 bits
}

}  // namespace
}  // namespace taskman
