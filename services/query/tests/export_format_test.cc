// The SIEM export formats: exact lines for a full, a minimal and an empty
// event per format; then hostile values (delimiters, escapes, line breaks,
// NUL, invalid UTF-8, 10 KiB strings) read back by small parsers written
// from each spec (CEF's escapes, LEEF's delimiter split, RFC 5424's
// SD-PARAMs): the value comes back as the README says, on one bounded line.
#include "domain/export_format.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace portcullis::query {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kFffd = "\xEF\xBF\xBD";  // U+FFFD
const FormatOptions kOptions{};

// ---------------------------------------------------------------------------
// Events.

constexpr std::string_view kCatalogNames[] = {"event.time",        "event.id",
                                              "event.action",      "event.category",
                                              "event.syscall",     "event.result",
                                              "event.enforced",    "process.name",
                                              "process.path",      "process.pid",
                                              "process.ppid",      "process.uid",
                                              "process.gid",       "process.cmdline",
                                              "file.path",         "file.operation",
                                              "network.direction", "network.protocol",
                                              "network.remote.ip", "network.remote.port",
                                              "network.local.ip",  "network.local.port",
                                              "container.id",      "container.image",
                                              "agent.id",          "host.name",
                                              "policy.id",         "policy.version",
                                              "rule.id",           "labels"};

// Every catalog field, all NULL.
ExportEvent AllNull() {
  ExportEvent e;
  for (std::string_view name : kCatalogNames)
    e.fields.emplace_back(std::string(name), std::nullopt);
  return e;
}

ExportEvent& Set(ExportEvent& e, std::string_view name, std::optional<std::string> value) {
  for (auto& [field, v] : e.fields) {
    if (field == name) {
      v = std::move(value);
      return e;
    }
  }
  e.fields.emplace_back(std::string(name), std::move(value));
  return e;
}

// Every field set, even ones that don't go together in one event (a file
// path on a connect), so that each mapping shows.
ExportEvent Full() {
  ExportEvent e = AllNull();
  Set(e, "event.time", "2026-11-28 12:00:00.123456+00");
  Set(e, "event.id", "0b6f2c1e-0000-4000-8000-000000000001");
  Set(e, "event.action", "deny");
  Set(e, "event.category", "network");
  Set(e, "event.syscall", "connect");
  Set(e, "event.result", "-1");
  Set(e, "event.enforced", "t");
  Set(e, "process.name", "curl");
  Set(e, "process.path", "/usr/bin/curl");
  Set(e, "process.pid", "42");
  Set(e, "process.ppid", "7");
  Set(e, "process.uid", "1000");
  Set(e, "process.gid", "1001");
  Set(e, "process.cmdline", "curl https://example.com");
  Set(e, "file.path", "/etc/ssl/certs/ca.pem");
  Set(e, "file.operation", "read");
  Set(e, "network.direction", "outbound");
  Set(e, "network.protocol", "tcp");
  Set(e, "network.remote.ip", "203.0.113.10");
  Set(e, "network.remote.port", "443");
  Set(e, "network.local.ip", "10.0.0.5");
  Set(e, "network.local.port", "51234");
  Set(e, "container.id", "c0ffee");
  Set(e, "container.image", "registry.example/app:1.2");
  Set(e, "agent.id", "a9e8d7c6-0000-4000-8000-000000000002");
  Set(e, "host.name", "node-1");
  Set(e, "policy.id", "5e1f0000-0000-4000-8000-000000000003");
  Set(e, "policy.version", "3");
  Set(e, "rule.id", "no-egress");
  Set(e, "labels", R"({"env": "prod", "team": "web"})");
  return e;
}

ExportEvent Minimal() {
  ExportEvent e = AllNull();
  Set(e, "event.time", "2026-11-28 12:00:00.5+00");
  Set(e, "event.id", "0b6f2c1e-0000-4000-8000-000000000001");
  Set(e, "event.action", "allow");
  Set(e, "event.category", "process");
  Set(e, "event.syscall", "execve");
  Set(e, "process.path", "/bin/sh");
  return e;
}

FormatOptions WithTenant() {
  FormatOptions o;
  o.tenant_id = "7e000000-0000-4000-8000-000000000004";
  return o;
}

// Every format, for the properties they share.
constexpr ExportFormat kFormats[] = {ExportFormat::kJson, ExportFormat::kCef, ExportFormat::kLeef,
                                     ExportFormat::kSyslog};

// One '\n', at the end; no CR, no NUL; within the documented cap.
void ExpectOneBoundedLine(const std::string& line) {
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(line.find('\0'), std::string::npos);
  EXPECT_LE(line.size(), kMaxLineBytes);
}

// ---------------------------------------------------------------------------
// Parsers written from the specs, to read lines back.

std::string_view Body(std::string_view line) {
  EXPECT_FALSE(line.empty());
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  return line;
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

struct Cef {
  std::vector<std::string> header;  // "CEF:0", vendor, product, version, signature, name, severity
  std::vector<std::pair<std::string, std::string>> ext;

  std::optional<std::string> Get(std::string_view key) const {
    for (const auto& [k, v] : ext) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& [k, v] : ext)
      keys.push_back(k);
    return keys;
  }
};

// CEF: seven header fields end at unescaped pipes (\| and \\ the only
// escapes there). In the extension an unescaped '=' ends a key, which is the
// word before it; a value runs to the space before the next key, with \\, \=,
// \n and \r undone. Any other escape, or a key that isn't alphanumeric, is a
// parse error.
std::optional<Cef> ParseCef(std::string_view line) {
  std::string_view s = Body(line);
  if (s.substr(0, 4) != "CEF:") return std::nullopt;
  Cef cef;
  std::string field;
  std::size_t i = 0;
  for (; i < s.size() && cef.header.size() < 7; ++i) {
    if (s[i] == '\\') {
      if (i + 1 == s.size() || (s[i + 1] != '\\' && s[i + 1] != '|')) return std::nullopt;
      field += s[++i];
    } else if (s[i] == '|') {
      cef.header.push_back(std::move(field));
      field.clear();
    } else {
      field += s[i];
    }
  }
  if (cef.header.size() != 7) return std::nullopt;
  const std::string_view ext = s.substr(i);
  std::vector<std::size_t> equals;
  for (std::size_t k = 0; k < ext.size(); ++k) {
    if (ext[k] == '\\') {
      ++k;
    } else if (ext[k] == '=') {
      equals.push_back(k);
    }
  }
  if (equals.empty()) return ext.empty() ? std::optional<Cef>(cef) : std::nullopt;
  std::vector<std::size_t> key_starts;
  std::size_t from = 0;
  for (std::size_t eq : equals) {
    const std::size_t space = ext.rfind(' ', eq);
    const std::size_t start = space == std::string_view::npos || space < from ? from : space + 1;
    if (start != 0 && ext[start - 1] != ' ') return std::nullopt;
    key_starts.push_back(start);
    from = eq + 1;
  }
  for (std::size_t n = 0; n < equals.size(); ++n) {
    const std::string key(ext.substr(key_starts[n], equals[n] - key_starts[n]));
    if (key.empty() || !std::all_of(key.begin(), key.end(), IsAlnum)) return std::nullopt;
    const std::size_t end = n + 1 < equals.size() ? key_starts[n + 1] - 1 : ext.size();
    const std::string_view raw = ext.substr(equals[n] + 1, end - equals[n] - 1);
    std::string value;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '\\') {
        value += raw[k];
        continue;
      }
      if (++k == raw.size()) return std::nullopt;
      switch (raw[k]) {
        case '\\':
        case '=':
          value += raw[k];
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        default:
          return std::nullopt;
      }
    }
    cef.ext.emplace_back(key, std::move(value));
  }
  return cef;
}

