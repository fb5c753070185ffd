#include "portcullis/testing/api.h"

#include <gtest/gtest.h>

#include <fstream>

#include "portcullis/testing/infra.h"
#include "portcullis/testing/service_process.h"

namespace portcullis::testing {

Api::Api(int port) : client_(TlsClient(port)) {}

Reply Api::Call(const std::string& method, const std::string& path, const std::string& credential,
                const std::string& body, const std::string& content_type, const Headers& extra,
                bool expect_json) {
  Headers headers = extra;
  if (!credential.empty()) headers.emplace_back("Authorization", "Bearer " + credential);
  if (!body.empty()) headers.emplace_back("Content-Type", content_type);
  auto r = client_.Send(method, path, body, headers);
  EXPECT_TRUE(r.ok()) << method << " " << path << ": " << r.status();
  if (!r.ok()) return {};
  Reply out{r->status, nullptr, r->body, r->headers};
  if (expect_json && !r->body.empty()) {
    out.body = nlohmann::json::parse(r->body, nullptr, false);
    EXPECT_FALSE(out.body.is_discarded()) << method << " " << path << ": " << r->body;
  }
  return out;
}

Reply Api::Post(const std::string& path, const std::string& cred, const nlohmann::json& body) {
  return Call("POST", path, cred, body.dump());
}

Reply Api::Put(const std::string& path, const std::string& cred, const nlohmann::json& body,
               const Headers& extra) {
  return Call("PUT", path, cred, body.dump(), "application/json", extra);
}

Reply Api::Get(const std::string& path, const std::string& cred) {
  return Call("GET", path, cred);
}

Reply Api::Delete(const std::string& path, const std::string& cred) {
  return Call("DELETE", path, cred);
}

std::string OperatorToken() {
  std::ifstream in(InfraEnv::Get().Require("PORTCULLIS_OPERATOR_TOKEN_FILE"));
  std::string t;
  std::getline(in, t);
  return t;
}

TenantKeys CreateTenant(int registry_port) {
  Api reg(registry_port);
  TenantKeys t;
  Reply r = reg.Post("/v1/tenants", OperatorToken(), {{"name", UniqueName("tenant-")}});
  EXPECT_EQ(r.status, 201) << r.raw_body;
  if (r.status != 201) return t;
  t.id = r.body["tenant"]["id"];
  t.admin = r.body["admin_key"]["secret"];
  r = reg.Post("/v1/api-keys", t.admin, {{"name", "soc"}, {"role", "analyst"}});
  EXPECT_EQ(r.status, 201) << r.raw_body;
  if (r.status == 201) t.analyst = r.body["secret"];
  return t;
}

void ExpectError(const Reply& r, int status, const std::string& code) {
  EXPECT_EQ(r.status, status) << r.raw_body;
  EXPECT_EQ(r.body["error"]["code"], code) << r.raw_body;
}

}  // namespace portcullis::testing
