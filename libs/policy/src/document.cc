#include "portcullis/policy/document.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "portcullis/common/json_pointer.h"
#include "portcullis/policy/compiler.h"
#include "portcullis/policy/syntax.h"

namespace portcullis::policy {
namespace {

using nlohmann::json;

std::string Pointer(std::string base, std::string_view key) {
  return JsonPointer(std::move(base), key);
}
std::string Pointer(std::string base, std::size_t index) {
  return JsonPointer(std::move(base), index);
}

// Walks the document, collecting every problem instead of stopping.
class Reader {
 public:
  std::vector<Diagnostic> diagnostics;

  void Problem(std::string location, std::string message) {
    if (diagnostics.size() < kMaxDiagnostics) {
      diagnostics.push_back({std::move(location), std::move(message)});
    } else if (diagnostics.size() == kMaxDiagnostics) {
      diagnostics.push_back({"", "too many problems; the rest are not reported"});
    }
  }

  // Reports members of `obj` not in `known`.
  void OnlyKnown(const json& obj, const std::string& at,
                 std::initializer_list<std::string_view> known) {
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (std::find(known.begin(), known.end(), it.key()) == known.end()) {
        std::string choices;
        for (std::string_view k : known)
          choices += (choices.empty() ? "" : ", ") + std::string(k);
        Problem(Pointer(at, it.key()), "unknown field (expected one of: " + choices + ")");
      }
    }
  }

  const json* Member(const json& obj, const std::string& at, const char* key, bool required) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) {
      if (required) Problem(Pointer(at, key), "is required");
      return nullptr;
    }
    return &*it;
  }

  std::optional<std::string> String(const json& obj, const std::string& at, const char* key,
                                    bool required, std::size_t max_len) {
    const json* v = Member(obj, at, key, required);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) {
      Problem(Pointer(at, key), "must be a string");
      return std::nullopt;
    }
    const std::string& s = v->get_ref<const std::string&>();
    if (s.empty() || s.size() > max_len) {
      Problem(Pointer(at, key), "must be 1 to " + std::to_string(max_len) + " characters");
      return std::nullopt;
    }
    return s;
  }

  template <typename E>
  std::optional<E> Enum(const json& obj, const std::string& at, const char* key, bool required,
                        std::initializer_list<std::pair<std::string_view, E>> values) {
    std::optional<std::string> s = String(obj, at, key, required, 64);
    if (!s) return std::nullopt;
    for (const auto& [name, value] : values) {
      if (name == *s) return value;
    }
    std::string choices;
    for (const auto& [name, value] : values)
      choices += (choices.empty() ? "" : ", ") + std::string(name);
    Problem(Pointer(at, key), "'" + *s + "' is not one of: " + choices);
    return std::nullopt;
  }

  // A list of strings, each checked by `item` (which reports its own problems).
  template <typename T, typename F>
  std::vector<T> List(const json& obj, const std::string& at, const char* key, bool required,
                      F item) {
    std::vector<T> out;
    const json* v = Member(obj, at, key, required);
    if (v == nullptr) return out;
    std::string here = Pointer(at, key);
    if (!v->is_array()) {
      Problem(here, "must be an array");
      return out;
    }
    if (required && v->empty()) Problem(here, "must not be empty");
    if (v->size() > kMaxListEntries) {
      Problem(here, "has " + std::to_string(v->size()) + " entries; the limit is " +
                        std::to_string(kMaxListEntries));
      return out;
    }
    for (std::size_t i = 0; i < v->size(); ++i) {
      std::string loc = Pointer(here, i);
      if (!(*v)[i].is_string()) {
        Problem(loc, "must be a string");
        continue;
      }
      if (std::optional<T> t = item((*v)[i].template get<std::string>(), loc)) out.push_back(*t);
    }
    return out;
  }
};

const std::initializer_list<std::pair<std::string_view, Action>> kActions = {
    {"allow", Action::kAllow}, {"deny", Action::kDeny}, {"monitor", Action::kMonitor}};

std::optional<std::string> Program(Reader& r, const std::string& s, const std::string& loc) {
  if (Status st = ValidatePathPattern(s); !st.ok()) {
    r.Problem(loc, st.message());
    return std::nullopt;
  }
  return s;
}

std::vector<std::string> Programs(Reader& r, const json& rule, const std::string& at) {
  return r.List<std::string>(
      rule, at, "programs", false,
      [&](const std::string& s, const std::string& loc) { return Program(r, s, loc); });
}

