#include "portcullis/qql/values.h"

#include <arpa/inet.h>

#include <cstdio>

#include "portcullis/common/strings.h"

namespace portcullis::qql {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::minutes;
using std::chrono::seconds;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly `n` digits at text[pos] into `out`.
bool Digits(std::string_view text, std::size_t& pos, std::size_t n, int& out) {
  if (pos + n > text.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!IsDigit(text[pos + i])) return false;
    v = v * 10 + (text[pos + i] - '0');
  }
  out = v;
  pos += n;
  return true;
}

bool Expect(std::string_view text, std::size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

Status BadTime(std::string_view why) {
  return InvalidArgumentError(std::string(why));
}

}  // namespace

Timestamp ToTimestamp(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<microseconds>(t);
}

StatusOr<TimeValue> ParseAbsoluteTime(std::string_view text) {
  std::size_t pos = 0;
  int year = 0, month = 0, day = 0;
  if (!Digits(text, pos, 4, year) || !Expect(text, pos, '-') || !Digits(text, pos, 2, month) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, day)) {
    return BadTime("expected YYYY-MM-DD");
  }
  if (year < 1970 || year > 9999) return BadTime("the year must be between 1970 and 9999");
  if (month < 1 || month > 12)
    return BadTime("month " + std::to_string(month) + " is out of range");
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return BadTime("day " + std::to_string(day) + " is out of range");
  TimeValue out;
  out.time = Timestamp(std::chrono::sys_days(ymd));
  if (pos == text.size()) {
    out.date_only = true;
    return out;
  }
  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') {
    return BadTime("expected 'T' and a time of day after the date");
  }
  ++pos;
  int hour = 0, minute = 0, second = 0;
  if (!Digits(text, pos, 2, hour) || !Expect(text, pos, ':') || !Digits(text, pos, 2, minute)) {
    return BadTime("expected HH:MM after the date");
  }
  if (Expect(text, pos, ':') && !Digits(text, pos, 2, second)) {
    return BadTime("expected two digits of seconds");
  }
  if (hour > 23 || minute > 59 || second > 59) return BadTime("the time of day is out of range");
  std::int64_t micros = 0;
  if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
    ++pos;
    std::size_t digits = 0;
    while (pos < text.size() && IsDigit(text[pos])) {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return BadTime("expected 1 to 9 digits of fraction");
    for (std::size_t d = digits; d < 6; ++d)
      micros *= 10;
  }
  std::int64_t offset_minutes = 0;
  if (pos < text.size()) {
    const char z = text[pos++];
    if (z == 'Z' || z == 'z') {
      // UTC
    } else if (z == '+' || z == '-') {
      int oh = 0, om = 0;
      if (!Digits(text, pos, 2, oh)) return BadTime("expected a zone offset like +02:00");
      if (pos < text.size()) {
        Expect(text, pos, ':');
        if (!Digits(text, pos, 2, om)) return BadTime("expected a zone offset like +02:00");
      }
      if (oh > 15 || om > 59) return BadTime("the zone offset is out of range");
      offset_minutes = (z == '-' ? -1 : 1) * (oh * 60 + om);
    } else {
      return BadTime("expected Z or a zone offset after the time");
    }
  }
  if (pos != text.size()) return BadTime("unexpected text after the time");
  out.time += hours(hour) + minutes(minute) + seconds(second) + microseconds(micros) -
              minutes(offset_minutes);
  return out;
}

StatusOr<TimeValue> ParseTime(std::string_view text, Timestamp now) {
  if (text.size() < 3 || AsciiLower(text.substr(0, 3)) != "now") return ParseAbsoluteTime(text);
  TimeValue out{now, false};
  if (text.size() == 3) return out;
  const char sign = text[3];
  if (sign != '-' && sign != '+') return BadTime("expected now, now-<n><unit> or now+<n><unit>");
  std::size_t pos = 4;
  std::int64_t n = 0;
  std::size_t digits = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    if (++digits > 9) return BadTime("the relative time is too far from now");
    n = n * 10 + (text[pos++] - '0');
  }
  if (digits == 0 || pos + 1 != text.size()) {
    return BadTime("expected now" + std::string(1, sign) + "<n><unit> with unit s, m, h, d or w");
  }
  std::int64_t unit = 0;
  switch (text[pos]) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return BadTime("unknown unit '" + std::string(1, text[pos]) + "' (s, m, h, d or w)");
  }
  if (n > kMaxRelativeDays * 86400 / unit) {
    return BadTime("the relative time is more than " + std::to_string(kMaxRelativeDays) +
                   " days from now");
  }
  const seconds delta(n * unit);
  out.time = sign == '-' ? now - delta : now + delta;
  return out;
}