struct Leef {
  std::vector<std::string> header;  // "LEEF:2.0", vendor, product, version, event id, delimiter
  std::vector<std::pair<std::string, std::string>> attrs;

  std::optional<std::string> Get(std::string_view key) const {
    for (const auto& [k, v] : attrs) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const auto& [k, v] : attrs)
      keys.push_back(k);
    return keys;
  }
};

// LEEF 2.0: six pipe-terminated header fields (no escapes); the sixth is the
// attribute delimiter, one character or its hex code behind "x" or "0x".
// Attributes are split at the delimiter; a key runs to the first '='.
std::optional<Leef> ParseLeef(std::string_view line) {
  std::string_view s = Body(line);
  Leef leef;
  for (int n = 0; n < 6; ++n) {
    const std::size_t bar = s.find('|');
    if (bar == std::string_view::npos) return std::nullopt;
    leef.header.emplace_back(s.substr(0, bar));
    s.remove_prefix(bar + 1);
  }
  if (leef.header[0] != "LEEF:2.0") return std::nullopt;
  std::string_view d = leef.header[5];
  char delimiter = 0;
  if (d.size() == 1) {
    delimiter = d[0];
  } else {
    if (d.substr(0, 2) == "0x") {
      d.remove_prefix(2);
    } else if (d.substr(0, 1) == "x") {
      d.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    if (d.empty() || d.size() > 4) return std::nullopt;
    delimiter = static_cast<char>(std::stoi(std::string(d), nullptr, 16));
  }
  while (!s.empty()) {
    const std::size_t end = std::min(s.find(delimiter), s.size());
    const std::string_view attr = s.substr(0, end);
    const std::size_t eq = attr.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    leef.attrs.emplace_back(attr.substr(0, eq), attr.substr(eq + 1));
    s.remove_prefix(end == s.size() ? end : end + 1);
  }
  return leef;
}

struct Syslog {
  int pri = -1;
  std::string timestamp, hostname, app_name, procid, msgid;
  std::string sd_id;
  std::vector<std::pair<std::string, std::string>> params;
  bool bom = false;
  std::string msg;

  std::optional<std::string> Get(std::string_view name) const {
    for (const auto& [k, v] : params) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
};

bool IsPrintUsAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

bool IsSdName(std::string_view s) {
  return !s.empty() && s.size() <= 32 && IsPrintUsAscii(s) &&
         s.find_first_of("= ]\"") == std::string_view::npos;
}

// RFC 5424 section 6: HEADER SP STRUCTURED-DATA [SP MSG], one SD-ELEMENT or
// NILVALUE; in a PARAM-VALUE a backslash escapes '"', '\' and ']', and an
// unescaped ']' or a missing closing quote is an error.
std::optional<Syslog> ParseSyslog(std::string_view line) {
  std::string_view s = Body(line);
  Syslog out;
  if (s.empty() || s[0] != '<') return std::nullopt;
  const std::size_t gt = s.find('>');
  if (gt == std::string_view::npos || gt < 2 || gt > 4) return std::nullopt;
  out.pri = std::stoi(std::string(s.substr(1, gt - 1)));
  if (out.pri < 0 || out.pri > 191) return std::nullopt;
  s.remove_prefix(gt + 1);
  if (s.substr(0, 2) != "1 ") return std::nullopt;
  s.remove_prefix(2);
  std::string* fields[] = {&out.timestamp, &out.hostname, &out.app_name, &out.procid, &out.msgid};
  const std::size_t limits[] = {64, 255, 48, 128, 32};
  for (int n = 0; n < 5; ++n) {
    const std::size_t sp = s.find(' ');
    if (sp == std::string_view::npos) return std::nullopt;
    *fields[n] = std::string(s.substr(0, sp));
    if (fields[n]->empty() || fields[n]->size() > limits[n] || !IsPrintUsAscii(*fields[n])) {
      return std::nullopt;
    }
    s.remove_prefix(sp + 1);
  }
  if (s.substr(0, 1) == "-") {
    s.remove_prefix(1);
  } else {
    if (s.substr(0, 1) != "[") return std::nullopt;
    s.remove_prefix(1);
    const std::size_t id_end = std::min(s.find_first_of(" ]"), s.size());
    out.sd_id = std::string(s.substr(0, id_end));
    if (!IsSdName(out.sd_id)) return std::nullopt;
    s.remove_prefix(id_end);
    while (true) {
      if (s.empty()) return std::nullopt;
      if (s[0] == ']') {
        s.remove_prefix(1);
        break;
      }
      if (s[0] != ' ') return std::nullopt;
      s.remove_prefix(1);
      const std::size_t eq = s.find('=');
      if (eq == std::string_view::npos || !IsSdName(s.substr(0, eq))) return std::nullopt;
      std::string name(s.substr(0, eq));
      s.remove_prefix(eq + 1);
      if (s.substr(0, 1) != "\"") return std::nullopt;
      s.remove_prefix(1);
      std::string value;
      while (true) {
        if (s.empty()) return std::nullopt;
        const char c = s[0];
        s.remove_prefix(1);
        if (c == '"') break;
        if (c == ']') return std::nullopt;
        if (c == '\\' && !s.empty() && (s[0] == '"' || s[0] == '\\' || s[0] == ']')) {
          value += s[0];
          s.remove_prefix(1);
        } else {
          value += c;
        }
      }
      out.params.emplace_back(std::move(name), std::move(value));
    }
  }
  if (!s.empty()) {
    if (s[0] != ' ') return std::nullopt;
    s.remove_prefix(1);
    if (s.substr(0, 3) == "\xEF\xBB\xBF") {
      out.bom = true;
      s.remove_prefix(3);
    }
    out.msg = std::string(s);
  }
  return out;
}

// ---------------------------------------------------------------------------
// The hostile value, piece by piece, so what each format carries of it can be
// spelled out: its delimiters and escapes, line breaks, a tab, NUL, ESC,
// invalid UTF-8 (a stray byte, a cut sequence, a surrogate, an overlong),
// multi-byte characters and attempts at forging keys, attributes and params.

struct Piece {
  enum Kind { kText, kControl, kInvalid } kind;
  std::string raw;
  int replacements = 0;  // kInvalid: U+FFFDs the bytes become
};

const std::vector<Piece>& HostilePieces() {
  static const std::vector<Piece> pieces = {
      {Piece::kText, "a|b\\c=d\"e]f[g"},
      {Piece::kControl, "\n"},
      {Piece::kText, "h"},
      {Piece::kControl, "\r"},
      {Piece::kText, "i"},
      {Piece::kControl, "\t"},
      {Piece::kText, "j"},
      {Piece::kControl, std::string(1, '\0')},
      {Piece::kText, "k"},
      {Piece::kControl, "\x1b"},
      {Piece::kText, "l"},
      {Piece::kInvalid, "\xff", 1},
      {Piece::kText, "m"},
      {Piece::kInvalid, "\xc3", 1},
      {Piece::kText, "("},
      {Piece::kInvalid, "\xed\xa0\x80", 3},
      {Piece::kInvalid, "\xc0\xaf", 2},
      {Piece::kText, " \xc3\xa9\xf0\x9f\x98\x80 cs1=forged x="},
      {Piece::kControl, "\t"},
      {Piece::kText, "src=6.6.6.6 y=\"z\"] [evil@1 a=\"b\"] \\"},
  };
  return pieces;
}

std::string Hostile() {
  std::string out;
  for (const Piece& p : HostilePieces())
    out += p.raw;
  return out;
}

// The hostile value as a format carries it: invalid UTF-8 as U+FFFD, the
// control characters in `kept` as they are, the others as U+FFFD.
std::string HostileCarried(std::string_view kept) {
  std::string out;
  for (const Piece& p : HostilePieces()) {
    if (p.kind == Piece::kText) {
      out += p.raw;
    } else if (p.kind == Piece::kControl) {
      out += kept.find(p.raw[0]) != std::string_view::npos ? p.raw : std::string(kFffd);
    } else {
      for (int n = 0; n < p.replacements; ++n)
        out += kFffd;
    }
  }
  return out;
}

const std::string kAllControls = {'\n', '\r', '\t', '\0', '\x1b'};

// The hostile value in every free-text field, the options and the labels.
ExportEvent HostileEvent() {
  ExportEvent e = Full();
  Set(e, "event.category", "file");
  Set(e, "event.syscall", Hostile());
  Set(e, "process.cmdline", Hostile());
  Set(e, "file.path", "/tmp/" + Hostile());
  Set(e, "container.image", Hostile());
  Set(e, "host.name", Hostile());
  Set(e, "rule.id", Hostile());
  Set(e, "labels", Hostile());
  return e;
}

FormatOptions HostileOptions() {
  FormatOptions o;
  o.product_version = Hostile();
  o.tenant_id = Hostile();
  return o;
}

// ---------------------------------------------------------------------------
// API basics.

TEST(ExportFormatTest, ParsesTheFourNamesInAnyCase) {
  EXPECT_EQ(*ParseExportFormat("json"), ExportFormat::kJson);
  EXPECT_EQ(*ParseExportFormat("cef"), ExportFormat::kCef);
  EXPECT_EQ(*ParseExportFormat("leef"), ExportFormat::kLeef);
  EXPECT_EQ(*ParseExportFormat("syslog"), ExportFormat::kSyslog);
  EXPECT_EQ(*ParseExportFormat("JSON"), ExportFormat::kJson);
  EXPECT_EQ(*ParseExportFormat("Syslog"), ExportFormat::kSyslog);
}

TEST(ExportFormatTest, RefusesOtherNamesNamingTheChoices) {
  const std::string_view bads[] = {"",       "xml",   "json ",   " cef",
                                   "ndjson", "leef2", "rfc5424", std::string_view("json\0", 5)};
  for (std::string_view bad : bads) {
    StatusOr<ExportFormat> f = ParseExportFormat(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(f.status().message(), HasSubstr("json, cef, leef, syslog"));
  }
}

TEST(ExportFormatTest, ContentTypes) {
  EXPECT_EQ(ContentType(ExportFormat::kJson), "application/x-ndjson");
  EXPECT_EQ(ContentType(ExportFormat::kCef), "text/plain; charset=utf-8");
  EXPECT_EQ(ContentType(ExportFormat::kLeef), "text/plain; charset=utf-8");
  EXPECT_EQ(ContentType(ExportFormat::kSyslog), "text/plain; charset=utf-8");
}

TEST(ExportFormatTest, FindTellsAbsentFromNullAndTakesTheFirst) {
  ExportEvent e;
  e.fields = {{"a", "1"}, {"b", std::nullopt}, {"a", "2"}};
  ASSERT_NE(e.Find("a"), nullptr);
  EXPECT_EQ(*e.Find("a"), "1");
  ASSERT_NE(e.Find("b"), nullptr);
  EXPECT_FALSE(e.Find("b")->has_value());
  EXPECT_EQ(e.Find("c"), nullptr);
}

// ---------------------------------------------------------------------------
// JSON lines.

TEST(JsonFormatTest, FullEvent) {
  EXPECT_EQ(FormatEvent(ExportFormat::kJson, Full(), WithTenant()),
            R"({"event.time":"2026-11-28T12:00:00.123456Z",)"
            R"("event.id":"0b6f2c1e-0000-4000-8000-000000000001","event.action":"deny",)"
            R"("event.category":"network","event.syscall":"connect","event.result":-1,)"
            R"("event.enforced":true,"process.name":"curl","process.path":"/usr/bin/curl",)"
            R"("process.pid":42,"process.ppid":7,"process.uid":1000,"process.gid":1001,)"
            R"("process.cmdline":"curl https://example.com","file.path":"/etc/ssl/certs/ca.pem",)"
            R"("file.operation":"read","network.direction":"outbound","network.protocol":"tcp",)"
            R"("network.remote.ip":"203.0.113.10","network.remote.port":443,)"
            R"("network.local.ip":"10.0.0.5","network.local.port":51234,"container.id":"c0ffee",)"
            R"("container.image":"registry.example/app:1.2",)"
            R"("agent.id":"a9e8d7c6-0000-4000-8000-000000000002","host.name":"node-1",)"
            R"("policy.id":"5e1f0000-0000-4000-8000-000000000003","policy.version":3,)"
            R"("rule.id":"no-egress","labels":{"env":"prod","team":"web"},)"
            R"("tenant.id":"7e000000-0000-4000-8000-000000000004"})"
            "\n");
}

TEST(JsonFormatTest, MinimalEventOmitsNulls) {
  EXPECT_EQ(FormatEvent(ExportFormat::kJson, Minimal(), kOptions),
            R"({"event.time":"2026-11-28T12:00:00.500000Z",)"
            R"("event.id":"0b6f2c1e-0000-4000-8000-000000000001","event.action":"allow",)"
            R"("event.category":"process","event.syscall":"execve","process.path":"/bin/sh"})"
            "\n");
  EXPECT_EQ(FormatEvent(ExportFormat::kJson, AllNull(), kOptions), "{}\n");
  EXPECT_EQ(FormatEvent(ExportFormat::kJson, ExportEvent{}, kOptions), "{}\n");
}

TEST(JsonFormatTest, TypesFollowTheCatalogAndFallBackToStrings) {
  ExportEvent e = AllNull();
  Set(e, "process.pid", "007");                      // canonical number
  Set(e, "process.uid", "4294967294");               // bigint
  Set(e, "event.result", "12abc");                   // not a number: kept, as a string
  Set(e, "policy.version", "99999999999999999999");  // beyond 64 bits: a string
  Set(e, "event.enforced", "f");
  Set(e, "labels", "not json");
  Set(e, "extra.field", "kept");  // outside the catalog: a string
  const nlohmann::json j = nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions));
  EXPECT_EQ(j["process.pid"], 7);
  EXPECT_EQ(j["process.uid"], 4294967294);
  EXPECT_EQ(j["event.result"], "12abc");
  EXPECT_EQ(j["policy.version"], "99999999999999999999");
  EXPECT_EQ(j["event.enforced"], false);
  EXPECT_EQ(j["labels"], "not json");
  EXPECT_EQ(j["extra.field"], "kept");
}

TEST(JsonFormatTest, TimesAreUtcWithMicroseconds) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"2026-11-28 12:00:00+00", "2026-11-28T12:00:00.000000Z"},
      {"2026-11-28 17:30:00.5+05:30", "2026-11-28T12:00:00.500000Z"},
      {"2026-11-28 07:00:00.123-05", "2026-11-28T12:00:00.123000Z"},
      {"2026-11-28 12:00:01.000001+00:00:01", "2026-11-28T12:00:00.000001Z"},
      {"2026-11-28T12:00:00.1234567Z", "2026-11-28T12:00:00.123456Z"},
      {"2026-01-01 00:30:00+01", "2025-12-31T23:30:00.000000Z"},
      {"1969-12-31 23:59:59.999999+00", "1969-12-31T23:59:59.999999Z"},
      {"2024-02-29 00:00:00+00", "2024-02-29T00:00:00.000000Z"},
      // Not a time this export can write: kept as it came.
      {"infinity", "infinity"},
      {"2025-02-29 00:00:00+00", "2025-02-29 00:00:00+00"},
      {"2026-11-28 24:00:00+00", "2026-11-28 24:00:00+00"},
      {"2026-11-28 12:00:00+05:", "2026-11-28 12:00:00+05:"},
      {"2026-11-28 12:00:00.+00", "2026-11-28 12:00:00.+00"},
      {"0000-01-01 00:00:00+01", "0000-01-01 00:00:00+01"},
      {"10000-01-01 00:00:00+00", "10000-01-01 00:00:00+00"},
  };
  for (const auto& [in, want] : cases) {
    ExportEvent e;
    e.fields = {{"event.time", std::string(in)}};
    const nlohmann::json j = nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions));
    EXPECT_EQ(j["event.time"], want) << in;
  }
}

