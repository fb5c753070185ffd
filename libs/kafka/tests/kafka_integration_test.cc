// Against the real Kafka broker of scripts/infra.sh.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "portcullis/kafka/kafka.h"
#include "portcullis/testing/infra.h"

namespace portcullis::kafka {
namespace {

using namespace std::chrono_literals;
using testing::InfraEnv;

std::string Brokers() {
  return InfraEnv::Get().Require("PORTCULLIS_KAFKA_BROKERS");
}

std::unique_ptr<Producer> MakeProducer() {
  auto p = Producer::Create({.brokers = Brokers(), .client_id = "kafka-test"});
  EXPECT_TRUE(p.ok()) << p.status();
  return std::move(*p);
}

std::unique_ptr<Consumer> MakeConsumer(const std::string& group, const std::string& topic) {
  auto c = Consumer::Create({.brokers = Brokers(), .group_id = group, .topics = {topic}});
  EXPECT_TRUE(c.ok()) << c.status();
  return std::move(*c);
}

// Polls until `want` messages arrived or 30 s passed (bounded, no sleeps).
std::vector<Message> Drain(Consumer& c, std::size_t want) {
  std::vector<Message> all;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (all.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto batch = c.Poll(want - all.size(), 200ms);
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok()) break;
    for (auto& m : *batch)
      all.push_back(std::move(m));
  }
  return all;
}

std::vector<Record> Records(int from, int to) {
  std::vector<Record> out;
  for (int i = from; i < to; ++i) {
    out.push_back({"agent-" + std::to_string(i % 3), "event-" + std::to_string(i)});
  }
  return out;
}

class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = testing::UniqueName("portcullis_test_");
    producer_ = MakeProducer();
    Status s = producer_->EnsureTopic(topic_, 2, 1, 10s);
    ASSERT_TRUE(s.ok()) << s;
    // Creating it again is not an error.
    ASSERT_TRUE(producer_->EnsureTopic(topic_, 2, 1, 10s).ok());
  }
  std::string topic_;
  std::unique_ptr<Producer> producer_;
};

TEST_F(KafkaTest, EveryMessageIsAcknowledgedWithItsOffset) {
  auto results = producer_->ProduceAndWait(topic_, Records(0, 100), 20s);
  ASSERT_EQ(results.size(), 100u);
  std::set<std::pair<int, long>> positions;
  for (const auto& r : results) {
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_GE(r.partition, 0);
    EXPECT_GE(r.offset, 0);
    positions.insert({r.partition, r.offset});
  }
  EXPECT_EQ(positions.size(), 100u);
}

TEST_F(KafkaTest, CommittedOffsetsAreWhereTheGroupResumes) {
  ASSERT_EQ(producer_->ProduceAndWait(topic_, Records(0, 50), 20s).size(), 50u);
  std::string group = testing::UniqueName("group_");
  {
    auto c = MakeConsumer(group, topic_);
    std::vector<Message> got = Drain(*c, 50);
    ASSERT_EQ(got.size(), 50u);
    // Same key, same partition, in order.
    std::map<std::string, int> partition_of;
    for (const Message& m : got) {
      auto [it, fresh] = partition_of.emplace(m.key, m.partition);
      EXPECT_EQ(it->second, m.partition) << m.key;
    }
    ASSERT_TRUE(c->Commit(got).ok());
    ASSERT_TRUE(c->Close().ok());
  }
  ASSERT_EQ(producer_->ProduceAndWait(topic_, Records(50, 60), 20s).size(), 10u);
  auto c = MakeConsumer(group, topic_);
  std::vector<Message> rest = Drain(*c, 10);
  std::set<std::string> values;
  for (const Message& m : rest)
    values.insert(m.value);
  EXPECT_EQ(values.size(), 10u);
  for (int i = 50; i < 60; ++i)
    EXPECT_TRUE(values.count("event-" + std::to_string(i))) << i;
  // Nothing more: the committed 50 are not delivered again.
  auto extra = c->Poll(10, 1s);
  ASSERT_TRUE(extra.ok());
  EXPECT_TRUE(extra->empty());
}

TEST_F(KafkaTest, LagIsWhatTheBrokerHasAndTheConsumerHasNotFetched) {
  ASSERT_EQ(producer_->ProduceAndWait(topic_, Records(0, 30), 20s).size(), 30u);
  auto c = MakeConsumer(testing::UniqueName("group_"), topic_);
  ASSERT_EQ(Drain(*c, 30).size(), 30u);
  auto lag = c->Lag();
  ASSERT_TRUE(lag.ok()) << lag.status();
  std::int64_t total = 0;
  for (const PartitionLag& p : *lag)
    total += p.lag;
  EXPECT_EQ(total, 0) << "everything fetched";
  ASSERT_EQ(producer_->ProduceAndWait(topic_, Records(30, 50), 20s).size(), 20u);
  // The watermarks come with fetches: wait until the new high marks show.
  for (int i = 0; i < 50 && total == 0; ++i) {
    std::this_thread::sleep_for(100ms);
    lag = c->Lag();
    ASSERT_TRUE(lag.ok());
    total = 0;
    for (const PartitionLag& p : *lag)
      total += p.lag;
  }
  EXPECT_GT(total, 0);
  EXPECT_LE(total, 20);
}

TEST_F(KafkaTest, UncommittedMessagesAreRedelivered) {
  ASSERT_EQ(producer_->ProduceAndWait(topic_, Records(0, 20), 20s).size(), 20u);
  std::string group = testing::UniqueName("group_");
  {
    auto c = MakeConsumer(group, topic_);
    ASSERT_EQ(Drain(*c, 20).size(), 20u);
    ASSERT_TRUE(c->Close().ok());  // crash-equivalent: nothing committed
  }
  auto c = MakeConsumer(group, topic_);
  EXPECT_EQ(Drain(*c, 20).size(), 20u);
}

TEST(KafkaFailureTest, UnreachableBrokerNeverAcknowledges) {
  auto p = Producer::Create({.brokers = "127.0.0.1:1",
                             .delivery_timeout = 1500ms,
                             .extra = {{"socket.connection.setup.timeout.ms", "1000"}}});
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->Ping(500ms).ok());
  auto results = (*p)->ProduceAndWait("anything", {{"k", "v"}}, 5s);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].status.ok());
}

TEST(KafkaFailureTest, BadOptionsAreClearErrors) {
  EXPECT_EQ(Producer::Create({.brokers = ""}).status().code(), StatusCode::kInvalidArgument);
  auto bad = Producer::Create({.brokers = "x:1", .extra = {{"no.such.property", "1"}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no.such.property"), std::string::npos);
  EXPECT_FALSE(Consumer::Create({.brokers = "x:1", .group_id = "", .topics = {"t"}}).ok());
}

}  // namespace
}  // namespace portcullis::kafka
