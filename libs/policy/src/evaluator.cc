#include "portcullis/policy/evaluator.h"

#include <bit>

#include "portcullis/policy/compiler.h"
#include "portcullis/policy/glob.h"

namespace portcullis::policy {
namespace {

constexpr int kMaxSyscallNumber = 512;

int OpIndex(FileOp op) {
  return std::countr_zero(static_cast<std::uint32_t>(op));
}

bool PortAllowed(const std::vector<PortRange>& ports, std::uint16_t port) {
  if (ports.empty()) return true;
  for (const PortRange& r : ports) {
    if (r.Contains(port)) return true;
  }
  return false;
}

bool ArgsHold(const std::vector<ArgCondition>& conditions,
              const std::array<std::uint64_t, 6>& args) {
  for (const ArgCondition& c : conditions) {
    std::uint64_t v = args[static_cast<std::size_t>(c.index)];
    switch (c.op) {
      case ArgOp::kEqual:
        if (v != c.value) return false;
        break;
      case ArgOp::kNotEqual:
        if (v == c.value) return false;
        break;
      case ArgOp::kMask:
        if ((v & c.mask_or_hi) != c.value) return false;
        break;
      case ArgOp::kRange:
        if (v < c.value || v > c.mask_or_hi) return false;
        break;
    }
  }
  return true;
}

StatusOr<Action> FromProto(v1::Action a) {
  switch (a) {
    case v1::ACTION_ALLOW:
      return Action::kAllow;
    case v1::ACTION_DENY:
      return Action::kDeny;
    case v1::ACTION_MONITOR:
      return Action::kMonitor;
    default:
      return InvalidArgumentError("unknown action " + std::to_string(a));
  }
}

}  // namespace

StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Compile(const Policy& policy) {
  StatusOr<v1::RuleTable> table = CompileRuleTable(policy);
  if (!table.ok()) return table.status();
  return Load(*table);
}

// Reads a rule table into a CompiledPolicy, refusing anything out of range.
class CompiledPolicy::Loader {
 public:
  explicit Loader(CompiledPolicy& c) : c_(c) {}

  Status Run(const v1::RuleTable& t) {
    if (t.format() != kRuleTableFormat) {
      return InvalidArgumentError("rule table format " + std::to_string(t.format()) +
                                  " is not supported (this build reads format " +
                                  std::to_string(kRuleTableFormat) + ")");
    }
    if (t.arch() != kRuleTableArch) {
      return InvalidArgumentError("rule table is for architecture '" + t.arch() + "'");
    }
    if (static_cast<std::uint32_t>(t.rules_size()) > kMaxRules) {
      return InvalidArgumentError("rule table has more than " + std::to_string(kMaxRules) +
                                  " rules");
    }
    c_.policy_id_ = t.policy_id();
    c_.version_ = t.version();
    c_.mode_ = t.permissive() ? Mode::kPermissive : Mode::kEnforcing;
    PORTCULLIS_ASSIGN_OR_RETURN(c_.defaults_.file, FromProto(t.default_file()));
    PORTCULLIS_ASSIGN_OR_RETURN(c_.defaults_.network, FromProto(t.default_network()));
    PORTCULLIS_ASSIGN_OR_RETURN(c_.defaults_.process, FromProto(t.default_process()));
    c_.syscalls_.resize(kMaxSyscallNumber);
    for (int i = 0; i < t.rules_size(); ++i) {
      PORTCULLIS_RETURN_IF_ERROR(AddRule(t.rules(i), static_cast<std::uint32_t>(i))
                                     .WithContext("rule " + std::to_string(i)));
    }
    PathMatcher::Builder paths, programs;
    PORTCULLIS_RETURN_IF_ERROR(AddPaths(t.paths(), paths, &c_.file_ops_).WithContext("paths"));
    PORTCULLIS_RETURN_IF_ERROR(AddPaths(t.programs(), programs, nullptr).WithContext("programs"));
    AddressMatcher::Builder addresses;
    for (const v1::AddressPrefix& a : t.addresses()) {
      PORTCULLIS_RETURN_IF_ERROR(AddAddress(a, addresses).WithContext("addresses"));
    }
    c_.paths_ = std::move(paths).Build();
    c_.programs_ = std::move(programs).Build();
    c_.addresses_ = std::move(addresses).Build();
    return OkStatus();
  }

