#include "domain/rows.h"

#include <arpa/inet.h>

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

namespace portcullis::indexer {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool HasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

// Writes the columns of one row; every check that can fail runs before the
// first byte is appended, so a refused event leaves the batch as it was.
class Line {
 public:
  explicit Line(std::string& out) : out_(out) {}

  void Null() {
    Separator();
    out_ += "\\N";
  }
  // A text column: the empty string is NULL (proto3 can't tell them apart).
  void Text(std::string_view s) {
    if (s.empty()) return Null();
    Separator();
    Escaped(s);
  }
  void Uuid(const std::string& bytes16) {
    Separator();
    for (std::size_t i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) out_ += '-';
      const auto b = static_cast<unsigned char>(bytes16[i]);
      out_ += kHex[b >> 4];
      out_ += kHex[b & 15];
    }
  }
  template <typename Int>
  void Integer(Int v) {
    Separator();
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
    out_.append(buf, end);
  }
  void Bool(bool v) {
    Separator();
    out_ += v ? 't' : 'f';
  }
  // "2026-11-28 12:00:00.123456+00" (microseconds: PostgreSQL's resolution).
  void Timestamp(std::int64_t unix_nano) {
    using namespace std::chrono;
    const sys_time<microseconds> t{microseconds(unix_nano / 1000)};  // unix_nano > 0
    const sys_days day = floor<days>(t);
    const year_month_day ymd(day);
    const hh_mm_ss hms(t - day);
    char buf[40];
    int n = std::snprintf(
        buf, sizeof(buf), "%04d-%02u-%02u %02d:%02d:%02d.%06lld+00", static_cast<int>(ymd.year()),
        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
        static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
        static_cast<int>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
    Separator();
    out_.append(buf, static_cast<std::size_t>(n));
  }
  // 4 or 16 bytes as an address; anything else is NULL.
  void Ip(const std::string& bytes) {
    char buf[INET6_ADDRSTRLEN];
    const int family = bytes.size() == 4 ? AF_INET : bytes.size() == 16 ? AF_INET6 : 0;
    if (family == 0 || inet_ntop(family, bytes.data(), buf, sizeof(buf)) == nullptr) return Null();
    Separator();
    out_ += buf;
  }
  // An enum's name without its prefix, lower case ("CATEGORY_FILE" -> "file").
  void EnumName(const std::string& name, std::string_view prefix) {
    Separator();
    std::string_view s = name;
    if (s.substr(0, prefix.size()) == prefix) s.remove_prefix(prefix.size());
    for (char c : s)
      out_ += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  void End() { out_ += '\n'; }

 private:
  void Separator() {
    if (!first_) out_ += '\t';
    first_ = false;
  }
  // COPY text format: backslash, the delimiter and line ends are escaped.
  void Escaped(std::string_view s) {
    std::size_t from = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const char* esc = c == '\\'   ? "\\\\"
                        : c == '\t' ? "\\t"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                                    : nullptr;
      if (esc == nullptr) continue;
      out_.append(s.substr(from, i - from));
      out_ += esc;
      from = i + 1;
    }
    out_.append(s.substr(from));
  }

  std::string& out_;
  bool first_ = true;
};

Status CheckText(const v1::Event& e) {
  const auto& p = e.process();
  bool nul = HasNul(e.container_id()) || HasNul(e.image()) || HasNul(e.hostname()) ||
             HasNul(e.syscall()) || HasNul(e.rule_id()) || HasNul(p.executable()) ||
             HasNul(e.file().path()) || HasNul(e.file().operation());
  for (const std::string& a : p.argv())
    nul = nul || HasNul(a);
  for (const auto& [k, v] : e.labels())
    nul = nul || HasNul(k) || HasNul(v);
  // PostgreSQL's text and jsonb can't hold a NUL.
  if (nul) return InvalidArgumentError("a string of the event contains a NUL byte");
  return OkStatus();
}

}  // namespace

std::string EventColumnList() {
  std::string out;
  for (const char* c : kEventColumns)
    out += (out.empty() ? "" : ", ") + std::string(c);
  return out;
}

void RowBatch::Clear() {
  copy_text.clear();
  rows = 0;
  days.clear();
  tenants.clear();
}

