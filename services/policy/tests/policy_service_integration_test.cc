// The policy service started for real against PostgreSQL, beside the
// registry (tenants, keys, agents): policies and their versions, diff and
// rollback, assignment and explanation, the agent's rule table with ETag and
// long-poll, audit, and every way to get it wrong (bad documents with all
// their diagnostics, nothing saved; another tenant's ids and credentials;
// wrong roles; stale If-Match; oversized bodies).
#include <gtest/gtest.h>
#include <signal.h>

#include <future>
#include <nlohmann/json.hpp>

#include "portcullis/testing/api.h"
#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"
#include "portcullis/v1/rule_table.pb.h"

namespace portcullis {
namespace {

using nlohmann::json;
using testing::Api;
using testing::ExpectError;
using testing::OperatorToken;
using testing::Reply;
using testing::ServiceProcess;

struct Tenant {
  std::string admin, analyst, agent_id, agent, other_agent_id, other_agent;
};

json Doc(const std::string& name, const std::string& file_default = "allow") {
  return {{"name", name},
          {"defaults", {{"file", file_default}}},
          {"hardening", {"deny-ptrace"}},
          {"rules",
           {{{"id", "no-shadow"}, {"type", "file"}, {"action", "deny"}, {"paths", {"/etc/shadow"}}},
            {{"id", "egress"},
             {"type", "network"},
             {"action", "allow"},
             {"direction", "outbound"},
             {"addresses", {"10.0.0.0/8"}},
             {"ports", {"443"}}}}}};
}

class PolicyServiceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    registry_ = new ServiceProcess("registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
    policy_ = new ServiceProcess(
        "policy", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0", "PORTCULLIS_POLICY_MAX_WAIT_S=20"});
    registry_port_ = registry_->WaitStarted();
    policy_port_ = policy_->WaitStarted();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(policy_->Stop(SIGTERM), 0);
    EXPECT_EQ(registry_->Stop(SIGTERM), 0);
    delete policy_;
    delete registry_;
  }
  void SetUp() override {
    ASSERT_NE(registry_port_, 0) << "registry did not start";
    ASSERT_NE(policy_port_, 0) << "policy did not start";
    reg_ = std::make_unique<Api>(registry_port_);
    api_ = std::make_unique<Api>(policy_port_);
  }

  std::pair<std::string, std::string> Register(const std::string& token, const std::string& image,
                                               const json& labels) {
    Reply r = reg_->Post("/v1/agents/register", token,
                         {{"container_id", testing::UniqueName("c-")},
                          {"image_name", image},
                          {"hostname", "node"},
                          {"labels", labels},
                          {"agent_version", "0.1.0"},
                          {"kernel_version", "6.1.0"}});
    EXPECT_EQ(r.status, 201) << r.raw_body;
    return {r.body["agent_id"], r.body["credential"]};
  }

  Tenant MakeTenant() {
    Tenant t;
    Reply r =
        reg_->Post("/v1/tenants", OperatorToken(), {{"name", testing::UniqueName("tenant-")}});
    EXPECT_EQ(r.status, 201) << r.raw_body;
    t.admin = r.body["admin_key"]["secret"];
    r = reg_->Post("/v1/api-keys", t.admin, {{"name", "soc"}, {"role", "analyst"}});
    t.analyst = r.body["secret"];
    r = reg_->Post("/v1/enrollment-tokens", t.admin, {{"name", "fleet"}});
    std::string token = r.body["secret"];
    std::tie(t.agent_id, t.agent) =
        Register(token, "registry.example/shop/web:1.4", {{"env", "prod"}});
    std::tie(t.other_agent_id, t.other_agent) =
        Register(token, "docker.io/library/redis:7", {{"env", "dev"}});
    return t;
  }

  std::string CreatePolicy(const Tenant& t, const json& doc) {
    Reply r = api_->Post("/v1/policies", t.admin, {{"document", doc}, {"comment", "first"}});
    EXPECT_EQ(r.status, 201) << r.raw_body;
    return r.body.value("id", "");
  }

  // The agent's fetch: status, ETag and, for 200, the decoded table.
  struct Fetched {
    int status = 0;
    std::string etag;
    v1::RuleTable table;
    json error;
  };
  Fetched Fetch(const std::string& agent_id, const std::string& credential,
                const std::string& if_none_match = "", int wait = 0) {
    Api api(policy_port_);  // its own connection: fetches run in parallel
    Api::Headers h;
    if (!if_none_match.empty()) h.emplace_back("If-None-Match", if_none_match);
    std::string path = "/v1/agents/" + agent_id + "/policy";
    if (wait > 0) path += "?wait=" + std::to_string(wait);
    Reply r = api.Call("GET", path, credential, "", "", h, /*expect_json=*/false);
    Fetched f{r.status, r.headers.count("etag") ? r.headers.at("etag") : "", {}, nullptr};
    if (r.status == 200) {
      EXPECT_EQ(r.headers["content-type"], "application/x-protobuf");
      EXPECT_TRUE(f.table.ParseFromString(r.raw_body));
    } else if (!r.raw_body.empty()) {
      f.error = json::parse(r.raw_body, nullptr, false);
    }
    return f;
  }

  static ServiceProcess* registry_;
  static ServiceProcess* policy_;
  static int registry_port_, policy_port_;
  std::unique_ptr<Api> reg_, api_;
};

ServiceProcess* PolicyServiceTest::registry_ = nullptr;
ServiceProcess* PolicyServiceTest::policy_ = nullptr;
int PolicyServiceTest::registry_port_ = 0;
int PolicyServiceTest::policy_port_ = 0;

TEST_F(PolicyServiceTest, VersionsAreImmutableWithDiffAndRollback) {
  Tenant t = MakeTenant();
  std::string id = CreatePolicy(t, Doc("web"));
  Reply r = api_->Get("/v1/policies/" + id, t.analyst);
  ASSERT_EQ(r.status, 200) << r.raw_body;
  EXPECT_EQ(r.body["current_version"], 1);
  EXPECT_EQ(r.body["document"]["rules"][0]["id"], "no-shadow");
  EXPECT_EQ(r.body["version"]["comment"], "first");

  json v2 = Doc("web");
  v2["rules"][0]["action"] = "monitor";
  v2["rules"].push_back(
      {{"id", "no-keyctl"}, {"type", "syscall"}, {"action", "deny"}, {"syscall", "keyctl"}});
  // A stale If-Match is refused and changes nothing.
  r = api_->Put("/v1/policies/" + id, t.admin, {{"document", v2}}, {{"If-Match", "\"7\""}});
  ExpectError(r, 412, "failed_precondition");
  r = api_->Put("/v1/policies/" + id, t.admin, {{"document", v2}, {"comment", "soften"}},
                {{"If-Match", "\"1\""}});
  ASSERT_EQ(r.status, 200) << r.raw_body;
  EXPECT_EQ(r.body["current_version"], 2);

  r = api_->Get("/v1/policies/" + id + "/diff?from=1&to=2", t.analyst);
  ASSERT_EQ(r.status, 200) << r.raw_body;
  std::set<std::string> changes;
  for (const json& c : r.body["changes"])
    changes.insert(c["kind"].get<std::string>() + " " + c["path"].get<std::string>());
  EXPECT_EQ(changes,
            (std::set<std::string>{"changed /rules/no-shadow/action", "added /rules/no-keyctl"}));

  r = api_->Post("/v1/policies/" + id + "/rollback", t.admin, {{"version", 1}});
  ASSERT_EQ(r.status, 200) << r.raw_body;
  EXPECT_EQ(r.body["current_version"], 3);
  r = api_->Get("/v1/policies/" + id + "/versions", t.analyst);
  ASSERT_EQ(r.body["versions"].size(), 3u);
  EXPECT_EQ(r.body["versions"][0]["version"], 3);
  EXPECT_EQ(r.body["versions"][0]["source_version"], 1);
  EXPECT_EQ(r.body["versions"][2]["sha256"].get<std::string>().size(), 64u);
  r = api_->Get("/v1/policies/" + id + "/diff?from=1&to=3", t.analyst);
  EXPECT_TRUE(r.body["changes"].empty()) << r.raw_body;
  // Old versions stay as they were.
  r = api_->Get("/v1/policies/" + id + "?version=2", t.analyst);
  EXPECT_EQ(r.body["document"]["rules"][0]["action"], "monitor");
  ExpectError(api_->Post("/v1/policies/" + id + "/rollback", t.admin, {{"version", 99}}), 404,
              "not_found");

  // Every change is in the tenant's audit log (served by the registry).
  r = reg_->Get("/v1/audit-log", t.admin);
  std::set<std::string> actions;
  for (const json& e : r.body["entries"])
    actions.insert(e["action"]);
  for (const char* a : {"policy.create", "policy.update", "policy.rollback"})
    EXPECT_TRUE(actions.count(a)) << a;
}

TEST_F(PolicyServiceTest, BadDocumentsGetEveryDiagnosticAndNothingIsSaved) {
  Tenant t = MakeTenant();
  json bad = {{"name", "broken"},
              {"colour", "red"},
              {"rules",
               {{{"type", "file"}, {"action", "deny"}, {"paths", {"/etc/[shadow"}}},
                {{"type", "network"}, {"action", "allow"}, {"addresses", {"10.0.0.0/33"}}},
                {{"type", "syscall"}, {"action", "deny"}, {"syscall", "no_such_call"}}}}};
  Reply r = api_->Post("/v1/policies", t.admin, {{"document", bad}});
  ExpectError(r, 400, "invalid_argument");
  std::set<std::string> where;
  for (const json& d : r.body["error"]["details"])
    where.insert(d["location"]);
  for (const char* loc : {"/document/colour", "/document/rules/0/paths/0",
                          "/document/rules/1/addresses/0", "/document/rules/2/syscall"})
    EXPECT_TRUE(where.count(loc)) << loc << " in " << r.raw_body;
  // validate says the same without saving; a good document gets a summary.
  r = api_->Post("/v1/policies/validate", t.analyst, {{"document", bad}});
  EXPECT_EQ(r.status, 400);
  r = api_->Post("/v1/policies/validate", t.analyst, {{"document", Doc("ok")}});
  ASSERT_EQ(r.status, 200) << r.raw_body;
  EXPECT_EQ(r.body["summary"]["rules"], 2);
  // deny-ptrace's 3, deny-io-uring's 3, deny-file-handles' 1 and
  // deny-mount's 9 (the last three implied by the file rule).
  EXPECT_EQ(r.body["summary"]["hardening_rules"], 16);
  EXPECT_TRUE(r.body["summary"]["agent_syscalls"].size() > 0);

  ExpectError(api_->Post("/v1/policies", t.admin, {{"document", {{"rules", json::array()}}}}), 400,
              "invalid_argument");  // no name
  ExpectError(api_->Post("/v1/policies", t.admin, {{"document", "x"}}), 400, "invalid_argument");
  ExpectError(api_->Post("/v1/policies", t.admin, {{"document", Doc("a")}, {"extra", 1}}), 400,
              "invalid_argument");
  ExpectError(api_->Call("POST", "/v1/policies", t.admin, "{\"document\": {", "application/json"),
              400, "invalid_argument");
  ExpectError(api_->Call("POST", "/v1/policies", t.admin, Doc("a").dump(), "text/plain"), 415,
              "unsupported_media_type");
  json huge = Doc("huge");
  huge["rules"][0]["paths"] = json::array();
  for (int i = 0; i < 300; ++i)
    huge["rules"][0]["paths"].push_back("/" + std::string(4000, 'a'));
  ExpectError(api_->Post("/v1/policies", t.admin, {{"document", huge}}), 400, "invalid_argument");
  std::string oversized = "{\"document\": {\"name\": \"" + std::string(5 << 20, 'x') + "\"}}";
  r = api_->Call("POST", "/v1/policies", t.admin, oversized);
  EXPECT_EQ(r.status, 413);
  // Analysts read, admins write.
  ExpectError(api_->Post("/v1/policies", t.analyst, {{"document", Doc("a")}}), 403,
              "permission_denied");
  r = api_->Get("/v1/policies", t.admin);
  EXPECT_TRUE(r.body["policies"].empty()) << "nothing was saved: " << r.raw_body;
  // Names are unique per tenant.
  CreatePolicy(t, Doc("dup"));
  ExpectError(api_->Post("/v1/policies", t.admin, {{"document", Doc("dup")}}), 409,
              "already_exists");
}

TEST_F(PolicyServiceTest, AssignmentExplainAndTheAgentsRuleTable) {
  Tenant t = MakeTenant();
  // Nothing assigned: 404 with the "none" ETag, and 304 for it.
  Fetched f = Fetch(t.agent_id, t.agent);
  EXPECT_EQ(f.status, 404);
  EXPECT_EQ(f.etag, "\"none\"");
  EXPECT_EQ(Fetch(t.agent_id, t.agent, "\"none\"").status, 304);

  std::string web = CreatePolicy(t, Doc("web"));
  std::string base = CreatePolicy(t, Doc("baseline", "monitor"));
  Reply r = api_->Post("/v1/policies/" + web + "/assignments", t.admin,
                       {{"priority", 10}, {"selector", {{"image", "registry.example/shop/*"}}}});
  ASSERT_EQ(r.status, 201) << r.raw_body;
  std::string web_assignment = r.body["id"];
  r = api_->Post("/v1/policies/" + base + "/assignments", t.admin,
                 {{"selector", {{"default", true}}}});
  ASSERT_EQ(r.status, 201) << r.raw_body;

  // A bad label key is reported as such, not also as a missing selector.
  r = api_->Post("/v1/policies/" + web + "/assignments", t.admin,
                 {{"selector", {{"labels", {{"", "x"}}}}}});
  ExpectError(r, 400, "invalid_argument");
  EXPECT_EQ(r.body["error"]["details"].size(), 1u) << r.raw_body;
  // Selector mistakes.
  for (const json& sel : {json{{"image", "a"}, {"default", true}}, json::object(),
                          json{{"default", false}}, json{{"image", std::string(600, 'a')}},
                          json{{"labels", {{"env", 3}}}}, json{{"colour", "red"}}}) {
    ExpectError(api_->Post("/v1/policies/" + web + "/assignments", t.admin, {{"selector", sel}}),
                400, "invalid_argument");
  }

  r = api_->Get("/v1/agents/" + t.agent_id + "/policy/explain", t.analyst);
  ASSERT_EQ(r.status, 200) << r.raw_body;
  EXPECT_EQ(r.body["policy"]["name"], "web");
  EXPECT_NE(r.body["reason"].get<std::string>().find("matches 'registry.example/shop/*'"),
            std::string::npos)
      << r.raw_body;
  r = api_->Get("/v1/agents/" + t.other_agent_id + "/policy/explain", t.analyst);
  EXPECT_EQ(r.body["policy"]["name"], "baseline") << r.raw_body;

  f = Fetch(t.agent_id, t.agent);
  ASSERT_EQ(f.status, 200);
  EXPECT_EQ(f.table.policy_id(), web);
  EXPECT_EQ(f.table.version(), 1u);
  EXPECT_EQ(f.table.rules(0).id(), "deny-ptrace.ptrace");
  EXPECT_FALSE(f.etag.empty());
  EXPECT_EQ(Fetch(t.agent_id, t.agent, f.etag).status, 304);
  Fetched other = Fetch(t.other_agent_id, t.other_agent);
  EXPECT_EQ(other.table.policy_name(), "baseline");

  // JSON for people debugging.
  Reply j = api_->Call("GET", "/v1/agents/" + t.agent_id + "/policy", t.agent, "", "",
                       {{"Accept", "application/json"}});
  EXPECT_EQ(j.status, 200);
  EXPECT_EQ(j.body["policyName"], "web");

  // Only the agent itself.
  EXPECT_EQ(Fetch(t.other_agent_id, t.agent).status, 403);
  EXPECT_EQ(Fetch(t.agent_id, t.admin).status, 403);
  EXPECT_EQ(Fetch(t.agent_id, "").status, 401);
  EXPECT_EQ(Fetch(t.agent_id, t.agent, "", 999).status, 400) << "wait is bounded";

  // Unassigning falls back to the default; an assigned policy can't go.
  ExpectError(api_->Delete("/v1/policies/" + web, t.admin), 409, "conflict");
  ASSERT_EQ(api_->Delete("/v1/policy-assignments/" + web_assignment, t.admin).status, 204);
  EXPECT_EQ(Fetch(t.agent_id, t.agent).table.policy_name(), "baseline");
  EXPECT_EQ(api_->Delete("/v1/policies/" + web, t.admin).status, 204);
  ExpectError(api_->Get("/v1/policies/" + web, t.admin), 404, "not_found");
}

TEST_F(PolicyServiceTest, LongPollReturnsTheNewVersionWhenItIsPublished) {
  Tenant t = MakeTenant();
  std::string id = CreatePolicy(t, Doc("web"));
  ASSERT_EQ(api_->Post("/v1/policies/" + id + "/assignments", t.admin,
                       {{"selector", {{"default", true}}}})
                .status,
            201);
  Fetched first = Fetch(t.agent_id, t.agent);
  ASSERT_EQ(first.status, 200);

  // Nothing changes: 304 when the wait ends.
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Fetch(t.agent_id, t.agent, first.etag, 1).status, 304);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));

  auto waiting =
      std::async(std::launch::async, [&] { return Fetch(t.agent_id, t.agent, first.etag, 15); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  json v2 = Doc("web");
  v2["rules"][0]["action"] = "monitor";
  auto published = std::chrono::steady_clock::now();
  ASSERT_EQ(api_->Put("/v1/policies/" + id, t.admin, {{"document", v2}}).status, 200);
  Fetched next = waiting.get();
  auto latency = std::chrono::steady_clock::now() - published;
  ASSERT_EQ(next.status, 200);
  EXPECT_EQ(next.table.version(), 2u);
  EXPECT_NE(next.etag, first.etag);
  EXPECT_LT(latency, std::chrono::seconds(2));
}

TEST_F(PolicyServiceTest, AnotherTenantsIdsAreNotFound) {
  Tenant a = MakeTenant();
  Tenant b = MakeTenant();
  std::string id = CreatePolicy(a, Doc("web"));
  ExpectError(api_->Get("/v1/policies/" + id, b.admin), 404, "not_found");
  Reply put = api_->Put("/v1/policies/" + id, b.admin, {{"document", Doc("web")}});
  ExpectError(put, 404, "not_found");
  EXPECT_EQ(put.body["error"]["location"], "id");
  ExpectError(api_->Delete("/v1/policies/" + id, b.admin), 404, "not_found");
  ExpectError(api_->Get("/v1/policies/" + id + "/versions", b.admin), 404, "not_found");
  ExpectError(api_->Post("/v1/policies/" + id + "/rollback", b.admin, {{"version", 1}}), 404,
              "not_found");
  ExpectError(api_->Post("/v1/policies/" + id + "/assignments", b.admin,
                         {{"selector", {{"default", true}}}}),
              404, "not_found");
  ExpectError(api_->Get("/v1/agents/" + a.agent_id + "/policy/explain", b.admin), 404, "not_found");
  EXPECT_EQ(Fetch(a.agent_id, b.agent).status, 403);
  Reply r = api_->Get("/v1/policies", b.admin);
  EXPECT_TRUE(r.body["policies"].empty());
  ExpectError(api_->Get("/v1/policies/not-a-uuid", a.admin), 400, "invalid_argument");
}

}  // namespace
}  // namespace portcullis
