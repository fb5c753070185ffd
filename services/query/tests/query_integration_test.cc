// The query service started for real against PostgreSQL, beside the registry
// (tenants, keys): QQL search on a known dataset (filters, CIDR, wildcards,
// aggregations, pages that follow their cursor), the SIEM export followed to
// the end while transactions commit out of order (every event exactly once),
// its four formats, and every way to get it wrong (bad QQL with its caret,
// hostile values, another tenant's data, wrong credentials, tampered or
// foreign cursors, bad ranges, oversized bodies).
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>
#include <sstream>

#include "domain/search.h"
#include "portcullis/common/ids.h"
#include "portcullis/common/strings.h"
#include "portcullis/testing/api.h"
#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"

namespace portcullis {
namespace {

using nlohmann::json;
using testing::Api;
using testing::ExpectError;
using testing::InfraEnv;
using testing::Reply;
using testing::ServiceProcess;
using testing::TenantKeys;

// One event of the dataset, with what the queries look at.
struct Row {
  std::string id;
  int minutes_ago = 0;
  std::string executable, action, category, file_path, remote_ip, cmdline;
  int remote_port = 0;
};

std::string Basename(const std::string& path) {
  return path.substr(path.rfind('/') + 1);
}

// n events of `tenant`, inserted as the indexer would (its role).
std::vector<Row> Insert(const std::string& tenant, int n, int seed) {
  std::vector<Row> rows;
  pqxx::connection c(InfraEnv::Get().Require("PORTCULLIS_PG_INDEXER_DSN"));
  pqxx::work tx(c);
  const char* exes[] = {"/usr/bin/curl", "/bin/sh", "/usr/sbin/nginx"};
  for (int i = 1; i <= n; ++i) {
    Row r;
    r.id = Uuid::Random().ToString();
    r.minutes_ago = i + seed;
    r.executable = exes[i % 3];
    r.action = i % 5 == 0 ? "deny" : "allow";
    r.category = i % 2 == 0 ? "network" : "file";
    r.cmdline = Basename(r.executable) + " --run " + std::to_string(i);
    if (r.category == "network") {
      r.remote_ip = "10.0." + std::to_string(i % 3) + "." + std::to_string(i);
      r.remote_port = i % 4 == 0 ? 443 : 8080;
    } else {
      r.file_path = "/etc/app/f" + std::to_string(i) + ".conf";
    }
    tx.exec_params(
        "INSERT INTO events (tenant_id, event_id, ts, agent_id, container_id, image, hostname, "
        "pid, executable, cmdline, syscall, category, action, enforced, result, rule_id, "
        "file_path, net_direction, remote_ip, remote_port, labels) VALUES ($1, $2, now() - "
        "make_interval(mins => $3), $4, 'c1', 'shop/web:1', 'node-1', $5, $6, $7, $8, $9, $10, "
        "true, 0, 'r1', NULLIF($11, ''), CASE WHEN $9 = 'network' THEN 'outbound' END, "
        "NULLIF($12, '')::inet, NULLIF($13, 0), '{\"env\":\"prod\"}')",
        tenant, r.id, r.minutes_ago, Uuid::Random().ToString(), 100 + i, r.executable, r.cmdline,
        r.category == "network" ? "connect" : "openat", r.category, r.action, r.file_path,
        r.remote_ip, r.remote_port);
    rows.push_back(r);
  }
  tx.commit();
  return rows;
}

class QueryServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new ServiceProcess("registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
    query_ = new ServiceProcess("query", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
    registry_port_ = registry_->WaitStarted();
    query_port_ = query_->WaitStarted();
    if (registry_port_ == 0 || query_port_ == 0) return;
    a_ = new TenantKeys(testing::CreateTenant(registry_port_));
    b_ = new TenantKeys(testing::CreateTenant(registry_port_));
    a_rows_ = new std::vector<Row>(Insert(a_->id, 60, 0));
    b_rows_ = new std::vector<Row>(Insert(b_->id, 10, 100));
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(query_->Stop(SIGTERM), 0);
    EXPECT_EQ(registry_->Stop(SIGTERM), 0);
    delete query_;
    delete registry_;
    delete a_;
    delete b_;
    delete a_rows_;
    delete b_rows_;
  }
  void SetUp() override {
    ASSERT_NE(registry_port_, 0) << "registry did not start";
    ASSERT_NE(query_port_, 0) << "query did not start";
    api_ = std::make_unique<Api>(query_port_);
  }

  Reply Search(const std::string& key, const json& body) {
    return api_->Post("/v1/search", key, body);
  }
  // Every event id a search yields, following next_cursor with `limit`.
  std::vector<std::string> SearchAll(const std::string& key, const std::string& qql, int limit) {
    std::vector<std::string> ids;
    json body = {{"qql", qql}, {"limit", limit}};
    for (int page = 0; page < 100; ++page) {
      Reply r = Search(key, body);
      EXPECT_EQ(r.status, 200) << r.raw_body;
      if (r.status != 200) break;
      for (const auto& e : r.body["events"])
        ids.push_back(e["event.id"]);
      if (r.body["next_cursor"].is_null()) break;
      body = {{"qql", qql}, {"limit", limit}, {"cursor", r.body["next_cursor"]}};
    }
    return ids;
  }
  long Count(const std::string& key, const std::string& qql) {
    Reply r = Search(key, {{"qql", qql + " | count"}});
    EXPECT_EQ(r.status, 200) << qql << ": " << r.raw_body;
    if (r.status != 200 || r.body["rows"].empty()) return -1;
    return r.body["rows"][0][0].get<long>();
  }
  template <typename Pred>
  static long Expected(const std::vector<Row>& rows, Pred p) {
    return std::count_if(rows.begin(), rows.end(), p);
  }

  // Follows the export of `qql` from `cursor` to its end: the lines, and the
  // cursor to continue from.
  std::pair<std::vector<std::string>, std::string> Export(const std::string& key,
                                                          const std::string& qql,
                                                          std::string cursor,
                                                          const std::string& format, int limit) {
    std::vector<std::string> lines;
    for (int page = 0; page < 200; ++page) {
      std::string path = "/v1/export/events?format=" + format + "&limit=" + std::to_string(limit) +
                         "&qql=" + UrlEncode(qql);
      if (!cursor.empty()) path += "&cursor=" + cursor;
      Reply r = api_->Call("GET", path, key, "", "", {}, /*expect_json=*/false);
      EXPECT_EQ(r.status, 200) << r.raw_body;
      if (r.status != 200) break;
      cursor = r.headers["portcullis-next-cursor"];
      const int n = std::stoi(r.headers["portcullis-events"]);
      std::istringstream in(r.raw_body);
      for (std::string line; std::getline(in, line);)
        lines.push_back(line);
      if (n < limit) break;
    }
    return {lines, cursor};
  }
  static std::string UrlEncode(const std::string& s) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        out += static_cast<char>(c);
      } else {
        std::snprintf(buf, sizeof(buf), "%%%02X", c);
        out += buf;
      }
    }
    return out;
  }
  static std::vector<std::string> Ids(const std::vector<std::string>& json_lines) {
    std::vector<std::string> ids;
    for (const auto& l : json_lines)
      ids.push_back(json::parse(l).value("event.id", ""));
    return ids;
  }

  static ServiceProcess* registry_;
  static ServiceProcess* query_;
  static int registry_port_, query_port_;
  static TenantKeys *a_, *b_;
  static std::vector<Row>*a_rows_, *b_rows_;
  std::unique_ptr<Api> api_;
};