TEST(JsonFormatTest, HostileValuesRoundTrip) {
  const std::string line = FormatEvent(ExportFormat::kJson, HostileEvent(), HostileOptions());
  ExpectOneBoundedLine(line);
  const nlohmann::json j = nlohmann::json::parse(line);   // throws on invalid JSON or UTF-8
  const std::string want = HostileCarried(kAllControls);  // JSON escapes every control
  EXPECT_EQ(j["event.syscall"], want);
  EXPECT_EQ(j["process.cmdline"], want);
  EXPECT_EQ(j["file.path"], "/tmp/" + want);
  EXPECT_EQ(j["container.image"], want);
  EXPECT_EQ(j["host.name"], want);
  EXPECT_EQ(j["rule.id"], want);
  EXPECT_EQ(j["labels"], want);  // not a JSON object: a string
  EXPECT_EQ(j["tenant.id"].get<std::string>().substr(0, 13), want.substr(0, 13));
}

TEST(JsonFormatTest, LabelsWithInvalidUtf8OrOtherValueTypes) {
  ExportEvent e;
  e.fields = {{"labels", "{\"a\": \"x\xff\", \"b\": 1}"}};  // not valid JSON text: a string
  nlohmann::json j = nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions));
  EXPECT_EQ(j["labels"], "{\"a\": \"x" + std::string(kFffd) + "\", \"b\": 1}");

  e.fields = {{"labels", R"({"b": 1, "a": {"n": null}, "c": "\n"})"}};
  j = nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions));
  EXPECT_EQ(j["labels"], nlohmann::json::parse(R"({"a": "{\"n\":null}", "b": "1", "c": "\n"})"));
}

