#include "portcullis/auth/credential.h"

#include <gtest/gtest.h>

namespace portcullis::auth {
namespace {

std::string DigestString(const Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

TEST(CredentialTest, IssuedTokensParseBackToTheirParts) {
  TenantId tenant = TenantId::Generate();
  for (auto kind :
       {CredentialKind::kApiKey, CredentialKind::kEnrollmentToken, CredentialKind::kAgent}) {
    IssuedCredential c = IssueCredential(kind, tenant);
    EXPECT_EQ(c.token.substr(0, 3), CredentialPrefix(kind));
    auto p = ParseCredential(c.token);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->kind, kind);
    EXPECT_EQ(p->tenant, tenant);
    EXPECT_EQ(p->id, c.id);
    EXPECT_TRUE(SecretMatches(*p, DigestString(c.secret_sha256)));
  }
}

TEST(CredentialTest, WrongSecretDoesNotMatch) {
  TenantId tenant = TenantId::Generate();
  IssuedCredential a = IssueCredential(CredentialKind::kApiKey, tenant);
  IssuedCredential b = IssueCredential(CredentialKind::kApiKey, tenant, a.id);
  EXPECT_EQ(a.id, b.id);
  EXPECT_NE(a.token, b.token);
  auto p = ParseCredential(b.token);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(SecretMatches(*p, DigestString(a.secret_sha256)));
  EXPECT_FALSE(SecretMatches(*p, "short"));
}

TEST(CredentialTest, MalformedTokensAreUnauthenticated) {
  std::string good = IssueCredential(CredentialKind::kAgent, TenantId::Generate()).token;
  std::vector<std::string> bad = {"",  "pca", good.substr(1), good + "0", "xyz" + good.substr(3),
                                  good};
  bad.back()[40] = 'G';  // upper-case / non-hex
  std::string nil_tenant = good;
  nil_tenant.replace(4, 32, std::string(32, '0'));
  bad.push_back(nil_tenant);
  for (const auto& t : bad) {
    auto p = ParseCredential(t);
    ASSERT_FALSE(p.ok()) << t;
    EXPECT_EQ(p.status().code(), StatusCode::kUnauthenticated);
    EXPECT_EQ(p.status().message().find(t.empty() ? "\x01" : t.substr(0, 8)), std::string::npos)
        << "the token must not be echoed";
  }
}

TEST(CredentialTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_EQ(Hex(Sha256("abc").data(), 32),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace portcullis::auth
