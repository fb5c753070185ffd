#include "domain/export_format.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <system_error>

#include "portcullis/common/strings.h"

namespace portcullis::query {
namespace {

// ---------------------------------------------------------------------------
// The catalog: how each field is typed, which decides its JSON type and its
// length limit. Mirrors schema/qql/fields.tsv (the unit test reads that file
// and fails on a field missing here).

enum class Kind {
  kLongText,  // paths, command line: up to kLongBudget
  kText,      // other free text: up to kTextBudget
  kShort,     // ids, addresses, enum words: up to kShortBudget
  kInteger,   // integer, bigint, port: a JSON number
  kBool,      // "t"/"f": a JSON boolean
  kTime,      // timestamptz
  kLabels,    // a JSON object text
};

struct FieldSpec {
  std::string_view name;
  Kind kind;
};

constexpr FieldSpec kCatalog[] = {
    {"event.time", Kind::kTime},
    {"event.id", Kind::kShort},
    {"event.action", Kind::kShort},
    {"event.category", Kind::kShort},
    {"event.syscall", Kind::kText},
    {"event.result", Kind::kInteger},
    {"event.enforced", Kind::kBool},
    {"process.name", Kind::kText},
    {"process.path", Kind::kLongText},
    {"process.pid", Kind::kInteger},
    {"process.ppid", Kind::kInteger},
    {"process.uid", Kind::kInteger},
    {"process.gid", Kind::kInteger},
    {"process.cmdline", Kind::kLongText},
    {"file.path", Kind::kLongText},
    {"file.operation", Kind::kText},
    {"network.direction", Kind::kShort},
    {"network.protocol", Kind::kShort},
    {"network.remote.ip", Kind::kShort},
    {"network.remote.port", Kind::kInteger},
    {"network.local.ip", Kind::kShort},
    {"network.local.port", Kind::kInteger},
    {"container.id", Kind::kText},
    {"container.image", Kind::kText},
    {"agent.id", Kind::kShort},
    {"host.name", Kind::kText},
    {"policy.id", Kind::kShort},
    {"policy.version", Kind::kInteger},
    {"rule.id", Kind::kText},
    {"labels", Kind::kLabels},
};

// Limits on one value's encoded bytes (escapes included). A 4 KiB path
// (PATH_MAX) with nothing to escape fits kLongBudget whole.
constexpr std::size_t kLongBudget = 4096;
constexpr std::size_t kTextBudget = 1024;
constexpr std::size_t kShortBudget = 128;
constexpr std::size_t kHeaderBudget = 256;   // CEF signature id, LEEF event id
constexpr std::size_t kSummaryBudget = 512;  // CEF name, syslog MSG

Kind KindOf(std::string_view name) {
  for (const FieldSpec& spec : kCatalog) {
    if (spec.name == name) return spec.kind;
  }
  return Kind::kText;
}

std::size_t BudgetOf(Kind kind) {
  switch (kind) {
    case Kind::kLongText:
    case Kind::kLabels:
      return kLongBudget;
    case Kind::kText:
      return kTextBudget;
    case Kind::kShort:
    case Kind::kInteger:
    case Kind::kBool:
    case Kind::kTime:
      return kShortBudget;
  }
  Fatal("export_format: unknown field kind");
}

std::size_t BudgetOf(std::string_view name) {
  return BudgetOf(KindOf(name));
}

// ---------------------------------------------------------------------------
// UTF-8 and bounded, escaped appends.

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

struct CodePoint {
  char32_t value;
  std::size_t size;  // bytes consumed
  bool valid;
};

// Decodes the character at `i`. A byte that doesn't start a well-formed
// sequence (overlong, surrogate, beyond U+10FFFF, cut short) is one invalid
// character of one byte.
CodePoint DecodeUtf8(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  if (lead < 0x80) return {lead, 1, true};
  std::size_t size = 0;
  char32_t min = 0;  // below it, the sequence is overlong
  if ((lead & 0xE0) == 0xC0) {
    size = 2;
    min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    size = 3;
    min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    size = 4;
    min = 0x10000;
  } else {
    return {0, 1, false};
  }
  char32_t value = lead & (0x7Fu >> size);  // the lead byte's payload bits
  if (s.size() - i < size) return {0, 1, false};
  for (std::size_t k = 1; k < size; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0, 1, false};
    value = (value << 6) | (b & 0x3F);
  }
  if (value < min || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
    return {0, 1, false};
  }
  return {value, size, true};
}

bool IsControl(char32_t c) {
  return c < 0x20 || c == 0x7F;
}

// Appends `raw` to `out`, each character through `escape(out, c, bytes)`
// (`bytes` its UTF-8; invalid UTF-8 arrives as U+FFFD). What this appends is
// at most `budget` bytes: a longer value is cut after the last whole
// character that leaves room for kTruncationMarker, which then ends it.
template <typename Escape>
void AppendBounded(std::string& out, std::string_view raw, std::size_t budget, Escape escape) {
  const std::size_t start = out.size();
  std::size_t keep = start;
  for (std::size_t i = 0; i < raw.size();) {
    const CodePoint c = DecodeUtf8(raw, i);
    if (c.valid) {
      escape(out, c.value, raw.substr(i, c.size));
    } else {
      escape(out, U'\uFFFD', kReplacement);
    }
    i += c.size;
    const std::size_t used = out.size() - start;
    if (used + kTruncationMarker.size() <= budget) keep = out.size();
    if (used > budget) {
      out.resize(keep);
      out += kTruncationMarker;
      return;
    }
  }
}

void EscapeJson(std::string& out, char32_t c, std::string_view bytes) {
  switch (c) {
    case '"':
      out += "\\\"";
      return;
    case '\\':
      out += "\\\\";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\b':
      out += "\\b";
      return;
    case '\f':
      out += "\\f";
      return;
    default:
      break;
  }
  if (c < 0x20) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
    return;
  }
  out += bytes;
}