TEST(JsonFormatTest, DeeplyNestedLabelValuesAreDropped) {
  ExportEvent e;
  e.fields = {{"labels", R"({"a": "x", "deep": )" + std::string(100'000, '[') +
                             std::string(100'000, ']') + "}"}};
  const std::string line = FormatEvent(ExportFormat::kJson, e, kOptions);
  ExpectOneBoundedLine(line);
  const nlohmann::json labels = nlohmann::json::parse(line)["labels"];
  EXPECT_EQ(labels["a"], "x");
  EXPECT_LE(labels.dump().size(), 4096u);
}

TEST(JsonFormatTest, ManyLabelsAreCutWithACount) {
  nlohmann::json many = nlohmann::json::object();
  for (int i = 0; i < 500; ++i)
    many["key" + std::to_string(1000 + i)] = std::string(40, 'v');
  ExportEvent e;
  e.fields = {{"labels", many.dump()}};
  const std::string line = FormatEvent(ExportFormat::kJson, e, kOptions);
  ExpectOneBoundedLine(line);
  const nlohmann::json labels = nlohmann::json::parse(line)["labels"];
  ASSERT_TRUE(labels.contains(kTruncationMarker));
  const std::size_t kept = labels.size() - 1;
  EXPECT_GT(kept, 10u);
  EXPECT_EQ(labels[std::string(kTruncationMarker)], std::to_string(500 - kept) + " more labels");
  EXPECT_EQ(labels["key1000"], std::string(40, 'v'));  // the first ones, in key order
  EXPECT_LE(labels.dump().size(), 4096u);
}

// ---------------------------------------------------------------------------
// CEF.

TEST(CefFormatTest, FullEvent) {
  EXPECT_EQ(FormatEvent(ExportFormat::kCef, Full(), WithTenant()),
            "CEF:0|Portcullis|Portcullis Agent|0.1.0|network:deny|deny connect 203.0.113.10:443|7|"
            "rt=1795867200123 externalId=0b6f2c1e-0000-4000-8000-000000000001 act=deny "
            "cat=network PortcullisSyscall=connect cn2=-1 cn2Label=Result PortcullisEnforced=true "
            "sproc=curl PortcullisProcessPath=/usr/bin/curl spid=42 cn3=7 cn3Label=Parent PID "
            "suid=1000 PortcullisGid=1001 cs5=curl https://example.com cs5Label=Command Line "
            "fname=ca.pem filePath=/etc/ssl/certs/ca.pem PortcullisFileOperation=read "
            "deviceDirection=1 PortcullisNetworkDirection=outbound proto=TCP src=10.0.0.5 "
            "spt=51234 dst=203.0.113.10 dpt=443 cs3=c0ffee cs3Label=Container ID "
            "cs4=registry.example/app:1.2 cs4Label=Container Image "
            "deviceExternalId=a9e8d7c6-0000-4000-8000-000000000002 dvchost=node-1 "
            "cs2=5e1f0000-0000-4000-8000-000000000003 cs2Label=Policy ID cn1=3 "
            "cn1Label=Policy Version cs1=no-egress cs1Label=Rule ID "
            "cs6={\"env\": \"prod\", \"team\": \"web\"} cs6Label=Labels "
            "PortcullisTenantId=7e000000-0000-4000-8000-000000000004\n");
}

TEST(CefFormatTest, MinimalAndEmptyEvents) {
  EXPECT_EQ(FormatEvent(ExportFormat::kCef, Minimal(), kOptions),
            "CEF:0|Portcullis|Portcullis Agent|0.1.0|process:allow|allow execve /bin/sh|1|"
            "rt=1795867200500 externalId=0b6f2c1e-0000-4000-8000-000000000001 act=allow "
            "cat=process PortcullisSyscall=execve PortcullisProcessPath=/bin/sh\n");
  EXPECT_EQ(FormatEvent(ExportFormat::kCef, AllNull(), kOptions),
            "CEF:0|Portcullis|Portcullis Agent|0.1.0|unknown:unknown|event|5|\n");
}

TEST(CefFormatTest, SeverityFollowsTheAction) {
  const std::pair<std::optional<std::string>, std::string> cases[] = {
      {"deny", "7"}, {"monitor", "4"}, {"allow", "1"}, {std::nullopt, "5"}, {"audit", "5"}};
  for (const auto& [action, severity] : cases) {
    ExportEvent e = Full();
    Set(e, "event.action", action);
    const std::optional<Cef> cef = ParseCef(FormatEvent(ExportFormat::kCef, e, kOptions));
    ASSERT_TRUE(cef.has_value());
    EXPECT_EQ(cef->header[6], severity) << action.value_or("NULL");
  }
}

TEST(CefFormatTest, InboundPutsTheWorkloadOnTheDestinationSideAndIpv6InC6a) {
  ExportEvent e = Full();
  Set(e, "network.direction", "inbound");
  Set(e, "network.remote.ip", "2001:db8::1");
  Set(e, "event.syscall", "accept4");
  const std::optional<Cef> cef = ParseCef(FormatEvent(ExportFormat::kCef, e, kOptions));
  ASSERT_TRUE(cef.has_value());
  EXPECT_EQ(cef->header[5], "deny accept4 [2001:db8::1]:443");
  EXPECT_EQ(cef->Get("c6a2"), "2001:db8::1");
  EXPECT_EQ(cef->Get("c6a2Label"), "Source IPv6 Address");
  EXPECT_EQ(cef->Get("spt"), "443");
  EXPECT_EQ(cef->Get("dst"), "10.0.0.5");
  EXPECT_EQ(cef->Get("dpt"), "51234");
  EXPECT_EQ(cef->Get("dproc"), "curl");
  EXPECT_EQ(cef->Get("dpid"), "42");
  EXPECT_EQ(cef->Get("duid"), "1000");
  EXPECT_EQ(cef->Get("deviceDirection"), "0");
  EXPECT_EQ(cef->Get("src"), std::nullopt);
  EXPECT_EQ(cef->Get("sproc"), std::nullopt);

  Set(e, "network.direction", "listen");
  Set(e, "network.remote.ip", std::nullopt);
  Set(e, "network.remote.port", std::nullopt);
  Set(e, "network.local.ip", "::");
  const std::optional<Cef> listen = ParseCef(FormatEvent(ExportFormat::kCef, e, kOptions));
  ASSERT_TRUE(listen.has_value());
  EXPECT_EQ(listen->header[5], "deny accept4 [::]:51234");
  EXPECT_EQ(listen->Get("c6a3"), "::");
  EXPECT_EQ(listen->Get("dpt"), "51234");
  EXPECT_EQ(listen->Get("deviceDirection"), std::nullopt);
  EXPECT_EQ(listen->Get("PortcullisNetworkDirection"), "listen");
}

TEST(CefFormatTest, HostileValuesRoundTrip) {
  const std::string line = FormatEvent(ExportFormat::kCef, HostileEvent(), HostileOptions());
  ExpectOneBoundedLine(line);
  const std::optional<Cef> cef = ParseCef(line);
  ASSERT_TRUE(cef.has_value()) << line;
  // Header: \| and \\ escaped; no line breaks at all (LF and CR too become U+FFFD).
  const std::string header_want = HostileCarried("");
  EXPECT_EQ(cef->header[3], header_want);
  EXPECT_EQ(cef->header[4], "file:deny");
  EXPECT_EQ(cef->header[5], "deny " + header_want + " /tmp/" + header_want);
  // Extension: \\, \= and \n, \r; nothing else needs escaping, and no key is forged.
  const std::string want = HostileCarried("\n\r");
  EXPECT_EQ(cef->Get("PortcullisSyscall"), want);
  EXPECT_EQ(cef->Get("cs5"), want);
  EXPECT_EQ(cef->Get("filePath"), "/tmp/" + want);
  EXPECT_EQ(cef->Get("fname"), want);
  EXPECT_EQ(cef->Get("cs4"), want);
  EXPECT_EQ(cef->Get("dvchost"), want);
  EXPECT_EQ(cef->Get("cs1"), want);
  EXPECT_EQ(cef->Get("cs6"), want);
  EXPECT_EQ(cef->Get("PortcullisTenantId")->substr(0, 13), want.substr(0, 13));
  EXPECT_EQ(cef->Keys(), ParseCef(FormatEvent(
                                      ExportFormat::kCef,
                                      [] {
                                        ExportEvent e = Full();
                                        Set(e, "event.category", "file");
                                        return e;
                                      }(),
                                      WithTenant()))
                             ->Keys());
}

// ---------------------------------------------------------------------------
// LEEF 2.0.

TEST(LeefFormatTest, FullEvent) {
  EXPECT_EQ(FormatEvent(ExportFormat::kLeef, Full(), WithTenant()),
            "LEEF:2.0|Portcullis|Portcullis Agent|0.1.0|network-deny|x09|"
            "devTime=2026-11-28T12:00:00.123+0000\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ\t"
            "cat=network\tsev=7\teventUuid=0b6f2c1e-0000-4000-8000-000000000001\taction=deny\t"
            "syscall=connect\tresult=-1\tenforced=true\tprocessName=curl\t"
            "processPath=/usr/bin/curl\tpid=42\tppid=7\tuid=1000\tgid=1001\t"
            "cmdline=curl https://example.com\tfilePath=/etc/ssl/certs/ca.pem\t"
            "fileOperation=read\tdirection=outbound\tproto=TCP\tsrc=10.0.0.5\tsrcPort=51234\t"
            "dst=203.0.113.10\tdstPort=443\tcontainerId=c0ffee\t"
            "containerImage=registry.example/app:1.2\t"
            "agentId=a9e8d7c6-0000-4000-8000-000000000002\thostName=node-1\t"
            "policyId=5e1f0000-0000-4000-8000-000000000003\tpolicyVersion=3\truleId=no-egress\t"
            "labels={\"env\": \"prod\", \"team\": \"web\"}\t"
            "tenantId=7e000000-0000-4000-8000-000000000004\n");
}

TEST(LeefFormatTest, MinimalAndEmptyEvents) {
  EXPECT_EQ(FormatEvent(ExportFormat::kLeef, Minimal(), kOptions),
            "LEEF:2.0|Portcullis|Portcullis Agent|0.1.0|process-allow|x09|"
            "devTime=2026-11-28T12:00:00.500+0000\tdevTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ\t"
            "cat=process\tsev=1\teventUuid=0b6f2c1e-0000-4000-8000-000000000001\taction=allow\t"
            "syscall=execve\tprocessPath=/bin/sh\n");
  EXPECT_EQ(FormatEvent(ExportFormat::kLeef, AllNull(), kOptions),
            "LEEF:2.0|Portcullis|Portcullis Agent|0.1.0|unknown-unknown|x09|sev=5\n");
}

TEST(LeefFormatTest, InboundSwapsSourceAndDestination) {
  ExportEvent e = Full();
  Set(e, "network.direction", "inbound");
  const std::optional<Leef> leef = ParseLeef(FormatEvent(ExportFormat::kLeef, e, kOptions));
  ASSERT_TRUE(leef.has_value());
  EXPECT_EQ(leef->Get("src"), "203.0.113.10");
  EXPECT_EQ(leef->Get("srcPort"), "443");
  EXPECT_EQ(leef->Get("dst"), "10.0.0.5");
  EXPECT_EQ(leef->Get("dstPort"), "51234");
}

TEST(LeefFormatTest, UnparseableTimeIsKeptUnderItsOwnKey) {
  ExportEvent e = Minimal();
  Set(e, "event.time", "infinity");
  const std::optional<Leef> leef = ParseLeef(FormatEvent(ExportFormat::kLeef, e, kOptions));
  ASSERT_TRUE(leef.has_value());
  EXPECT_EQ(leef->Get("devTime"), std::nullopt);
  EXPECT_EQ(leef->Get("devTimeFormat"), std::nullopt);
  EXPECT_EQ(leef->Get("eventTime"), "infinity");
}

TEST(LeefFormatTest, HostileValuesRoundTrip) {
  const std::string line = FormatEvent(ExportFormat::kLeef, HostileEvent(), HostileOptions());
  ExpectOneBoundedLine(line);
  const std::optional<Leef> leef = ParseLeef(line);
  ASSERT_TRUE(leef.has_value()) << line;
  EXPECT_EQ(leef->header[5], "x09");
  // LEEF has no escapes: a pipe in a header field and the delimiter (TAB)
  // anywhere can't be carried, nor can the other control characters.
  std::string header_want = HostileCarried("");
  for (std::size_t at = 0; (at = header_want.find('|', at)) != std::string::npos;) {
    header_want.replace(at, 1, kFffd);
  }
  EXPECT_EQ(leef->header[3], header_want);
  const std::string want = HostileCarried("");
  EXPECT_EQ(leef->Get("syscall"), want);
  EXPECT_EQ(leef->Get("cmdline"), want);
  EXPECT_EQ(leef->Get("filePath"), "/tmp/" + want);
  EXPECT_EQ(leef->Get("containerImage"), want);
  EXPECT_EQ(leef->Get("hostName"), want);
  EXPECT_EQ(leef->Get("ruleId"), want);
  EXPECT_EQ(leef->Get("labels"), want);
  EXPECT_EQ(leef->Get("tenantId")->substr(0, 13), want.substr(0, 13));
  ExportEvent plain = Full();
  Set(plain, "event.category", "file");
  EXPECT_EQ(leef->Keys(), ParseLeef(FormatEvent(ExportFormat::kLeef, plain, WithTenant()))->Keys());
}

// ---------------------------------------------------------------------------
// RFC 5424 syslog.

TEST(SyslogFormatTest, FullEvent) {
  EXPECT_EQ(
      FormatEvent(ExportFormat::kSyslog, Full(), WithTenant()),
      "<164>1 2026-11-28T12:00:00.123456Z node-1 portcullis 42 network [portcullis@32473 "
      "event.id=\"0b6f2c1e-0000-4000-8000-000000000001\" event.action=\"deny\" "
      "event.category=\"network\" event.syscall=\"connect\" event.result=\"-1\" "
      "event.enforced=\"true\" process.name=\"curl\" process.path=\"/usr/bin/curl\" "
      "process.pid=\"42\" process.ppid=\"7\" process.uid=\"1000\" process.gid=\"1001\" "
      "process.cmdline=\"curl https://example.com\" file.path=\"/etc/ssl/certs/ca.pem\" "
      "file.operation=\"read\" network.direction=\"outbound\" network.protocol=\"tcp\" "
      "network.remote.ip=\"203.0.113.10\" network.remote.port=\"443\" "
      "network.local.ip=\"10.0.0.5\" network.local.port=\"51234\" container.id=\"c0ffee\" "
      "container.image=\"registry.example/app:1.2\" "
      "agent.id=\"a9e8d7c6-0000-4000-8000-000000000002\" host.name=\"node-1\" "
      "policy.id=\"5e1f0000-0000-4000-8000-000000000003\" policy.version=\"3\" "
      "rule.id=\"no-egress\" labels=\"{\\\"env\\\": \\\"prod\\\", \\\"team\\\": \\\"web\\\"}\" "
      "tenant.id=\"7e000000-0000-4000-8000-000000000004\"] deny connect 203.0.113.10:443\n");
}

TEST(SyslogFormatTest, MinimalAndEmptyEvents) {
  EXPECT_EQ(FormatEvent(ExportFormat::kSyslog, Minimal(), kOptions),
            "<166>1 2026-11-28T12:00:00.500000Z - portcullis - process [portcullis@32473 "
            "event.id=\"0b6f2c1e-0000-4000-8000-000000000001\" event.action=\"allow\" "
            "event.category=\"process\" event.syscall=\"execve\" process.path=\"/bin/sh\"] "
            "allow execve /bin/sh\n");
  EXPECT_EQ(FormatEvent(ExportFormat::kSyslog, AllNull(), kOptions),
            "<165>1 - - portcullis - - [portcullis@32473] event\n");
}

TEST(SyslogFormatTest, PriIsLocal4AndTheActionsSeverity) {
  const std::pair<std::optional<std::string>, int> cases[] = {
      {"deny", 20 * 8 + 4},     // warning
      {"monitor", 20 * 8 + 5},  // notice
      {"allow", 20 * 8 + 6},    // informational
      {std::nullopt, 20 * 8 + 5}, {"audit", 20 * 8 + 5},
  };
  for (const auto& [action, pri] : cases) {
    ExportEvent e = Full();
    Set(e, "event.action", action);
    const std::optional<Syslog> msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions));
    ASSERT_TRUE(msg.has_value());
    EXPECT_EQ(msg->pri, pri) << action.value_or("NULL");
  }
}

TEST(SyslogFormatTest, HeaderFieldsArePrintableAsciiOrNil) {
  ExportEvent e = Full();
  Set(e, "host.name", "node 1\t\xc3\xa9\xff|x");
  Set(e, "process.pid", "not-a-pid");
  Set(e, "event.category", "file system");
  Set(e, "event.time", "infinity");
  std::optional<Syslog> msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions));
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->hostname, "node_1___|x");
  EXPECT_EQ(msg->procid, "-");
  EXPECT_EQ(msg->msgid, "file_system");
  EXPECT_EQ(msg->timestamp, "-");
  EXPECT_EQ(msg->Get("event.time"), "infinity");  // kept in the structured data
  EXPECT_EQ(msg->Get("host.name"),
            "node 1" + std::string(kFffd) + "\xc3\xa9" + std::string(kFffd) + "|x");  // exact there

  Set(e, "host.name", std::string(300, 'h'));
  Set(e, "event.category", std::string(40, 'c'));
  msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions));
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->hostname.size(), 255u);
  EXPECT_THAT(msg->hostname, StartsWith(std::string(200, 'h')));
  EXPECT_LE(msg->msgid.size(), 32u);
  EXPECT_EQ(msg->Get("host.name"), std::string(300, 'h'));
}

