// The binder: field resolution with suggestions, type checks and
// normalization of every value type, wildcard escaping, the pipeline rules,
// the options and the cursor.
#include "portcullis/qql/binder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "portcullis/qql/parser.h"

namespace portcullis::qql {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Shape = BoundQuery::Shape;

CompileOptions Options() {
  CompileOptions o;
  o.tenant_id = "00000000-0000-4000-8000-0000000000AA";
  o.now = std::chrono::system_clock::time_point(ParseAbsoluteTime("2026-11-28T12:00:00Z")->time);
  o.from = o.now - std::chrono::hours(24);
  o.to = o.now;
  return o;
}

StatusOr<BoundQuery> BindText(std::string_view q, const CompileOptions& o = Options()) {
  StatusOr<ast::Query> tree = Parse(q);
  if (!tree.ok()) return tree.status();
  return Bind(q, *tree, Catalog::Default(), o);
}

std::string Where(std::string_view q) {
  StatusOr<BoundQuery> b = BindText(q);
  if (!b.ok()) return "error: " + b.status().message();
  return b->where ? b->where->ToString() : "-";
}

std::string Error(std::string_view q, const CompileOptions& o = Options()) {
  StatusOr<BoundQuery> b = BindText(q, o);
  EXPECT_FALSE(b.ok()) << q;
  return b.ok() ? "" : b.status().message();
}

TEST(BinderTest, NormalizesValuesPerType) {
  EXPECT_EQ(Where("event.action:DENY"), "(= event.action 'deny')");
  EXPECT_EQ(Where("event.enforced:TRUE"), "(= event.enforced 'true')");
  EXPECT_EQ(Where("event.id:7F0B4C1E-0000-4000-8000-00000000ABCD"),
            "(= event.id '7f0b4c1e-0000-4000-8000-00000000abcd')");
  EXPECT_EQ(Where("network.remote.ip:10.9.8.7/16"), "(within network.remote.ip '10.9.0.0/16')");
  EXPECT_EQ(Where("network.remote.ip != 10.9.8.7/16"),
            "(not-within network.remote.ip '10.9.0.0/16')");
  EXPECT_EQ(Where("process.pid:007"), "(= process.pid '7')");
  EXPECT_EQ(Where("event.result:-13"), "(= event.result '-13')");
  EXPECT_EQ(Where("event.time > now-1h"), "(> event.time '2026-11-28T11:00:00Z')");
  EXPECT_EQ(Where("event.time:2026-11-27"),
            "(and (>= event.time '2026-11-27T00:00:00Z') (< event.time '2026-11-28T00:00:00Z'))");
  EXPECT_EQ(Where("event.time != 2026-11-27"),
            "(or (< event.time '2026-11-27T00:00:00Z') (>= event.time '2026-11-28T00:00:00Z'))");
  EXPECT_EQ(Where("event.time > 2026-11-27"), "(>= event.time '2026-11-28T00:00:00Z')");
  EXPECT_EQ(Where("event.time <= 2026-11-27"), "(< event.time '2026-11-28T00:00:00Z')");
  EXPECT_EQ(Where("labels.app:web"), "(= labels.app 'web')");
}

TEST(BinderTest, WildcardsEscapeLikeMetacharacters) {
  EXPECT_EQ(Where("file.path:/etc/*"), "(like file.path '/etc/%')");
  EXPECT_EQ(Where(R"(file.path:*100%_a\b*)"), R"((like file.path '%100\%\_a\\b%'))");
  EXPECT_EQ(Where("file.path != *.so"), "(not-like file.path '%.so')");
  EXPECT_EQ(Where(R"(file.path:"/etc/*")"), "(= file.path '/etc/*')");  // quoted: literal
  EXPECT_EQ(Where("process.name:[sh, ba*, sh]"),
            "(or (= process.name 'sh') (like process.name 'ba%'))");
  EXPECT_THAT(Where("event.action:de*"), HasSubstr("wildcards only work on text fields"));
  EXPECT_THAT(Where("network.remote.ip:10.*"), HasSubstr("use CIDR"));
}

TEST(BinderTest, UnknownFieldsGetASuggestion) {
  EXPECT_EQ(Error("proces.name:bash"),
            "1:1: unknown field 'proces.name' (did you mean process.name?)\n"
            "  proces.name:bash\n"
            "  ^");
  EXPECT_THAT(Error("label.app:x"), HasSubstr("(did you mean labels.app?)"));
  EXPECT_THAT(Error("network.remote.prot:1"), HasSubstr("did you mean network.remote.port?"));
  EXPECT_THAT(Error("zzz:1"), HasSubstr("unknown field 'zzz'\n"));
  EXPECT_THAT(Error("| count by hostname"), HasSubstr("did you mean host.name?"));
  EXPECT_THAT(Error("labels.a'b:1"), HasSubstr("1:8: a label key is 1 to 63 characters"));
  EXPECT_THAT(Error("labels." + std::string(64, 'k') + ":1"), HasSubstr("a label key"));
  EXPECT_THAT(Error("labels:x"), HasSubstr("labels needs a key"));
  EXPECT_EQ(Where("labels:*"), "(exists labels)");
}

TEST(BinderTest, ReportsEveryProblemWithItsPosition) {
  const std::string m = Error("event.action:dny process.pid:x network.remote.port:65536");
  EXPECT_THAT(
      m,
      HasSubstr("1:14: event.action takes allow, deny or monitor, got 'dny' (did you mean deny?)"));
  EXPECT_THAT(m, HasSubstr("1:30: process.pid takes an integer, got 'x'"));
  EXPECT_THAT(m, HasSubstr("1:52: network.remote.port takes a port (0-65535), got '65536'"));
  std::string many;
  for (int i = 0; i < 20; ++i)
    many += "bogus:1 ";
  const std::string capped = Error(many);
  EXPECT_EQ(static_cast<std::size_t>(std::count(capped.begin(), capped.end(), '^')),
            kMaxDiagnostics);
}

TEST(BinderTest, ChecksOperatorsAgainstTypes) {
  EXPECT_THAT(Error("process.name > a"),
              HasSubstr("'>' needs a number, a time or an IP address; process.name is text"));
  EXPECT_THAT(Error("event.enforced:[true .. false]"), HasSubstr("a range needs a number"));
  EXPECT_THAT(Error("process.pid:[5 .. 1]"), HasSubstr("the range is empty: 5 is above 1"));
  EXPECT_THAT(Error("event.time:[now .. now-1h]"), HasSubstr("its end is before its start"));
  EXPECT_THAT(Error("network.remote.ip:[10.0.0.9 .. 10.0.0.1]"), HasSubstr("range is empty"));
  EXPECT_THAT(Error("network.remote.ip:[10.0.0.1 .. ::1]"), HasSubstr("same family"));
  EXPECT_THAT(Error("network.remote.ip < 10.0.0.0/8"), HasSubstr("not a network"));
  EXPECT_EQ(Where("network.remote.ip:[10.0.0.1 .. 10.0.0.9]"),
            "(between network.remote.ip '10.0.0.1' '10.0.0.9')");
}

TEST(BinderTest, PipelineShapes) {
  StatusOr<BoundQuery> b =
      BindText("| count by process.name, labels.app | sort count desc, process.name");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->shape, Shape::kCountBy);
  ASSERT_EQ(b->group_by.size(), 2u);
  EXPECT_EQ(b->group_by[1].label_key, "app");
  ASSERT_EQ(b->sort.size(), 2u);
  EXPECT_TRUE(b->sort[0].by_count);
  EXPECT_EQ(b->sort[1].column, 0u);
  EXPECT_EQ(b->limit, 10000);

  b = BindText("| top 7 host.name");
  EXPECT_EQ(b->shape, Shape::kTop);
  EXPECT_EQ(b->limit, 7);
  b = BindText("| timechart 15m");
  EXPECT_EQ(b->shape, Shape::kTimechart);
  EXPECT_EQ(b->bucket_seconds, 900);
  EXPECT_EQ(b->limit, 0);
  b = BindText("| count");
  EXPECT_EQ(b->shape, Shape::kCount);
  b = BindText("");
  EXPECT_EQ(b->shape, Shape::kListing);
  EXPECT_EQ(b->limit, 100);
  EXPECT_FALSE(b->where.has_value());
  b = BindText("| limit 123456789012345678901234567890");
  EXPECT_EQ(b->limit, 10000);
}

TEST(BinderTest, RejectsNonsensicalPipelines) {
  EXPECT_THAT(Error("| count | top 5 process.name"),
              HasSubstr("1:11: only one aggregation per query: 'count' at 1:3 already aggregates"));
  EXPECT_THAT(
      Error("| count by process.name | sort host.name"),
      HasSubstr("cannot sort by 'host.name': the rows of 'count by' have process.name, count"));
  EXPECT_THAT(Error("| sort process.pid | count"),
              HasSubstr("'sort' before 'count' has no effect"));
  EXPECT_THAT(Error("| limit 1 | count"), HasSubstr("'count' after 'limit'"));
  EXPECT_THAT(Error("| sort a.b | sort process.pid"), HasSubstr("only one 'sort'"));
  EXPECT_THAT(Error("| count | sort count"), HasSubstr("nothing to sort"));
  EXPECT_THAT(Error("| top 5 process.name | sort count"), HasSubstr("already sorted by count"));
  EXPECT_THAT(Error("| timechart 5m | limit 5"), HasSubstr("one row per interval"));
  EXPECT_THAT(Error("| count by process.name, process.name"), HasSubstr("appears twice"));
  EXPECT_THAT(Error("| count by labels"), HasSubstr("labels needs a key here"));
  EXPECT_THAT(Error("| top x process.name"), HasSubstr("top takes a number of rows, got 'x'"));
  EXPECT_THAT(Error("| limit -1"), HasSubstr("limit takes a number of rows"));
  EXPECT_THAT(Error("| sort count"), HasSubstr("to count events use '| count'"));
}

TEST(BinderTest, TimechartIntervalsAndBuckets) {
  EXPECT_THAT(Error("| timechart 9s"), HasSubstr("between 10s and 366d"));
  EXPECT_THAT(Error("| timechart 367d"), HasSubstr("between 10s and 366d"));
  CompileOptions month = Options();
  month.from = month.to - std::chrono::hours(24 * 30);
  EXPECT_THAT(
      Error("| timechart 1m", month),
      HasSubstr(
          "timechart 1m makes 43200 buckets over the time range (at most 5000): use 9m or more"));
  ASSERT_TRUE(BindText("| timechart 9m", month).ok());
  // Buckets are aligned to the interval since the epoch: an unaligned range
  // touches one more.
  CompileOptions odd = Options();
  odd.from = odd.to - std::chrono::seconds(49995);  // 4999.5 intervals touch 5000 buckets
  EXPECT_TRUE(BindText("| timechart 10s", odd).ok());
  odd.from -= std::chrono::seconds(10);  // 5000.5 touch 5001
  EXPECT_THAT(Error("| timechart 10s", odd), HasSubstr("makes 5001 buckets"));
}

TEST(BinderTest, OptionsAndOrder) {
  CompileOptions o = Options();
  StatusOr<BoundQuery> b = BindText("", o);
  EXPECT_EQ(b->tenant_id, "00000000-0000-4000-8000-0000000000aa");
  o.tenant_id = "tenant'; --";
  EXPECT_THAT(BindText("", o).status().message(), StartsWith("compile options: tenant_id:"));
  o = Options();
  o.from = o.to;
  EXPECT_THAT(BindText("", o).status().message(), HasSubstr("time range is empty"));
  o = Options();
  o.limit = 0;
  EXPECT_FALSE(BindText("", o).ok());
  o = Options();
  o.limit = 50000;
  EXPECT_EQ(BindText("", o)->limit, 10000);

  o = Options();
  o.order = CompileOptions::Order::kCommitOrder;
  EXPECT_THAT(Error("| sort process.pid", o), HasSubstr("commit order is fixed"));
  EXPECT_THAT(Error("| timechart 5m", o), HasSubstr("not available in commit order"));
}

TEST(BinderTest, CursorIsCheckedAndNormalized) {
  CompileOptions o = Options();
  o.after = {"2026-11-28 11:00:00.5+01", "7F0B4C1E-0000-4000-8000-00000000ABCD"};
  StatusOr<BoundQuery> b = BindText("", o);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->after->first, "2026-11-28T10:00:00.500000Z");
  EXPECT_EQ(b->after->second, "7f0b4c1e-0000-4000-8000-00000000abcd");
  EXPECT_THAT(Error("| count", o), HasSubstr("a cursor pages event listings"));
  EXPECT_THAT(Error("| sort process.pid", o), HasSubstr("a cursor pages the default order"));

  o.after = {"now", "7f0b4c1e-0000-4000-8000-00000000abcd"};
  EXPECT_THAT(BindText("", o).status().message(), HasSubstr("cursor: expected the event's time"));
  o.after = {"2026-11-28T11:00:00Z", "x'); --"};
  EXPECT_THAT(BindText("", o).status().message(), HasSubstr("cursor: event id"));
  o.after = {"a"};
  EXPECT_THAT(BindText("", o).status().message(), HasSubstr("cursor: expected 2 values"));

  o.order = CompileOptions::Order::kCommitOrder;
  o.after = {"000123", "7f0b4c1e-0000-4000-8000-00000000abcd"};
  EXPECT_EQ(BindText("", o)->after->first, "123");
  o.after = {"-1", "7f0b4c1e-0000-4000-8000-00000000abcd"};
  EXPECT_THAT(BindText("", o).status().message(), HasSubstr("transaction id"));
  o.after = {"1 OR 1=1", "7f0b4c1e-0000-4000-8000-00000000abcd"};
  EXPECT_THAT(BindText("", o).status().message(), HasSubstr("transaction id"));
}

}  // namespace
}  // namespace portcullis::qql
