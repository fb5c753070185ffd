// Rendering of registry replies: given the JSON of services/registry/README.md,
// the exact text printed; escaping of hostile strings; error messages.
#include "portcullis/cli/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portcullis::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Json J(const char* text) {
  return Json::parse(text);
}

TEST(TableTest, AlignsColumnsWithoutTrailingBlanks) {
  Table t({"ID", "NAME", "ROLE"});
  t.AddRow({"1", "a-long-name", "admin"});
  t.AddRow({"22", "b", ""});
  EXPECT_EQ(t.rows(), 2u);
  EXPECT_EQ(t.ToString(),
            "ID   NAME          ROLE\n"
            "1    a-long-name   admin\n"
            "22   b\n");
}

TEST(TableTest, CountsUtf8CharactersNotBytes) {
  Table t({"H", "X"});
  t.AddRow({"\xc3\xa9t\xc3\xa9", "1"});  // "été": 3 columns, 5 bytes
  t.AddRow({"abcd", "2"});
  EXPECT_EQ(t.ToString(),
            "H      X\n"
            "\xc3\xa9t\xc3\xa9    1\n"
            "abcd   2\n");
}

TEST(SanitizeTest, EscapesWhatCouldDriveATerminal) {
  EXPECT_EQ(Sanitize("plain-host_1.example"), "plain-host_1.example");
  EXPECT_EQ(Sanitize("a\x1b]0;owned\x07z"), "a\\x1b]0;owned\\x07z");
  EXPECT_EQ(Sanitize("line1\nline2\tx\r"), "line1\\nline2\\tx\\r");
  EXPECT_EQ(Sanitize("del\x7f"), "del\\x7f");
  EXPECT_EQ(Sanitize("c1\xc2\x9b"), "c1\\u009b");                        // CSI as a C1 control
  EXPECT_EQ(Sanitize("evil\xe2\x80\xaetxt.exe"), "evil\\u202etxt.exe");  // right-to-left override
  EXPECT_EQ(Sanitize("bad\xff\xc3"), "bad\\xff\\xc3");                   // invalid UTF-8
  EXPECT_EQ(Sanitize("\xe6\x97\xa5\xe6\x9c\xac"), "\xe6\x97\xa5\xe6\x9c\xac");  // kept as is
  EXPECT_EQ(Sanitize(Sanitize("a\x1b")), Sanitize("a\x1b"));                    // idempotent
}

TEST(CellTest, FormatsJsonValues) {
  EXPECT_EQ(Cell(Json()), "-");
  EXPECT_EQ(Cell(Json("")), "-");
  EXPECT_EQ(Cell(Json("x")), "x");
  EXPECT_EQ(Cell(Json(42)), "42");
  EXPECT_EQ(Cell(Json(true)), "true");
  EXPECT_EQ(Cell(J(R"({"a":"b\u001b"})")), R"({"a":"b\u001b"})");
}

TEST(RenderTest, AgentList) {
  auto out = RenderAgents(J(R"({
    "agents": [
      {"id": "a1", "container_id": "c0ffee", "image_name": "nginx:1.25", "image_digest": "sha256:ab",
       "hostname": "web-1", "labels": {"env": "prod"}, "agent_version": "0.1.0",
       "kernel_version": "6.1", "registered_at": "2024-05-01T10:00:00Z",
       "last_seen_at": "2024-05-01T12:00:00Z", "revoked_at": null, "status": "online",
       "counters": {"events_sent": 5, "events_dropped": 0, "events_spooled": 0},
       "policy_version": null},
      {"id": "a2", "container_id": "beef", "image_name": "redis", "hostname": "cache\u001b[2J",
       "status": "revoked", "last_seen_at": null, "agent_version": "0.1.0"}
    ],
    "next_cursor": null})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(
      out->out,
      "ID   STATUS    HOSTNAME       IMAGE        CONTAINER   LAST SEEN              VERSION\n"
      "a1   online    web-1          nginx:1.25   c0ffee      2024-05-01T12:00:00Z   0.1.0\n"
      "a2   revoked   cache\\x1b[2J   redis        beef        -                      0.1.0\n");
  EXPECT_EQ(out->err, "");
}

TEST(RenderTest, EmptyListSaysSoOnStderr) {
  auto out = RenderAgents(J(R"({"agents": [], "next_cursor": null})"));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->out, "");
  EXPECT_EQ(out->err, "No agents found.\n");
}