TEST(SyslogFormatTest, MsgHasABomOnlyWhenNotAscii) {
  ExportEvent e = Minimal();
  std::optional<Syslog> msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions));
  ASSERT_TRUE(msg.has_value());
  EXPECT_FALSE(msg->bom);
  Set(e, "process.path", "/bin/\xc3\xa9");
  msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions));
  ASSERT_TRUE(msg.has_value());
  EXPECT_TRUE(msg->bom);
  EXPECT_EQ(msg->msg, "allow execve /bin/\xc3\xa9");
}

TEST(SyslogFormatTest, TheSdIdCarriesTheConfiguredEnterpriseNumber) {
  FormatOptions o;
  o.syslog_enterprise_number = 4242;
  const std::optional<Syslog> msg =
      ParseSyslog(FormatEvent(ExportFormat::kSyslog, HostileEvent(), o));
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(msg->sd_id, "portcullis@4242");
}

TEST(SyslogFormatTest, HostileValuesRoundTrip) {
  const std::string line = FormatEvent(ExportFormat::kSyslog, HostileEvent(), HostileOptions());
  ExpectOneBoundedLine(line);
  const std::optional<Syslog> msg = ParseSyslog(line);
  ASSERT_TRUE(msg.has_value()) << line;
  EXPECT_EQ(msg->sd_id, "portcullis@32473");
  const std::string want = HostileCarried("");
  EXPECT_EQ(msg->Get("event.syscall"), want);
  EXPECT_EQ(msg->Get("process.cmdline"), want);
  EXPECT_EQ(msg->Get("file.path"), "/tmp/" + want);
  EXPECT_EQ(msg->Get("container.image"), want);
  EXPECT_EQ(msg->Get("host.name"), want);
  EXPECT_EQ(msg->Get("rule.id"), want);
  EXPECT_EQ(msg->Get("labels"), want);
  EXPECT_EQ(msg->Get("tenant.id")->substr(0, 13), want.substr(0, 13));
  EXPECT_EQ(msg->Get("evil@1"), std::nullopt);
  EXPECT_EQ(msg->params.size(), 30u);  // 29 fields (all but the time) and the tenant
  EXPECT_TRUE(msg->bom);
  EXPECT_EQ(msg->msg, "deny " + want + " /tmp/" + want);
}

