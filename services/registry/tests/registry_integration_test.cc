// The registry service started for real against PostgreSQL: tenancy,
// credentials, registration, inventory, and every way to get it wrong
// (another tenant's ids and credentials, wrong roles, revoked or expired
// credentials, malformed and oversized input, rate limits).
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <set>

#include "portcullis/testing/api.h"
#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"

namespace portcullis {
namespace {

using nlohmann::json;
using testing::InfraEnv;
using testing::ServiceProcess;

using testing::Api;
using testing::ExpectError;
using testing::OperatorToken;
using testing::Reply;

json Facts(const std::string& container) {
  return {{"container_id", container},
          {"image_name", "registry.example/shop/web:1.4"},
          {"image_digest", "sha256:0123"},
          {"hostname", "node-" + container},
          {"labels", {{"env", "prod"}, {"team", "shop"}}},
          {"agent_version", "0.1.0"},
          {"kernel_version", "6.1.0"}};
}

// One tenant with a credential of every kind.
struct Tenant {
  std::string id, admin, analyst, token, token_id, agent_id, agent, admin_key_id;
};

class RegistryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    svc_ = new ServiceProcess("registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
    port_ = svc_->WaitStarted();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(svc_->Stop(SIGTERM), 0);
    delete svc_;
  }
  void SetUp() override {
    ASSERT_NE(port_, 0) << "registry did not start";
    api_ = std::make_unique<Api>(port_);
  }

  Tenant MakeTenant() {
    Tenant t;
    Reply r =
        api_->Post("/v1/tenants", OperatorToken(), {{"name", testing::UniqueName("tenant-")}});
    EXPECT_EQ(r.status, 201) << r.body.dump();
    t.id = r.body["tenant"]["id"];
    t.admin = r.body["admin_key"]["secret"];
    t.admin_key_id = r.body["admin_key"]["id"];
    r = api_->Post("/v1/api-keys", t.admin, {{"name", "soc"}, {"role", "analyst"}});
    EXPECT_EQ(r.status, 201) << r.body.dump();
    t.analyst = r.body["secret"];
    r = api_->Post("/v1/enrollment-tokens", t.admin, {{"name", "fleet"}});
    EXPECT_EQ(r.status, 201) << r.body.dump();
    t.token = r.body["secret"];
    t.token_id = r.body["id"];
    r = api_->Post("/v1/agents/register", t.token, Facts("c-" + t.id.substr(0, 8)));
    EXPECT_EQ(r.status, 201) << r.body.dump();
    t.agent_id = r.body["agent_id"];
    t.agent = r.body["credential"];
    return t;
  }