// CEF header fields: backslash and pipe escaped; no control characters.
void EscapeCefHeader(std::string& out, char32_t c, std::string_view bytes) {
  if (c == '\\' || c == '|') {
    out += '\\';
    out += static_cast<char>(c);
  } else {
    out += IsControl(c) ? kReplacement : bytes;
  }
}

// CEF extension values: backslash and equals escaped, LF and CR as \n and \r.
void EscapeCefValue(std::string& out, char32_t c, std::string_view bytes) {
  if (c == '\\' || c == '=') {
    out += '\\';
    out += static_cast<char>(c);
  } else if (c == '\n') {
    out += "\\n";
  } else if (c == '\r') {
    out += "\\r";
  } else {
    out += IsControl(c) ? kReplacement : bytes;
  }
}

// LEEF attribute values: LEEF has no escapes; the delimiter (TAB) and the
// other control characters can't appear, everything else is literal.
void EscapeLeefValue(std::string& out, char32_t c, std::string_view bytes) {
  out += IsControl(c) ? kReplacement : bytes;
}

// LEEF header fields are pipe-delimited, again without escapes.
void EscapeLeefHeader(std::string& out, char32_t c, std::string_view bytes) {
  out += (IsControl(c) || c == '|') ? kReplacement : bytes;
}

// RFC 5424 PARAM-VALUE: '"', '\' and ']' MUST be escaped with a backslash.
void EscapeSdValue(std::string& out, char32_t c, std::string_view bytes) {
  if (c == '"' || c == '\\' || c == ']') {
    out += '\\';
    out += static_cast<char>(c);
  } else {
    out += IsControl(c) ? kReplacement : bytes;
  }
}

// RFC 5424 MSG: any UTF-8; control characters replaced (section 8.2 lets the
// sender do so) so the message stays on its line.
void EscapeText(std::string& out, char32_t c, std::string_view bytes) {
  out += IsControl(c) ? kReplacement : bytes;
}

// RFC 5424 header fields are PRINTUSASCII (%d33-126); anything else is '_'.
void EscapePrintUsAscii(std::string& out, char32_t c, std::string_view bytes) {
  if (c >= 33 && c <= 126) {
    out += bytes;
  } else {
    out += '_';
  }
}

// ---------------------------------------------------------------------------
// Values.

// The value of `name` when the event has it and it isn't NULL.
const std::string* Value(const ExportEvent& event, std::string_view name) {
  const std::optional<std::string>* v = event.Find(name);
  return v != nullptr && v->has_value() ? &**v : nullptr;
}

