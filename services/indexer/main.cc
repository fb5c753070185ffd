// portcullis-indexer: consumes event records from Kafka (a consumer group:
// any number of instances share the partitions) and writes them to
// PostgreSQL, committing offsets only after the database commit.
// Wiring only: configuration, dependencies; the loop lives in domain/,
// the database writer in storage/.
#include "domain/indexer.h"
#include "portcullis/common/log.h"
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  std::unique_ptr<indexer::PgEventWriter> writer;
  std::unique_ptr<indexer::Indexer> loop;
  std::unique_ptr<indexer::Upkeep> upkeep;
  return service::Main(
      {.name = "indexer", .default_listen = "127.0.0.1:8447"}, argc, argv,
      [&](service::Context& ctx) -> Status {
        ConfigReader& cfg = ctx.config();
        const std::string topic = cfg.String("PORTCULLIS_EVENTS_TOPIC", "portcullis.events");
        indexer::IndexerOptions options;
        options.dead_letter_topic =
            cfg.String("PORTCULLIS_EVENTS_DEAD_LETTER_TOPIC", topic + ".dead");
        options.max_batch =
            static_cast<std::size_t>(cfg.Int("PORTCULLIS_INDEXER_MAX_BATCH", 5000, 1, 100000));
        options.writers = static_cast<int>(cfg.Int("PORTCULLIS_INDEXER_WRITERS", 2, 1, 16));
        const std::string group = cfg.String("PORTCULLIS_INDEXER_GROUP", "portcullis-indexer");
        const std::string brokers = cfg.String("PORTCULLIS_KAFKA_BROKERS", "");
        pg::Pool* pool = ctx.Postgres();
        kafka::Producer* producer = ctx.KafkaProducer();                // dead letters
        if (pool == nullptr || producer == nullptr) return OkStatus();  // reported by Main
        // Fetches wait for 256 KiB or 100 ms, whichever comes first: a
        // consumer that keeps up would otherwise send a fetch per handful of
        // records, and the broker's CPU goes to answering them.
        auto consumer = kafka::Consumer::Create(
            {.brokers = brokers,
             .group_id = group,
             .topics = {topic},
             .extra = {{"fetch.min.bytes", "262144"}, {"fetch.wait.max.ms", "100"}}});
        if (!consumer.ok()) return consumer.status().WithContext("Kafka consumer");
        writer = std::make_unique<indexer::PgEventWriter>(*pool);
        loop = std::make_unique<indexer::Indexer>(std::move(*consumer), *producer, *writer,
                                                  ctx.metrics(), options);
        loop->Start();
        // Upkeep: partitions a week ahead and, when configured, retention.
        const int retention_days =
            static_cast<int>(cfg.Int("PORTCULLIS_EVENTS_RETENTION_DAYS", 0, 0, 36500));
        const std::string owner_dsn = cfg.String("PORTCULLIS_PG_OWNER_DSN", "");
        if (retention_days > 0 && owner_dsn.empty()) {
          cfg.AddError("PORTCULLIS_PG_OWNER_DSN",
                       "is required with PORTCULLIS_EVENTS_RETENTION_DAYS: dropping partitions "
                       "needs the schema owner");
        }
        const std::chrono::seconds interval(
            cfg.Int("PORTCULLIS_INDEXER_MAINTENANCE_INTERVAL_S", 3600, 1, 86400));
        auto* dropped = &ctx.metrics()
                             .CounterFamily("portcullis_indexer_partitions_dropped_total",
                                            "Day partitions dropped by retention")
                             .Add({});
        upkeep = std::make_unique<indexer::Upkeep>(
            interval, [w = writer.get(), retention_days, owner_dsn, dropped] {
              if (Status s = w->EnsurePartitionsAhead(7); !s.ok()) {
                log::Warn("indexer: partitions ahead", {{"error", s.message()}});
              }
              if (retention_days == 0) return;
              auto n = indexer::PgEventWriter::DropPartitionsOlderThan(owner_dsn, retention_days);
              if (!n.ok()) {
                log::Warn("indexer: retention", {{"error", n.status().message()}});
              } else if (*n > 0) {
                dropped->Increment(*n);
                log::Info("indexer: retention dropped day partitions",
                          {{"partitions", *n}, {"older_than_days", retention_days}});
              }
            });
        ctx.OnShutdown([&] { writer.reset(); });
        ctx.OnShutdown([&] { loop.reset(); });    // stop consuming
        ctx.OnShutdown([&] { upkeep.reset(); });  // runs first
        return OkStatus();
      });
}
