// The whole program (Run) against a scripted fake transport: settings from
// flags, environment and env file; credentials; exit codes; secrets on
// stdout; pagination with --all; --json; errors on stderr.
#include "portcullis/cli/runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "portcullis/cli/cursor_file.h"
#include "portcullis/common/ids.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kApiKey[] = "pck_0123_4567_supersecretapikey";
constexpr char kOperatorToken[] = "pco_operatorsecret";
constexpr char kId[] = "0b6f2c1e-8d3a-4f51-9c2e-5a7d9e4b1c03";

struct SentRequest {
  std::string method;
  std::string target;
  std::string body;
  std::string bearer;
  Headers headers;
};

// Replies from a script, in order; records what was sent.
class FakeTransport : public Transport {
 public:
  struct Shared {
    std::deque<StatusOr<Reply>> replies;
    std::vector<SentRequest> sent;
    std::vector<Endpoint> endpoints;
  };
  explicit FakeTransport(Shared* shared) : shared_(shared) {}
  StatusOr<Reply> Send(const std::string& method, const std::string& target,
                       const std::string& body, const std::string& bearer,
                       const Headers& headers) override {
    shared_->sent.push_back({method, target, body, bearer, headers});
    if (shared_->replies.empty()) return InternalError("no scripted reply left");
    StatusOr<Reply> r = shared_->replies.front();
    shared_->replies.pop_front();
    return r;
  }

 private:
  Shared* shared_;
};

Reply JsonReply(int status, std::string body) {
  return Reply{.status = status, .body = std::move(body), .content_type = "application/json"};
}

// An export page: lines and the cursor headers.
Reply LinesReply(std::string body, const std::string& next_cursor, int events) {
  return Reply{.status = 200,
               .body = std::move(body),
               .content_type = "text/plain; charset=utf-8",
               .headers = {{"portcullis-next-cursor", next_cursor},
                           {"portcullis-events", std::to_string(events)}}};
}

// The export's pacer in tests: records the sleeps and asks to stop after
// `stop_after_sleeps` of them.
struct PacerLog {
  int created = 0;
  int stop_after_sleeps = 1;
  std::vector<std::chrono::seconds> sleeps;
};

class LoggingPacer : public Pacer {
 public:
  explicit LoggingPacer(PacerLog* log) : log_(log) {}
  bool StopRequested() override {
    return static_cast<int>(log_->sleeps.size()) >= log_->stop_after_sleeps;
  }
  void Sleep(std::chrono::seconds d) override { log_->sleeps.push_back(d); }

 private:
  PacerLog* log_;
};

class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() / ("portcullisctl-test-" + Uuid::Random().ToString())) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string p = (path_ / name).string();
    std::ofstream(p) << content;
    return p;
  }

 private:
  fs::path path_;
};

class RunnerTest : public ::testing::Test {
 protected:
  RunnerTest() {
    ca_ = dir_.Write("ca.crt", "not parsed by the fake transport\n");
    SetEnv({"PORTCULLIS_SERVER=https://registry.example:8443", "PORTCULLIS_TLS_CA=" + ca_,
            std::string("PORTCULLIS_API_KEY=") + kApiKey, "HOME=/root"});
  }

