// The agent's log: one JSON object per line on stderr, like libs/common's
// log.h, but without nlohmann/json: the agent is built with -fno-exceptions
// and must not instantiate that library's inline code differently from
// libs/common and libs/policy (which rely on its exceptions internally).
//
//   agent::log::Init(LogLevel::kInfo);
//   agent::log::Info("workload started", {{"pid", std::to_string(pid)}});
//
// Thread-safe: every line is formatted first and written with one write(2).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "portcullis/agent/options.h"

namespace portcullis::agent::log {

using Field = std::pair<std::string_view, std::string_view>;

void Init(LogLevel level, int fd = 2);
bool Enabled(LogLevel level);
void Write(LogLevel level, std::string_view message, std::initializer_list<Field> fields = {});

inline void Debug(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(LogLevel::kDebug, m, f);
}
inline void Info(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(LogLevel::kInfo, m, f);
}
inline void Warn(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(LogLevel::kWarn, m, f);
}
inline void Error(std::string_view m, std::initializer_list<Field> f = {}) {
  Write(LogLevel::kError, m, f);
}

// `s` as a JSON string literal (with quotes); invalid UTF-8 bytes become
// \u00XX escapes of the byte, so any path can be logged.
std::string JsonString(std::string_view s);

}  // namespace portcullis::agent::log
