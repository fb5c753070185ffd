// What ingest accepts: an agent's event batch, checked whole (every problem
// with its location, or nothing accepted), stamped with the tenant and agent
// of the credential that sent it, and produced as Kafka records keyed by agent
// (one agent's events stay in order on one partition), each record a
// portcullis.v1.EventBatch of up to kMaxRecordBytes. A record per event cost
// the broker, ingest and the indexer about 10 us of CPU per event in
// per-record work; a batch shares it.
//
//   StatusOr<Accepted> a = AcceptBatch(batch, tenant, agent, now, limits);
//   if (!a.ok()) ...           // InvalidArgument; problems() has the list
//   producer.Produce("portcullis.events", a->records ...);
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"
#include "portcullis/kafka/kafka.h"
#include "portcullis/v1/event.pb.h"

namespace portcullis::ingest {

struct BatchLimits {
  std::size_t max_events = 5000;
  std::chrono::seconds max_future{300};  // clock skew tolerated
  std::chrono::hours max_age{24 * 7};    // older events are refused
  std::size_t max_path = 4096;
  std::size_t max_string = 512;  // image, hostname, container, rule id, syscall...
  std::size_t max_argv = 64;     // entries, each at most max_path bytes
  std::size_t max_labels = 64;
  std::size_t max_args = 6;
};

// Below the broker's default message.max.bytes (1 MiB) with room to spare;
// a single event is at most about 300 KiB (argv of 64 paths).
inline constexpr std::size_t kMaxRecordBytes = 512 * 1024;

struct Accepted {
  std::vector<kafka::Record> records;  // EventBatch values, key = agent id
  std::size_t events = 0;
};

// Every problem in the batch, located like "/events/3/process/executable".
// Empty when the batch is acceptable.
using Problems = std::vector<std::pair<std::string, std::string>>;

// Checks every event, stamps tenant and agent (an event that names another
// tenant or agent is a problem: the payload never chooses them), and
// serializes the events into as few records as kMaxRecordBytes allows. `problems` gets every
// problem; the batch is accepted only when there is none.
StatusOr<Accepted> AcceptBatch(v1::EventBatch& batch, const TenantId& tenant, const AgentId& agent,
                               std::chrono::system_clock::time_point now, const BatchLimits& limits,
                               Problems* problems);

}  // namespace portcullis::ingest
