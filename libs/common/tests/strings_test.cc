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

}  // namespace
}  // namespace portcullis