TEST(RenderTest, UnexpectedShapesAreErrors) {
  EXPECT_EQ(RenderAgents(J(R"({"items": []})")).status().code(), StatusCode::kInternal);
  EXPECT_EQ(RenderAgents(J(R"({"agents": [1]})")).status().code(), StatusCode::kInternal);
  EXPECT_EQ(RenderAgents(J("[]")).status().code(), StatusCode::kInternal);
  EXPECT_EQ(RenderAgent(J("null")).status().code(), StatusCode::kInternal);
  EXPECT_EQ(RenderApiKeyCreated(J(R"({"id": "k"})")).status().code(), StatusCode::kInternal);
}

TEST(RenderTest, OneAgent) {
  auto out = RenderAgent(J(R"({
    "id": "a1", "container_id": "c0ffee", "image_name": "nginx:1.25", "image_digest": "sha256:ab",
    "hostname": "web-1", "labels": {"tier": "front", "env": "prod"}, "agent_version": "0.1.0",
    "kernel_version": "6.1.0", "registered_at": "2024-05-01T10:00:00Z",
    "last_seen_at": "2024-05-01T12:00:00Z", "revoked_at": null, "status": "online",
    "counters": {"events_sent": 5, "events_dropped": 1, "events_spooled": 2},
    "policy_version": 3})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "id:              a1\n"
            "status:          online\n"
            "hostname:        web-1\n"
            "container_id:    c0ffee\n"
            "image_name:      nginx:1.25\n"
            "image_digest:    sha256:ab\n"
            "labels:          env=prod, tier=front\n"
            "agent_version:   0.1.0\n"
            "kernel_version:  6.1.0\n"
            "policy_version:  3\n"
            "registered_at:   2024-05-01T10:00:00Z\n"
            "last_seen_at:    2024-05-01T12:00:00Z\n"
            "revoked_at:      -\n"
            "events_sent:     5\n"
            "events_dropped:  1\n"
            "events_spooled:  2\n");
}

TEST(RenderTest, ApiKeys) {
  auto out = RenderApiKeys(J(R"({"api_keys": [
    {"id": "k1", "name": "admin", "role": "admin", "created_at": "2024-05-01T10:00:00Z",
     "created_by": null, "last_used_at": "2024-05-02T08:00:00Z", "revoked_at": null},
    {"id": "k2", "name": "ci", "role": "analyst", "created_at": "2024-05-01T11:00:00Z",
     "created_by": "k1", "last_used_at": null, "revoked_at": "2024-05-03T09:00:00Z"}]})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "ID   NAME    ROLE      CREATED                LAST USED              REVOKED\n"
            "k1   admin   admin     2024-05-01T10:00:00Z   2024-05-02T08:00:00Z   -\n"
            "k2   ci      analyst   2024-05-01T11:00:00Z   -                      "
            "2024-05-03T09:00:00Z\n");
}

TEST(RenderTest, EnrollmentTokens) {
  auto out = RenderTokens(J(R"({"enrollment_tokens": [
    {"id": "t1", "name": "prod", "created_at": "2024-05-01T10:00:00Z", "created_by": "k1",
     "expires_at": "2024-05-02T10:00:00Z", "max_uses": 100, "uses": 3, "last_used_at": null,
     "revoked_at": null},
    {"id": "t2", "name": "dev", "created_at": "2024-05-01T10:00:00Z", "created_by": "k1",
     "expires_at": null, "max_uses": null, "uses": 0, "last_used_at": null,
     "revoked_at": null}]})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(
      out->out,
      "ID   NAME   CREATED                EXPIRES                USES    LAST USED   REVOKED\n"
      "t1   prod   2024-05-01T10:00:00Z   2024-05-02T10:00:00Z   3/100   -           -\n"
      "t2   dev    2024-05-01T10:00:00Z   -                      0       -           -\n");
}

