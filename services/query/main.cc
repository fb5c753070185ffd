// portcullis-query: QQL search and SIEM export over the events.
// Wiring only: configuration, dependencies and routes; domain code lives in
// domain/, storage adapters in storage/, HTTP handlers in handlers/.
#include "handlers/handlers.h"
#include "portcullis/auth/authenticator.h"
#include "portcullis/service/service.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  std::unique_ptr<query::PgEventReader> reader;
  return service::Main(
      {.name = "query", .default_listen = "127.0.0.1:8446"}, argc, argv,
      [&](service::Context& ctx) -> Status {
        ConfigReader& cfg = ctx.config();
        pg::Pool* pool = ctx.Postgres();
        query::QueryOptions options;
        options.product_version = PORTCULLIS_VERSION;
        options.default_limit =
            static_cast<int>(cfg.Int("PORTCULLIS_QUERY_DEFAULT_LIMIT", 100, 1, 100000));
        options.max_limit =
            static_cast<int>(cfg.Int("PORTCULLIS_QUERY_MAX_ROWS", 10000, 1, 100000));
        options.export_default_limit =
            static_cast<int>(cfg.Int("PORTCULLIS_EXPORT_DEFAULT_LIMIT", 1000, 1, 100000));
        options.syslog_enterprise_number = static_cast<std::uint32_t>(
            cfg.Int("PORTCULLIS_SYSLOG_ENTERPRISE_NUMBER", query::kDocumentationEnterpriseNumber, 1,
                    4294967295LL));
        options.max_range =
            std::chrono::hours(24 * cfg.Int("PORTCULLIS_QUERY_MAX_RANGE_DAYS", 31, 1, 3660));
        if (options.default_limit > options.max_limit ||
            options.export_default_limit > options.max_limit) {
          cfg.AddError("PORTCULLIS_QUERY_MAX_ROWS", "is below a default limit");
        }
        auth::AuthenticatorOptions auth_options;
        auth_options.failures = auth::FailureLimitFromConfig(cfg);
        if (pool == nullptr) return OkStatus();  // configuration errors are reported by Main
        reader = std::make_unique<query::PgEventReader>(*pool);
        ctx.server().SetAuthenticator(
            std::make_shared<auth::PgAuthenticator>(*pool, auth_options, SystemClock::Get()));
        query::RegisterRoutes(ctx.server(), *reader, ctx.metrics(), SystemClock::Get(), options);
        return OkStatus();
      });
}
