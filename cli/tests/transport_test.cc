// Server URL parsing, and the real HTTPS transport end to end: Run() against
// an http::Server on 127.0.0.1 port 0 with a throwaway CA, playing the
// registry's part (hermetic: no registry, no database).
#include "portcullis/cli/transport.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "portcullis/cli/runner.h"
#include "portcullis/common/ids.h"
#include "portcullis/http/server.h"

namespace portcullis::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(ParseServerUrlTest, Https) {
  StatusOr<Endpoint> ep = ParseServerUrl("https://registry.example.com:8443", false);
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->host, "registry.example.com");
  EXPECT_EQ(ep->port, 8443);
  EXPECT_TRUE(ep->tls);
  EXPECT_EQ(ep->base_path, "");

  ep = ParseServerUrl("HTTPS://localhost/", false);
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->port, 443);
  EXPECT_EQ(ep->base_path, "");

  ep = ParseServerUrl("https://[::1]:9443/api/portcullis//", false);
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->host, "::1");
  EXPECT_EQ(ep->port, 9443);
  EXPECT_EQ(ep->base_path, "/api/portcullis");
}

TEST(ParseServerUrlTest, PlaintextOnlyWithTheFlag) {
  EXPECT_THAT(ParseServerUrl("http://127.0.0.1:8080", false).status().message(),
              HasSubstr("--insecure-plaintext"));
  StatusOr<Endpoint> ep = ParseServerUrl("http://127.0.0.1:8080", true);
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_FALSE(ep->tls);
  EXPECT_EQ(ep->port, 8080);
  EXPECT_EQ(ParseServerUrl("http://localhost", true)->port, 80);
  EXPECT_THAT(ParseServerUrl("https://localhost", true).status().message(),
              HasSubstr("--insecure-plaintext is for an http:// server URL"));
}