TEST(RenderTest, ImagesContainersAudit) {
  auto images = RenderImages(J(R"({"images": [
    {"image_name": "nginx:1.25", "image_digest": "sha256:ab", "agents": 3, "online": 2}]})"));
  ASSERT_TRUE(images.ok());
  EXPECT_EQ(images->out,
            "IMAGE        DIGEST      AGENTS   ONLINE\n"
            "nginx:1.25   sha256:ab   3        2\n");

  auto containers = RenderContainers(J(R"({"containers": [
    {"container_id": "c0ffee", "image_name": "nginx", "image_digest": "", "hostname": "web-1",
     "agent_id": "a1", "status": "stale", "last_seen_at": "2024-05-01T12:00:00Z"}],
    "next_cursor": null})"));
  ASSERT_TRUE(containers.ok());
  EXPECT_EQ(containers->out,
            "CONTAINER   IMAGE   HOSTNAME   AGENT   STATUS   LAST SEEN\n"
            "c0ffee      nginx   web-1      a1      stale    2024-05-01T12:00:00Z\n");

  auto audit = RenderAuditLog(J(R"({"entries": [
    {"id": "e1", "at": "2024-05-01T12:00:00Z", "actor_kind": "admin_key", "actor_id": "k1",
     "action": "api_key.create", "target": "k2", "remote_addr": "10.0.0.1",
     "details": {"role": "analyst"}},
    {"id": "e2", "at": "2024-05-01T12:01:00Z", "actor_kind": "operator", "actor_id": null,
     "action": "tenant.create", "target": "t1", "remote_addr": "10.0.0.2", "details": {}}],
    "next_cursor": "abc"})"));
  ASSERT_TRUE(audit.ok());
  EXPECT_EQ(
      audit->out,
      "AT                     ACTOR          ACTION           TARGET   REMOTE ADDR   DETAILS\n"
      "2024-05-01T12:00:00Z   admin_key:k1   api_key.create   k2       10.0.0.1      "
      "{\"role\":\"analyst\"}\n"
      "2024-05-01T12:01:00Z   operator       tenant.create    t1       10.0.0.2      -\n");
}

TEST(RenderTest, CreatedSecretsAloneOnStdout) {
  auto key = RenderApiKeyCreated(J(R"({"id": "k2", "name": "ci", "role": "analyst",
    "created_at": "2024-05-01T10:00:00Z", "created_by": "k1", "secret": "pck_aa_bb_cc"})"));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->out, "pck_aa_bb_cc\n");
  EXPECT_EQ(key->err,
            "Created analyst API key ci (id k2).\n"
            "Store this secret now: it is not shown again.\n");

  auto token = RenderTokenCreated(J(R"({"id": "t1", "name": "prod", "created_at": "x",
    "created_by": "k1", "expires_at": "2024-05-02T10:00:00Z", "max_uses": null, "uses": 0,
    "secret": "pce_aa_bb_cc"})"));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->out, "pce_aa_bb_cc\n");
  EXPECT_EQ(token->err,
            "Created enrollment token prod (id t1, expires 2024-05-02T10:00:00Z, max uses "
            "unlimited).\n"
            "Store this secret now: it is not shown again.\n");

  auto tenant = RenderTenantCreated(J(R"({
    "tenant": {"id": "t9", "name": "acme", "created_at": "x"},
    "admin_key": {"id": "k1", "name": "admin", "role": "admin", "created_at": "x",
                  "secret": "pck_t9_k1_s"}})"));
  ASSERT_TRUE(tenant.ok()) << tenant.status();
  EXPECT_EQ(tenant->out, "pck_t9_k1_s\n");
  EXPECT_THAT(tenant->err, HasSubstr("Created tenant acme (id t9)"));
  EXPECT_THAT(tenant->err, HasSubstr("not shown again"));
  EXPECT_THAT(tenant->err, Not(HasSubstr("pck_")));
}

TEST(RenderTest, RefusesASecretThatIsNotOne) {
  EXPECT_FALSE(RenderApiKeyCreated(J(R"({"secret": "pck_a\u001b[2J"})")).ok());
  EXPECT_FALSE(RenderApiKeyCreated(J(R"({"secret": "two words"})")).ok());
  EXPECT_FALSE(RenderApiKeyCreated(J(R"({"secret": ""})")).ok());
  EXPECT_FALSE(RenderApiKeyCreated(J(R"({"secret": 5})")).ok());
}

TEST(RenderApiErrorTest, ListsEveryProblem) {
  const char* body = R"j({"error": {"code": "invalid_argument",
      "message": "name: too long (and 1 more problem)", "location": "/name",
      "details": [{"location": "/name", "message": "too long"},
                  {"location": "/role", "message": "must be admin or analyst"}]}})j";
  EXPECT_EQ(RenderApiError(400, body, ""),
            "error: the server answered 400 invalid_argument: name: too long (and 1 more "
            "problem)\n"
            "  at /name\n"
            "  problems:\n"
            "    /name: too long\n"
            "    /role: must be admin or analyst\n");
}

