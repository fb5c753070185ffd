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
        const std::string group = cfg.String("PORTCULLIS_INDEXER_GROUP", "portcullis-indexer");
        const std::string brokers = cfg.String("PORTCULLIS_KAFKA_BROKERS", "");
        pg::Pool* pool = ctx.Postgres();
        kafka::Producer* producer = ctx.KafkaProducer();                // dead letters
        if (pool == nullptr || producer == nullptr) return OkStatus();  // reported by Main
        auto consumer =
            kafka::Consumer::Create({.brokers = brokers, .group_id = group, .topics = {topic}});
        if (!consumer.ok()) return consumer.status().WithContext("Kafka consumer");
        writer = std::make_unique<indexer::PgEventWriter>(*pool);
        // Partitions a week ahead at start (writes also create a missing day).
        if (Status s = writer->EnsurePartitionsAhead(7); !s.ok()) {
          log::Warn("indexer: partitions not created ahead yet", {{"error", s.message()}});
        }
        loop = std::make_unique<indexer::Indexer>(std::move(*consumer), *producer, *writer,
                                                  ctx.metrics(), options);
        loop->Start();
        ctx.OnShutdown([&] { writer.reset(); });
        ctx.OnShutdown([&] { loop.reset(); });  // runs first: stop consuming
        return OkStatus();
      });
}
