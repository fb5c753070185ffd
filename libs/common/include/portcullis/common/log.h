// Structured JSON logging: one JSON object per line on stderr (or a chosen fd),
// with time, level, service, message and any fields.
//
//   log::Init({.service = "registry", .level = log::Level::kInfo});
//   log::Info("listening", {{"address", "127.0.0.1:8443"}, {"tls", true}});
//
// Thread-safe: a line is formatted outside the lock and written with a single
// write(2), so lines of concurrent threads never interleave.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace portcullis::log {

enum class Level { kDebug, kInfo, kWarn, kError };

std::optional<Level> ParseLevel(std::string_view name);
std::string_view LevelName(Level level);

struct Options {
  std::string service = "portcullis";
  Level level = Level::kInfo;
  int fd = 2;
};

// Sets the process-wide logger; safe to call again (tests).
void Init(const Options& options);
bool Enabled(Level level);

// `fields` must be a JSON object (or null); its keys are added to the line.
void Write(Level level, std::string_view message, const nlohmann::json& fields = nullptr);

inline void Debug(std::string_view m, const nlohmann::json& f = nullptr) {
  Write(Level::kDebug, m, f);
}
inline void Info(std::string_view m, const nlohmann::json& f = nullptr) {
  Write(Level::kInfo, m, f);
}
inline void Warn(std::string_view m, const nlohmann::json& f = nullptr) {
  Write(Level::kWarn, m, f);
}
inline void Error(std::string_view m, const nlohmann::json& f = nullptr) {
  Write(Level::kError, m, f);
}

// RFC 3339 UTC time with milliseconds, as written in the "ts" field.
std::string FormatTimestamp(std::chrono::system_clock::time_point t);

}  // namespace portcullis::log
