// Events to rows: every column, NULLs where the event has nothing, times in
// UTC with microseconds, and the events that can only be dead letters.
#include <gtest/gtest.h>

#include "domain/rows.h"

namespace portcullis::indexer {
namespace {

// The one row of `batch`, column by column.
struct Row {
  std::vector<std::optional<std::string>> values;
  std::optional<std::string> operator[](std::string_view name) const {
    for (std::size_t i = 0; i < kEventColumns.size() && i < values.size(); ++i) {
      if (kEventColumns[i] == name) return values[i];
    }
    ADD_FAILURE() << "no column " << name;
    return std::nullopt;
  }
};

StatusOr<Row> ToRow(const v1::Event& e) {
  RowBatch batch;
  PORTCULLIS_RETURN_IF_ERROR(AppendRow(e, batch));
  EXPECT_EQ(batch.rows, 1u);
  EXPECT_EQ(batch.copy_text.back(), '\n');
  Row r{ParseCopyLine(std::string_view(batch.copy_text).substr(0, batch.copy_text.size() - 1))};
  EXPECT_EQ(r.values.size(), kEventColumns.size());
  return r;
}

v1::Event Sample() {
  v1::Event e;
  e.set_tenant_id(Uuid::Random().Binary());
  e.set_agent_id(Uuid::Random().Binary());
  e.set_event_id(Uuid::Random().Binary());
  e.set_time_unix_nano(1'795'867'200'123'456'789);  // 2026-11-28 12:00:00.123456789 UTC
  e.set_syscall("connect");
  e.set_category(v1::CATEGORY_NETWORK);
  e.set_action(v1::ACTION_DENY);
  e.set_enforced(true);
  e.set_result(-1);
  e.mutable_network()->set_direction(v1::DIRECTION_OUTBOUND);
  e.mutable_network()->set_protocol(v1::PROTOCOL_TCP);
  e.mutable_network()->set_remote_ip(std::string("\x0a\x00\x00\x01", 4));
  e.mutable_network()->set_remote_port(443);
  e.mutable_process()->set_pid(42);
  e.mutable_process()->set_executable("/usr/bin/curl");
  e.mutable_process()->add_argv("curl");
  e.mutable_process()->add_argv("https://x");
  (*e.mutable_labels())["env"] = "prod";
  return e;
}

TEST(RowsTest, EveryColumnFromTheEvent) {
  v1::Event e = Sample();
  RowBatch batch;
  ASSERT_TRUE(AppendRow(e, batch).ok());
  EXPECT_EQ(batch.days, std::set<std::chrono::sys_days>{
                            std::chrono::sys_days(std::chrono::year(2026) / 11 / 28)});
  ASSERT_EQ(batch.tenants.size(), 1u);
  EXPECT_EQ(batch.tenants.begin()->second, 1u);
  auto r = ToRow(e);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["ts"], "2026-11-28 12:00:00.123456+00");
  EXPECT_EQ((*r)["category"], "network");
  EXPECT_EQ((*r)["action"], "deny");
  EXPECT_EQ((*r)["enforced"], "t");
  EXPECT_EQ((*r)["net_direction"], "outbound");
  EXPECT_EQ((*r)["net_protocol"], "tcp");
  EXPECT_EQ((*r)["remote_ip"], "10.0.0.1");
  EXPECT_EQ((*r)["remote_port"], "443");
  EXPECT_EQ((*r)["local_ip"], std::nullopt);
  EXPECT_EQ((*r)["cmdline"], "curl https://x");
  EXPECT_EQ((*r)["pid"], "42");
  EXPECT_EQ((*r)["file_path"], std::nullopt);
  EXPECT_EQ((*r)["policy_id"], std::nullopt);
  EXPECT_EQ((*r)["labels"], R"({"env":"prod"})");
  EXPECT_EQ((*r)["tenant_id"],
            Uuid(*reinterpret_cast<const Uuid::Bytes*>(e.tenant_id().data())).ToString());
}

TEST(RowsTest, EventsThatCanOnlyBeDeadLetters) {
  v1::Event no_tenant = Sample();
  no_tenant.clear_tenant_id();
  EXPECT_FALSE(ToRow(no_tenant).ok());
  v1::Event short_id = Sample();
  short_id.set_event_id("abc");
  EXPECT_FALSE(ToRow(short_id).ok());
  v1::Event no_time = Sample();
  no_time.set_time_unix_nano(0);
  EXPECT_FALSE(ToRow(no_time).ok());
  // PostgreSQL can't store these: a batch holding one would fail forever.
  v1::Event nul = Sample();
  nul.mutable_process()->set_executable(std::string("/bin/a\0b", 8));
  EXPECT_FALSE(ToRow(nul).ok());
  v1::Event nul_label = Sample();
  (*nul_label.mutable_labels())["k"] = std::string("v\0", 2);
  EXPECT_FALSE(ToRow(nul_label).ok());
  v1::Event big_version = Sample();
  big_version.set_policy_id(Uuid::Random().Binary());
  big_version.set_policy_version(~0ull);
  EXPECT_FALSE(ToRow(big_version).ok());
  v1::Event bad_port = Sample();
  bad_port.mutable_network()->set_remote_port(70000);
  EXPECT_FALSE(ToRow(bad_port).ok());

  // A refused event leaves the batch as it was.
  RowBatch batch;
  ASSERT_TRUE(AppendRow(Sample(), batch).ok());
  const std::string before = batch.copy_text;
  EXPECT_FALSE(AppendRow(nul, batch).ok());
  EXPECT_EQ(batch.copy_text, before);
  EXPECT_EQ(batch.rows, 1u);
}

TEST(RowsTest, CopyTextEscapesDelimitersAndBackslashes) {
  v1::Event e = Sample();
  e.mutable_process()->clear_argv();
  e.mutable_process()->add_argv("sh");
  e.mutable_process()->add_argv("-c");
  e.mutable_process()->add_argv("printf 'a\tb\\n' \\N\r\nnext");
  e.set_container_id("\\N");  // the text \N, not NULL
  auto r = ToRow(e);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)["cmdline"], "sh -c printf 'a\tb\\n' \\N\r\nnext");
  EXPECT_EQ((*r)["container_id"], "\\N");
  EXPECT_EQ((*r)["image"], std::nullopt);  // empty: NULL
}

TEST(RowsTest, RowsOfSeveralTenantsAndDays) {
  RowBatch batch;
  v1::Event a = Sample(), b = Sample(), c = Sample();
  c.set_tenant_id(a.tenant_id());
  b.set_time_unix_nano(a.time_unix_nano() - 86'400'000'000'000);  // the day before
  for (const v1::Event* e : {&a, &b, &c})
    ASSERT_TRUE(AppendRow(*e, batch).ok());
  EXPECT_EQ(batch.rows, 3u);
  EXPECT_EQ(batch.days.size(), 2u);
  ASSERT_EQ(batch.tenants.size(), 2u);
  std::size_t lines = 0;
  for (char ch : batch.copy_text)
    lines += ch == '\n';
  EXPECT_EQ(lines, 3u);
  // Read back from its lines alone (the writer's salvage halves batches).
  RowBatch again = BatchOfLines(batch.copy_text);
  EXPECT_EQ(again.rows, batch.rows);
  EXPECT_EQ(again.tenants, batch.tenants);
  EXPECT_EQ(again.days, batch.days);
  EXPECT_EQ(again.copy_text, batch.copy_text);
  batch.Clear();
  EXPECT_TRUE(batch.copy_text.empty());
  EXPECT_EQ(batch.rows, 0u);
}

}  // namespace
}  // namespace portcullis::indexer
