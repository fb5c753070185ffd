// The command table: each command line becomes the documented REST request
// (method, encoded target, JSON body), without a server.
#include "portcullis/cli/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "portcullis/cli/transport.h"
#include "portcullis/common/ids.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kId[] = "0b6f2c1e-8d3a-4f51-9c2e-5a7d9e4b1c03";
constexpr char kOtherId[] = "6c1f0a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b";

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
    // Only a command whose replies are lines has nothing to render.
    EXPECT_EQ(c.render == nullptr, c.streams_lines) << c.spec.group << " " << c.spec.verb;
    EXPECT_FALSE(c.spec.summary.empty());
    EXPECT_EQ(FindCommand(c.spec), &c);
  }
  EXPECT_EQ(names.size(), 28u);
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

TEST(QueryCommandsTest, SearchSendsTheCursorInTheBodyWithoutTheRange) {
  Built b =
      Build({"search", "process.name:curl and event.action:deny", "--from", "2026-11-28T00:00:00Z",
             "--to", "2026-11-28T12:00:00Z", "--limit", "50", "--all"});
  EXPECT_EQ(b.command->service, Service::kQuery);
  EXPECT_EQ(b.command->credential, Credential::kApiKey);
  EXPECT_EQ(b.request.method, "POST");
  EXPECT_EQ(b.request.path, "/v1/search");
  const std::string first =
      R"({"qql":"process.name:curl and event.action:deny","from":"2026-11-28T00:00:00Z",)"
      R"("to":"2026-11-28T12:00:00Z","limit":50})";
  EXPECT_EQ(b.request.body->dump(), first);
  EXPECT_EQ(RequestBody(b.request, "")->dump(), first);
  // The cursor carries the range of the first page: same qql, no from/to.
  EXPECT_EQ(RequestBody(b.request, "eyJrIjoxfQ+/=")->dump(),
            R"({"qql":"process.name:curl and event.action:deny","limit":50,)"
            R"("cursor":"eyJrIjoxfQ+/="})");
  // ...and not in the query.
  EXPECT_EQ(Target(b.request, "/q", "eyJrIjoxfQ+/="), "/q/v1/search");
  EXPECT_TRUE(b.request.paginated);
  EXPECT_TRUE(b.request.follow_cursor);
  EXPECT_EQ(b.request.cursor_place, CursorPlace::kBody);
  EXPECT_EQ(b.request.list_field, "events");
  EXPECT_EQ(b.request.alt_list_field, "rows");

  Built every = Build({"search", ""});
  EXPECT_EQ(every.request.body->dump(), R"({"qql":""})");
  EXPECT_EQ(RequestBody(every.request, "c2")->dump(), R"({"qql":"","cursor":"c2"})");
  EXPECT_FALSE(every.request.follow_cursor);
}

TEST(QueryCommandsTest, ExportQueryStringIsEncoded) {
  Built b = Build({"export"});
  EXPECT_EQ(b.command->service, Service::kQuery);
  EXPECT_TRUE(b.command->streams_lines);
  EXPECT_FALSE(b.command->spec.json_output);
  EXPECT_EQ(b.request.method, "GET");
  EXPECT_FALSE(b.request.body.has_value());
  EXPECT_EQ(b.request.headers, (Headers{{"Accept", "*/*"}}));
  // The limit is always sent: a shorter page is how the loop knows it caught up.
  EXPECT_EQ(Target(b.request, "", ""), "/v1/export/events?format=json&limit=1000");
  EXPECT_EQ(Target(b.request, "/q", "c/1+"),
            "/q/v1/export/events?format=json&limit=1000&cursor=c/1%2B");
  EXPECT_EQ(TargetOf({"export", "--qql", "process.name:curl and file.path:/etc/* | x", "--format",
                      "cef", "--limit", "5"}),
            "/v1/export/events?qql=process.name:curl%20and%20file.path:/etc/*%20%7C%20x"
            "&format=cef&limit=5");
  // Nothing in a query can add a parameter or end the target.
  EXPECT_EQ(TargetOf({"export", "--qql", "a&format=leef#x+y%z\"q\"\n"}),
            "/v1/export/events?qql=a%26format=leef%23x%2By%25z%22q%22%0A&format=json&limit=1000");
  EXPECT_EQ(TargetOf({"export", "--qql", "", "--format", "syslog"}),
            "/v1/export/events?format=syslog&limit=1000");
}