ServiceProcess* QueryServiceTest::registry_ = nullptr;
ServiceProcess* QueryServiceTest::query_ = nullptr;
int QueryServiceTest::registry_port_ = 0;
int QueryServiceTest::query_port_ = 0;
TenantKeys* QueryServiceTest::a_ = nullptr;
TenantKeys* QueryServiceTest::b_ = nullptr;
std::vector<Row>* QueryServiceTest::a_rows_ = nullptr;
std::vector<Row>* QueryServiceTest::b_rows_ = nullptr;

TEST_F(QueryServiceTest, FiltersCountWhatTheDatasetHolds) {
  const auto& rows = *a_rows_;
  EXPECT_EQ(Count(a_->analyst, "event.action:deny"),
            Expected(rows, [](const Row& r) { return r.action == "deny"; }));
  EXPECT_EQ(Count(a_->analyst, "process.name:curl and event.action:deny"),
            Expected(rows, [](const Row& r) {
              return Basename(r.executable) == "curl" && r.action == "deny";
            }));
  EXPECT_EQ(Count(a_->analyst, "network.remote.ip:10.0.1.0/24"),
            Expected(rows, [](const Row& r) { return r.remote_ip.rfind("10.0.1.", 0) == 0; }));
  EXPECT_EQ(Count(a_->analyst, "file.path:/etc/app/f1*"),
            Expected(rows, [](const Row& r) { return r.file_path.rfind("/etc/app/f1", 0) == 0; }));
  EXPECT_EQ(
      Count(a_->analyst, "network.remote.port:[443, 444] or not event.category:network"),
      Expected(rows, [](const Row& r) { return r.remote_port == 443 || r.category != "network"; }));
  EXPECT_EQ(Count(a_->analyst, "event.time > now-30m"),
            Expected(rows, [](const Row& r) { return r.minutes_ago < 30; }));
  EXPECT_EQ(Count(a_->analyst, "labels.env:prod"), static_cast<long>(rows.size()));
  EXPECT_EQ(Count(a_->analyst, "labels.env:dev"), 0);
  // Tenant B sees its own ten, never A's.
  EXPECT_EQ(Count(b_->analyst, ""), static_cast<long>(b_rows_->size()));
  EXPECT_EQ(Count(b_->admin, "event.action:allow"),
            Expected(*b_rows_, [](const Row& r) { return r.action == "allow"; }));
}