// ---------------------------------------------------------------------------
// Limits.

TEST(LimitsTest, APathMaxPathStaysWhole) {
  const std::string path = "/" + std::string(4094, 'p');  // 4095 bytes: PATH_MAX less the NUL
  ExportEvent e = Full();
  Set(e, "event.category", "file");
  Set(e, "file.path", path);
  EXPECT_EQ(nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions))["file.path"],
            path);
  EXPECT_EQ(ParseCef(FormatEvent(ExportFormat::kCef, e, kOptions))->Get("filePath"), path);
  EXPECT_EQ(ParseLeef(FormatEvent(ExportFormat::kLeef, e, kOptions))->Get("filePath"), path);
  EXPECT_EQ(ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions))->Get("file.path"), path);
}

// Every field 10 KiB of the characters each format expands most.
ExportEvent Huge() {
  std::string huge;
  while (huge.size() < std::size_t{10} * 1024)
    huge += "\x01=\"\\]|\n\xff";
  ExportEvent e = AllNull();
  for (auto& [name, value] : e.fields)
    value = huge;
  return e;
}

TEST(LimitsTest, HugeValuesAreCutWithTheMarkerWithinTheLineCap) {
  const ExportEvent e = Huge();
  const FormatOptions o{.product_version = e.fields[0].second.value(),
                        .tenant_id = e.fields[0].second.value()};
  for (ExportFormat f : kFormats) {
    const std::string line = FormatEvent(f, e, o);
    SCOPED_TRACE(line.substr(0, 200));
    ExpectOneBoundedLine(line);
  }
  const nlohmann::json j = nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, o));
  const std::string path = j["file.path"];
  EXPECT_THAT(path, ::testing::EndsWith(kTruncationMarker));
  EXPECT_THAT(path, StartsWith("\x01=\"\\]|\n" + std::string(kFffd) + "\x01"));

  const std::optional<Cef> cef = ParseCef(FormatEvent(ExportFormat::kCef, e, o));
  ASSERT_TRUE(cef.has_value());
  EXPECT_THAT(*cef->Get("filePath"), ::testing::EndsWith(kTruncationMarker));
  EXPECT_THAT(cef->header[5], ::testing::EndsWith(kTruncationMarker));
  EXPECT_LE(cef->header[5].size(), 512u);

  const std::optional<Leef> leef = ParseLeef(FormatEvent(ExportFormat::kLeef, e, o));
  ASSERT_TRUE(leef.has_value());
  EXPECT_THAT(*leef->Get("filePath"), ::testing::EndsWith(kTruncationMarker));

  const std::optional<Syslog> msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, o));
  ASSERT_TRUE(msg.has_value());
  EXPECT_THAT(*msg->Get("file.path"), ::testing::EndsWith(kTruncationMarker));
  EXPECT_THAT(msg->msg, ::testing::EndsWith(kTruncationMarker));
}