TEST(RenderApiErrorTest, HintsAndOddBodies) {
  EXPECT_EQ(
      RenderApiError(409, R"({"error":{"code":"already_exists","message":"tenant exists"}})", ""),
      "error: the server answered 409 already_exists: tenant exists\n");
  EXPECT_THAT(RenderApiError(401, R"({"error":{"code":"unauthenticated","message":"no"}})", ""),
              HasSubstr("check PORTCULLIS_API_KEY"));
  EXPECT_THAT(RenderApiError(403, R"({"error":{"code":"permission_denied","message":"no"}})", ""),
              HasSubstr("analyst keys are read-only"));
  EXPECT_THAT(RenderApiError(429, R"({"error":{"code":"rate_limited","message":"slow"}})", "7"),
              HasSubstr("retry after 7 s"));
  EXPECT_EQ(RenderApiError(502, "<html>\x1b[31mbad gateway</html>", ""),
            "error: the server answered 502 (not a JSON error): <html>\\x1b[31mbad "
            "gateway</html>\n");
  EXPECT_EQ(RenderApiError(500, "", ""), "error: the server answered 500 with an empty body\n");
  std::string huge(1000, 'x');
  EXPECT_EQ(RenderApiError(413, huge, "").size(),
            std::string("error: the server answered 413 (not a JSON error): ").size() + 300 + 4);
  EXPECT_THAT(RenderApiError(400, R"({"error":{"code":"x","message":"bad \u001b[2J"}})", ""),
              HasSubstr("bad \\x1b[2J"));
}

TEST(RenderPolicyTest, Validation) {
  auto out = RenderPolicyValidation(
      "web.yaml", J(R"({"valid": true, "summary": {"name": "web", "mode": "enforcing",
                       "rules": 3, "hardening": ["deny-ptrace"]}})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "web.yaml: valid\n"
            "name:       web\n"
            "mode:       enforcing\n"
            "rules:      3\n"
            "hardening:  [\"deny-ptrace\"]\n");
  EXPECT_EQ(RenderPolicyValidation("w.json", J(R"({"valid": true})"))->out, "w.json: valid\n");
  EXPECT_EQ(RenderPolicyValidation("w.json", J(R"({"valid": false})")).status().message(),
            "the policy service found w.json not valid");
  EXPECT_EQ(RenderPolicyValidation("w.json", J(R"({"ok": true})")).status().code(),
            StatusCode::kInternal);
}

TEST(RenderPolicyTest, PolicyObjectFixedFieldsThenTheRest) {
  auto out = RenderPolicy(J(R"({"id": "p1", "updated_at": "2024-05-02T10:00:00Z",
      "name": "web", "current_version": 2, "created_at": "2024-05-01T10:00:00Z",
      "created_by": "k1", "document": {"rules": []}, "note": "x\u001by"})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "id:               p1\n"
            "name:             web\n"
            "current_version:  2\n"
            "created_at:       2024-05-01T10:00:00Z\n"
            "updated_at:       2024-05-02T10:00:00Z\n"
            "created_by:       k1\n"
            "note:             x\\x1by\n");
  EXPECT_EQ(RenderPolicy(J("[]")).status().code(), StatusCode::kInternal);
}

TEST(RenderPolicyTest, VersionWithItsDocumentAsIndentedJson) {
  auto out = RenderPolicyVersion(J(R"({"id": "p1", "name": "web", "version": 1,
      "current_version": 2, "created_at": "2024-05-01T10:00:00Z",
      "document": {"name": "web", "rules": [{"id": "a\u001b[2J", "paths": ["/etc/shadow"]}]}})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "id:               p1\n"
            "name:             web\n"
            "version:          1\n"
            "current_version:  2\n"
            "created_at:       2024-05-01T10:00:00Z\n"
            "\n"
            "{\n"
            "  \"name\": \"web\",\n"
            "  \"rules\": [\n"
            "    {\n"
            "      \"id\": \"a\\u001b[2J\",\n"
            "      \"paths\": [\n"
            "        \"/etc/shadow\"\n"
            "      ]\n"
            "    }\n"
            "  ]\n"
            "}\n");
  EXPECT_EQ(RenderPolicyVersion(J(R"({"id": "p1"})")).status().code(), StatusCode::kInternal);

  // The version as its record rather than its number.
  auto record = RenderPolicyVersion(J(R"({"id": "p1", "name": "web", "current_version": 2,
      "created_at": "c", "updated_at": "u", "assignments": 1,
      "version": {"version": 1, "created_at": "v", "created_by": "k1", "comment": null,
                  "sha256": "ab", "source_version": null},
      "document": {}})"));
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->out,
            "id:                      p1\n"
            "name:                    web\n"
            "created_at:              c\n"
            "updated_at:              u\n"
            "assignments:             1\n"
            "version:                 1\n"
            "current_version:         2\n"
            "version_created_at:      v\n"
            "version_created_by:      k1\n"
            "version_comment:         -\n"
            "version_sha256:          ab\n"
            "version_source_version:  -\n"
            "\n"
            "{}\n");
}

