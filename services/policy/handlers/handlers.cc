#include "handlers/handlers.h"

#include <google/protobuf/util/json_util.h>

#include <memory>

#include "portcullis/auth/audit.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/auth/credential.h"
#include "portcullis/common/strings.h"
#include "portcullis/http/json_body.h"
#include "portcullis/http/params.h"
#include "portcullis/policy/compiler.h"
#include "portcullis/policy/document.h"

namespace portcullis::policy_service {
namespace {

using auth::ActorOf;
using auth::WithTenant;
using http::NoContent;
using http::PathUuid;
using http::QueryParams;
using http::Request;
using http::Response;
using nlohmann::json;

constexpr std::size_t kMaxComment = 1000;
// A request carries a document of up to policy::kMaxDocumentBytes plus its
// envelope.
constexpr std::size_t kMaxBody = policy::kMaxDocumentBytes + 4096;
constexpr const char* kProtobufType = "application/x-protobuf";

json ToJson(const PolicyInfo& p) {
  return {{"id", p.id.ToString()},
          {"name", p.name},
          {"current_version", p.current_version},
          {"created_at", p.created_at},
          {"updated_at", p.updated_at},
          {"assignments", p.assignments}};
}

json ToJson(const VersionInfo& v) {
  return {{"version", v.version},
          {"created_at", v.created_at},
          {"created_by", v.created_by},
          {"comment", v.comment},
          {"sha256", v.sha256},
          {"source_version", v.source_version ? json(*v.source_version) : json()}};
}

json ToJson(const Selector& s) {
  switch (s.kind) {
    case Selector::Kind::kImage:
      return {{"image", s.image_glob}};
    case Selector::Kind::kLabels:
      return {{"labels", s.labels}};
    case Selector::Kind::kDefault:
      return {{"default", true}};
  }
  return json::object();
}

json ToJson(const Assignment& a) {
  return {{"id", a.id.ToString()},          {"policy_id", a.policy_id.ToString()},
          {"policy_name", a.policy_name},   {"priority", a.priority},
          {"selector", ToJson(a.selector)}, {"created_at", a.created_at},
          {"created_by", a.created_by}};
}

// The parsed document and its diagnostics, located under /document.
struct Checked {
  std::optional<policy::Policy> policy;
  std::vector<std::pair<std::string, std::string>> problems;
};

Checked CheckDocument(const std::string& text) {
  Checked out;
  policy::ParseResult r = policy::ParsePolicyDocument(text);
  for (const policy::Diagnostic& d : r.diagnostics)
    out.problems.emplace_back("/document" + d.location, d.message);
  // The service needs a name (the parser does not): reported with the rest.
  json doc = json::parse(text, nullptr, false);
  if (doc.is_object() && !doc.contains("name")) {
    out.problems.emplace_back("/document/name", "is required: it names the policy");
  }
  if (out.problems.empty()) out.policy = std::move(r.policy);
  return out;
}

// {"document": {...}, "comment": "..."}: the document's text, or the 400.
struct Envelope {
  std::string document;
  std::string comment;
};
std::variant<Envelope, Response> ReadEnvelope(const Request& r, bool with_comment) {
  http::JsonBody body(r);
  const json* doc = body.Raw("document", true);
  Envelope e;
  if (with_comment) {
    e.comment = body.String("comment", {.max_len = kMaxComment, .allow_empty = true});
  }
  if (doc != nullptr && !doc->is_object()) body.AddProblem("/document", "must be an object");
  if (!body.ok()) return body.ErrorResponse();
  e.document = doc->dump();
  Checked c = CheckDocument(e.document);
  if (!c.problems.empty()) return Response::Invalid(c.problems);
  // The compiler has limits of its own (rules after hardening expansion).
  if (auto t = policy::CompileRuleTable(*c.policy); !t.ok()) {
    return Response::Invalid({{"/document", t.status().message()}});
  }
  return e;
}

// An If-Match header ("N" or N): the version the caller last saw.
std::variant<std::optional<std::int64_t>, Response> IfMatch(const Request& r) {
  const std::string* h = r.Header("if-match");
  if (h == nullptr) return std::optional<std::int64_t>();
  std::string v = *h;
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || n < 1) {
    return Response::Error(InvalidArgumentError("If-Match must be a version number, as \"3\""),
                           "if-match");
  }
  return std::optional<std::int64_t>(n);
}

// A store error with the location that explains it: a stale If-Match
// (FailedPrecondition: 412), a taken name (409), an unknown version.
Response StoreError(const Status& s, bool conditional = false) {
  switch (s.code()) {
    case StatusCode::kFailedPrecondition:
      if (conditional) return Response::Error(s, "if-match");
      return Response::Error(409, "conflict", s.message());  // assigned, too many
    case StatusCode::kAlreadyExists:
      return Response::Error(s, "/document/name");
    case StatusCode::kNotFound:
      return Response::Error(
          s, s.message().find("has no version") != std::string::npos ? "version" : "id");
    default:
      return Response::Error(s);
  }
}

Response ForUpdate(const StatusOr<PolicyInfo>& p) {
  if (!p.ok()) return StoreError(p.status(), /*conditional=*/true);
  return Response::Json(200, ToJson(*p));
}

// The rule table an agent gets, as protobuf or (Accept: application/json)
// JSON for people debugging.
Response TableResponse(const Request& r, const FetchResult& f) {
  Response resp;
  resp.headers.emplace_back("ETag", f.etag);
  if (f.status == 304) {
    resp.status = 304;
    resp.content_type = kProtobufType;
    return resp;
  }
  if (f.status == 404) {
    resp = Response::Error(NotFoundError(f.reason));
    resp.headers.emplace_back("ETag", f.etag);
    return resp;
  }
  resp.headers.emplace_back("X-Portcullis-Policy-Id", f.version->policy_id.ToString());
  resp.headers.emplace_back("X-Portcullis-Policy-Version", std::to_string(f.version->version));
  const std::string* accept = r.Header("accept");
  if (accept != nullptr && accept->find("application/json") != std::string::npos) {
    v1::RuleTable table;
    std::string text;
    if (!table.ParseFromString(f.version->rule_table) ||
        !google::protobuf::util::MessageToJsonString(table, &text).ok()) {
      return Response::Error(InternalError("stored rule table does not parse"));
    }
    resp.body = std::move(text);
    resp.content_type = "application/json";
    return resp;
  }
  resp.body = f.version->rule_table;
  resp.content_type = kProtobufType;
  return resp;
}

// The policy's id from the path, then fn(tenant, id).
template <typename Fn>
http::Handler ForPolicy(const char* scope, Fn fn) {
  return WithTenant(scope, [fn](const Request& r, const TenantId& t) {
    auto id = PathUuid(r, "id");
    if (!id.ok()) return Response::Error(id.status(), "id");
    return fn(r, t, *id);
  });
}

json Summary(const v1::RuleTable& t) {
  std::map<std::string, int> handling;
  json agent = json::array();
  for (const auto& s : t.syscalls()) {
    std::string h = AsciiLower(v1::SyscallEntry::Handling_Name(s.handling()));
    ++handling[h];
    if (s.handling() == v1::SyscallEntry::AGENT) agent.push_back(s.name());
  }
  int hardening = 0;
  for (const auto& r : t.rules())
    hardening += r.hardening_set().empty() ? 0 : 1;
  return {{"name", t.policy_name()},
          {"rules", t.rules_size() - hardening},
          {"hardening_rules", hardening},
          {"syscalls", handling},
          {"agent_syscalls", agent}};
}

}  // namespace

