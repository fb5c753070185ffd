// Every service binary, started for real against the infrastructure of
// scripts/infra.sh: health, readiness, metrics (checked by promtool), JSON
// logs, graceful shutdown, configuration errors, and readiness that follows
// PostgreSQL going away and coming back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "portcullis/http/client.h"
#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"

namespace portcullis {
namespace {

using namespace std::chrono_literals;
using testing::InfraEnv;
using testing::ServiceProcess;
using testing::TlsClient;

// Runs promtool on `text`; returns its exit code and puts its output in *out.
int Promtool(const std::string& text, std::string* out) {
  namespace fs = std::filesystem;
  fs::path in = fs::temp_directory_path() / (testing::UniqueName("metrics_") + ".txt");
  fs::path res = fs::temp_directory_path() / (testing::UniqueName("promtool_") + ".txt");
  std::ofstream(in) << text;
  std::string cmd = "promtool check metrics < " + in.string() + " > " + res.string() + " 2>&1";
  int rc = std::system(cmd.c_str());  // NOLINT
  std::ifstream r(res);
  out->assign(std::istreambuf_iterator<char>(r), {});
  fs::remove(in);
  fs::remove(res);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

const std::vector<std::string> kServices = {"registry", "policy", "ingest",
                                            "indexer",  "query",  "instrumenter"};

std::vector<std::string> BaseEnv() {
  return {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0",
          "PORTCULLIS_INSTRUMENTER_WORKDIR=" + std::filesystem::temp_directory_path().string() +
              "/portcullis-instrumenter-test"};
}

class EveryService : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryService, ServesHealthReadinessMetricsAndStopsOnSigterm) {
  ServiceProcess svc(GetParam(), BaseEnv());
  int port = svc.WaitStarted();
  ASSERT_NE(port, 0) << "service did not start; log:\n" << ::testing::PrintToString(svc.Lines());
  http::Client c = TlsClient(port);

  auto health = c.Send("GET", "/healthz");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->status, 200);
  auto hj = nlohmann::json::parse(health->body);
  EXPECT_EQ(hj["status"], "ok");
  EXPECT_EQ(hj["service"], GetParam());

  auto ready = c.Send("GET", "/readyz");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200) << ready->body;
  auto rj = nlohmann::json::parse(ready->body);
  EXPECT_EQ(rj["status"], "ready");
  EXPECT_FALSE(rj["checks"].empty()) << "every service checks at least one dependency";
  for (auto& [name, result] : rj["checks"].items())
    EXPECT_EQ(result, "ok") << name;

  auto nf = c.Send("GET", "/v1/no-such-endpoint");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(nlohmann::json::parse(nf->body)["error"]["code"], "not_found");

