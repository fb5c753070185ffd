// portcullis-policy: policy authoring, versions, assignment and distribution
// of rule tables to agents (with long-polls).
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "domain/distributor.h"
#include "handlers/handlers.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/service/service.h"
#include "storage/pg_change_listener.h"
#include "storage/pg_policy_store.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  using namespace std::chrono_literals;
  // Owned here, used by the handlers until the process exits.
  std::unique_ptr<policy_service::PgPolicyStore> store;
  std::unique_ptr<policy_service::Distributor> distributor;
  std::unique_ptr<policy_service::PgChangeListener> listener;
  // Long-polls are answered within the header timeout (see http::Responder):
  // 45 s by default, so a wait of up to 30 s fits with room to spare.
  return service::Main(
      {.name = "policy", .default_listen = "127.0.0.1:8444", .default_header_timeout = 45s}, argc,
      argv, [&](service::Context& ctx) -> Status {
        pg::Pool* pool = ctx.Postgres();
        ConfigReader& cfg = ctx.config();
        const std::string dsn = cfg.String("PORTCULLIS_PG_DSN", "");
        auth::AuthenticatorOptions auth_options;
        auth_options.failures = auth::FailureLimitFromConfig(cfg);
        std::chrono::seconds max_wait(cfg.Int("PORTCULLIS_POLICY_MAX_WAIT_S", 30, 1, 300));
        const auto header_timeout = ctx.server().options().header_timeout;
        if (max_wait + 5s > header_timeout) {
          cfg.AddError("PORTCULLIS_POLICY_MAX_WAIT_S",
                       "must be at least 5 s below PORTCULLIS_HTTP_HEADER_TIMEOUT_MS (" +
                           std::to_string(header_timeout.count()) +
                           " ms): a long-poll must be answered within the header timeout");
        }
        const auto max_waits_per_agent =
            static_cast<std::size_t>(cfg.Int("PORTCULLIS_POLICY_MAX_WAITS_PER_AGENT", 2, 1, 64));
        const auto max_waiting =
            static_cast<std::size_t>(cfg.Int("PORTCULLIS_POLICY_MAX_WAITING", 100000, 1, 10000000));
        if (pool == nullptr) return OkStatus();  // configuration errors are reported by Main
        store = std::make_unique<policy_service::PgPolicyStore>(*pool);
        distributor = std::make_unique<policy_service::Distributor>(
            *store, policy_service::Distributor::Options{.max_wait = max_wait,
                                                         .max_waits_per_agent = max_waits_per_agent,
                                                         .max_waiting = max_waiting});
        listener = std::make_unique<policy_service::PgChangeListener>(
            dsn, policy_service::PgChangeListener::Callbacks{
                     .changed = [d = distributor.get()](const TenantId& t) { d->TenantChanged(t); },
                     .gap = [d = distributor.get()] { d->EverythingChanged(); }});
        ctx.AddReadinessCheck("policy-change-listener", [l = listener.get()] {
          return l->listening() ? OkStatus() : UnavailableError("not listening for policy changes");
        });
        ctx.server().OnDraining([d = distributor.get()] { d->ReleaseAll(); });
        // Reverse order: the listener stops before the distributor goes away.
        ctx.OnShutdown([&] { distributor.reset(); });
        ctx.OnShutdown([&] { listener.reset(); });
        auto authenticator =
            std::make_shared<auth::PgAuthenticator>(*pool, auth_options, SystemClock::Get());
        ctx.server().SetAuthenticator(authenticator);
        policy_service::RegisterRoutes(ctx.server(), *store, *distributor);
        return OkStatus();
      });
}
