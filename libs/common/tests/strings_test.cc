#include "portcullis/common/strings.h"

#include <gtest/gtest.h>

namespace portcullis {
namespace {

TEST(StringsTest, AsciiLowerChangesOnlyAsciiLetters) {
  EXPECT_EQ(AsciiLower("Content-Length"), "content-length");
  EXPECT_EQ(AsciiLower("ÄB\xC3\x9F-1"),
            "\xC3\x84"
            "b\xC3\x9F-1");
  EXPECT_EQ(AsciiLower(""), "");
}

TEST(StringsTest, Base64UrlRoundTripsAndRefusesWhatItDoesNotProduce) {
  // RFC 4648 section 10 vectors, unpadded.
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");  // the URL alphabet
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); n += 37)
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(all.substr(0, n))), all.substr(0, n));
  EXPECT_EQ(Base64UrlDecode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(Base64UrlDecode("Zm9vYg=="), std::nullopt);  // padding
  EXPECT_EQ(Base64UrlDecode("Zm9+"), std::nullopt);      // standard alphabet
  EXPECT_EQ(Base64UrlDecode("Z"), std::nullopt);         // impossible length
  EXPECT_EQ(Base64UrlDecode("Zh"), std::nullopt);        // stray bits ("Zg" is canonical)
}

}  // namespace
}  // namespace portcullis
