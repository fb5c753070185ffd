// portcullis-query: QQL search and SIEM export over the events.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  return service::Main({.name = "query", .default_listen = "127.0.0.1:8446"}, argc, argv,
                       [](service::Context& ctx) -> Status {
                         ctx.Postgres();
                         return OkStatus();
                       });
}
