#include "portcullis/common/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <mutex>

namespace portcullis::log {
namespace {

struct State {
  std::mutex mu;  // guards service and fd updates, and serialises writes
  std::string service = "portcullis";
  int fd = 2;
  std::atomic<int> level{static_cast<int>(Level::kInfo)};
};

State& GetState() {
  static State* state = new State();  // never destroyed: loggable during exit
  return *state;
}

}  // namespace

std::optional<Level> ParseLevel(std::string_view name) {
  if (name == "debug") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  return std::nullopt;
}

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "unknown";
}

void Init(const Options& options) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.service = options.service;
  s.fd = options.fd;
  s.level.store(static_cast<int>(options.level));
}

bool Enabled(Level level) {
  return static_cast<int>(level) >= GetState().level.load(std::memory_order_relaxed);
}

std::string FormatTimestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

void Write(Level level, std::string_view message, const nlohmann::json& fields) {
  if (!Enabled(level)) return;
  State& s = GetState();
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = FormatTimestamp(std::chrono::system_clock::now());
  line["level"] = LevelName(level);
  {
    std::lock_guard<std::mutex> lock(s.mu);
    line["service"] = s.service;
  }
  line["msg"] = message;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (!line.contains(it.key())) line[it.key()] = it.value();
    }
  }
  // Replace invalid UTF-8 instead of throwing: log lines carry untrusted text.
  std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out.push_back('\n');
  std::lock_guard<std::mutex> lock(s.mu);
  const char* p = out.data();
  std::size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(s.fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report a logging failure
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace portcullis::log
