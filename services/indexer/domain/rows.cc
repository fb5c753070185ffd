#include "domain/rows.h"

#include <arpa/inet.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace portcullis::indexer {
namespace {

StatusOr<Uuid> UuidFrom(const std::string& bytes, const char* field) {
  if (bytes.size() != 16) return InvalidArgumentError(std::string(field) + " is not 16 bytes");
  std::array<std::uint8_t, 16> b;
  std::copy(bytes.begin(), bytes.end(), b.begin());
  return Uuid(b);
}

std::optional<std::string> Text(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

std::optional<std::string> Ip(const std::string& bytes) {
  char buf[INET6_ADDRSTRLEN];
  if (bytes.size() == 4 && inet_ntop(AF_INET, bytes.data(), buf, sizeof(buf))) return buf;
  if (bytes.size() == 16 && inet_ntop(AF_INET6, bytes.data(), buf, sizeof(buf))) return buf;
  return std::nullopt;
}

std::string Lower(std::string_view enum_name, std::string_view prefix) {
  std::string out(enum_name.substr(enum_name.rfind(prefix, 0) == 0 ? prefix.size() : 0));
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "2026-11-28 12:00:00.123456+00" (microseconds: PostgreSQL's resolution).
std::string Timestamp(std::int64_t unix_nano) {
  std::int64_t secs = unix_nano / 1'000'000'000;
  std::int64_t micros = (unix_nano % 1'000'000'000) / 1000;
  if (micros < 0) {
    micros += 1'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lld+00", static_cast<long long>(micros));
  return std::string(buf) + frac;
}

}  // namespace

StatusOr<EventRow> ToRow(const v1::Event& e) {
  EventRow row;
  PORTCULLIS_ASSIGN_OR_RETURN(Uuid tenant, UuidFrom(e.tenant_id(), "tenant_id"));
  PORTCULLIS_ASSIGN_OR_RETURN(Uuid event, UuidFrom(e.event_id(), "event_id"));
  PORTCULLIS_ASSIGN_OR_RETURN(Uuid agent, UuidFrom(e.agent_id(), "agent_id"));
  if (e.time_unix_nano() <= 0) return InvalidArgumentError("the event has no time");
  row.tenant = TenantId(tenant);
  row.day = std::chrono::floor<std::chrono::days>(std::chrono::sys_time<std::chrono::nanoseconds>(
      std::chrono::nanoseconds(e.time_unix_nano())));
  auto& v = row.values;
  std::size_t i = 0;
  auto put = [&](std::optional<std::string> value) { v[i++] = std::move(value); };
  put(tenant.ToString());
  put(event.ToString());
  put(Timestamp(e.time_unix_nano()));
  put(agent.ToString());
  put(Text(e.container_id()));
  put(Text(e.image()));
  put(Text(e.hostname()));
  const bool has_process = e.has_process();
  const auto& p = e.process();
  put(has_process ? std::optional(std::to_string(p.pid())) : std::nullopt);
  put(has_process ? std::optional(std::to_string(p.ppid())) : std::nullopt);
  put(has_process ? std::optional(std::to_string(p.uid())) : std::nullopt);
  put(has_process ? std::optional(std::to_string(p.gid())) : std::nullopt);
  put(Text(p.executable()));
  std::string cmdline;
  for (int a = 0; a < p.argv_size(); ++a)
    cmdline += (a ? " " : "") + p.argv(a);
  put(Text(cmdline));
  put(Text(e.syscall()));
  put(e.category() == v1::CATEGORY_UNSPECIFIED
          ? std::nullopt
          : std::optional(Lower(v1::Category_Name(e.category()), "CATEGORY_")));
  put(Lower(v1::Action_Name(e.action()), "ACTION_"));
  put(e.enforced() ? "t" : "f");
  put(std::to_string(e.result()));
  put(Text(e.rule_id()));
  if (e.policy_id().size() == 16) {
    PORTCULLIS_ASSIGN_OR_RETURN(Uuid policy, UuidFrom(e.policy_id(), "policy_id"));
    put(policy.ToString());
    put(std::to_string(e.policy_version()));
  } else {
    put(std::nullopt);
    put(std::nullopt);
  }
  put(e.has_file() ? Text(e.file().path()) : std::nullopt);
  put(e.has_file() ? Text(e.file().operation()) : std::nullopt);
  if (e.has_network()) {
    const auto& n = e.network();
    put(n.direction() == v1::DIRECTION_UNSPECIFIED
            ? std::nullopt
            : std::optional(Lower(v1::Direction_Name(n.direction()), "DIRECTION_")));
    put(n.protocol() == v1::PROTOCOL_UNSPECIFIED
            ? std::nullopt
            : std::optional(Lower(v1::Protocol_Name(n.protocol()), "PROTOCOL_")));
    put(Ip(n.remote_ip()));
    put(n.remote_ip().empty() ? std::nullopt : std::optional(std::to_string(n.remote_port())));
    put(Ip(n.local_ip()));
    put(n.local_ip().empty() ? std::nullopt : std::optional(std::to_string(n.local_port())));
  } else {
    for (int k = 0; k < 6; ++k)
      put(std::nullopt);
  }
  if (e.labels().empty()) {
    put(std::nullopt);
  } else {
    nlohmann::json labels = nlohmann::json::object();
    for (const auto& [k, val] : e.labels())
      labels[k] = val;
    put(labels.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  if (i != kEventColumns.size()) Fatal("ToRow: column count mismatch");
  return row;
}

}  // namespace portcullis::indexer
