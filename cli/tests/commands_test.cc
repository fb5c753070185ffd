// The command table: each command line becomes the documented REST request
// (method, encoded target, JSON body), without a server.
#include "portcullis/cli/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace portcullis::cli {
namespace {

constexpr char kId[] = "0b6f2c1e-8d3a-4f51-9c2e-5a7d9e4b1c03";

struct Built {
  const Command* command = nullptr;
  ApiRequest request;
};

Built Build(std::vector<std::string> argv) {
  CommandLine cl;
  Status s = ParseCommandLine(argv, CommandSpecs(), &cl);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return {};
  Built b;
  b.command = FindCommand(*cl.command);
  EXPECT_NE(b.command, nullptr);
  StatusOr<ApiRequest> r = b.command->build(cl);
  EXPECT_TRUE(r.ok()) << r.status();
  if (r.ok()) b.request = *r;
  return b;
}

std::string TargetOf(std::vector<std::string> argv) {
  return Target(Build(std::move(argv)).request, "", "");
}

TEST(CommandsTest, TableIsComplete) {
  std::set<std::string> names;
  for (const Command& c : Commands()) {
    EXPECT_TRUE(names.insert(c.spec.group + " " + c.spec.verb).second) << "duplicate";
    EXPECT_NE(c.build, nullptr) << c.spec.group << " " << c.spec.verb;
    EXPECT_NE(c.render, nullptr) << c.spec.group << " " << c.spec.verb;
    EXPECT_FALSE(c.spec.summary.empty());
    EXPECT_EQ(FindCommand(c.spec), &c);
  }
  EXPECT_EQ(names.size(), 13u);
  EXPECT_EQ(CommandSpecs().size(), Commands().size());
}

TEST(CommandsTest, TenantCreateUsesTheOperatorToken) {
  Built b = Build({"tenant", "create", "acme"});
  EXPECT_EQ(b.command->credential, Credential::kOperator);
  EXPECT_TRUE(b.command->returns_secret);
  EXPECT_EQ(b.request.method, "POST");
  EXPECT_EQ(b.request.path, "/v1/tenants");
  EXPECT_EQ(b.request.body, Json({{"name", "acme"}}));
}

TEST(CommandsTest, ApiKeys) {
  Built create = Build({"key", "create", "ci", "--role", "analyst"});
  EXPECT_EQ(create.command->credential, Credential::kApiKey);
  EXPECT_EQ(create.request.method, "POST");
  EXPECT_EQ(create.request.path, "/v1/api-keys");
  EXPECT_EQ(create.request.body->dump(), R"({"name":"ci","role":"analyst"})");

  Built list = Build({"key", "list"});
  EXPECT_EQ(list.request.method, "GET");
  EXPECT_EQ(Target(list.request, "", ""), "/v1/api-keys");
  EXPECT_EQ(list.request.list_field, "api_keys");
  EXPECT_FALSE(list.request.paginated);
  EXPECT_FALSE(list.request.body.has_value());

  Built revoke = Build({"key", "revoke", kId});
  EXPECT_EQ(revoke.request.method, "DELETE");
  EXPECT_EQ(revoke.request.path, std::string("/v1/api-keys/") + kId);
}

TEST(CommandsTest, EnrollmentTokens) {
  EXPECT_EQ(Build({"token", "create", "prod"}).request.body->dump(), R"({"name":"prod"})");
  EXPECT_EQ(Build({"token", "create", "prod", "--ttl", "86400", "--max-uses", "100"})
                .request.body->dump(),
            R"({"name":"prod","ttl_seconds":86400,"max_uses":100})");
  EXPECT_EQ(Build({"token", "create", "prod"}).request.path, "/v1/enrollment-tokens");
  EXPECT_EQ(TargetOf({"token", "list"}), "/v1/enrollment-tokens");
  Built revoke = Build({"token", "revoke", kId});
  EXPECT_EQ(revoke.request.method, "DELETE");
  EXPECT_EQ(revoke.request.path, std::string("/v1/enrollment-tokens/") + kId);
}

TEST(CommandsTest, AgentListFiltersBecomeTheQuery) {
  EXPECT_EQ(TargetOf({"agent", "list"}), "/v1/agents");
  EXPECT_EQ(TargetOf({"agent", "list", "--limit", "20", "--container", "c0ffee", "--hostname",
                      "web 1", "--label", "env=prod", "--image", "nginx:*", "--status", "online"}),
            "/v1/agents?status=online&image=nginx:*&label=env=prod&hostname=web%201"
            "&container_id=c0ffee&limit=20");
  Built b = Build({"agent", "list", "--all"});
  EXPECT_TRUE(b.request.paginated);
  EXPECT_TRUE(b.request.follow_cursor);
  EXPECT_EQ(b.request.list_field, "agents");
  EXPECT_FALSE(Build({"agent", "list"}).request.follow_cursor);
}

TEST(CommandsTest, QueryValuesCannotInjectParameters) {
  EXPECT_EQ(TargetOf({"agent", "list", "--image", "x&status=offline#frag"}),
            "/v1/agents?image=x%26status=offline%23frag");
  EXPECT_EQ(TargetOf({"agent", "list", "--label", "k=a+b%c"}), "/v1/agents?label=k=a%2Bb%25c");
  EXPECT_EQ(EncodeQueryComponent("caf\xc3\xa9\n "), "caf%C3%A9%0A%20");
  EXPECT_EQ(EncodeQueryComponent("AZaz09-._~*:=/@,"), "AZaz09-._~*:=/@,");
}

TEST(CommandsTest, AgentGetAndRevoke) {
  Built get = Build({"agent", "get", kId});
  EXPECT_EQ(get.request.method, "GET");
  EXPECT_EQ(get.request.path, std::string("/v1/agents/") + kId);
  EXPECT_TRUE(get.request.list_field.empty());
  Built revoke = Build({"agent", "revoke", kId});
  EXPECT_EQ(revoke.request.method, "DELETE");
  EXPECT_EQ(revoke.request.path, std::string("/v1/agents/") + kId);
}

TEST(CommandsTest, InventoryAndAudit) {
  EXPECT_EQ(TargetOf({"image", "list"}), "/v1/images");
  EXPECT_EQ(TargetOf({"container", "list", "--limit", "5"}), "/v1/containers?limit=5");
  EXPECT_EQ(TargetOf({"audit", "list"}), "/v1/audit-log");
  Built audit = Build({"audit", "list", "--limit", "100", "--all"});
  EXPECT_EQ(audit.request.list_field, "entries");
  EXPECT_TRUE(audit.request.follow_cursor);
}

TEST(CommandsTest, TargetAddsBasePathAndCursor) {
  Built b = Build({"agent", "list", "--limit", "2"});
  EXPECT_EQ(Target(b.request, "/portcullis", "eyJhIjoxfQ+/="),
            "/portcullis/v1/agents?limit=2&cursor=eyJhIjoxfQ%2B/=");
  EXPECT_EQ(Target(Build({"image", "list"}).request, "", "c1"), "/v1/images?cursor=c1");
}

}  // namespace
}  // namespace portcullis::cli
