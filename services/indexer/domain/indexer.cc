#include "domain/indexer.h"

#include <nlohmann/json.hpp>

#include "portcullis/common/log.h"

namespace portcullis::indexer {

Indexer::Indexer(std::unique_ptr<kafka::Consumer> consumer, kafka::Producer& dead_letters,
                 PgEventWriter& writer, metrics::Registry& metrics, IndexerOptions options)
    : consumer_(std::move(consumer)),
      dead_letters_(dead_letters),
      writer_(writer),
      options_(std::move(options)) {
  auto& rows = metrics.CounterFamily("portcullis_indexer_events_total",
                                     "Events by outcome: written, duplicate (already in the "
                                     "database), dead_letter (undecodable, sent to the dead-letter "
                                     "topic)");
  rows_written_ = &rows.Add({{"outcome", "written"}});
  duplicates_ = &rows.Add({{"outcome", "duplicate"}});
  dead_ = &rows.Add({{"outcome", "dead_letter"}});
  retries_ = &metrics
                  .CounterFamily("portcullis_indexer_batch_retries_total",
                                 "Batches retried after a database or broker failure")
                  .Add({});
  deduplicated_ = &metrics
                       .CounterFamily("portcullis_indexer_batches_deduplicated_total",
                                      "Batches that held events already in the database (a "
                                      "redelivery) and were written again skipping them")
                       .Add({});
  lag_ = &metrics.GaugeFamily("portcullis_indexer_consumer_lag",
                              "Records on the broker not yet fetched, per assigned partition");
  batch_seconds_ =
      &metrics
           .HistogramFamily(
               "portcullis_indexer_batch_duration_seconds",
               "Time from polling a batch to its offsets committed (decode, write, commit)")
           .Add({}, metrics::LatencyBuckets());
}

Indexer::~Indexer() {
  Stop();
}

void Indexer::Start() {
  reader_ = std::thread([this] { ReadLoop(); });
  for (int i = 0; i < std::max(1, options_.writers); ++i)
    writer_threads_.emplace_back([this] { WriteLoop(); });
}

void Indexer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (reader_.joinable()) reader_.join();
  for (std::thread& t : writer_threads_)
    t.join();
  writer_threads_.clear();
  if (consumer_) (void)consumer_->Close();
  consumer_.reset();
}

void Indexer::Decode(kafka::Message m, Work& w) {
  auto dead_letter = [&](const std::string& reason, const std::string& bytes, int index) {
    nlohmann::json letter = {{"reason", reason},
                             {"topic", m.topic},
                             {"partition", m.partition},
                             {"offset", m.offset},
                             {"key", m.key}};
    if (index >= 0) letter["event_index"] = index;
    // The original bytes follow the JSON line, so nothing is lost.
    w.dead.push_back({m.key, letter.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                                 "\n" + bytes});
  };
  v1::EventBatch batch;
  if (!batch.ParseFromString(m.value)) {
    dead_letter("not a portcullis.v1.EventBatch", m.value, -1);
  } else {
    for (int i = 0; i < batch.events_size(); ++i) {
      if (Status s = AppendRow(batch.events(i), w.rows); !s.ok()) {
        dead_letter(s.message(), batch.events(i).SerializeAsString(), i);
      }
    }
    w.events += static_cast<std::size_t>(batch.events_size());
  }
  m.value = std::string();  // only its offset is needed from now on
  w.records.push_back(std::move(m));
}

bool Indexer::Handle(const Work& w) {
  std::vector<PgEventWriter::Refused> refused;
  auto written = writer_.WriteSalvaging(w.rows, &refused);
  if (!written.ok()) {
    log::Warn("indexer: batch not written; retrying",
              {{"error", written.status().message()}, {"events", w.rows.rows}});
    return false;
  }
  std::vector<kafka::Record> dead = w.dead;
  for (const PgEventWriter::Refused& r : refused) {
    // The row as COPY text follows the JSON line (its record's bytes are
    // gone by now; the row holds every column).
    nlohmann::json letter = {{"reason", "PostgreSQL refused the row: " + r.reason},
                             {"format", "copy-text"}};
    dead.push_back({"", letter.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                            "\n" + r.line});
  }
  if (!dead.empty()) {
    for (const kafka::DeliveryResult& d :
         dead_letters_.ProduceAndWait(options_.dead_letter_topic, dead, std::chrono::seconds(10))) {
      if (!d.status.ok()) {
        log::Warn("indexer: dead letter not acknowledged; retrying the batch",
                  {{"error", d.status.message()}});
        return false;  // the rows are in; rewriting them is a no-op
      }
    }
    log::Warn("indexer: records sent to the dead-letter topic",
              {{"count", dead.size()},
               {"refused_by_database", refused.size()},
               {"topic", options_.dead_letter_topic}});
  }
  rows_written_->Increment(static_cast<double>(written->inserted));
  duplicates_->Increment(static_cast<double>(written->duplicates));
  dead_->Increment(static_cast<double>(dead.size()));
  if (written->deduplicated) deduplicated_->Increment();
  return true;
}

