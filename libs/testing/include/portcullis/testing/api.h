// A JSON REST client for integration tests of the services, over verified
// TLS, with the replies decoded (and gtest failures for transport errors or
// bodies that are not JSON).
//
//   testing::Api api(port);
//   testing::Reply r = api.Post("/v1/tenants", testing::OperatorToken(), {{"name", "acme"}});
//   EXPECT_EQ(r.status, 201) << r.body.dump();
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "portcullis/http/client.h"

namespace portcullis::testing {

struct Reply {
  int status = 0;
  nlohmann::json body;  // null for an empty body; raw_body keeps the bytes
  std::string raw_body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

class Api {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  explicit Api(int port);

  // `body` is sent as is with `content_type`; a JSON reply is decoded (a
  // non-JSON reply is a test failure unless `expect_json` is false).
  Reply Call(const std::string& method, const std::string& path, const std::string& credential,
             const std::string& body = "", const std::string& content_type = "application/json",
             const Headers& extra = {}, bool expect_json = true);
  Reply Post(const std::string& path, const std::string& cred, const nlohmann::json& body);
  Reply Put(const std::string& path, const std::string& cred, const nlohmann::json& body,
            const Headers& extra = {});
  Reply Get(const std::string& path, const std::string& cred);
  Reply Delete(const std::string& path, const std::string& cred);

 private:
  http::Client client_;
};

// The operator token of the local infrastructure (scripts/infra.sh).
std::string OperatorToken();

// A new tenant created through the registry listening on `registry_port`,
// with its admin key and an analyst key (EXPECTs each step).
struct TenantKeys {
  std::string id, admin, analyst;
};
TenantKeys CreateTenant(int registry_port);

// EXPECTs the status and the JSON error code.
void ExpectError(const Reply& r, int status, const std::string& code);

}  // namespace portcullis::testing
