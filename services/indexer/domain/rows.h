// Events as rows of the events table: the one mapping from the wire format
// (portcullis.v1.Event, as ingest stamped it) to the columns COPY writes.
// Rows are formatted straight into COPY's text format, one buffer per batch:
// the indexer spends its CPU there (a row per event, tens of thousands a
// second), so no per-column strings are made.
//
//   RowBatch batch;
//   Status s = AppendRow(event, batch);   // InvalidArgument: a dead letter
//   writer.Write(batch);
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"
#include "portcullis/v1/event.pb.h"

namespace portcullis::indexer {

// The columns written, in COPY order (received_at and txid take their
// defaults).
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

// "tenant_id, event_id, ...": kEventColumns as an SQL column list.
std::string EventColumnList();

struct RowBatch {
  // COPY text format: a line per row, '\n'-terminated, columns in
  // kEventColumns order, \N for NULL.
  std::string copy_text;
  std::size_t rows = 0;
  std::set<std::chrono::sys_days> days;     // of the rows' ts (UTC): their partitions
  std::map<TenantId, std::size_t> tenants;  // rows per tenant

  void Clear();
};

// Appends `e` to `batch` as one row. InvalidArgument, with `batch` unchanged,
// when the event can't be a row (no tenant or event id, no time, a NUL in a
// string): ingest never sends such events, so they go to the dead letters.
Status AppendRow(const v1::Event& e, RowBatch& batch);

// The rows of `lines` (whole lines of a RowBatch's copy_text) as a batch of
// their own, tenants and days read back from the lines.
RowBatch BatchOfLines(std::string_view lines);

// The columns of one line of COPY text (unescaped; nullopt for \N): for tests
// and tools that check what the formatter wrote.
std::vector<std::optional<std::string>> ParseCopyLine(std::string_view line);

}  // namespace portcullis::indexer
