// Events as rows of the events table: the one mapping from the wire format
// (portcullis.v1.Event, as ingest stamped it) to the columns COPY writes.
//
//   StatusOr<EventRow> row = ToRow(event);   // InvalidArgument: a dead letter
#pragma once

#include <array>
#include <chrono>
#include <optional>
#include <string>

#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"
#include "portcullis/v1/event.pb.h"

namespace portcullis::indexer {

// The columns written, in COPY order (received_at takes its default).
inline constexpr std::array<const char*, 30> kEventColumns = {"tenant_id",
                                                              "event_id",
                                                              "ts",
                                                              "agent_id",
                                                              "container_id",
                                                              "image",
                                                              "hostname",
                                                              "pid",
                                                              "ppid",
                                                              "uid",
                                                              "gid",
                                                              "executable",
                                                              "cmdline",
                                                              "syscall",
                                                              "category",
                                                              "action",
                                                              "enforced",
                                                              "result",
                                                              "rule_id",
                                                              "policy_id",
                                                              "policy_version",
                                                              "file_path",
                                                              "file_operation",
                                                              "net_direction",
                                                              "net_protocol",
                                                              "remote_ip",
                                                              "remote_port",
                                                              "local_ip",
                                                              "local_port",
                                                              "labels"};

struct EventRow {
  TenantId tenant;
  std::chrono::sys_days day;  // of ts (UTC): its partition
  std::array<std::optional<std::string>, kEventColumns.size()> values;  // nullopt: NULL
};

// InvalidArgument when the event can't be a row (no tenant or event id, no
// time): ingest never sends such events, so they go to the dead letters.
StatusOr<EventRow> ToRow(const v1::Event& e);

}  // namespace portcullis::indexer
