#include "portcullis/policy/compiler.h"

#include <google/protobuf/text_format.h>
#include <seccomp.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include "portcullis/policy/glob.h"
#include "portcullis/policy/rule_bits.h"

namespace portcullis::policy {
v1::Action ToProto(Action a) {
  switch (a) {
    case Action::kAllow:
      return v1::ACTION_ALLOW;
    case Action::kDeny:
      return v1::ACTION_DENY;
    case Action::kMonitor:
      return v1::ACTION_MONITOR;
  }
  Fatal("unknown Action");
}

v1::Category ToProto(Category c) {
  switch (c) {
    case Category::kFile:
      return v1::CATEGORY_FILE;
    case Category::kNetwork:
      return v1::CATEGORY_NETWORK;
    case Category::kProcess:
      return v1::CATEGORY_PROCESS;
    case Category::kApplication:
      return v1::CATEGORY_APPLICATION;
  }
  Fatal("unknown Category");
}

namespace {

constexpr std::uint32_t kR = static_cast<std::uint32_t>(FileOp::kRead);
constexpr std::uint32_t kW = static_cast<std::uint32_t>(FileOp::kWrite);
constexpr std::uint32_t kC = static_cast<std::uint32_t>(FileOp::kCreate);
constexpr std::uint32_t kD = static_cast<std::uint32_t>(FileOp::kDelete);
constexpr std::uint32_t kMv = static_cast<std::uint32_t>(FileOp::kRename);
constexpr std::uint32_t kCh = static_cast<std::uint32_t>(FileOp::kChmod);
constexpr std::uint32_t kX = static_cast<std::uint32_t>(FileOp::kExec);

v1::Direction ToProto(Direction d) {
  switch (d) {
    case Direction::kOutbound:
      return v1::DIRECTION_OUTBOUND;
    case Direction::kInbound:
      return v1::DIRECTION_INBOUND;
    case Direction::kListen:
      return v1::DIRECTION_LISTEN;
  }
  Fatal("unknown Direction");
}

v1::ArgCondition::Op ToProto(ArgOp op) {
  switch (op) {
    case ArgOp::kEqual:
      return v1::ArgCondition::OP_EQUAL;
    case ArgOp::kNotEqual:
      return v1::ArgCondition::OP_NOT_EQUAL;
    case ArgOp::kMask:
      return v1::ArgCondition::OP_MASK;
    case ArgOp::kRange:
      return v1::ArgCondition::OP_RANGE;
  }
  Fatal("unknown ArgOp");
}

bool IsGlob(std::string_view pattern) {
  return pattern.find_first_of("*?[") != std::string_view::npos;
}

// Collects path patterns -> rules, then writes them sorted into a PathIndex.
class PathIndexBuilder {
 public:
  void Add(const PathPattern& p, std::uint32_t rule) {
    if (p.kind == PathPattern::Kind::kGlob) {
      globs_[{GlobLiteralPrefix(p.text), p.text}].insert(rule);
    } else {
      entries_[{p.text, p.kind == PathPattern::Kind::kSubtree}].insert(rule);
    }
  }
  void AddProgram(const std::string& program, std::uint32_t rule) {
    Add({IsGlob(program) ? PathPattern::Kind::kGlob : PathPattern::Kind::kExact, program}, rule);
  }
  void WriteTo(v1::PathIndex& index) const {
    for (const auto& [key, rules] : entries_) {
      v1::PathEntry* e = index.add_entries();
      e->set_path(key.first);
      e->set_subtree(key.second);
      e->mutable_rules()->Add(rules.begin(), rules.end());
    }
    for (const auto& [key, rules] : globs_) {
      v1::GlobEntry* g = index.add_globs();
      g->set_pattern(key.second);
      g->set_literal_prefix(key.first);
      g->mutable_rules()->Add(rules.begin(), rules.end());
    }
  }

