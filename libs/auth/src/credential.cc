#include "portcullis/auth/credential.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>

namespace portcullis::auth {
namespace {

constexpr std::size_t kSecretBytes = 32;

bool ParseHex(std::string_view hex, std::uint8_t* out, std::size_t size) {
  if (hex.size() != size * 2) return false;
  for (std::size_t i = 0; i < size; ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      char c = hex[2 * i + static_cast<std::size_t>(k)];
      int d;
      if (c >= '0' && c <= '9') {
        d = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        d = c - 'a' + 10;
      } else {
        return false;  // lower-case only: one canonical spelling per token
      }
      v = v * 16 + d;
    }
    out[i] = static_cast<std::uint8_t>(v);
  }
  return true;
}

}  // namespace

std::string_view CredentialPrefix(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kApiKey:
      return "pck";
    case CredentialKind::kEnrollmentToken:
      return "pce";
    case CredentialKind::kAgent:
      return "pca";
  }
  Fatal("unknown CredentialKind");
}

std::string Hex(const std::uint8_t* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 0xf]);
  }
  return out;
}

Digest Sha256(std::string_view data) {
  Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != d.size()) {
    Fatal("EVP_Digest(sha256) failed");
  }
  return d;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

IssuedCredential IssueCredential(CredentialKind kind, const TenantId& tenant) {
  return IssueCredential(kind, tenant, Uuid::Random());
}

IssuedCredential IssueCredential(CredentialKind kind, const TenantId& tenant, const Uuid& id) {
  std::uint8_t secret[kSecretBytes];
  FillRandom(secret, sizeof(secret));
  std::string secret_hex = Hex(secret, sizeof(secret));
  IssuedCredential c;
  c.id = id;
  c.secret_sha256 = Sha256(secret_hex);
  c.token = std::string(CredentialPrefix(kind)) + "_" + Hex(tenant.uuid().bytes().data(), 16) +
            "_" + Hex(id.bytes().data(), 16) + "_" + secret_hex;
  return c;
}

StatusOr<ParsedCredential> ParseCredential(std::string_view token) {
  // pck_ + 32 + _ + 32 + _ + 64
  constexpr std::size_t kLen = 3 + 1 + 32 + 1 + 32 + 1 + 64;
  Status malformed = UnauthenticatedError("malformed credential");
  if (token.size() != kLen || token[3] != '_' || token[36] != '_' || token[69] != '_') {
    return malformed;
  }
  ParsedCredential p;
  std::string_view prefix = token.substr(0, 3);
  if (prefix == "pck") {
    p.kind = CredentialKind::kApiKey;
  } else if (prefix == "pce") {
    p.kind = CredentialKind::kEnrollmentToken;
  } else if (prefix == "pca") {
    p.kind = CredentialKind::kAgent;
  } else {
    return malformed;
  }
  Uuid::Bytes tenant{};
  Uuid::Bytes id{};
  std::uint8_t secret[kSecretBytes];
  if (!ParseHex(token.substr(4, 32), tenant.data(), 16) ||
      !ParseHex(token.substr(37, 32), id.data(), 16) ||
      !ParseHex(token.substr(70, 64), secret, kSecretBytes)) {
    return malformed;
  }
  p.tenant = TenantId(Uuid(tenant));
  p.id = Uuid(id);
  p.secret_sha256 = Sha256(token.substr(70, 64));
  if (p.tenant.is_nil() || p.id.is_nil()) return malformed;
  return p;
}

bool SecretMatches(const ParsedCredential& presented, std::string_view stored_digest) {
  return ConstantTimeEquals(
      std::string_view(reinterpret_cast<const char*>(presented.secret_sha256.data()), 32),
      stored_digest);
}

}  // namespace portcullis::auth