// Policy files written to a scratch directory.
class PolicyCommandsTest : public ::testing::Test {
 protected:
  PolicyCommandsTest()
      : dir_(fs::temp_directory_path() / ("portcullisctl-cmd-" + Uuid::Random().ToString())) {
    fs::create_directories(dir_);
    yaml_ = Write("web.yaml", "name: web\nrules:\n  - type: file\n    action: deny\n");
    json_ = Write("web.json", R"({"name": "db", "rules": []})");
  }
  ~PolicyCommandsTest() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = (dir_ / name).string();
    std::ofstream(p) << content;
    return p;
  }
  // The build error of a command line that parses.
  Status BuildError(std::vector<std::string> argv) {
    CommandLine cl;
    Status s = ParseCommandLine(argv, CommandSpecs(), &cl);
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok()) return s;
    StatusOr<ApiRequest> r = FindCommand(*cl.command)->build(cl);
    return r.ok() ? OkStatus() : r.status();
  }

  fs::path dir_;
  std::string yaml_;
  std::string json_;
};

TEST_F(PolicyCommandsTest, AllTalkToThePolicyServiceWithAnApiKey) {
  int policy_commands = 0;
  for (const Command& c : Commands()) {
    EXPECT_EQ(c.service == Service::kPolicy, c.spec.group == "policy") << c.spec.verb;
    if (c.spec.group != "policy") continue;
    ++policy_commands;
    EXPECT_EQ(c.credential, Credential::kApiKey);
    EXPECT_FALSE(c.returns_secret);
  }
  EXPECT_EQ(policy_commands, 13);
}

TEST_F(PolicyCommandsTest, ValidateSendsTheYamlDocumentAsJson) {
  Built b = Build({"policy", "validate", "--file", yaml_});
  EXPECT_EQ(b.request.method, "POST");
  EXPECT_EQ(b.request.path, "/v1/policies/validate");
  EXPECT_EQ(b.request.body->dump(),
            R"({"document":{"name":"web","rules":[{"type":"file","action":"deny"}]}})");
  ASSERT_NE(b.request.source, nullptr);
  EXPECT_EQ(b.request.source->file, yaml_);
  EXPECT_EQ(b.request.source->LineOf("/rules/0/action"), 4);
  EXPECT_TRUE(b.request.headers.empty());
}

TEST_F(PolicyCommandsTest, CreateAndUpdate) {
  Built create = Build({"policy", "create", "--file", json_, "--comment", "first cut"});
  EXPECT_EQ(create.request.method, "POST");
  EXPECT_EQ(create.request.path, "/v1/policies");
  EXPECT_EQ(create.request.body->dump(),
            R"({"document":{"name":"db","rules":[]},"comment":"first cut"})");
  EXPECT_EQ(create.request.source->LineOf("/rules"), 1);

  Built update = Build({"policy", "update", kId, "--file", yaml_});
  EXPECT_EQ(update.request.method, "PUT");
  EXPECT_EQ(update.request.path, std::string("/v1/policies/") + kId);
  EXPECT_FALSE(update.request.body->contains("comment"));
  EXPECT_TRUE(update.request.headers.empty());

  Built guarded = Build({"policy", "update", kId, "--file", yaml_, "--if-version", "7"});
  EXPECT_EQ(guarded.request.headers,
            (std::vector<std::pair<std::string, std::string>>{{"If-Match", "\"7\""}}));
}

