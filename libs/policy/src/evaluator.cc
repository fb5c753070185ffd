#include "portcullis/policy/evaluator.h"

#include <bit>

#include "portcullis/policy/syntax.h"

namespace portcullis::policy {
namespace {

constexpr int kMaxSyscallNumber = 512;

int OpIndex(FileOp op) {
  return std::countr_zero(static_cast<std::uint32_t>(op));
}

bool PortAllowed(const NetworkRule& n, std::uint16_t port) {
  if (n.ports.empty()) return true;
  for (const PortRange& r : n.ports) {
    if (r.Contains(port)) return true;
  }
  return false;
}

bool ArgsHold(const SyscallRule& s, const std::array<std::uint64_t, 6>& args) {
  for (const ArgCondition& c : s.args) {
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

Status AddProgram(PathMatcher::Builder& b, const std::string& program, std::uint32_t rule) {
  if (program.find_first_of("*?[") != std::string::npos) return b.AddGlob(program, rule);
  return b.AddExact(program, rule);
}

}  // namespace

StatusOr<std::shared_ptr<const CompiledPolicy>> CompiledPolicy::Compile(const Policy& policy) {
  if (policy.rules.size() > kMaxRules) {
    return InvalidArgumentError("a policy has at most " + std::to_string(kMaxRules) + " rules");
  }
  std::shared_ptr<CompiledPolicy> c(new CompiledPolicy());
  c->policy_ = policy;
  c->syscalls_.resize(kMaxSyscallNumber);
  PathMatcher::Builder programs, paths;
  AddressMatcher::Builder addresses;
  for (std::uint32_t i = 0; i < policy.rules.size(); ++i) {
    const Rule& rule = policy.rules[i];
    std::string where = "rule '" + rule.id + "'";
    const std::vector<std::string>* progs = nullptr;
    if (const auto* f = std::get_if<FileRule>(&rule.body)) {
      progs = &f->programs;
      for (int op = 0; op < 7; ++op) {
        if (f->operations & (1u << op)) c->file_ops_[static_cast<std::size_t>(op)].Set(i);
      }
      for (const PathPattern& p : f->paths) {
        Status s = p.kind == PathPattern::Kind::kExact     ? paths.AddExact(p.text, i)
                   : p.kind == PathPattern::Kind::kSubtree ? paths.AddSubtree(p.text, i)
                                                           : paths.AddGlob(p.text, i);
        if (!s.ok()) return s.WithContext(where);
      }
    } else if (const auto* n = std::get_if<NetworkRule>(&rule.body)) {
      progs = &n->programs;
      c->directions_[static_cast<std::size_t>(n->direction)].Set(i);
      if (n->protocol != Protocol::kUdp) c->tcp_.Set(i);
      if (n->protocol != Protocol::kTcp) c->udp_.Set(i);
      if (n->addresses.empty()) c->any_address_.Set(i);
      for (const std::string& a : n->addresses) {
        StatusOr<Cidr> cidr = Cidr::Parse(a);
        if (!cidr.ok()) return cidr.status().WithContext(where);
        PORTCULLIS_RETURN_IF_ERROR(addresses.Add(*cidr, i).WithContext(where));
      }
    } else {
      const auto& s = std::get<SyscallRule>(rule.body);
      progs = &s.programs;
      if (s.number < 0 || s.number >= kMaxSyscallNumber || s.args.size() > 3) {
        return InvalidArgumentError(where + ": unresolved syscall '" + s.syscall + "'");
      }
      c->syscalls_[static_cast<std::size_t>(s.number)].Set(i);
    }
    if (progs->empty()) c->any_program_.Set(i);
    for (const std::string& p : *progs) {
      PORTCULLIS_RETURN_IF_ERROR(AddProgram(programs, p, i).WithContext(where));
    }
  }
  c->programs_ = std::move(programs).Build();
  c->paths_ = std::move(paths).Build();
  c->addresses_ = std::move(addresses).Build();
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
  return {action, policy_.mode == Mode::kEnforcing, category, rule};
}

Decision CompiledPolicy::DecideFile(const FileRequest& r) const {
  Category category = r.op == FileOp::kExec ? Category::kProcess : Category::kFile;
  RuleBits candidates;
  paths_.Match(r.path, candidates);
  candidates.And(file_ops_[static_cast<std::size_t>(OpIndex(r.op))]);
  ProgramCheck program(*this, r.program);
  for (std::optional<std::uint32_t> i = candidates.FirstSet(); i; i = candidates.NextSet(*i + 1)) {
    if (program.Admits(*i)) return Make(policy_.rules[*i].action, category, static_cast<int>(*i));
  }
  return Make(category == Category::kProcess ? policy_.defaults.process : policy_.defaults.file,
              category, -1);
}

Decision CompiledPolicy::DecideNetwork(const NetworkRequest& r) const {
  RuleBits candidates = any_address_;
  addresses_.Match(r.address, candidates);
  candidates.And(directions_[static_cast<std::size_t>(r.direction)]);
  candidates.And(r.protocol == Protocol::kUdp ? udp_ : tcp_);
  ProgramCheck program(*this, r.program);
  for (std::optional<std::uint32_t> i = candidates.FirstSet(); i; i = candidates.NextSet(*i + 1)) {
    const auto& n = std::get<NetworkRule>(policy_.rules[*i].body);
    if (PortAllowed(n, r.port) && program.Admits(*i)) {
      return Make(policy_.rules[*i].action, Category::kNetwork, static_cast<int>(*i));
    }
  }
  return Make(policy_.defaults.network, Category::kNetwork, -1);
}

std::optional<Decision> CompiledPolicy::DecideSyscall(const SyscallRequest& r) const {
  if (r.number < 0 || r.number >= kMaxSyscallNumber) return std::nullopt;
  const RuleBits& rules = syscalls_[static_cast<std::size_t>(r.number)];
  if (rules.None()) return std::nullopt;
  ProgramCheck program(*this, r.program);
  for (std::optional<std::uint32_t> i = rules.FirstSet(); i; i = rules.NextSet(*i + 1)) {
    const auto& s = std::get<SyscallRule>(policy_.rules[*i].body);
    if (ArgsHold(s, r.args) && program.Admits(*i)) {
      return Make(policy_.rules[*i].action, Category::kProcess, static_cast<int>(*i));
    }
  }
  return std::nullopt;
}

}  // namespace portcullis::policy
