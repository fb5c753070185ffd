// The SQL emitter through Compile: the fixed prefix of every statement, the
// listing orders and cursors, aggregations' columns, and VerifySql, the
// closed-vocabulary check every statement passes before it is returned.
#include "portcullis/qql/sql_emitter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "placeholders.h"
#include "portcullis/qql/values.h"

namespace portcullis::qql {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kTenant = testing::kTestTenant;
constexpr const char* kEvent = "7f0b4c1e-0000-4000-8000-00000000abcd";

SqlQuery CompileOk(std::string_view q, const CompileOptions& o = testing::TestOptions()) {
  StatusOr<SqlQuery> s = Compile(q, o);
  EXPECT_TRUE(s.ok()) << q << ": " << s.status();
  if (!s.ok()) return {};
  EXPECT_EQ(testing::PlaceholderProblem(*s), "") << s->sql;
  return *s;
}

std::vector<std::string> Names(const SqlQuery& q) {
  std::vector<std::string> out;
  for (const Column& c : q.columns)
    out.push_back(c.name);
  return out;
}

TEST(SqlEmitterTest, EveryStatementStartsWithTenantAndTimeRange) {
  for (const char* q : {"", "process.name:x", "| count", "| count by host.name",
                        "| top 3 process.name", "| timechart 5m", "| sort process.pid"}) {
    SqlQuery s = CompileOk(q);
    EXPECT_THAT(s.sql, HasSubstr("\nFROM events\nWHERE tenant_id = $1::uuid AND ts >= "
                                 "$2::timestamptz AND ts < $3::timestamptz"))
        << q;
    ASSERT_GE(s.params.size(), 3u);
    EXPECT_EQ(s.params[0], kTenant);
    EXPECT_EQ(s.params[1], "2026-11-27T12:00:00Z");
    EXPECT_EQ(s.params[2], "2026-11-28T12:00:00Z");
  }
}

TEST(SqlEmitterTest, ListingNewestFirstWithCursor) {
  CompileOptions o = testing::TestOptions();
  SqlQuery first = CompileOk("event.action:deny", o);
  EXPECT_FALSE(first.aggregate);
  EXPECT_THAT(first.sql, HasSubstr("ORDER BY ts DESC, event_id DESC\nLIMIT $5::integer"));
  EXPECT_EQ(first.params.back(), "100");
  EXPECT_EQ(first.columns.front().name, "event.time");
  EXPECT_EQ(first.columns.front().type, "timestamptz");
  EXPECT_THAT(Names(first), ::testing::Contains("event.id"));
  EXPECT_THAT(Names(first), Not(::testing::Contains("txid")));

  o.after = {"2026-11-28T11:59:00Z", kEvent};
  SqlQuery next = CompileOk("event.action:deny", o);
  EXPECT_THAT(next.sql,
              HasSubstr("AND (ts, event_id) < ($5::timestamptz, $6::uuid)\nORDER BY ts DESC"));
  EXPECT_EQ(next.params[4], "2026-11-28T11:59:00Z");
  EXPECT_EQ(next.params[5], kEvent);
}

TEST(SqlEmitterTest, ListingInCommitOrder) {
  CompileOptions o = testing::TestOptions();
  o.order = CompileOptions::Order::kCommitOrder;
  o.after = {"987654", kEvent};
  SqlQuery s = CompileOk("event.action:deny", o);
  EXPECT_THAT(s.sql, HasSubstr("AND txid < pg_snapshot_xmin(pg_current_snapshot())"));
  EXPECT_THAT(s.sql, HasSubstr("AND (txid, event_id) > ($5::xid8, $6::uuid)"));
  EXPECT_THAT(s.sql, HasSubstr("ORDER BY txid, event_id\nLIMIT $7::integer"));
  EXPECT_EQ(s.columns.back().name, "txid");
  EXPECT_EQ(s.columns.back().type, "xid8");
  EXPECT_THAT(Names(s), ::testing::Contains("event.id"));
  EXPECT_THAT(Names(s), ::testing::Contains("event.time"));
}

TEST(SqlEmitterTest, AggregationsNameTheirColumns) {
  SqlQuery by = CompileOk("| count by process.name, labels.app");
  EXPECT_TRUE(by.aggregate);
  EXPECT_EQ(Names(by), (std::vector<std::string>{"process.name", "labels.app", "count"}));
  EXPECT_EQ(by.columns[1].type, "text");
  EXPECT_EQ(by.columns[2].type, "bigint");
  EXPECT_THAT(by.sql, HasSubstr("SELECT process_name AS \"process.name\""));
  EXPECT_THAT(by.sql, HasSubstr("(labels->>$4::text) AS \"label_2\""));
  EXPECT_EQ(by.params[3], "app");
  EXPECT_THAT(by.sql, HasSubstr("GROUP BY 1, 2\nORDER BY 3 DESC, 1, 2\nLIMIT $5::integer"));

  SqlQuery chart = CompileOk("| timechart 5m");
  EXPECT_EQ(Names(chart), (std::vector<std::string>{"time", "count"}));
  EXPECT_THAT(
      chart.sql,
      HasSubstr("date_bin($4::interval, ts, TIMESTAMPTZ '1970-01-01T00:00:00Z') AS \"time\""));
  EXPECT_EQ(chart.params[3], "300 seconds");
  EXPECT_THAT(chart.sql, Not(HasSubstr("LIMIT")));

  SqlQuery count = CompileOk("| count");
  EXPECT_EQ(count.sql.rfind("SELECT count(*) AS \"count\"\nFROM events", 0), 0u);
}

TEST(SqlEmitterTest, NotIsTrueForFalseAndNull) {
  SqlQuery s = CompileOk("not file.path:/etc/*");
  EXPECT_THAT(s.sql, HasSubstr("AND ((file_path ~>=~ $4::text AND file_path ~<~ $5::text AND "
                               "file_path LIKE $6::text)) IS NOT TRUE"));
}

TEST(SqlEmitterTest, ParametersFollowTheTextOrder) {
  SqlQuery s = CompileOk("process.pid:[1 .. 2] network.remote.ip:[10.0.0.1 .. 10.0.0.2]");
  EXPECT_THAT(s.sql, HasSubstr("pid BETWEEN $4::integer AND $5::integer"));
  EXPECT_THAT(s.sql, HasSubstr("remote_ip BETWEEN $6::inet AND $7::inet"));
  EXPECT_EQ(s.params[3], "1");
  EXPECT_EQ(s.params[4], "2");
  EXPECT_EQ(s.params[5], "10.0.0.1");
}

SqlQuery Hand(std::string sql, std::vector<std::string> params = {"a"}) {
  return SqlQuery{std::move(sql), std::move(params), {}, false};
}

// Prefix wildcards and CIDR networks carry a range of leakproof comparisons
// (an index can serve them under row-level security); the exact test stays.
TEST(SqlEmitterTest, PrefixesAndNetworksCarryAnIndexRange) {
  auto params_after_range = [](const SqlQuery& q) {
    return std::vector<std::string>(q.params.begin() + 3, q.params.end() - 1);  // no limit
  };
  SqlQuery q = CompileOk("file.path:/tmp/a_b*");  // the literal text, not the LIKE escape
  EXPECT_THAT(q.sql, HasSubstr("(file_path ~>=~ $4::text AND file_path ~<~ $5::text AND "
                               "file_path LIKE $6::text)"));
  EXPECT_EQ(params_after_range(q),
            (std::vector<std::string>{"/tmp/a_b", "/tmp/a_c", "/tmp/a\\_b%"}));
  // The upper bound increments the last ASCII byte: never a byte of UTF-8.
  q = CompileOk("file.path:/caf\xc3\xa9*");
  EXPECT_EQ(params_after_range(q),
            (std::vector<std::string>{"/caf\xc3\xa9", "/cag", "/caf\xc3\xa9%"}));
  q = CompileOk("file.path:~~*");
  EXPECT_EQ(params_after_range(q), (std::vector<std::string>{"~~", "~\x7f", "~~%"}));
  // Nothing to bound: a leading wildcard, a negation, a label.
  for (const char* text : {"file.path:*.conf", "file.path != /etc/*", "labels.app:web*"}) {
    EXPECT_THAT(CompileOk(text).sql, Not(HasSubstr("~>=~"))) << text;
  }
  q = CompileOk("network.remote.ip:10.1.2.3/8");
  EXPECT_THAT(q.sql, HasSubstr("(remote_ip >= $4::inet AND remote_ip <= $5::inet AND "
                               "remote_ip <<= $6::inet)"));
  EXPECT_EQ(params_after_range(q),
            (std::vector<std::string>{"10.0.0.0/8", "10.255.255.255", "10.0.0.0/8"}));
  q = CompileOk("network.remote.ip:2001:db8::/32");
  EXPECT_EQ(params_after_range(q).at(1), "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff");
  q = CompileOk("network.remote.ip:0.0.0.0/0");
  EXPECT_EQ(params_after_range(q).at(1), "255.255.255.255");
  EXPECT_THAT(CompileOk("network.remote.ip != 10.0.0.0/8").sql, Not(HasSubstr("remote_ip >=")));
}

TEST(VerifySqlTest, AcceptsOnlyTheEmittersVocabulary) {
  const Catalog& c = Catalog::Default();
  EXPECT_TRUE(
      VerifySql(Hand("SELECT count(*) AS \"count\" FROM events WHERE tenant_id = $1::uuid"), c)
          .ok());
  for (const char* bad : {
           "SELECT 1; DROP TABLE events",                      // ; and an unknown word
           "SELECT count(*) FROM events -- $1",                // comment
           "SELECT count(*) FROM events /* $1 */",             // comment
           "SELECT $$x$$ FROM events WHERE a = $1::text",      // dollar quoting
           "SELECT 'x' FROM events WHERE ts = $1::text",       // a literal it never writes
           "SELECT \"nope\" FROM events WHERE ts = $1::text",  // an identifier not in the catalog
           "SELECT ts FROM events WHERE ts = $2::text",        // out of range
           "SELECT ts FROM events WHERE ts = $0::text",        // out of range
           "SELECT ts FROM events",                            // $1 unused
           "SELECT ts FROM events WHERE ts = $1::text AND 99 = 99",   // number
           "SELECT ts FROM events WHERE ts = $1::text AND E'\\x27'",  // escape string
           "SELECT ts FROM events WHERE ts = $1::text\t",             // other whitespace
           "SELECT ts FROM events WHERE ts = $1a::text",
       }) {
    EXPECT_FALSE(VerifySql(Hand(bad), c).ok()) << bad;
  }
  // A NUL inside the text (the literal's own length, not strlen's).
  constexpr char kWithNul[] = "SELECT ts\0 FROM events WHERE ts = $1::text";
  EXPECT_FALSE(VerifySql(Hand(std::string(kWithNul, sizeof(kWithNul) - 1)), c).ok());
}

}  // namespace
}  // namespace portcullis::qql
