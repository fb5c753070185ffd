// The lexer: token kinds and byte offsets, the value context after ':' and
// operators, ranges in brackets, quoted strings, and what it refuses.
#include "portcullis/qql/lexer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portcullis::qql {
namespace {

using ::testing::HasSubstr;
using K = TokenKind;

std::vector<Token> LexOk(std::string_view q) {
  StatusOr<std::vector<Token>> t = Lex(q);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : std::vector<Token>{};
}

std::vector<K> Kinds(const std::vector<Token>& tokens) {
  std::vector<K> out;
  for (const Token& t : tokens)
    out.push_back(t.kind);
  return out;
}

TEST(LexerTest, TokensCarryTheirByteOffsets) {
  auto t = LexOk("process.name:bash | count");
  ASSERT_EQ(Kinds(t),
            (std::vector<K>{K::kWord, K::kColon, K::kValue, K::kPipe, K::kWord, K::kEnd}));
  EXPECT_EQ(t[0].text, "process.name");
  EXPECT_EQ(t[0].offset, 0u);
  EXPECT_EQ(t[1].offset, 12u);
  EXPECT_EQ(t[2].text, "bash");
  EXPECT_EQ(t[2].offset, 13u);
  EXPECT_EQ(t[3].offset, 18u);
  EXPECT_EQ(t[4].offset, 20u);
  EXPECT_EQ(t[5].offset, 25u);
}

TEST(LexerTest, ValuesKeepColonsDotsAndDashes) {
  auto t = LexOk("event.time > 2026-11-28T10:00:00Z network.remote.ip:fe80::1/64");
  ASSERT_EQ(Kinds(t),
            (std::vector<K>{K::kWord, K::kGt, K::kValue, K::kWord, K::kColon, K::kValue, K::kEnd}));
  EXPECT_EQ(t[2].text, "2026-11-28T10:00:00Z");
  EXPECT_EQ(t[5].text, "fe80::1/64");
  // A word stops at the operator; whitespace may separate a value from ':'.
  auto u = LexOk("process.pid>=5 process.name: bash");
  EXPECT_EQ(Kinds(u),
            (std::vector<K>{K::kWord, K::kGe, K::kValue, K::kWord, K::kColon, K::kValue, K::kEnd}));
}

TEST(LexerTest, RangeDotsOnlyInsideBrackets) {
  EXPECT_EQ(Kinds(LexOk("f:[1..5]")),
            (std::vector<K>{K::kWord, K::kColon, K::kLBracket, K::kValue, K::kRange, K::kValue,
                            K::kRBracket, K::kEnd}));
  EXPECT_EQ(Kinds(LexOk("f:[1 .. 5]")), Kinds(LexOk("f:[1..5]")));
  auto t = LexOk("f:../x");
  EXPECT_EQ(t[2].text, "../x");
  // Commas inside brackets start values (with ':'); in pipes they separate words.
  auto list = LexOk("f:[fe80::1, ::1]");
  EXPECT_EQ(list[5].text, "::1");
  EXPECT_EQ(Kinds(LexOk("| count by a, b")),
            (std::vector<K>{K::kPipe, K::kWord, K::kWord, K::kWord, K::kComma, K::kWord, K::kEnd}));
}

TEST(LexerTest, KeywordsAreCaseInsensitiveButNotInValues) {
  EXPECT_EQ(Kinds(LexOk("AND Or nOt and")),
            (std::vector<K>{K::kAnd, K::kOr, K::kNot, K::kAnd, K::kEnd}));
  EXPECT_EQ(LexOk("f:and")[2].kind, K::kValue);
  EXPECT_EQ(LexOk("android:1")[0].kind, K::kWord);
}

TEST(LexerTest, QuotedStringsDecodeTheirTwoEscapes) {
  auto t = LexOk(R"(f:"a \"b\" \\ c*" g:"")");
  EXPECT_EQ(t[2].kind, K::kString);
  EXPECT_EQ(t[2].text, R"(a "b" \ c*)");
  EXPECT_EQ(t[2].offset, 2u);
  EXPECT_EQ(t[2].length, 15u);
  EXPECT_EQ(t[5].text, "");
  EXPECT_EQ(LexOk("f:\"h\xC3\xA9llo \xF0\x9F\x98\x80\"")[2].text, "h\xC3\xA9llo \xF0\x9F\x98\x80");
}

TEST(LexerTest, RejectsWithThePosition) {
  auto unterminated = Lex("f:\"abc");
  ASSERT_FALSE(unterminated.ok());
  EXPECT_EQ(unterminated.status().message(), "1:3: unterminated quoted string\n  f:\"abc\n    ^");
  EXPECT_THAT(Lex(R"(f:"a\nb")").status().message(), HasSubstr("1:5: unknown escape"));
  EXPECT_THAT(Lex("f:\"abc\\").status().message(), HasSubstr("unterminated"));
  EXPECT_THAT(Lex(std::string("f:a\0b", 5)).status().message(),
              HasSubstr("1:4: the query contains a NUL byte"));
  EXPECT_THAT(Lex("f:a\x01").status().message(), HasSubstr("control character"));
  EXPECT_THAT(Lex("f:\xC3(").status().message(), HasSubstr("1:3: the query is not valid UTF-8"));
  EXPECT_THAT(Lex("f:\xED\xA0\x80").status().message(), HasSubstr("not valid UTF-8"));  // surrogate
  EXPECT_THAT(Lex("f:\xC0\xAF").status().message(), HasSubstr("not valid UTF-8"));      // overlong
  EXPECT_THAT(Lex("f ! g").status().message(), HasSubstr("expected '!='"));
  // Messages never echo the bad bytes.
  EXPECT_EQ(Lex("f:\xFF").status().message().find('\xFF'), std::string::npos);
}

}  // namespace
}  // namespace portcullis::qql
