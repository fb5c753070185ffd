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

}  // namespace
}  // namespace portcullis::cli
