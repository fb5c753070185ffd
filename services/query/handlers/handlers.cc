#include "handlers/handlers.h"

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

Response CompileError(const Status& s) {
  return Response::Error(400, "invalid_argument", s.message(), "/qql");
}

Response Search(PgEventReader& reader, const Clock& clock, const QueryOptions& o, const Request& r,
                const TenantId& tenant) {
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
  StatusOr<ResultSet> rs = reader.Run(tenant, *q);
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

Response Export(PgEventReader& reader, const Clock& clock, const QueryOptions& o, const Request& r,
                const TenantId& tenant) {
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
  StatusOr<ResultSet> rs = reader.Run(tenant, *q);
  if (!rs.ok()) return Response::Error(rs.status());

  const std::size_t txid = ColumnIndex(*q, "txid"), id = ColumnIndex(*q, "event.id");
  if (txid == q->columns.size() || id == q->columns.size()) {
    return Response::Error(InternalError("the export query lacks txid or event.id"));
  }
  const FormatOptions fo{.product_version = o.product_version, .tenant_id = tenant.ToString()};
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

void RegisterRoutes(http::Server& server, PgEventReader& reader, const Clock& clock,
                    QueryOptions options) {
  server.Route(Method::kPost, "/v1/search",
               WithTenant(auth::kScopeRead,
                          [&reader, &clock, options](const Request& r, const TenantId& t) {
                            return Search(reader, clock, options, r, t);
                          }),
               {.max_body_bytes = kMaxQql + 4096});
  server.Route(
      Method::kGet, "/v1/export/events",
      WithTenant(auth::kScopeRead, [&reader, &clock, options](const Request& r, const TenantId& t) {
        return Export(reader, clock, options, r, t);
      }));
}

}  // namespace portcullis::query
