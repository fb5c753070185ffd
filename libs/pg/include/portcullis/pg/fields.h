// Reading typed values out of result fields, the same way in every store.
//
//   Uuid id = pg::UuidOf(row[0]);
//   std::optional<std::string> revoked_at = pg::OptText(row[3]);
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>

#include "portcullis/common/ids.h"

namespace portcullis::pg {

inline std::optional<std::string> OptText(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

// A uuid column; PostgreSQL never returns a malformed one.
inline Uuid UuidOf(const pqxx::field& f) {
  auto u = Uuid::Parse(f.as<std::string>());
  if (!u.ok()) Fatal("PostgreSQL returned a malformed uuid");
  return *u;
}

// A jsonb object of strings (labels), read as text ("labels::text"); other
// values are skipped.
inline std::map<std::string, std::string> StringMapOf(const pqxx::field& f) {
  std::map<std::string, std::string> out;
  if (f.is_null()) return out;
  auto j = nlohmann::json::parse(f.as<std::string>(), nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it->is_string()) out[it.key()] = it->get<std::string>();
  }
  return out;
}

// A bytea column's bytes.
inline std::string BytesOf(const pqxx::field& f) {
  return pqxx::binarystring(f).str();
}

}  // namespace portcullis::pg