TEST(RenderPolicyTest, ListsOfPoliciesVersionsAndAssignments) {
  auto policies = RenderPolicies(J(R"({"policies": [
      {"id": "p1", "name": "web", "current_version": 3, "updated_at": "2024-05-02T10:00:00Z",
       "assignments": 2},
      {"id": "p2", "name": "db", "current_version": 1, "updated_at": "2024-05-01T10:00:00Z",
       "assignments": [{"id": "a1"}]}]})"));
  ASSERT_TRUE(policies.ok()) << policies.status();
  EXPECT_EQ(policies->out,
            "ID   NAME   VERSION   UPDATED                ASSIGNMENTS\n"
            "p1   web    3         2024-05-02T10:00:00Z   2\n"
            "p2   db     1         2024-05-01T10:00:00Z   1\n");
  EXPECT_EQ(RenderPolicies(J(R"({"policies": []})"))->err, "No policies found.\n");

  auto versions = RenderPolicyVersions(J(R"({"versions": [
      {"version": 2, "created_at": "2024-05-02T10:00:00Z", "created_by": "k1",
       "comment": "roll back", "sha256": "0123456789abcdef0123", "source_version": 1},
      {"version": 1, "created_at": "2024-05-01T10:00:00Z", "created_by": "k1",
       "comment": null, "sha256": "fedcba9876543210fedc", "source_version": null}]})"));
  ASSERT_TRUE(versions.ok()) << versions.status();
  EXPECT_EQ(versions->out,
            "VERSION   CREATED                BY   COMMENT     SHA256         SOURCE\n"
            "2         2024-05-02T10:00:00Z   k1   roll back   0123456789ab   1\n"
            "1         2024-05-01T10:00:00Z   k1   -           fedcba987654   -\n");

  auto assignments = RenderPolicyAssignments(J(R"({"assignments": [
      {"id": "a1", "policy_id": "p1", "priority": 10, "selector": {"image": "nginx:*"},
       "created_at": "2024-05-01T10:00:00Z"},
      {"id": "a2", "policy_id": "p1", "priority": 0,
       "selector": {"labels": {"env": "prod", "tier": "web"}}, "created_at": "x"},
      {"id": "a3", "policy_id": "p2", "priority": -1, "selector": {"default": true},
       "created_at": "y"}]})"));
  ASSERT_TRUE(assignments.ok()) << assignments.status();
  EXPECT_EQ(assignments->out,
            "ID   POLICY   PRIORITY   SELECTOR                    CREATED\n"
            "a1   p1       10         image nginx:*               2024-05-01T10:00:00Z\n"
            "a2   p1       0          labels env=prod, tier=web   x\n"
            "a3   p2       -1         default                     y\n");
}

TEST(RenderPolicyTest, SelectorText) {
  EXPECT_EQ(SelectorText(J(R"({"image": "nginx:*"})")), "image nginx:*");
  EXPECT_EQ(SelectorText(J(R"({"labels": {"b": "2", "a": "1"}})")), "labels b=2, a=1");
  EXPECT_EQ(SelectorText(J(R"({"default": true})")), "default");
  EXPECT_EQ(SelectorText(J(R"({"default": false})")), R"({"default":false})");
  EXPECT_EQ(SelectorText(J(R"({"image": "a", "default": true})")),
            R"({"image":"a","default":true})");
  EXPECT_EQ(SelectorText(J(R"({"image": "x\u001b"})")), "image x\\x1b");
}

