// portcullis-instrumenter: adds the agent layer to OCI images and rewrites
// their entrypoint. Wiring only.
#include <unistd.h>

#include <filesystem>

#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  return service::Main(
      {.name = "instrumenter", .default_listen = "127.0.0.1:8448"}, argc, argv,
      [](service::Context& ctx) -> Status {
        std::string workdir = ctx.config().String("PORTCULLIS_INSTRUMENTER_WORKDIR",
                                                  "/var/lib/portcullis/instrumenter");
        // Ready when the work directory (where image layouts are unpacked) is
        // writable: that is the only thing this service depends on.
        ctx.AddReadinessCheck("workdir", [workdir] {
          std::error_code ec;
          std::filesystem::create_directories(workdir, ec);
          if (ec || access(workdir.c_str(), W_OK) != 0) {
            return UnavailableError("work directory '" + workdir + "' is not writable");
          }
          return OkStatus();
        });
        return OkStatus();
      });
}