  // Runs SQL as the database superuser (to age a row; never what services do).
  static void AdminSql(const std::string& sql) {
    pqxx::connection c(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }

  static ServiceProcess* svc_;
  static int port_;
  std::unique_ptr<Api> api_;
};

ServiceProcess* RegistryTest::svc_ = nullptr;
int RegistryTest::port_ = 0;

TEST_F(RegistryTest, RegistrationHeartbeatAndInventory) {
  Tenant t = MakeTenant();
  Reply hb = api_->Post("/v1/agents/" + t.agent_id + "/heartbeat", t.agent,
                        {{"events_sent", 10}, {"events_dropped", 1}, {"policy_version", 3}});
  ASSERT_EQ(hb.status, 200) << hb.body.dump();
  EXPECT_EQ(hb.body["heartbeat_interval_seconds"], 30);

  for (const std::string& cred : {t.admin, t.analyst}) {
    Reply a = api_->Get("/v1/agents/" + t.agent_id, cred);
    ASSERT_EQ(a.status, 200) << a.body.dump();
    EXPECT_EQ(a.body["status"], "online");
    EXPECT_EQ(a.body["counters"]["events_sent"], 10);
    EXPECT_EQ(a.body["policy_version"], 3);
    EXPECT_EQ(a.body["labels"]["team"], "shop");
  }
  Reply list = api_->Get("/v1/agents?image=registry.example/shop/*&label=env=prod", t.analyst);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["agents"].size(), 1u);
  EXPECT_TRUE(api_->Get("/v1/agents?image=nginx*", t.analyst).body["agents"].empty());
  EXPECT_TRUE(api_->Get("/v1/agents?label=env=dev", t.analyst).body["agents"].empty());
  Reply images = api_->Get("/v1/images", t.analyst);
  ASSERT_EQ(images.status, 200);
  EXPECT_EQ(images.body["images"][0]["agents"], 1);
  Reply containers = api_->Get("/v1/containers", t.analyst);
  ASSERT_EQ(containers.status, 200);
  EXPECT_EQ(containers.body["containers"][0]["agent_id"], t.agent_id);
}

TEST_F(RegistryTest, ReRegistrationIsIdempotentAndRotatesTheCredential) {
  Tenant t = MakeTenant();
  std::string container = "c-" + t.id.substr(0, 8);
  Reply again = api_->Post("/v1/agents/register", t.token, Facts(container));
  ASSERT_EQ(again.status, 200) << again.body.dump();
  EXPECT_EQ(again.body["agent_id"], t.agent_id);
  EXPECT_NE(again.body["credential"], t.agent);
  ExpectError(api_->Post("/v1/agents/" + t.agent_id + "/heartbeat", t.agent, json::object()), 401,
              "unauthenticated");
  EXPECT_EQ(api_->Post("/v1/agents/" + t.agent_id + "/heartbeat", again.body["credential"],
                       json::object())
                .status,
            200);
  Reply toks = api_->Get("/v1/enrollment-tokens", t.admin);
  EXPECT_EQ(toks.body["enrollment_tokens"][0]["uses"], 1) << "re-registration is not a new use";
}

TEST_F(RegistryTest, AnotherTenantsIdsAndCredentialsGetNothing) {
  Tenant a = MakeTenant();
  Tenant b = MakeTenant();
  // b's credentials on a's resources: 404 (not 403: existence is not revealed).
  for (const std::string& cred : {b.admin, b.analyst}) {
    ExpectError(api_->Get("/v1/agents/" + a.agent_id, cred), 404, "not_found");
  }
  ExpectError(api_->Delete("/v1/agents/" + a.agent_id, b.admin), 404, "not_found");
  ExpectError(api_->Delete("/v1/api-keys/" + a.admin_key_id, b.admin), 404, "not_found");
  ExpectError(api_->Delete("/v1/enrollment-tokens/" + a.token_id, b.admin), 404, "not_found");
  ExpectError(api_->Post("/v1/agents/" + a.agent_id + "/heartbeat", b.agent, json::object()), 403,
              "permission_denied");
  // Lists show only the caller's tenant.
  for (const auto& path : {"/v1/agents", "/v1/containers"}) {
    std::string dump = api_->Get(path, b.admin).body.dump();
    EXPECT_EQ(dump.find(a.agent_id), std::string::npos) << path;
  }
  EXPECT_EQ(api_->Get("/v1/audit-log", b.admin).body.dump().find(a.agent_id), std::string::npos);
  // A credential whose tenant part is rewritten to a's does not authenticate.
  std::string forged = b.admin;
  std::string a_hex = a.id;
  a_hex.erase(std::remove(a_hex.begin(), a_hex.end(), '-'), a_hex.end());
  forged.replace(4, 32, a_hex);
  ExpectError(api_->Get("/v1/agents", forged), 401, "unauthenticated");
  // a's resources are untouched.
  Reply still = api_->Get("/v1/agents/" + a.agent_id, a.admin);
  ASSERT_EQ(still.status, 200);
  EXPECT_TRUE(still.body["revoked_at"].is_null());
  EXPECT_EQ(api_->Get("/v1/api-keys", a.admin).status, 200);
}

TEST_F(RegistryTest, EachCredentialCanDoOnlyItsOwnThings) {
  Tenant t = MakeTenant();
  // Analyst: read only.
  ExpectError(api_->Post("/v1/api-keys", t.analyst, {{"name", "x"}, {"role", "admin"}}), 403,
              "permission_denied");
  ExpectError(api_->Delete("/v1/agents/" + t.agent_id, t.analyst), 403, "permission_denied");
  ExpectError(api_->Get("/v1/audit-log", t.analyst), 403, "permission_denied");
  ExpectError(api_->Get("/v1/api-keys", t.analyst), 403, "permission_denied");
  // Enrollment token: registration only.
  ExpectError(api_->Get("/v1/agents", t.token), 403, "permission_denied");
  ExpectError(api_->Post("/v1/enrollment-tokens", t.token, {{"name", "x"}}), 403,
              "permission_denied");
  // Agent credential: its heartbeat only.
  ExpectError(api_->Get("/v1/agents", t.agent), 403, "permission_denied");
  ExpectError(api_->Post("/v1/agents/register", t.agent, Facts("other")), 403, "permission_denied");
  // Tenant credentials can't create tenants; only the operator can.
  ExpectError(api_->Post("/v1/tenants", t.admin, {{"name", "evil"}}), 403, "permission_denied");
  // And no credential at all, or garbage, is 401.
  ExpectError(api_->Get("/v1/agents", ""), 401, "unauthenticated");
  ExpectError(api_->Get("/v1/agents", "pck_garbage"), 401, "unauthenticated");
}

TEST_F(RegistryTest, RevokedAndExpiredCredentialsStopWorking) {
  Tenant t = MakeTenant();
  ASSERT_EQ(api_->Delete("/v1/agents/" + t.agent_id, t.admin).status, 204);
  ExpectError(api_->Post("/v1/agents/" + t.agent_id + "/heartbeat", t.agent, json::object()), 401,
              "unauthenticated");
  ExpectError(api_->Post("/v1/agents/register", t.token, Facts("c-" + t.id.substr(0, 8))), 403,
              "permission_denied");
  EXPECT_EQ(api_->Get("/v1/agents/" + t.agent_id, t.admin).body["status"], "revoked");
  ExpectError(api_->Delete("/v1/agents/" + t.agent_id, t.admin), 404, "not_found");

  Reply key = api_->Post("/v1/api-keys", t.admin, {{"name", "temp"}, {"role", "analyst"}});
  ASSERT_EQ(api_->Get("/v1/agents", key.body["secret"]).status, 200);
  ASSERT_EQ(api_->Delete("/v1/api-keys/" + key.body["id"].get<std::string>(), t.admin).status, 204);
  ExpectError(api_->Get("/v1/agents", key.body["secret"]), 401, "unauthenticated");

  ASSERT_EQ(api_->Delete("/v1/enrollment-tokens/" + t.token_id, t.admin).status, 204);
  ExpectError(api_->Post("/v1/agents/register", t.token, Facts("new")), 401, "unauthenticated");

  Reply tok =
      api_->Post("/v1/enrollment-tokens", t.admin, {{"name", "short"}, {"ttl_seconds", 60}});
  ASSERT_EQ(tok.status, 201);
  EXPECT_FALSE(tok.body["expires_at"].is_null());
  AdminSql("UPDATE enrollment_tokens SET expires_at = now() - interval '1 second' WHERE id = '" +
           tok.body["id"].get<std::string>() + "'");
  ExpectError(api_->Post("/v1/agents/register", tok.body["secret"], Facts("late")), 401,
              "unauthenticated");
}

TEST_F(RegistryTest, AnotherEnrollmentTokenCannotTakeOverAnAgent) {
  Tenant t = MakeTenant();
  Reply other = api_->Post("/v1/enrollment-tokens", t.admin, {{"name", "other"}});
  ASSERT_EQ(other.status, 201);
  ExpectError(
      api_->Post("/v1/agents/register", other.body["secret"], Facts("c-" + t.id.substr(0, 8))), 403,
      "permission_denied");
  // The agent's own credential still works.
  EXPECT_EQ(api_->Post("/v1/agents/" + t.agent_id + "/heartbeat", t.agent, json::object()).status,
            200);
}

TEST_F(RegistryTest, MaxUsesIsEnforced) {
  Tenant t = MakeTenant();
  Reply tok = api_->Post("/v1/enrollment-tokens", t.admin, {{"name", "once"}, {"max_uses", 1}});
  ASSERT_EQ(tok.status, 201);
  std::string secret = tok.body["secret"];
  EXPECT_EQ(api_->Post("/v1/agents/register", secret, Facts("first")).status, 201);
  ExpectError(api_->Post("/v1/agents/register", secret, Facts("second")), 403, "permission_denied");
  EXPECT_EQ(api_->Post("/v1/agents/register", secret, Facts("first")).status, 200)
      << "the container already registered may register again";
}

TEST_F(RegistryTest, BadInputIsA4xxThatSaysWhatAndWhereAndWritesNothing) {
  Tenant t = MakeTenant();
  Reply r = api_->Post("/v1/agents/register", t.token,
                       {{"container_id", ""},
                        {"image_name", 5},
                        {"hostname", std::string(300, 'h')},
                        {"labels", {{"k", 1}}},
                        {"agent_version", "1"},
                        {"kernel_version", "6"},
                        {"tenant_id", "someone-else"}});
  ASSERT_EQ(r.status, 400) << r.body.dump();
  std::set<std::string> where;
  for (auto& d : r.body["error"]["details"])
    where.insert(d["location"]);
  EXPECT_EQ(where, (std::set<std::string>{"/container_id", "/image_name", "/hostname", "/labels/k",
                                          "/tenant_id"}));
  ExpectError(api_->Call("POST", "/v1/api-keys", t.admin, "{\"name\":", "application/json"), 400,
              "invalid_argument");
  Reply ct = api_->Call("POST", "/v1/api-keys", t.admin, "name=x", "text/plain");
  EXPECT_EQ(ct.status, 415);
  Reply big = api_->Call("POST", "/v1/api-keys", t.admin,
                         "{\"name\":\"" + std::string(2 << 20, 'x') + "\"}");
  EXPECT_EQ(big.status, 413);
  ExpectError(api_->Get("/v1/agents/not-a-uuid", t.admin), 400, "invalid_argument");
  ExpectError(api_->Get("/v1/agents?limit=100000", t.admin), 400, "invalid_argument");
  ExpectError(api_->Get("/v1/agents?status=sleepy", t.admin), 400, "invalid_argument");
  ExpectError(api_->Get("/v1/agents?cursor=xyz", t.admin), 400, "invalid_argument");
  ExpectError(api_->Get("/v1/agents?bogus=1", t.admin), 400, "invalid_argument");
  ExpectError(api_->Post("/v1/enrollment-tokens", t.admin, {{"name", "x"}, {"max_uses", 0}}), 400,
              "invalid_argument");
  ExpectError(api_->Post("/v1/agents/" + t.agent_id + "/heartbeat", t.agent, {{"events_sent", -1}}),
              400, "invalid_argument");
  // An injection attempt in a filter is just a pattern that matches nothing.
  Reply inj = api_->Get("/v1/agents?hostname=x%27%20OR%201%3D1%20--", t.admin);
  ASSERT_EQ(inj.status, 200);
  EXPECT_TRUE(inj.body["agents"].empty());
  // Nothing of the above was written.
  EXPECT_EQ(api_->Get("/v1/agents", t.admin).body["agents"].size(), 1u);
  EXPECT_EQ(api_->Get("/v1/api-keys", t.admin).body["api_keys"].size(), 2u);
  EXPECT_EQ(api_->Get("/v1/enrollment-tokens", t.admin).body["enrollment_tokens"].size(), 1u);
  ExpectError(api_->Post("/v1/tenants", OperatorToken(), {{"name", std::string(201, 'n')}}), 400,
              "invalid_argument");
}

TEST_F(RegistryTest, DuplicateTenantNameIsAConflict) {
  std::string name = testing::UniqueName("dup-");
  EXPECT_EQ(api_->Post("/v1/tenants", OperatorToken(), {{"name", name}}).status, 201);
  ExpectError(api_->Post("/v1/tenants", OperatorToken(), {{"name", name}}), 409, "already_exists");
}

TEST_F(RegistryTest, AgentsPageThroughEveryRowOnceAndStatusFollowsLastSeen) {
  Tenant t = MakeTenant();
  std::set<std::string> registered = {t.agent_id};
  for (int i = 0; i < 6; ++i) {
    Reply r = api_->Post("/v1/agents/register", t.token, Facts("page-" + std::to_string(i)));
    ASSERT_EQ(r.status, 201);
    registered.insert(r.body["agent_id"]);
  }
  std::set<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    Reply r =
        api_->Get("/v1/agents?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor), t.analyst);
    ASSERT_EQ(r.status, 200);
    for (auto& a : r.body["agents"])
      EXPECT_TRUE(seen.insert(a["id"]).second) << "duplicate";
    if (r.body["next_cursor"].is_null()) break;
    cursor = r.body["next_cursor"];
  }
  EXPECT_EQ(seen, registered);

  AdminSql("UPDATE agents SET last_seen_at = now() - interval '5 minutes' WHERE id = '" +
           t.agent_id + "'");
  EXPECT_EQ(api_->Get("/v1/agents/" + t.agent_id, t.admin).body["status"], "stale");
  Reply stale = api_->Get("/v1/agents?status=stale", t.admin);
  ASSERT_EQ(stale.body["agents"].size(), 1u);
  AdminSql("UPDATE agents SET last_seen_at = now() - interval '1 hour' WHERE id = '" + t.agent_id +
           "'");
  EXPECT_EQ(api_->Get("/v1/agents/" + t.agent_id, t.admin).body["status"], "offline");
  EXPECT_EQ(api_->Get("/v1/agents?status=online", t.admin).body["agents"].size(), 6u);
}

TEST_F(RegistryTest, AdminActionsAreAudited) {
  Tenant t = MakeTenant();
  ASSERT_EQ(api_->Delete("/v1/agents/" + t.agent_id, t.admin).status, 204);
  Reply log = api_->Get("/v1/audit-log?limit=3", t.admin);
  ASSERT_EQ(log.status, 200);
  ASSERT_EQ(log.body["entries"].size(), 3u);
  const json& last = log.body["entries"][0];
  EXPECT_EQ(last["action"], "agent.revoke");
  EXPECT_EQ(last["actor_kind"], "admin_key");
  EXPECT_EQ(last["actor_id"], t.admin_key_id);
  EXPECT_EQ(last["target"], t.agent_id);
  EXPECT_EQ(last["remote_addr"], "127.0.0.1");
  std::set<std::string> actions;
  std::string cursor = log.body["next_cursor"];
  Reply more = api_->Get("/v1/audit-log?cursor=" + cursor, t.admin);
  for (auto& e : log.body["entries"])
    actions.insert(e["action"]);
  for (auto& e : more.body["entries"])
    actions.insert(e["action"]);
  EXPECT_EQ(actions,
            (std::set<std::string>{"tenant.create", "api_key.create", "enrollment_token.create",
                                   "agent.register", "agent.revoke"}));
  EXPECT_TRUE(more.body["next_cursor"].is_null());
}

TEST(RegistryRateLimitTest, RepeatedAuthFailuresAndRegistrationsAre429WithRetryAfter) {
  ServiceProcess svc(
      "registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0", "PORTCULLIS_AUTH_FAILURE_BURST=3",
                   "PORTCULLIS_AUTH_FAILURES_PER_MINUTE=1", "PORTCULLIS_REGISTRY_REGISTER_BURST=2",
                   "PORTCULLIS_REGISTRY_REGISTER_PER_SECOND=1"});
  int port = svc.WaitStarted();
  ASSERT_NE(port, 0);
  Api api(port);
  Reply t = api.Post("/v1/tenants", OperatorToken(), {{"name", testing::UniqueName("rl-")}});
  ASSERT_EQ(t.status, 201);
  std::string admin = t.body["admin_key"]["secret"];
  std::string token = api.Post("/v1/enrollment-tokens", admin, {{"name", "x"}}).body["secret"];
  EXPECT_EQ(api.Post("/v1/agents/register", token, Facts("r1")).status, 201);
  EXPECT_EQ(api.Post("/v1/agents/register", token, Facts("r2")).status, 201);
  Reply limited = api.Post("/v1/agents/register", token, Facts("r3"));
  ExpectError(limited, 429, "rate_limited");
  EXPECT_EQ(limited.headers.count("retry-after"), 1u);

