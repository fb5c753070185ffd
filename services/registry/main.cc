// portcullis-registry: tenants, credentials and agent registration.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  return service::Main({.name = "registry", .default_listen = "127.0.0.1:8443"}, argc, argv,
                       [](service::Context& ctx) -> Status {
                         ctx.Postgres();
                         return OkStatus();
                       });
}
