#include "portcullis/http/params.h"

#include <algorithm>
#include <cstdlib>

namespace portcullis::http {

QueryParams::QueryParams(const Request& r, std::vector<std::string> allowed) : r_(r) {
  for (const auto& [k, v] : r.query) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      problems_.emplace_back(k, "unknown query parameter");
    }
  }
}

std::string QueryParams::Get(const std::string& key, std::size_t max_len) {
  auto it = r_.query.find(key);
  if (it == r_.query.end()) return {};
  if (it->second.size() > max_len) {
    problems_.emplace_back(key, "is too long");
    return {};
  }
  return it->second;
}

std::optional<std::int64_t> QueryParams::OptInt(const std::string& key, std::int64_t min,
                                                std::int64_t max) {
  std::string v = Get(key, 20);
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (*end != '\0' || errno != 0 || n < min || n > max) {
    problems_.emplace_back(
        key, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::int64_t QueryParams::Int(const std::string& key, std::int64_t dflt, std::int64_t min,
                              std::int64_t max) {
  return OptInt(key, min, max).value_or(dflt);
}

void QueryParams::Problem(std::string key, std::string message) {
  problems_.emplace_back(std::move(key), std::move(message));
}

StatusOr<Uuid> PathUuid(const Request& r, const std::string& name) {
  auto u = Uuid::Parse(r.path_params.at(name));
  if (!u.ok()) return InvalidArgumentError(name + " is not a UUID");
  return *u;
}

Response NoContent() {
  Response r;
  r.status = 204;
  r.content_type = "application/json";
  return r;
}

}  // namespace portcullis::http