TEST(LimitsTest, CutsFallOnCharacterBoundaries) {
  // 3-byte characters: no cut may leave part of one.
  std::string euros;
  for (int i = 0; i < 3000; ++i)
    euros += "\xE2\x82\xAC";
  ExportEvent e = Full();
  Set(e, "file.path", euros);
  for (ExportFormat f : kFormats) {
    const std::string line = FormatEvent(f, e, kOptions);
    ExpectOneBoundedLine(line);
    EXPECT_EQ(line.find(kFffd), std::string::npos) << static_cast<int>(f);
  }
  const std::string path =
      nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions))["file.path"];
  EXPECT_EQ((path.size() - kTruncationMarker.size()) % 3, 0u);
  EXPECT_LE(path.size(), 4096u);
}

// ---------------------------------------------------------------------------
// The catalog: every field of schema/qql/fields.tsv is typed and exported.

TEST(CatalogTest, EveryCatalogFieldIsExported) {
  std::ifstream tsv(PORTCULLIS_QQL_FIELDS_TSV);
  ASSERT_TRUE(tsv.is_open()) << PORTCULLIS_QQL_FIELDS_TSV;
  std::vector<std::pair<std::string, std::string>> fields;  // name, type
  for (std::string row; std::getline(tsv, row);) {
    if (row.empty() || row[0] == '#') continue;
    std::istringstream cols(row);
    std::string name, column, type;
    std::getline(cols, name, '\t');
    std::getline(cols, column, '\t');
    std::getline(cols, type, '\t');
    fields.emplace_back(name, type);
  }
  ASSERT_GE(fields.size(), 29u);

  ExportEvent e;
  for (const auto& [name, type] : fields) {
    if (type == "integer" || type == "bigint" || type == "port") {
      e.fields.emplace_back(name, "7");
    } else if (type == "bool") {
      e.fields.emplace_back(name, "t");
    } else if (type == "timestamp") {
      e.fields.emplace_back(name, "2026-11-28 12:00:00+00");
    } else if (type == "labels") {
      e.fields.emplace_back(name, R"({"k": "v"})");
    } else {
      e.fields.emplace_back(name, "v-" + name);
    }
  }
  const nlohmann::json j = nlohmann::json::parse(FormatEvent(ExportFormat::kJson, e, kOptions));
  const std::optional<Cef> cef = ParseCef(FormatEvent(ExportFormat::kCef, e, kOptions));
  const std::optional<Leef> leef = ParseLeef(FormatEvent(ExportFormat::kLeef, e, kOptions));
  const std::optional<Syslog> msg = ParseSyslog(FormatEvent(ExportFormat::kSyslog, e, kOptions));
  ASSERT_TRUE(cef.has_value() && leef.has_value() && msg.has_value());
  for (const auto& [name, type] : fields) {
    SCOPED_TRACE(::testing::Message() << name << " " << type);
    ASSERT_TRUE(j.contains(name));
    if (type == "integer" || type == "bigint" || type == "port") {
      EXPECT_TRUE(j[name].is_number_integer());
    } else if (type == "bool") {
      EXPECT_TRUE(j[name].is_boolean());
    } else if (type == "timestamp") {
      EXPECT_EQ(j[name], "2026-11-28T12:00:00.000000Z");
    } else if (type == "labels") {
      EXPECT_TRUE(j[name].is_object());
    } else {
      EXPECT_EQ(j[name], "v-" + name);
      // CEF and LEEF have a key for it (in cs/cn slots, standard or custom keys).
      std::string value = "v-" + name;
      if (name == "network.protocol") value = "V-NETWORK.PROTOCOL";  // upper case there
      auto has = [&](const auto& pairs) {
        return std::any_of(pairs.begin(), pairs.end(),
                           [&](const auto& kv) { return kv.second == value; });
      };
      EXPECT_TRUE(has(cef->ext)) << "CEF";
      EXPECT_TRUE(has(leef->attrs)) << "LEEF";
    }
    if (type != "timestamp") {
      EXPECT_TRUE(msg->Get(name).has_value()) << "syslog";
    }
  }
}

}  // namespace
}  // namespace portcullis::query
