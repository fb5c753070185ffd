// QQL: the query language analysts use for container-security events,
// compiled into one parameterized PostgreSQL statement over the events table.
// Pure domain logic: no database access, no clock (now is injected).
//
//   CompileOptions o;
//   o.tenant_id = tenant.ToString();
//   o.from = now - 24h; o.to = now; o.now = now;
//   StatusOr<SqlQuery> q = Compile("process.name:curl and network.remote.port:443 | count by
//   host.name", o);
//   // q->sql:    SELECT hostname AS "host.name", count(*) AS "count" FROM events WHERE ...
//   // q->params: {tenant, from, to, "curl", "443", "10000"} -> $1..$6
//
// The stages are separate (lexer.h -> parser.h -> ast.h -> binder.h ->
// sql_emitter.h); Compile runs them in order. No value from the query is ever
// written into the SQL text: every value, label key, number and interval is a
// parameter ($n with an explicit cast), identifiers come only from the field
// catalog (catalog.h), and the final statement is checked against a closed
// vocabulary (VerifySql) before it is returned. See query-lang/README.md.
//
// Errors are InvalidArgument; their message names the position with a caret
// line (diagnostics.h), e.g.
//   1:14: expected a value after ':'
//     process.name:
//                  ^
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::qql {

struct CompileOptions {
  // UUID text; the first condition is always tenant_id = $1.
  std::string tenant_id;
  // The time range [from, to): ts >= $2 AND ts < $3 (partition pruning).
  std::chrono::system_clock::time_point from, to;
  // What now, now-1h ... mean (injected for determinism).
  std::chrono::system_clock::time_point now;
  // Rows of an event listing without "| limit"; "| limit N" and "| top N" are
  // capped at max_limit, and so are the groups of "| count by".
  int limit = 100;
  int max_limit = 10000;
  // Event listings only. kNewestFirst: ORDER BY ts DESC, event_id DESC.
  // kCommitOrder (SIEM export): ORDER BY txid, event_id over the transactions
  // that can no longer commit out of order; no sort, no aggregation.
  enum class Order { kNewestFirst, kCommitOrder } order = Order::kNewestFirst;
  // Keyset cursor, empty for the first page. kNewestFirst: {ts, event_id} of
  // the last row; kCommitOrder: {txid, event_id} of the last row. Not with a
  // sort or an aggregation.
  std::vector<std::string> after;
};

struct Column {
  std::string name;  // "event.time", "process.name", "labels.app", "count", "time", "txid"
  std::string type;  // PostgreSQL type: "timestamptz", "text", "bigint", "xid8", ...
};

struct SqlQuery {
  std::string sql;                  // placeholders $1..$n, each with an explicit cast
  std::vector<std::string> params;  // params[i] is $(i+1), in text format
  std::vector<Column> columns;      // the result's columns, in order
  bool aggregate = false;           // rows are groups or counts, not events
  // "| timechart": the bucket width. The statement returns the non-empty
  // buckets only (a GROUP BY has no rows for empty ones); callers that chart
  // fill the gaps over [from, to) with zero counts.
  std::int64_t bucket_seconds = 0;
};

StatusOr<SqlQuery> Compile(std::string_view qql, const CompileOptions& options);

}  // namespace portcullis::qql
