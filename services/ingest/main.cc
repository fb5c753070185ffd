// portcullis-ingest: accepts agents' event batches and hands them to Kafka.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  return service::Main({.name = "ingest", .default_listen = "127.0.0.1:8445"}, argc, argv,
                       [](service::Context& ctx) -> Status {
                         ctx.KafkaProducer();
                         return OkStatus();
                       });
}
