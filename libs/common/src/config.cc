#include "portcullis/common/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "portcullis/common/strings.h"

namespace portcullis {
namespace {

constexpr std::string_view kEnvPrefix = "PORTCULLIS_";
constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool ValidKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

void ConfigMap::Set(std::string key, std::string value, std::string origin) {
  entries_[std::move(key)] = Entry{std::move(value), std::move(origin)};
}

const ConfigMap::Entry* ConfigMap::Find(std::string_view key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : &it->second;
}

StatusOr<ConfigMap> ConfigMap::ParseText(std::string_view text, std::string_view name) {
  ConfigMap map;
  std::vector<std::string> errors;
  std::size_t line_no = 0;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    std::string origin = std::string(name) + ":" + std::to_string(line_no);
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      errors.push_back(origin + ": expected KEY=value");
      continue;
    }
    std::string_view key = Trim(line.substr(0, eq));
    if (!ValidKey(key)) {
      errors.push_back(origin + ": invalid key '" + std::string(key) + "' (use A-Z, 0-9 and _)");
      continue;
    }
    map.Set(std::string(key), std::string(Trim(line.substr(eq + 1))), origin);
  }
  if (!errors.empty()) {
    std::string msg = "config file errors:";
    for (const auto& e : errors)
      msg += "\n  " + e;
    return InvalidArgumentError(std::move(msg));
  }
  return map;
}

StatusOr<ConfigMap> ConfigMap::Load(const std::string& file, const char* const* envp) {
  ConfigMap map;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return InvalidArgumentError("cannot read config file '" + file + "'");
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string text = buf.str();
    if (text.size() > kMaxConfigFileBytes) {
      return InvalidArgumentError("config file '" + file + "' is larger than 1 MiB");
    }
    StatusOr<ConfigMap> parsed = ParseText(text, file);
    if (!parsed.ok()) return parsed.status();
    map = std::move(*parsed);
  }
  for (; envp != nullptr && *envp != nullptr; ++envp) {
    std::string_view kv(*envp);
    if (kv.substr(0, kEnvPrefix.size()) != kEnvPrefix) continue;
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    map.Set(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)), "environment");
  }
  return map;
}

const ConfigMap::Entry* ConfigReader::Lookup(std::string_view key) {
  used_.emplace_back(key);
  const ConfigMap::Entry* e = map_.Find(key);
  if (e != nullptr && e->value.empty()) return nullptr;  // KEY= means "use the default"
  return e;
}

void ConfigReader::AddError(std::string_view key, std::string_view message) {
  std::string line(key);
  if (const ConfigMap::Entry* e = map_.Find(key)) line += " (from " + e->origin + ")";
  line += ": ";
  line += message;
  errors_.push_back(std::move(line));
}

std::string ConfigReader::String(std::string_view key, std::string_view fallback) {
  const ConfigMap::Entry* e = Lookup(key);
  return e ? e->value : std::string(fallback);
}

std::string ConfigReader::RequiredString(std::string_view key) {
  const ConfigMap::Entry* e = Lookup(key);
  if (e == nullptr) {
    AddError(key, "is required");
    return {};
  }
  return e->value;
}

std::int64_t ConfigReader::Int(std::string_view key, std::int64_t fallback, std::int64_t min,
                               std::int64_t max) {
  const ConfigMap::Entry* e = Lookup(key);
  if (e == nullptr) return fallback;
  std::int64_t v = 0;
  const char* first = e->value.data();
  const char* last = first + e->value.size();
  auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec != std::errc() || ptr != last || v < min || v > max) {
    AddError(key, "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
                      "], got '" + e->value + "'");
    return fallback;
  }
  return v;
}

bool ConfigReader::Bool(std::string_view key, bool fallback) {
  const ConfigMap::Entry* e = Lookup(key);
  if (e == nullptr) return fallback;
  std::string v = AsciiLower(e->value);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  AddError(key, "expected true or false, got '" + e->value + "'");
  return fallback;
}

std::chrono::milliseconds ConfigReader::Millis(std::string_view key,
                                               std::chrono::milliseconds fallback,
                                               std::chrono::milliseconds min,
                                               std::chrono::milliseconds max) {
  return std::chrono::milliseconds(Int(key, fallback.count(), min.count(), max.count()));
}

std::string ConfigReader::Enum(std::string_view key, std::string_view fallback,
                               const std::vector<std::string_view>& allowed) {
  const ConfigMap::Entry* e = Lookup(key);
  if (e == nullptr) return std::string(fallback);
  if (std::find(allowed.begin(), allowed.end(), e->value) != allowed.end()) return e->value;
  std::string choices;
  for (std::string_view a : allowed) {
    if (!choices.empty()) choices += ", ";
    choices += a;
  }
  AddError(key, "expected one of " + choices + ", got '" + e->value + "'");
  return std::string(fallback);
}

Status ConfigReader::Finish() const {
  if (errors_.empty()) return OkStatus();
  std::string msg = "invalid configuration:";
  for (const auto& e : errors_)
    msg += "\n  " + e;
  return InvalidArgumentError(std::move(msg));
}

std::vector<std::string> ConfigReader::UnusedKeys() const {
  std::vector<std::string> unused;
  for (const auto& [key, entry] : map_.entries()) {
    if (std::find(used_.begin(), used_.end(), key) == used_.end()) unused.push_back(key);
  }
  return unused;
}

}  // namespace portcullis
