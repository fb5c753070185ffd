// The authentication hook of every Portcullis service (http::Authenticator)
// backed by PostgreSQL: API keys, enrollment tokens, agent credentials and the
// deployment's operator token.
//
//   auto authn = std::make_shared<auth::PgAuthenticator>(pool, options, clock);
//   server.SetAuthenticator(authn);
//   // in a handler:
//   if (Status s = auth::RequireScope(req, auth::kScopeAdmin); !s.ok()) ...
//
// Every failure is the same 401 ("invalid or revoked credential"), whatever
// was wrong, and counts against the caller's address and, for a well-formed
// credential, that credential's id; past the limit that pair gets 429 with
// Retry-After before any database work. Thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "portcullis/auth/credential.h"
#include "portcullis/auth/rate_limiter.h"
#include "portcullis/common/clock.h"
#include "portcullis/common/config.h"
#include "portcullis/http/server.h"
#include "portcullis/pg/pool.h"

namespace portcullis::auth {

// Scopes a principal can hold.
inline constexpr const char* kScopeOperator = "operator";  // create tenants
inline constexpr const char* kScopeAdmin = "admin";        // everything in its tenant
inline constexpr const char* kScopeRead = "read";          // search, export, inventory
inline constexpr const char* kScopeRegister = "register";  // enrollment tokens
inline constexpr const char* kScopeAgent = "agent";        // policy, heartbeat, events

struct AuthenticatorOptions {
  // SHA-256 of the operator token (hex); empty disables operator access.
  std::string operator_token_sha256_hex;
  RateLimit failures{.burst = 20, .per_second = 0.5};
};

// The failure limit from PORTCULLIS_AUTH_FAILURE_BURST (20) and
// PORTCULLIS_AUTH_FAILURES_PER_MINUTE (30), as every service reads it.
RateLimit FailureLimitFromConfig(ConfigReader& cfg);

class PgAuthenticator final : public http::Authenticator {
 public:
  PgAuthenticator(pg::Pool& pool, AuthenticatorOptions options, const Clock& clock);

  StatusOr<http::Principal> Authenticate(const http::Request& request) override;

  // For a hot path that checks the secret in its own statement (the agent
  // heartbeat: one transaction instead of two). Applies the failure limit,
  // parses the bearer credential without a database lookup; the caller must
  // verify the digest and call RecordFailure when it does not match.
  StatusOr<ParsedCredential> ParseBearer(const http::Request& request);
  void RecordFailure(const http::Request& request);

 private:
  StatusOr<http::Principal> Verify(const std::string& token);
  static std::string FailureKey(const http::Request& request);

  pg::Pool& pool_;
  std::optional<Digest> operator_digest_;
  RateLimiter failures_;
};

// PermissionDenied unless the request's principal holds `scope`.
Status RequireScope(const http::Request& request, const char* scope);
// The tenant of the request's principal; PermissionDenied for principals
// without one (the operator).
StatusOr<TenantId> RequireTenant(const http::Request& request);

// Wraps a handler with a scope check and the caller's tenant: 403 without
// the scope, else h(request, tenant).
using TenantHandler = std::function<http::Response(const http::Request&, const TenantId&)>;
http::Handler WithTenant(const char* scope, TenantHandler h);

// Parses a hex SHA-256 digest (64 hex digits).
std::optional<Digest> ParseDigestHex(std::string_view hex);

}  // namespace portcullis::auth
