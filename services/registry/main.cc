// portcullis-registry: tenants, credentials and agent registration.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "domain/registry.h"
#include "handlers/handlers.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/service/service.h"
#include "storage/pg_registry_store.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  // Owned here, used by the handlers until the process exits.
  std::unique_ptr<registry::PgRegistryStore> store;
  std::unique_ptr<registry::RegistryService> service;
  return service::Main(
      {.name = "registry", .default_listen = "127.0.0.1:8443"}, argc, argv,
      [&](service::Context& ctx) -> Status {
        pg::Pool* pool = ctx.Postgres();
        ConfigReader& cfg = ctx.config();
        auth::AuthenticatorOptions auth_options;
        auth_options.operator_token_sha256_hex = cfg.String("PORTCULLIS_OPERATOR_TOKEN_SHA256", "");
        if (!auth_options.operator_token_sha256_hex.empty() &&
            !auth::ParseDigestHex(auth_options.operator_token_sha256_hex)) {
          cfg.AddError("PORTCULLIS_OPERATOR_TOKEN_SHA256", "must be 64 hex digits (a SHA-256)");
          auth_options.operator_token_sha256_hex.clear();
        }
        auth_options.failures = auth::FailureLimitFromConfig(cfg);
        registry::RegistryOptions options;
        options.heartbeat_interval =
            std::chrono::seconds(cfg.Int("PORTCULLIS_REGISTRY_HEARTBEAT_INTERVAL_S", 30, 5, 3600));
        registry::HandlerOptions handler_options;
        handler_options.registrations_per_token = {
            .burst =
                static_cast<double>(cfg.Int("PORTCULLIS_REGISTRY_REGISTER_BURST", 100, 1, 1000000)),
            .per_second = static_cast<double>(
                cfg.Int("PORTCULLIS_REGISTRY_REGISTER_PER_SECOND", 10, 1, 1000000))};
        if (pool == nullptr) return OkStatus();  // configuration errors are reported by Main
        store = std::make_unique<registry::PgRegistryStore>(*pool);
        service = std::make_unique<registry::RegistryService>(*store, options);
        auto authenticator =
            std::make_shared<auth::PgAuthenticator>(*pool, auth_options, SystemClock::Get());
        ctx.server().SetAuthenticator(authenticator);
        registry::RegisterRoutes(ctx.server(), *service, *authenticator, SystemClock::Get(),
                                 handler_options);
        return OkStatus();
      });
}
