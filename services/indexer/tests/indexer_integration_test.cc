// ingest -> Kafka -> indexer -> PostgreSQL, all real: accepted events become
// rows under their tenant exactly once (a batch sent again changes nothing),
// and a record that is not an event goes to the dead-letter topic while the
// indexer carries on.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <pqxx/pqxx>
#include <sstream>

#include "domain/rows.h"
#include "portcullis/common/ids.h"
#include "portcullis/kafka/kafka.h"
#include "portcullis/pg/pool.h"
#include "portcullis/testing/api.h"
#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"
#include "portcullis/v1/event.pb.h"
#include "storage/pg_event_writer.h"

namespace portcullis {
namespace {

using testing::Api;
using testing::InfraEnv;
using testing::OperatorToken;
using testing::Reply;
using testing::ServiceProcess;

v1::EventBatch MakeBatch(int n) {
  v1::EventBatch b;
  for (int i = 0; i < n; ++i) {
    v1::Event* e = b.add_events();
    e->set_event_id(Uuid::Random().Binary());
    e->set_time_unix_nano(std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
    e->set_syscall("openat");
    e->set_category(v1::CATEGORY_FILE);
    e->set_action(v1::ACTION_DENY);
    e->mutable_file()->set_path("/etc/shadow");
  }
  return b;
}

// Rows of `tenant` in the events table, read as the superuser.
long Count(const std::string& tenant) {
  pqxx::connection c(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
  pqxx::nontransaction tx(c);
  return tx.exec_params("SELECT count(*) FROM events WHERE tenant_id = $1", tenant)[0][0]
      .as<long>();
}

long WaitForCount(const std::string& tenant, long want) {
  long n = 0;
  for (int i = 0; i < 150 && n < want; ++i) {
    n = Count(tenant);
    if (n < want) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return n;
}

TEST(IndexerTest, EventsLandOnceUnderTheirTenantAndBadRecordsAreDeadLetters) {
  const std::string topic = testing::UniqueName("test.events.");
  const std::string dead = topic + ".dead";
  ServiceProcess registry("registry", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0"});
  ServiceProcess ingest("ingest",
                        {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0", "PORTCULLIS_EVENTS_TOPIC=" + topic,
                         "PORTCULLIS_EVENTS_PARTITIONS=3"});
  int registry_port = registry.WaitStarted();
  int ingest_port = ingest.WaitStarted();
  ASSERT_NE(registry_port, 0);
  ASSERT_NE(ingest_port, 0);
  Api reg(registry_port), api(ingest_port);
  for (int i = 0; i < 100 && api.Call("GET", "/readyz", "").status != 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // creates the topic
  ServiceProcess indexer(
      "indexer", {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0", "PORTCULLIS_EVENTS_TOPIC=" + topic,
                  "PORTCULLIS_PG_DSN=" + InfraEnv::Get().Require("PORTCULLIS_PG_INDEXER_DSN"),
                  "PORTCULLIS_INDEXER_GROUP=" + testing::UniqueName("ix-")});
  const int indexer_port = indexer.WaitStarted();
  ASSERT_NE(indexer_port, 0);

  Reply r = reg.Post("/v1/tenants", OperatorToken(), {{"name", testing::UniqueName("t-")}});
  ASSERT_EQ(r.status, 201) << r.raw_body;
  const std::string tenant = r.body["tenant"]["id"];
  std::string admin = r.body["admin_key"]["secret"];
  r = reg.Post("/v1/enrollment-tokens", admin, {{"name", "fleet"}});
  r = reg.Post("/v1/agents/register", r.body["secret"].get<std::string>(),
               {{"container_id", "c1"},
                {"image_name", "shop/web:1"},
                {"hostname", "h"},
                {"agent_version", "0.1"},
                {"kernel_version", "6.1"}});
  ASSERT_EQ(r.status, 201) << r.raw_body;
  const std::string credential = r.body["credential"];

  const std::string batch = MakeBatch(300).SerializeAsString();
  auto post = [&] {
    return api.Call("POST", "/v1/events", credential, batch, "application/x-protobuf").status;
  };
  ASSERT_EQ(post(), 202);
  EXPECT_EQ(WaitForCount(tenant, 300), 300);

  // The same batch again (an agent retrying after a lost 202): no new row.
  ASSERT_EQ(post(), 202);
  // Something that is not an event, straight onto the topic, then more events.
  auto producer = kafka::Producer::Create(
      {.brokers = InfraEnv::Get().Require("PORTCULLIS_KAFKA_BROKERS"), .client_id = "test"});
  ASSERT_TRUE(producer.ok());
  // And a batch record with one good event and one that can't be a row (no
  // time): the good one is written, the other dead-lettered on its own.
  v1::EventBatch mixed = MakeBatch(2);
  for (v1::Event& e : *mixed.mutable_events()) {
    e.set_tenant_id(Uuid::Parse(tenant)->Binary());
    e.set_agent_id(Uuid::Random().Binary());
  }
  mixed.mutable_events(1)->set_time_unix_nano(0);
  auto acks = (*producer)->ProduceAndWait(
      topic, {{"junk", "\xff\xfe not protobuf"}, {"mixed", mixed.SerializeAsString()}},
      std::chrono::seconds(10));
  ASSERT_TRUE(acks[0].status.ok()) << acks[0].status;
  ASSERT_TRUE(acks[1].status.ok()) << acks[1].status;
  ASSERT_EQ(api.Call("POST", "/v1/events", credential, MakeBatch(50).SerializeAsString(),
                     "application/x-protobuf")
                .status,
            202);
  EXPECT_EQ(WaitForCount(tenant, 351), 351);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Count(tenant), 351) << "the retried batch was deduplicated";

  auto consumer =
      kafka::Consumer::Create({.brokers = InfraEnv::Get().Require("PORTCULLIS_KAFKA_BROKERS"),
                               .group_id = testing::UniqueName("g-"),
                               .topics = {dead}});
  ASSERT_TRUE(consumer.ok());
  std::vector<kafka::Message> letters;
  for (int i = 0; i < 40 && letters.size() < 2; ++i) {
    auto m = (*consumer)->Poll(10, std::chrono::milliseconds(500));
    if (m.ok()) letters.insert(letters.end(), m->begin(), m->end());
  }
  ASSERT_EQ(letters.size(), 2u);
  std::sort(letters.begin(), letters.end(),
            [](const kafka::Message& x, const kafka::Message& y) { return x.key > y.key; });
  EXPECT_NE(letters[1].value.find("not a portcullis.v1.EventBatch"), std::string::npos);
  EXPECT_NE(letters[1].value.find("\xff\xfe not protobuf"), std::string::npos);
  EXPECT_NE(letters[0].value.find("\"event_index\":1"), std::string::npos) << letters[0].value;
  EXPECT_NE(letters[0].value.find("the event has no time"), std::string::npos);
  v1::Event bad;
  EXPECT_TRUE(bad.ParseFromString(letters[0].value.substr(letters[0].value.find('\n') + 1)))
      << "the event's own bytes follow the reason";
  (void)(*consumer)->Close();

  // What it did is on its /metrics: rows, duplicates, dead letters, lag.
  Reply metrics = Api(indexer_port).Call("GET", "/metrics", "", "", "", {}, false);
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.raw_body.find("portcullis_indexer_events_total{outcome=\"written\"} 351"),
            std::string::npos)
      << metrics.raw_body;
  EXPECT_NE(metrics.raw_body.find("portcullis_indexer_events_total{outcome=\"duplicate\"} 300"),
            std::string::npos);
  EXPECT_NE(metrics.raw_body.find("portcullis_indexer_events_total{outcome=\"dead_letter\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.raw_body.find("portcullis_indexer_consumer_lag{"), std::string::npos);

  EXPECT_EQ(indexer.Stop(SIGTERM), 0);
  EXPECT_EQ(ingest.Stop(SIGTERM), 0);
  EXPECT_EQ(registry.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace portcullis

namespace portcullis {
namespace {

std::string Sql(const std::string& query) {
  pqxx::connection c(testing::InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
  pqxx::nontransaction tx(c);
  pqxx::result r = tx.exec(query);
  return r.empty() || r[0][0].is_null() ? "" : r[0][0].as<std::string>();
}

TEST(IndexerRetentionTest, DropsDayPartitionsPastRetentionAndKeepsTheRest) {
  // A partition from ten days ago (the app role may create partitions).
  Sql("SELECT portcullis_ensure_event_partitions(current_date - 10, 1)");
  const std::string old_name = Sql("SELECT 'events_p' || to_char(current_date - 10, 'YYYYMMDD')");
  const std::string today = Sql("SELECT 'events_p' || to_char(current_date, 'YYYYMMDD')");
  ASSERT_EQ(Sql("SELECT to_regclass('" + old_name + "')::text"), old_name);
  testing::ServiceProcess indexer(
      "indexer",
      {"PORTCULLIS_HTTP_LISTEN=127.0.0.1:0",
       "PORTCULLIS_EVENTS_TOPIC=" + testing::UniqueName("test.events."),
       "PORTCULLIS_EVENTS_RETENTION_DAYS=3", "PORTCULLIS_INDEXER_MAINTENANCE_INTERVAL_S=1"});
  ASSERT_NE(indexer.WaitStarted(), 0);
  std::string still;
  for (int i = 0; i < 100; ++i) {
    still = Sql("SELECT to_regclass('" + old_name + "')::text");
    if (still.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(still, "") << old_name << " should have been dropped";
  EXPECT_EQ(Sql("SELECT to_regclass('" + today + "')::text"), today) << "today's stays";
  EXPECT_EQ(indexer.Stop(SIGTERM), 0);
}

}  // namespace
}  // namespace portcullis

namespace portcullis {
namespace {

v1::Event Stamped(const std::string& tenant_bytes, std::int64_t time_ns) {
  v1::Event e;
  e.set_tenant_id(tenant_bytes);
  e.set_agent_id(Uuid::Random().Binary());
  e.set_event_id(Uuid::Random().Binary());
  e.set_time_unix_nano(time_ns);
  e.set_syscall("openat");
  e.set_category(v1::CATEGORY_FILE);
  e.set_action(v1::ACTION_MONITOR);
  e.mutable_file()->set_path("/etc/hosts\tor\\this");
  return e;
}

long CountTenant(const Uuid& tenant) {
  return Count(tenant.ToString());
}

// Both write paths (the indexer's own role: COPY straight into events; a role
// under row-level security: staging + INSERT) keep every row of two tenants
// and two days exactly once, also when a batch mixes new events with events
// already written (the fast path fails on those; the savepoint is rolled
// back and the batch written again, skipping them).
class PgEventWriterTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PgEventWriterTest, WritesEveryRowOnceAcrossRedeliveries) {
  auto pool = pg::Pool::Create({.dsn = InfraEnv::Get().Require(GetParam())});
  ASSERT_TRUE(pool.ok()) << pool.status();
  indexer::PgEventWriter writer(**pool);
  const Uuid t1 = Uuid::Random(), t2 = Uuid::Random();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::int64_t yesterday = now - 86'400'000'000'000;
  std::vector<v1::Event> first = {Stamped(t1.Binary(), now), Stamped(t1.Binary(), yesterday),
                                  Stamped(t1.Binary(), now), Stamped(t2.Binary(), now),
                                  Stamped(t2.Binary(), yesterday)};
  indexer::RowBatch a;
  for (const auto& e : first)
    ASSERT_TRUE(indexer::AppendRow(e, a).ok());
  auto w = writer.Write(a);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->inserted, 5u);
  EXPECT_EQ(w->duplicates, 0u);
  EXPECT_FALSE(w->deduplicated);

  // The same five again, with two new ones in between.
  indexer::RowBatch b;
  ASSERT_TRUE(indexer::AppendRow(Stamped(t2.Binary(), now), b).ok());
  for (const auto& e : first)
    ASSERT_TRUE(indexer::AppendRow(e, b).ok());
  ASSERT_TRUE(indexer::AppendRow(Stamped(t1.Binary(), now), b).ok());
  w = writer.Write(b);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->inserted, 2u);
  EXPECT_EQ(w->duplicates, 5u);
  EXPECT_TRUE(w->deduplicated);
  EXPECT_EQ(CountTenant(t1), 4);
  EXPECT_EQ(CountTenant(t2), 3);

  // Written as stored: the escaped tab and backslash come back as they were.
  pqxx::connection c(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
  pqxx::nontransaction tx(c);
  EXPECT_EQ(tx.exec_params("SELECT count(*) FROM events WHERE tenant_id = $1 AND file_path = $2",
                           t1.ToString(), "/etc/hosts\tor\\this")[0][0]
                .as<long>(),
            4);
}

// A row PostgreSQL refuses, though no check before caught it: the batch is
// halved until that row stands alone; it is handed back for the dead letters
// and every other row is written.
TEST(PgEventWriterSalvageTest, ARefusedRowIsSetAsideAndTheRestWritten) {
  auto pool = pg::Pool::Create({.dsn = InfraEnv::Get().Require("PORTCULLIS_PG_INDEXER_DSN")});
  ASSERT_TRUE(pool.ok()) << pool.status();
  indexer::PgEventWriter writer(**pool);
  const Uuid tenant = Uuid::Random();
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  indexer::RowBatch good;
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(indexer::AppendRow(Stamped(tenant.Binary(), now), good).ok());
  // Row 5's pid becomes text no integer column takes.
  std::vector<std::string> lines;
  std::istringstream in(good.copy_text);
  for (std::string l; std::getline(in, l);)
    lines.push_back(l);
  std::size_t at = 0;
  for (int tab = 0; tab < 7; ++tab)
    at = lines[4].find('\t', at) + 1;
  lines[4].replace(at, lines[4].find('\t', at) - at, "not-a-pid");
  std::string text;
  for (const auto& l : lines)
    text += l + "\n";
  indexer::RowBatch batch = indexer::BatchOfLines(text);
  EXPECT_EQ(batch.rows, 7u);
  EXPECT_FALSE(writer.Write(batch).ok()) << "all or nothing";
  std::vector<indexer::PgEventWriter::Refused> refused;
  auto w = writer.WriteSalvaging(batch, &refused);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->inserted, 6u);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].line.find("not-a-pid"), std::string::npos);
  EXPECT_NE(refused[0].reason.find("SQLSTATE 22"), std::string::npos) << refused[0].reason;
  EXPECT_EQ(CountTenant(tenant), 6);
}

INSTANTIATE_TEST_SUITE_P(BothRoles, PgEventWriterTest,
                         ::testing::Values("PORTCULLIS_PG_INDEXER_DSN", "PORTCULLIS_PG_DSN"));

// The indexer's role writes and reads nothing: not even its own rows.
TEST(IndexerRoleTest, MayInsertEventsAndReadNothing) {
  pqxx::connection c(InfraEnv::Get().Require("PORTCULLIS_PG_INDEXER_DSN"));
  for (const char* q : {"SELECT count(*) FROM events", "SELECT count(*) FROM tenants",
                        "SELECT count(*) FROM api_keys", "DELETE FROM events",
                        "UPDATE events SET action = 'allow'"}) {
    pqxx::work tx(c);
    try {
      tx.exec(q);
      ADD_FAILURE() << q << " was allowed";
    } catch (const pqxx::insufficient_privilege&) {
      // as it should (libpqxx 6.4 leaves sqlstate() empty for this one)
    } catch (const pqxx::sql_error& e) {
      ADD_FAILURE() << q << ": " << e.what();
    }
  }
}

}  // namespace
}  // namespace portcullis
