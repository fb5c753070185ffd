// Kafka for Portcullis: a producer that reports the broker's acknowledgement of
// every message, and a consumer-group consumer whose offsets move only when the
// caller commits them. Wrappers over librdkafka's C++ API; no librdkafka type
// or exception crosses this header.
//
//   auto producer = kafka::Producer::Create({.brokers = cfg.brokers});
//   std::vector<kafka::DeliveryResult> acks =
//       (*producer)->ProduceAndWait("events", batch, std::chrono::seconds(5));
//
//   auto consumer = kafka::Consumer::Create({.brokers = b, .group_id = "indexer",
//                                            .topics = {"events"}});
//   auto msgs = (*consumer)->Poll(500, std::chrono::milliseconds(200));
//   ... write them durably ...
//   (*consumer)->Commit(*msgs);   // only now may the broker forget them
//
// The producer is idempotent with acks=all: a retried send is never doubled
// and a message is acknowledged only once every in-sync replica has it.
// Producer is thread-safe; Consumer is not (one per thread, as librdkafka).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::kafka {

struct ProducerOptions {
  std::string brokers;
  std::string client_id = "portcullis";
  // After this, a message that the broker has not acknowledged fails.
  std::chrono::milliseconds delivery_timeout{30000};
  // Extra librdkafka properties (tests, tuning); validated by librdkafka.
  std::map<std::string, std::string> extra;
};

struct DeliveryResult {
  Status status;  // OK only when the broker acknowledged the message
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

using DeliveryCallback = std::function<void(const DeliveryResult&)>;

struct Record {
  std::string key;
  std::string value;
};

class Producer {
 public:
  static StatusOr<std::unique_ptr<Producer>> Create(const ProducerOptions& options);
  virtual ~Producer() = default;

  // Enqueues one message. `on_delivery` runs exactly once, on the producer's
  // poll thread, with the broker's verdict. An error return means the message
  // was not enqueued (and the callback will not run).
  virtual Status Produce(const std::string& topic, std::string_view key, std::string_view value,
                         DeliveryCallback on_delivery) = 0;
  // Produces every record and waits until each is acknowledged or failed, or
  // `timeout` passes (remaining ones then report DeadlineExceeded). Results are
  // in the order of `records`.
  virtual std::vector<DeliveryResult> ProduceAndWait(const std::string& topic,
                                                     const std::vector<Record>& records,
                                                     std::chrono::milliseconds timeout) = 0;
  // Waits for every outstanding message.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;
  // Asks a broker for cluster metadata: the readiness check.
  virtual Status Ping(std::chrono::milliseconds timeout) = 0;
  // Creates `topic` if it does not exist (replication factor 1 for local use).
  virtual Status EnsureTopic(const std::string& topic, int partitions, int replication_factor,
                             std::chrono::milliseconds timeout) = 0;
};

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;
  std::vector<std::string> topics;
  std::string client_id = "portcullis";
  std::string auto_offset_reset = "earliest";
  std::map<std::string, std::string> extra;
};

struct Message {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  std::string value;
  std::int64_t timestamp_ms = 0;
};

struct PartitionLag {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t lag = 0;  // messages on the broker this consumer has not fetched yet
};

class Consumer {
 public:
  static StatusOr<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options);
  virtual ~Consumer() = default;

  // Up to `max_messages`, waiting at most `timeout` for the first; may return
  // an empty vector. Transient broker errors are logged and retried inside
  // librdkafka; fatal ones are returned.
  virtual StatusOr<std::vector<Message>> Poll(std::size_t max_messages,
                                              std::chrono::milliseconds timeout) = 0;
  // Synchronously commits, for each partition in `processed`, the offset after
  // its highest message. Call only once they are durably handled.
  virtual Status Commit(const std::vector<Message>& processed) = 0;
  // For each assigned partition whose position is known: the high
  // watermark minus the position, from what the last fetches reported (no
  // broker round trip).
  virtual StatusOr<std::vector<PartitionLag>> Lag() = 0;
  // Leaves the group cleanly (a rebalance hands partitions to the others).
  virtual Status Close() = 0;
};

}  // namespace portcullis::kafka