// A decimal integer that fits 64 bits, canonical ("007" -> "7").
std::optional<std::string> CanonicalInteger(std::string_view s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) return std::nullopt;
  return std::to_string(v);
}

std::optional<bool> ParseBool(std::string_view s) {
  if (s == "t" || s == "true") return true;
  if (s == "f" || s == "false") return false;
  return std::nullopt;
}

bool ParseDigits(std::string_view s, std::size_t pos, std::size_t n, int& value) {
  if (pos + n > s.size()) return false;
  value = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

// PostgreSQL's timestamptz text ("2026-11-28 12:00:00.123456+00", any
// offset "+HH", "+HH:MM", "+HH:MM:SS", or "Z", 'T' accepted for the space)
// as microseconds since the Unix epoch; nullopt for anything else, including
// "infinity" and years outside 0000-9999 once in UTC.
std::optional<std::int64_t> ParseTime(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!ParseDigits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !ParseDigits(s, 5, 2, mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, d) || (s[10] != ' ' && s[10] != 'T') ||
      !ParseDigits(s, 11, 2, h) || s[13] != ':' || !ParseDigits(s, 14, 2, mi) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, sec)) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    std::int64_t scale = 100'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) {  // beyond the microsecond: dropped
        micros += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
  }
  int offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh = 0, om = 0, os = 0;
    if (!ParseDigits(s, pos, 2, oh)) return std::nullopt;
    pos += 2;
    for (int* part : {&om, &os}) {
      if (pos == s.size()) break;
      if (s[pos] == ':') ++pos;
      if (!ParseDigits(s, pos, 2, *part) || *part > 59) return std::nullopt;
      pos += 2;
    }
    offset_s = sign * (oh * 3600 + om * 60 + os);
  }
  if (pos != s.size() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(y),
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  const std::int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  const std::int64_t seconds =
      days * 86'400 + std::int64_t{h} * 3'600 + std::int64_t{mi} * 60 + sec - offset_s;
  // Keep 4-digit years after the shift to UTC: 0000-01-01 .. 9999-12-31.
  constexpr std::int64_t kMin = -62'167'219'200;  // 0000-01-01T00:00:00Z
  constexpr std::int64_t kMax = 253'402'300'799;  // 9999-12-31T23:59:59Z
  if (seconds < kMin || seconds > kMax) return std::nullopt;
  return seconds * 1'000'000 + micros;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

struct Civil {
  std::int64_t year, month, day, hour, minute, second, micros;
};

Civil ToCivil(std::int64_t micros_since_epoch) {
  const std::int64_t seconds = FloorDiv(micros_since_epoch, 1'000'000);
  const std::int64_t days = FloorDiv(seconds, 86'400);
  const std::int64_t second_of_day = seconds - days * 86'400;
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          second_of_day / 3'600,
          second_of_day % 3'600 / 60,
          second_of_day % 60,
          micros_since_epoch - seconds * 1'000'000};
}

// `value` (not negative) in decimal, zero-padded to `width` digits.
void AppendDigits(std::string& out, std::int64_t value, std::size_t width) {
  const std::string digits = std::to_string(value);
  if (digits.size() < width) out.append(width - digits.size(), '0');
  out += digits;
}

// "2026-11-28T12:00:00." and then `fraction_digits` of the second.
std::string DateTime(std::int64_t micros_since_epoch, std::size_t fraction_digits) {
  const Civil c = ToCivil(micros_since_epoch);
  std::string out;
  AppendDigits(out, c.year, 4);
  out += '-';
  AppendDigits(out, c.month, 2);
  out += '-';
  AppendDigits(out, c.day, 2);
  out += 'T';
  AppendDigits(out, c.hour, 2);
  out += ':';
  AppendDigits(out, c.minute, 2);
  out += ':';
  AppendDigits(out, c.second, 2);
  out += '.';
  AppendDigits(out, fraction_digits == 3 ? c.micros / 1000 : c.micros, fraction_digits);
  return out;
}

// "2026-11-28T12:00:00.123456Z" (RFC 3339, UTC, microseconds).
std::string Rfc3339Micros(std::int64_t micros_since_epoch) {
  return DateTime(micros_since_epoch, 6) + "Z";
}

// LEEF devTime in kLeefTimeFormat (a Java SimpleDateFormat pattern, which
// stops at milliseconds): "2026-11-28T12:00:00.123+0000".
constexpr std::string_view kLeefTimeFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSZ";
std::string LeefTime(std::int64_t micros_since_epoch) {
  return DateTime(micros_since_epoch, 3) + "+0000";
}

bool IsIpv6(std::string_view ip) {
  return ip.find(':') != std::string_view::npos;
}

// "203.0.113.10:443", "[2001:db8::1]:443", or the address alone.
std::string Endpoint(const std::string* ip, const std::string* port) {
  if (ip == nullptr || ip->empty()) return "";
  std::string out = port != nullptr && IsIpv6(*ip) ? "[" + *ip + "]" : *ip;
  if (port != nullptr) out += ":" + *port;
  return out;
}

// What an analyst reads first: "deny openat /etc/shadow",
// "monitor connect 203.0.113.10:443". The target follows the category (the
// file, the peer, the executable) and falls back on whichever the event has.
std::string Summary(const ExportEvent& event) {
  const std::string* action = Value(event, "event.action");
  const std::string* category = Value(event, "event.category");
  const std::string* syscall = Value(event, "event.syscall");
  auto file = [&] {
    const std::string* p = Value(event, "file.path");
    return p != nullptr ? *p : std::string();
  };
  auto peer = [&] {
    std::string remote =
        Endpoint(Value(event, "network.remote.ip"), Value(event, "network.remote.port"));
    return !remote.empty()
               ? remote
               : Endpoint(Value(event, "network.local.ip"), Value(event, "network.local.port"));
  };
  auto executable = [&] {
    const std::string* p = Value(event, "process.path");
    return p != nullptr ? *p : std::string();
  };
  std::string target;
  if (category != nullptr && *category == "file") target = file();
  if (category != nullptr && *category == "network") target = peer();
  if (category != nullptr && *category == "process") target = executable();
  if (target.empty()) target = file();
  if (target.empty()) target = peer();
  if (target.empty()) target = executable();

  // Each part only as long as the summary can be: the cut happens later, on
  // the encoded text, but a 100 MB path needn't be copied for it.
  std::string out;
  const std::string* const parts[] = {action, syscall != nullptr ? syscall : category, &target};
  for (const std::string* part : parts) {
    if (part == nullptr || part->empty()) continue;
    if (!out.empty()) out += ' ';
    out += std::string_view(*part).substr(0, kSummaryBudget + 1);
  }
  return out.empty() ? "event" : out;
}

struct Severity {
  int cef;     // CEF and LEEF, 0-10
  int syslog;  // RFC 5424 severity
};

// deny: CEF 7 (high), warning; monitor: 4 (medium), notice; allow: 1 (low),
// informational. An action this version doesn't know: 5, notice.
Severity SeverityOf(const ExportEvent& event) {
  const std::string* action = Value(event, "event.action");
  if (action != nullptr && *action == "deny") return {7, 4};
  if (action != nullptr && *action == "monitor") return {4, 5};
  if (action != nullptr && *action == "allow") return {1, 6};
  return {5, 5};
}

// "<category><sep><action>", "unknown" for a NULL or empty part.
std::string EventClass(const ExportEvent& event, std::string_view sep) {
  const std::string* category = Value(event, "event.category");
  const std::string* action = Value(event, "event.action");
  std::string out = category != nullptr && !category->empty() ? *category : "unknown";
  out += sep;
  out += action != nullptr && !action->empty() ? *action : "unknown";
  return out;
}

// Inbound and listen events have the workload on the destination side:
// src/spt are the peer, dst/dpt the local socket, and the process is the
// destination process. Outbound ones (and events without a direction) the
// other way round.
bool WorkloadIsDestination(const ExportEvent& event) {
  const std::string* direction = Value(event, "network.direction");
  return direction != nullptr && (*direction == "inbound" || *direction == "listen");
}

// ---------------------------------------------------------------------------
// JSON lines.

void AppendJsonString(std::string& out, std::string_view raw, std::size_t budget) {
  out += '"';
  AppendBounded(out, raw, budget, EscapeJson);
  out += '"';
}

// The labels as a nested object, members in key order, keys and values cut
// at kTextBudget. Past kLongBudget the remaining members are dropped and
// counted in one last member, kTruncationMarker: "<n> more labels". Text
// that isn't a JSON object stays a string.
void AppendJsonLabels(std::string& out, std::string_view text) {
  // Labels are a string map; a value nested deeper than kMaxDepth is dropped
  // so that re-serializing it (recursive in nlohmann) stays shallow, and a
  // text too long to be kept anyway isn't parsed.
  constexpr int kMaxDepth = 16;
  constexpr std::size_t kMaxParsed = 1 << 20;
  const nlohmann::json labels = text.size() > kMaxParsed
                                    ? nlohmann::json()
                                    : nlohmann::json::parse(
                                          text.begin(), text.end(),
                                          [](int depth, nlohmann::json::parse_event_t,
                                             nlohmann::json&) { return depth <= kMaxDepth; },
                                          /*allow_exceptions=*/false);
  if (!labels.is_object()) {
    AppendJsonString(out, text, kLongBudget);
    return;
  }
  constexpr std::size_t kReserve = 64;  // the closing member
  const std::size_t start = out.size();
  out += '{';
  std::size_t written = 0;
  for (const auto& [key, value] : labels.items()) {
    std::string member = written > 0 ? "," : "";
    AppendJsonString(member, key, kTextBudget);
    member += ':';
    AppendJsonString(member,
                     value.is_string()
                         ? value.get_ref<const std::string&>()
                         : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                     kTextBudget);
    if (out.size() - start + member.size() + kReserve > kLongBudget) break;
    out += member;
    ++written;
  }
  if (written < labels.size()) {
    if (written > 0) out += ',';
    AppendJsonString(out, kTruncationMarker, kShortBudget);
    out += ':';
    AppendJsonString(out, std::to_string(labels.size() - written) + " more labels", kShortBudget);
  }
  out += '}';
}

std::string FormatJson(const ExportEvent& event, const FormatOptions& options) {
  std::string out = "{";
  std::vector<std::string_view> seen;
  auto key = [&](std::string_view name) {
    if (out.size() > 1) out += ',';
    AppendJsonString(out, name, kShortBudget);
    out += ':';
  };
  for (const auto& [name, value] : event.fields) {
    if (!value.has_value()) continue;
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    key(name);
    const Kind kind = KindOf(name);
    if (kind == Kind::kTime) {
      if (std::optional<std::int64_t> t = ParseTime(*value)) {
        out += '"' + Rfc3339Micros(*t) + '"';
        continue;
      }
    } else if (kind == Kind::kInteger) {
      if (std::optional<std::string> n = CanonicalInteger(*value)) {
        out += *n;
        continue;
      }
    } else if (kind == Kind::kBool) {
      if (std::optional<bool> b = ParseBool(*value)) {
        out += *b ? "true" : "false";
        continue;
      }
    } else if (kind == Kind::kLabels) {
      AppendJsonLabels(out, *value);
      continue;
    }
    AppendJsonString(out, *value, BudgetOf(kind));  // text, or a value not of its type
  }
  if (!options.tenant_id.empty()) {
    key("tenant.id");
    AppendJsonString(out, options.tenant_id, kShortBudget);
  }
  out += "}\n";
  return out;
}

// ---------------------------------------------------------------------------
// CEF, LEEF and syslog share the shape "key=value" + separator.

template <typename Escape>
class KeyValues {
 public:
  KeyValues(const ExportEvent& event, char separator, Escape escape)
      : event_(event), separator_(separator), escape_(escape) {}

  void Add(std::string_view key, std::string_view raw, std::size_t budget) {
    if (!out_.empty()) out_ += separator_;
    out_ += key;
    out_ += '=';
    AppendBounded(out_, raw, budget, escape_);
  }
  // `key`=<the field's value>, when the field isn't NULL.
  void AddField(std::string_view key, std::string_view field) {
    if (const std::string* v = Value(event_, field)) Add(key, *v, BudgetOf(field));
  }
  // A boolean field as "true"/"false".
  void AddBool(std::string_view key, std::string_view field) {
    const std::string* v = Value(event_, field);
    if (v == nullptr) return;
    const std::optional<bool> b = ParseBool(*v);
    Add(key, b.has_value() ? (*b ? "true" : "false") : std::string_view(*v), kShortBudget);
  }
  // CEF's custom slots: `key`=<value> `key`Label=<label>.
  void AddLabelled(std::string_view key, std::string_view label, std::string_view field) {
    if (const std::string* v = Value(event_, field)) AddLabelled(key, label, *v, BudgetOf(field));
  }
  void AddLabelled(std::string_view key, std::string_view label, std::string_view raw,
                   std::size_t budget) {
    Add(key, raw, budget);
    Add(std::string(key) + "Label", label, kShortBudget);
  }

  const std::string& Text() const { return out_; }

 private:
  const ExportEvent& event_;
  char separator_;
  Escape escape_;
  std::string out_;
};

// ---------------------------------------------------------------------------
// CEF 0.

std::string FormatCef(const ExportEvent& event, const FormatOptions& options) {
  KeyValues ext(event, ' ', EscapeCefValue);
  if (const std::string* t = Value(event, "event.time")) {
    if (std::optional<std::int64_t> us = ParseTime(*t)) {
      ext.Add("rt", std::to_string(FloorDiv(*us, 1000)), kShortBudget);
    } else {
      ext.Add("PortcullisEventTime", *t, kShortBudget);
    }
  }
  ext.AddField("externalId", "event.id");
  ext.AddField("act", "event.action");
  ext.AddField("cat", "event.category");
  ext.AddField("PortcullisSyscall", "event.syscall");
  ext.AddLabelled("cn2", "Result", "event.result");
  ext.AddBool("PortcullisEnforced", "event.enforced");

  const bool dst = WorkloadIsDestination(event);
  ext.AddField(dst ? "dproc" : "sproc", "process.name");
  ext.AddField("PortcullisProcessPath", "process.path");
  ext.AddField(dst ? "dpid" : "spid", "process.pid");
  ext.AddLabelled("cn3", "Parent PID", "process.ppid");
  ext.AddField(dst ? "duid" : "suid", "process.uid");
  ext.AddField("PortcullisGid", "process.gid");
  ext.AddLabelled("cs5", "Command Line", "process.cmdline");

  if (const std::string* path = Value(event, "file.path")) {
    const std::size_t slash = path->rfind('/');
    ext.Add("fname", slash == std::string::npos ? *path : path->substr(slash + 1), kTextBudget);
    ext.Add("filePath", *path, kLongBudget);
  }
  ext.AddField("PortcullisFileOperation", "file.operation");

  if (const std::string* direction = Value(event, "network.direction")) {
    if (*direction == "inbound") ext.Add("deviceDirection", "0", kShortBudget);
    if (*direction == "outbound") ext.Add("deviceDirection", "1", kShortBudget);
    ext.Add("PortcullisNetworkDirection", *direction, kShortBudget);
  }
  if (const std::string* proto = Value(event, "network.protocol")) {
    std::string upper = *proto;
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    ext.Add("proto", upper, kShortBudget);
  }
  const std::string_view source_side = dst ? "network.remote" : "network.local";
  const std::string_view destination_side = dst ? "network.local" : "network.remote";
  for (const bool source : {true, false}) {
    const std::string side(source ? source_side : destination_side);
    if (const std::string* ip = Value(event, side + ".ip")) {
      if (IsIpv6(*ip)) {
        ext.AddLabelled(source ? "c6a2" : "c6a3",
                        source ? "Source IPv6 Address" : "Destination IPv6 Address", *ip,
                        kShortBudget);
      } else {
        ext.Add(source ? "src" : "dst", *ip, kShortBudget);
      }
    }
    ext.AddField(source ? "spt" : "dpt", side + ".port");
  }

  ext.AddLabelled("cs3", "Container ID", "container.id");
  ext.AddLabelled("cs4", "Container Image", "container.image");
  ext.AddField("deviceExternalId", "agent.id");
  ext.AddField("dvchost", "host.name");
  ext.AddLabelled("cs2", "Policy ID", "policy.id");
  ext.AddLabelled("cn1", "Policy Version", "policy.version");
  ext.AddLabelled("cs1", "Rule ID", "rule.id");
  ext.AddLabelled("cs6", "Labels", "labels");
  if (!options.tenant_id.empty()) ext.Add("PortcullisTenantId", options.tenant_id, kShortBudget);

  std::string line = "CEF:0|Portcullis|Portcullis Agent|";
  AppendBounded(line, options.product_version, kShortBudget, EscapeCefHeader);
  line += '|';
  AppendBounded(line, EventClass(event, ":"), kHeaderBudget, EscapeCefHeader);
  line += '|';
  AppendBounded(line, Summary(event), kSummaryBudget, EscapeCefHeader);
  line += '|';
  line += std::to_string(SeverityOf(event).cef);
  line += '|';
  line += ext.Text();
  line += '\n';
  return line;
}

// ---------------------------------------------------------------------------
// LEEF 2.0, attributes separated by TAB, declared in the header as "x09".

std::string FormatLeef(const ExportEvent& event, const FormatOptions& options) {
  KeyValues attrs(event, '\t', EscapeLeefValue);
  if (const std::string* t = Value(event, "event.time")) {
    if (std::optional<std::int64_t> us = ParseTime(*t)) {
      attrs.Add("devTime", LeefTime(*us), kShortBudget);
      attrs.Add("devTimeFormat", kLeefTimeFormat, kShortBudget);
    } else {
      attrs.Add("eventTime", *t, kShortBudget);
    }
  }
  attrs.AddField("cat", "event.category");
  attrs.Add("sev", std::to_string(SeverityOf(event).cef), kShortBudget);
  attrs.AddField("eventUuid", "event.id");
  attrs.AddField("action", "event.action");
  attrs.AddField("syscall", "event.syscall");
  attrs.AddField("result", "event.result");
  attrs.AddBool("enforced", "event.enforced");
  attrs.AddField("processName", "process.name");
  attrs.AddField("processPath", "process.path");
  attrs.AddField("pid", "process.pid");
  attrs.AddField("ppid", "process.ppid");
  attrs.AddField("uid", "process.uid");
  attrs.AddField("gid", "process.gid");
  attrs.AddField("cmdline", "process.cmdline");
  attrs.AddField("filePath", "file.path");
  attrs.AddField("fileOperation", "file.operation");
  attrs.AddField("direction", "network.direction");
  if (const std::string* proto = Value(event, "network.protocol")) {
    std::string upper = *proto;
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    attrs.Add("proto", upper, kShortBudget);
  }
  const bool dst = WorkloadIsDestination(event);
  const std::string source_side = dst ? "network.remote" : "network.local";
  const std::string destination_side = dst ? "network.local" : "network.remote";
  attrs.AddField("src", source_side + ".ip");
  attrs.AddField("srcPort", source_side + ".port");
  attrs.AddField("dst", destination_side + ".ip");
  attrs.AddField("dstPort", destination_side + ".port");
  attrs.AddField("containerId", "container.id");
  attrs.AddField("containerImage", "container.image");
  attrs.AddField("agentId", "agent.id");
  attrs.AddField("hostName", "host.name");
  attrs.AddField("policyId", "policy.id");
  attrs.AddField("policyVersion", "policy.version");
  attrs.AddField("ruleId", "rule.id");
  attrs.AddField("labels", "labels");
  if (!options.tenant_id.empty()) attrs.Add("tenantId", options.tenant_id, kShortBudget);

  std::string line = "LEEF:2.0|Portcullis|Portcullis Agent|";
  AppendBounded(line, options.product_version, kShortBudget, EscapeLeefHeader);
  line += '|';
  AppendBounded(line, EventClass(event, "-"), kHeaderBudget, EscapeLeefHeader);
  line += "|x09|";
  line += attrs.Text();
  line += '\n';
  return line;
}

// ---------------------------------------------------------------------------
// RFC 5424 syslog.

constexpr int kFacilityLocal4 = 20;

// SD-NAME: 1-32 PRINTUSASCII except '=', SP, ']' and '"'.
bool IsSdName(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name) {
    if (c < 33 || c > 126 || c == '=' || c == ']' || c == '"') return false;
  }
  return true;
}

