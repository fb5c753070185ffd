// The agent's configuration: command line, an optional KEY=value file and the
// PORTCULLIS_AGENT_* environment, parsed once into an immutable Options.
//
//   portcullis-agent [--policy FILE] [--config FILE] [--permissive]
//                    [--events FILE [--events-format proto|json]] -- cmd args...
//
//   StatusOr<Options> o = ParseOptions(argc, argv, environ);
//   if (!o.ok()) { usage(o.status()); return 2; }
//   Run(o->command, ...);
//
// Precedence, later winning: built-in defaults, the config file
// (--config or PORTCULLIS_AGENT_CONFIG), the environment, the command line.
// Every problem is reported at once. Variables named PORTCULLIS_AGENT_* are
// the agent's own and are removed from the workload's environment
// (WorkloadEnvironment), so secrets meant for the agent never reach it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::agent {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct Options {
  std::vector<std::string> command;  // the workload: program and arguments
  std::string policy_file;           // "" : no policy, nothing is filtered
  bool permissive = false;           // record denies, do not enforce them
  LogLevel log_level = LogLevel::kInfo;
  // Events (deny and monitor decisions, sampled allows): the local sink
  // file, "" for none.
  std::string events_file;
  bool events_json = false;  // JSON lines instead of length-delimited protobuf
  std::size_t event_ring = 4096;
  // Allowed calls recorded too: each intercepted call is sampled, one in
  // every `sample_allows` (0: none, 1: all), and recorded if it is allowed.
  std::uint32_t sample_allows = 0;
  std::string container_id;  // "" : the hostname
  std::string image;
  bool help = false;     // --help: print usage, run nothing
  bool version = false;  // --version
};

// `envp` is a NULL-terminated array like environ (may be null).
StatusOr<Options> ParseOptions(int argc, const char* const* argv, const char* const* envp);

std::string_view UsageText();

// The workload's environment: `envp` without the agent's own variables.
std::vector<std::string> WorkloadEnvironment(const char* const* envp);

}  // namespace portcullis::agent