void Indexer::Written(Work& w) {
  std::lock_guard<std::mutex> in_order(commit_mu_);
  std::vector<kafka::Message> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    written_[w.seq] = std::move(w.records);
    while (!written_.empty() && written_.begin()->first == next_commit_) {
      auto& records = written_.begin()->second;
      ready.insert(ready.end(), std::make_move_iterator(records.begin()),
                   std::make_move_iterator(records.end()));
      written_.erase(written_.begin());
      ++next_commit_;
    }
    cv_.notify_all();
  }
  if (!ready.empty()) {
    if (Status s = consumer_->Commit(ready); !s.ok()) {
      // Redelivered later and deduplicated: only progress is lost.
      log::Warn("indexer: offset commit failed", {{"error", s.message()}});
    }
  }
  batch_seconds_->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - w.polled).count());
}
void Indexer::UpdateLag() {
  auto lag = consumer_->Lag();
  if (!lag.ok()) return;
  for (auto& [key, gauge] : lag_gauges_)
    gauge->Set(0);  // partitions no longer assigned to this instance
  for (const kafka::PartitionLag& p : *lag) {
    auto& gauge = lag_gauges_[{p.topic, p.partition}];
    if (gauge == nullptr) {
      gauge = &lag_->Add({{"topic", p.topic}, {"partition", std::to_string(p.partition)}});
    }
    gauge->Set(static_cast<double>(p.lag));
  }
}

void Indexer::ReadLoop() {
  const std::size_t capacity = static_cast<std::size_t>(std::max(1, options_.writers));
  std::uint64_t seq = 0;
  while (!stop_) {
    UpdateLag();
    // Records (each an EventBatch from ingest) until max_batch events: the
    // first one waited for, the rest only while already fetched.
    Work w;
    Status failed = OkStatus();
    while (!stop_ && w.events < options_.max_batch) {
      auto got = consumer_->Poll(
          1, w.records.empty() ? options_.poll_timeout : std::chrono::milliseconds(0));
      if (!got.ok()) {
        failed = got.status();
        break;
      }
      if (got->empty()) break;
      if (w.records.empty()) w.polled = std::chrono::steady_clock::now();
      Decode(std::move(got->front()), w);
    }
    if (!failed.ok()) {
      log::Warn("indexer: poll failed", {{"error", failed.message()}});
      if (w.records.empty()) {
        std::this_thread::sleep_for(options_.retry_backoff);
        continue;
      }
    }
    if (w.records.empty()) continue;
    w.seq = seq++;
    std::unique_lock<std::mutex> lock(mu_);
    // Also bounded: batches written past one that keeps failing (their
    // offsets can't be committed before it is).
    cv_.wait(lock, [&] {
      return stop_ || (pending_.size() < capacity && written_.size() < 8 * capacity);
    });
    if (stop_) break;  // uncommitted: redelivered to whoever owns the partitions next
    pending_.push_back(std::move(w));
    cv_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  reader_done_ = true;
  cv_.notify_all();
}

void Indexer::WriteLoop() {
  for (;;) {
    Work w;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !pending_.empty() || reader_done_; });
      if (stop_ || pending_.empty()) return;
      w = std::move(pending_.front());
      pending_.pop_front();
      cv_.notify_all();  // the reader may decode the next batch meanwhile
    }
    // The same batch until it is written: offsets never pass unwritten events.
    while (!Handle(w)) {
      retries_->Increment();
      for (auto waited = std::chrono::milliseconds(0); waited < options_.retry_backoff && !stop_;
           waited += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop_) return;  // uncommitted: the next owner of the partitions redoes it
    }
    Written(w);
  }
}

Upkeep::Upkeep(std::chrono::seconds interval, std::function<void()> task)
    : thread_([this, interval, task = std::move(task)] {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stop_) {
          lock.unlock();
          task();
          lock.lock();
          cv_.wait_for(lock, interval, [this] { return stop_; });
        }
      }) {}

Upkeep::~Upkeep() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace portcullis::indexer