std::string FormatSyslog(const ExportEvent& event, const FormatOptions& options) {
  const Severity severity = SeverityOf(event);
  std::string line = "<" + std::to_string(kFacilityLocal4 * 8 + severity.syslog) + ">1 ";

  const std::string* time = Value(event, "event.time");
  const std::optional<std::int64_t> us = time != nullptr ? ParseTime(*time) : std::nullopt;
  line += us.has_value() ? Rfc3339Micros(*us) : "-";
  line += ' ';
  const std::string* host = Value(event, "host.name");
  if (host != nullptr && !host->empty()) {
    AppendBounded(line, *host, 255, EscapePrintUsAscii);
  } else {
    line += '-';
  }
  line += " portcullis ";
  const std::string* pid = Value(event, "process.pid");
  const std::optional<std::string> procid = pid != nullptr ? CanonicalInteger(*pid) : std::nullopt;
  line += procid.value_or("-");
  line += ' ';
  const std::string* category = Value(event, "event.category");
  if (category != nullptr && !category->empty()) {
    AppendBounded(line, *category, 32, EscapePrintUsAscii);
  } else {
    line += '-';
  }
  line += ' ';

  // One SD-ELEMENT with every field but the time (already the TIMESTAMP),
  // PARAM-NAMEs the dotted names, values as PostgreSQL wrote them except
  // booleans ("true"/"false").
  line += "[portcullis@";
  line += std::to_string(options.syslog_enterprise_number);
  std::vector<std::string_view> seen;
  auto param = [&](std::string_view name, std::string_view raw, std::size_t budget) {
    line += ' ';
    line += name;
    line += "=\"";
    AppendBounded(line, raw, budget, EscapeSdValue);
    line += '"';
  };
  for (const auto& [name, value] : event.fields) {
    if (!value.has_value() || !IsSdName(name)) continue;
    if (name == "event.time" && us.has_value()) continue;
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) continue;
    seen.push_back(name);
    std::string_view raw = *value;
    if (KindOf(name) == Kind::kBool) {
      if (std::optional<bool> b = ParseBool(raw)) raw = *b ? "true" : "false";
    }
    param(name, raw, BudgetOf(name));
  }
  if (!options.tenant_id.empty()) param("tenant.id", options.tenant_id, kShortBudget);
  line += ']';

  // MSG: US-ASCII as it is (MSG-ANY); with any other character, UTF-8
  // behind the BOM (MSG-UTF8), as section 6.4 requires.
  std::string msg;
  AppendBounded(msg, Summary(event), kSummaryBudget, EscapeText);
  line += ' ';
  if (std::any_of(msg.begin(), msg.end(), [](char c) { return (c & 0x80) != 0; })) {
    line += kUtf8Bom;
  }
  line += msg;
  line += '\n';
  return line;
}

}  // namespace