 private:
  Status AddRule(const v1::Rule& r, std::uint32_t i) {
    RuleInfo info;
    info.id = r.id();
    PORTCULLIS_ASSIGN_OR_RETURN(info.action, FromProto(r.action()));
    if (r.any_program()) c_.any_program_.Set(i);
    switch (r.match_case()) {
      case v1::Rule::kFile: {
        const std::uint32_t ops = r.file().operations();
        if (ops == 0 || (ops & ~kAllFileOps) != 0) return InvalidArgumentError("bad operations");
        info.category =
            ops == static_cast<std::uint32_t>(FileOp::kExec) ? Category::kProcess : Category::kFile;
        for (int op = 0; op < 7; ++op) {
          if (ops & (1u << op)) c_.file_ops_[static_cast<std::size_t>(op)].Set(i);
        }
        file_rules_.Set(i);
        break;
      }
      case v1::Rule::kNetwork: {
        const v1::NetworkMatch& n = r.network();
        info.category = Category::kNetwork;
        if (n.direction() < v1::DIRECTION_OUTBOUND || n.direction() > v1::DIRECTION_LISTEN) {
          return InvalidArgumentError("bad direction");
        }
        c_.directions_[static_cast<std::size_t>(n.direction() - v1::DIRECTION_OUTBOUND)].Set(i);
        if (n.protocol() == v1::PROTOCOL_UNSPECIFIED || n.protocol() == v1::PROTOCOL_TCP) {
          c_.tcp_.Set(i);
        }
        if (n.protocol() == v1::PROTOCOL_UNSPECIFIED || n.protocol() == v1::PROTOCOL_UDP) {
          c_.udp_.Set(i);
        }
        if (n.protocol() == v1::PROTOCOL_OTHER || n.protocol() < 0) {
          return InvalidArgumentError("bad protocol");
        }
        for (const v1::PortRange& p : n.ports()) {
          if (p.lo() > p.hi() || p.hi() > 65535) return InvalidArgumentError("bad port range");
          info.ports.push_back(
              {static_cast<std::uint16_t>(p.lo()), static_cast<std::uint16_t>(p.hi())});
        }
        if (n.any_address()) c_.any_address_.Set(i);
        network_rules_.Set(i);
        break;
      }
      case v1::Rule::kSyscall: {
        const v1::SyscallMatch& s = r.syscall();
        info.category = Category::kApplication;
        if (s.number() < 0 || s.number() >= kMaxSyscallNumber) {
          return InvalidArgumentError("bad syscall number " + std::to_string(s.number()));
        }
        if (s.args_size() > 3) return InvalidArgumentError("more than 3 argument conditions");
        for (const v1::ArgCondition& a : s.args()) {
          if (a.index() > 5 || a.op() < v1::ArgCondition::OP_EQUAL ||
              a.op() > v1::ArgCondition::OP_RANGE) {
            return InvalidArgumentError("bad argument condition");
          }
          info.args.push_back({static_cast<int>(a.index()),
                               static_cast<ArgOp>(a.op() - v1::ArgCondition::OP_EQUAL), a.value(),
                               a.mask_or_hi()});
        }
        c_.syscalls_[static_cast<std::size_t>(s.number())].Set(i);
        break;
      }
      default:
        return InvalidArgumentError("no match");
    }
    c_.rules_.push_back(std::move(info));
    return OkStatus();
  }

  // `kind`: the rules an index entry may name (file rules for paths, any
  // rule without any_program for programs).
  Status CheckIndexRules(const google::protobuf::RepeatedField<std::uint32_t>& rules, bool paths) {
    if (rules.empty()) return InvalidArgumentError("an entry without rules");
    for (std::uint32_t r : rules) {
      if (r >= c_.rules_.size())
        return InvalidArgumentError("rule " + std::to_string(r) + " out of range");
      if (paths ? !file_rules_.Test(r) : c_.any_program_.Test(r)) {
        return InvalidArgumentError("rule " + std::to_string(r) + " does not belong here");
      }
    }
    return OkStatus();
  }

  Status AddPaths(const v1::PathIndex& index, PathMatcher::Builder& b,
                  const std::array<RuleBits, 7>* file_ops) {
    for (const v1::PathEntry& e : index.entries()) {
      PORTCULLIS_RETURN_IF_ERROR(CheckIndexRules(e.rules(), file_ops != nullptr));
      for (std::uint32_t r : e.rules()) {
        PORTCULLIS_RETURN_IF_ERROR(e.subtree() ? b.AddSubtree(e.path(), r)
                                               : b.AddExact(e.path(), r));
      }
    }
    for (const v1::GlobEntry& g : index.globs()) {
      PORTCULLIS_RETURN_IF_ERROR(CheckIndexRules(g.rules(), file_ops != nullptr));
      StatusOr<Glob> glob = Glob::Compile(g.pattern());
      if (!glob.ok()) return glob.status();
      for (std::uint32_t r : g.rules())
        PORTCULLIS_RETURN_IF_ERROR(b.AddGlob(*glob, r));
    }
    return OkStatus();
  }