  auto metrics = c.Send("GET", "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->status, 200);
  ASSERT_NE(metrics->Header("content-type"), nullptr);
  EXPECT_EQ(metrics->Header("content-type")->rfind("text/plain; version=0.0.4", 0), 0u);
  EXPECT_NE(metrics->body.find("portcullis_build_info{service=\"" + GetParam() + "\""),
            std::string::npos);
  EXPECT_NE(metrics->body.find("portcullis_http_requests_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("portcullis_dependency_up"), std::string::npos);
  std::string promtool_out;
  EXPECT_EQ(Promtool(metrics->body, &promtool_out), 0) << promtool_out << "\n" << metrics->body;

  // Plaintext to a TLS port gets nothing useful.
  http::Client plain(
      {.host = "127.0.0.1", .port = static_cast<std::uint16_t>(port), .tls = false, .timeout = 3s});
  auto p = plain.Send("GET", "/healthz");
  EXPECT_TRUE(!p.ok() || p->status != 200);

  EXPECT_EQ(svc.Stop(SIGTERM), 0);
  std::vector<std::string> lines = svc.Lines();
  ASSERT_FALSE(lines.empty());
  for (const std::string& l : lines) {
    auto j = nlohmann::json::parse(l, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON log line: " << l;
    EXPECT_EQ(j["service"], GetParam());
    EXPECT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << l;
  }
  EXPECT_EQ(nlohmann::json::parse(lines.back())["msg"], "stopped");
}

INSTANTIATE_TEST_SUITE_P(Services, EveryService, ::testing::ValuesIn(kServices),
                         [](const auto& param_info) { return param_info.param; });

TEST(ServiceConfigTest, EveryConfigurationErrorIsReportedAndExitIs2) {
  // No config file: nothing but these variables.
  ServiceProcess svc("indexer",
                     {"PORTCULLIS_HTTP_LISTEN=nonsense", "PORTCULLIS_HTTP_THREADS=lots",
                      "PORTCULLIS_TLS_CERT=/nonexistent/cert.pem", "PORTCULLIS_LOG_LEVEL=chatty"},
                     /*with_config=*/false);
  EXPECT_EQ(svc.Wait(15s), 2);
  std::string all;
  for (const auto& l : svc.Lines())
    all += l + "\n";
  for (const char* key : {"PORTCULLIS_HTTP_LISTEN", "PORTCULLIS_HTTP_THREADS",
                          "PORTCULLIS_TLS_CERT", "PORTCULLIS_TLS_KEY", "PORTCULLIS_LOG_LEVEL",
                          "PORTCULLIS_PG_DSN", "PORTCULLIS_KAFKA_BROKERS"}) {
    EXPECT_NE(all.find(key), std::string::npos) << key << " not reported in:\n" << all;
  }
}

TEST(ServiceConfigTest, PlaintextNeedsTheExplicitDevelopmentFlag) {
  ServiceProcess svc("instrumenter",
                     {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0", "PORTCULLIS_TLS_DISABLE=true",
                      "PORTCULLIS_INSTRUMENTER_WORKDIR=/tmp/portcullis-instrumenter-test"},
                     /*with_config=*/false);
  int port = svc.WaitStarted();
  ASSERT_NE(port, 0);
  http::Client c({.host = "127.0.0.1", .port = static_cast<std::uint16_t>(port), .tls = false});
  auto r = c.Send("GET", "/healthz");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  bool warned = false;
  for (const auto& l : svc.Lines())
    warned = warned || l.find("TLS is disabled") != std::string::npos;
  EXPECT_TRUE(warned);
  EXPECT_EQ(svc.Stop(SIGINT), 0);
}

// Polls /readyz until it answers `want` or `limit` passes.
int WaitForReadiness(http::Client& c, int want, std::chrono::seconds limit, std::string* body) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int last = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Send("GET", "/readyz");
    if (r.ok()) {
      last = r->status;
      *body = r->body;
      if (last == want) return last;
    }
    std::this_thread::sleep_for(200ms);  // a probe interval, as a kubelet would
  }
  return last;
}

TEST(ReadinessTest, FollowsPostgresDownAndBackUp) {
  ServiceProcess svc("registry", BaseEnv());
  int port = svc.WaitStarted();
  ASSERT_NE(port, 0);
  http::Client c = TlsClient(port);
  std::string body;
  ASSERT_EQ(WaitForReadiness(c, 200, 10s, &body), 200) << body;

  ASSERT_TRUE(testing::RunInfra("stop pg").ok());
  int down = WaitForReadiness(c, 503, 15s, &body);
  Status restarted = testing::RunInfra("start pg");
  ASSERT_EQ(down, 503) << body;
  auto j = nlohmann::json::parse(body);
  EXPECT_EQ(j["status"], "not ready");
  EXPECT_NE(j["checks"]["postgres"].get<std::string>().find("unavailable"), std::string::npos)
      << body;
  // Liveness is not readiness: the process is alive and says so.
  auto health = c.Send("GET", "/healthz");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);

  ASSERT_TRUE(restarted.ok()) << restarted;
  EXPECT_EQ(WaitForReadiness(c, 200, 30s, &body), 200) << body;
  const int status = svc.Stop(SIGTERM);
  std::string log;
  for (const std::string& line : svc.Lines())
    log += line + "\n";
  EXPECT_EQ(status, 0) << log;
}

}  // namespace
}  // namespace portcullis
