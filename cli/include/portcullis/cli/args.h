// Command-line parsing for portcullisctl, independent of HTTP and rendering:
// a command is declared as data (a CommandSpec with its positional arguments
// and typed flags) and ParseCommandLine checks argv against the table, so
// every usage error is found before anything touches the network.
//
//   std::vector<const CommandSpec*> specs = ...;   // see commands.h
//   CommandLine cl;
//   Status s = ParseCommandLine({"agent", "list", "--limit", "20"}, specs, &cl);
//   if (!s.ok()) { /* usage error: s.message(), CommandUsage(*cl.command) */ }
//   std::optional<std::int64_t> limit = cl.Int("limit");  // 20, already range-checked
//
// Global options (--server, --json...) are accepted before or after the
// command words; command options only after them. A flag may be given once
// unless its spec says `repeatable`; a command may require exactly one flag
// out of a group (`one_of`), e.g. policy assign's selector, and a flag may
// need another (`needs`: export's --interval needs --follow). A command is
// two words (`agent list`) or one (`search QQL`: its verb is empty).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::cli {

enum class ArgType {
  kText,      // any non-empty string
  kUuid,      // a canonical 8-4-4-4-12 UUID (ids of keys, tokens, agents)
  kInt,       // a decimal integer within [min, max]
  kEnum,      // one of `choices`
  kKeyValue,  // KEY=VALUE (a label selector)
  kBool,      // flags only: present or absent, takes no value
  kQuery,     // any string, empty included (a QQL query: empty means every event)
  kTime,      // an RFC 3339 time: 2026-11-28T10:00:00Z, 2026-11-28T11:00:00.5+01:00
};

// A flag of a command, e.g. --limit N. `name` is without the leading dashes.
struct FlagSpec {
  std::string name;
  ArgType type = ArgType::kText;
  std::string value_name;  // shown in usage: "N", "GLOB", "K=V"
  std::string help;
  bool required = false;
  std::int64_t min = 0;              // kInt
  std::int64_t max = 0;              // kInt
  std::vector<std::string> choices;  // kEnum
  // May be given more than once (CommandLine::Values); for kKeyValue the
  // keys must differ.
  bool repeatable = false;
  // Only meaningful with this other flag of the command, so refused without
  // it (a flag that silently does nothing hides a mistake).
  std::string needs;
};

// A positional argument after the command words, e.g. NAME or ID. All are
// required.
struct PositionalSpec {
  std::string name;
  ArgType type = ArgType::kText;
};

// One command: `group verb POSITIONALS... [FLAGS]`, e.g. `key create NAME --role R`,
// or `group POSITIONALS... [FLAGS]` when `verb` is empty (`search QQL`).
struct CommandSpec {
  std::string group;
  std::string verb;  // "" for a command of one word
  std::vector<PositionalSpec> positionals;
  std::vector<FlagSpec> flags;
  std::string summary;      // one line, for the command list
  std::string description;  // a paragraph, for `<command> --help` (optional)
  // Groups of flag names of which exactly one must be given; shown in the
  // synopsis as (--a A | --b B).
  std::vector<std::vector<std::string>> one_of;
  // Whether the global --json applies (export writes its own --format).
  bool json_output = true;

  const FlagSpec* FindFlag(std::string_view name) const;
};

// Options that apply to every command.
struct GlobalOptions {
  std::optional<std::string> server;         // --server URL
  std::optional<std::string> policy_server;  // --policy-server URL
  std::optional<std::string> query_server;   // --query-server URL
  std::optional<std::string> ca_file;        // --ca FILE
  std::optional<std::string> env_file;       // --env-file FILE
  bool insecure_plaintext = false;           // --insecure-plaintext
  bool json = false;                         // --json
};

// The result of parsing argv. Filled as far as parsing got, so that a usage
// error can be reported with the usage of the command (or group) it concerns.
struct CommandLine {
  GlobalOptions globals;
  std::string group;                         // set once a known group was named
  const CommandSpec* command = nullptr;      // set once group and verb were recognized
  std::vector<std::string> args;             // positional arguments after the command words
  std::map<std::string, std::string> flags;  // command flags given; "" for booleans
  bool help = false;                         // --help or -h anywhere before "--"
  // Every value of each repeatable flag given, in order (flags holds the first).
  std::map<std::string, std::vector<std::string>> lists;

  bool Has(std::string_view flag) const;
  std::optional<std::string> Value(std::string_view flag) const;
  // The value of a kInt flag (validated by the parser); nullopt when absent.
  std::optional<std::int64_t> Int(std::string_view flag) const;
  // Every value of a flag (one at most unless it is repeatable); empty when absent.
  std::vector<std::string> Values(std::string_view flag) const;
};

// Parses `argv` (without the program name) against `specs`. Returns
// InvalidArgument with a one-line message on a usage error; `out` then holds
// what was recognized. With --help the parse succeeds whatever else is wrong,
// so that help can be shown for the command named.
Status ParseCommandLine(const std::vector<std::string>& argv,
                        const std::vector<const CommandSpec*>& specs, CommandLine* out);

// Checks one value against a type (used by the parser, exposed for tests).
// `what` names the value in the message, e.g. "--limit" or "ID".
Status ValidateValue(const FlagSpec& spec, std::string_view value, std::string_view what);

// Splits a validated KEY=VALUE at its first '='.
std::pair<std::string, std::string> SplitKeyValue(std::string_view text);

// Usage texts, ending with a newline.
std::string ProgramUsage(const std::vector<const CommandSpec*>& specs);
std::string GroupUsage(const std::vector<const CommandSpec*>& specs, std::string_view group);
std::string CommandUsage(const CommandSpec& spec);
// The synopsis line and a pointer to --help, for usage errors.
std::string ShortUsage(const CommandSpec& spec);
// "key create NAME --role ROLE"
std::string CommandSynopsis(const CommandSpec& spec);
// "key create NAME" (without the flags)
std::string CommandWords(const CommandSpec& spec);
// "key create", "search": what is typed before the arguments.
std::string CommandName(const CommandSpec& spec);

// Whether `text` is an RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS, an optional
// fraction of 1 to 9 digits, then Z or +HH:MM/-HH:MM ('t' and 'z' too), with
// a date that exists.
bool IsRfc3339(std::string_view text);

}  // namespace portcullis::cli
