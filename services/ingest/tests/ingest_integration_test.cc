// The ingest service started for real, with the registry for credentials and
// a real Kafka broker: a batch is 202 only once Kafka has every event, with
// tenant and agent from the credential whatever the payload says; bad
// batches are refused whole with every problem; rate limits answer 429; a
// stopped broker gives 503 with Retry-After, never 202.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "domain/decompress.h"
#include "portcullis/common/ids.h"
#include "portcullis/kafka/kafka.h"
#include "portcullis/testing/api.h"
#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"
#include "portcullis/v1/event.pb.h"

namespace portcullis {
namespace {

using nlohmann::json;
using testing::Api;
using testing::ExpectError;
using testing::InfraEnv;
using testing::OperatorToken;
using testing::Reply;
using testing::ServiceProcess;

v1::Event MakeEvent() {
  v1::Event e;
  e.set_event_id(Uuid::Random().Binary());
  e.set_time_unix_nano(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
  e.set_container_id("c1");
  e.set_syscall("connect");
  e.set_category(v1::CATEGORY_NETWORK);
  e.set_action(v1::ACTION_DENY);
  e.set_rule_id("egress");
  e.mutable_network()->set_remote_ip(std::string("\x0a\x00\x00\x01", 4));
  e.mutable_network()->set_remote_port(443);
  return e;
}

std::string Batch(int n, const std::function<void(v1::Event&)>& edit = nullptr) {
  v1::EventBatch b;
  for (int i = 0; i < n; ++i) {
    v1::Event e = MakeEvent();
    if (edit) edit(e);
    *b.add_events() = e;
  }
  return b.SerializeAsString();
}

class IngestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    topic_ = testing::UniqueName("test.events.");
    registry_ = new ServiceProcess("registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
    ingest_ = new ServiceProcess(
        "ingest", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0", "PORTCULLIS_EVENTS_TOPIC=" + topic_,
                   "PORTCULLIS_EVENTS_PARTITIONS=3", "PORTCULLIS_INGEST_AGENT_BURST=1000",
                   "PORTCULLIS_INGEST_AGENT_EVENTS_PER_SECOND=1",
                   "PORTCULLIS_KAFKA_DELIVERY_TIMEOUT_MS=3000"});
    registry_port_ = registry_->WaitStarted();
    ingest_port_ = ingest_->WaitStarted();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(ingest_->Stop(SIGTERM), 0);
    EXPECT_EQ(registry_->Stop(SIGTERM), 0);
    delete ingest_;
    delete registry_;
  }
  void SetUp() override {
    ASSERT_NE(registry_port_, 0);
    ASSERT_NE(ingest_port_, 0);
    reg_ = std::make_unique<Api>(registry_port_);
    api_ = std::make_unique<Api>(ingest_port_);
    // Readiness creates the topic.
    for (int i = 0; i < 100; ++i) {
      if (api_->Call("GET", "/readyz", "").status == 200) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  struct Agent {
    std::string tenant_id, agent_id, credential, admin;
  };
  Agent MakeAgent() {
    Agent a;
    Reply r = reg_->Post("/v1/tenants", OperatorToken(), {{"name", testing::UniqueName("t-")}});
    EXPECT_EQ(r.status, 201) << r.raw_body;
    a.tenant_id = r.body["tenant"]["id"];
    a.admin = r.body["admin_key"]["secret"];
    r = reg_->Post("/v1/enrollment-tokens", a.admin, {{"name", "fleet"}});
    std::string token = r.body["secret"];
    r = reg_->Post("/v1/agents/register", token,
                   {{"container_id", testing::UniqueName("c-")},
                    {"image_name", "shop/web:1"},
                    {"hostname", "h"},
                    {"agent_version", "0.1"},
                    {"kernel_version", "6.1"}});
    EXPECT_EQ(r.status, 201) << r.raw_body;
    a.agent_id = r.body["agent_id"];
    a.credential = r.body["credential"];
    return a;
  }

  Reply Post(const std::string& credential, const std::string& body,
             const std::string& encoding = "", const std::string& type = "application/x-protobuf") {
    Api::Headers h;
    std::string sent = body;
    if (!encoding.empty()) {
      h.emplace_back("Content-Encoding", encoding);
      sent = *ingest::Compress(encoding, body);
    }
    return api_->Call("POST", "/v1/events", credential, sent, type, h);
  }

  // Every message on the test topic (read from the start by a fresh group).
  std::vector<kafka::Message> ReadTopic(std::size_t at_least) {
    auto c =
        kafka::Consumer::Create({.brokers = InfraEnv::Get().Require("PORTCULLIS_KAFKA_BROKERS"),
                                 .group_id = testing::UniqueName("g-"),
                                 .topics = {topic_}});
    EXPECT_TRUE(c.ok()) << c.status();
    std::vector<kafka::Message> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto msgs = (*c)->Poll(1000, std::chrono::milliseconds(500));
      if (msgs.ok()) out.insert(out.end(), msgs->begin(), msgs->end());
      if (out.size() >= at_least && msgs.ok() && msgs->empty()) break;
    }
    (void)(*c)->Close();
    return out;
  }

  static std::string topic_;
  static ServiceProcess* registry_;
  static ServiceProcess* ingest_;
  static int registry_port_, ingest_port_;
  std::unique_ptr<Api> reg_, api_;
};

std::string IngestTest::topic_;
ServiceProcess* IngestTest::registry_ = nullptr;
ServiceProcess* IngestTest::ingest_ = nullptr;
int IngestTest::registry_port_ = 0;
int IngestTest::ingest_port_ = 0;

TEST_F(IngestTest, AcceptedBatchesAreInKafkaStampedByTheCredential) {
  Agent a = MakeAgent();
  Agent b = MakeAgent();
  Reply r = Post(a.credential, Batch(20), "zstd");
  ASSERT_EQ(r.status, 202) << r.raw_body;
  EXPECT_EQ(r.body["accepted"], 20);
  ASSERT_EQ(Post(a.credential, Batch(5), "gzip").status, 202);
  ASSERT_EQ(Post(b.credential, Batch(7)).status, 202);

  // A payload that claims another tenant or agent is refused whole.
  r = Post(a.credential,
           Batch(3, [&](v1::Event& e) { e.set_tenant_id(Uuid::Parse(b.tenant_id)->Binary()); }));
  ExpectError(r, 400, "invalid_argument");
  EXPECT_EQ(r.body["error"]["location"], "/events/0/tenant_id");
  EXPECT_EQ(r.body["error"]["details"].size(), 3u);
  r = Post(a.credential,
           Batch(1, [&](v1::Event& e) { e.set_agent_id(Uuid::Parse(b.agent_id)->Binary()); }));
  ExpectError(r, 400, "invalid_argument");

  std::vector<kafka::Message> msgs = ReadTopic(3);  // a record per accepted batch
  std::map<std::string, int> per_agent;
  for (const auto& m : msgs) {
    v1::EventBatch batch;
    ASSERT_TRUE(batch.ParseFromString(m.value));
    std::string agent = m.key;
    const std::string& tenant = agent == a.agent_id ? a.tenant_id : b.tenant_id;
    for (const v1::Event& e : batch.events()) {
      ++per_agent[agent];
      EXPECT_EQ(e.tenant_id(), Uuid::Parse(tenant)->Binary()) << "stamped from the credential";
      EXPECT_EQ(e.agent_id(), Uuid::Parse(agent)->Binary());
    }
  }
  EXPECT_EQ(per_agent[a.agent_id], 25) << "the refused batches left nothing";
  EXPECT_EQ(per_agent[b.agent_id], 7);
}

TEST_F(IngestTest, BadRequestsAreRefusedWithAClearError) {
  Agent a = MakeAgent();
  ExpectError(Post(a.credential, Batch(1), "", "application/json"), 415, "unsupported_media_type");
  Reply r = api_->Call("POST", "/v1/events", a.credential, Batch(1), "application/x-protobuf",
                       {{"Content-Encoding", "br"}});
  ExpectError(r, 415, "unsupported_media_type");
  ExpectError(Post(a.credential, "\xff\xff\xff garbage"), 400, "invalid_argument");
  // An empty body is a batch of no events.
  ExpectError(api_->Call("POST", "/v1/events", a.credential, "", "",
                         {{"Content-Type", "application/x-protobuf"}}),
              400, "invalid_argument");
  // 1 MiB of zeros compresses to almost nothing; 64 MiB would pass the body
  // limit as zstd but not the decompression bound.
  std::string bomb = *ingest::Compress("zstd", std::string(64 << 20, '\0'));
  r = api_->Call("POST", "/v1/events", a.credential, bomb, "application/x-protobuf",
                 {{"Content-Encoding", "zstd"}});
  ExpectError(r, 413, "payload_too_large");
  r = api_->Call("POST", "/v1/events", a.credential, std::string(5 << 20, 'x'),
                 "application/x-protobuf");
  EXPECT_EQ(r.status, 413);
  ExpectError(Post("", Batch(1)), 401, "unauthenticated");
  ExpectError(Post(a.admin, Batch(1)), 403, "permission_denied");
  ExpectError(
      Post("pca_" + std::string(32, '0') + "_" + std::string(32, '0') + "_" + std::string(64, '0'),
           Batch(1)),
      401, "unauthenticated");
}

TEST_F(IngestTest, PerAgentRateLimitAnswers429WithRetryAfter) {
  Agent a = MakeAgent();
  ASSERT_EQ(Post(a.credential, Batch(600)).status, 202);
  Reply r = Post(a.credential, Batch(600));
  ExpectError(r, 429, "rate_limited");
  ASSERT_EQ(r.headers.count("retry-after"), 1u);
  EXPECT_GE(std::stoi(r.headers["retry-after"]), 1);
  Agent other = MakeAgent();
  EXPECT_EQ(Post(other.credential, Batch(600)).status, 202) << "per agent";
}

TEST_F(IngestTest, AStoppedBrokerIs503NeverA202) {
  Agent a = MakeAgent();
  ASSERT_TRUE(testing::RunInfra("stop kafka").ok());
  Reply r = Post(a.credential, Batch(10));
  Status restarted = testing::RunInfra("start kafka");
  ExpectError(r, 503, "unavailable");
  EXPECT_EQ(r.headers.count("retry-after"), 1u);
  ASSERT_TRUE(restarted.ok()) << restarted;
  // Once the broker is back, the same batch is accepted.
  int status = 0;
  for (int i = 0; i < 30 && status != 202; ++i) {
    status = Post(a.credential, Batch(10)).status;
    if (status != 202) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  EXPECT_EQ(status, 202);
}

}  // namespace
}  // namespace portcullis
