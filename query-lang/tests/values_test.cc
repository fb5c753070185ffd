// Value syntaxes: times (absolute, relative, PostgreSQL's output), IP
// addresses and CIDRs, integers and intervals.
#include "portcullis/qql/values.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portcullis::qql {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using ::testing::HasSubstr;

Timestamp At(const char* iso) {
  return ParseAbsoluteTime(iso)->time;
}

std::string Iso(std::string_view text) {
  StatusOr<TimeValue> t = ParseAbsoluteTime(text);
  return t.ok() ? FormatTimestamp(t->time) + (t->date_only ? " (date)" : "")
                : "error: " + t.status().message();
}

TEST(ValuesTest, AbsoluteTimes) {
  EXPECT_EQ(Iso("2026-11-28T10:00:00Z"), "2026-11-28T10:00:00Z");
  EXPECT_EQ(Iso("2026-11-28t10:00z"), "2026-11-28T10:00:00Z");
  EXPECT_EQ(Iso("2026-11-28T10:00:00"), "2026-11-28T10:00:00Z");  // no zone: UTC
  EXPECT_EQ(Iso("2026-11-28T10:00:00+02:00"), "2026-11-28T08:00:00Z");
  EXPECT_EQ(Iso("2026-11-28T00:30:00-0130"), "2026-11-28T02:00:00Z");
  EXPECT_EQ(Iso("2026-11-28T10:00:00.25Z"), "2026-11-28T10:00:00.250000Z");
  EXPECT_EQ(Iso("2026-11-28T10:00:00.123456789Z"), "2026-11-28T10:00:00.123456Z");
  EXPECT_EQ(Iso("2026-11-28"), "2026-11-28T00:00:00Z (date)");
  EXPECT_EQ(Iso("2028-02-29"), "2028-02-29T00:00:00Z (date)");
  // PostgreSQL's text output, as a cursor carries it.
  EXPECT_EQ(Iso("2026-11-28 12:00:00.123456+00"), "2026-11-28T12:00:00.123456Z");

  EXPECT_THAT(Iso("2026-13-01"), HasSubstr("month 13 is out of range"));
  EXPECT_THAT(Iso("2026-02-29"), HasSubstr("day 29 is out of range"));
  EXPECT_THAT(Iso("1969-12-31"), HasSubstr("between 1970 and 9999"));
  EXPECT_THAT(Iso("2026-11-28T24:00:00Z"), HasSubstr("out of range"));
  EXPECT_THAT(Iso("2026-11-28T10:00:00Zjunk"), HasSubstr("unexpected text"));
  EXPECT_THAT(Iso("2026-11-28T10:00:00.Z"), HasSubstr("fraction"));
  EXPECT_THAT(Iso("2026-11-28T10:00:00+16:00"), HasSubstr("offset is out of range"));
  EXPECT_THAT(Iso("yesterday"), HasSubstr("expected YYYY-MM-DD"));
  EXPECT_THAT(Iso(""), HasSubstr("expected YYYY-MM-DD"));
}

TEST(ValuesTest, RelativeTimes) {
  const Timestamp now = At("2026-11-28T12:00:00Z");
  EXPECT_EQ(ParseTime("now", now)->time, now);
  EXPECT_EQ(ParseTime("NOW", now)->time, now);
  EXPECT_EQ(ParseTime("now-1h", now)->time, now - hours(1));
  EXPECT_EQ(ParseTime("now-15m", now)->time, now - minutes(15));
  EXPECT_EQ(ParseTime("now-7d", now)->time, now - hours(7 * 24));
  EXPECT_EQ(ParseTime("now-2w", now)->time, now - hours(14 * 24));
  EXPECT_EQ(ParseTime("now+30s", now)->time, now + std::chrono::seconds(30));
  EXPECT_EQ(ParseTime("2026-11-28", now)->time, At("2026-11-28T00:00:00Z"));
  EXPECT_THAT(ParseTime("now-1y", now).status().message(), HasSubstr("unknown unit 'y'"));
  EXPECT_THAT(ParseTime("now-h", now).status().message(), HasSubstr("expected now-<n><unit>"));
  EXPECT_THAT(ParseTime("now-1", now).status().message(), HasSubstr("expected now-<n><unit>"));
  EXPECT_THAT(ParseTime("now*1h", now).status().message(), HasSubstr("expected now"));
  EXPECT_THAT(ParseTime("now-999999999w", now).status().message(),
              HasSubstr("more than 36525 days"));
  EXPECT_THAT(ParseTime("now-9999999999s", now).status().message(), HasSubstr("too far"));
}

TEST(ValuesTest, IpAddressesAndNetworks) {
  EXPECT_EQ(ParseIp("10.0.0.1")->text, "10.0.0.1");
  EXPECT_EQ(ParseIp("10.0.0.1")->prefix, -1);
  EXPECT_EQ(ParseIp("10.1.2.3/8")->text, "10.0.0.0/8");
  EXPECT_EQ(ParseIp("10.1.2.3/32")->text, "10.1.2.3/32");
  EXPECT_EQ(ParseIp("0.0.0.0/0")->text, "0.0.0.0/0");
  EXPECT_EQ(ParseIp("2001:DB8::1")->text, "2001:db8::1");
  EXPECT_EQ(ParseIp("2001:db8:ffff::/33")->text, "2001:db8:8000::/33");
  EXPECT_EQ(ParseIp("::ffff:10.0.0.1")->family, 6);
  for (const char* bad :
       {"10.0.0.256", "10.0.0", "010.0.0.1", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1/a", "::1/129",
        "fe80::1%eth0", "1:2:3:4:5:6:7:8:9", "", "/8", "host", "10.0.0.1/0008"}) {
    EXPECT_FALSE(ParseIp(bad).ok()) << bad;
  }
}

TEST(ValuesTest, Integers) {
  EXPECT_EQ(*ParseInteger("0", 0, 10), 0);
  EXPECT_EQ(*ParseInteger("-5", -10, 10), -5);
  EXPECT_EQ(*ParseInteger("9223372036854775807", INT64_MIN, INT64_MAX), INT64_MAX);
  EXPECT_EQ(*ParseInteger("-9223372036854775808", INT64_MIN, INT64_MAX), INT64_MIN);
  EXPECT_FALSE(ParseInteger("9223372036854775808", INT64_MIN, INT64_MAX).ok());
  EXPECT_FALSE(ParseInteger("99999999999999999999999", INT64_MIN, INT64_MAX).ok());
  EXPECT_FALSE(ParseInteger("11", 0, 10).ok());
  EXPECT_FALSE(ParseInteger("-1", 0, 10).ok());
  for (const char* bad : {"", "-", "+1", "1.0", "0x10", " 1", "1e3"}) {
    EXPECT_EQ(ParseInteger(bad, INT64_MIN, INT64_MAX).status().message(), "not an integer") << bad;
  }
}

TEST(ValuesTest, Intervals) {
  EXPECT_EQ(*ParseIntervalSeconds("30s"), 30);
  EXPECT_EQ(*ParseIntervalSeconds("5m"), 300);
  EXPECT_EQ(*ParseIntervalSeconds("2h"), 7200);
  EXPECT_EQ(*ParseIntervalSeconds("1d"), 86400);
  for (const char* bad : {"", "m", "0m", "5", "5x", "5mm", "-5m", "1234567m", "5 m"}) {
    EXPECT_FALSE(ParseIntervalSeconds(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace portcullis::qql
