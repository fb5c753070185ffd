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
  lag_ = &metrics.GaugeFamily("portcullis_indexer_consumer_lag",
                              "Records on the broker not yet fetched, per assigned partition");
  batch_seconds_ = &metrics
                        .HistogramFamily("portcullis_indexer_batch_duration_seconds",
                                         "Time to write a batch and commit its offsets")
                        .Add({}, metrics::LatencyBuckets());
}

Indexer::~Indexer() {
  Stop();
}

void Indexer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Indexer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (consumer_) (void)consumer_->Close();
  consumer_.reset();
}

bool Indexer::Handle(const std::vector<kafka::Message>& batch) {
  auto start = std::chrono::steady_clock::now();
  std::vector<EventRow> rows;
  std::vector<kafka::Record> dead;
  rows.reserve(batch.size());
  for (const kafka::Message& m : batch) {
    v1::Event e;
    std::string reason;
    if (!e.ParseFromString(m.value)) {
      reason = "not a portcullis.v1.Event";
    } else if (auto row = ToRow(e); row.ok()) {
      rows.push_back(std::move(*row));
      continue;
    } else {
      reason = row.status().message();
    }
    nlohmann::json letter = {{"reason", reason},
                             {"topic", m.topic},
                             {"partition", m.partition},
                             {"offset", m.offset},
                             {"key", m.key}};
    // The original bytes follow the JSON line, so nothing is lost.
    dead.push_back({m.key, letter.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                               "\n" + m.value});
  }
  auto written = writer_.Write(rows);
  if (!written.ok()) {
    log::Warn("indexer: batch not written; retrying",
              {{"error", written.status().message()}, {"events", rows.size()}});
    return false;
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
              {{"count", dead.size()}, {"topic", options_.dead_letter_topic}});
  }
  if (Status s = consumer_->Commit(batch); !s.ok()) {
    // Redelivered later and deduplicated: only progress is lost.
    log::Warn("indexer: offset commit failed", {{"error", s.message()}});
  }
  rows_written_->Increment(static_cast<double>(written->inserted));
  duplicates_->Increment(static_cast<double>(written->duplicates));
  dead_->Increment(static_cast<double>(dead.size()));
  batch_seconds_->Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return true;
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

void Indexer::Run() {
  while (!stop_) {
    UpdateLag();
    auto batch = consumer_->Poll(options_.max_batch, options_.poll_timeout);
    if (!batch.ok()) {
      log::Warn("indexer: poll failed", {{"error", batch.status().message()}});
      std::this_thread::sleep_for(options_.retry_backoff);
      continue;
    }
    if (batch->empty()) continue;
    // The same batch until it is written: offsets never pass unwritten events.
    while (!Handle(*batch)) {
      retries_->Increment();
      for (auto waited = std::chrono::milliseconds(0); waited < options_.retry_backoff && !stop_;
           waited += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop_) return;  // uncommitted: the next owner of the partitions redoes it
    }
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