 private:
  // std::pair<std::string, bool> sorts by path, then exact before subtree.
  std::map<std::pair<std::string, bool>, std::set<std::uint32_t>> entries_;
  std::map<std::pair<std::string, std::string>, std::set<std::uint32_t>> globs_;
};

struct CidrKey {
  int family_bits;  // 32 or 128: IPv4 prefixes sort first
  std::string bytes;
  int prefix_length;
  friend auto operator<=>(const CidrKey&, const CidrKey&) = default;
};

// Whether the kernel filter can apply this syscall rule by itself.
bool KernelDecidable(const v1::Rule& rule, bool permissive) {
  if (rule.action() == v1::ACTION_MONITOR) return false;  // needs an event
  if (rule.action() == v1::ACTION_DENY && permissive) return false;
  return rule.any_program();
}

Action CategoryDefault(const Policy& p, Category c) {
  switch (c) {
    case Category::kFile:
      return p.defaults.file;
    case Category::kNetwork:
      return p.defaults.network;
    default:
      return p.defaults.process;
  }
}

// Whether a category rule can decide a behaviour of this syscall.
bool Relevant(const Rule& rule, const CategorySyscall& s) {
  if (const auto* f = std::get_if<FileRule>(&rule.body)) {
    if (s.category == Category::kNetwork) return false;
    // A hard link or a rename gives an object a new name, which the rules
    // protecting it by path would not cover: the agent checks the object
    // against every deny and monitor rule, whatever operations they name.
    const bool new_name = s.name == "link" || s.name == "linkat" || (s.file_ops & kMv) != 0;
    if (new_name && rule.action != Action::kAllow) return true;
    return (f->operations & s.file_ops) != 0;
  }
  if (const auto* n = std::get_if<NetworkRule>(&rule.body)) {
    return s.category == Category::kNetwork && n->direction == s.direction;
  }
  return false;
}

}  // namespace

namespace {

// x86-64 syscalls newer than the libseccomp Debian 12 ships (2.5.4, which
// knows Linux up to 6.0): without them a policy could not name them, and the
// compiler could not cover fchmodat2, a chmod entry point (Linux 6.6).
constexpr std::pair<std::string_view, int> kNewerSyscalls[] = {
    {"futex_waitv", 449},       {"set_mempolicy_home_node", 450},
    {"cachestat", 451},         {"fchmodat2", 452},
    {"map_shadow_stack", 453},  {"futex_wake", 454},
    {"futex_wait", 455},        {"futex_requeue", 456},
    {"statmount", 457},         {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460},
    {"lsm_list_modules", 461},  {"mseal", 462},
};

}  // namespace

int SyscallNumber(std::string_view name) {
  std::string n(name);
  int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, n.c_str());
  if (nr != __NR_SCMP_ERROR && nr >= 0) return nr;
  for (const auto& [newer, number] : kNewerSyscalls)
    if (newer == name) return number;
  return -1;
}

std::string SyscallName(int number) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, number);
  if (name == nullptr) {
    for (const auto& [newer, nr] : kNewerSyscalls)
      if (nr == number) return std::string(newer);
    return {};
  }
  std::string out(name);
  std::free(name);
  return out;
}

const std::vector<CategorySyscall>& CategorySyscalls() {
  using C = Category;
  static const std::vector<CategorySyscall> kSyscalls = {
      {"open", C::kFile, kR | kW | kC},
      {"openat", C::kFile, kR | kW | kC},
      {"openat2", C::kFile, kR | kW | kC},
      {"creat", C::kFile, kW | kC},
      {"truncate", C::kFile, kW},
      {"unlink", C::kFile, kD},
      {"unlinkat", C::kFile, kD},
      {"rmdir", C::kFile, kD},
      {"rename", C::kFile, kMv},
      {"renameat", C::kFile, kMv},
      {"renameat2", C::kFile, kMv},
      {"mkdir", C::kFile, kC},
      {"mkdirat", C::kFile, kC},
      {"mknod", C::kFile, kC},
      {"mknodat", C::kFile, kC},
      {"symlink", C::kFile, kC},
      {"symlinkat", C::kFile, kC},
      {"link", C::kFile, kC},
      {"linkat", C::kFile, kC},
      {"chmod", C::kFile, kCh},
      {"fchmodat", C::kFile, kCh},
      {"fchmodat2", C::kFile, kCh},
      {"chown", C::kFile, kCh},
      {"lchown", C::kFile, kCh},
      {"fchownat", C::kFile, kCh},
      {"execve", C::kProcess, kX},
      {"execveat", C::kProcess, kX},
      {"connect", C::kNetwork, 0, Direction::kOutbound},
      {"sendto", C::kNetwork, 0, Direction::kOutbound},
      {"sendmsg", C::kNetwork, 0, Direction::kOutbound},
      {"sendmmsg", C::kNetwork, 0, Direction::kOutbound},
      {"accept", C::kNetwork, 0, Direction::kInbound},
      {"accept4", C::kNetwork, 0, Direction::kInbound},
      {"bind", C::kNetwork, 0, Direction::kListen},
      {"listen", C::kNetwork, 0, Direction::kListen},
  };
  return kSyscalls;
}

