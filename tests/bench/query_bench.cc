// The QQL benchmark: on a generated dataset of one tenant's events (10
// million by default), each query of a fixed set (query_workload.h) timed as
// the query service runs it (qql::Compile, then PgEventReader: a transaction
// as the application role, app.tenant set, row-level security on) beside the
// SQL an engineer would write by hand for the same question, run the same way.
// Both sides are timed in the same run, alternately; the figure is the ratio
// QQL / hand-written of the medians (target at most 1.1) and of the 95th
// percentiles. Both must return the same rows, or the comparison means
// nothing: a difference is a failure (exit 1).
//
//   build/bin/query_bench --config=/tmp/pc-query-bench/infra.env [--events=10000000]
//
// The dataset is loaded once (as the indexer's role, in transactions of
// 500,000 rows, with every index of the schema present) and reused by later
// runs while the tenant's name says it holds this version of the dataset with
// these flags. See tests/bench/README.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/config.h"
#include "portcullis/common/ids.h"
#include "portcullis/pg/pool.h"
#include "portcullis/qql/qql.h"
#include "query_workload.h"
#include "storage/pg_event_reader.h"

namespace portcullis {
namespace {

using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;

// The benchmark's tenant: fixed, so a loaded dataset is found again.
constexpr std::string_view kTenant = "00000000-0000-4000-8000-00000000b3c4";
constexpr long kLoadChunk = 500000;
// Bumped whenever query_workload.h's dataset changes.
constexpr int kDatasetVersion = 2;

struct Flags {
  std::string config;
  long events = 10000000;
  int days = 10;
  int iterations = 40;
  int warmup = 3;
};

std::optional<Flags> ParseFlags(int argc, char** argv) {
  Flags f;
  auto number = [](std::string_view v, long lo, long hi) -> std::optional<long> {
    char* end = nullptr;
    const std::string s(v);
    const long n = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || n < lo || n > hi) return std::nullopt;
    return n;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq),
                           value = eq == arg.npos ? "" : arg.substr(eq + 1);
    std::optional<long> n;
    if (name == "--config") {
      f.config = value;
      continue;
    }
    if (name == "--events" && (n = number(value, 10000, 100000000))) {
      f.events = *n;
    } else if (name == "--days" && (n = number(value, 1, 30))) {
      f.days = static_cast<int>(*n);
    } else if (name == "--iterations" && (n = number(value, 5, 10000))) {
      f.iterations = static_cast<int>(*n);
    } else if (name == "--warmup" && (n = number(value, 0, 1000))) {
      f.warmup = static_cast<int>(*n);
    } else {
      std::fprintf(stderr, "query_bench: bad argument '%s'\n", argv[i]);
      return std::nullopt;
    }
  }
  if (f.config.empty()) {
    std::fprintf(stderr,
                 "usage: query_bench --config=ENVFILE [--events=N] [--days=N] "
                 "[--iterations=N] [--warmup=N]\n");
    return std::nullopt;
  }
  return f;
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The dataset's newest event time, loading the dataset first unless the
// tenant already holds exactly f.events rows.
StatusOr<SysClock::time_point> EnsureDataset(const Flags& f, const std::string& admin_dsn,
                                             const std::string& indexer_dsn) {
  try {
    pqxx::connection admin(admin_dsn);
    {
      // The tenant's name records what its events are: the generator's
      // version and the flags. A dataset of another version or size is
      // deleted and loaded again.
      const std::string identity = "bench-query dataset v" + std::to_string(kDatasetVersion) +
                                   ", " + std::to_string(f.events) + " events, " +
                                   std::to_string(f.days) + " days";
      pqxx::work tx(admin);
      tx.exec_params(
          "INSERT INTO tenants (id, name) VALUES ($1, 'bench-query') ON CONFLICT (id) DO NOTHING",
          std::string(kTenant));
      const pqxx::row r = tx.exec_params1(
          "SELECT (SELECT name FROM tenants WHERE id = $1), count(*), "
          "extract(epoch FROM max(ts))::bigint FROM events WHERE tenant_id = $1",
          std::string(kTenant));
      const std::string name = r[0].as<std::string>();
      const long count = r[1].as<long>();
      const std::optional<long> newest = r[2].as<std::optional<long>>();
      if (name == identity && count == f.events && newest) {
        tx.commit();
        std::printf("dataset: %s already loaded, reused\n", identity.c_str());
        return SysClock::time_point(std::chrono::seconds(*newest));
      }
      if (count > 0) {
        std::printf("dataset: the tenant holds %ld events of '%s': deleting them\n", count,
                    name.c_str());
        std::fflush(stdout);
        tx.exec_params("DELETE FROM events WHERE tenant_id = $1", std::string(kTenant));
      }
      tx.exec_params("UPDATE tenants SET name = $2 WHERE id = $1", std::string(kTenant), identity);
      tx.commit();
    }
    const auto end = std::chrono::time_point_cast<std::chrono::seconds>(SysClock::now());
    const long span_s = static_cast<long>(f.days) * 86400;
    pqxx::connection indexer(indexer_dsn);
    {
      pqxx::work tx(indexer);
      tx.exec_params("SELECT portcullis_ensure_event_partitions($1::date, $2)",
                     bench::UtcText(end - std::chrono::seconds(span_s)).substr(0, 10), f.days + 2);
      tx.commit();
    }
    std::printf("dataset: loading %ld events over %d days, %ld per transaction ...\n", f.events,
                f.days, kLoadChunk);
    std::fflush(stdout);
    const Clock::time_point t0 = Clock::now();
    for (long first = 0; first < f.events; first += kLoadChunk) {
      const long last = std::min(first + kLoadChunk, f.events) - 1;
      pqxx::work tx(indexer);
      tx.exec_params(bench::DatasetInsertSql(), std::string(kTenant), first, last,
                     bench::UtcText(end), span_s, f.events);
      tx.commit();
      std::printf("  %ld / %ld  (%.0f rows/s)\n", last + 1, f.events,
                  static_cast<double>(last + 1) / Seconds(Clock::now() - t0));
      std::fflush(stdout);
    }
    std::printf("dataset: loaded in %.0f s; ANALYZE ...\n", Seconds(Clock::now() - t0));
    std::fflush(stdout);
    pqxx::nontransaction(admin).exec("ANALYZE events");
    return SysClock::time_point(end);
  } catch (const std::exception& e) {
    return UnavailableError(std::string("loading the dataset: ") + e.what());
  }
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Timings {
  std::vector<double> qql_ms, hand_ms;
  std::size_t rows = 0;
};

int Run(const Flags& f) {
  StatusOr<ConfigMap> config = ConfigMap::Load(f.config, nullptr);
  if (!config.ok()) {
    std::fprintf(stderr, "query_bench: %s\n", config.status().ToString().c_str());
    return 2;
  }
  auto get = [&](const char* key) {
    const ConfigMap::Entry* e = config->Find(key);
    return e != nullptr ? e->value : std::string();
  };
  const std::string admin_dsn = get("PORTCULLIS_PG_ADMIN_DSN");
  const std::string indexer_dsn = get("PORTCULLIS_PG_INDEXER_DSN");
  const std::string app_dsn = get("PORTCULLIS_PG_DSN");
  if (admin_dsn.empty() || indexer_dsn.empty() || app_dsn.empty()) {
    std::fprintf(stderr, "query_bench: %s lacks a PostgreSQL DSN\n", f.config.c_str());
    return 2;
  }
  StatusOr<SysClock::time_point> end = EnsureDataset(f, admin_dsn, indexer_dsn);
  if (!end.ok()) {
    std::fprintf(stderr, "query_bench: %s\n", end.status().ToString().c_str());
    return 2;
  }
  StatusOr<std::unique_ptr<pg::Pool>> pool = pg::Pool::Create(
      {.dsn = app_dsn, .size = 1, .statement_timeout = std::chrono::milliseconds(60000)});
  if (!pool.ok()) {
    std::fprintf(stderr, "query_bench: %s\n", pool.status().ToString().c_str());
    return 2;
  }
  query::PgEventReader reader(**pool);
  const TenantId tenant = *TenantId::Parse(kTenant);

  std::printf("\n%ld events, %d iterations per side after %d warm-up, alternating\n", f.events,
              f.iterations, f.warmup);
  std::printf("%-22s %6s  %9s %9s  %9s %9s  %6s %6s\n", "query", "rows", "QQL p50", "p95",
              "SQL p50", "p95", "p50 x", "p95 x");
  bool all_equal = true;
  double worst_p50 = 0, worst_p95 = 0, worst_selective_p95 = 0;
  for (const bench::WorkloadQuery& q : bench::WorkloadQueries()) {
    qql::CompileOptions options;
    options.tenant_id = std::string(kTenant);
    options.now = *end;
    options.to = *end + std::chrono::minutes(1);
    options.from = options.to - std::chrono::hours(24) * q.days;
    StatusOr<qql::SqlQuery> shape = qql::Compile(q.qql, options);
    if (!shape.ok()) {
      std::fprintf(stderr, "query_bench: %s: %s\n", q.name.c_str(),
                   shape.status().ToString().c_str());
      return 2;
    }
    qql::SqlQuery hand;
    hand.sql = q.hand_sql;
    hand.params = {std::string(kTenant), bench::UtcText(options.from), bench::UtcText(options.to)};
    hand.columns = shape->columns;  // the reader checks the column count
    Timings t;
    std::optional<query::ResultSet> first_qql, first_hand;
    Status failed = OkStatus();
    // Runs `sql` through the reader, timed from t0; keeps the first result.
    auto run = [&](const qql::SqlQuery& sql, Clock::time_point t0,
                   std::optional<query::ResultSet>& first) -> std::optional<double> {
      StatusOr<query::ResultSet> rs = reader.Run(tenant, sql);
      if (!rs.ok()) {
        failed = rs.status();
        return std::nullopt;
      }
      const double ms = Seconds(Clock::now() - t0) * 1000;
      if (!first) first = std::move(*rs);
      return ms;
    };
    auto run_qql = [&]() -> std::optional<double> {
      const Clock::time_point t0 = Clock::now();  // the compile is timed too
      StatusOr<qql::SqlQuery> compiled = qql::Compile(q.qql, options);
      if (!compiled.ok()) {
        failed = compiled.status();
        return std::nullopt;
      }
      return run(*compiled, t0, first_qql);
    };
    // The hand-written statement through the same reader: same transaction,
    // same tenant setting, same result conversion.
    auto run_hand = [&] { return run(hand, Clock::now(), first_hand); };
    for (int i = 0; i < f.warmup + f.iterations && failed.ok(); ++i) {
      std::optional<double> a, b;
      if (i % 2 == 0) {
        a = run_qql();
        b = run_hand();
      } else {
        b = run_hand();
        a = run_qql();
      }
      if (!a || !b) break;
      if (i >= f.warmup) {
        t.qql_ms.push_back(*a);
        t.hand_ms.push_back(*b);
      }
    }
    if (!failed.ok()) {
      std::fprintf(stderr, "query_bench: %s: %s\n", q.name.c_str(), failed.ToString().c_str());
      return 2;
    }
    const bool equal = first_qql->rows == first_hand->rows;
    all_equal = all_equal && equal;
    const double qp50 = Percentile(t.qql_ms, 0.5), qp95 = Percentile(t.qql_ms, 0.95);
    const double hp50 = Percentile(t.hand_ms, 0.5), hp95 = Percentile(t.hand_ms, 0.95);
    worst_p50 = std::max(worst_p50, qp50 / hp50);
    worst_p95 = std::max(worst_p95, qp95 / hp95);
    if (q.selective) worst_selective_p95 = std::max(worst_selective_p95, qp95);
    std::printf("%-22s %6zu  %7.2fms %7.2fms  %7.2fms %7.2fms  %6.3f %6.3f%s%s\n", q.name.c_str(),
                first_qql->rows.size(), qp50, qp95, hp50, hp95, qp50 / hp50, qp95 / hp95,
                q.selective ? "  selective" : "", equal ? "" : "  RESULTS DIFFER");
    std::fflush(stdout);
  }
  std::printf("\nworst ratio QQL / hand-written: p50 %.3f, p95 %.3f (target <= 1.1)\n", worst_p50,
              worst_p95);
  std::printf("slowest selective query, QQL p95: %.2f ms (target: tens of ms)\n",
              worst_selective_p95);
  if (!all_equal) {
    std::fprintf(stderr, "query_bench: QQL and hand-written SQL returned different rows\n");
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace portcullis

int main(int argc, char** argv) {
  std::optional<portcullis::Flags> f = portcullis::ParseFlags(argc, argv);
  if (!f) return 2;
  return portcullis::Run(*f);
}