TEST(RenderPolicyTest, DiffOneLinePerChange) {
  auto out = RenderPolicyDiff(J(R"({"from": 1, "to": 2, "changes": [
      {"path": "/rules/no-shadow/action", "kind": "changed", "before": "deny",
       "after": "monitor"},
      {"path": "/rules/no-shadow/paths/2", "kind": "added", "before": null,
       "after": "/root/"},
      {"path": "/hardening", "kind": "removed", "before": ["deny-ptrace"], "after": null},
      {"path": "/name\u001b", "kind": "changed", "before": 1, "after": {"a": "\u202e"}}]})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "~ /rules/no-shadow/action: \"deny\" -> \"monitor\"\n"
            "+ /rules/no-shadow/paths/2: \"/root/\"\n"
            "- /hardening: [\"deny-ptrace\"]\n"
            "~ /name\\x1b: 1 -> {\"a\":\"\\u202e\"}\n");
  EXPECT_EQ(out->err, "");
  auto none = RenderPolicyDiff(J(R"({"from": 3, "to": 3, "changes": []})"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->out, "");
  EXPECT_EQ(none->err, "No changes between version 3 and version 3.\n");
  // A rule moved in the list (positions), and a kind this client does not know.
  auto other = RenderPolicyDiff(J(R"({"from": 1, "to": 2, "changes": [
      {"path": "/rules/no-shadow", "kind": "moved", "before": 2, "after": 0},
      {"path": "/x", "kind": "renamed\u001b", "before": "a", "after": "b"}]})"));
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->out,
            "> /rules/no-shadow: 2 -> 0\n"
            "? /x (renamed\\x1b): \"a\" -> \"b\"\n");
  EXPECT_EQ(RenderPolicyDiff(J(R"({"changes": 3})")).status().code(), StatusCode::kInternal);
}

TEST(RenderPolicyTest, AssignmentCreated) {
  auto out = RenderPolicyAssignment(J(R"({"id": "a1", "policy_id": "p1", "priority": 5,
      "selector": {"labels": {"env": "prod"}}, "created_at": "2024-05-01T10:00:00Z"})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->out,
            "id:          a1\n"
            "policy_id:   p1\n"
            "priority:    5\n"
            "selector:    labels env=prod\n"
            "created_at:  2024-05-01T10:00:00Z\n");
}

TEST(RenderPolicyTest, Explanation) {
  auto out = RenderPolicyExplanation(J(R"({"agent_id": "g1",
      "policy": {"id": "p1", "name": "web", "version": 3},
      "assignment": {"id": "a1", "policy_id": "p1", "priority": 10,
                     "selector": {"image": "nginx:*"}},
      "reason": "highest-priority matching assignment",
      "considered": [
        {"assignment_id": "a1", "policy_id": "p1", "priority": 10,
         "selector": {"image": "nginx:*"}, "matched": true, "why": "image nginx:1.25 matches"},
        {"assignment_id": "a3", "policy_id": "p2", "priority": 0, "selector": {"default": true},
         "matched": false, "why": "a higher priority matched"}]})"));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(
      out->out,
      "agent_id:    g1\n"
      "policy:      web (id p1, version 3)\n"
      "assignment:  a1: priority 10, image nginx:*\n"
      "reason:      highest-priority matching assignment\n"
      "\n"
      "Considered:\n"
      "ASSIGNMENT   POLICY   PRIORITY   SELECTOR        MATCHED   WHY\n"
      "a1           p1       10         image nginx:*   yes       image nginx:1.25 matches\n"
      "a3           p2       0          default         no        a higher priority matched\n");

  auto none = RenderPolicyExplanation(J(R"({"agent_id": "g1", "policy": null,
      "assignment": null, "reason": "no assignment matches", "considered": []})"));
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->out,
            "agent_id:    g1\n"
            "policy:      none\n"
            "assignment:  none\n"
            "reason:      no assignment matches\n"
            "\n"
            "No assignments were considered.\n");
  EXPECT_EQ(RenderPolicyExplanation(J(R"({"agent_id": "g1"})")).status().code(),
            StatusCode::kInternal);

  // Considered assignments as objects of their own, and more about the agent.
  auto nested = RenderPolicyExplanation(J(R"({"agent_id": "g1", "image_name": "nginx:1.25",
      "labels": {"env": "prod"}, "policy": null, "assignment": null, "reason": "none matches",
      "considered": [{"assignment": {"id": "a1", "policy_id": "p1", "policy_name": "web",
                      "priority": 10, "selector": {"image": "redis*"}},
                      "matched": false, "why": "image nginx:1.25 does not match"}]})"));
  ASSERT_TRUE(nested.ok()) << nested.status();
  EXPECT_EQ(nested->out,
            "agent_id:    g1\n"
            "policy:      none\n"
            "assignment:  none\n"
            "reason:      none matches\n"
            "image_name:  nginx:1.25\n"
            "labels:      {\"env\":\"prod\"}\n"
            "\n"
            "Considered:\n"
            "ASSIGNMENT   POLICY   PRIORITY   SELECTOR       MATCHED   WHY\n"
            "a1           p1       10         image redis*   no        image nginx:1.25 does not "
            "match\n");
}