FileRule ReadFileRule(Reader& r, const json& rule, const std::string& at) {
  FileRule f;
  f.programs = Programs(r, rule, at);
  f.paths = r.List<PathPattern>(
      rule, at, "paths", true,
      [&](const std::string& s, const std::string& loc) -> std::optional<PathPattern> {
        StatusOr<PathPattern> p = ParsePathPattern(s);
        if (!p.ok()) {
          r.Problem(loc, p.status().message());
          return std::nullopt;
        }
        return *p;
      });
  if (r.Member(rule, at, "operations", false) != nullptr) {
    std::vector<std::uint32_t> ops = r.List<std::uint32_t>(
        rule, at, "operations", true,
        [&](const std::string& s, const std::string& loc) -> std::optional<std::uint32_t> {
          if (s == "chown") return static_cast<std::uint32_t>(FileOp::kChmod);
          for (std::uint32_t bit = 1; bit <= kAllFileOps; bit <<= 1) {
            if (FileOpName(static_cast<FileOp>(bit)) == s) return bit;
          }
          r.Problem(loc, "'" + s +
                             "' is not an operation (read, write, create, delete, rename, chmod, "
                             "chown, exec)");
          return std::nullopt;
        });
    f.operations = 0;
    for (std::uint32_t op : ops)
      f.operations |= op;
    if (f.operations == 0) f.operations = kAllFileOps;  // the list's own problems are reported
  }
  return f;
}

NetworkRule ReadNetworkRule(Reader& r, const json& rule, const std::string& at) {
  NetworkRule n;
  n.direction = r.Enum<Direction>(rule, at, "direction", true,
                                  {{"outbound", Direction::kOutbound},
                                   {"inbound", Direction::kInbound},
                                   {"listen", Direction::kListen}})
                    .value_or(Direction::kOutbound);
  n.protocol =
      r.Enum<Protocol>(rule, at, "protocol", false,
                       {{"any", Protocol::kAny}, {"tcp", Protocol::kTcp}, {"udp", Protocol::kUdp}})
          .value_or(Protocol::kAny);
  n.addresses = r.List<std::string>(
      rule, at, "addresses", false,
      [&](const std::string& s, const std::string& loc) -> std::optional<std::string> {
        if (Status st = ValidateCidr(s); !st.ok()) {
          r.Problem(loc, st.message());
          return std::nullopt;
        }
        return s;
      });
  n.ports = r.List<PortRange>(
      rule, at, "ports", false,
      [&](const std::string& s, const std::string& loc) -> std::optional<PortRange> {
        StatusOr<PortRange> p = ParsePortRange(s);
        if (!p.ok()) {
          r.Problem(loc, p.status().message());
          return std::nullopt;
        }
        return *p;
      });
  n.programs = Programs(r, rule, at);
  return n;
}

std::optional<std::uint64_t> Unsigned(Reader& r, const json& obj, const std::string& at,
                                      const char* key) {
  const json* v = r.Member(obj, at, key, true);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<std::int64_t>() >= 0)) {
    r.Problem(Pointer(at, key), "must be a non-negative integer");
    return std::nullopt;
  }
  return v->get<std::uint64_t>();
}

