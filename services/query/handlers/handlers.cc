#include "handlers/handlers.h"

#include <memory>

#include "domain/export_format.h"
#include "domain/search.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/http/json_body.h"
#include "portcullis/http/params.h"
#include "portcullis/qql/qql.h"

namespace portcullis::query {
namespace {

using auth::WithTenant;
using http::Method;
using http::QueryParams;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::size_t kMaxQql = 8192;
constexpr std::size_t kMaxCursor = 2048;
constexpr const char* kNextCursorHeader = "Portcullis-Next-Cursor";

// The export reads every partition: its order is the commit order, not time.
// The range only has to hold every event ingest accepts.
const TimePoint kExportFrom = TimePoint(std::chrono::hours(24));  // 1970-01-02
const TimePoint kExportTo =
    TimePoint(std::chrono::sys_days(std::chrono::year(2200) / 1 / 1).time_since_epoch());

std::size_t ColumnIndex(const qql::SqlQuery& q, std::string_view name) {
  for (std::size_t i = 0; i < q.columns.size(); ++i)
    if (q.columns[i].name == name) return i;
  return q.columns.size();
}

// What the service measures of each query: how its requests end, how long
// PostgreSQL takes per compiled statement (by shape: an event listing or an
// aggregation), and how many rows go out. Every series exists from the start
// (at zero), so a rate over them is defined before the first query.
class QueryMetrics {
 public:
  static constexpr std::string_view kRoutes[] = {"search", "export"};
  // Refused credentials never reach the handler (the server answers 401
  // first): they are in portcullis_http_requests_total{code="401"}.
  static constexpr std::string_view kOutcomes[] = {"ok", "invalid", "timeout", "error"};

  explicit QueryMetrics(metrics::Registry& m)
      : database_(m.HistogramFamily(
            "portcullis_query_database_seconds",
            "Time PostgreSQL took to answer one compiled QQL statement, by route and shape")),
        requests_(m.CounterFamily(
            "portcullis_query_requests_total",
            "Search and export requests by route and outcome (ok, invalid, timeout, error)")),
        rows_(m.CounterFamily("portcullis_query_rows_total",
                              "Events or aggregate rows returned, by route")) {
    for (std::string_view route : kRoutes) {
      for (std::string_view shape : {"listing", "aggregate"})
        database_.Add({{"route", std::string(route)}, {"shape", std::string(shape)}},
                      metrics::LatencyBuckets());
      for (std::string_view outcome : kOutcomes)
        requests_.Add({{"route", std::string(route)}, {"outcome", std::string(outcome)}});
      rows_.Add({{"route", std::string(route)}});
    }
  }

  // reader.Run, timed and counted.
  StatusOr<ResultSet> Run(PgEventReader& reader, std::string_view route, const TenantId& tenant,
                          const qql::SqlQuery& q) {
    const auto start = std::chrono::steady_clock::now();
    StatusOr<ResultSet> rs = reader.Run(tenant, q);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    database_
        .Add({{"route", std::string(route)}, {"shape", q.aggregate ? "aggregate" : "listing"}},
             metrics::LatencyBuckets())
        .Observe(took.count());
    if (rs.ok()) {
      rows_.Add({{"route", std::string(route)}}).Increment(static_cast<double>(rs->rows.size()));
    }
    return rs;
  }

  // Counts `r` under its outcome and passes it on.
  Response Ended(std::string_view route, Response r) {
    std::string_view outcome = "error";
    if (r.status < 400) {
      outcome = "ok";
    } else if (r.status == 504) {
      outcome = "timeout";
    } else if (r.status < 500) {
      outcome = "invalid";
    }
    requests_.Add({{"route", std::string(route)}, {"outcome", std::string(outcome)}}).Increment();
    return r;
  }