StatusOr<Published> CompileDocument(const Uuid& policy, std::int64_t version,
                                    const std::string& document) {
  Checked c = CheckDocument(document);
  if (!c.problems.empty()) {
    std::string message = "the document does not compile:";
    for (const auto& [where, what] : c.problems)
      message += " " + where + ": " + what + ";";
    return InvalidArgumentError(message);
  }
  auto table = policy::CompileRuleTable(
      *c.policy, {.policy_id = policy.ToString(), .version = static_cast<std::uint64_t>(version)});
  if (!table.ok()) return table.status();
  Published p;
  p.name = c.policy->name;
  if (!table->SerializeToString(&p.rule_table)) return InternalError("cannot serialize table");
  auth::Digest d = auth::Sha256(p.rule_table);
  p.sha256 = auth::Hex(d.data(), d.size());
  return p;
}

void RegisterRoutes(http::Server& server, PolicyStore& store, Distributor& distributor) {
  using http::Method;
  const http::RouteOptions big{.max_body_bytes = kMaxBody};

  server.Route(
      Method::kPost, "/v1/policies/validate",
      WithTenant(auth::kScopeRead,
                 [](const Request& r, const TenantId&) {
                   auto e = ReadEnvelope(r, false);
                   if (auto* resp = std::get_if<Response>(&e)) return *resp;
                   auto c = CheckDocument(std::get<Envelope>(e).document);
                   auto table = policy::CompileRuleTable(*c.policy);
                   return Response::Json(200, {{"valid", true}, {"summary", Summary(*table)}});
                 }),
      big);

  server.Route(Method::kPost, "/v1/policies",
               WithTenant(auth::kScopeAdmin,
                          [&store](const Request& r, const TenantId& t) {
                            auto e = ReadEnvelope(r, true);
                            if (auto* resp = std::get_if<Response>(&e)) return *resp;
                            const Envelope& env = std::get<Envelope>(e);
                            auto p = store.CreatePolicy(t, Uuid::Random(), env.document,
                                                        env.comment, CompileDocument, ActorOf(r));
                            if (!p.ok()) return Response::Error(p.status());
                            return Response::Json(201, ToJson(*p));
                          }),
               big);

  server.Route(Method::kGet, "/v1/policies",
               WithTenant(auth::kScopeRead, [&store](const Request& r, const TenantId& t) {
                 QueryParams q(r, {});
                 if (!q.ok()) return q.Error();
                 auto list = store.ListPolicies(t);
                 if (!list.ok()) return Response::Error(list.status());
                 json arr = json::array();
                 for (const auto& p : *list)
                   arr.push_back(ToJson(p));
                 return Response::Json(200, {{"policies", arr}});
               }));

  server.Route(
      Method::kGet, "/v1/policies/{id}",
      ForPolicy(auth::kScopeRead, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        QueryParams q(r, {"version"});
        auto version = q.OptInt("version", 1, INT64_MAX);
        if (!q.ok()) return q.Error();
        auto p = store.GetPolicy(t, id, version);
        if (!p.ok()) return Response::Error(p.status());
        json out = ToJson(p->policy);
        out["version"] = ToJson(p->version);
        out["document"] = json::parse(p->document, nullptr, false);
        return Response::Json(200, out);
      }));

  server.Route(Method::kPut, "/v1/policies/{id}",
               ForPolicy(auth::kScopeAdmin,
                         [&store](const Request& r, const TenantId& t, const Uuid& id) {
                           auto if_match = IfMatch(r);
                           if (auto* resp = std::get_if<Response>(&if_match)) return *resp;
                           auto e = ReadEnvelope(r, true);
                           if (auto* resp = std::get_if<Response>(&e)) return *resp;
                           const Envelope& env = std::get<Envelope>(e);
                           return ForUpdate(
                               store.UpdatePolicy(t, id, env.document, env.comment,
                                                  std::get<std::optional<std::int64_t>>(if_match),
                                                  CompileDocument, ActorOf(r)));
                         }),
               big);

  server.Route(
      Method::kDelete, "/v1/policies/{id}",
      ForPolicy(auth::kScopeAdmin, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        Status s = store.DeletePolicy(t, id, ActorOf(r));
        if (s.code() == StatusCode::kFailedPrecondition) {
          return Response::Error(409, "conflict", s.message());
        }
        return s.ok() ? NoContent() : Response::Error(s);
      }));

  server.Route(
      Method::kGet, "/v1/policies/{id}/versions",
      ForPolicy(auth::kScopeRead, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        QueryParams q(r, {});
        if (!q.ok()) return q.Error();
        auto versions = store.ListVersions(t, id);
        if (!versions.ok()) return Response::Error(versions.status());
        json arr = json::array();
        for (const auto& v : *versions)
          arr.push_back(ToJson(v));
        return Response::Json(200, {{"versions", arr}});
      }));

  server.Route(
      Method::kGet, "/v1/policies/{id}/diff",
      ForPolicy(auth::kScopeRead, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        QueryParams q(r, {"from", "to"});
        auto from = q.OptInt("from", 1, INT64_MAX);
        auto to = q.OptInt("to", 1, INT64_MAX);
        if (!from) q.Problem("from", "is required: a version number");
        if (!q.ok()) return q.Error();
        auto a = store.GetPolicy(t, id, from);
        if (!a.ok()) return Response::Error(a.status(), "from");
        auto b = store.GetPolicy(t, id, to);  // the current version without "to"
        if (!b.ok()) return Response::Error(b.status(), "to");
        json changes = json::array();
        for (const Change& c : DiffDocuments(json::parse(a->document, nullptr, false),
                                             json::parse(b->document, nullptr, false))) {
          changes.push_back(
              {{"path", c.path}, {"kind", c.kind}, {"before", c.before}, {"after", c.after}});
        }
        return Response::Json(
            200, {{"from", a->version.version}, {"to", b->version.version}, {"changes", changes}});
      }));

  server.Route(
      Method::kPost, "/v1/policies/{id}/rollback",
      ForPolicy(auth::kScopeAdmin, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        http::JsonBody body(r);
        auto version = body.Int("version", {.required = true, .min = 1});
        std::string comment = body.String("comment", {.max_len = kMaxComment, .allow_empty = true});
        if (!body.ok()) return body.ErrorResponse();
        auto p = store.Rollback(t, id, *version, comment, CompileDocument, ActorOf(r));
        if (!p.ok()) return StoreError(p.status());
        return Response::Json(200, ToJson(*p));
      }));

  server.Route(
      Method::kPost, "/v1/policies/{id}/assignments",
      ForPolicy(auth::kScopeAdmin, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        http::JsonBody body(r);
        Assignment a;
        a.id = Uuid::Random();
        a.policy_id = id;
        a.priority =
            static_cast<int>(body.Int("priority", {.min = -1000000, .max = 1000000}).value_or(0));
        http::JsonBody sel = body.Child("selector", true);
        // A kind counts as given when its field is there, valid or not, so a
        // bad value is reported as such and not as a missing selector.
        const bool has_image = sel.Raw("image", false) != nullptr;
        const bool has_labels = sel.Raw("labels", false) != nullptr;
        std::string image = sel.String("image", {.max_len = 512});
        auto labels = sel.StringMap("labels", {.max_entries = 32});
        const json* dflt = sel.Raw("default", false);
        int kinds = (has_image ? 1 : 0) + (has_labels ? 1 : 0) + (dflt ? 1 : 0);
        if (dflt != nullptr && *dflt != json(true)) {
          sel.AddProblem("/default", "must be true");
        } else if (kinds != 1) {
          sel.AddProblem("",
                         "must have exactly one of \"image\" (a glob), \"labels\" (an "
                         "object of strings) or \"default\": true");
        }
        if (!image.empty()) {
          if (Status s = ValidateImageGlob(image); !s.ok()) sel.AddProblem("/image", s.message());
          a.selector = {Selector::Kind::kImage, image, {}};
        } else if (!labels.empty()) {
          a.selector = {Selector::Kind::kLabels, "", labels};
        }
        body.Absorb(sel);
        if (!body.ok()) return body.ErrorResponse();
        auto created = store.CreateAssignment(t, a, ActorOf(r));
        if (!created.ok()) return StoreError(created.status());
        return Response::Json(201, ToJson(*created));
      }));

  server.Route(Method::kGet, "/v1/policy-assignments",
               WithTenant(auth::kScopeRead, [&store](const Request& r, const TenantId& t) {
                 QueryParams q(r, {});
                 if (!q.ok()) return q.Error();
                 auto list = store.ListAssignments(t);
                 if (!list.ok()) return Response::Error(list.status());
                 json arr = json::array();
                 for (const auto& a : *list)
                   arr.push_back(ToJson(a));
                 return Response::Json(200, {{"assignments", arr}});
               }));

  server.Route(
      Method::kDelete, "/v1/policy-assignments/{id}",
      ForPolicy(auth::kScopeAdmin, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        Status s = store.DeleteAssignment(t, id, ActorOf(r));
        return s.ok() ? NoContent() : Response::Error(s);
      }));

  server.Route(
      Method::kGet, "/v1/agents/{id}/policy/explain",
      ForPolicy(auth::kScopeRead, [&store](const Request& r, const TenantId& t, const Uuid& id) {
        QueryParams q(r, {});
        if (!q.ok()) return q.Error();
        auto facts = store.GetAgentFacts(t, AgentId(id));
        if (!facts.ok()) return Response::Error(facts.status());
        auto state = store.LoadTenantState(t);
        if (!state.ok()) return Response::Error(state.status());
        Resolution res = Resolve(state->assignments, *facts);
        json policy_json, assignment_json;
        const CompiledVersion* version = nullptr;
        if (res.chosen != nullptr) {
          assignment_json = ToJson(*res.chosen);
          auto it = state->current.find(res.chosen->policy_id);
          if (it != state->current.end()) {
            version = &it->second;
            policy_json = {{"id", version->policy_id.ToString()},
                           {"name", version->policy_name},
                           {"version", version->version},
                           {"sha256", version->sha256}};
          }
        }
        json considered = json::array();
        for (const auto& c : res.considered) {
          considered.push_back(
              {{"assignment", ToJson(*c.assignment)}, {"matched", c.matched}, {"why", c.why}});
        }
        return Response::Json(200, {{"agent_id", id.ToString()},
                                    {"image_name", facts->image_name},
                                    {"labels", facts->labels},
                                    {"policy", policy_json},
                                    {"assignment", assignment_json},
                                    {"reason", res.reason},
                                    {"etag", ETagFor(version)},
                                    {"considered", considered}});
      }));

  // The agent's own rule table: conditional (If-None-Match) and, with
  // ?wait=SECONDS, a long-poll answered when it changes.
  server.RouteDeferred(
      Method::kGet, "/v1/agents/{id}/policy",
      [&distributor](const Request& r, http::Responder respond) {
        if (Status s = auth::RequireScope(r, auth::kScopeAgent); !s.ok()) {
          return respond(Response::Error(s));
        }
        auto id = PathUuid(r, "id");
        if (!id.ok()) return respond(Response::Error(id.status(), "id"));
        if (r.principal->subject != id->ToString()) {
          return respond(Response::Error(
              PermissionDeniedError("an agent can only fetch its own policy"), "id"));
        }
        QueryParams q(r, {"wait"});
        const std::int64_t max_wait =
            std::chrono::duration_cast<std::chrono::seconds>(distributor.options().max_wait)
                .count();
        std::int64_t wait = q.Int("wait", 0, 0, max_wait);
        if (!q.ok()) return respond(q.Error());
        const std::string* inm = r.Header("if-none-match");
        auto request = std::make_shared<Request>(r);
        distributor.Fetch(*r.principal->tenant, AgentId(*id), inm != nullptr ? *inm : "",
                          std::chrono::seconds(wait), [request, respond](StatusOr<FetchResult> f) {
                            if (!f.ok()) return respond(Response::Error(f.status()));
                            respond(TableResponse(*request, *f));
                          });
      });
}

}  // namespace portcullis::policy_service
