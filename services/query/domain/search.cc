#include "domain/search.h"

#include <charconv>
#include <ctime>

#include "portcullis/auth/credential.h"
#include "portcullis/common/strings.h"

namespace portcullis::query {
namespace {

using std::chrono::microseconds;

bool Digits(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::int64_t ToMicros(TimePoint t) {
  return std::chrono::duration_cast<microseconds>(t.time_since_epoch()).count();
}

TimePoint FromMicros(std::int64_t us) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(microseconds(us)));
}

}  // namespace

StatusOr<TimePoint> ParseTime(std::string_view s) {
  auto bad = [&] {
    return InvalidArgumentError("'" + std::string(s.substr(0, 64)) +
                                "' is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)");
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !Digits(s, 0, 4, &y) || s[4] != '-' || !Digits(s, 5, 2, &mo) ||
      s[7] != '-' || !Digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !Digits(s, 11, 2, &h) || s[13] != ':' || !Digits(s, 14, 2, &mi) || s[16] != ':' ||
      !Digits(s, 17, 2, &sec)) {
    return bad();
  }
  std::size_t pos = 19;
  std::int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    std::size_t digits = 0;
    for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos, ++digits) {
      if (digits < 6) micros = micros * 10 + (s[pos] - '0');
    }
    if (digits == 0 || digits > 9) return bad();
    for (std::size_t k = digits; k < 6; ++k)
      micros *= 10;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad();
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!ymd.ok() || y < 1970 || h > 23 || mi > 59 || sec > 59) return bad();
  const auto t = std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
                 std::chrono::seconds(sec) - std::chrono::minutes(offset_min);
  return TimePoint(
      std::chrono::duration_cast<TimePoint::duration>(t.time_since_epoch() + microseconds(micros)));
}

std::string FormatTime(TimePoint t) {
  const std::int64_t us = ToMicros(t);
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000 - (us % 1'000'000 < 0));
  const std::int64_t frac = ((us % 1'000'000) + 1'000'000) % 1'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

std::string EncodeCursor(const Cursor& c) {
  nlohmann::json j = {{"v", 1},
                      {"k", c.kind == Cursor::Kind::kSearch ? "s" : "e"},
                      {"b", c.binding},
                      {"a", c.after}};
  if (c.kind == Cursor::Kind::kSearch) {
    j["f"] = ToMicros(c.from);
    j["t"] = ToMicros(c.to);
  }
  return Base64UrlEncode(j.dump());
}

StatusOr<Cursor> DecodeCursor(std::string_view text) {
  const auto malformed = [] {
    return InvalidArgumentError("the cursor is malformed: pass back next_cursor as it was given");
  };
  if (text.size() > 2048) return malformed();
  std::optional<std::string> raw = Base64UrlDecode(text);
  // nlohmann's parser stops at a NUL: a byte appended to a valid cursor
  // would otherwise pass.
  if (!raw || raw->find('\0') != std::string::npos) return malformed();
  nlohmann::json j = nlohmann::json::parse(*raw, nullptr, false);
  if (!j.is_object() || j.value("v", 0) != 1 || !j.contains("k") || !j["k"].is_string() ||
      !j.contains("b") || !j["b"].is_string() || !j.contains("a") || !j["a"].is_array() ||
      j["a"].size() > 4) {
    return malformed();
  }
  Cursor c;
  const std::string kind = j["k"];
  if (kind != "s" && kind != "e") return malformed();
  c.kind = kind == "s" ? Cursor::Kind::kSearch : Cursor::Kind::kExport;
  c.binding = j["b"];
  for (const auto& v : j["a"]) {
    if (!v.is_string() || v.get<std::string>().size() > 64) return malformed();
    c.after.push_back(v);
  }
  if (c.kind == Cursor::Kind::kSearch) {
    if (!j.contains("f") || !j["f"].is_number_integer() || !j.contains("t") ||
        !j["t"].is_number_integer()) {
      return malformed();
    }
    c.from = FromMicros(j["f"].get<std::int64_t>());
    c.to = FromMicros(j["t"].get<std::int64_t>());
  }
  return c;
}

std::string Binding(std::string_view kind, std::string_view qql, std::string_view extra) {
  std::string input(kind);
  input += '\0';
  input += qql;
  input += '\0';
  input += extra;
  const auth::Digest d = auth::Sha256(input);
  std::string hex;
  constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < 12; ++i) {
    hex += kHex[d[i] >> 4];
    hex += kHex[d[i] & 15];
  }
  return hex;
}

std::string PgTimeToRfc3339(std::string_view pg) {
  std::string out(pg);
  if (out.size() > 10 && out[10] == ' ') out[10] = 'T';
  if (out.size() >= 3 && out.compare(out.size() - 3, 3, "+00") == 0) {
    out.replace(out.size() - 3, 3, "Z");
  } else if (out.size() >= 3 && (out[out.size() - 3] == '+' || out[out.size() - 3] == '-')) {
    out += ":00";  // "+05" -> "+05:00"
  }
  return out;
}

nlohmann::json ValueToJson(const std::optional<std::string>& value, std::string_view type) {
  if (!value) return nullptr;
  const std::string& v = *value;
  if (type == "bigint" || type == "integer" || type == "smallint") {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && end == v.data() + v.size()) return n;
    return v;
  }
  if (type == "boolean" || type == "bool") return v == "t" || v == "true";
  if (type == "jsonb" || type == "json") {
    nlohmann::json j = nlohmann::json::parse(v, nullptr, false);
    return j.is_discarded() ? nlohmann::json(v) : j;
  }
  if (type == "timestamptz" || type == "timestamp with time zone") return PgTimeToRfc3339(v);
  return v;
}

StatusOr<nlohmann::json> FillTimechart(const nlohmann::json& rows, TimePoint from, TimePoint to,
                                       std::int64_t bucket_seconds) {
  if (bucket_seconds <= 0 || from >= to) return InvalidArgumentError("timechart: empty range");
  const std::chrono::seconds width(bucket_seconds);
  auto bucket_of = [&](TimePoint t) {
    const auto since = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch());
    // floor division, also before 1970
    std::int64_t n = since.count() / bucket_seconds;
    if (since.count() % bucket_seconds < 0) --n;
    return TimePoint(width * n);
  };
  const TimePoint first = bucket_of(from);
  const TimePoint last = bucket_of(to - std::chrono::microseconds(1));
  const std::int64_t buckets = (last - first) / width + 1;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(buckets), 0);
  for (const nlohmann::json& row : rows) {
    if (!row.is_array() || row.size() != 2 || !row[0].is_string() || !row[1].is_number_integer()) {
      return InvalidArgumentError("timechart: a row is not [time, count]");
    }
    StatusOr<TimePoint> t = ParseTime(row[0].get<std::string>());
    if (!t.ok()) return t.status();
    if (*t < first || *t > last || bucket_of(*t) != *t) {
      return InvalidArgumentError("timechart: " + row[0].get<std::string>() +
                                  " is not a bucket of the range");
    }
    counts[static_cast<std::size_t>((*t - first) / width)] += row[1].get<std::int64_t>();
  }
  nlohmann::json out = nlohmann::json::array();
  for (std::int64_t i = 0; i < buckets; ++i) {
    out.push_back(nlohmann::json::array(
        {FormatTime(first + width * i), counts[static_cast<std::size_t>(i)]}));
  }
  return out;
}

}  // namespace portcullis::query
