// The query service's domain: time ranges, opaque cursors and result values.
// Pure logic; the database work is in storage/, the HTTP in handlers/.
//
//   StatusOr<TimePoint> t = ParseTime("2026-11-28T10:00:00Z");
//   std::string c = EncodeCursor({.kind = Cursor::Kind::kSearch, ...});
//   StatusOr<Cursor> back = DecodeCursor(c);       // InvalidArgument if tampered
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::query {

using TimePoint = std::chrono::system_clock::time_point;

// RFC 3339: "2026-11-28T10:00:00Z", "2026-11-28T10:00:00.5+02:00".
StatusOr<TimePoint> ParseTime(std::string_view text);
// RFC 3339 in UTC with microseconds: "2026-11-28T10:00:00.000000Z".
std::string FormatTime(TimePoint t);

// A position in a result that a client sends back for the next page. Opaque
// to clients (base64url of a small JSON document); bound to what it belongs
// to, so a cursor used with another query or time range is refused rather
// than silently skipping or repeating rows. It carries positions only (no
// tenant, no data): tampering can at most move within the caller's own
// events.
struct Cursor {
  enum class Kind { kSearch, kExport } kind = Kind::kSearch;
  std::string binding;             // digest of the query (and range) it belongs to
  TimePoint from{}, to{};          // search: the range of the first page
  std::vector<std::string> after;  // the last row's keyset values
};
std::string EncodeCursor(const Cursor& c);
// InvalidArgument ("the cursor is malformed") for anything EncodeCursor did
// not produce.
StatusOr<Cursor> DecodeCursor(std::string_view text);
// A short digest naming a query: the cursor's binding.
std::string Binding(std::string_view kind, std::string_view qql, std::string_view extra = {});

// A column value in PostgreSQL's text output as JSON, by the column's SQL
// type: numbers for integer types, booleans, objects for jsonb, RFC 3339 for
// timestamptz, strings otherwise; null for NULL.
nlohmann::json ValueToJson(const std::optional<std::string>& value, std::string_view sql_type);
// PostgreSQL's timestamptz text ("2026-11-28 12:00:00.123456+00") as
// RFC 3339 ("2026-11-28T12:00:00.123456Z"); other offsets keep theirs.
std::string PgTimeToRfc3339(std::string_view pg);

// The rows of a "| timechart" ([time, count], non-empty buckets only, as the
// statement returns them) as every bucket over [from, to), in order, empty
// ones with a count of 0, each time in FormatTime's form. Buckets are aligned
// as date_bin aligns them (on multiples of the width since the Unix epoch).
// InvalidArgument for a row whose time is not a bucket start inside the range.
StatusOr<nlohmann::json> FillTimechart(const nlohmann::json& rows, TimePoint from, TimePoint to,
                                       std::int64_t bucket_seconds);

}  // namespace portcullis::query