StatusOr<std::vector<HardeningRule>> HardeningRules(std::string_view set) {
  auto deny = [](std::initializer_list<std::string_view> names) {
    std::vector<HardeningRule> out;
    for (std::string_view n : names)
      out.push_back({n, {}});
    return out;
  };
  if (set == "deny-ptrace") {
    // PTRACE_TRACEME (0) lets a debugger started by the workload trace its
    // own child; attaching to any other process is denied.
    std::vector<HardeningRule> r = {{"ptrace", {{0, ArgOp::kNotEqual, 0, 0}}}};
    for (auto& h : deny({"process_vm_readv", "process_vm_writev"}))
      r.push_back(h);
    return r;
  }
  if (set == "deny-io-uring")
    return deny({"io_uring_setup", "io_uring_enter", "io_uring_register"});
  if (set == "deny-file-handles") return deny({"open_by_handle_at"});
  if (set == "deny-kernel-modules") {
    return deny({"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load"});
  }
  if (set == "deny-mount") {
    return deny({"mount", "umount2", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
                 "open_tree", "pivot_root"});
  }
  if (set == "deny-raw-sockets") {
    constexpr std::uint64_t kAfPacket = 17, kSockRaw = 3, kSockTypeMask = 0xf;
    return std::vector<HardeningRule>{{"socket", {{0, ArgOp::kEqual, kAfPacket, 0}}},
                                      {"socket", {{1, ArgOp::kMask, kSockRaw, kSockTypeMask}}}};
  }
  if (set == "deny-bpf") return deny({"bpf", "perf_event_open"});
  if (set == "deny-namespaces") {
    std::vector<HardeningRule> r = deny({"unshare", "setns"});
    // CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
    for (std::uint64_t flag : {0x00020000ull, 0x02000000ull, 0x04000000ull, 0x08000000ull,
                               0x10000000ull, 0x20000000ull, 0x40000000ull}) {
      r.push_back({"clone", {{0, ArgOp::kMask, flag, flag}}});
    }
    // clone3 takes its flags behind a pointer the kernel filter cannot read;
    // ENOSYS makes the C library fall back to clone, which is checked above.
    r.push_back({"clone3", {}, ENOSYS});
    return r;
  }
  return InvalidArgumentError("unknown hardening set '" + std::string(set) + "'");
}

std::vector<std::string> EffectiveHardening(const Policy& policy) {
  std::vector<std::string> sets = policy.hardening;
  // An io_uring ring opens files, connects sockets, ... without the syscalls
  // file and network decisions are made on (IORING_OP_OPENAT, _CONNECT, ...):
  // it bypasses every one of them, so a policy that decides any is not
  // enforceable with io_uring allowed.
  const bool decides_files_or_network =
      policy.defaults.file != Action::kAllow || policy.defaults.network != Action::kAllow ||
      std::any_of(policy.rules.begin(), policy.rules.end(), [](const Rule& r) {
        return std::holds_alternative<FileRule>(r.body) ||
               std::holds_alternative<NetworkRule>(r.body);
      });
  if (decides_files_or_network &&
      std::find(sets.begin(), sets.end(), kImpliedIoUringSet) == sets.end()) {
    sets.emplace_back(kImpliedIoUringSet);
  }
  // open_by_handle_at opens a file from a handle (name_to_handle_at of it,
  // or one forged), with no path for a file decision to be made on
  // (CAP_DAC_READ_SEARCH, which a root container has): it bypasses every
  // file rule.
  const bool decides_files =
      policy.defaults.file != Action::kAllow ||
      std::any_of(policy.rules.begin(), policy.rules.end(),
                  [](const Rule& r) { return std::holds_alternative<FileRule>(r.body); });
  if (decides_files && std::find(sets.begin(), sets.end(), kImpliedFileHandlesSet) == sets.end()) {
    sets.emplace_back(kImpliedFileHandlesSet);
  }
  // A mount gives an existing file a second name (a bind mount, an overlay
  // of its directory) that no file rule names: a workload that can mount (a
  // root container, or any one that makes a user namespace) would dodge every
  // file rule. Unless the policy allows or monitors one of the mount calls
  // in a rule of its own: its author then decided about mounts.
  const std::vector<HardeningRule> mount_calls = *HardeningRules(kImpliedMountSet);
  const bool mounts_decided =
      std::any_of(policy.rules.begin(), policy.rules.end(), [&](const Rule& r) {
        const auto* s = std::get_if<SyscallRule>(&r.body);
        return s != nullptr && r.action != Action::kDeny &&
               std::any_of(mount_calls.begin(), mount_calls.end(),
                           [&](const HardeningRule& h) { return h.syscall == s->syscall; });
      });
  if (decides_files && !mounts_decided &&
      std::find(sets.begin(), sets.end(), kImpliedMountSet) == sets.end()) {
    sets.emplace_back(kImpliedMountSet);
  }
  return sets;
}

