// The parser: precedence, implicit and, the term forms, pipe stages, the
// limits and the error messages with their caret lines.
#include "portcullis/qql/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "portcullis/qql/diagnostics.h"

namespace portcullis::qql {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Tree(std::string_view q) {
  StatusOr<ast::Query> t = Parse(q);
  return t.ok() ? t->ToString() : "error: " + t.status().message();
}

std::string Error(std::string_view q) {
  StatusOr<ast::Query> t = Parse(q);
  EXPECT_FALSE(t.ok()) << q;
  return t.ok() ? "" : t.status().message();
}

TEST(ParserTest, NotBindsTighterThanAndThanOr) {
  EXPECT_EQ(Tree("a:1 or b:2 and not c:3"), "(or (= a 1) (and (= b 2) (not (= c 3))))");
  EXPECT_EQ(Tree("a:1 and b:2 or c:3"), "(or (and (= a 1) (= b 2)) (= c 3))");
  EXPECT_EQ(Tree("not a:1 and b:2"), "(and (not (= a 1)) (= b 2))");
  EXPECT_EQ(Tree("not (a:1 or b:2)"), "(not (or (= a 1) (= b 2)))");
}

TEST(ParserTest, AdjacentTermsAreAnd) {
  EXPECT_EQ(Tree("a:1 b:2 or c:3 d:4"), "(or (and (= a 1) (= b 2)) (and (= c 3) (= d 4)))");
  EXPECT_EQ(Tree("a:1 (b:2 or c:3)"), "(and (= a 1) (or (= b 2) (= c 3)))");
  EXPECT_EQ(Tree("a:1 AND b:2"), Tree("a:1 b:2"));
}

TEST(ParserTest, TermForms) {
  EXPECT_EQ(Tree("f:*"), "(exists f)");
  EXPECT_EQ(Tree("f:\"*\""), "(= f \"*\")");
  EXPECT_EQ(Tree("f:a*"), "(= f a*)");
  EXPECT_EQ(Tree("f:[a, \"b c\", d]"), "(in f [a, \"b c\", d])");
  EXPECT_EQ(Tree("f:[a]"), "(in f [a])");
  EXPECT_EQ(Tree("f:[1 .. 9]"), "(range f 1 9)");
  EXPECT_EQ(Tree("f > 1 f >= 2 f < 3 f <= 4 f != 5"),
            "(and (> f 1) (>= f 2) (< f 3) (<= f 4) (!= f 5))");
  EXPECT_EQ(Tree(""), "*");
  EXPECT_EQ(Tree("  \n "), "*");
}

TEST(ParserTest, PipeStages) {
  EXPECT_EQ(Tree("| count"), "* | count");
  EXPECT_EQ(Tree("a:1 | COUNT By f, g | Sort count DESC, f | limit 5"),
            "(= a 1) | count by f, g | sort count desc, f asc | limit 5");
  EXPECT_EQ(Tree("| top 3 f"), "* | top 3 f");
  EXPECT_EQ(Tree("| timechart 5m"), "* | timechart 5m");
  ast::Query q = *Parse("| sort f desc");
  ASSERT_EQ(q.stages.size(), 1u);
  EXPECT_TRUE(q.stages[0].sort_keys[0].descending);
  EXPECT_EQ(q.stages[0].offset, 2u);
}

TEST(ParserTest, ErrorsNameThePositionWithACaret) {
  EXPECT_EQ(Error("process.name:"),
            "1:14: expected a value after ':'\n  process.name:\n               ^");
  EXPECT_THAT(Error("process.name"), StartsWith("1:13: expected ':' or a comparison"));
  EXPECT_THAT(Error("a:1 and"), StartsWith("1:8: expected a term, got the end of the query"));
  EXPECT_THAT(Error("(a:1"), StartsWith("1:5: expected ')' to close the '(' at 1:1"));
  EXPECT_THAT(Error("a:1)"), StartsWith("1:4: ')' without a matching '('"));
  EXPECT_THAT(Error("a:[1, 2"), StartsWith("1:8: expected ']' to close the '[' at 1:3"));
  EXPECT_THAT(Error("a:[1 .. 2, 3]"), StartsWith("1:10: expected ']' after the range"));
  EXPECT_THAT(Error("a:(b or c)"), HasSubstr("use [a, b]"));
  EXPECT_THAT(Error("a = 1"), HasSubstr("use ':' for equality"));
  EXPECT_THAT(Error("()"), HasSubstr("empty parentheses"));
  EXPECT_THAT(Error("| cuont"), HasSubstr("unknown pipe command 'cuont' (did you mean count?)"));
  EXPECT_THAT(Error("| frob"), HasSubstr("(count, top, sort, limit, timechart)"));
  EXPECT_THAT(Error("| count by"), HasSubstr("expected a field name after 'by'"));
  EXPECT_THAT(Error("| limit"), HasSubstr("expected a number of rows after 'limit'"));
  EXPECT_THAT(Error("| count x"), HasSubstr("after the 'count' stage"));
  EXPECT_THAT(Error("a:1\n  b:"), StartsWith("2:5: expected a value after ':'\n    b:\n      ^"));
}

TEST(ParserTest, NestingDepthIsLimited) {
  auto nest = [](int n) {
    return std::string(static_cast<std::size_t>(n), '(') + "a:1" +
           std::string(static_cast<std::size_t>(n), ')');
  };
  EXPECT_TRUE(Parse(nest(kMaxDepth)).ok());
  EXPECT_THAT(Error(nest(kMaxDepth + 1)), HasSubstr("nesting is deeper than 32"));
  std::string nots;
  for (int i = 0; i <= kMaxDepth; ++i)
    nots += "not ";
  EXPECT_THAT(Error(nots + "a:1"), HasSubstr("nesting is deeper"));
  // Deep input can't exhaust the stack: it fails at the limit.
  EXPECT_THAT(Error(std::string(4000, '(')), HasSubstr("nesting is deeper"));
}

TEST(ParserTest, SizesAreLimited) {
  std::string terms;
  for (int i = 0; i < kMaxTerms; ++i)
    terms += "a:1 ";
  EXPECT_TRUE(Parse(terms).ok());
  EXPECT_THAT(Error(terms + "b:2"), HasSubstr("more than 128 terms"));

  std::string list = "a:[0";
  for (std::size_t i = 1; i < kMaxListValues; ++i)
    list += ",1";
  EXPECT_TRUE(Parse(list + "]").ok());
  EXPECT_THAT(Error(list + ",2]"), HasSubstr("at most 100 values"));

  const std::string prefix = "a:\"";
  std::string exact = prefix + std::string(kMaxQueryBytes - prefix.size() - 1, 'x') + "\"";
  ASSERT_EQ(exact.size(), kMaxQueryBytes);
  EXPECT_TRUE(Parse(exact).ok());
  EXPECT_THAT(Error(exact + " "), HasSubstr("the query is 8193 bytes; at most 8192"));

  std::string stages;
  for (std::size_t i = 0; i <= kMaxStages; ++i)
    stages += "| count ";
  EXPECT_THAT(Error(stages), HasSubstr("more than 8 pipe stages"));
}

TEST(DiagnosticsTest, RenderCutsLongLinesAndCountsCodePoints) {
  std::string line = std::string(200, 'a') + "X" + std::string(200, 'b');
  std::string r = RenderDiagnostic(line, {200, "here"});
  EXPECT_THAT(r, StartsWith("1:201: here\n  ..."));
  const std::size_t first_nl = r.find('\n');
  const std::size_t second_nl = r.find('\n', first_nl + 1);
  const std::string shown = r.substr(first_nl + 1, second_nl - first_nl - 1);
  const std::string caret = r.substr(second_nl + 1);
  EXPECT_EQ(caret.find('^'), shown.find('X')) << r;
  EXPECT_LT(shown.size(), 110u);
  EXPECT_THAT(shown, ::testing::EndsWith("..."));
  // Two-byte characters count one column each.
  EXPECT_THAT(RenderDiagnostic("\xC3\xA9\xC3\xA9x", {4, "m"}),
              StartsWith("1:3: m\n  \xC3\xA9\xC3\xA9x\n    ^"));
  // Bad bytes are shown as '?'.
  EXPECT_EQ(RenderDiagnostic("a\xFF\x01z", {3, "m"}), "1:4: m\n  a??z\n     ^");
  EXPECT_EQ(Quoted(std::string(50, 'q')), "'" + std::string(40, 'q') + "...'");
}

TEST(DiagnosticsTest, ClosestMatchFindsPlausibleTypos) {
  const std::vector<std::string_view> c = {"process.name", "process.path", "host.name"};
  EXPECT_EQ(ClosestMatch("proces.name", c), "process.name");
  EXPECT_EQ(ClosestMatch("Process.Name", c), "process.name");
  EXPECT_EQ(ClosestMatch("process.pahtt", c), "process.path");
  EXPECT_EQ(ClosestMatch("hots.name", c), "host.name");  // transposition
  EXPECT_EQ(ClosestMatch("frobnicate", c), std::nullopt);
  EXPECT_EQ(ClosestMatch("", c), std::nullopt);
}

}  // namespace
}  // namespace portcullis::qql