TEST_F(QueryServiceTest, AggregationsReturnRowsAndColumns) {
  Reply r = Search(a_->analyst, {{"qql", "| count by process.name"}});
  ASSERT_EQ(r.status, 200) << r.raw_body;
  ASSERT_EQ(r.body["columns"].size(), 2u);
  EXPECT_EQ(r.body["columns"][0]["name"], "process.name");
  std::map<std::string, long> got;
  for (const auto& row : r.body["rows"])
    got[row[0]] = row[1];
  EXPECT_EQ(got, (std::map<std::string, long>{{"curl", 20}, {"nginx", 20}, {"sh", 20}}));

  r = Search(a_->analyst, {{"qql", "event.action:deny | top 1 process.name"}});
  ASSERT_EQ(r.status, 200) << r.raw_body;
  ASSERT_EQ(r.body["rows"].size(), 1u);

  r = Search(a_->analyst, {{"qql", "| timechart 1h"}});
  ASSERT_EQ(r.status, 200) << r.raw_body;
  long total = 0;
  for (const auto& row : r.body["rows"])
    total += row.back().get<long>();
  EXPECT_EQ(total, static_cast<long>(a_rows_->size()));
  // Every hour of the default 24 hours is a row, empty ones included (24, or
  // 25 when the range does not start on the hour), one hour apart.
  ASSERT_TRUE(r.body["rows"].size() == 24u || r.body["rows"].size() == 25u) << r.raw_body;
  int empty = 0;
  for (std::size_t i = 0; i < r.body["rows"].size(); ++i) {
    empty += r.body["rows"][i][1].get<long>() == 0;
    if (i == 0) continue;
    auto prev = query::ParseTime(r.body["rows"][i - 1][0].get<std::string>());
    auto cur = query::ParseTime(r.body["rows"][i][0].get<std::string>());
    ASSERT_TRUE(prev.ok() && cur.ok()) << r.raw_body;
    EXPECT_EQ(*cur - *prev, std::chrono::hours(1));
  }
  EXPECT_GE(empty, 20);  // the dataset spans its last hour or two
}