SyscallRule ReadSyscallRule(Reader& r, const json& rule, const std::string& at) {
  SyscallRule s;
  if (std::optional<std::string> name = r.String(rule, at, "syscall", true, 64)) {
    s.syscall = *name;
    s.number = SyscallNumber(*name);
    if (s.number < 0) r.Problem(Pointer(at, "syscall"), "unknown x86-64 syscall '" + *name + "'");
  }
  s.programs = Programs(r, rule, at);
  const json* args = r.Member(rule, at, "args", false);
  if (args != nullptr) {
    std::string here = Pointer(at, "args");
    if (!args->is_array()) {
      r.Problem(here, "must be an array");
    } else if (args->size() > 3) {
      r.Problem(here, "has " + std::to_string(args->size()) + " conditions; the limit is 3");
    } else {
      for (std::size_t i = 0; i < args->size(); ++i) {
        const json& c = (*args)[i];
        std::string loc = Pointer(here, i);
        if (!c.is_object()) {
          r.Problem(loc, "must be an object");
          continue;
        }
        std::optional<ArgOp> op = r.Enum<ArgOp>(c, loc, "op", true,
                                                {{"eq", ArgOp::kEqual},
                                                 {"ne", ArgOp::kNotEqual},
                                                 {"mask", ArgOp::kMask},
                                                 {"range", ArgOp::kRange}});
        r.OnlyKnown(c, loc,
                    op == ArgOp::kMask
                        ? std::initializer_list<std::string_view>{"index", "op", "mask", "value"}
                    : op == ArgOp::kRange
                        ? std::initializer_list<std::string_view>{"index", "op", "min", "max"}
                        : std::initializer_list<std::string_view>{"index", "op", "value"});
        ArgCondition cond;
        std::optional<std::uint64_t> index = Unsigned(r, c, loc, "index");
        if (index && *index > 5)
          r.Problem(Pointer(loc, "index"), "must be 0 to 5 (syscalls have six arguments)");
        cond.index = index ? static_cast<int>(std::min<std::uint64_t>(*index, 5)) : 0;
        if (!op) continue;
        cond.op = *op;
        if (*op == ArgOp::kRange) {
          auto lo = Unsigned(r, c, loc, "min");
          auto hi = Unsigned(r, c, loc, "max");
          if (lo && hi && *lo > *hi) r.Problem(loc, "min must not exceed max");
          cond.value = lo.value_or(0);
          cond.mask_or_hi = hi.value_or(0);
        } else {
          cond.value = Unsigned(r, c, loc, "value").value_or(0);
          if (*op == ArgOp::kMask) cond.mask_or_hi = Unsigned(r, c, loc, "mask").value_or(0);
        }
        s.args.push_back(cond);
      }
    }
  }
  return s;
}

}  // namespace

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kAllow:
      return "allow";
    case Action::kDeny:
      return "deny";
    case Action::kMonitor:
      return "monitor";
  }
  Fatal("unknown Action");
}

std::string_view FileOpName(FileOp op) {
  switch (op) {
    case FileOp::kRead:
      return "read";
    case FileOp::kWrite:
      return "write";
    case FileOp::kCreate:
      return "create";
    case FileOp::kDelete:
      return "delete";
    case FileOp::kRename:
      return "rename";
    case FileOp::kChmod:
      return "chmod";
    case FileOp::kExec:
      return "exec";
  }
  Fatal("unknown FileOp");
}

std::string_view ModeName(Mode m) {
  return m == Mode::kEnforcing ? "enforcing" : "permissive";
}

const std::vector<HardeningSet>& HardeningSets() {
  static const std::vector<HardeningSet> kSets = {
      {"deny-ptrace", "ptrace and process_vm_readv/writev of other processes"},
      {"deny-io-uring",
       "io_uring_setup, io_uring_enter, io_uring_register (bypass of per-syscall checks)"},
      {"deny-file-handles", "open_by_handle_at (bypass of path-based file rules)"},
      {"deny-kernel-modules", "init_module, finit_module, delete_module"},
      {"deny-mount",
       "mount, umount2, fsopen, fsconfig, fsmount, fspick, move_mount, open_tree, pivot_root "
       "(bypass of path-based file rules by bind mounts)"},
      {"deny-raw-sockets", "socket(AF_PACKET) and socket(..., SOCK_RAW, ...)"},
      {"deny-bpf", "bpf and perf_event_open"},
      {"deny-namespaces", "unshare, setns and clone with namespace flags"},
  };
  return kSets;
}