 private:
  prometheus::Family<prometheus::Histogram>& database_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& rows_;
};

Response CompileError(const Status& s) {
  return Response::Error(400, "invalid_argument", s.message(), "/qql");
}

Response Search(PgEventReader& reader, QueryMetrics& metrics, const Clock& clock,
                const QueryOptions& o, const Request& r, const TenantId& tenant) {
  http::JsonBody body(r);
  const std::string qql = body.String("qql", {.max_len = kMaxQql, .allow_empty = true});
  const std::string from_text = body.String("from", {.max_len = 64});
  const std::string to_text = body.String("to", {.max_len = 64});
  const std::optional<std::int64_t> limit = body.Int("limit", {.min = 1, .max = o.max_limit});
  const std::string cursor_text = body.String("cursor", {.max_len = kMaxCursor});
  if (!body.ok()) return body.ErrorResponse();

  const TimePoint now = clock.Now();
  const std::string binding = Binding("search", qql);
  qql::CompileOptions c;
  c.tenant_id = tenant.ToString();
  c.now = now;
  c.limit = static_cast<int>(limit.value_or(o.default_limit));
  c.max_limit = o.max_limit;
  if (!cursor_text.empty()) {
    if (!from_text.empty() || !to_text.empty()) {
      return Response::Error(400, "invalid_argument",
                             "a cursor carries its time range: send either cursor or from/to",
                             "/cursor");
    }
    StatusOr<Cursor> cur = DecodeCursor(cursor_text);
    if (cur.ok() && (cur->kind != Cursor::Kind::kSearch || cur->binding != binding)) {
      cur = InvalidArgumentError("the cursor belongs to another query");
    }
    if (!cur.ok()) return Response::Error(cur.status(), "/cursor");
    c.from = cur->from;
    c.to = cur->to;
    c.after = cur->after;
  } else {
    std::vector<std::pair<std::string, std::string>> problems;
    c.to = now;
    c.from = now - std::chrono::hours(24);
    if (!to_text.empty()) {
      auto t = ParseTime(to_text);
      if (t.ok()) {
        c.to = *t;
      } else {
        problems.emplace_back("/to", t.status().message());
      }
    }
    if (!from_text.empty()) {
      auto t = ParseTime(from_text);
      if (t.ok()) {
        c.from = *t;
      } else {
        problems.emplace_back("/from", t.status().message());
      }
    } else {
      c.from = c.to - std::chrono::hours(24);
    }
    if (problems.empty() && c.from >= c.to) problems.emplace_back("/from", "must be before to");
    if (problems.empty() && c.to - c.from > o.max_range) {
      problems.emplace_back("/from", "the time range is wider than " +
                                         std::to_string(o.max_range.count() / 24) + " days");
    }
    if (!problems.empty()) return Response::Invalid(problems);
  }

  StatusOr<qql::SqlQuery> q = qql::Compile(qql, c);
  if (!q.ok()) return CompileError(q.status());
  StatusOr<ResultSet> rs = metrics.Run(reader, "search", tenant, *q);
  if (!rs.ok()) return Response::Error(rs.status());

  json columns = json::array();
  for (const qql::Column& col : q->columns)
    columns.push_back({{"name", col.name}, {"type", col.type}});
  json out = {{"columns", columns},
              {"time_range", {{"from", FormatTime(c.from)}, {"to", FormatTime(c.to)}}}};
  if (q->aggregate) {
    json rows = json::array();
    for (const auto& row : rs->rows) {
      json values = json::array();
      for (std::size_t i = 0; i < row.size(); ++i)
        values.push_back(ValueToJson(row[i], q->columns[i].type));
      rows.push_back(std::move(values));
    }
    if (q->bucket_seconds > 0) {
      StatusOr<json> filled = FillTimechart(rows, c.from, c.to, q->bucket_seconds);
      if (!filled.ok()) return Response::Error(InternalError(filled.status().message()));
      rows = std::move(*filled);
    }
    out["rows"] = std::move(rows);
    return Response::Json(200, out);
  }
  json events = json::array();
  for (const auto& row : rs->rows) {
    json e = json::object();
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (row[i]) e[q->columns[i].name] = ValueToJson(row[i], q->columns[i].type);
    }
    events.push_back(std::move(e));
  }
  out["events"] = std::move(events);
  out["next_cursor"] = nullptr;
  const std::size_t ts = ColumnIndex(*q, "event.time"), id = ColumnIndex(*q, "event.id");
  if (rs->rows.size() >= static_cast<std::size_t>(c.limit) && ts < q->columns.size() &&
      id < q->columns.size()) {
    const auto& last = rs->rows.back();
    if (last[ts] && last[id]) {
      out["next_cursor"] = EncodeCursor({.kind = Cursor::Kind::kSearch,
                                         .binding = binding,
                                         .from = c.from,
                                         .to = c.to,
                                         .after = {*last[ts], *last[id]}});
    }
  }
  return Response::Json(200, out);
}

Response Export(PgEventReader& reader, QueryMetrics& metrics, const Clock& clock,
                const QueryOptions& o, const Request& r, const TenantId& tenant) {
  QueryParams p(r, {"qql", "cursor", "format", "limit"});
  const std::string qql = p.Get("qql", kMaxQql);
  const std::string cursor_text = p.Get("cursor", kMaxCursor);
  const std::string format_text = p.Get("format", 16);
  const std::int64_t limit = p.Int("limit", o.export_default_limit, 1, o.max_limit);
  StatusOr<ExportFormat> format = ParseExportFormat(format_text.empty() ? "json" : format_text);
  if (!format.ok()) p.Problem("format", format.status().message());
  const std::string binding = Binding("export", qql);
  Cursor cursor{.kind = Cursor::Kind::kExport, .binding = binding};
  if (!cursor_text.empty()) {
    StatusOr<Cursor> cur = DecodeCursor(cursor_text);
    if (cur.ok() && (cur->kind != Cursor::Kind::kExport || cur->binding != binding ||
                     (cur->after.size() != 0 && cur->after.size() != 2))) {
      cur = InvalidArgumentError("the cursor belongs to another export (another qql)");
    }
    if (cur.ok()) {
      cursor = *cur;
    } else {
      p.Problem("cursor", cur.status().message());
    }
  }
  if (!p.ok()) return p.Error();

  qql::CompileOptions c;
  c.tenant_id = tenant.ToString();
  c.from = kExportFrom;
  c.to = kExportTo;
  c.now = clock.Now();
  c.limit = static_cast<int>(limit);
  c.max_limit = o.max_limit;
  c.order = qql::CompileOptions::Order::kCommitOrder;
  c.after = cursor.after;
  StatusOr<qql::SqlQuery> q = qql::Compile(qql, c);
  if (!q.ok()) return CompileError(q.status());
  StatusOr<ResultSet> rs = metrics.Run(reader, "export", tenant, *q);
  if (!rs.ok()) return Response::Error(rs.status());

  const std::size_t txid = ColumnIndex(*q, "txid"), id = ColumnIndex(*q, "event.id");
  if (txid == q->columns.size() || id == q->columns.size()) {
    return Response::Error(InternalError("the export query lacks txid or event.id"));
  }
  const FormatOptions fo{.product_version = o.product_version,
                         .tenant_id = tenant.ToString(),
                         .syslog_enterprise_number = o.syslog_enterprise_number};
  Response out;
  out.status = 200;
  out.content_type = std::string(ContentType(*format));
  for (const auto& row : rs->rows) {
    ExportEvent e;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i != txid) e.fields.emplace_back(q->columns[i].name, row[i]);
    }
    out.body += FormatEvent(*format, e, fo);
  }
  if (!rs->rows.empty() && rs->rows.back()[txid] && rs->rows.back()[id]) {
    cursor.after = {*rs->rows.back()[txid], *rs->rows.back()[id]};
  }
  out.headers.emplace_back(kNextCursorHeader, EncodeCursor(cursor));
  out.headers.emplace_back("Portcullis-Events", std::to_string(rs->rows.size()));
  return out;
}

}  // namespace

void RegisterRoutes(http::Server& server, PgEventReader& reader, metrics::Registry& registry,
                    const Clock& clock, QueryOptions options) {
  auto metrics = std::make_shared<QueryMetrics>(registry);
  auto counted = [metrics](std::string_view route, http::Handler h) -> http::Handler {
    return [metrics, route, h = std::move(h)](const Request& r) {
      return metrics->Ended(route, h(r));
    };
  };
  server.Route(Method::kPost, "/v1/search",
               counted("search", WithTenant(auth::kScopeRead,
                                            [&reader, metrics, &clock, options](const Request& r,
                                                                                const TenantId& t) {
                                              return Search(reader, *metrics, clock, options, r, t);
                                            })),
               {.max_body_bytes = kMaxQql + 4096});
  server.Route(
      Method::kGet, "/v1/export/events",
      counted("export", WithTenant(auth::kScopeRead, [&reader, metrics, &clock, options](
                                                         const Request& r, const TenantId& t) {
                return Export(reader, *metrics, clock, options, r, t);
              })));
}

}  // namespace portcullis::query
