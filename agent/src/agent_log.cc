#include "portcullis/agent/agent_log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>

namespace portcullis::agent::log {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_fd{2};

std::string_view LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

void AppendHex(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u00";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// Length of the valid UTF-8 sequence at s[i], 0 if invalid.
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  return n;
}

}  // namespace

void Init(LogLevel level, int fd) {
  g_level.store(static_cast<int>(level));
  g_fd.store(fd);
}

bool Enabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      AppendHex(out, c);
    } else if (c >= 0x80) {
      std::size_t n = Utf8Length(s, i);
      if (n == 0) {
        AppendHex(out, c);
      } else {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
  return out;
}

void Write(LogLevel level, std::string_view message, std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm utc{};
  gmtime_r(&ts.tv_sec, &utc);
  char when[40];
  std::size_t n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(when + n, sizeof(when) - n, ".%03ldZ", ts.tv_nsec / 1000000);
  std::string line = "{\"ts\":\"";
  line += when;
  line += "\",\"level\":\"";
  line += LevelName(level);
  line += "\",\"service\":\"agent\",\"msg\":";
  line += JsonString(message);
  for (const Field& f : fields) {
    line += ',';
    line += JsonString(f.first);
    line += ':';
    line += JsonString(f.second);
  }
  line += "}\n";
  int saved = errno;
  // One write: lines of concurrent threads never interleave. A failed write
  // to stderr has nowhere to be reported.
  ssize_t ignored = ::write(g_fd.load(), line.data(), line.size());
  (void)ignored;
  errno = saved;
}

}  // namespace portcullis::agent::log
