// Events to rows: every column, NULLs where the event has nothing, times in
// UTC with microseconds, and the events that can only be dead letters.
#include <gtest/gtest.h>

#include "domain/rows.h"

namespace portcullis::indexer {
namespace {

std::optional<std::string> Column(const EventRow& r, std::string_view name) {
  for (std::size_t i = 0; i < kEventColumns.size(); ++i) {
    if (kEventColumns[i] == name) return r.values[i];
  }
  ADD_FAILURE() << "no column " << name;
  return std::nullopt;
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
  auto r = ToRow(e);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Column(*r, "ts"), "2026-11-28 12:00:00.123456+00");
  EXPECT_EQ(r->day, std::chrono::sys_days(std::chrono::year(2026) / 11 / 28));
  EXPECT_EQ(Column(*r, "category"), "network");
  EXPECT_EQ(Column(*r, "action"), "deny");
  EXPECT_EQ(Column(*r, "enforced"), "t");
  EXPECT_EQ(Column(*r, "net_direction"), "outbound");
  EXPECT_EQ(Column(*r, "net_protocol"), "tcp");
  EXPECT_EQ(Column(*r, "remote_ip"), "10.0.0.1");
  EXPECT_EQ(Column(*r, "remote_port"), "443");
  EXPECT_EQ(Column(*r, "local_ip"), std::nullopt);
  EXPECT_EQ(Column(*r, "cmdline"), "curl https://x");
  EXPECT_EQ(Column(*r, "pid"), "42");
  EXPECT_EQ(Column(*r, "file_path"), std::nullopt);
  EXPECT_EQ(Column(*r, "policy_id"), std::nullopt);
  EXPECT_EQ(Column(*r, "labels"), R"({"env":"prod"})");
  EXPECT_EQ(Column(*r, "tenant_id"),
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
}

}  // namespace
}  // namespace portcullis::indexer