const std::optional<std::string>* ExportEvent::Find(std::string_view name) const {
  for (const auto& [field, value] : fields) {
    if (field == name) return &value;
  }
  return nullptr;
}

StatusOr<ExportFormat> ParseExportFormat(std::string_view name) {
  const std::string lower = AsciiLower(name);
  if (lower == "json") return ExportFormat::kJson;
  if (lower == "cef") return ExportFormat::kCef;
  if (lower == "leef") return ExportFormat::kLeef;
  if (lower == "syslog") return ExportFormat::kSyslog;
  return InvalidArgumentError("export format: expected one of json, cef, leef, syslog");
}

std::string_view ContentType(ExportFormat format) {
  switch (format) {
    case ExportFormat::kJson:
      return "application/x-ndjson";
    case ExportFormat::kCef:
    case ExportFormat::kLeef:
    case ExportFormat::kSyslog:
      return "text/plain; charset=utf-8";
  }
  Fatal("ContentType: unknown export format");
}

std::string FormatEvent(ExportFormat format, const ExportEvent& event,
                        const FormatOptions& options) {
  switch (format) {
    case ExportFormat::kJson:
      return FormatJson(event, options);
    case ExportFormat::kCef:
      return FormatCef(event, options);
    case ExportFormat::kLeef:
      return FormatLeef(event, options);
    case ExportFormat::kSyslog:
      return FormatSyslog(event, options);
  }
  Fatal("FormatEvent: unknown export format");
}

}  // namespace portcullis::query