  Status AddAddress(const v1::AddressPrefix& a, AddressMatcher::Builder& b) {
    if (a.rules().empty()) return InvalidArgumentError("an entry without rules");
    Cidr cidr;
    if (a.address().size() == 4) {
      std::uint32_t v = 0;
      for (char ch : a.address())
        v = v << 8 | static_cast<unsigned char>(ch);
      cidr.network = IpAddress::V4(v);
    } else if (a.address().size() == 16) {
      std::array<std::uint8_t, 16> bytes;
      std::copy(a.address().begin(), a.address().end(), bytes.begin());
      cidr.network = IpAddress::V6(bytes);
    } else {
      return InvalidArgumentError("an address of " + std::to_string(a.address().size()) + " bytes");
    }
    if (a.prefix_length() > static_cast<std::uint32_t>(cidr.network.bit_length())) {
      return InvalidArgumentError("prefix length " + std::to_string(a.prefix_length()));
    }
    cidr.prefix_length = static_cast<int>(a.prefix_length());
    for (std::uint32_t r : a.rules()) {
      if (r >= c_.rules_.size() || !network_rules_.Test(r)) {
        return InvalidArgumentError("rule " + std::to_string(r) + " is not a network rule");
      }
      PORTCULLIS_RETURN_IF_ERROR(b.Add(cidr, r));
    }
    return OkStatus();
  }

  CompiledPolicy& c_;
  RuleBits file_rules_, network_rules_;
};

StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Load(const v1::RuleTable& table) {
  std::shared_ptr<CompiledPolicy> c(new CompiledPolicy());
  PORTCULLIS_RETURN_IF_ERROR(Loader(*c).Run(table).WithContext("rule table"));
  return std::shared_ptr<const CompiledPolicy>(std::move(c));
}

// Lazily computed: most candidates have no program list, and then the
// program matcher is never consulted.
class CompiledPolicy::ProgramCheck {
 public:
  ProgramCheck(const CompiledPolicy& p, std::string_view program) : p_(p), program_(program) {}
  bool Admits(std::uint32_t rule) {
    if (p_.any_program_.Test(rule)) return true;
    if (!bits_) {
      bits_.emplace();
      p_.programs_.Match(program_, *bits_);
    }
    return bits_->Test(rule);
  }

 private:
  const CompiledPolicy& p_;
  std::string_view program_;
  std::optional<RuleBits> bits_;
};

Decision CompiledPolicy::Make(Action action, Category category, int rule) const {
  std::string_view id =
      rule >= 0 ? std::string_view(rules_[static_cast<std::size_t>(rule)].id) : std::string_view();
  return {action, mode_ == Mode::kEnforcing, category, rule, id};
}

Decision CompiledPolicy::DecideFile(const FileRequest& r) const {
  Category category = r.op == FileOp::kExec ? Category::kProcess : Category::kFile;
  RuleBits candidates;
  paths_.Match(r.path, candidates);
  candidates.And(file_ops_[static_cast<std::size_t>(OpIndex(r.op))]);
  ProgramCheck program(*this, r.program);
  for (std::optional<std::uint32_t> i = candidates.FirstSet(); i; i = candidates.NextSet(*i + 1)) {
    if (program.Admits(*i)) return Make(rules_[*i].action, category, static_cast<int>(*i));
  }
  return Make(category == Category::kProcess ? defaults_.process : defaults_.file, category, -1);
}

Decision CompiledPolicy::DecideNetwork(const NetworkRequest& r) const {
  RuleBits candidates = any_address_;
  addresses_.Match(r.address, candidates);
  candidates.And(directions_[static_cast<std::size_t>(r.direction)]);
  candidates.And(r.protocol == Protocol::kUdp ? udp_ : tcp_);
  ProgramCheck program(*this, r.program);
  for (std::optional<std::uint32_t> i = candidates.FirstSet(); i; i = candidates.NextSet(*i + 1)) {
    if (PortAllowed(rules_[*i].ports, r.port) && program.Admits(*i)) {
      return Make(rules_[*i].action, Category::kNetwork, static_cast<int>(*i));
    }
  }
  return Make(defaults_.network, Category::kNetwork, -1);
}

std::optional<Decision> CompiledPolicy::DecideSyscall(const SyscallRequest& r) const {
  if (r.number < 0 || r.number >= kMaxSyscallNumber) return std::nullopt;
  const RuleBits& rules = syscalls_[static_cast<std::size_t>(r.number)];
  if (rules.None()) return std::nullopt;
  ProgramCheck program(*this, r.program);
  for (std::optional<std::uint32_t> i = rules.FirstSet(); i; i = rules.NextSet(*i + 1)) {
    if (ArgsHold(rules_[*i].args, r.args) && program.Admits(*i)) {
      return Make(rules_[*i].action, Category::kApplication, static_cast<int>(*i));
    }
  }
  return std::nullopt;
}

}  // namespace portcullis::policy