TEST(ParseServerUrlTest, Rejects) {
  for (const char* bad :
       {"", "localhost:8443", "ftp://x", "https://", "https://:8443", "https://host:",
        "https://host:0", "https://host:65536", "https://host:84x3", "https://user:pw@host",
        "https://host/a?b=c", "https://host#frag", "https://[::1", "https://[::1]x",
        "https://[nothost]:1", "https://ho st", "https://host/a b", "https://host/%2e%2e"}) {
    EXPECT_EQ(ParseServerUrl(bad, false).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(IsIpLiteralTest, Literals) {
  EXPECT_TRUE(IsIpLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("localhost"));
  EXPECT_FALSE(IsIpLiteral("1.2.3"));
}

// A throwaway CA and a certificate for localhost, made with openssl(1); a
// second CA that did not sign it.
class TestCerts {
 public:
  TestCerts() {
    dir_ = fs::temp_directory_path() / ("portcullisctl-tls-" + Uuid::Random().ToString());
    fs::create_directories(dir_);
    std::string cmd =
        "(cd " + dir_.string() +
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
        " -subj /CN=test-ca -keyout ca.key -out ca.crt"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost"
        " -keyout server.key -out server.csr"
        " && printf 'subjectAltName=DNS:localhost' > ext.cnf"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1"
        " -extfile ext.cnf -out server.crt"
        " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
        " -subj /CN=other-ca -keyout other.key -out other.crt) >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) std::abort();  // NOLINT: no certificates, no test
  }
  ~TestCerts() { fs::remove_all(dir_); }
  std::string Path(const char* name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

constexpr char kApiKey[] = "pck_test_key_secret";
constexpr char kId[] = "0b6f2c1e-8d3a-4f51-9c2e-5a7d9e4b1c03";

class HttpTransportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new TestCerts(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  void SetUp() override {
    http::ServerOptions opts;
    opts.service = "registry-stub";
    opts.tls_cert_file = certs_->Path("server.crt");
    opts.tls_key_file = certs_->Path("server.key");
    server_ =
        std::make_unique<http::Server>(opts, std::make_shared<metrics::Registry>("registry-stub"));
    const http::RouteOptions open{.authenticate = false};
    server_->Route(
        http::Method::kPost, "/v1/api-keys",
        [this](const http::Request& r) {
          Record(r);
          nlohmann::json body = nlohmann::json::parse(r.body);
          return http::Response::Json(201, {{"id", kId},
                                            {"name", body.at("name")},
                                            {"role", body.at("role")},
                                            {"created_at", "2024-05-01T10:00:00Z"},
                                            {"created_by", nullptr},
                                            {"secret", "pck_new_secret"}});
        },
        open);
    server_->Route(
        http::Method::kGet, "/v1/agents",
        [this](const http::Request& r) {
          Record(r);
          auto q = [&](const char* k) { return r.query.count(k) ? r.query.at(k) : ""; };
          return http::Response::Json(200, {{"agents",
                                             {{{"id", kId},
                                               {"status", q("status")},
                                               {"hostname", q("hostname")},
                                               {"image_name", q("image")}}}},
                                            {"next_cursor", nullptr}});
        },
        open);
    server_->Route(
        http::Method::kDelete, "/v1/agents/{id}",
        [this](const http::Request& r) {
          Record(r);
          return http::Response{.status = 204};
        },
        open);
    server_->Route(
        http::Method::kPut, "/v1/policies/{id}",
        [this](const http::Request& r) {
          Record(r);
          std::lock_guard<std::mutex> lock(mu_);
          const std::string* if_match = r.Header("if-match");
          last_if_match_ = if_match != nullptr ? *if_match : "";
          last_body_ = r.body;
          return http::Response::Json(200, {{"id", kId},
                                            {"name", "web"},
                                            {"current_version", 4},
                                            {"created_at", "2024-05-01T10:00:00Z"},
                                            {"updated_at", "2024-05-02T10:00:00Z"}});
        },
        open);
    server_->Route(
        http::Method::kGet, "/v1/export/events",
        [this](const http::Request& r) {
          Record(r);
          std::lock_guard<std::mutex> lock(mu_);
          last_query_ = r.query;
          return http::Response{
              .status = 200,
              .body = "<164>1 2026-11-28T12:00:00Z web-1 portcullis - file - x\n",
              .content_type = "text/plain; charset=utf-8",
              .headers = {{"Portcullis-Next-Cursor", "eyJuIjoxfQ"}, {"Portcullis-Events", "1"}}};
        },
        open);
    server_->Route(
        http::Method::kGet, "/v1/images",
        [](const http::Request&) {
          return http::Response::Error(401, "unauthenticated", "invalid credential");
        },
        open);
    ASSERT_TRUE(server_->Start().ok());
    server_url_ = "https://localhost:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Shutdown(); }

  void Record(const http::Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string* auth = r.Header("authorization");
    last_auth_ = auth != nullptr ? *auth : "";
    last_path_ = r.path;
    const std::string* accept = r.Header("accept");
    last_accept_ = accept != nullptr ? *accept : "";
  }

  int Run(std::vector<std::string> args, const std::string& ca) {
    std::vector<std::string> env = {"PORTCULLIS_SERVER=" + server_url_, "PORTCULLIS_TLS_CA=" + ca,
                                    std::string("PORTCULLIS_API_KEY=") + kApiKey};
    std::vector<const char*> envp;
    for (const std::string& e : env)
      envp.push_back(e.c_str());
    envp.push_back(nullptr);
    out_.str("");
    err_.str("");
    return cli::Run(args, envp.data(), NewHttpTransport, out_, err_);
  }

  static TestCerts* certs_;
  std::unique_ptr<http::Server> server_;
  std::string server_url_;
  std::mutex mu_;
  std::string last_auth_;
  std::string last_path_;
  std::string last_if_match_;
  std::string last_body_;
  std::string last_accept_;
  std::map<std::string, std::string> last_query_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TestCerts* HttpTransportTest::certs_ = nullptr;

TEST_F(HttpTransportTest, CreateOverTlsSendsTheBearerAndPrintsTheSecret) {
  ASSERT_EQ(Run({"key", "create", "ci", "--role", "analyst"}, certs_->Path("ca.crt")), kExitOk)
      << err_.str();
  EXPECT_EQ(out_.str(), "pck_new_secret\n");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(last_auth_, std::string("Bearer ") + kApiKey);
  EXPECT_EQ(last_path_, "/v1/api-keys");
}

TEST_F(HttpTransportTest, QueryParametersArrive) {
  ASSERT_EQ(
      Run({"agent", "list", "--status", "online", "--hostname", "web-*", "--image", "nginx:1.25"},
          certs_->Path("ca.crt")),
      kExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("online   web-*      nginx:1.25"));
}

TEST_F(HttpTransportTest, NoContentReply) {
  ASSERT_EQ(Run({"agent", "revoke", kId}, certs_->Path("ca.crt")), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), std::string("Revoked agent ") + kId + ".\n");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(last_path_, std::string("/v1/agents/") + kId);
}

TEST_F(HttpTransportTest, PolicyUpdateSendsIfMatchAndTheYamlAsJson) {
  std::string file = certs_->Path("web.yaml");
  std::ofstream(file) << "name: web\nrules: []\n";
  ASSERT_EQ(
      Run({"policy", "update", kId, "--file", file, "--if-version", "3"}, certs_->Path("ca.crt")),
      kExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("current_version:  4\n"));
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(last_path_, std::string("/v1/policies/") + kId);
  EXPECT_EQ(last_if_match_, "\"3\"");
  EXPECT_EQ(last_body_, R"({"document":{"name":"web","rules":[]}})");
}

TEST_F(HttpTransportTest, ExportGetsTheLinesAndTheCursorHeader) {
  std::string cursor_file = certs_->Path("export.cursor");
  ASSERT_EQ(Run({"export", "--format", "syslog", "--limit", "5", "--qql", "file.path:/etc/*",
                 "--cursor-file", cursor_file},
                certs_->Path("ca.crt")),
            kExitOk)
      << err_.str();
  EXPECT_EQ(out_.str(), "<164>1 2026-11-28T12:00:00Z web-1 portcullis - file - x\n");
  std::ifstream in(cursor_file);
  std::string stored;
  std::getline(in, stored);
  EXPECT_EQ(stored, "eyJuIjoxfQ");
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(last_path_, "/v1/export/events");
  EXPECT_EQ(last_accept_, "*/*");
  EXPECT_EQ(last_auth_, std::string("Bearer ") + kApiKey);
  EXPECT_EQ(last_query_, (std::map<std::string, std::string>{
                             {"format", "syslog"}, {"limit", "5"}, {"qql", "file.path:/etc/*"}}));
}

TEST_F(HttpTransportTest, JsonIsAcceptedByDefault) {
  ASSERT_EQ(Run({"agent", "list"}, certs_->Path("ca.crt")), kExitOk) << err_.str();
  std::lock_guard<std::mutex> lock(mu_);
  EXPECT_EQ(last_accept_, "application/json");
}

TEST_F(HttpTransportTest, ApiErrorIsExit1) {
  EXPECT_EQ(Run({"image", "list"}, certs_->Path("ca.crt")), kExitApiError);
  EXPECT_THAT(err_.str(), HasSubstr("401 unauthenticated: invalid credential"));
}

TEST_F(HttpTransportTest, WrongCaIsExit3) {
  EXPECT_EQ(Run({"image", "list"}, certs_->Path("other.crt")), kExitConnection);
  EXPECT_THAT(err_.str(), HasSubstr("error: cannot reach https://localhost:"));
  EXPECT_THAT(err_.str(), HasSubstr("hint: --ca"));
}

TEST_F(HttpTransportTest, NothingListeningIsExit3) {
  std::string ca = certs_->Path("ca.crt");
  server_->Shutdown();
  EXPECT_EQ(Run({"image", "list"}, ca), kExitConnection);
  EXPECT_THAT(err_.str(), HasSubstr("cannot reach"));
}

}  // namespace
}  // namespace portcullis::cli