  void SetEnv(std::vector<std::string> env) {
    env_ = std::move(env);
    envp_.clear();
    for (const std::string& e : env_)
      envp_.push_back(e.c_str());
    envp_.push_back(nullptr);
  }
  void Script(StatusOr<Reply> reply) { shared_.replies.push_back(std::move(reply)); }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    TransportFactory factory = [this](const Endpoint& ep) -> std::unique_ptr<Transport> {
      shared_.endpoints.push_back(ep);
      return std::make_unique<FakeTransport>(&shared_);
    };
    PacerFactory pacers = [this]() -> std::unique_ptr<Pacer> {
      ++pacer_log_.created;
      return std::make_unique<LoggingPacer>(&pacer_log_);
    };
    int code = cli::Run(args, envp_.data(), factory, out_, err_, pacers);
    // Whatever happened, the credentials never reach the output.
    for (const char* secret : {kApiKey, kOperatorToken}) {
      EXPECT_THAT(out_.str(), Not(HasSubstr(secret)));
      EXPECT_THAT(err_.str(), Not(HasSubstr(secret)));
    }
    return code;
  }

  TempDir dir_;
  std::string ca_;
  std::vector<std::string> env_;
  std::vector<const char*> envp_;
  FakeTransport::Shared shared_;
  PacerLog pacer_log_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(RunnerTest, KeyCreatePrintsOnlyTheSecretOnStdout) {
  Script(JsonReply(201, R"({"id":"k2","name":"ci","role":"analyst","created_at":"x",
                           "created_by":"k1","secret":"pck_new_secret"})"));
  ASSERT_EQ(Run({"key", "create", "ci", "--role", "analyst"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "pck_new_secret\n");
  EXPECT_THAT(err_.str(), HasSubstr("not shown again"));
  ASSERT_EQ(shared_.sent.size(), 1u);
  EXPECT_EQ(shared_.sent[0].method, "POST");
  EXPECT_EQ(shared_.sent[0].target, "/v1/api-keys");
  EXPECT_EQ(shared_.sent[0].body, R"({"name":"ci","role":"analyst"})");
  EXPECT_EQ(shared_.sent[0].bearer, kApiKey);
  ASSERT_EQ(shared_.endpoints.size(), 1u);
  EXPECT_EQ(shared_.endpoints[0].host, "registry.example");
  EXPECT_EQ(shared_.endpoints[0].port, 8443);
  EXPECT_TRUE(shared_.endpoints[0].tls);
  EXPECT_EQ(shared_.endpoints[0].ca_file, ca_);
}

TEST_F(RunnerTest, JsonModePrintsTheRawReply) {
  const std::string body = R"({"id":"k2","name":"ci","role":"admin","secret":"pck_s"})";
  Script(JsonReply(201, body));
  ASSERT_EQ(Run({"--json", "key", "create", "ci", "--role", "admin"}), kExitOk);
  EXPECT_EQ(out_.str(), body + "\n");
  EXPECT_THAT(err_.str(), HasSubstr("not shown again"));
}

TEST_F(RunnerTest, TenantCreateReadsTheOperatorTokenFile) {
  std::string token_file = dir_.Write("operator.token", std::string(kOperatorToken) + "\n");
  std::string env_file =
      dir_.Write("infra.env", "PORTCULLIS_TLS_CA=" + ca_ +
                                  "\nPORTCULLIS_OPERATOR_TOKEN_FILE=" + token_file + "\n");
  SetEnv({"PORTCULLIS_SERVER=https://localhost:8443"});
  Script(JsonReply(201, R"({"tenant":{"id":"t1","name":"acme","created_at":"x"},
      "admin_key":{"id":"k1","name":"admin","role":"admin","created_at":"x","secret":"pck_t1"}})"));
  ASSERT_EQ(Run({"--env-file", env_file, "tenant", "create", "acme"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "pck_t1\n");
  ASSERT_EQ(shared_.sent.size(), 1u);
  EXPECT_EQ(shared_.sent[0].bearer, kOperatorToken);
  EXPECT_EQ(shared_.sent[0].target, "/v1/tenants");
}

TEST_F(RunnerTest, OperatorTokenVariableWinsAndApiKeyIsNotUsedForIt) {
  SetEnv({"PORTCULLIS_SERVER=https://localhost:8443", "PORTCULLIS_TLS_CA=" + ca_,
          std::string("PORTCULLIS_API_KEY=") + kApiKey,
          std::string("PORTCULLIS_OPERATOR_TOKEN=") + kOperatorToken,
          "PORTCULLIS_OPERATOR_TOKEN_FILE=/nonexistent"});
  Script(JsonReply(409, R"({"error":{"code":"already_exists","message":"tenant acme exists"}})"));
  EXPECT_EQ(Run({"tenant", "create", "acme"}), kExitApiError);
  EXPECT_EQ(shared_.sent.at(0).bearer, kOperatorToken);
  EXPECT_EQ(err_.str(), "error: the server answered 409 already_exists: tenant acme exists\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(RunnerTest, EnvironmentWinsOverTheEnvFileAndFlagsOverBoth) {
  std::string env_file = dir_.Write("a.env",
                                    "PORTCULLIS_SERVER=https://from-file:1\n"
                                    "PORTCULLIS_API_KEY=pck_from_file\n");
  Script(JsonReply(200, R"({"images":[]})"));
  ASSERT_EQ(Run({"image", "list", "--env-file", env_file}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "registry.example");
  EXPECT_EQ(shared_.sent.back().bearer, kApiKey);
  EXPECT_EQ(err_.str(), "No images found.\n");

  SetEnv({"PORTCULLIS_TLS_CA=/nonexistent"});
  Script(JsonReply(200, R"({"images":[]})"));
  ASSERT_EQ(
      Run({"image", "list", "--env-file", env_file, "--server", "https://flag:2", "--ca", ca_}),
      kExitOk)
      << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "flag");
  EXPECT_EQ(shared_.endpoints.back().port, 2);
  EXPECT_EQ(shared_.sent.back().bearer, "pck_from_file");
}

TEST_F(RunnerTest, ConfigurationErrorsAreExit2WithoutCallingTheServer) {
  SetEnv({});
  EXPECT_EQ(Run({"key", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no server: pass --server"));

  SetEnv({"PORTCULLIS_SERVER=https://r:1"});
  EXPECT_EQ(Run({"key", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("pass --ca FILE or set PORTCULLIS_TLS_CA"));

  SetEnv({"PORTCULLIS_SERVER=https://r:1", "PORTCULLIS_TLS_CA=/nonexistent/ca.crt"});
  EXPECT_EQ(Run({"key", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read CA file '/nonexistent/ca.crt'"));

  SetEnv({"PORTCULLIS_SERVER=https://r:1", "PORTCULLIS_TLS_CA=" + ca_});
  EXPECT_EQ(Run({"key", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no API key: set PORTCULLIS_API_KEY"));
  EXPECT_EQ(Run({"tenant", "create", "acme"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no operator token"));

  SetEnv({"PORTCULLIS_SERVER=https://r:1", "PORTCULLIS_TLS_CA=" + ca_,
          "PORTCULLIS_API_KEY=pck_with\x01"
          "control"});
  EXPECT_EQ(Run({"key", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("PORTCULLIS_API_KEY does not hold a valid credential"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("control")));

  SetEnv({"PORTCULLIS_SERVER=http://r:1", std::string("PORTCULLIS_API_KEY=") + kApiKey});
  EXPECT_EQ(Run({"key", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("refusing plaintext http://"));

  EXPECT_EQ(Run({"key", "list", "--env-file", "/nonexistent.env"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("/nonexistent.env"));
  EXPECT_TRUE(shared_.sent.empty());
}

TEST_F(RunnerTest, PlaintextOnlyWhenAskedFor) {
  SetEnv({"PORTCULLIS_SERVER=http://127.0.0.1:8080", std::string("PORTCULLIS_API_KEY=") + kApiKey});
  Script(JsonReply(200, R"({"api_keys":[]})"));
  ASSERT_EQ(Run({"--insecure-plaintext", "key", "list"}), kExitOk) << err_.str();
  EXPECT_FALSE(shared_.endpoints.back().tls);
  EXPECT_THAT(err_.str(), Not(HasSubstr("warning")));  // loopback

  SetEnv({"PORTCULLIS_SERVER=http://10.1.2.3:8080", std::string("PORTCULLIS_API_KEY=") + kApiKey});
  Script(JsonReply(200, R"({"api_keys":[]})"));
  ASSERT_EQ(Run({"--insecure-plaintext", "key", "list"}), kExitOk);
  EXPECT_THAT(err_.str(), HasSubstr("warning: plaintext HTTP to 10.1.2.3"));
}

TEST_F(RunnerTest, UsageErrorsAreExit2WithUsage) {
  EXPECT_EQ(Run({}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("Usage: portcullisctl"));
  EXPECT_EQ(Run({"agent", "list", "--limit", "x"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("portcullisctl: --limit must be a whole number"));
  EXPECT_THAT(err_.str(), HasSubstr("Usage: portcullisctl agent list [--status S]"));
  EXPECT_EQ(Run({"frobnicate"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("unknown command 'frobnicate'"));
  EXPECT_EQ(out_.str(), "");
  EXPECT_TRUE(shared_.sent.empty());
}

TEST_F(RunnerTest, HelpGoesToStdoutWithExit0) {
  EXPECT_EQ(Run({"--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("Commands:"));
  EXPECT_EQ(Run({"token", "create", "--help"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("--max-uses N"));
  EXPECT_EQ(Run({"agent", "-h"}), kExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("agent revoke ID"));
  EXPECT_TRUE(shared_.sent.empty());
}

TEST_F(RunnerTest, ConnectionErrorsAreExit3) {
  Script(UnavailableError("connect to registry.example:8443: Connection refused"));
  EXPECT_EQ(Run({"key", "list"}), kExitConnection);
  EXPECT_EQ(err_.str(),
            "error: cannot reach https://registry.example:8443: connect to registry.example:8443: "
            "Connection refused\n");

  SetEnv({"PORTCULLIS_SERVER=https://127.0.0.1:8443", "PORTCULLIS_TLS_CA=" + ca_,
          std::string("PORTCULLIS_API_KEY=") + kApiKey});
  Script(UnavailableError("TLS handshake with 127.0.0.1:8443: hostname mismatch"));
  EXPECT_EQ(Run({"key", "list"}), kExitConnection);
  EXPECT_THAT(err_.str(), HasSubstr("https://localhost:8443"));
}

TEST_F(RunnerTest, ServerErrorsAreExit1) {
  Script(JsonReply(400, R"({"error":{"code":"invalid_argument","message":"bad name",
      "location":"/name","details":[{"location":"/name","message":"bad name"}]}})"));
  EXPECT_EQ(Run({"key", "create", "x", "--role", "admin"}), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("400 invalid_argument: bad name\n  at /name\n"));

  Script(JsonReply(200, "not json"));
  EXPECT_EQ(Run({"key", "list"}), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("not JSON"));

  Script(JsonReply(200, R"({"keys":[]})"));
  EXPECT_EQ(Run({"key", "list"}), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("unexpected reply from the server"));
}

TEST_F(RunnerTest, RevokeHasNoBody) {
  Script(Reply{.status = 204});
  ASSERT_EQ(Run({"key", "revoke", kId}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), std::string("Revoked API key ") + kId + ".\n");
  EXPECT_EQ(shared_.sent.at(0).method, "DELETE");
  EXPECT_EQ(shared_.sent.at(0).target, std::string("/v1/api-keys/") + kId);
  EXPECT_EQ(shared_.sent.at(0).body, "");

  Script(Reply{.status = 204});
  ASSERT_EQ(Run({"--json", "agent", "revoke", kId}), kExitOk);
  EXPECT_EQ(out_.str(), "");

  Script(JsonReply(404, R"({"error":{"code":"not_found","message":"no such agent"}})"));
  EXPECT_EQ(Run({"agent", "revoke", kId}), kExitApiError);
}

TEST_F(RunnerTest, AllFollowsCursorsIntoOneTable) {
  Script(JsonReply(200, R"({"agents":[{"id":"a1","status":"online"}],"next_cursor":"c+1"})"));
  Script(JsonReply(200, R"({"agents":[{"id":"a2","status":"stale"}],"next_cursor":"c2"})"));
  Script(JsonReply(200, R"({"agents":[{"id":"a3","status":"offline"}],"next_cursor":null})"));
  ASSERT_EQ(Run({"agent", "list", "--all", "--limit", "1", "--status", "online"}), kExitOk)
      << err_.str();
  ASSERT_EQ(shared_.sent.size(), 3u);
  EXPECT_EQ(shared_.sent[0].target, "/v1/agents?status=online&limit=1");
  EXPECT_EQ(shared_.sent[1].target, "/v1/agents?status=online&limit=1&cursor=c%2B1");
  EXPECT_EQ(shared_.sent[2].target, "/v1/agents?status=online&limit=1&cursor=c2");
  EXPECT_EQ(out_.str(),
            "ID   STATUS    HOSTNAME   IMAGE   CONTAINER   LAST SEEN   VERSION\n"
            "a1   online    -          -       -           -           -\n"
            "a2   stale     -          -       -           -           -\n"
            "a3   offline   -          -       -           -           -\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(RunnerTest, AllWithJsonMergesThePages) {
  Script(JsonReply(200, R"({"entries":[{"id":"e1"}],"next_cursor":"c2"})"));
  Script(JsonReply(200, R"({"entries":[{"id":"e2"}],"next_cursor":null})"));
  ASSERT_EQ(Run({"audit", "list", "--all", "--json"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), R"({"entries":[{"id":"e1"},{"id":"e2"}],"next_cursor":null})"
                        "\n");
}

TEST_F(RunnerTest, WithoutAllOnePageAndAHint) {
  Script(JsonReply(200, R"({"containers":[{"container_id":"c1"}],"next_cursor":"c2"})"));
  ASSERT_EQ(Run({"container", "list"}), kExitOk);
  EXPECT_EQ(shared_.sent.size(), 1u);
  EXPECT_THAT(out_.str(), HasSubstr("c1"));
  EXPECT_THAT(err_.str(), HasSubstr("add --all"));
}

TEST_F(RunnerTest, ARepeatedCursorStopsTheLoop) {
  Script(JsonReply(200, R"({"agents":[],"next_cursor":"same"})"));
  Script(JsonReply(200, R"({"agents":[],"next_cursor":"same"})"));
  EXPECT_EQ(Run({"agent", "list", "--all"}), kExitApiError);
  EXPECT_EQ(shared_.sent.size(), 2u);
  EXPECT_THAT(err_.str(), HasSubstr("cursor"));
}

TEST_F(RunnerTest, ServerUrlWithPrefixAndIpv6) {
  SetEnv({"PORTCULLIS_SERVER=https://[::1]:9443/portcullis/", "PORTCULLIS_TLS_CA=" + ca_,
          std::string("PORTCULLIS_API_KEY=") + kApiKey});
  Script(JsonReply(200, R"({"images":[]})"));
  ASSERT_EQ(Run({"image", "list"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "::1");
  EXPECT_EQ(shared_.endpoints.back().port, 9443);
  EXPECT_EQ(shared_.sent.back().target, "/portcullis/v1/images");
}

TEST_F(RunnerTest, PolicyCommandsGoToThePolicyServer) {
  // Unset: the registry's URL (one gateway in front of both).
  Script(JsonReply(200, R"({"policies":[]})"));
  ASSERT_EQ(Run({"policy", "list"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "registry.example");
  EXPECT_EQ(shared_.sent.back().target, "/v1/policies");
  EXPECT_EQ(shared_.sent.back().bearer, kApiKey);
  EXPECT_EQ(err_.str(), "No policies found.\n");

  SetEnv({"PORTCULLIS_SERVER=https://registry.example:8443",
          "PORTCULLIS_POLICY_SERVER=https://policy.example:8444/api", "PORTCULLIS_TLS_CA=" + ca_,
          std::string("PORTCULLIS_API_KEY=") + kApiKey});
  Script(JsonReply(200, R"({"policies":[]})"));
  ASSERT_EQ(Run({"policy", "list"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "policy.example");
  EXPECT_EQ(shared_.endpoints.back().port, 8444);
  EXPECT_EQ(shared_.sent.back().target, "/api/v1/policies");
  // The registry's commands do not use it.
  Script(JsonReply(200, R"({"images":[]})"));
  ASSERT_EQ(Run({"image", "list"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "registry.example");
  // The flag wins over the variable; --server does not (the variable is set).
  Script(JsonReply(200, R"({"policies":[]})"));
  ASSERT_EQ(Run({"--policy-server", "https://flag:1", "policy", "list"}), kExitOk);
  EXPECT_EQ(shared_.endpoints.back().host, "flag");
  Script(JsonReply(200, R"({"policies":[]})"));
  ASSERT_EQ(Run({"--server", "https://other:2", "policy", "list"}), kExitOk);
  EXPECT_EQ(shared_.endpoints.back().host, "policy.example");

  SetEnv({"PORTCULLIS_TLS_CA=" + ca_, std::string("PORTCULLIS_API_KEY=") + kApiKey});
  EXPECT_EQ(Run({"policy", "list"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no policy server: pass --policy-server (or --server)"));
}

TEST_F(RunnerTest, ValidateShowsTheServersProblemsAtTheirYamlLines) {
  std::string file = dir_.Write("web.yaml",
                                "name: web\n"
                                "rules:\n"
                                "  - type: file\n"
                                "    action: block\n"
                                "    paths:\n"
                                "      - etc/shadow\n");
  Script(JsonReply(400, R"({"error":{"code":"invalid_argument",
      "message":"the document has 3 problems","location":"/document/rules/0/action",
      "details":[{"location":"/document/rules/0/action","message":"must be allow, deny or monitor"},
                 {"location":"/document/rules/0/paths/0","message":"must be absolute"},
                 {"location":"/document/rules/0/operations","message":"is required"}]}})"));
  EXPECT_EQ(Run({"policy", "validate", "--file", file}), kExitApiError);
  ASSERT_EQ(shared_.sent.size(), 1u);
  EXPECT_EQ(shared_.sent[0].method, "POST");
  EXPECT_EQ(shared_.sent[0].target, "/v1/policies/validate");
  EXPECT_EQ(shared_.sent[0].body,
            R"({"document":{"name":"web","rules":[{"type":"file","action":"block",)"
            R"("paths":["etc/shadow"]}]}})");
  EXPECT_EQ(err_.str(),
            "error: the server answered 400 invalid_argument: the document has 3 problems\n"
            "  at " +
                file +
                ":4: /rules/0/action\n"
                "  problems:\n"
                "    " +
                file +
                ":4: /rules/0/action: must be allow, deny or monitor\n"
                "    " +
                file +
                ":6: /rules/0/paths/0: must be absolute\n"
                "    " +
                file + ":3: /rules/0/operations: is required\n");
  EXPECT_EQ(out_.str(), "");

  Script(JsonReply(200, R"({"valid":true,"summary":{"rules":1}})"));
  ASSERT_EQ(Run({"policy", "validate", "--file", file}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), file + ": valid\nrules:  1\n");
}

TEST_F(RunnerTest, ARefusedPolicyFileIsExit2WithoutARequest) {
  std::string file = dir_.Write("dup.yaml", "name: web\nrules: []\nname: db\n");
  EXPECT_EQ(Run({"policy", "create", "--file", file}), kExitUsage);
  EXPECT_EQ(err_.str(),
            "portcullisctl: " + file + ":3: duplicate key \"name\" (first on line 1)\n");
  EXPECT_EQ(Run({"policy", "create", "--file", "/nonexistent/p.yaml"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("cannot read policy file '/nonexistent/p.yaml'"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("Usage:")));
  EXPECT_TRUE(shared_.sent.empty());
  EXPECT_TRUE(shared_.endpoints.empty());
}

TEST_F(RunnerTest, UpdateIfVersionSendsIfMatchAnd412Explains) {
  std::string file = dir_.Write("web.json", R"({"name":"web","rules":[]})");
  Script(JsonReply(412, R"({"error":{"code":"failed_precondition",
      "message":"the policy is at version 5"}})"));
  EXPECT_EQ(Run({"policy", "update", kId, "--file", file, "--if-version", "4", "--comment", "x"}),
            kExitApiError);
  ASSERT_EQ(shared_.sent.size(), 1u);
  EXPECT_EQ(shared_.sent[0].method, "PUT");
  EXPECT_EQ(shared_.sent[0].target, std::string("/v1/policies/") + kId);
  EXPECT_EQ(shared_.sent[0].headers, (Headers{{"If-Match", "\"4\""}}));
  EXPECT_EQ(shared_.sent[0].body, R"({"document":{"name":"web","rules":[]},"comment":"x"})");
  EXPECT_THAT(err_.str(), HasSubstr("412 failed_precondition: the policy is at version 5\n"));
  EXPECT_THAT(err_.str(), HasSubstr("hint: someone changed it"));

  Script(JsonReply(200, R"({"id":"p1","name":"web","current_version":6,"created_at":"a",
      "updated_at":"b"})"));
  ASSERT_EQ(Run({"policy", "update", kId, "--file", file}), kExitOk) << err_.str();
  EXPECT_TRUE(shared_.sent.back().headers.empty());
  EXPECT_EQ(out_.str(),
            "id:               p1\n"
            "name:             web\n"
            "current_version:  6\n"
            "created_at:       a\n"
            "updated_at:       b\n");
}

TEST_F(RunnerTest, PolicyDeleteAndUnassignHaveNoBody) {
  Script(Reply{.status = 204});
  ASSERT_EQ(Run({"policy", "delete", kId}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), std::string("Deleted policy ") + kId + ".\n");
  EXPECT_EQ(shared_.sent.back().method, "DELETE");
  Script(Reply{.status = 204});
  ASSERT_EQ(Run({"policy", "unassign", kId}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), std::string("Removed policy assignment ") + kId + ".\n");
  EXPECT_EQ(shared_.sent.back().target, std::string("/v1/policy-assignments/") + kId);
}

TEST_F(RunnerTest, ArgumentsThatAreNotUtf8AreRefusedNotFatal) {
  EXPECT_EQ(Run({"key", "create", "caf\xe9", "--role", "admin"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("an argument is not valid UTF-8 text"));
  EXPECT_TRUE(shared_.sent.empty());
}

// --- search and export (the query service) -----------------------------------

constexpr char kColumns[] =
    R"("columns":[{"name":"event.time","type":"timestamp"},{"name":"event.action","type":"enum"}])";

std::string SearchPage(const std::string& events, const std::string& next_cursor) {
  return std::string("{") + kColumns + R"(,"events":[)" + events + R"(],"next_cursor":)" +
         next_cursor +
         R"(,"time_range":{"from":"2026-11-28T00:00:00Z","to":"2026-11-28T12:00:00Z"}})";
}

TEST_F(RunnerTest, SearchPostsTheQueryAndFollowsTheCursorInTheBody) {
  Script(JsonReply(
      200, SearchPage(R"({"event.time":"t2","event.action":"deny","rule.id":"r1"})", R"("k1")")));
  Script(JsonReply(200, SearchPage(R"({"event.time":"t1","event.action":"allow"})", "null")));
  ASSERT_EQ(Run({"search", "process.name:curl", "--from", "2026-11-28T00:00:00Z", "--to",
                 "2026-11-28T12:00:00Z", "--limit", "1", "--all"}),
            kExitOk)
      << err_.str();
  ASSERT_EQ(shared_.sent.size(), 2u);
  EXPECT_EQ(shared_.sent[0].method, "POST");
  EXPECT_EQ(shared_.sent[0].target, "/v1/search");
  EXPECT_EQ(shared_.sent[0].body, R"({"qql":"process.name:curl","from":"2026-11-28T00:00:00Z",)"
                                  R"("to":"2026-11-28T12:00:00Z","limit":1})");
  EXPECT_EQ(shared_.sent[1].target, "/v1/search");
  EXPECT_EQ(shared_.sent[1].body, R"({"qql":"process.name:curl","limit":1,"cursor":"k1"})");
  EXPECT_EQ(shared_.sent[1].bearer, kApiKey);
  EXPECT_EQ(out_.str(),
            "TIME   ACTION   CATEGORY   PROCESS   TARGET   RULE\n"
            "t2     deny                                   r1\n"
            "t1     allow\n");
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(pacer_log_.created, 0);
}

TEST_F(RunnerTest, SearchJsonIsTheReplyOrOneDocumentWithEveryEvent) {
  const std::string page = SearchPage(R"({"event.time":"t2"})", R"("k1")");
  Script(JsonReply(200, page));
  ASSERT_EQ(Run({"search", "", "--output", "json"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), page + "\n");
  EXPECT_EQ(err_.str(), "More entries exist: add --all to fetch every page.\n");

  Script(JsonReply(200, page));
  Script(JsonReply(200, SearchPage(R"({"event.time":"t1"})", "null")));
  ASSERT_EQ(Run({"--json", "search", "", "--all"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), std::string("{") + kColumns +
                            R"(,"events":[{"event.time":"t2"},{"event.time":"t1"}],)"
                            R"("next_cursor":null,"time_range":{"from":"2026-11-28T00:00:00Z",)"
                            R"("to":"2026-11-28T12:00:00Z"}})"
                            "\n");
}

TEST_F(RunnerTest, SearchAggregationIsOnePageOfRows) {
  Script(JsonReply(200, R"({"columns":[{"name":"host.name","type":"text"},
      {"name":"count","type":"bigint"}],"rows":[["web-1",12],["db-1",3]],"time_range":{}})"));
  ASSERT_EQ(Run({"search", "event.action:deny | count by host.name", "--all"}), kExitOk)
      << err_.str();
  EXPECT_EQ(shared_.sent.size(), 1u);
  EXPECT_EQ(out_.str(),
            "host.name   count\n"
            "web-1       12\n"
            "db-1        3\n");
  EXPECT_EQ(err_.str(), "");

  Script(JsonReply(200, R"({"columns":[],"rowz":[]})"));
  EXPECT_EQ(Run({"search", "x"}), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("unexpected reply from the server: no \"events\" array"));
}

TEST_F(RunnerTest, SearchQqlErrorIsPrintedWithItsCaret) {
  Script(JsonReply(400, R"({"error":{"code":"invalid_argument","message":
      "1:14: unknown field 'proces.name' (did you mean process.name?)\n  proces.name:curl\n  ^",
      "location":"/qql"}})"));
  EXPECT_EQ(Run({"search", "proces.name:curl"}), kExitApiError);
  EXPECT_EQ(err_.str(),
            "error: the server answered 400 invalid_argument: 1:14: unknown field 'proces.name' "
            "(did you mean process.name?)\n"
            "  proces.name:curl\n"
            "  ^\n"
            "  at /qql\n");
  EXPECT_EQ(out_.str(), "");
}

TEST_F(RunnerTest, QueryServerFallsBackToTheServer) {
  Script(JsonReply(200, SearchPage("", "null")));
  ASSERT_EQ(Run({"search", ""}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "registry.example");
  EXPECT_EQ(err_.str(), "No events found.\n");

  SetEnv({"PORTCULLIS_SERVER=https://registry.example:8443",
          "PORTCULLIS_QUERY_SERVER=https://query.example:8446/api", "PORTCULLIS_TLS_CA=" + ca_,
          std::string("PORTCULLIS_API_KEY=") + kApiKey});
  Script(JsonReply(200, SearchPage("", "null")));
  ASSERT_EQ(Run({"search", ""}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "query.example");
  EXPECT_EQ(shared_.endpoints.back().port, 8446);
  EXPECT_EQ(shared_.sent.back().target, "/api/v1/search");
  // The flag wins over the variable; --server does not (the variable is set).
  Script(LinesReply("", "c0", 0));
  ASSERT_EQ(Run({"export", "--query-server", "https://flag:1"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "flag");
  Script(LinesReply("", "c0", 0));
  ASSERT_EQ(Run({"--server", "https://other:2", "export"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "query.example");
  // The other services do not use it.
  Script(JsonReply(200, R"({"policies":[]})"));
  ASSERT_EQ(Run({"policy", "list"}), kExitOk) << err_.str();
  EXPECT_EQ(shared_.endpoints.back().host, "registry.example");

  SetEnv({"PORTCULLIS_TLS_CA=" + ca_, std::string("PORTCULLIS_API_KEY=") + kApiKey});
  EXPECT_EQ(Run({"export"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no query server: pass --query-server (or --server)"));
}

TEST_F(RunnerTest, ExportWritesTheLinesAsTheyCameAndStoresTheCursor) {
  std::string cursor_file = dir_.Write("siem.cursor", "c0\n");
  const std::string page1 = "CEF:0|Portcullis|a\nCEF:0|Portcullis|b\n";
  const std::string page2 = "CEF:0|Portcullis|c\n";
  Script(LinesReply(page1, "c1", 2));
  Script(LinesReply(page2, "c2", 1));
  ASSERT_EQ(Run({"export", "--qql", "event.action:deny", "--format", "cef", "--limit", "2",
                 "--cursor-file", cursor_file}),
            kExitOk)
      << err_.str();
  EXPECT_EQ(out_.str(), page1 + page2);
  EXPECT_EQ(err_.str(), "");
  ASSERT_EQ(shared_.sent.size(), 2u);
  EXPECT_EQ(shared_.sent[0].method, "GET");
  EXPECT_EQ(shared_.sent[0].target,
            "/v1/export/events?qql=event.action:deny&format=cef&limit=2&cursor=c0");
  EXPECT_EQ(shared_.sent[1].target,
            "/v1/export/events?qql=event.action:deny&format=cef&limit=2&cursor=c1");
  EXPECT_EQ(shared_.sent[0].headers, (Headers{{"Accept", "*/*"}}));
  EXPECT_EQ(shared_.sent[0].bearer, kApiKey);
  std::ifstream in(cursor_file);
  std::string stored;
  std::getline(in, stored);
  EXPECT_EQ(stored, "c2");
  EXPECT_EQ(pacer_log_.created, 1);
  EXPECT_TRUE(pacer_log_.sleeps.empty());
}

TEST_F(RunnerTest, ExportFollowWaitsTheIntervalAfterAShortPage) {
  pacer_log_.stop_after_sleeps = 1;
  Script(LinesReply("a\nb\n", "c1", 2));
  Script(LinesReply("c\nd\n", "c2", 2));
  Script(LinesReply("e\nf\n", "c3", 2));
  Script(LinesReply("g\n", "c4", 1));
  ASSERT_EQ(Run({"export", "--limit", "2", "--follow", "--interval", "9"}), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "a\nb\nc\nd\ne\nf\ng\n");
  EXPECT_EQ(shared_.sent.size(), 4u);
  EXPECT_EQ(pacer_log_.sleeps, std::vector<std::chrono::seconds>{std::chrono::seconds(9)});
  EXPECT_THAT(err_.str(), HasSubstr("stopped by a signal; without --cursor-file"));
}

TEST_F(RunnerTest, ExportUsageAndConfigurationErrorsSendNothing) {
  EXPECT_EQ(Run({"export", "--format", "xml"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--format must be one of json, cef, leef, syslog"));
  EXPECT_THAT(err_.str(), HasSubstr("Usage: portcullisctl export [--qql QQL]"));
  EXPECT_EQ(Run({"export", "--limit", "20000"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("--limit must be in 1..10000, got '20000'"));
  EXPECT_EQ(Run({"export", "--interval", "5"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("option --interval needs --follow"));
  EXPECT_EQ(Run({"--json", "export"}), kExitUsage);

  std::string dir_as_file = dir_.Write("x", "");
  EXPECT_EQ(Run({"export", "--cursor-file", dir_as_file + "/cursor"}), kExitUsage);
  // The lock beside it is taken first (and fails the same way).
  EXPECT_THAT(err_.str(), HasSubstr("portcullisctl: cannot open the lock file '" + dir_as_file +
                                    "/cursor.lock': Not a directory"));
  EXPECT_THAT(err_.str(), Not(HasSubstr("Usage:")));
  // Another export holds the file: this one sends nothing.
  {
    const std::string held = dir_.Write("held.cursor", "abc\n");
    StatusOr<CursorFileLock> other = CursorFileLock::Acquire(held);
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(Run({"export", "--cursor-file", held}), kExitUsage);
    EXPECT_THAT(err_.str(), HasSubstr("another export is using the cursor file '" + held + "'"));
  }
  std::string empty = dir_.Write("empty.cursor", "");
  EXPECT_EQ(Run({"export", "--cursor-file", empty}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("is empty; delete it to export from the oldest"));

  SetEnv({"PORTCULLIS_SERVER=https://r:1", "PORTCULLIS_TLS_CA=" + ca_});
  EXPECT_EQ(Run({"export"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no API key: set PORTCULLIS_API_KEY"));
  EXPECT_EQ(Run({"search", "x"}), kExitUsage);
  EXPECT_THAT(err_.str(), HasSubstr("no API key: set PORTCULLIS_API_KEY"));
  EXPECT_TRUE(shared_.sent.empty());
}

}  // namespace
}  // namespace portcullis::cli
