// Credentials: API keys, enrollment tokens and agent credentials.
//
// A credential is "<kind>_<tenant>_<id>_<secret>": kind pck (API key), pce
// (enrollment token) or pca (agent credential), tenant and row id as 32 hex
// digits, secret as 64 hex digits (256 random bits). The tenant and id are in
// clear so a service can set the tenant of the transaction *before* it looks
// the row up: row-level security applies to authentication too. Only the
// SHA-256 of the secret is stored; a fast hash is right for 256-bit random
// secrets (there is nothing to brute-force), and comparison is constant-time.
//
//   IssuedCredential c = IssueCredential(CredentialKind::kApiKey, tenant);
//   store(c.id, c.secret_sha256);  show(c.token) once;
//   StatusOr<ParsedCredential> p = ParseCredential(header_token);
//   bool ok = SecretMatches(*p, stored_digest);
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"

namespace portcullis::auth {

enum class CredentialKind { kApiKey, kEnrollmentToken, kAgent };

std::string_view CredentialPrefix(CredentialKind kind);

using Digest = std::array<std::uint8_t, 32>;

struct IssuedCredential {
  std::string token;  // show once; never store or log
  Uuid id;
  Digest secret_sha256;
};

struct ParsedCredential {
  CredentialKind kind;
  TenantId tenant;
  Uuid id;
  Digest secret_sha256;  // digest of the presented secret
};

IssuedCredential IssueCredential(CredentialKind kind, const TenantId& tenant);
// Reuses `id` (re-registration of the same agent gets a fresh secret).
IssuedCredential IssueCredential(CredentialKind kind, const TenantId& tenant, const Uuid& id);

// Unauthenticated on any malformation; never echoes the token back.
StatusOr<ParsedCredential> ParseCredential(std::string_view token);

// Constant-time comparison of the presented secret with a stored digest.
bool SecretMatches(const ParsedCredential& presented, std::string_view stored_digest);

Digest Sha256(std::string_view data);
std::string Hex(const std::uint8_t* data, std::size_t size);
// Constant-time equality of two byte strings of the same length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace portcullis::auth