TEST(RenderApiErrorTest, DocumentLocationsBecomeFileLines) {
  SourceMap source{.file = "web.yaml",
                   .lines = {{"", 1}, {"/rules", 4}, {"/rules/0", 5}, {"/rules/0/paths", 7}}};
  const char* body = R"j({"error": {"code": "invalid_argument",
      "message": "the policy has 3 problems", "location": "/document/rules/0",
      "details": [{"location": "/document/rules/0/paths/1", "message": "must be absolute"},
                  {"location": "/document", "message": "no rules"},
                  {"location": "/documents", "message": "not the document"},
                  {"location": "/comment", "message": "too long"},
                  {"message": "somewhere"}]}})j";
  EXPECT_EQ(RenderApiError(400, body, "", &source),
            "error: the server answered 400 invalid_argument: the policy has 3 problems\n"
            "  at web.yaml:5: /rules/0\n"
            "  problems:\n"
            "    web.yaml:7: /rules/0/paths/1: must be absolute\n"
            "    web.yaml:1: no rules\n"
            "    /documents: not the document\n"
            "    /comment: too long\n"
            "    somewhere\n");
  // Without a file, the pointers as they came.
  EXPECT_THAT(RenderApiError(400, body, ""), HasSubstr("    /document/rules/0/paths/1: must be"));
  // A file without lines (or a pointer it does not know) shows the file alone.
  SourceMap bare{.file = "w.json"};
  EXPECT_THAT(RenderApiError(400, body, "", &bare),
              HasSubstr("    w.json: /rules/0/paths/1: must be absolute\n"));
}

TEST(RenderApiErrorTest, PreconditionFailedHint) {
  EXPECT_THAT(RenderApiError(412, R"({"error":{"code":"failed_precondition",
                  "message":"policy is at version 4, not 3"}})",
                             ""),
              HasSubstr("hint: someone changed it since the version given with --if-version"));
}

TEST(RenderSearchTest, EventListingAFewColumnsEmptyForNull) {
  Json reply = J(R"({"columns":[{"name":"event.time","type":"timestamp"}],"events":[
      {"event.time":"2026-11-28T12:00:01.000001Z","event.id":"e1","event.action":"deny",
       "event.category":"file","process.name":"cat","file.path":"/etc/shadow",
       "network.remote.ip":"10.9.9.9","rule.id":"no-shadow"},
      {"event.time":"2026-11-28T12:00:00Z","event.action":"allow","event.category":"network",
       "process.name":"curl","network.remote.ip":"10.0.0.5","network.remote.port":443},
      {"event.time":"2026-11-28T11:59:59Z","event.action":"monitor","event.category":"network",
       "network.remote.ip":"2001:db8::1","network.remote.port":53,"rule.id":null},
      {"event.time":"2026-11-28T11:59:58Z","event.action":"allow","event.category":"process",
       "process.name":"sh\u001b[31m"}],
      "next_cursor":null,"time_range":{"from":"a","to":"b"}})");
  StatusOr<Output> o = RenderSearch(reply);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->out,
            "TIME                          ACTION    CATEGORY   PROCESS      TARGET             "
            "RULE\n"
            "2026-11-28T12:00:01.000001Z   deny      file       cat          /etc/shadow        "
            "no-shadow\n"
            "2026-11-28T12:00:00Z          allow     network    curl         10.0.0.5:443\n"
            "2026-11-28T11:59:59Z          monitor   network                 [2001:db8::1]:53\n"
            "2026-11-28T11:59:58Z          allow     process    sh\\x1b[31m\n");
  EXPECT_EQ(o->err, "");

  o = RenderSearch(J(R"({"columns":[],"events":[],"next_cursor":null})"));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->out, "");
  EXPECT_EQ(o->err, "No events found.\n");
}

