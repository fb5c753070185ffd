// Batch acceptance (limits, every problem located, tenant and agent from the
// credential only) and bounded decompression, without Kafka.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "domain/batch.h"
#include "domain/decompress.h"

namespace portcullis::ingest {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using namespace std::chrono_literals;

const auto kNow = std::chrono::system_clock::time_point(1'800'000'000s);

v1::Event GoodEvent() {
  v1::Event e;
  e.set_event_id(Uuid::Random().Binary());
  e.set_time_unix_nano(
      std::chrono::duration_cast<std::chrono::nanoseconds>((kNow - 1s).time_since_epoch()).count());
  e.set_container_id("c1");
  e.set_syscall("openat");
  e.set_category(v1::CATEGORY_FILE);
  e.set_action(v1::ACTION_DENY);
  e.mutable_file()->set_path("/etc/shadow");
  e.mutable_file()->set_operation("read");
  e.set_rule_id("no-shadow");
  return e;
}

TEST(AcceptBatchTest, StampsTenantAndAgentAndKeysByAgent) {
  TenantId tenant = TenantId::Generate();
  AgentId agent = AgentId::Generate();
  v1::EventBatch batch;
  *batch.add_events() = GoodEvent();
  v1::Event second = GoodEvent();
  second.set_tenant_id(tenant.uuid().Binary());  // its own tenant: allowed
  *batch.add_events() = second;
  Problems problems;
  auto a = AcceptBatch(batch, tenant, agent, kNow, {}, &problems);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->events, 2u);
  ASSERT_EQ(a->records.size(), 1u);
  EXPECT_EQ(a->records[0].key, agent.ToString());
  v1::EventBatch out;
  ASSERT_TRUE(out.ParseFromString(a->records[0].value));
  ASSERT_EQ(out.events_size(), 2);
  for (const v1::Event& e : out.events()) {
    EXPECT_EQ(e.tenant_id(), (tenant.uuid().Binary()));
    EXPECT_EQ(e.agent_id(), (agent.uuid().Binary()));
  }
}

// Big batches are cut into records below the broker's message size, every
// event in exactly one of them, in order.
TEST(AcceptBatchTest, LargeBatchesSpanRecordsOfBoundedSize) {
  v1::EventBatch batch;
  std::vector<std::string> ids;
  for (int i = 0; i < 400; ++i) {
    v1::Event e = GoodEvent();
    e.mutable_file()->set_path("/" + std::string(4000, 'p'));
    ids.push_back(e.event_id());
    *batch.add_events() = e;
  }
  Problems problems;
  auto a = AcceptBatch(batch, TenantId::Generate(), AgentId::Generate(), kNow, {}, &problems);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_GE(a->records.size(), 4u);  // ~1.6 MB of events
  std::vector<std::string> seen;
  for (const auto& r : a->records) {
    EXPECT_LE(r.value.size(), kMaxRecordBytes);
    v1::EventBatch out;
    ASSERT_TRUE(out.ParseFromString(r.value));
    for (const v1::Event& e : out.events())
      seen.push_back(e.event_id());
  }
  EXPECT_EQ(seen, ids);
}

TEST(AcceptBatchTest, EveryProblemLocatedAndNothingAccepted) {
  TenantId tenant = TenantId::Generate();
  v1::EventBatch batch;
  *batch.add_events() = GoodEvent();  // fine, but the batch fails as a whole
  v1::Event other_tenant = GoodEvent();
  other_tenant.set_tenant_id(Uuid::Random().Binary());
  *batch.add_events() = other_tenant;
  v1::Event bad = GoodEvent();
  bad.set_event_id("short");
  bad.set_time_unix_nano(
      std::chrono::duration_cast<std::chrono::nanoseconds>((kNow + 1h).time_since_epoch()).count());
  bad.mutable_file()->set_path(std::string(5000, 'a'));
  bad.set_action(v1::ACTION_UNSPECIFIED);
  bad.mutable_network()->set_remote_ip("abc");
  *batch.add_events() = bad;
  v1::Event dup = GoodEvent();
  dup.set_event_id(batch.events(0).event_id());
  *batch.add_events() = dup;
  v1::Event old = GoodEvent();
  old.set_time_unix_nano(1);
  *batch.add_events() = old;
  Problems problems;
  auto a = AcceptBatch(batch, tenant, AgentId::Generate(), kNow, {}, &problems);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  std::set<std::string> where;
  for (const auto& [loc, msg] : problems)
    where.insert(loc);
  EXPECT_EQ(where, (std::set<std::string>{"/events/1/tenant_id", "/events/2/event_id",
                                          "/events/2/time_unix_nano", "/events/2/action",
                                          "/events/2/network/remote_ip", "/events/3/event_id",
                                          "/events/4/time_unix_nano"}))
      << "the file path moved to network: oneof target";
}

TEST(AcceptBatchTest, SizeLimits) {
  Problems problems;
  v1::EventBatch empty;
  EXPECT_FALSE(
      AcceptBatch(empty, TenantId::Generate(), AgentId::Generate(), kNow, {}, &problems).ok());
  EXPECT_THAT(problems, ::testing::Contains(Pair("/events", HasSubstr("no event"))));
  v1::EventBatch big;
  for (int i = 0; i < 11; ++i)
    *big.add_events() = GoodEvent();
  problems.clear();
  EXPECT_FALSE(AcceptBatch(big, TenantId::Generate(), AgentId::Generate(), kNow, {.max_events = 10},
                           &problems)
                   .ok());
  EXPECT_THAT(problems, ::testing::Contains(Pair("/events", HasSubstr("the limit is 10"))));
  v1::EventBatch argv;
  v1::Event e = GoodEvent();
  for (int i = 0; i < 65; ++i)
    e.mutable_process()->add_argv("x");
  *argv.add_events() = e;
  problems.clear();
  EXPECT_FALSE(
      AcceptBatch(argv, TenantId::Generate(), AgentId::Generate(), kNow, {}, &problems).ok());
  EXPECT_THAT(problems, ::testing::Contains(Pair("/events/0/process/argv", HasSubstr("64"))));
}

// What PostgreSQL could not store is refused at the door, with its place.
TEST(AcceptBatchTest, NulBytesAndOutOfRangeVersionsAreRefused) {
  v1::EventBatch batch;
  v1::Event nul_path = GoodEvent();
  nul_path.mutable_file()->set_path(std::string("/etc/\0shadow", 12));
  *batch.add_events() = nul_path;
  v1::Event nul_label = GoodEvent();
  (*nul_label.mutable_labels())["team"] = std::string("a\0", 2);
  *batch.add_events() = nul_label;
  v1::Event version = GoodEvent();
  version.set_policy_id(Uuid::Random().Binary());
  version.set_policy_version(~0ull);
  *batch.add_events() = version;
  v1::Event nul_argv = GoodEvent();
  nul_argv.mutable_process()->add_argv(std::string("a\0b", 3));
  *batch.add_events() = nul_argv;
  Problems problems;
  EXPECT_FALSE(
      AcceptBatch(batch, TenantId::Generate(), AgentId::Generate(), kNow, {}, &problems).ok());
  EXPECT_THAT(problems, ::testing::UnorderedElementsAre(
                            Pair("/events/0/file/path", HasSubstr("NUL")),
                            Pair("/events/1/labels", HasSubstr("NUL")),
                            Pair("/events/2/policy_version", HasSubstr("out of range")),
                            Pair("/events/3/process/argv/0", HasSubstr("NUL"))));
}

TEST(DecompressTest, GzipAndZstdRoundTripWithABound) {
  std::string raw(100000, 'x');
  for (const char* enc : {"gzip", "zstd", "GZIP", "", "identity"}) {
    auto packed = Compress(enc, raw);
    ASSERT_TRUE(packed.ok()) << enc;
    auto back = Decompress(enc, *packed, 1 << 20);
    ASSERT_TRUE(back.ok()) << enc << ": " << back.status();
    EXPECT_EQ(*back, raw) << enc;
    // A small body that expands past the bound is refused, not inflated.
    auto bomb = Decompress(enc, *packed, 50000);
    EXPECT_EQ(bomb.status().code(), StatusCode::kResourceExhausted) << enc;
  }
  EXPECT_EQ(Decompress("br", "x", 100).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(Decompress("gzip", "not gzip at all", 100).ok());
  EXPECT_FALSE(Decompress("zstd", "not zstd at all", 100).ok());
  auto packed = Compress("zstd", raw);
  EXPECT_FALSE(Decompress("zstd", packed->substr(0, packed->size() / 2), 1 << 20).ok())
      << "truncated";
  auto gz = Compress("gzip", raw);
  EXPECT_FALSE(Decompress("gzip", gz->substr(0, gz->size() - 4), 1 << 20).ok()) << "truncated";
  EXPECT_FALSE(Decompress("zstd", "", 100).ok());
}

}  // namespace
}  // namespace portcullis::ingest
