// Command-line parsing and usage texts for portcullisctl (see args.h).
#include "portcullis/cli/args.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <set>

#include "portcullis/common/ids.h"

namespace portcullis::cli {
namespace {

// The label limits of the registry API (services/registry/README.md).
constexpr std::size_t kMaxLabelKey = 63;
constexpr std::size_t kMaxLabelValue = 256;

struct GlobalFlag {
  std::string_view name;
  std::string_view value_name;  // empty: boolean
  std::string_view help;
};

constexpr GlobalFlag kGlobalFlags[] = {
    {"server", "URL", "registry address, https://HOST[:PORT] (default $PORTCULLIS_SERVER)"},
    {"policy-server", "URL",
     "policy service address for the policy commands (default $PORTCULLIS_POLICY_SERVER, "
     "else the --server URL)"},
    {"query-server", "URL",
     "query service address for search and export (default $PORTCULLIS_QUERY_SERVER, "
     "else the --server URL)"},
    {"ca", "FILE", "CA certificate to verify the server with (default $PORTCULLIS_TLS_CA)"},
    {"insecure-plaintext", "", "allow an http:// server URL (local development only)"},
    {"json", "", "print the server's JSON response instead of a table"},
    {"env-file", "FILE", "read PORTCULLIS_* settings from a KEY=value file (the environment wins)"},
    {"help", "", "show help (also -h); after a command: that command's help"},
};

const GlobalFlag* FindGlobal(std::string_view name) {
  for (const GlobalFlag& g : kGlobalFlags) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

std::string Quote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

bool KnownGroup(const std::vector<const CommandSpec*>& specs, std::string_view group) {
  return std::any_of(specs.begin(), specs.end(),
                     [&](const CommandSpec* s) { return s->group == group; });
}

const CommandSpec* FindCommand(const std::vector<const CommandSpec*>& specs, std::string_view group,
                               std::string_view verb) {
  for (const CommandSpec* s : specs) {
    if (s->group == group && s->verb == verb) return s;
  }
  return nullptr;
}

// Whether text[pos, pos+n) are digits; their value in *out.
bool Digits(std::string_view text, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > text.size()) return false;
  *out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    *out = *out * 10 + (text[i] - '0');
  }
  return true;
}

std::string Join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

// Rows of "  left   right", the right column aligned.
std::string TwoColumns(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::size_t width = 0;
  for (const auto& [left, right] : rows)
    width = std::max(width, left.size());
  std::string out;
  for (const auto& [left, right] : rows) {
    out += "  " + left;
    if (!right.empty()) out += std::string(width - left.size() + 3, ' ') + right;
    out += "\n";
  }
  return out;
}

// "--label K=V..." (without brackets).
std::string FlagText(const FlagSpec& f) {
  std::string s = "--" + f.name;
  if (f.type != ArgType::kBool) s += " " + f.value_name;
  if (f.repeatable) s += "...";
  return s;
}

std::string FlagSynopsis(const FlagSpec& f) {
  return f.required ? FlagText(f) : "[" + FlagText(f) + "]";
}

// The one_of group `name` belongs to, or null.
const std::vector<std::string>* OneOfGroup(const CommandSpec& spec, std::string_view name) {
  for (const std::vector<std::string>& group : spec.one_of) {
    if (std::find(group.begin(), group.end(), name) != group.end()) return &group;
  }
  return nullptr;
}

std::string DashedList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    out += (out.empty() ? "--" : ", --") + n;
  return out;
}