TEST(RenderSearchTest, AggregationEveryColumnAsReturned) {
  StatusOr<Output> o = RenderSearch(J(R"({"columns":[{"name":"host.name","type":"text"},
      {"name":"count","type":"bigint"}],"rows":[["web-1",12],[null,3]],"time_range":{}})"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->out,
            "host.name   count\n"
            "web-1       12\n"
            "            3\n");
  o = RenderSearch(J(R"({"columns":[{"name":"time","type":"timestamp"},{"name":"count",
      "type":"bigint"}],"rows":[["2026-11-28T10:00:00Z",5],["2026-11-28T10:05:00Z",0]]})"));
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->out,
            "time                   count\n"
            "2026-11-28T10:00:00Z   5\n"
            "2026-11-28T10:05:00Z   0\n");
  o = RenderSearch(J(R"({"columns":[{"name":"count","type":"bigint"}],"rows":[]})"));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->err, "No rows found.\n");
}

TEST(RenderSearchTest, UnexpectedShapesAreErrors) {
  for (const char* bad :
       {R"({})", R"({"events":3})", R"({"events":[1]})",
        R"({"columns":[{"name":"a"}],"rows":[[1,2]]})", R"({"columns":[{"type":"x"}],"rows":[]})",
        R"({"columns":[],"rows":[]})", R"({"columns":[{"name":"a"}],"rows":{}})"}) {
    StatusOr<Output> o = RenderSearch(J(bad));
    EXPECT_FALSE(o.ok()) << bad;
    EXPECT_THAT(o.status().message(), HasSubstr("unexpected reply from the server")) << bad;
  }
}

TEST(RenderSearchTest, EventTarget) {
  EXPECT_EQ(EventTarget(J(R"({"file.path":"/etc/passwd","network.remote.ip":"1.2.3.4"})")),
            "/etc/passwd");
  EXPECT_EQ(EventTarget(J(R"({"file.path":null,"network.remote.ip":"1.2.3.4",
                              "network.remote.port":80})")),
            "1.2.3.4:80");
  EXPECT_EQ(EventTarget(J(R"({"network.remote.ip":"fe80::1"})")), "fe80::1");
  EXPECT_EQ(EventTarget(J(R"({"network.remote.ip":"::1","network.remote.port":0})")), "[::1]:0");
  EXPECT_EQ(EventTarget(J(R"({"network.remote.port":80})")), "");
  EXPECT_EQ(EventTarget(J(R"({})")), "");
}

TEST(RenderApiErrorTest, QqlCaretLinesStayUnderTheirCharacter) {
  // As the query service sends it: the position, the query line, the caret.
  const char* body = R"({"error":{"code":"invalid_argument","message":
      "1:22: expected a term, got the end of the query\n  process.name:bash and\n                       ^",
      "location":"/qql"}})";
  EXPECT_EQ(RenderApiError(400, body, ""),
            "error: the server answered 400 invalid_argument: 1:22: expected a term, got the end "
            "of the query\n"
            "  process.name:bash and\n"
            "                       ^\n"
            "  at /qql\n");
  // A right-to-left override before the caret is escaped (6 columns instead
  // of 1): the caret moves with it and stays under the 'c'.
  body = R"({"error":{"code":"invalid_argument","message":
      "1:5: bad\n  \u202eab:c\n      ^\n2:1: worse\n  x\n  ^"}})";
  EXPECT_EQ(RenderApiError(400, body, ""),
            "error: the server answered 400 invalid_argument: 1:5: bad\n"
            "  \\u202eab:c\n"
            "           ^\n"
            "2:1: worse\n"
            "  x\n"
            "  ^\n");
  // Other lines are sanitized one by one; a caret alone is not moved.
  EXPECT_EQ(SanitizeLines("a\x1b\n^\nb\r"), "a\\x1b\n^\nb\\r");
  EXPECT_EQ(SanitizeLines("^"), "^");
}

TEST(RenderConnectionErrorTest, UrlAndHints) {
  Endpoint ep{.host = "::1", .port = 8446, .base_path = "/q"};
  EXPECT_EQ(RenderConnectionError(ep, UnavailableError("connect: refused")),
            "cannot reach https://[::1]:8446/q: connect: refused\n");
  EXPECT_THAT(RenderConnectionError(ep, UnavailableError("TLS handshake: hostname mismatch")),
              HasSubstr("hint: the certificate is checked against the host name"));
}

}  // namespace
}  // namespace portcullis::cli
