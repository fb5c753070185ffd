// The indexer's loop: poll a batch of event records from Kafka, write them
// to PostgreSQL in one transaction, and only then commit the offsets (so a
// crash anywhere redelivers, and the idempotent write absorbs it: nothing
// lost, nothing doubled). Records that can't be decoded or turned into rows
// go to the dead-letter topic with the reason before their offsets move.
// A database failure keeps the batch and retries it (with back-off) instead
// of moving on.
//
// Decoding overlaps writing, and several batches are written at once (one
// database connection each: a single transaction keeps PostgreSQL on one
// core): a reader thread polls and turns records into COPY text; `writers`
// writer threads each take the next batch, write it and send its dead
// letters. Offsets are committed in poll order, for the longest run of
// batches that are all written: never past an unwritten event. At most
// `writers` decoded batches wait (back-pressure: the reader stops polling).
// Two writers racing on the same event id (a redelivery) serialize on its
// index entry and the second takes the deduplicating path; a deadlock
// between them fails one batch, which is retried.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "portcullis/kafka/kafka.h"
#include "portcullis/metrics/registry.h"
#include "storage/pg_event_writer.h"

namespace portcullis::indexer {

struct IndexerOptions {
  std::string dead_letter_topic = "portcullis.events.dead";
  std::size_t max_batch = 5000;  // events per database transaction (at least one record)
  std::chrono::milliseconds poll_timeout{200};
  std::chrono::milliseconds retry_backoff{1000};
  int writers = 2;  // batches written at once
};

class Indexer {
 public:
  Indexer(std::unique_ptr<kafka::Consumer> consumer, kafka::Producer& dead_letters,
          PgEventWriter& writer, metrics::Registry& metrics, IndexerOptions options);
  ~Indexer();  // Stop()
  void Start();
  // Finishes the batches being written, leaves the group.
  void Stop();

 private:
  // A polled batch, decoded.
  struct Work {
    std::uint64_t seq = 0;                // poll order
    std::vector<kafka::Message> records;  // values dropped once decoded
    std::size_t events = 0;               // in the records
    RowBatch rows;
    std::vector<kafka::Record> dead;
    std::chrono::steady_clock::time_point polled;
  };
  void ReadLoop();
  void WriteLoop();
  // Adds the rows (and dead letters) of one record to `w`.
  void Decode(kafka::Message record, Work& w);
  // Writes one batch and sends its dead letters; false when it must be
  // retried.
  bool Handle(const Work& work);
  // Records `w` as written and commits the offsets of every batch up to the
  // first one still unwritten.
  void Written(Work& w);

  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::Producer& dead_letters_;
  PgEventWriter& writer_;
  const IndexerOptions options_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Work> pending_;  // guarded by mu_: decoded, not yet taken by a writer
  bool reader_done_ = false;  // guarded by mu_
  // Guarded by mu_: batches written whose offsets wait for earlier batches.
  std::map<std::uint64_t, std::vector<kafka::Message>> written_;
  std::uint64_t next_commit_ = 0;  // guarded by mu_: the oldest batch not committed
  std::mutex commit_mu_;           // commits in order: taken before mu_
  std::thread reader_;
  std::vector<std::thread> writer_threads_;
  prometheus::Counter* rows_written_;
  prometheus::Counter* duplicates_;
  prometheus::Counter* dead_;
  prometheus::Counter* retries_;
  prometheus::Counter* deduplicated_;
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
