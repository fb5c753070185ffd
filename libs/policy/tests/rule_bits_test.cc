#include "portcullis/policy/rule_bits.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

namespace portcullis::policy {
namespace {

RuleBits Of(const std::vector<uint32_t>& rules) {
  RuleBits b;
  for (uint32_t r : rules)
    b.Set(r);
  return b;
}

TEST(RuleBitsTest, EmptyByDefault) {
  RuleBits b;
  EXPECT_TRUE(b.None());
  EXPECT_FALSE(b.Any());
  EXPECT_EQ(b.FirstSet(), std::nullopt);
  EXPECT_EQ(b.Count(), 0u);
  EXPECT_EQ(b.words_in_use(), 0u);
}

TEST(RuleBitsTest, SetAndTestAtWordEdges) {
  for (uint32_t r : {0u, 1u, 63u, 64u, 127u, 128u, 4094u, 4095u}) {
    SCOPED_TRACE(r);
    RuleBits b;
    b.Set(r);
    EXPECT_TRUE(b.Test(r));
    EXPECT_FALSE(b.Test(r == 0 ? 1 : r - 1));
    EXPECT_EQ(b.FirstSet(), r);
    EXPECT_EQ(b.Count(), 1u);
    EXPECT_EQ(b.words_in_use(), r / 64 + 1);
  }
}

TEST(RuleBitsTest, TestOutOfRangeIsFalse) {
  RuleBits b = Of({4095});
  EXPECT_FALSE(b.Test(kMaxRules));
  EXPECT_FALSE(b.Test(0xffffffffu));
}

TEST(RuleBitsTest, FirstSetIsLowest) {
  EXPECT_EQ(Of({700, 3, 65}).FirstSet(), 3u);
  EXPECT_EQ(Of({4095, 64}).FirstSet(), 64u);
}

TEST(RuleBitsTest, OrAndTable) {
  struct Case {
    std::vector<uint32_t> a, b, or_result, and_result;
  };
  const std::vector<Case> cases = {
      {{}, {}, {}, {}},
      {{1}, {}, {1}, {}},
      {{}, {2000}, {2000}, {}},
      {{1, 64, 300}, {64, 4095}, {1, 64, 300, 4095}, {64}},
      {{5, 4000}, {5, 4000}, {5, 4000}, {5, 4000}},
      {{0}, {4095}, {0, 4095}, {}},
  };
  for (const Case& c : cases) {
    RuleBits o = Of(c.a);
    o.Or(Of(c.b));
    EXPECT_EQ(o, Of(c.or_result));
    RuleBits a = Of(c.a);
    a.And(Of(c.b));
    EXPECT_EQ(a, Of(c.and_result));
    EXPECT_EQ(a.Count(), c.and_result.size());
    EXPECT_EQ(a.FirstSet(),
              c.and_result.empty() ? std::nullopt : std::optional<uint32_t>(c.and_result[0]));
  }
}

TEST(RuleBitsTest, AndShrinksWordsInUse) {
  RuleBits a = Of({1, 4000});
  a.And(Of({1}));
  EXPECT_EQ(a.words_in_use(), 1u);
  EXPECT_FALSE(a.Test(4000));
  // Bits beyond the shrunk range really are clear: OR-ing back a low set
  // must not resurrect 4000.
  a.Or(Of({2}));
  EXPECT_EQ(a, Of({1, 2}));
}

TEST(RuleBitsTest, ClearEmptiesAndAllowsReuse) {
  RuleBits b = Of({3, 2047, 4095});
  b.Clear();
  EXPECT_TRUE(b.None());
  EXPECT_EQ(b.words_in_use(), 0u);
  EXPECT_EQ(b, RuleBits());
  b.Set(9);
  EXPECT_EQ(b, Of({9}));
}

// Words beyond words_in_use() are not initialised and may hold stale bits
// from before a Clear or a shrinking And: growing the set again must not let
// them back in.
TEST(RuleBitsTest, GrowingAgainNeverResurrectsStaleWords) {
  RuleBits a = Of({1, 200, 4095});
  a.Clear();
  a.Set(300);
  EXPECT_EQ(a, Of({300}));
  EXPECT_FALSE(a.Test(200));
  EXPECT_EQ(a.Count(), 1u);

  RuleBits b = Of({1, 200, 4095});
  b.And(Of({1}));
  b.Or(Of({2, 130}));
  EXPECT_EQ(b, Of({1, 2, 130}));
  EXPECT_EQ(b.NextSet(131), std::nullopt);

  RuleBits c = Of({5});
  RuleBits copy = Of({1, 4000});
  copy = c;
  copy.Set(4001);
  EXPECT_FALSE(copy.Test(4000));
  EXPECT_EQ(copy, Of({5, 4001}));
}

TEST(RuleBitsTest, EqualityIgnoresWordsInUse) {
  RuleBits a = Of({1, 4000});
  a.And(Of({1, 3000}));  // words_in_use() is 47 here, 1 for Of({1})
  EXPECT_GT(a.words_in_use(), 1u);
  EXPECT_EQ(a, Of({1}));
}

TEST(RuleBitsTest, UsableInConstantExpressions) {
  constexpr RuleBits b = [] {
    RuleBits r;
    r.Set(70);
    r.Set(5);
    RuleBits other;
    other.Set(70);
    r.And(other);
    return r;
  }();
  static_assert(b.Test(70));
  static_assert(!b.Test(5));
  static_assert(b.FirstSet() == 70u);
  EXPECT_EQ(b.Count(), 1u);
}

TEST(RuleBitsDeathTest, SetOutOfRangeTerminates) {
  RuleBits b;
  EXPECT_DEATH(b.Set(kMaxRules), "out of range");
}

}  // namespace
}  // namespace portcullis::policy