TEST_F(QueryServiceTest, PagesFollowTheirCursorNewestFirstExactlyOnce) {
  std::vector<std::string> ids = SearchAll(a_->analyst, "event.category:network", 7);
  std::vector<std::string> want;
  std::vector<Row> rows = *a_rows_;
  std::sort(rows.begin(), rows.end(),
            [](const Row& x, const Row& y) { return x.minutes_ago < y.minutes_ago; });
  for (const Row& r : rows)
    if (r.category == "network") want.push_back(r.id);
  EXPECT_EQ(ids, want);

  Reply first = Search(a_->analyst, {{"qql", ""}, {"limit", 5}});
  ASSERT_EQ(first.status, 200);
  ASSERT_EQ(first.body["events"].size(), 5u);
  const std::string cursor = first.body["next_cursor"];
  // Another query, a tampered cursor, cursor with a range: refused.
  ExpectError(Search(a_->analyst, {{"qql", "event.action:deny"}, {"cursor", cursor}}), 400,
              "invalid_argument");
  ExpectError(Search(a_->analyst, {{"qql", ""}, {"cursor", cursor + "x"}}), 400,
              "invalid_argument");
  ExpectError(Search(a_->analyst, {{"qql", ""}, {"cursor", "bm90IGEgY3Vyc29y"}}), 400,
              "invalid_argument");
  ExpectError(
      Search(a_->analyst, {{"qql", ""}, {"cursor", cursor}, {"from", "2026-01-01T00:00:00Z"}}), 400,
      "invalid_argument");
  // Tenant B following A's cursor gets B's rows only (a cursor is a position).
  Reply b = Search(b_->analyst, {{"qql", ""}, {"limit", 5}, {"cursor", cursor}});
  ASSERT_EQ(b.status, 200) << b.raw_body;
  std::set<std::string> b_ids;
  for (const Row& r : *b_rows_)
    b_ids.insert(r.id);
  for (const auto& e : b.body["events"])
    EXPECT_TRUE(b_ids.contains(e["event.id"].get<std::string>()));
}

TEST_F(QueryServiceTest, BadQueriesAndCallersGetClearErrors) {
  Reply r = Search(a_->analyst, {{"qql", "proces.name:curl"}});
  ExpectError(r, 400, "invalid_argument");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("did you mean process.name?"),
            std::string::npos)
      << r.raw_body;
  EXPECT_EQ(r.body["error"]["location"], "/qql");
  r = Search(a_->analyst, {{"qql", "process.name:"}});
  ExpectError(r, 400, "invalid_argument");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find('^'), std::string::npos);
  ExpectError(Search(a_->analyst, {{"qql", "x"}, {"from", "yesterday"}}), 400, "invalid_argument");
  ExpectError(
      Search(a_->analyst,
             {{"qql", ""}, {"from", "2026-11-02T00:00:00Z"}, {"to", "2026-11-01T00:00:00Z"}}),
      400, "invalid_argument");
  ExpectError(
      Search(a_->analyst,
             {{"qql", ""}, {"from", "2025-01-01T00:00:00Z"}, {"to", "2026-11-01T00:00:00Z"}}),
      400, "invalid_argument");
  ExpectError(Search(a_->analyst, {{"qql", ""}, {"limit", 0}}), 400, "invalid_argument");
  ExpectError(Search(a_->analyst, {{"qql", ""}, {"limit", 1000000}}), 400, "invalid_argument");
  ExpectError(Search(a_->analyst, {{"qql", ""}, {"tenant", b_->id}}), 400, "invalid_argument");
  ExpectError(Search(a_->analyst, {{"qql", std::string(9000, 'a')}}), 400, "invalid_argument");
  r = api_->Call("POST", "/v1/search", a_->analyst, std::string(20000, ' '));
  EXPECT_EQ(r.status, 413) << r.raw_body;
  r = api_->Call("POST", "/v1/search", a_->analyst, "{\"qql\": ");
  ExpectError(r, 400, "invalid_argument");
  ExpectError(Search("", {{"qql", ""}}), 401, "unauthenticated");
  ExpectError(Search("pck_nope", {{"qql", ""}}), 401, "unauthenticated");
  // The operator's token means nothing here (only the registry knows it).
  ExpectError(Search(testing::OperatorToken(), {{"qql", ""}}), 401, "unauthenticated");
}

// Values are parameters: hostile strings in every kind of value position
// match nothing and change nothing.
TEST_F(QueryServiceTest, HostileValuesAreOnlyValues) {
  for (const std::string v : {"x' OR '1'='1", "x\\\" OR 1=1 --", "'; DROP TABLE events; --", "$1",
                              "$$ x $$", "\\\\' union select * from api_keys --"}) {
    for (const std::string& q :
         {"process.name:\"" + v + "\"", "file.path:\"" + v + "*\"", "labels.env:\"" + v + "\"",
          "container.image:[\"" + v + "\", \"y\"]", "host.name != \"" + v + "\""}) {
      Reply r = Search(a_->analyst, {{"qql", q + " | count"}});
      if (r.status == 200) {
        const long n = r.body["rows"][0][0];
        EXPECT_TRUE(n == 0 || (q.rfind("host.name", 0) == 0 && n == 60)) << q << " -> " << n;
      } else {
        ExpectError(r, 400, "invalid_argument");
      }
    }
  }
  EXPECT_EQ(Count(a_->analyst, ""), static_cast<long>(a_rows_->size()));
}

