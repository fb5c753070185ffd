#include "portcullis/auth/authenticator.h"

#include <pqxx/pqxx>

#include "portcullis/common/log.h"

namespace portcullis::auth {
namespace {

std::string_view DigestView(const Digest& d) {
  return std::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

Status InvalidCredential() {
  return UnauthenticatedError("invalid or revoked credential");
}

}  // namespace

std::optional<Digest> ParseDigestHex(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  Digest d{};
  for (std::size_t i = 0; i < 32; ++i) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = nibble(hex[2 * i]);
    int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    d[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return d;
}

PgAuthenticator::PgAuthenticator(pg::Pool& pool, AuthenticatorOptions options, const Clock& clock)
    : pool_(pool), failures_(options.failures, clock) {
  if (!options.operator_token_sha256_hex.empty()) {
    operator_digest_ = ParseDigestHex(options.operator_token_sha256_hex);
    if (!operator_digest_) Fatal("PgAuthenticator: operator token digest is not 64 hex digits");
  }
}

namespace {

// The token of "Authorization: Bearer <token>", or Unauthenticated.
StatusOr<std::string> BearerToken(const http::Request& request) {
  const std::string* header = request.Header("authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header == nullptr || header->size() <= kBearer.size() ||
      header->compare(0, kBearer.size(), kBearer) != 0) {
    return UnauthenticatedError(
        "missing or malformed Authorization header (expected: Bearer <credential>)");
  }
  return header->substr(kBearer.size());
}

}  // namespace

// The failure bucket of a request: its address, and for a well-formed
// credential also the credential's id, so that bad tokens from one address
// (a NAT, a proxy) do not lock out the valid credentials behind it.
std::string PgAuthenticator::FailureKey(const http::Request& request) {
  StatusOr<std::string> token = BearerToken(request);
  if (token.ok()) {
    StatusOr<ParsedCredential> parsed = ParseCredential(*token);
    if (parsed.ok()) return request.remote_address + "|" + parsed->id.ToString();
  }
  return request.remote_address;
}

void PgAuthenticator::RecordFailure(const http::Request& request) {
  failures_.Consume(FailureKey(request));
  log::Warn("authentication failed", {{"remote", request.remote_address},
                                      {"route", request.route},
                                      {"request_id", request.request_id}});
}

StatusOr<http::Principal> PgAuthenticator::Authenticate(const http::Request& request) {
  PORTCULLIS_RETURN_IF_ERROR(failures_.Check(FailureKey(request)));
  StatusOr<std::string> token = BearerToken(request);
  if (!token.ok()) {
    RecordFailure(request);
    return token.status();
  }
  StatusOr<http::Principal> p = Verify(*token);
  if (!p.ok() && p.status().code() == StatusCode::kUnauthenticated) RecordFailure(request);
  return p;
}

StatusOr<ParsedCredential> PgAuthenticator::ParseBearer(const http::Request& request) {
  PORTCULLIS_RETURN_IF_ERROR(failures_.Check(FailureKey(request)));
  StatusOr<std::string> token = BearerToken(request);
  if (!token.ok()) {
    RecordFailure(request);
    return token.status();
  }
  StatusOr<ParsedCredential> parsed = ParseCredential(*token);
  if (!parsed.ok()) {
    RecordFailure(request);
    return InvalidCredential();
  }
  return parsed;
}

StatusOr<http::Principal> PgAuthenticator::Verify(const std::string& token) {
  if (operator_digest_ &&
      ConstantTimeEquals(DigestView(Sha256(token)), DigestView(*operator_digest_))) {
    return http::Principal{.kind = "operator",
                           .subject = "operator",
                           .tenant = std::nullopt,
                           .scopes = {kScopeOperator}};
  }
  StatusOr<ParsedCredential> parsed = ParseCredential(token);
  if (!parsed.ok()) return InvalidCredential();
  const ParsedCredential& cred = *parsed;
  http::Principal principal;
  principal.tenant = cred.tenant;
  principal.subject = cred.id.ToString();
  bool valid = false;
  Status s = pool_.RunForTenant(cred.tenant, [&](pqxx::work& tx) -> Status {
    pqxx::result r;
    switch (cred.kind) {
      case CredentialKind::kApiKey:
        r = tx.exec_params(
            "SELECT secret_sha256, role FROM api_keys WHERE id = $1 AND revoked_at IS NULL",
            cred.id.ToString());
        break;
      case CredentialKind::kEnrollmentToken:
        r = tx.exec_params(
            "SELECT secret_sha256, 'enrollment' FROM enrollment_tokens WHERE id = $1 AND "
            "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())",
            cred.id.ToString());
        break;
      case CredentialKind::kAgent:
        r = tx.exec_params(
            "SELECT secret_sha256, 'agent' FROM agents WHERE id = $1 AND revoked_at IS NULL",
            cred.id.ToString());
        break;
    }
    if (r.empty()) return OkStatus();
    pqxx::binarystring stored(r[0][0]);
    if (!SecretMatches(cred, stored.str())) return OkStatus();
    valid = true;
    std::string role = r[0][1].as<std::string>();
    if (role == "admin") {
      principal.kind = "admin_key";
      principal.scopes = {kScopeAdmin, kScopeRead};
    } else if (role == "analyst") {
      principal.kind = "analyst_key";
      principal.scopes = {kScopeRead};
    } else if (role == "enrollment") {
      principal.kind = "enrollment_token";
      principal.scopes = {kScopeRegister};
    } else {
      principal.kind = "agent";
      principal.scopes = {kScopeAgent};
    }
    if (cred.kind == CredentialKind::kApiKey) {
      // At most one write a minute per key: last-used is for humans.
      tx.exec_params(
          "UPDATE api_keys SET last_used_at = now() WHERE id = $1 AND "
          "(last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')",
          cred.id.ToString());
    }
    return OkStatus();
  });
  if (!s.ok()) return s.WithContext("authentication");
  if (!valid) return InvalidCredential();
  return principal;
}

RateLimit FailureLimitFromConfig(ConfigReader& cfg) {
  return {.burst = static_cast<double>(cfg.Int("PORTCULLIS_AUTH_FAILURE_BURST", 20, 1, 100000)),
          .per_second =
              static_cast<double>(cfg.Int("PORTCULLIS_AUTH_FAILURES_PER_MINUTE", 30, 1, 6000000)) /
              60.0};
}

Status RequireScope(const http::Request& request, const char* scope) {
  if (!request.principal) return UnauthenticatedError("no credentials");
  if (request.principal->HasScope(scope)) return OkStatus();
  return PermissionDeniedError("this endpoint requires the '" + std::string(scope) +
                               "' permission, which a " + request.principal->kind +
                               " does not have");
}

StatusOr<TenantId> RequireTenant(const http::Request& request) {
  if (!request.principal || !request.principal->tenant) {
    return PermissionDeniedError("this endpoint acts within a tenant; use a tenant credential");
  }
  return *request.principal->tenant;
}

http::Handler WithTenant(const char* scope, TenantHandler h) {
  return [scope, h = std::move(h)](const http::Request& r) {
    if (Status s = RequireScope(r, scope); !s.ok()) return http::Response::Error(s);
    StatusOr<TenantId> t = RequireTenant(r);
    if (!t.ok()) return http::Response::Error(t.status());
    return h(r, *t);
  };
}

}  // namespace portcullis::auth
