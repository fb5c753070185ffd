#include "domain/batch.h"

#include <set>

namespace portcullis::ingest {
namespace {

class Checker {
 public:
  Checker(const BatchLimits& limits, Problems* problems) : limits_(limits), problems_(problems) {}

  void Problem(const std::string& where, const std::string& what) {
    if (problems_->size() < 100) problems_->emplace_back(where, what);
    ++count_;
  }
  void String(const std::string& where, const std::string& value, std::size_t max) {
    if (value.size() > max) {
      Problem(where,
              "is " + std::to_string(value.size()) + " bytes; the limit is " + std::to_string(max));
    } else if (value.find('\0') != std::string::npos) {
      // PostgreSQL's text can't hold it: the indexer would dead-letter the event.
      Problem(where, "contains a NUL byte");
    }
  }
  template <typename Enum>
  void KnownEnum(const std::string& where, Enum value, bool (*valid)(int)) {
    if (!valid(static_cast<int>(value))) Problem(where, "is not a known value");
  }
  std::size_t count() const { return count_; }
  const BatchLimits& limits() const { return limits_; }

 private:
  const BatchLimits& limits_;
  Problems* problems_;
  std::size_t count_ = 0;
};

void CheckEvent(Checker& c, const v1::Event& e, const std::string& at, const std::string& tenant,
                const std::string& agent, std::int64_t min_ns, std::int64_t max_ns,
                std::set<std::string>& ids) {
  const BatchLimits& l = c.limits();
  if (e.event_id().size() != 16) {
    c.Problem(at + "/event_id", "must be 16 bytes (a UUID)");
  } else if (!ids.insert(e.event_id()).second) {
    c.Problem(at + "/event_id", "appears twice in the batch");
  }
  if (!e.tenant_id().empty() && e.tenant_id() != tenant) {
    c.Problem(at + "/tenant_id", "names another tenant: leave it empty, ingest sets it");
  }
  if (!e.agent_id().empty() && e.agent_id() != agent) {
    c.Problem(at + "/agent_id", "names another agent: leave it empty, ingest sets it");
  }
  if (e.time_unix_nano() < min_ns) {
    c.Problem(at + "/time_unix_nano", "is older than the oldest accepted event (" +
                                          std::to_string(l.max_age.count()) + " h)");
  } else if (e.time_unix_nano() > max_ns) {
    c.Problem(at + "/time_unix_nano",
              "is in the future (more than " + std::to_string(l.max_future.count()) + " s ahead)");
  }
  c.String(at + "/container_id", e.container_id(), 128);
  c.String(at + "/image", e.image(), l.max_string);
  c.String(at + "/hostname", e.hostname(), 255);
  c.String(at + "/syscall", e.syscall(), 64);
  c.String(at + "/rule_id", e.rule_id(), 128);
  c.KnownEnum(at + "/category", e.category(), v1::Category_IsValid);
  c.KnownEnum(at + "/action", e.action(), v1::Action_IsValid);
  if (e.action() == v1::ACTION_UNSPECIFIED) c.Problem(at + "/action", "is required");
  if (!e.policy_id().empty() && e.policy_id().size() != 16) {
    c.Problem(at + "/policy_id", "must be empty or 16 bytes");
  }
  if (e.policy_version() > static_cast<std::uint64_t>(INT64_MAX)) {
    c.Problem(at + "/policy_version", "is out of range (at most 2^63 - 1)");
  }
  if (e.has_process()) {
    c.String(at + "/process/executable", e.process().executable(), l.max_path);
    if (static_cast<std::size_t>(e.process().argv_size()) > l.max_argv) {
      c.Problem(at + "/process/argv", "has more than " + std::to_string(l.max_argv) + " entries");
    }
    for (int i = 0; i < e.process().argv_size(); ++i)
      c.String(at + "/process/argv/" + std::to_string(i), e.process().argv(i), l.max_path);
  }
  if (e.has_file()) {
    c.String(at + "/file/path", e.file().path(), l.max_path);
    c.String(at + "/file/new_path", e.file().new_path(), l.max_path);
    c.String(at + "/file/operation", e.file().operation(), 16);
  }
  if (e.has_network()) {
    const auto& n = e.network();
    c.KnownEnum(at + "/network/direction", n.direction(), v1::Direction_IsValid);
    c.KnownEnum(at + "/network/protocol", n.protocol(), v1::Protocol_IsValid);
    for (const auto& [field, ip] :
         {std::pair{"remote_ip", &n.remote_ip()}, {"local_ip", &n.local_ip()}}) {
      if (!ip->empty() && ip->size() != 4 && ip->size() != 16) {
        c.Problem(at + "/network/" + field, "must be empty, 4 or 16 bytes");
      }
    }
    if (n.remote_port() > 65535) c.Problem(at + "/network/remote_port", "is not a port");
    if (n.local_port() > 65535) c.Problem(at + "/network/local_port", "is not a port");
  }
  if (static_cast<std::size_t>(e.args_size()) > l.max_args) {
    c.Problem(at + "/args", "has more than " + std::to_string(l.max_args) + " entries");
  }
  if (static_cast<std::size_t>(e.labels_size()) > l.max_labels) {
    c.Problem(at + "/labels", "has more than " + std::to_string(l.max_labels) + " entries");
  }
  for (const auto& [k, v] : e.labels()) {
    if (k.empty() || k.size() > 63 || v.size() > 256) {
      c.Problem(at + "/labels", "keys are 1 to 63 bytes, values at most 256");
      break;
    }
    if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) {
      c.Problem(at + "/labels", "contains a NUL byte");
      break;
    }
  }
}

}  // namespace