ParseResult ParsePolicyDocument(std::string_view text) {
  ParseResult result;
  Reader r;
  if (text.size() > kMaxDocumentBytes) {
    result.diagnostics.push_back({"", "the document is " + std::to_string(text.size()) +
                                          " bytes; the limit is " +
                                          std::to_string(kMaxDocumentBytes)});
    return result;
  }
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    result.diagnostics.push_back({"", "malformed JSON at byte " + std::to_string(e.byte)});
    return result;
  }
  if (!doc.is_object()) {
    result.diagnostics.push_back({"", "the document must be a JSON object"});
    return result;
  }
  // NUL can't be stored (PostgreSQL's jsonb refuses it) and would cut names
  // short where C strings are involved (syscall lookup): refuse it anywhere.
  {
    std::vector<std::pair<const json*, std::string>> stack = {{&doc, ""}};
    while (!stack.empty()) {
      auto [v, at] = stack.back();
      stack.pop_back();
      if (v->is_string() && v->get_ref<const std::string&>().find('\0') != std::string::npos) {
        r.Problem(at, "must not contain NUL characters");
      } else if (v->is_object()) {
        for (auto it = v->begin(); it != v->end(); ++it) {
          if (it.key().find('\0') != std::string::npos) {
            r.Problem(at, "has a key with a NUL character");
          }
          stack.emplace_back(&*it, JsonPointer(at, it.key()));
        }
      } else if (v->is_array()) {
        for (std::size_t i = 0; i < v->size(); ++i)
          stack.emplace_back(&(*v)[i], at + "/" + std::to_string(i));
      }
    }
  }
  Policy p;
  r.OnlyKnown(doc, "", {"name", "mode", "defaults", "hardening", "rules"});
  p.name = r.String(doc, "", "name", false, 200).value_or("");
  p.mode = r.Enum<Mode>(doc, "", "mode", false,
                        {{"enforcing", Mode::kEnforcing}, {"permissive", Mode::kPermissive}})
               .value_or(Mode::kEnforcing);
  if (const json* d = r.Member(doc, "", "defaults", false)) {
    if (!d->is_object()) {
      r.Problem("/defaults", "must be an object");
    } else {
      r.OnlyKnown(*d, "/defaults", {"file", "network", "process"});
      p.defaults.file =
          r.Enum<Action>(*d, "/defaults", "file", false, kActions).value_or(Action::kAllow);
      p.defaults.network =
          r.Enum<Action>(*d, "/defaults", "network", false, kActions).value_or(Action::kAllow);
      p.defaults.process =
          r.Enum<Action>(*d, "/defaults", "process", false, kActions).value_or(Action::kAllow);
    }
  }
  p.hardening = r.List<std::string>(
      doc, "", "hardening", false,
      [&](const std::string& s, const std::string& loc) -> std::optional<std::string> {
        for (const HardeningSet& h : HardeningSets()) {
          if (h.name == s) return s;
        }
        std::string names;
        for (const HardeningSet& h : HardeningSets())
          names += (names.empty() ? "" : ", ") + std::string(h.name);
        r.Problem(loc, "unknown hardening set '" + s + "' (known: " + names + ")");
        return std::nullopt;
      });

  const json* rules = r.Member(doc, "", "rules", true);
  std::set<std::string> ids;
  if (rules != nullptr && !rules->is_array()) {
    r.Problem("/rules", "must be an array");
  } else if (rules != nullptr && rules->size() > kMaxRules) {
    r.Problem("/rules", "has " + std::to_string(rules->size()) + " rules; the limit is " +
                            std::to_string(kMaxRules));
  } else if (rules != nullptr) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      const json& rule = (*rules)[i];
      std::string at = Pointer("/rules", i);
      if (!rule.is_object()) {
        r.Problem(at, "must be an object");
        continue;
      }
      Rule out;
      std::optional<std::string> type = r.String(rule, at, "type", true, 16);
      std::optional<Action> action = r.Enum<Action>(rule, at, "action", true, kActions);
      out.action = action.value_or(Action::kDeny);
      out.id = r.String(rule, at, "id", false, 128).value_or("rule-" + std::to_string(i));
      if (!IsValidRuleId(out.id)) {
        r.Problem(Pointer(at, "id"), "use letters, digits, '.', '_' and '-' only");
      } else if (!ids.insert(out.id).second) {
        r.Problem(Pointer(at, "id"), "duplicate rule id '" + out.id + "'");
      }
      if (!type) continue;
      if (*type == "file") {
        r.OnlyKnown(rule, at, {"id", "type", "action", "programs", "paths", "operations"});
        out.body = ReadFileRule(r, rule, at);
      } else if (*type == "network") {
        r.OnlyKnown(
            rule, at,
            {"id", "type", "action", "direction", "addresses", "ports", "protocol", "programs"});
        out.body = ReadNetworkRule(r, rule, at);
      } else if (*type == "syscall") {
        r.OnlyKnown(rule, at, {"id", "type", "action", "syscall", "args", "programs"});
        out.body = ReadSyscallRule(r, rule, at);
      } else {
        r.Problem(Pointer(at, "type"), "'" + *type + "' is not one of: file, network, syscall");
        continue;
      }
      p.rules.push_back(std::move(out));
    }
  }
  result.diagnostics = std::move(r.diagnostics);
  if (result.diagnostics.empty()) result.policy = std::move(p);
  return result;
}

}  // namespace portcullis::policy
