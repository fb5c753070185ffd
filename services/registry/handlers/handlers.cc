#include "handlers/handlers.h"

#include <memory>

#include "portcullis/auth/authenticator.h"
#include "portcullis/http/json_body.h"
#include "portcullis/http/params.h"

namespace portcullis::registry {
namespace {

using auth::WithTenant;
using http::NoContent;
using http::PathUuid;
using http::QueryParams;
using http::Request;
using http::Response;
using nlohmann::json;

json OptJson(const std::optional<std::string>& v) {
  return v ? json(*v) : json();
}
json OptJson(const std::optional<std::int64_t>& v) {
  return v ? json(*v) : json();
}

json ToJson(const ApiKey& k) {
  return {{"id", k.id.ToString()},
          {"name", k.name},
          {"role", k.role},
          {"created_at", k.created_at},
          {"created_by", k.created_by},
          {"last_used_at", OptJson(k.last_used_at)},
          {"revoked_at", OptJson(k.revoked_at)}};
}

json ToJson(const EnrollmentToken& t) {
  return {{"id", t.id.ToString()},
          {"name", t.name},
          {"created_at", t.created_at},
          {"created_by", t.created_by},
          {"expires_at", OptJson(t.expires_at)},
          {"max_uses", OptJson(t.max_uses)},
          {"uses", t.uses},
          {"last_used_at", OptJson(t.last_used_at)},
          {"revoked_at", OptJson(t.revoked_at)}};
}

json ToJson(const Agent& a) {
  return {{"id", a.id.ToString()},
          {"container_id", a.facts.container_id},
          {"image_name", a.facts.image_name},
          {"image_digest", a.facts.image_digest},
          {"hostname", a.facts.hostname},
          {"labels", a.facts.labels},
          {"agent_version", a.facts.agent_version},
          {"kernel_version", a.facts.kernel_version},
          {"registered_at", a.registered_at},
          {"last_seen_at", a.last_seen_at},
          {"revoked_at", OptJson(a.revoked_at)},
          {"status", AgentStatusName(a.status)},
          {"counters",
           {{"events_sent", a.events_sent},
            {"events_dropped", a.events_dropped},
            {"events_spooled", a.events_spooled}}},
          {"policy_version", a.policy_version}};
}

// 201 for a new credential: its record, without the fields only a list
// shows, and the secret, shown this once.
Response Created(json record, const std::string& secret) {
  record.erase("last_used_at");
  record.erase("revoked_at");
  record["secret"] = secret;
  return Response::Json(201, record);
}

// 200 {"<key>": [item, ...]}, or the store's error.
template <typename T>
Response List(const char* key, const StatusOr<std::vector<T>>& items) {
  if (!items.ok()) return Response::Error(items.status());
  json arr = json::array();
  for (const auto& item : *items)
    arr.push_back(ToJson(item));
  return Response::Json(200, {{key, arr}});
}

using auth::ActorOf;

// DELETE /v1/<things>/{id}: revoke one of the caller's tenant's things.
using RevokeFn = std::function<Status(const TenantId&, const Uuid&, const Actor&)>;
Response Revoke(const Request& r, const TenantId& t, const RevokeFn& revoke) {
  auto id = PathUuid(r, "id");
  if (!id.ok()) return Response::Error(id.status(), "id");
  Status s = revoke(t, *id, ActorOf(r));
  return s.ok() ? NoContent() : Response::Error(s);
}

// The keyset cursor of the agent lists (an agent id), if given.
std::optional<AgentId> AgentCursor(http::QueryParams& q) {
  std::string cursor = q.Get("cursor", 64);
  if (cursor.empty()) return std::nullopt;
  auto c = AgentId::Parse(cursor);
  if (!c.ok()) {
    q.Problem("cursor", "is not a cursor returned by this endpoint");
    return std::nullopt;
  }
  return *c;
}

}  // namespace

void RegisterRoutes(http::Server& server, RegistryService& svc, auth::PgAuthenticator& authn,
                    const Clock& clock, HandlerOptions options) {
  using http::Method;
  auto registrations = std::make_shared<auth::RateLimiter>(options.registrations_per_token, clock);

  server.Route(Method::kPost, "/v1/tenants", [&svc](const Request& r) {
    if (Status s = auth::RequireScope(r, auth::kScopeOperator); !s.ok()) return Response::Error(s);
    http::JsonBody body(r);
    std::string name = body.String("name", {.required = true, .max_len = 200});
    if (!body.ok()) return body.ErrorResponse();
    auto t = svc.CreateTenant(name, ActorOf(r));
    if (!t.ok()) return Response::Error(t.status());
    json key = {{"id", t->admin_key.id.ToString()},
                {"name", t->admin_key.name},
                {"role", t->admin_key.role},
                {"created_at", t->admin_key.created_at},
                {"secret", t->admin_key_secret}};
    return Response::Json(
        201,
        {{"tenant", {{"id", t->id.ToString()}, {"name", t->name}, {"created_at", t->created_at}}},
         {"admin_key", key}});
  });

  server.Route(Method::kPost, "/v1/api-keys",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 http::JsonBody body(r);
                 std::string name = body.String("name", {.required = true, .max_len = 200});
                 std::string role = body.Enum("role", {"admin", "analyst"}, true);
                 if (!body.ok()) return body.ErrorResponse();
                 auto k = svc.CreateApiKey(t, name, role, ActorOf(r));
                 if (!k.ok()) return Response::Error(k.status());
                 return Created(ToJson(k->first), k->second);
               }));
  server.Route(Method::kGet, "/v1/api-keys",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 QueryParams q(r, {});
                 if (!q.ok()) return q.Error();
                 return List("api_keys", svc.store().ListApiKeys(t));
               }));
  server.Route(Method::kDelete, "/v1/api-keys/{id}",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 return Revoke(r, t, [&](auto& tenant, auto& id, auto& actor) {
                   return svc.store().RevokeApiKey(tenant, id, actor);
                 });
               }));

  server.Route(Method::kPost, "/v1/enrollment-tokens",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 http::JsonBody body(r);
                 std::string name = body.String("name", {.required = true, .max_len = 200});
                 auto ttl = body.Int("ttl_seconds", {.min = 60, .max = 31536000});
                 auto max_uses = body.Int("max_uses", {.min = 1, .max = 10000000});
                 if (!body.ok()) return body.ErrorResponse();
                 auto tok = svc.CreateEnrollmentToken(t, name, ttl, max_uses, ActorOf(r));
                 if (!tok.ok()) return Response::Error(tok.status());
                 return Created(ToJson(tok->first), tok->second);
               }));
  server.Route(Method::kGet, "/v1/enrollment-tokens",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 QueryParams q(r, {});
                 if (!q.ok()) return q.Error();
                 return List("enrollment_tokens", svc.store().ListEnrollmentTokens(t));
               }));
  server.Route(Method::kDelete, "/v1/enrollment-tokens/{id}",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 return Revoke(r, t, [&](auto& tenant, auto& id, auto& actor) {
                   return svc.store().RevokeEnrollmentToken(tenant, id, actor);
                 });
               }));

  server.Route(
      Method::kPost, "/v1/agents/register",
      WithTenant(auth::kScopeRegister, [&svc, registrations](const Request& r, const TenantId& t) {
        if (Status s = registrations->Acquire(r.principal->subject); !s.ok()) {
          return Response::Error(s);
        }
        http::JsonBody body(r);
        AgentFacts f;
        f.container_id = body.String("container_id", {.required = true, .max_len = 128});
        f.image_name = body.String("image_name", {.required = true, .max_len = 512});
        f.image_digest = body.String("image_digest", {.max_len = 128, .allow_empty = true});
        f.hostname = body.String("hostname", {.required = true, .max_len = 255});
        f.labels = body.StringMap("labels", {});
        f.agent_version = body.String("agent_version", {.required = true, .max_len = 64});
        f.kernel_version = body.String("kernel_version", {.required = true, .max_len = 128});
        if (!body.ok()) return body.ErrorResponse();
        auto token_id = Uuid::Parse(r.principal->subject);
        if (!token_id.ok()) return Response::Error(InternalError("bad principal"));
        auto reg = svc.Register(t, *token_id, f, ActorOf(r));
        if (!reg.ok()) return Response::Error(reg.status());
        return Response::Json(reg->created ? 201 : 200,
                              {{"agent_id", reg->agent_id.ToString()},
                               {"credential", reg->credential},
                               {"heartbeat_interval_seconds", svc.heartbeat_interval().count()}});
      }));

  // Authenticated inside its one statement (see PgRegistryStore::Heartbeat).
  server.Route(
      Method::kPost, "/v1/agents/{id}/heartbeat",
      [&svc, &authn](const Request& r) {
        auto cred = authn.ParseBearer(r);
        if (!cred.ok()) return Response::Error(cred.status(), "authorization");
        if (cred->kind != auth::CredentialKind::kAgent) {
          return Response::Error(
              PermissionDeniedError("this endpoint requires the 'agent' permission, which this "
                                    "credential does not have"));
        }
        auto id = PathUuid(r, "id");
        if (!id.ok()) return Response::Error(id.status(), "id");
        if (*id != cred->id) {
          return Response::Error(PermissionDeniedError("an agent can only send its own heartbeat"));
        }
        http::JsonBody body(r, /*empty_ok=*/true);
        AgentCounters c;
        c.events_sent = body.Int("events_sent", {});
        c.events_dropped = body.Int("events_dropped", {});
        c.events_spooled = body.Int("events_spooled", {});
        c.policy_version = body.Int("policy_version", {});
        if (!body.ok()) return body.ErrorResponse();
        std::string digest(reinterpret_cast<const char*>(cred->secret_sha256.data()),
                           cred->secret_sha256.size());
        Status s = svc.store().Heartbeat(cred->tenant, AgentId(cred->id), digest, c);
        if (s.code() == StatusCode::kUnauthenticated) authn.RecordFailure(r);
        if (!s.ok()) return Response::Error(s, "authorization");
        return Response::Json(200,
                              {{"heartbeat_interval_seconds", svc.heartbeat_interval().count()}});
      },
      {.authenticate = false});

  server.Route(Method::kGet, "/v1/agents",
               WithTenant(auth::kScopeRead, [&svc](const Request& r, const TenantId& t) {
                 QueryParams q(r, {"status", "image", "label", "hostname", "container_id", "limit",
                                   "cursor"});
                 AgentFilter f;
                 std::string status = q.Get("status", 16);
                 if (!status.empty()) {
                   f.status = ParseAgentStatus(status);
                   if (!f.status) q.Problem("status", "must be online, stale, offline or revoked");
                 }
                 std::string image = q.Get("image", 512);
                 if (!image.empty()) f.image_like = GlobToLike(image);
                 std::string host = q.Get("hostname", 255);
                 if (!host.empty()) f.hostname_like = GlobToLike(host);
                 f.container_id = q.Get("container_id", 128);
                 std::string label = q.Get("label", 330);
                 if (!label.empty()) {
                   std::size_t eq = label.find('=');
                   if (eq == std::string::npos || eq == 0) {
                     q.Problem("label", "must be key=value");
                   } else {
                     f.label = std::make_pair(label.substr(0, eq), label.substr(eq + 1));
                   }
                 }
                 f.limit = static_cast<int>(q.Int("limit", 50, 1, 500));
                 f.after = AgentCursor(q);
                 if (!q.ok()) return q.Error();
                 auto page = svc.store().ListAgents(t, f, svc.windows());
                 if (!page.ok()) return Response::Error(page.status());
                 json arr = json::array();
                 for (const auto& a : page->agents)
                   arr.push_back(ToJson(a));
                 return Response::Json(
                     200, {{"agents", arr},
                           {"next_cursor", page->next ? json(page->next->ToString()) : json()}});
               }));
  server.Route(Method::kGet, "/v1/agents/{id}",
               WithTenant(auth::kScopeRead, [&svc](const Request& r, const TenantId& t) {
                 auto id = PathUuid(r, "id");
                 if (!id.ok()) return Response::Error(id.status(), "id");
                 auto a = svc.store().GetAgent(t, AgentId(*id), svc.windows());
                 if (!a.ok()) return Response::Error(a.status());
                 return Response::Json(200, ToJson(*a));
               }));
  server.Route(Method::kDelete, "/v1/agents/{id}",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 return Revoke(r, t, [&](auto& tenant, auto& id, auto& actor) {
                   return svc.store().RevokeAgent(tenant, AgentId(id), actor);
                 });
               }));
  server.Route(Method::kGet, "/v1/containers",
               WithTenant(auth::kScopeRead, [&svc](const Request& r, const TenantId& t) {
                 QueryParams q(r, {"limit", "cursor"});
                 AgentFilter f;
                 f.limit = static_cast<int>(q.Int("limit", 50, 1, 500));
                 f.after = AgentCursor(q);
                 if (!q.ok()) return q.Error();
                 auto page = svc.store().ListAgents(t, f, svc.windows());
                 if (!page.ok()) return Response::Error(page.status());
                 json arr = json::array();
                 for (const auto& a : page->agents) {
                   arr.push_back({{"container_id", a.facts.container_id},
                                  {"image_name", a.facts.image_name},
                                  {"image_digest", a.facts.image_digest},
                                  {"hostname", a.facts.hostname},
                                  {"agent_id", a.id.ToString()},
                                  {"status", AgentStatusName(a.status)},
                                  {"last_seen_at", a.last_seen_at}});
                 }
                 return Response::Json(
                     200, {{"containers", arr},
                           {"next_cursor", page->next ? json(page->next->ToString()) : json()}});
               }));
  server.Route(Method::kGet, "/v1/images",
               WithTenant(auth::kScopeRead, [&svc](const Request& r, const TenantId& t) {
                 QueryParams q(r, {});
                 if (!q.ok()) return q.Error();
                 auto images = svc.store().ListImages(t, svc.windows());
                 if (!images.ok()) return Response::Error(images.status());
                 json arr = json::array();
                 for (const auto& i : *images) {
                   arr.push_back({{"image_name", i.image_name},
                                  {"image_digest", i.image_digest},
                                  {"agents", i.agents},
                                  {"online", i.online}});
                 }
                 return Response::Json(200, {{"images", arr}});
               }));
  server.Route(Method::kGet, "/v1/audit-log",
               WithTenant(auth::kScopeAdmin, [&svc](const Request& r, const TenantId& t) {
                 QueryParams q(r, {"limit", "cursor"});
                 int limit = static_cast<int>(q.Int("limit", 100, 1, 1000));
                 std::optional<std::int64_t> before;
                 std::string cursor = q.Get("cursor", 20);
                 if (!cursor.empty()) {
                   char* end = nullptr;
                   long long v = std::strtoll(cursor.c_str(), &end, 10);
                   if (*end != '\0' || v <= 0) {
                     q.Problem("cursor", "is not a cursor returned by this endpoint");
                   } else {
                     before = v;
                   }
                 }
                 if (!q.ok()) return q.Error();
                 auto entries = svc.store().ListAudit(t, limit + 1, before);
                 if (!entries.ok()) return Response::Error(entries.status());
                 json arr = json::array();
                 json next;
                 for (const auto& e : *entries) {
                   if (static_cast<int>(arr.size()) == limit) {
                     next = std::to_string(arr.back()["id"].get<std::int64_t>());
                     break;
                   }
                   arr.push_back({{"id", e.id},
                                  {"at", e.at},
                                  {"actor_kind", e.actor_kind},
                                  {"actor_id", e.actor_id},
                                  {"action", e.action},
                                  {"target", e.target},
                                  {"remote_addr", e.remote_addr},
                                  {"details", json::parse(e.details_json, nullptr, false)}});
                 }
                 return Response::Json(200, {{"entries", arr}, {"next_cursor", next}});
               }));
}

}  // namespace portcullis::registry