StatusOr<v1::RuleTable> CompileRuleTable(const Policy& policy, const TableIdentity& identity) {
  v1::RuleTable t;
  t.set_format(kRuleTableFormat);
  t.set_policy_id(identity.policy_id);
  t.set_version(identity.version);
  t.set_policy_name(policy.name);
  t.set_arch(std::string(kRuleTableArch));
  const bool permissive = policy.mode == Mode::kPermissive;
  t.set_permissive(permissive);
  t.set_default_file(ToProto(policy.defaults.file));
  t.set_default_network(ToProto(policy.defaults.network));
  t.set_default_process(ToProto(policy.defaults.process));

  PathIndexBuilder paths, programs;
  std::map<CidrKey, std::set<std::uint32_t>> addresses;
  std::map<int, std::vector<std::uint32_t>> syscall_rules;  // number -> rules

  auto add_syscall_rule = [&](v1::Rule* r, int number, std::string_view name,
                              const std::vector<ArgCondition>& args) -> Status {
    if (number < 0) return InvalidArgumentError("unknown syscall '" + std::string(name) + "'");
    if (args.size() > 3) return InvalidArgumentError("at most 3 argument conditions");
    r->set_category(v1::CATEGORY_APPLICATION);
    v1::SyscallMatch* m = r->mutable_syscall();
    m->set_number(number);
    m->set_name(std::string(name));
    for (const ArgCondition& c : args) {
      v1::ArgCondition* a = m->add_args();
      a->set_index(static_cast<std::uint32_t>(c.index));
      a->set_op(ToProto(c.op));
      a->set_value(c.value);
      a->set_mask_or_hi(c.mask_or_hi);
    }
    syscall_rules[number].push_back(static_cast<std::uint32_t>(t.rules_size() - 1));
    return OkStatus();
  };

  for (const std::string& set : EffectiveHardening(policy)) {
    t.add_hardening(set);
    auto rules = HardeningRules(set);
    if (!rules.ok()) return rules.status();
    std::map<std::string_view, int> seen;
    for (const HardeningRule& h : *rules) {
      v1::Rule* r = t.add_rules();
      int n = ++seen[h.syscall];
      r->set_id(set + "." + std::string(h.syscall) + (n > 1 ? "." + std::to_string(n) : ""));
      r->set_action(v1::ACTION_DENY);
      r->set_any_program(true);
      r->set_hardening_set(set);
      if (h.deny_errno != EPERM) r->set_deny_errno(h.deny_errno);
      PORTCULLIS_RETURN_IF_ERROR(add_syscall_rule(r, SyscallNumber(h.syscall), h.syscall, h.args)
                                     .WithContext("hardening set " + set));
    }
  }

  for (const Rule& rule : policy.rules) {
    const auto index = static_cast<std::uint32_t>(t.rules_size());
    v1::Rule* r = t.add_rules();
    r->set_id(rule.id);
    r->set_action(ToProto(rule.action));
    const std::string where = "rule '" + rule.id + "'";
    const std::vector<std::string>* progs = nullptr;
    if (const auto* f = std::get_if<FileRule>(&rule.body)) {
      progs = &f->programs;
      r->set_category(f->operations == kX ? v1::CATEGORY_PROCESS : v1::CATEGORY_FILE);
      r->mutable_file()->set_operations(f->operations);
      if (f->paths.empty()) return InvalidArgumentError(where + ": a file rule needs a path");
      for (const PathPattern& p : f->paths)
        paths.Add(p, index);
    } else if (const auto* n = std::get_if<NetworkRule>(&rule.body)) {
      progs = &n->programs;
      r->set_category(v1::CATEGORY_NETWORK);
      v1::NetworkMatch* m = r->mutable_network();
      m->set_direction(ToProto(n->direction));
      m->set_protocol(n->protocol == Protocol::kTcp   ? v1::PROTOCOL_TCP
                      : n->protocol == Protocol::kUdp ? v1::PROTOCOL_UDP
                                                      : v1::PROTOCOL_UNSPECIFIED);
      for (const PortRange& pr : n->ports) {
        v1::PortRange* out = m->add_ports();
        out->set_lo(pr.lo);
        out->set_hi(pr.hi);
      }
      m->set_any_address(n->addresses.empty());
      for (const std::string& a : n->addresses) {
        StatusOr<Cidr> cidr = Cidr::Parse(a);
        if (!cidr.ok()) return cidr.status().WithContext(where);
        const auto& bytes = cidr->network.bytes();
        const int len = cidr->network.bit_length() / 8;
        addresses[{cidr->network.bit_length(),
                   std::string(reinterpret_cast<const char*>(bytes.data()),
                               static_cast<std::size_t>(len)),
                   cidr->prefix_length}]
            .insert(index);
      }
    } else {
      const auto& s = std::get<SyscallRule>(rule.body);
      progs = &s.programs;
      PORTCULLIS_RETURN_IF_ERROR(
          add_syscall_rule(r, s.number, s.syscall, s.args).WithContext(where));
    }
    r->set_any_program(progs->empty());
    for (const std::string& p : *progs)
      programs.AddProgram(p, index);
  }
  if (static_cast<std::uint32_t>(t.rules_size()) > kMaxRules) {
    return InvalidArgumentError("the policy compiles to " + std::to_string(t.rules_size()) +
                                " rules (hardening included); the limit is " +
                                std::to_string(kMaxRules));
  }
  paths.WriteTo(*t.mutable_paths());
  programs.WriteTo(*t.mutable_programs());
  for (const auto& [key, rules] : addresses) {
    v1::AddressPrefix* a = t.add_addresses();
    a->set_address(key.bytes);
    a->set_prefix_length(static_cast<std::uint32_t>(key.prefix_length));
    a->mutable_rules()->Add(rules.begin(), rules.end());
  }

  // Syscall handling: every category syscall and every syscall with a rule.
  struct Entry {
    const CategorySyscall* category = nullptr;
    std::vector<std::uint32_t> rules;
  };
  std::map<int, Entry> entries;
  for (const CategorySyscall& s : CategorySyscalls()) {
    int nr = SyscallNumber(s.name);
    if (nr < 0) return InternalError("libseccomp does not know syscall " + std::string(s.name));
    entries[nr].category = &s;
  }
  for (auto& [nr, rules] : syscall_rules)
    entries[nr].rules = rules;
  auto decidable = [permissive](Action a) {
    return a == Action::kAllow || (a == Action::kDeny && !permissive);
  };
  for (const auto& [nr, e] : entries) {
    v1::SyscallEntry* out = t.add_syscalls();
    out->set_number(nr);
    out->set_name(SyscallName(nr));
    out->mutable_rules()->Add(e.rules.begin(), e.rules.end());
    Action fallback = Action::kAllow;
    bool category_rules = false;
    if (e.category != nullptr) {
      out->set_category(ToProto(e.category->category));
      fallback = CategoryDefault(policy, e.category->category);
      const CategorySyscall& syscall = *e.category;  // lambdas can't capture bindings (clang)
      category_rules = std::any_of(policy.rules.begin(), policy.rules.end(),
                                   [&](const Rule& r) { return Relevant(r, syscall); });
      out->set_deny_errno(e.category->category == Category::kNetwork ? EPERM : EACCES);
    } else {
      out->set_deny_errno(EPERM);
    }
    using H = v1::SyscallEntry;
    H::Handling handling;
    // The network syscalls' address family sits behind a pointer: only the
    // agent can tell an IP socket (a network behaviour) from a UNIX one.
    const bool network = e.category != nullptr && e.category->category == Category::kNetwork;
    if (category_rules || (network && fallback != Action::kAllow)) {
      handling = H::AGENT;
    } else if (e.rules.empty()) {
      handling = fallback == Action::kAllow ? H::KERNEL_ALLOW
                 : decidable(fallback)      ? H::KERNEL_DENY
                                            : H::AGENT;
    } else {
      bool all = decidable(fallback);
      for (std::uint32_t i : e.rules)
        all = all && KernelDecidable(t.rules(static_cast<int>(i)), permissive);
      handling = all ? H::KERNEL_ARGS : H::AGENT;
      const v1::Rule& first = t.rules(static_cast<int>(e.rules.front()));
      if (all && first.syscall().args_size() == 0) {
        // The first rule always holds: it alone decides.
        handling = first.action() == v1::ACTION_ALLOW ? H::KERNEL_ALLOW : H::KERNEL_DENY;
        if (first.deny_errno() != 0) out->set_deny_errno(first.deny_errno());
      }
    }
    out->set_handling(handling);
    if (handling == H::KERNEL_ARGS) out->set_fallback(ToProto(fallback));
  }
  return t;
}

std::string RuleTableText(const v1::RuleTable& table) {
  std::string out;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintToString(table, &out);
  return out;
}

}  // namespace portcullis::policy
