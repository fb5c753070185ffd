// portcullis-policy: policy authoring, compilation and distribution to agents.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  return service::Main({.name = "policy", .default_listen = "127.0.0.1:8444"}, argc, argv,
                       [](service::Context& ctx) -> Status {
                         ctx.Postgres();
                         return OkStatus();
                       });
}
