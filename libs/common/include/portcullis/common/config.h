// Configuration from a file and the environment, parsed once and validated with
// every problem reported at once.
//
// Sources, later ones winning: built-in defaults, the config file (KEY=value
// lines, '#' comments; the same format as scripts/infra.sh's env file), then
// the process environment. A service turns the raw map into its own immutable
// config struct with a ConfigReader:
//
//   StatusOr<ConfigMap> raw = ConfigMap::Load(path, environ);
//   ConfigReader r(*raw);
//   cfg.listen = r.String("PORTCULLIS_HTTP_LISTEN", "127.0.0.1:8443");
//   cfg.threads = r.Int("PORTCULLIS_HTTP_THREADS", 2, 1, 64);
//   if (Status s = r.Finish(); !s.ok()) ...  // lists every bad key
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis {

class ConfigMap {
 public:
  struct Entry {
    std::string value;
    std::string origin;  // "environment" or "FILE:LINE"
  };

  // Reads `file` (skipped when empty) then overlays the PORTCULLIS_* variables
  // of `envp` (a NULL-terminated array like environ; may be null).
  static StatusOr<ConfigMap> Load(const std::string& file, const char* const* envp);
  // Parses KEY=value text; `name` is used in error locations.
  static StatusOr<ConfigMap> ParseText(std::string_view text, std::string_view name);

  void Set(std::string key, std::string value, std::string origin);
  const Entry* Find(std::string_view key) const;
  const std::map<std::string, Entry, std::less<>>& entries() const { return entries_; }

 private:
  std::map<std::string, Entry, std::less<>> entries_;
};

// Typed, validated access to a ConfigMap. Each accessor returns the default on
// error and records the problem; Finish() reports all of them in one status.
class ConfigReader {
 public:
  explicit ConfigReader(const ConfigMap& map) : map_(map) {}

  std::string String(std::string_view key, std::string_view fallback);
  // Records an error when the key is missing or empty.
  std::string RequiredString(std::string_view key);
  std::int64_t Int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max);
  bool Bool(std::string_view key, bool fallback);
  std::chrono::milliseconds Millis(std::string_view key, std::chrono::milliseconds fallback,
                                   std::chrono::milliseconds min, std::chrono::milliseconds max);
  // One of `allowed`; error names the choices.
  std::string Enum(std::string_view key, std::string_view fallback,
                   const std::vector<std::string_view>& allowed);

  // Lets a service add a cross-field check ("TLS_CERT set but TLS_KEY missing").
  void AddError(std::string_view key, std::string_view message);

  // OK, or InvalidArgument listing every problem, one per line.
  Status Finish() const;
  // Keys of the map that no accessor asked for (likely typos), for a warning.
  std::vector<std::string> UnusedKeys() const;

 private:
  const ConfigMap::Entry* Lookup(std::string_view key);

  const ConfigMap& map_;
  std::vector<std::string> errors_;
  std::vector<std::string> used_;
};

}  // namespace portcullis
