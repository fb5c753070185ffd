// The value syntaxes of QQL: times (absolute and relative to an injected
// "now"), IP addresses and CIDR networks, integers and intervals. The binder
// uses them to check a value against its field's type and to normalize it
// into the text of a SQL parameter.
//
//   ParseTime("now-15m", now)            -> now - 15 min
//   ParseTime("2026-11-28", now)         -> 2026-11-28T00:00:00Z, date_only
//   ParseIp("10.1.2.3/8")                -> 10.0.0.0/8 (host bits cleared)
//   FormatTimestamp(t)                   -> "2026-11-28T10:00:00.250Z"-style ISO 8601, UTC
//
// Errors are InvalidArgument with a short reason ("month 13 is out of range");
// the binder adds the field and the position.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "portcullis/common/status.h"

namespace portcullis::qql {

// PostgreSQL's timestamptz resolution.
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

Timestamp ToTimestamp(std::chrono::system_clock::time_point t);

struct TimeValue {
  Timestamp time;
  bool date_only = false;  // "2026-11-28": the day [time, time + 24 h)
};

// YYYY-MM-DD [ (T|t|space) HH:MM [:SS [.fraction]] ] [ Z | (+|-)HH[[:]MM] ]
// Years 1970-9999; no zone means UTC; fractions beyond microseconds are cut.
// Also reads PostgreSQL's own output ("2026-11-28 10:00:00.123456+00").
StatusOr<TimeValue> ParseAbsoluteTime(std::string_view text);

// An absolute time, or `now`, `now-<n><unit>`, `now+<n><unit>` with unit s, m,
// h, d or w ("now" in any case), at most kMaxRelativeDays away from `now`.
inline constexpr std::int64_t kMaxRelativeDays = 36525;
StatusOr<TimeValue> ParseTime(std::string_view text, Timestamp now);

// ISO 8601 in UTC: "2026-11-28T10:00:00Z", with ".ffffff" when not whole seconds.
std::string FormatTimestamp(Timestamp t);

struct IpValue {
  int family = 4;                        // 4 or 6
  std::array<std::uint8_t, 16> bytes{};  // network order; the first 4 for IPv4
  int prefix = -1;                       // CIDR prefix length, -1 for an address
  std::string text;                      // normalized: "10.0.0.0/8", "fe80::1"
};

// "10.0.0.1", "fe80::1", "10.0.0.0/8", "2001:db8::/32". A CIDR's host bits
// are cleared ("10.1.2.3/8" -> "10.0.0.0/8").
StatusOr<IpValue> ParseIp(std::string_view text);

// A decimal integer ("-" allowed) within [min, max].
StatusOr<std::int64_t> ParseInteger(std::string_view text, std::int64_t min, std::int64_t max);

// "<n><unit>", unit s, m, h or d, n from 1 to 999999: the length in seconds.
StatusOr<std::int64_t> ParseIntervalSeconds(std::string_view text);

}  // namespace portcullis::qql
