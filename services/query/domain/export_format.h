// The SIEM export formats of the query service: one event in, one line out,
// as JSON lines, ArcSight CEF 0, IBM LEEF 2.0 or RFC 5424 syslog. Pure
// functions: no I/O, no clock, no state; the handler streams the lines.
//
//   PORTCULLIS_ASSIGN_OR_RETURN(ExportFormat format, ParseExportFormat(param));
//   response.SetContentType(ContentType(format));
//   for (const ExportEvent& event : page) body += FormatEvent(format, event, options);
//
// Every line ends with its one '\n' and holds no other LF, no CR and no NUL,
// whatever bytes the event carries: each format escapes what its spec can
// escape, turns the control characters it can't carry into U+FFFD, and
// replaces invalid UTF-8 with U+FFFD. Long values are cut (at a character
// boundary, ending in kTruncationMarker) so that no line exceeds
// kMaxLineBytes. The field mappings, escapes and limits are tabled in
// services/query/README.md, "Export formats".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::query {

// One event as the export reads it: (dotted field name, value) in catalog
// order, nullopt for NULL. Names are those of schema/qql/fields.tsv plus
// "labels" (a JSON object text, e.g. {"env": "prod"}); values are
// PostgreSQL's text output (event.time like "2026-11-28 12:00:00.123456+00",
// booleans "t"/"f", numbers as digits). A name outside the catalog is kept
// as a string by JSON and syslog and left out by CEF and LEEF.
struct ExportEvent {
  std::vector<std::pair<std::string, std::optional<std::string>>> fields;

  // The first field called `name`, or nullptr when the event has none.
  const std::optional<std::string>* Find(std::string_view name) const;
};

enum class ExportFormat { kJson, kCef, kLeef, kSyslog };

// "json", "cef", "leef" or "syslog" (any case); InvalidArgument naming the
// choices otherwise.
StatusOr<ExportFormat> ParseExportFormat(std::string_view name);

// application/x-ndjson for JSON lines, text/plain; charset=utf-8 otherwise.
std::string_view ContentType(ExportFormat format);

inline constexpr std::uint32_t kDocumentationEnterpriseNumber = 32473;

struct FormatOptions {
  std::string product_version = "0.1.0";  // CEF/LEEF header "Device Version"
  std::string tenant_id;                  // exported as tenant.id when not empty
  // The private enterprise number in the syslog SD-ID ("portcullis@N").
  // 32473 is the one RFC 5612 reserves for documentation; an operator sets
  // their organization's registered PEN (PORTCULLIS_SYSLOG_ENTERPRISE_NUMBER).
  std::uint32_t syslog_enterprise_number = kDocumentationEnterpriseNumber;
};

// No line FormatEvent returns is longer than this, '\n' included.
inline constexpr std::size_t kMaxLineBytes = 32 * 1024;
// Ends every value that was cut to its field's limit.
inline constexpr std::string_view kTruncationMarker = "...(truncated)";

// One line, '\n'-terminated, never containing any other '\n' or '\r' or NUL.
std::string FormatEvent(ExportFormat format, const ExportEvent& event,
                        const FormatOptions& options);

}  // namespace portcullis::query
