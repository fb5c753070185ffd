// portcullis-indexer: consumes events from Kafka and writes them to PostgreSQL.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/.
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  return service::Main({.name = "indexer", .default_listen = "127.0.0.1:8447"}, argc, argv,
                       [](service::Context& ctx) -> Status {
                         ctx.Postgres();
                         ctx.KafkaProducer();  // readiness of the broker; dead letters later
                         return OkStatus();
                       });
}