TEST_F(QueryServiceTest, ExportYieldsEveryEventOnceWhileCommitsLandOutOfOrder) {
  // A tenant of its own, so the other tests' reads don't matter.
  TenantKeys t = testing::CreateTenant(registry_port_);
  std::vector<Row> base = Insert(t.id, 25, 0);
  auto [lines, cursor] = Export(t.analyst, "", "", "json", 7);
  std::multiset<std::string> seen;
  for (const auto& id : Ids(lines))
    seen.insert(id);
  EXPECT_EQ(seen.size(), 25u);

  // T1 takes its transaction id first but commits last; T2 commits between.
  pqxx::connection c1(InfraEnv::Get().Require("PORTCULLIS_PG_INDEXER_DSN"));
  pqxx::work t1(c1);
  t1.exec_params(
      "INSERT INTO events (tenant_id, event_id, ts, agent_id, action) "
      "SELECT $1, gen_random_uuid(), now(), gen_random_uuid(), 'deny' FROM generate_series(1, 5)",
      t.id);
  std::vector<Row> t2 = Insert(t.id, 4, 200);  // commits now
  auto [during, cursor2] = Export(t.analyst, "", cursor, "json", 7);
  EXPECT_TRUE(during.empty()) << "T2's rows must wait for T1, which may still commit before them";
  t1.commit();
  auto [after, cursor3] = Export(t.analyst, "", cursor2, "json", 7);
  for (const auto& id : Ids(after))
    seen.insert(id);
  EXPECT_EQ(after.size(), 9u);
  EXPECT_EQ(seen.size(), 34u);
  for (const auto& id : seen)
    EXPECT_EQ(seen.count(id), 1u) << id << " exported twice";
  auto [nothing, cursor4] = Export(t.analyst, "", cursor3, "json", 7);
  EXPECT_TRUE(nothing.empty());
  EXPECT_EQ(cursor4, cursor3);

  // Filtered exports follow their own cursor; a cursor of another export is refused.
  auto [denies, dc] = Export(t.analyst, "event.action:deny", "", "json", 100);
  EXPECT_EQ(denies.size(),
            5u +
                static_cast<std::size_t>(std::count_if(
                    base.begin(), base.end(), [](const Row& r) { return r.action == "deny"; })) +
                static_cast<std::size_t>(std::count_if(
                    t2.begin(), t2.end(), [](const Row& r) { return r.action == "deny"; })));
  Reply r = api_->Call("GET", "/v1/export/events?cursor=" + dc, t.analyst, "", "", {}, false);
  EXPECT_EQ(r.status, 400) << r.raw_body;
  r = api_->Call("GET", "/v1/export/events?format=xml", t.analyst, "", "", {}, false);
  EXPECT_EQ(r.status, 400) << r.raw_body;
  r = api_->Call("GET", "/v1/export/events?limit=0", t.analyst, "", "", {}, false);
  EXPECT_EQ(r.status, 400) << r.raw_body;
  r = api_->Call("GET", "/v1/export/events?qql=proces.name:x", t.analyst, "", "", {}, false);
  EXPECT_EQ(r.status, 400) << r.raw_body;
  r = api_->Call("GET", "/v1/export/events", "", "", "", {}, false);
  EXPECT_EQ(r.status, 401) << r.raw_body;
}

TEST_F(QueryServiceTest, ExportFormatsOneLinePerEvent) {
  const std::map<std::string, std::string> prefixes = {{"json", "{"},
                                                       {"cef", "CEF:0|Portcullis|"},
                                                       {"leef", "LEEF:2.0|Portcullis|"},
                                                       {"syslog", "<"}};
  for (const auto& [format, prefix] : prefixes) {
    auto [lines, cursor] = Export(b_->analyst, "", "", format, 1000);
    EXPECT_EQ(lines.size(), b_rows_->size()) << format;
    for (const auto& l : lines)
      EXPECT_EQ(l.rfind(prefix, 0), 0u) << format << ": " << l;
  }
}

}  // namespace
}  // namespace portcullis