  std::string analyst =
      api.Post("/v1/api-keys", admin, {{"name", "soc"}, {"role", "analyst"}}).body["secret"];
  // Garbage tokens count against the address...
  for (int i = 0; i < 3; ++i) {
    ExpectError(api.Get("/v1/agents", "pck_wrong"), 401, "unauthenticated");
  }
  Reply blocked = api.Get("/v1/agents", "pck_wrong");
  ExpectError(blocked, 429, "rate_limited");
  ASSERT_EQ(blocked.headers.count("retry-after"), 1u);
  EXPECT_GE(std::stoi(blocked.headers["retry-after"]), 1);
  // ...a well-formed credential with a wrong secret against (address, id)...
  std::string forged = admin;
  forged.back() = forged.back() == '0' ? '1' : '0';
  for (int i = 0; i < 3; ++i) {
    ExpectError(api.Get("/v1/agents", forged), 401, "unauthenticated");
  }
  ExpectError(api.Get("/v1/agents", forged), 429, "rate_limited");
  ExpectError(api.Get("/v1/agents", admin), 429, "rate_limited");  // that id, from here
  // ...so neither locks out the other credentials behind the same address.
  EXPECT_EQ(api.Get("/v1/agents", analyst).status, 200) << "another key must still work";
  EXPECT_EQ(svc.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace portcullis