TEST_F(PolicyCommandsTest, FileProblemsAreBuildErrors) {
  std::string bad = Write("bad.yaml", "name: web\nname: db\n");
  EXPECT_EQ(BuildError({"policy", "validate", "--file", bad}).message(),
            bad + ":2: duplicate key \"name\" (first on line 1)");
  EXPECT_THAT(BuildError({"policy", "create", "--file", (dir_ / "none.yaml").string()}).message(),
              HasSubstr("cannot read policy file"));
}

TEST_F(PolicyCommandsTest, ReadCommands) {
  Built list = Build({"policy", "list"});
  EXPECT_EQ(Target(list.request, "", ""), "/v1/policies");
  EXPECT_EQ(list.request.list_field, "policies");
  EXPECT_FALSE(list.request.paginated);
  EXPECT_EQ(TargetOf({"policy", "get", kId}), std::string("/v1/policies/") + kId);
  EXPECT_EQ(TargetOf({"policy", "get", kId, "--version", "3"}),
            std::string("/v1/policies/") + kId + "?version=3");
  EXPECT_EQ(TargetOf({"policy", "versions", kId}),
            std::string("/v1/policies/") + kId + "/versions");
  EXPECT_EQ(TargetOf({"policy", "diff", kId, "--to", "4", "--from", "2"}),
            std::string("/v1/policies/") + kId + "/diff?from=2&to=4");
  EXPECT_EQ(TargetOf({"policy", "diff", kId, "--from", "2"}),
            std::string("/v1/policies/") + kId + "/diff?from=2");
  EXPECT_EQ(TargetOf({"policy", "assignments"}), "/v1/policy-assignments");
  Built explain = Build({"policy", "explain", kOtherId});
  EXPECT_EQ(explain.request.method, "GET");
  EXPECT_EQ(explain.request.path, std::string("/v1/agents/") + kOtherId + "/policy/explain");
  EXPECT_EQ(explain.request.source, nullptr);
}

TEST_F(PolicyCommandsTest, RollbackAndDelete) {
  Built rollback = Build({"policy", "rollback", kId, "--version", "2"});
  EXPECT_EQ(rollback.request.method, "POST");
  EXPECT_EQ(rollback.request.path, std::string("/v1/policies/") + kId + "/rollback");
  EXPECT_EQ(rollback.request.body->dump(), R"({"version":2})");
  EXPECT_EQ(Build({"policy", "rollback", kId, "--version", "2", "--comment", "bad deploy"})
                .request.body->dump(),
            R"({"version":2,"comment":"bad deploy"})");
  Built del = Build({"policy", "delete", kId});
  EXPECT_EQ(del.request.method, "DELETE");
  EXPECT_EQ(del.request.path, std::string("/v1/policies/") + kId);
  EXPECT_FALSE(del.request.body.has_value());
}

TEST_F(PolicyCommandsTest, AssignSelectors) {
  Built image = Build({"policy", "assign", kId, "--image", "nginx:*"});
  EXPECT_EQ(image.request.method, "POST");
  EXPECT_EQ(image.request.path, std::string("/v1/policies/") + kId + "/assignments");
  EXPECT_EQ(image.request.body->dump(), R"({"priority":0,"selector":{"image":"nginx:*"}})");
  EXPECT_EQ(Build({"policy", "assign", kId, "--label", "env=prod", "--label", "tier=a=b",
                   "--priority", "10"})
                .request.body->dump(),
            R"({"priority":10,"selector":{"labels":{"env":"prod","tier":"a=b"}}})");
  EXPECT_EQ(Build({"policy", "assign", kId, "--default", "--priority", "-1"}).request.body->dump(),
            R"({"priority":-1,"selector":{"default":true}})");
  Built unassign = Build({"policy", "unassign", kOtherId});
  EXPECT_EQ(unassign.request.method, "DELETE");
  EXPECT_EQ(unassign.request.path, std::string("/v1/policy-assignments/") + kOtherId);
}

}  // namespace
}  // namespace portcullis::cli