std::string FormatTimestamp(Timestamp t) {
  const auto day = std::chrono::floor<days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss<microseconds> hms(t - day);
  char buf[64];
  const long long micros = hms.subseconds().count();
  const int n = std::snprintf(
      buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02lld", static_cast<int>(ymd.year()),
      static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
      static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
      static_cast<long long>(hms.seconds().count()));
  std::string out(buf, static_cast<std::size_t>(n > 0 ? n : 0));
  if (micros != 0) {
    std::snprintf(buf, sizeof(buf), ".%06lld", micros);
    out += buf;
  }
  out += 'Z';
  return out;
}

StatusOr<IpValue> ParseIp(std::string_view text) {
  const std::size_t slash = text.find('/');
  const std::string_view addr = text.substr(0, slash);
  if (addr.empty() || addr.size() > 45) return InvalidArgumentError("not an IP address");
  for (char c : addr) {
    const bool hex = IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != '.' && c != ':') return InvalidArgumentError("not an IP address");
  }
  IpValue out;
  out.family = addr.find(':') != std::string_view::npos ? 6 : 4;
  const std::string addr_text(addr);
  if (inet_pton(out.family == 4 ? AF_INET : AF_INET6, addr_text.c_str(), out.bytes.data()) != 1) {
    return InvalidArgumentError(out.family == 4 ? "not an IPv4 address" : "not an IPv6 address");
  }
  const int bits = out.family == 4 ? 32 : 128;
  if (slash != std::string_view::npos) {
    const std::string_view len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3)
      return InvalidArgumentError("expected a prefix length after '/'");
    int prefix = 0;
    for (char c : len) {
      if (!IsDigit(c)) return InvalidArgumentError("expected a prefix length after '/'");
      prefix = prefix * 10 + (c - '0');
    }
    if (prefix > bits) {
      return InvalidArgumentError("the prefix length must be at most " + std::to_string(bits));
    }
    out.prefix = prefix;
    for (int b = prefix; b < bits; ++b) {
      out.bytes[static_cast<std::size_t>(b / 8)] &= static_cast<std::uint8_t>(~(0x80 >> (b % 8)));
    }
  }
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(out.family == 4 ? AF_INET : AF_INET6, out.bytes.data(), buf, sizeof(buf)) ==
      nullptr) {
    return InvalidArgumentError("not an IP address");
  }
  out.text = buf;
  if (out.prefix >= 0) out.text += "/" + std::to_string(out.prefix);
  return out;
}

StatusOr<std::int64_t> ParseInteger(std::string_view text, std::int64_t min, std::int64_t max) {
  const bool negative = !text.empty() && text[0] == '-';
  const std::string_view digits = negative ? text.substr(1) : text;
  if (digits.empty()) return InvalidArgumentError("not an integer");
  std::uint64_t v = 0;
  bool overflow = false;
  for (char c : digits) {
    if (!IsDigit(c)) return InvalidArgumentError("not an integer");
    if (v > (UINT64_MAX - 9) / 10) overflow = true;
    if (!overflow) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  const std::string range =
      "out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")";
  if (overflow) return InvalidArgumentError(range);
  if (negative) {
    if (v > static_cast<std::uint64_t>(INT64_MAX) + 1) return InvalidArgumentError(range);
    const std::int64_t value =
        v == static_cast<std::uint64_t>(INT64_MAX) + 1 ? INT64_MIN : -static_cast<std::int64_t>(v);
    if (value < min || value > max) return InvalidArgumentError(range);
    return value;
  }
  if (v > static_cast<std::uint64_t>(max)) return InvalidArgumentError(range);
  const auto value = static_cast<std::int64_t>(v);
  if (value < min) return InvalidArgumentError(range);
  return value;
}

StatusOr<std::int64_t> ParseIntervalSeconds(std::string_view text) {
  std::size_t pos = 0;
  std::int64_t n = 0;
  while (pos < text.size() && IsDigit(text[pos])) {
    if (pos == 6) return InvalidArgumentError("the interval is too long");
    n = n * 10 + (text[pos++] - '0');
  }
  if (pos == 0 || pos + 1 != text.size() || n == 0) {
    return InvalidArgumentError("expected an interval like 30s, 5m, 1h or 1d");
  }
  switch (text[pos]) {
    case 's':
      return n;
    case 'm':
      return n * 60;
    case 'h':
      return n * 3600;
    case 'd':
      return n * 86400;
    default:
      return InvalidArgumentError("expected an interval like 30s, 5m, 1h or 1d (units s, m, h, d)");
  }
}

}  // namespace portcullis::qql
