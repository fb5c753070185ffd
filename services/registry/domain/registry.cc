#include "domain/registry.h"

#include "portcullis/auth/credential.h"

namespace portcullis::registry {
namespace {

std::string DigestBytes(const auth::Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

std::string_view AgentStatusName(AgentStatus s) {
  switch (s) {
    case AgentStatus::kOnline:
      return "online";
    case AgentStatus::kStale:
      return "stale";
    case AgentStatus::kOffline:
      return "offline";
    case AgentStatus::kRevoked:
      return "revoked";
  }
  Fatal("unknown AgentStatus");
}

std::optional<AgentStatus> ParseAgentStatus(std::string_view name) {
  for (AgentStatus s :
       {AgentStatus::kOnline, AgentStatus::kStale, AgentStatus::kOffline, AgentStatus::kRevoked}) {
    if (AgentStatusName(s) == name) return s;
  }
  return std::nullopt;
}

std::string GlobToLike(std::string_view glob) {
  std::string out;
  for (char c : glob) {
    switch (c) {
      case '*':
        out.push_back('%');
        break;
      case '?':
        out.push_back('_');
        break;
      case '%':
      case '_':
      case '\\':
        out.push_back('\\');
        out.push_back(c);
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

RegistryService::RegistryService(RegistryStore& store, RegistryOptions options)
    : store_(store), options_(options) {
  windows_.online_within = 3 * options_.heartbeat_interval;
  windows_.stale_within = std::max(std::chrono::seconds(600), 10 * options_.heartbeat_interval);
}

StatusOr<RegistryService::CreatedTenant> RegistryService::CreateTenant(const std::string& name,
                                                                       const Actor& actor) {
  CreatedTenant out;
  out.id = TenantId::Generate();
  out.name = name;
  auth::IssuedCredential key = auth::IssueCredential(auth::CredentialKind::kApiKey, out.id);
  PORTCULLIS_RETURN_IF_ERROR(store_.CreateTenant(out.id, name, {key.id, key.token},
                                                 DigestBytes(key.secret_sha256), actor));
  auto keys = store_.ListApiKeys(out.id);
  if (!keys.ok()) return keys.status();
  if (keys->empty()) return InternalError("tenant created without its admin key");
  out.admin_key = keys->front();
  out.created_at = out.admin_key.created_at;  // one transaction: the same now()
  out.admin_key_secret = key.token;
  return out;
}

StatusOr<std::pair<ApiKey, std::string>> RegistryService::CreateApiKey(const TenantId& t,
                                                                       const std::string& name,
                                                                       const std::string& role,
                                                                       const Actor& actor) {
  if (role != "admin" && role != "analyst") {
    return InvalidArgumentError("role must be admin or analyst");
  }
  auth::IssuedCredential key = auth::IssueCredential(auth::CredentialKind::kApiKey, t);
  auto created = store_.CreateApiKey(t, name, role, key.id, DigestBytes(key.secret_sha256), actor);
  if (!created.ok()) return created.status();
  return std::make_pair(*created, key.token);
}

StatusOr<std::pair<EnrollmentToken, std::string>> RegistryService::CreateEnrollmentToken(
    const TenantId& t, const std::string& name, std::optional<std::int64_t> ttl_seconds,
    std::optional<std::int64_t> max_uses, const Actor& actor) {
  auth::IssuedCredential tok = auth::IssueCredential(auth::CredentialKind::kEnrollmentToken, t);
  auto created = store_.CreateEnrollmentToken(t, name, ttl_seconds, max_uses, tok.id,
                                              DigestBytes(tok.secret_sha256), actor);
  if (!created.ok()) return created.status();
  return std::make_pair(*created, tok.token);
}

StatusOr<Registration> RegistryService::Register(const TenantId& t, const Uuid& token_id,
                                                 const AgentFacts& facts, const Actor& actor) {
  return store_.RegisterAgent(
      t, token_id, facts,
      [&t](const AgentId& id) {
        auth::IssuedCredential c =
            auth::IssueCredential(auth::CredentialKind::kAgent, t, id.uuid());
        return std::make_pair(Issued{c.id, c.token}, DigestBytes(c.secret_sha256));
      },
      actor);
}

}  // namespace portcullis::registry
