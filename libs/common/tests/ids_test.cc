#include "portcullis/common/ids.h"

#include <gtest/gtest.h>

#include <set>
#include <type_traits>
#include <unordered_set>

namespace portcullis {
namespace {

TEST(UuidTest, RoundTripsCanonicalText) {
  auto u = Uuid::Parse("0B6F2C1E-9A4d-4e3f-8a1b-00112233aabb");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->ToString(), "0b6f2c1e-9a4d-4e3f-8a1b-00112233aabb");
}

TEST(UuidTest, RejectsMalformedText) {
  for (const char* bad :
       {"", "0b6f2c1e9a4d4e3f8a1b00112233aabb", "0b6f2c1e-9a4d-4e3f-8a1b-00112233aabg",
        "0b6f2c1e-9a4d-4e3f-8a1b_00112233aabb", "0b6f2c1e-9a4d-4e3f-8a1b-00112233aabb0",
        "' OR 1=1 --"}) {
    auto u = Uuid::Parse(bad);
    EXPECT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(UuidTest, RandomIsVersion4AndUnique) {
  std::set<Uuid> seen;
  for (int i = 0; i < 1000; ++i) {
    Uuid u = Uuid::Random();
    EXPECT_EQ(u.bytes()[6] >> 4, 4);
    EXPECT_EQ(u.bytes()[8] >> 6, 2);
    EXPECT_TRUE(seen.insert(u).second);
  }
}

TEST(StrongIdTest, DistinctTypesDoNotConvert) {
  static_assert(!std::is_convertible_v<TenantId, AgentId>);
  static_assert(!std::is_convertible_v<AgentId, TenantId>);
  static_assert(!std::is_convertible_v<std::string, TenantId>);
  auto t = TenantId::Parse("not-a-uuid");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("tenant id"), std::string::npos);
  std::unordered_set<AgentId> agents{AgentId::Generate(), AgentId::Generate()};
  EXPECT_EQ(agents.size(), 2u);
}

}  // namespace
}  // namespace portcullis
