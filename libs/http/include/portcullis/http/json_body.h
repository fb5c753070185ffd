// Strict decoding of JSON request bodies: the body must be a JSON object of
// the expected fields only, each of the expected type and size. Every problem
// is collected with its JSON pointer, so one 400 tells the client all of them.
//
//   JsonBody body(request);
//   std::string name = body.String("name", {.required = true, .max_len = 200});
//   std::optional<int64_t> uses = body.Int("max_uses", {.min = 1, .max = 1000000});
//   if (!body.ok()) return body.ErrorResponse();   // 400 with every problem
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portcullis/http/server.h"

namespace portcullis::http {

struct StringRule {
  bool required = false;
  std::size_t max_len = 256;
  bool allow_empty = false;
};

struct IntRule {
  bool required = false;
  std::int64_t min = 0;
  std::int64_t max = INT64_MAX;
};

struct MapRule {
  std::size_t max_entries = 64;
  std::size_t max_key_len = 63;
  std::size_t max_value_len = 256;
};

class JsonBody {
 public:
  // Checks the content type (application/json) and parses. An empty body is
  // an empty object when `empty_ok`.
  explicit JsonBody(const Request& request, bool empty_ok = false);

  std::string String(const std::string& key, const StringRule& rule);
  std::optional<std::int64_t> Int(const std::string& key, const IntRule& rule);
  std::map<std::string, std::string> StringMap(const std::string& key, const MapRule& rule);
  // A string that must be one of `allowed`.
  std::string Enum(const std::string& key, const std::vector<std::string>& allowed, bool required);

  // A field of any JSON type, as is, for values validated elsewhere (a
  // policy document); null when absent.
  const nlohmann::json* Raw(const std::string& key, bool required);
  // A nested object, decoded field by field like the body itself; its
  // problems (unknown fields included) are located under "/key" and reported
  // with this body's once passed to Absorb. Absent and not required: an
  // empty object.
  JsonBody Child(const std::string& key, bool required);
  void Absorb(JsonBody& child);

  // Records a cross-field problem.
  void AddProblem(std::string location, std::string message);

  // Whether no problem was found, including unknown fields (checked here).
  bool ok();
  // 400 (or 415 for a wrong content type) listing every problem.
  Response ErrorResponse();

 private:
  JsonBody() = default;
  const nlohmann::json* Field(const std::string& key, bool required, const char* type_name);

  nlohmann::json doc_;
  bool parsed_ = false;
  bool unsupported_type_ = false;
  std::string prefix_;  // a child's location in its parent
  std::set<std::string> known_;
  std::vector<std::pair<std::string, std::string>> problems_;
};

}  // namespace portcullis::http
