#include "portcullis/http/json_body.h"

#include <gtest/gtest.h>

namespace portcullis::http {
namespace {

Request JsonRequest(std::string body) {
  Request r;
  r.headers["content-type"] = "application/json; charset=utf-8";
  r.body = std::move(body);
  return r;
}

nlohmann::json ErrorOf(JsonBody& b) {
  return nlohmann::json::parse(b.ErrorResponse().body);
}

TEST(JsonBodyTest, DecodesTypedFields) {
  JsonBody b(JsonRequest(R"({"name":"ci","max_uses":5,"labels":{"env":"prod"},"role":"admin"})"));
  EXPECT_EQ(b.String("name", {.required = true}), "ci");
  EXPECT_EQ(b.Int("max_uses", {.min = 1, .max = 10}), 5);
  EXPECT_EQ(b.StringMap("labels", {}).at("env"), "prod");
  EXPECT_EQ(b.Enum("role", {"admin", "analyst"}, true), "admin");
  EXPECT_EQ(b.Int("absent", {}), std::nullopt);
  EXPECT_TRUE(b.ok());
}

TEST(JsonBodyTest, ReportsEveryProblemWithItsPointer) {
  JsonBody b(JsonRequest(
      R"({"name":"","max_uses":0,"labels":{"k":1},"role":"root","extra":true,"a/b":1})"));
  b.String("name", {.required = true});
  b.Int("max_uses", {.min = 1, .max = 10});
  b.StringMap("labels", {});
  b.Enum("role", {"admin", "analyst"}, true);
  b.String("missing", {.required = true});
  ASSERT_FALSE(b.ok());
  Response r = b.ErrorResponse();
  EXPECT_EQ(r.status, 400);
  auto err = nlohmann::json::parse(r.body)["error"];
  std::set<std::string> locations;
  for (auto& d : err["details"])
    locations.insert(d["location"]);
  EXPECT_EQ(locations, (std::set<std::string>{"/name", "/max_uses", "/labels/k", "/role",
                                              "/missing", "/extra", "/a~1b"}));
  EXPECT_NE(err["message"].get<std::string>().find("more problems"), std::string::npos);
}

TEST(JsonBodyTest, RejectsWrongTypesOversizeAndNonObjects) {
  JsonBody a(JsonRequest(R"({"name":5,"n":"5","big":18446744073709551615})"));
  a.String("name", {});
  a.Int("n", {});
  a.Int("big", {});
  EXPECT_FALSE(a.ok());
  EXPECT_EQ(ErrorOf(a)["error"]["details"].size(), 3u);

  JsonBody b(JsonRequest(R"([1,2])"));
  EXPECT_FALSE(b.ok());
  JsonBody c(JsonRequest(R"({"name": "x)"));
  EXPECT_FALSE(c.ok());
  EXPECT_EQ(ErrorOf(c)["error"]["location"], "body");
  JsonBody d(JsonRequest("{\"name\":\"" + std::string(300, 'x') + "\"}"));
  d.String("name", {.max_len = 200});
  EXPECT_FALSE(d.ok());
}

TEST(JsonBodyTest, RejectsNulCharacters) {
  JsonBody b(JsonRequest(R"({"name":"a\u0000b","labels":{"k":"v\u0000"}})"));
  b.String("name", {});
  b.StringMap("labels", {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(ErrorOf(b)["error"]["details"].size(), 2u);
}

TEST(JsonBodyTest, WrongContentTypeIs415) {
  Request r;
  r.headers["content-type"] = "text/plain";
  r.body = "{}";
  JsonBody b(r);
  EXPECT_FALSE(b.ok());
  EXPECT_EQ(b.ErrorResponse().status, 415);
}

TEST(JsonBodyTest, EmptyBodyCanMeanEmptyObject) {
  Request r;
  JsonBody b(r, /*empty_ok=*/true);
  EXPECT_TRUE(b.ok());
  JsonBody c(r);
  EXPECT_FALSE(c.ok());
}

}  // namespace
}  // namespace portcullis::http