StatusOr<Accepted> AcceptBatch(v1::EventBatch& batch, const TenantId& tenant, const AgentId& agent,
                               std::chrono::system_clock::time_point now, const BatchLimits& limits,
                               Problems* problems) {
  Checker c(limits, problems);
  if (batch.events_size() == 0) c.Problem("/events", "the batch has no event");
  if (static_cast<std::size_t>(batch.events_size()) > limits.max_events) {
    c.Problem("/events", "the batch has " + std::to_string(batch.events_size()) +
                             " events; the limit is " + std::to_string(limits.max_events));
  }
  const std::string tenant_bytes = tenant.uuid().Binary();
  const std::string agent_bytes = agent.uuid().Binary();
  using std::chrono::duration_cast;
  using std::chrono::nanoseconds;
  const std::int64_t now_ns = duration_cast<nanoseconds>(now.time_since_epoch()).count();
  const std::int64_t min_ns = now_ns - duration_cast<nanoseconds>(limits.max_age).count();
  const std::int64_t max_ns = now_ns + duration_cast<nanoseconds>(limits.max_future).count();
  std::set<std::string> ids;
  if (static_cast<std::size_t>(batch.events_size()) <= limits.max_events) {
    for (int i = 0; i < batch.events_size(); ++i) {
      CheckEvent(c, batch.events(i), "/events/" + std::to_string(i), tenant_bytes, agent_bytes,
                 min_ns, max_ns, ids);
    }
  }
  if (c.count() > 0) {
    return InvalidArgumentError("the batch has " + std::to_string(c.count()) +
                                " problem(s); nothing was accepted");
  }
  Accepted out;
  out.events = static_cast<std::size_t>(batch.events_size());
  const std::string key = agent.ToString();
  v1::EventBatch chunk;
  std::size_t chunk_bytes = 0;
  auto flush = [&]() -> Status {
    kafka::Record r;
    r.key = key;
    if (!chunk.SerializeToString(&r.value)) return InternalError("cannot serialize a batch");
    out.records.push_back(std::move(r));
    chunk.Clear();
    chunk_bytes = 0;
    return OkStatus();
  };
  for (v1::Event& e : *batch.mutable_events()) {
    e.set_tenant_id(tenant_bytes);
    e.set_agent_id(agent_bytes);
    // The event's bytes plus its field tag and length prefix.
    const std::size_t bytes = e.ByteSizeLong() + 6;
    if (chunk.events_size() > 0 && chunk_bytes + bytes > kMaxRecordBytes) {
      PORTCULLIS_RETURN_IF_ERROR(flush());
    }
    *chunk.add_events() = std::move(e);
    chunk_bytes += bytes;
  }
  if (chunk.events_size() > 0) PORTCULLIS_RETURN_IF_ERROR(flush());
  return out;
}

}  // namespace portcullis::ingest
