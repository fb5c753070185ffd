#include "portcullis/auth/rate_limiter.h"

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiterTest, BurstThenRefillAtTheRate) {
  FakeClock clock;
  RateLimiter rl({.burst = 3, .per_second = 0.5}, clock);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(rl.Acquire("a").ok()) << i;
  Status s = rl.Acquire("a");
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.retry_after_seconds(), 2);
  EXPECT_TRUE(rl.Acquire("b").ok()) << "keys are independent";
  clock.Advance(1s);
  EXPECT_FALSE(rl.Acquire("a").ok());
  clock.Advance(1s);
  EXPECT_TRUE(rl.Acquire("a").ok());
  clock.Advance(1h);
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(rl.Acquire("a").ok()) << "refills to the burst only";
  EXPECT_FALSE(rl.Acquire("a").ok());
}

TEST(RateLimiterTest, AcquireManyTakesAllOrNothing) {
  FakeClock clock;
  RateLimiter rl({.burst = 1000, .per_second = 100}, clock);
  EXPECT_TRUE(rl.Acquire("agent", 700).ok());
  Status s = rl.Acquire("agent", 500);
  ASSERT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.retry_after_seconds(), 2) << "200 tokens missing at 100/s";
  EXPECT_TRUE(rl.Acquire("agent", 300).ok()) << "the refused batch took nothing";
  EXPECT_FALSE(rl.Acquire("agent", 1).ok());
  clock.Advance(std::chrono::seconds(10));
  EXPECT_TRUE(rl.Acquire("agent", 5000).ok()) << "above the burst: a full bucket admits";
  EXPECT_FALSE(rl.Acquire("agent", 1).ok());
}

TEST(RateLimiterTest, CheckDoesNotConsume) {
  FakeClock clock;
  RateLimiter rl({.burst = 2, .per_second = 1}, clock);
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(rl.Check("x").ok());
  rl.Consume("x");
  rl.Consume("x");
  rl.Consume("x");
  EXPECT_FALSE(rl.Check("x").ok());
}

TEST(RateLimiterTest, MemoryIsBoundedEvenUnderAFloodOfKeys) {
  FakeClock clock;
  RateLimiter rl({.burst = 1, .per_second = 1}, clock, /*max_keys=*/4);
  for (int i = 0; i < 4; ++i)
    rl.Consume("k" + std::to_string(i));
  clock.Advance(2s);
  // Refilled buckets are forgotten first; a flood within one instant is capped.
  for (int i = 4; i < 100; ++i) {
    EXPECT_TRUE(rl.Acquire("k" + std::to_string(i)).ok());
    EXPECT_LE(rl.size(), 4u);
  }
}

}  // namespace
}  // namespace portcullis::auth