Status AppendRow(const v1::Event& e, RowBatch& batch) {
  if (e.tenant_id().size() != 16) return InvalidArgumentError("tenant_id is not 16 bytes");
  if (e.event_id().size() != 16) return InvalidArgumentError("event_id is not 16 bytes");
  if (e.agent_id().size() != 16) return InvalidArgumentError("agent_id is not 16 bytes");
  if (!e.policy_id().empty() && e.policy_id().size() != 16) {
    return InvalidArgumentError("policy_id is not 16 bytes");
  }
  if (e.time_unix_nano() <= 0) return InvalidArgumentError("the event has no time");
  if (e.policy_version() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return InvalidArgumentError("policy_version is out of range");
  }
  if (e.network().remote_port() > 65535 || e.network().local_port() > 65535) {
    return InvalidArgumentError("a port is out of range");
  }
  PORTCULLIS_RETURN_IF_ERROR(CheckText(e));

  Line l(batch.copy_text);
  l.Uuid(e.tenant_id());
  l.Uuid(e.event_id());
  l.Timestamp(e.time_unix_nano());
  l.Uuid(e.agent_id());
  l.Text(e.container_id());
  l.Text(e.image());
  l.Text(e.hostname());
  const auto& p = e.process();
  if (e.has_process()) {
    l.Integer(p.pid());
    l.Integer(p.ppid());
    l.Integer(p.uid());
    l.Integer(p.gid());
  } else {
    for (int k = 0; k < 4; ++k)
      l.Null();
  }
  l.Text(p.executable());
  if (p.argv_size() == 0) {
    l.Null();
  } else {
    std::string cmdline;
    for (int a = 0; a < p.argv_size(); ++a)
      (cmdline += (a ? " " : "")) += p.argv(a);
    l.Text(cmdline);
  }
  l.Text(e.syscall());
  if (e.category() == v1::CATEGORY_UNSPECIFIED) {
    l.Null();
  } else {
    l.EnumName(v1::Category_Name(e.category()), "CATEGORY_");
  }
  l.EnumName(v1::Action_Name(e.action()), "ACTION_");
  l.Bool(e.enforced());
  l.Integer(e.result());
  l.Text(e.rule_id());
  if (e.policy_id().size() == 16) {
    l.Uuid(e.policy_id());
    l.Integer(e.policy_version());
  } else {
    l.Null();
    l.Null();
  }
  l.Text(e.file().path());
  l.Text(e.file().operation());
  const auto& n = e.network();
  if (e.has_network() && n.direction() != v1::DIRECTION_UNSPECIFIED) {
    l.EnumName(v1::Direction_Name(n.direction()), "DIRECTION_");
  } else {
    l.Null();
  }
  if (e.has_network() && n.protocol() != v1::PROTOCOL_UNSPECIFIED) {
    l.EnumName(v1::Protocol_Name(n.protocol()), "PROTOCOL_");
  } else {
    l.Null();
  }
  l.Ip(n.remote_ip());
  n.remote_ip().empty() ? l.Null() : l.Integer(n.remote_port());
  l.Ip(n.local_ip());
  n.local_ip().empty() ? l.Null() : l.Integer(n.local_port());
  if (e.labels().empty()) {
    l.Null();
  } else {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, val] : e.labels())
      labels[k] = val;
    l.Text(labels.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  l.End();

  std::array<std::uint8_t, 16> tenant;
  std::copy(e.tenant_id().begin(), e.tenant_id().end(), tenant.begin());
  ++batch.tenants[TenantId(portcullis::Uuid(tenant))];
  batch.days.insert(
      std::chrono::floor<std::chrono::days>(std::chrono::sys_time<std::chrono::nanoseconds>(
          std::chrono::nanoseconds(e.time_unix_nano()))));
  ++batch.rows;
  return OkStatus();
}

RowBatch BatchOfLines(std::string_view lines) {
  RowBatch b;
  b.copy_text = std::string(lines);
  std::size_t start = 0;
  while (start < lines.size()) {
    std::size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    const std::string_view line = lines.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    ++b.rows;
    // tenant_id is the first column, ts the third ("YYYY-MM-DD ...").
    if (auto tenant = portcullis::Uuid::Parse(std::string(line.substr(0, 36))); tenant.ok()) {
      ++b.tenants[TenantId(*tenant)];
    }
    const std::size_t ts = line.find('\t', line.find('\t') + 1) + 1;
    int y = 0;
    unsigned m = 0, d = 0;
    if (ts != 0 &&
        std::sscanf(std::string(line.substr(ts, 10)).c_str(), "%d-%u-%u", &y, &m, &d) == 3) {
      b.days.insert(std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) /
                                          std::chrono::day(d)));
    }
  }
  return b;
}

std::vector<std::optional<std::string>> ParseCopyLine(std::string_view line) {
  std::vector<std::optional<std::string>> out;
  std::string field;
  bool null = false;
  auto flush = [&] {
    out.push_back(null ? std::nullopt : std::optional(field));
    field.clear();
    null = false;
  };
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\t') {
      flush();
    } else if (c == '\\' && i + 1 < line.size()) {
      const char n = line[++i];
      if (n == 'N') null = true;
      field += n == 't' ? '\t' : n == 'n' ? '\n' : n == 'r' ? '\r' : n;
      if (n == 'N') field.clear();
    } else {
      field += c;
    }
  }
  flush();
  return out;
}

}  // namespace portcullis::indexer
