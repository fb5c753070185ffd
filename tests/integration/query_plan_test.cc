// Index use, checked rather than assumed: the benchmark's selective queries
// (tests/bench/query_workload.h), compiled by QQL exactly as the query service
// compiles them, are EXPLAINed on a copy of the benchmark's dataset (60,000
// events over whole days, statistics fresh) as the application role with the
// tenant set.
// Each must reach every partition through one of its indexes
// (schema/migrations/0006_*.sql), never a sequential scan.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <string>

#include "portcullis/common/ids.h"
#include "portcullis/qql/qql.h"
#include "portcullis/testing/infra.h"
#include "query_workload.h"

namespace portcullis {
namespace {

using nlohmann::json;
using testing::InfraEnv;
using SysClock = std::chrono::system_clock;

constexpr long kEvents = 60000;
constexpr int kDays = 10;

// Every scan node of a plan: {node type, relation, index}.
struct Scan {
  std::string type, relation, index, condition;
};
void CollectScans(const json& node, std::vector<Scan>& out) {
  const std::string type = node.value("Node Type", "");
  if (type.find("Scan") != std::string::npos) {
    out.push_back({type, node.value("Relation Name", ""), node.value("Index Name", ""),
                   node.value("Index Cond", "")});
  }
  if (node.contains("Plans")) {
    for (const json& child : node["Plans"])
      CollectScans(child, out);
  }
}

class QueryPlanTest : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    const InfraEnv& env = InfraEnv::Get();
    tenant_ = Uuid::Random().ToString();
    end_ = std::chrono::time_point_cast<std::chrono::seconds>(SysClock::now());
    // Whole UTC days, from the first day a query's range touches to the end
    // of today: every partition a plan reaches holds a full day of events.
    // (With the dataset ending now, the range's first partition held only
    // the minutes of that day after the current time of day: at 23:47 a few
    // dozen rows, which the planner rightly scans sequentially.)
    const auto day = std::chrono::hours(24);
    const auto today = std::chrono::floor<std::chrono::days>(end_);
    const auto data_end = today + day - std::chrono::seconds(1);
    pqxx::connection indexer(env.Require("PORTCULLIS_PG_INDEXER_DSN"));
    pqxx::work tx(indexer);
    tx.exec_params("SELECT portcullis_ensure_event_partitions($1::date, $2)",
                   bench::UtcText(today - day * kDays).substr(0, 10), kDays + 2);
    tx.exec_params(bench::DatasetInsertSql(), tenant_, 0L, kEvents - 1, bench::UtcText(data_end),
                   static_cast<long>(kDays + 1) * 86400 - 1, kEvents);
    tx.commit();
    pqxx::connection admin(env.Require("PORTCULLIS_PG_ADMIN_DSN"));
    pqxx::nontransaction(admin).exec("ANALYZE events");
  }

  // The partitions' indexes that belong to the parent index `name`.
  static std::set<std::string> PartitionIndexes(const std::string& name) {
    pqxx::connection admin(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
    pqxx::work tx(admin);
    std::set<std::string> out;
    for (const auto& row : tx.exec_params(
             "SELECT relid::regclass::text FROM pg_partition_tree($1::regclass) WHERE isleaf",
             name)) {
      out.insert(row[0].as<std::string>());
    }
    return out;
  }

  // The plan of `q`'s QQL as the service would run it.
  static json Explain(const bench::WorkloadQuery& q) {
    qql::CompileOptions options;
    options.tenant_id = tenant_;
    options.now = end_;
    options.to = end_ + std::chrono::minutes(1);
    options.from = options.to - std::chrono::hours(24) * q.days;
    StatusOr<qql::SqlQuery> compiled = qql::Compile(q.qql, options);
    EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
    if (!compiled.ok()) return json();
    pqxx::connection app(InfraEnv::Get().Require("PORTCULLIS_PG_DSN"));
    pqxx::work tx(app);
    tx.exec_params("SELECT set_config('app.tenant', $1, true)", tenant_);
    const pqxx::result r = tx.exec_params(
        "EXPLAIN (FORMAT JSON) " + compiled->sql,
        pqxx::prepare::make_dynamic_params(compiled->params.begin(), compiled->params.end()));
    return json::parse(r[0][0].as<std::string>());
  }

  static inline std::string tenant_;
  static inline SysClock::time_point end_;
};

// What is wrong with `q`'s plan: each scan that is sequential, goes through an
// index not among the partitions' copies of `parents`, or uses that index for
// the tenant alone (its condition does not name `column`: the filter would be
// applied to every row of the tenant's range).
std::vector<std::string> PlanProblems(const bench::WorkloadQuery& q,
                                      const std::vector<std::string>& parents,
                                      const std::string& column) {
  std::set<std::string> allowed;
  for (const std::string& parent : parents)
    allowed.merge(QueryPlanTest::PartitionIndexes(parent));
  std::vector<std::string> problems;
  if (allowed.empty()) problems.push_back("no partition carries the expected index");
  const json plan = QueryPlanTest::Explain(q);
  if (!plan.is_array() || plan.empty()) return {"no plan"};
  std::vector<Scan> scans;
  CollectScans(plan[0]["Plan"], scans);
  if (scans.empty()) problems.push_back("no scan in the plan");
  for (const Scan& s : scans) {
    if (s.type == "Bitmap Heap Scan") continue;  // its Bitmap Index Scan child names the index
    if (s.type == "Seq Scan" || allowed.count(s.index) == 0 ||
        s.condition.find(column) == std::string::npos) {
      problems.push_back(s.type + " on " + s.relation +
                         (s.index.empty() ? "" : " using " + s.index) +
                         (s.condition.empty() ? "" : " for " + s.condition));
    }
  }
  if (!problems.empty()) problems.push_back("plan:\n" + plan.dump(2));
  return problems;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines)
    out += l + "\n";
  return out;
}

TEST_F(QueryPlanTest, SelectiveQueriesUseTheirIndexOnEveryPartition) {
  int checked = 0;
  for (const bench::WorkloadQuery& q : bench::WorkloadQueries()) {
    if (!q.selective) continue;
    ++checked;
    const std::vector<std::string> problems = PlanProblems(q, q.indexes, q.column);
    EXPECT_TRUE(problems.empty()) << q.name << " (" << q.qql << "):\n" << Join(problems);
  }
  EXPECT_GE(checked, 6);
}

// The check can fail: a filter that no index covers is read through another
// index or sequentially, and an index whose condition does not name the
// filtered column is reported too.
TEST_F(QueryPlanTest, AFilterNoIndexCoversIsReported) {
  const bench::WorkloadQuery cmdline{
      .name = "cmdline wildcard", .qql = "process.cmdline:*worker*", .days = kDays};
  EXPECT_FALSE(PlanProblems(cmdline, {"events_tenant_process_name"}, "process_name").empty());
  const bench::WorkloadQuery name{.name = "process name", .qql = "process.name:nc", .days = kDays};
  EXPECT_TRUE(PlanProblems(name, {"events_tenant_process_name"}, "process_name").empty());
  EXPECT_FALSE(PlanProblems(name, {"events_tenant_process_name"}, "cmdline").empty());
}

}  // namespace
}  // namespace portcullis
