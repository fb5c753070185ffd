#include "portcullis/agent/options.h"

#include <charconv>
#include <cstring>
#include <optional>

#include "portcullis/common/config.h"

namespace portcullis::agent {
namespace {

constexpr std::string_view kAgentPrefix = "PORTCULLIS_AGENT_";
constexpr std::uint32_t kMaxSampleAllows = 1'000'000'000;

constexpr std::string_view kUsage =
    "usage: portcullis-agent [options] -- <command> [args...]\n"
    "\n"
    "Runs <command> as its child under a seccomp filter built from the policy,\n"
    "forwards signals to it, reaps orphans and exits with its status.\n"
    "\n"
    "options (environment variable in brackets; the command line wins):\n"
    "  --policy FILE     policy document (JSON) or compiled rule table (binary\n"
    "                    protobuf) [PORTCULLIS_AGENT_POLICY]; none: no filter;\n"
    "                    SIGHUP reloads it (when the running filter can enforce it)\n"
    "  --permissive      record denies, do not enforce them [PORTCULLIS_AGENT_PERMISSIVE]\n"
    "  --events FILE     where deny and monitor events go [PORTCULLIS_AGENT_EVENTS]\n"
    "  --events-format F proto (length-delimited portcullis.v1.Event, default) or\n"
    "                    json (lines) [PORTCULLIS_AGENT_EVENTS_FORMAT]\n"
    "  --sample-allows N also record allowed calls: one intercepted call in every\n"
    "                    N is sampled and recorded if allowed (0: none, the\n"
    "                    default; 1: every allowed call) [PORTCULLIS_AGENT_SAMPLE_ALLOWS]\n"
    "  --config FILE     KEY=value file of PORTCULLIS_AGENT_* settings\n"
    "                    [PORTCULLIS_AGENT_CONFIG]; also PORTCULLIS_AGENT_EVENT_RING\n"
    "                    (ring capacity, 4096), PORTCULLIS_AGENT_CONTAINER_ID,\n"
    "                    PORTCULLIS_AGENT_IMAGE\n"
    "  --log-level L     debug, info, warn, error [PORTCULLIS_AGENT_LOG_LEVEL]\n"
    "  --help, --version\n";

LogLevel ToLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

bool IsLevel(std::string_view s) {
  return s == "debug" || s == "info" || s == "warn" || s == "error";
}

}  // namespace

std::string_view UsageText() {
  return kUsage;
}

StatusOr<Options> ParseOptions(int argc, const char* const* argv, const char* const* envp) {
  Options o;
  std::vector<std::string> errors;
  std::string config_file, policy_flag, level_flag, events_flag, format_flag;
  std::optional<std::string> sample_flag;
  bool permissive_flag = false;
  int i = 1;
  bool saw_separator = false;
  auto value_of = [&](std::string_view flag) -> std::string {
    if (i + 1 >= argc) {
      errors.push_back(std::string(flag) + ": missing value");
      return "";
    }
    return argv[++i];
  };
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") {
      saw_separator = true;
      ++i;
      break;
    }
    if (a == "--help" || a == "-h") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "--permissive") {
      permissive_flag = true;
    } else if (a == "--policy") {
      policy_flag = value_of(a);
    } else if (a == "--events") {
      events_flag = value_of(a);
    } else if (a == "--events-format") {
      format_flag = value_of(a);
      if (format_flag != "proto" && format_flag != "json") {
        errors.push_back("--events-format: expected proto or json");
      }
    } else if (a == "--sample-allows") {
      sample_flag = value_of(a);
    } else if (a == "--config") {
      config_file = value_of(a);
    } else if (a == "--log-level") {
      level_flag = value_of(a);
      if (!IsLevel(level_flag)) errors.push_back("--log-level: expected debug, info, warn, error");
    } else if (a.size() > 1 && a.front() == '-') {
      errors.push_back(std::string(a) + ": unknown option");
    } else {
      // The command without "--": accepted, like other inits.
      break;
    }
  }
  for (; i < argc; ++i)
    o.command.emplace_back(argv[i]);
  if (o.help || o.version) return o;
  if (o.command.empty()) {
    errors.push_back(saw_separator ? "no command after --" : "no command (expected -- <command>)");
  }

  if (config_file.empty() && envp != nullptr) {
    for (const char* const* e = envp; *e != nullptr; ++e) {
      constexpr std::string_view kKey = "PORTCULLIS_AGENT_CONFIG=";
      if (std::strncmp(*e, kKey.data(), kKey.size()) == 0) config_file = *e + kKey.size();
    }
  }
  StatusOr<ConfigMap> map = ConfigMap::Load(config_file, envp);
  if (!map.ok()) {
    errors.push_back(map.status().message());
  } else {
    ConfigReader r(*map);
    o.policy_file = r.String("PORTCULLIS_AGENT_POLICY", "");
    o.permissive = r.Bool("PORTCULLIS_AGENT_PERMISSIVE", false);
    o.log_level =
        ToLevel(r.Enum("PORTCULLIS_AGENT_LOG_LEVEL", "info", {"debug", "info", "warn", "error"}));
    o.events_file = r.String("PORTCULLIS_AGENT_EVENTS", "");
    o.events_json = r.Enum("PORTCULLIS_AGENT_EVENTS_FORMAT", "proto", {"proto", "json"}) == "json";
    o.event_ring = static_cast<std::size_t>(r.Int("PORTCULLIS_AGENT_EVENT_RING", 4096, 1, 1 << 20));
    o.sample_allows =
        static_cast<std::uint32_t>(r.Int("PORTCULLIS_AGENT_SAMPLE_ALLOWS", 0, 0, kMaxSampleAllows));
    o.container_id = r.String("PORTCULLIS_AGENT_CONTAINER_ID", "");
    o.image = r.String("PORTCULLIS_AGENT_IMAGE", "");
    r.String("PORTCULLIS_AGENT_CONFIG", "");
    if (Status s = r.Finish(); !s.ok()) errors.push_back(s.message());
  }
  if (!policy_flag.empty()) o.policy_file = policy_flag;
  if (permissive_flag) o.permissive = true;
  if (!level_flag.empty()) o.log_level = ToLevel(level_flag);
  if (!events_flag.empty()) o.events_file = events_flag;
  if (!format_flag.empty()) o.events_json = format_flag == "json";
  if (sample_flag) {
    const std::string& text = *sample_flag;
    std::uint32_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        n > kMaxSampleAllows) {
      errors.push_back("--sample-allows: expected a whole number from 0 (none) to " +
                       std::to_string(kMaxSampleAllows));
    } else {
      o.sample_allows = n;
    }
  }

  if (!errors.empty()) {
    std::string message;
    for (const std::string& e : errors)
      message += (message.empty() ? "" : "\n") + e;
    return InvalidArgumentError(message);
  }
  return o;
}

std::vector<std::string> WorkloadEnvironment(const char* const* envp) {
  std::vector<std::string> out;
  if (envp == nullptr) return out;
  for (const char* const* e = envp; *e != nullptr; ++e) {
    if (std::strncmp(*e, kAgentPrefix.data(), kAgentPrefix.size()) == 0) continue;
    out.emplace_back(*e);
  }
  return out;
}

}  // namespace portcullis::agent
