#include "portcullis/common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace portcullis {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, CarriesCodeAndMessage) {
  Status s = NotFoundError("agent 42");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "not_found: agent 42");
  EXPECT_EQ(s.WithContext("lookup").message(), "lookup: agent 42");
}

TEST(StatusTest, RetryAfterSurvivesContext) {
  Status s = ResourceExhaustedError("slow down").WithRetryAfter(7);
  EXPECT_EQ(s.retry_after_seconds(), 7);
  EXPECT_EQ(s.WithContext("auth").retry_after_seconds(), 7);
  EXPECT_EQ(OkStatus().retry_after_seconds(), 0);
}

TEST(StatusOrTest, HoldsValueOrError) {
  StatusOr<std::unique_ptr<int>> v = std::make_unique<int>(7);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(**v, 7);
  std::unique_ptr<int> moved = *std::move(v);
  EXPECT_EQ(*moved, 7);

  StatusOr<int> e = InvalidArgumentError("bad");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
}

Status FailsWhen(bool fail) {
  PORTCULLIS_RETURN_IF_ERROR(fail ? UnavailableError("down") : OkStatus());
  return InternalError("reached the end");
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  EXPECT_EQ(FailsWhen(true).code(), StatusCode::kUnavailable);
  EXPECT_EQ(FailsWhen(false).code(), StatusCode::kInternal);
}

TEST(StatusDeathTest, ValueOfErrorTerminates) {
  StatusOr<int> e = NotFoundError("x");
  EXPECT_DEATH((void)e.value(), "value\\(\\) on an error");
}

TEST(StatusDeathTest, StatusOrFromOkTerminates) {
  EXPECT_DEATH(StatusOr<int>{OkStatus()}, "from an OK status");
}

}  // namespace
}  // namespace portcullis
