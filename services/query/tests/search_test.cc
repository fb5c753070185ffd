// The query service's domain: RFC 3339 times, opaque cursors (round trip,
// tampering, binding) and typed result values.
#include "domain/search.h"

#include <gtest/gtest.h>

#include "portcullis/common/strings.h"

namespace portcullis::query {
namespace {

using namespace std::chrono;

TEST(TimeTest, ParsesRfc3339WithZonesAndFractions) {
  auto t = ParseTime("2026-11-28T10:00:00Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatTime(*t), "2026-11-28T10:00:00.000000Z");
  EXPECT_EQ(FormatTime(*ParseTime("2026-11-28T12:30:00.25+02:30")), "2026-11-28T10:00:00.250000Z");
  EXPECT_EQ(FormatTime(*ParseTime("2026-11-28t09:00:00.123456789-01:00")),
            "2026-11-28T10:00:00.123456Z");
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28T10:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-28T24:00:00Z", "2026-11-28T10:00:00.Z", "2026-11-28T10:00:00Z junk",
        "1969-12-31T23:59:59Z", "now-1h", "2026-11-28T10:00:00+0200"}) {
    EXPECT_FALSE(ParseTime(bad).ok()) << bad;
  }
}

TEST(CursorTest, RoundTripsAndRefusesWhatItDidNotMake) {
  Cursor c{.kind = Cursor::Kind::kSearch,
           .binding = Binding("search", "event.action:deny"),
           .from = *ParseTime("2026-11-27T10:00:00Z"),
           .to = *ParseTime("2026-11-28T10:00:00Z"),
           .after = {"2026-11-28 09:59:00.5+00", "7f0b4c1e-0000-4000-8000-00000000abcd"}};
  const std::string text = EncodeCursor(c);
  EXPECT_EQ(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos)
      << "URL-safe";
  auto back = DecodeCursor(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->kind, c.kind);
  EXPECT_EQ(back->binding, c.binding);
  EXPECT_EQ(back->from, c.from);
  EXPECT_EQ(back->to, c.to);
  EXPECT_EQ(back->after, c.after);

  Cursor e{.kind = Cursor::Kind::kExport, .binding = Binding("export", ""), .after = {}};
  auto eb = DecodeCursor(EncodeCursor(e));
  ASSERT_TRUE(eb.ok());
  EXPECT_EQ(eb->kind, Cursor::Kind::kExport);
  EXPECT_TRUE(eb->after.empty());

  for (const std::string& bad :
       {std::string(""), text + "A", text.substr(1), std::string("bm90IGpzb24"),
        Base64UrlEncode("{\"v\":2,\"k\":\"s\",\"b\":\"x\",\"a\":[]}"),
        Base64UrlEncode("{\"v\":1,\"k\":\"s\",\"b\":\"x\",\"a\":[]}"),  // search without range
        Base64UrlEncode("{\"v\":1,\"k\":\"q\",\"b\":\"x\",\"a\":[]}"),
        Base64UrlEncode("{\"v\":1,\"k\":\"e\",\"b\":\"x\",\"a\":[1]}"),
        Base64UrlEncode("{\"v\":1,\"k\":\"e\",\"b\":\"x\",\"a\":[\"1\",\"2\",\"3\",\"4\",\"5\"]}"),
        std::string(3000, 'A')}) {
    auto r = DecodeCursor(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(CursorTest, BindingNamesTheQuery) {
  EXPECT_EQ(Binding("search", "a"), Binding("search", "a"));
  EXPECT_NE(Binding("search", "a"), Binding("search", "b"));
  EXPECT_NE(Binding("search", "a"), Binding("export", "a"));
  EXPECT_NE(Binding("search", "a", "x"), Binding("search", "ax"));
}

TEST(ValueTest, TypedByTheColumn) {
  EXPECT_EQ(ValueToJson(std::nullopt, "text"), nullptr);
  EXPECT_EQ(ValueToJson("42", "integer"), 42);
  EXPECT_EQ(ValueToJson("-7", "bigint"), -7);
  EXPECT_EQ(ValueToJson("4x", "bigint"), "4x");
  EXPECT_EQ(ValueToJson("t", "boolean"), true);
  EXPECT_EQ(ValueToJson("f", "boolean"), false);
  EXPECT_EQ(ValueToJson(R"({"env":"prod"})", "jsonb"), nlohmann::json({{"env", "prod"}}));
  EXPECT_EQ(ValueToJson("2026-11-28 12:00:00.123456+00", "timestamptz"),
            "2026-11-28T12:00:00.123456Z");
  EXPECT_EQ(ValueToJson("10.0.0.1", "inet"), "10.0.0.1");
  EXPECT_EQ(PgTimeToRfc3339("2026-11-28 12:00:00+05"), "2026-11-28T12:00:00+05:00");
  EXPECT_EQ(PgTimeToRfc3339("2026-11-28 12:00:00.5-03:30"), "2026-11-28T12:00:00.5-03:30");
}

TEST(TimechartTest, EveryBucketOfTheRangeInOrderEmptyOnesZero) {
  const TimePoint from = *ParseTime("2026-11-28T10:07:00Z");
  const TimePoint to = *ParseTime("2026-11-28T10:30:00Z");
  using J = nlohmann::json;
  const J rows =
      J::array({J::array({"2026-11-28T10:05:00Z", 3}), J::array({"2026-11-28T10:20:00Z", 1})});
  StatusOr<nlohmann::json> out = FillTimechart(rows, from, to, 300);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // 10:05 (holds 10:07), 10:10, 10:15, 10:20, 10:25: 10:30 is past the range
  const J want = J::array(
      {J::array({"2026-11-28T10:05:00.000000Z", 3}), J::array({"2026-11-28T10:10:00.000000Z", 0}),
       J::array({"2026-11-28T10:15:00.000000Z", 0}), J::array({"2026-11-28T10:20:00.000000Z", 1}),
       J::array({"2026-11-28T10:25:00.000000Z", 0})});
  EXPECT_EQ(*out, want);
  // No rows at all: every bucket, zero.
  out = FillTimechart(nlohmann::json::array(), from, to, 300);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->size(), 5u);
  // A range on a bucket boundary has no extra bucket.
  out = FillTimechart(nlohmann::json::array(), *ParseTime("2026-11-28T10:00:00Z"),
                      *ParseTime("2026-11-28T11:00:00Z"), 3600);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, J::array({J::array({"2026-11-28T10:00:00.000000Z", 0})}));
}

TEST(TimechartTest, RowsThatAreNotBucketsOfTheRangeAreRefused) {
  const TimePoint from = *ParseTime("2026-11-28T10:00:00Z");
  const TimePoint to = *ParseTime("2026-11-28T11:00:00Z");
  using J = nlohmann::json;
  auto one = [](J row) { return J::array({std::move(row)}); };
  EXPECT_TRUE(FillTimechart(one(J::array({"2026-11-28T10:05:00Z", 1})), from, to, 300).ok());
  EXPECT_FALSE(FillTimechart(one(J::array({"2026-11-28T10:03:00Z", 1})), from, to, 300).ok());
  EXPECT_FALSE(FillTimechart(one(J::array({"2026-11-28T11:00:00Z", 1})), from, to, 300).ok());
  EXPECT_FALSE(FillTimechart(one(J::array({"2026-11-28T10:05:00Z"})), from, to, 300).ok());
  EXPECT_FALSE(FillTimechart(one(J::array({"yesterday", 1})), from, to, 300).ok());
  EXPECT_FALSE(FillTimechart(J::object({{"2026-11-28T10:05:00Z", 1}}), from, to, 300).ok());
  EXPECT_FALSE(FillTimechart(nlohmann::json::array(), to, from, 300).ok());  // empty range
}

}  // namespace
}  // namespace portcullis::query
