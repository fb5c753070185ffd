// The indexer's loop: poll a batch of event records from Kafka, write them
// to PostgreSQL in one transaction, and only then commit the offsets (so a
// crash anywhere redelivers, and the idempotent write absorbs it: nothing
// lost, nothing doubled). Records that can't be decoded or turned into rows
// go to the dead-letter topic with the reason before their offsets move.
// A database failure keeps the batch and retries it (with back-off) instead
// of moving on.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "portcullis/kafka/kafka.h"
#include "portcullis/metrics/registry.h"
#include "storage/pg_event_writer.h"

namespace portcullis::indexer {

struct IndexerOptions {
  std::string dead_letter_topic = "portcullis.events.dead";
  std::size_t max_batch = 5000;
  std::chrono::milliseconds poll_timeout{200};
  std::chrono::milliseconds retry_backoff{1000};
};

class Indexer {
 public:
  Indexer(std::unique_ptr<kafka::Consumer> consumer, kafka::Producer& dead_letters,
          PgEventWriter& writer, metrics::Registry& metrics, IndexerOptions options);
  ~Indexer();  // Stop()
  void Start();
  // Finishes the batch in hand, leaves the group.
  void Stop();

 private:
  void Run();
  // Writes and commits one batch; false when it must be retried.
  bool Handle(const std::vector<kafka::Message>& batch);

  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::Producer& dead_letters_;
  PgEventWriter& writer_;
  const IndexerOptions options_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  prometheus::Counter* rows_written_;
  prometheus::Counter* duplicates_;
  prometheus::Counter* dead_;
  prometheus::Counter* retries_;
  prometheus::Histogram* batch_seconds_;
  prometheus::Family<prometheus::Gauge>* lag_;
  std::map<std::pair<std::string, std::int32_t>, prometheus::Gauge*> lag_gauges_;
  void UpdateLag();
};

// Runs `task` now and then every `interval` on a thread of its own, until
// destroyed (which waits for a running task to finish).
class Upkeep {
 public:
  Upkeep(std::chrono::seconds interval, std::function<void()> task);
  ~Upkeep();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace portcullis::indexer
