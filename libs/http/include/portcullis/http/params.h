// Path and query parameters of a request, checked with the parameter's name
// in every message, and the small responses every handler shares.
//
//   QueryParams q(request, {"limit", "cursor"});    // others: "unknown query parameter"
//   int limit = q.Int("limit", 50, 1, 500);
//   if (!q.ok()) return q.Error();                  // 400 listing every problem
//   StatusOr<Uuid> id = PathUuid(request, "id");
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "portcullis/common/ids.h"
#include "portcullis/http/server.h"

namespace portcullis::http {

class QueryParams {
 public:
  QueryParams(const Request& r, std::vector<std::string> allowed);
  // "" when absent; a problem when longer than max_len.
  std::string Get(const std::string& key, std::size_t max_len = 256);
  // `dflt` when absent; a problem when not an integer in [min, max].
  std::int64_t Int(const std::string& key, std::int64_t dflt, std::int64_t min, std::int64_t max);
  std::optional<std::int64_t> OptInt(const std::string& key, std::int64_t min, std::int64_t max);
  void Problem(std::string key, std::string message);
  bool ok() const { return problems_.empty(); }
  Response Error() const { return Response::Invalid(problems_); }

 private:
  const Request& r_;
  std::vector<std::pair<std::string, std::string>> problems_;
};

// A path parameter that must be a UUID: InvalidArgument naming it otherwise.
StatusOr<Uuid> PathUuid(const Request& r, const std::string& name);

// 204 No Content.
Response NoContent();

}  // namespace portcullis::http
