// portcullis-ingest: accepts agents' event batches and hands them to Kafka,
// answering 202 only once the broker has acknowledged every event.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, HTTP handlers in handlers/.
#include "handlers/handlers.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  using namespace std::chrono_literals;
  ingest::IngestOptions options;
  // A batch waits for the broker at most this long (then 503), well within
  // the header timeout its deferred response must beat.
  return service::Main(
      {.name = "ingest", .default_listen = "127.0.0.1:8445", .default_kafka_delivery_timeout = 5s},
      argc, argv, [&](service::Context& ctx) -> Status {
        ConfigReader& cfg = ctx.config();
        options.topic = cfg.String("PORTCULLIS_EVENTS_TOPIC", options.topic);
        const int partitions =
            static_cast<int>(cfg.Int("PORTCULLIS_EVENTS_PARTITIONS", 12, 1, 1000));
        options.limits.max_events = static_cast<std::size_t>(
            cfg.Int("PORTCULLIS_INGEST_MAX_EVENTS_PER_BATCH", 5000, 1, 100000));
        options.per_agent = {.burst = static_cast<double>(
                                 cfg.Int("PORTCULLIS_INGEST_AGENT_BURST", 20000, 1, 100000000)),
                             .per_second = static_cast<double>(cfg.Int(
                                 "PORTCULLIS_INGEST_AGENT_EVENTS_PER_SECOND", 2000, 1, 100000000))};
        options.per_tenant = {
            .burst = static_cast<double>(
                cfg.Int("PORTCULLIS_INGEST_TENANT_BURST", 200000, 1, 1000000000)),
            .per_second = static_cast<double>(
                cfg.Int("PORTCULLIS_INGEST_TENANT_EVENTS_PER_SECOND", 50000, 1, 1000000000))};
        auth::AuthenticatorOptions auth_options;
        auth_options.failures = auth::FailureLimitFromConfig(cfg);
        pg::Pool* pool = ctx.Postgres();  // agent credentials
        kafka::Producer* producer = ctx.KafkaProducer();
        if (pool == nullptr || producer == nullptr) return OkStatus();  // reported by Main
        // The topic is created once the broker answers (readiness retries).
        auto topic_ready = std::make_shared<std::atomic<bool>>(false);
        ctx.AddReadinessCheck(
            "events-topic", [producer, topic_ready, partitions, topic = options.topic]() -> Status {
              if (topic_ready->load()) return OkStatus();
              Status s = producer->EnsureTopic(topic, partitions, 1, 3s);
              if (s.ok()) topic_ready->store(true);
              return s;
            });
        auto authenticator =
            std::make_shared<auth::PgAuthenticator>(*pool, auth_options, SystemClock::Get());
        ctx.server().SetAuthenticator(authenticator);
        ingest::RegisterRoutes(ctx.server(), *producer, ctx.metrics(), SystemClock::Get(), options);
        // Answer every batch still waiting for the broker before the process ends.
        ctx.OnShutdown([producer] { (void)producer->Flush(10s); });
        return OkStatus();
      });
}