// Parses a whole decimal integer (optional leading '-'); false on anything else.
bool ParseInt(std::string_view text, std::int64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

const FlagSpec* CommandSpec::FindFlag(std::string_view name) const {
  for (const FlagSpec& f : flags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool CommandLine::Has(std::string_view flag) const {
  return flags.find(std::string(flag)) != flags.end();
}

std::optional<std::string> CommandLine::Value(std::string_view flag) const {
  auto it = flags.find(std::string(flag));
  if (it == flags.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> CommandLine::Values(std::string_view flag) const {
  if (auto it = lists.find(std::string(flag)); it != lists.end()) return it->second;
  if (std::optional<std::string> v = Value(flag)) return {*v};
  return {};
}

std::optional<std::int64_t> CommandLine::Int(std::string_view flag) const {
  std::optional<std::string> v = Value(flag);
  if (!v.has_value()) return std::nullopt;
  std::int64_t n = 0;
  if (!ParseInt(*v, &n))
    Fatal("CommandLine::Int on an unvalidated value of --" + std::string(flag));
  return n;
}

std::pair<std::string, std::string> SplitKeyValue(std::string_view text) {
  std::size_t eq = text.find('=');
  if (eq == std::string_view::npos) return {std::string(text), ""};
  return {std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

Status ValidateValue(const FlagSpec& spec, std::string_view value, std::string_view what) {
  std::string name(what);
  switch (spec.type) {
    case ArgType::kBool:
      if (!value.empty()) return InvalidArgumentError("option " + name + " takes no value");
      return OkStatus();
    case ArgType::kText:
      if (value.empty()) return InvalidArgumentError(name + " must not be empty");
      return OkStatus();
    case ArgType::kQuery:
      return OkStatus();
    case ArgType::kTime:
      if (!IsRfc3339(value)) {
        return InvalidArgumentError(
            name + " must be an RFC 3339 time like 2026-11-28T10:00:00Z, got " + Quote(value));
      }
      return OkStatus();
    case ArgType::kUuid:
      if (!Uuid::Parse(value).ok()) {
        return InvalidArgumentError(name + " must be an id like 0b6f2c1e-8d3a-4f51-9c2e-" +
                                    "5a7d9e4b1c03, got " + Quote(value));
      }
      return OkStatus();
    case ArgType::kInt: {
      std::int64_t n = 0;
      std::string range = std::to_string(spec.min) + ".." + std::to_string(spec.max);
      if (!ParseInt(value, &n)) {
        return InvalidArgumentError(name + " must be a whole number in " + range + ", got " +
                                    Quote(value));
      }
      if (n < spec.min || n > spec.max) {
        return InvalidArgumentError(name + " must be in " + range + ", got " + Quote(value));
      }
      return OkStatus();
    }
    case ArgType::kEnum:
      if (std::find(spec.choices.begin(), spec.choices.end(), value) == spec.choices.end()) {
        return InvalidArgumentError(name + " must be one of " + Join(spec.choices, ", ") +
                                    ", got " + Quote(value));
      }
      return OkStatus();
    case ArgType::kKeyValue: {
      std::size_t eq = value.find('=');
      if (eq == std::string_view::npos) {
        return InvalidArgumentError(name + " must be KEY=VALUE, got " + Quote(value));
      }
      if (eq == 0 || eq > kMaxLabelKey) {
        return InvalidArgumentError(name + " key must be 1.." + std::to_string(kMaxLabelKey) +
                                    " characters, got " + Quote(value));
      }
      if (value.size() - eq - 1 > kMaxLabelValue) {
        return InvalidArgumentError(name + " value must be at most " +
                                    std::to_string(kMaxLabelValue) + " characters");
      }
      return OkStatus();
    }
  }
  Fatal("unknown ArgType");
}

Status ParseCommandLine(const std::vector<std::string>& argv,
                        const std::vector<const CommandSpec*>& specs, CommandLine* out) {
  *out = CommandLine();
  // The first problem is reported; parsing goes on so that --help anywhere
  // still finds the command it is about.
  Status first_error;
  auto fail = [&](std::string message) {
    if (first_error.ok()) first_error = InvalidArgumentError(std::move(message));
  };
  std::set<std::string> seen_global;
  bool verb_seen = false;
  bool options_ended = false;

  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& token = argv[i];
    if (!options_ended && token == "--") {
      options_ended = true;
      continue;
    }
    if (!options_ended && (token == "-h" || token == "--help")) {
      out->help = true;
      continue;
    }
    if (!options_ended && token.size() > 2 && token.starts_with("--")) {
      std::string name = token.substr(2);
      std::optional<std::string> inline_value;
      if (std::size_t eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
      const GlobalFlag* global = FindGlobal(name);
      const FlagSpec* flag = out->command != nullptr ? out->command->FindFlag(name) : nullptr;
      if (global == nullptr && flag == nullptr) {
        if (out->command == nullptr) {
          bool some_command_has_it = std::any_of(
              specs.begin(), specs.end(), [&](auto* s) { return s->FindFlag(name) != nullptr; });
          fail("unknown option --" + name +
               (some_command_has_it ? " (command options go after the command)" : ""));
        } else {
          fail("unknown option --" + name + " for '" + CommandName(*out->command) + "'");
        }
        continue;
      }
      bool boolean = global != nullptr ? global->value_name.empty() : flag->type == ArgType::kBool;
      std::string value;
      if (boolean) {
        if (inline_value.has_value()) {
          fail("option --" + name + " takes no value");
          continue;
        }
      } else if (inline_value.has_value()) {
        value = *inline_value;
      } else if (i + 1 < argv.size() && !argv[i + 1].starts_with("--")) {
        value = argv[++i];
      } else {
        std::string value_name =
            global != nullptr ? std::string(global->value_name) : flag->value_name;
        fail("option --" + name + " needs a value (" + value_name + ")");
        continue;
      }
      bool duplicate = global != nullptr ? !seen_global.insert(name).second
                                         : out->flags.count(name) > 0 && !flag->repeatable;
      if (duplicate) {
        fail("option --" + name + " given more than once");
        continue;
      }
      if (global != nullptr) {
        if (!boolean && value.empty()) {
          fail("option --" + name + " must not be empty");
          continue;
        }
        if (name == "server") out->globals.server = value;
        if (name == "policy-server") out->globals.policy_server = value;
        if (name == "query-server") out->globals.query_server = value;
        if (name == "ca") out->globals.ca_file = value;
        if (name == "env-file") out->globals.env_file = value;
        if (name == "insecure-plaintext") out->globals.insecure_plaintext = true;
        if (name == "json") out->globals.json = true;
        continue;
      }
      if (Status s = ValidateValue(*flag, value, "--" + name); !s.ok()) {
        fail(s.message());
        continue;
      }
      if (flag->repeatable) {
        std::vector<std::string>& values = out->lists[name];
        if (flag->type == ArgType::kKeyValue) {
          std::string key = SplitKeyValue(value).first;
          bool repeated_key = std::any_of(values.begin(), values.end(), [&](const std::string& v) {
            return SplitKeyValue(v).first == key;
          });
          if (repeated_key) {
            fail("option --" + name + " repeats the key " + Quote(key));
            continue;
          }
        }
        values.push_back(value);
      }
      out->flags.emplace(name, value);
      continue;
    }
    if (!options_ended && token.size() > 1 && token[0] == '-') {
      fail("unknown option " + token);
      continue;
    }
    // A word: the group, then the verb, then positional arguments.
    if (out->group.empty()) {
      if (!KnownGroup(specs, token)) {
        fail("unknown command " + Quote(token));
        // Keep scanning for --help; nothing else can be recognized.
        verb_seen = true;
        continue;
      }
      out->group = token;
      // A command of one word takes its arguments right after it.
      if (const CommandSpec* single = FindCommand(specs, token, ""); single != nullptr) {
        out->command = single;
        verb_seen = true;
      }
    } else if (!verb_seen) {
      verb_seen = true;
      out->command = FindCommand(specs, out->group, token);
      if (out->command == nullptr) fail("unknown command " + Quote(out->group + " " + token));
    } else {
      out->args.push_back(token);
    }
  }

  if (out->help) return OkStatus();
  PORTCULLIS_RETURN_IF_ERROR(first_error);
  if (out->group.empty()) return InvalidArgumentError("missing command");
  if (out->command == nullptr) {
    return InvalidArgumentError("missing subcommand after " + Quote(out->group));
  }
  const CommandSpec& cmd = *out->command;
  for (std::size_t i = 0; i < cmd.positionals.size(); ++i) {
    const PositionalSpec& p = cmd.positionals[i];
    if (i >= out->args.size()) return InvalidArgumentError("missing " + p.name);
    FlagSpec as_flag{.name = p.name, .type = p.type};
    PORTCULLIS_RETURN_IF_ERROR(ValidateValue(as_flag, out->args[i], p.name));
  }
  if (out->args.size() > cmd.positionals.size()) {
    return InvalidArgumentError("unexpected argument " + Quote(out->args[cmd.positionals.size()]));
  }
  for (const FlagSpec& f : cmd.flags) {
    if (f.required && !out->Has(f.name)) {
      return InvalidArgumentError("missing required option --" + f.name + " " + f.value_name);
    }
  }
  for (const FlagSpec& f : cmd.flags) {
    if (!f.needs.empty() && out->Has(f.name) && !out->Has(f.needs)) {
      return InvalidArgumentError("option --" + f.name + " needs --" + f.needs);
    }
  }
  if (out->globals.json && !cmd.json_output) {
    return InvalidArgumentError("--json does not apply to '" + CommandName(cmd) +
                                "' (it prints what --format says)");
  }
  // --output is the command's own spelling of --json; both must agree.
  if (out->globals.json && out->Value("output") == "table") {
    return InvalidArgumentError("--json and --output table contradict each other");
  }
  for (const std::vector<std::string>& group : cmd.one_of) {
    std::vector<std::string> given;
    for (const std::string& name : group) {
      if (out->Has(name)) given.push_back(name);
    }
    if (given.empty()) return InvalidArgumentError("missing one of " + DashedList(group));
    if (given.size() > 1) {
      return InvalidArgumentError("only one of " + DashedList(group) + " may be given, got " +
                                  DashedList(given));
    }
  }
  return OkStatus();
}

std::string CommandName(const CommandSpec& spec) {
  return spec.verb.empty() ? spec.group : spec.group + " " + spec.verb;
}

bool IsRfc3339(std::string_view text) {
  int year, month, day, hour, minute, second;
  if (!Digits(text, 0, 4, &year) || text.size() < 20 || text[4] != '-' ||
      !Digits(text, 5, 2, &month) || text[7] != '-' || !Digits(text, 8, 2, &day) ||
      (text[10] != 'T' && text[10] != 't') || !Digits(text, 11, 2, &hour) || text[13] != ':' ||
      !Digits(text, 14, 2, &minute) || text[16] != ':' || !Digits(text, 17, 2, &second)) {
    return false;
  }
  std::size_t pos = 19;
  if (text[pos] == '.') {
    std::size_t digits = 0;
    while (pos + 1 + digits < text.size() && text[pos + 1 + digits] >= '0' &&
           text[pos + 1 + digits] <= '9') {
      ++digits;
    }
    if (digits == 0 || digits > 9) return false;
    pos += 1 + digits;
  }
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    pos += 1;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int offset_hours, offset_minutes;
    if (!Digits(text, pos + 1, 2, &offset_hours) || pos + 3 >= text.size() ||
        text[pos + 3] != ':' || !Digits(text, pos + 4, 2, &offset_minutes) || offset_hours > 23 ||
        offset_minutes > 59) {
      return false;
    }
    pos += 6;
  } else {
    return false;
  }
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  return pos == text.size() && date.ok() && hour <= 23 && minute <= 59 && second <= 59;
}

std::string CommandWords(const CommandSpec& spec) {
  std::string s = CommandName(spec);
  for (const PositionalSpec& p : spec.positionals)
    s += " " + p.name;
  return s;
}

std::string ShortUsage(const CommandSpec& spec) {
  return "Usage: portcullisctl " + CommandSynopsis(spec) + "\nRun 'portcullisctl " +
         CommandName(spec) + " --help' for details.\n";
}

std::string CommandSynopsis(const CommandSpec& spec) {
  std::string s = CommandName(spec);
  for (const PositionalSpec& p : spec.positionals)
    s += " " + p.name;
  for (const FlagSpec& f : spec.flags) {
    const std::vector<std::string>* group = OneOfGroup(spec, f.name);
    if (group == nullptr) {
      s += " " + FlagSynopsis(f);
    } else if (group->front() == f.name) {
      std::vector<std::string> alternatives;
      for (const std::string& name : *group) {
        const FlagSpec* member = spec.FindFlag(name);
        if (member == nullptr) Fatal("one_of names an unknown flag --" + name);
        alternatives.push_back(FlagText(*member));
      }
      s += " (" + Join(alternatives, " | ") + ")";
    }
  }
  return s;
}

std::string ProgramUsage(const std::vector<const CommandSpec*>& specs) {
  std::string out =
      "Usage: portcullisctl [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
      "\n"
      "Manage a Portcullis deployment: tenants, API keys, enrollment tokens and the\n"
      "agent inventory through the registry's REST API, policies through the policy\n"
      "service's, and search and export events through the query service's.\n"
      "\n"
      "Commands:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const CommandSpec* s : specs)
    rows.emplace_back(CommandWords(*s), s->summary);
  out += TwoColumns(rows);
  out += "\nGlobal options (before or after the command):\n";
  rows.clear();
  for (const GlobalFlag& g : kGlobalFlags) {
    std::string left = "--" + std::string(g.name);
    if (!g.value_name.empty()) left += " " + std::string(g.value_name);
    rows.emplace_back(left, std::string(g.help));
  }
  out += TwoColumns(rows);
  out +=
      "\n"
      "Environment:\n"
      "  PORTCULLIS_SERVER, PORTCULLIS_TLS_CA   defaults of --server and --ca\n"
      "  PORTCULLIS_POLICY_SERVER               default of --policy-server\n"
      "  PORTCULLIS_QUERY_SERVER                default of --query-server\n"
      "  PORTCULLIS_API_KEY                     admin or analyst API key (every command\n"
      "                                         but tenant create)\n"
      "  PORTCULLIS_OPERATOR_TOKEN              operator token, for tenant create; or\n"
      "  PORTCULLIS_OPERATOR_TOKEN_FILE         a file holding it\n"
      "\n"
      "Exit codes: 0 success, 1 error reported by the server, 2 usage or configuration\n"
      "error, 3 connection or TLS error.\n"
      "\n"
      "Run 'portcullisctl COMMAND --help' for a command's options.\n";
  return out;
}

std::string GroupUsage(const std::vector<const CommandSpec*>& specs, std::string_view group) {
  std::string out = "Usage: portcullisctl " + std::string(group) + " COMMAND [ARGS] [OPTIONS]\n\n";
  out += "Commands:\n";
  std::vector<std::pair<std::string, std::string>> rows;
  for (const CommandSpec* s : specs) {
    if (s->group == group) rows.emplace_back(CommandWords(*s), s->summary);
  }
  out += TwoColumns(rows);
  out += "\nRun 'portcullisctl " + std::string(group) +
         " COMMAND --help' for a command's options,\n'portcullisctl --help' for the global "
         "options.\n";
  return out;
}

std::string CommandUsage(const CommandSpec& spec) {
  std::string out = "Usage: portcullisctl " + CommandSynopsis(spec) + "\n\n" + spec.summary + "\n";
  if (!spec.description.empty()) out += "\n" + spec.description + "\n";
  if (!spec.flags.empty()) {
    out += "\nOptions:\n";
    std::vector<std::pair<std::string, std::string>> rows;
    for (const FlagSpec& f : spec.flags) {
      rows.emplace_back(FlagText(f), f.help);
    }
    out += TwoColumns(rows);
  }
  out += "\nGlobal options (--server, --ca, --json...): see 'portcullisctl --help'.\n";
  return out;
}

}  // namespace portcullis::cli
