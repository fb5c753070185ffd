#include "portcullis/agent/bpf_filter.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <map>
#include <unordered_map>

#include "portcullis/policy/compiler.h"

namespace portcullis::agent {
namespace {

using Handling = v1::SyscallEntry::Handling;

constexpr std::uint32_t kX32SyscallBit = 0x40000000;
constexpr std::uint32_t kNrOffset = offsetof(seccomp_data, nr);
constexpr std::uint32_t kArchOffset = offsetof(seccomp_data, arch);
// clone flags that give the child another mount or user namespace.
constexpr std::uint32_t kNamespaceCloneFlags = CLONE_NEWNS | CLONE_NEWUSER;

std::uint32_t ArgLow(std::uint32_t i) {
  return static_cast<std::uint32_t>(offsetof(seccomp_data, args) + 8 * i);  // little-endian
}
std::uint32_t ArgHigh(std::uint32_t i) {
  return ArgLow(i) + 4;
}
std::uint32_t Low(std::uint64_t v) {
  return static_cast<std::uint32_t>(v);
}
std::uint32_t High(std::uint64_t v) {
  return static_cast<std::uint32_t>(v >> 32);
}

// A tiny assembler: instructions whose jumps name labels, resolved at the end.
// Conditional jumps reach at most 255 instructions: they are only used for
// nearby targets (within one rule), long jumps use JA (32-bit offset).
class Assembler {
 public:
  // A jump target: a label, or the next instruction.
  struct Target {
    int label = -1;
  };
  static Target Next() { return Target{-1}; }

  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Bind(int label) {
    labels_[static_cast<std::size_t>(label)] = static_cast<int>(code_.size());
  }
  Target To(int label) const { return Target{label}; }

  void Load(std::uint32_t offset) { Stmt(BPF_LD | BPF_W | BPF_ABS, offset); }
  void And(std::uint32_t k) { Stmt(BPF_ALU | BPF_AND | BPF_K, k); }
  void Ret(std::uint32_t k) { Stmt(BPF_RET | BPF_K, k); }
  void Ja(int label) {
    code_.push_back({BPF_JMP | BPF_JA, 0, 0, 0});
    fixups_.push_back({code_.size() - 1, label, -1, -1});
  }
  // if (A <op> k) goto jt else goto jf
  void Jeq(std::uint32_t k, Target jt, Target jf) { Jump(BPF_JEQ, k, jt, jf); }
  void Jgt(std::uint32_t k, Target jt, Target jf) { Jump(BPF_JGT, k, jt, jf); }
  void Jge(std::uint32_t k, Target jt, Target jf) { Jump(BPF_JGE, k, jt, jf); }

  StatusOr<std::vector<sock_filter>> Finish() {
    for (const Fixup& f : fixups_) {
      sock_filter& insn = code_[f.pc];
      auto offset = [&](int label) -> long {
        if (label < 0) return 0;
        int target = labels_[static_cast<std::size_t>(label)];
        if (target < 0) Fatal("bpf: unbound label");
        return static_cast<long>(target) - static_cast<long>(f.pc) - 1;
      };
      if (f.ja >= 0) {
        long off = offset(f.ja);
        if (off < 0) Fatal("bpf: backward jump");
        insn.k = static_cast<std::uint32_t>(off);
        continue;
      }
      long jt = offset(f.jt), jf = offset(f.jf);
      if (jt < 0 || jf < 0 || jt > 255 || jf > 255) Fatal("bpf: conditional jump out of range");
      insn.jt = static_cast<std::uint8_t>(jt);
      insn.jf = static_cast<std::uint8_t>(jf);
    }
    if (code_.size() > BPF_MAXINSNS) {
      return InvalidArgumentError("the seccomp filter needs " + std::to_string(code_.size()) +
                                  " instructions, more than the kernel's " +
                                  std::to_string(BPF_MAXINSNS));
    }
    return std::move(code_);
  }

 private:
  struct Fixup {
    std::size_t pc;
    int ja, jt, jf;
  };
  void Stmt(std::uint16_t code, std::uint32_t k) { code_.push_back({code, 0, 0, k}); }
  void Jump(std::uint16_t op, std::uint32_t k, Target jt, Target jf) {
    code_.push_back({static_cast<std::uint16_t>(BPF_JMP | op | BPF_K), 0, 0, k});
    fixups_.push_back({code_.size() - 1, -1, jt.label, jf.label});
  }

  std::vector<sock_filter> code_;
  std::vector<int> labels_;
  std::vector<Fixup> fixups_;
};

struct Entry {
  int nr = -1;
  Handling handling = v1::SyscallEntry::HANDLING_UNSPECIFIED;
  const v1::SyscallEntry* source = nullptr;  // null: added for the agent itself
  int deny_errno = 0;                        // KERNEL_DENY
  // Not 0 (KERNEL_ARGS): USER_NOTIF when the low half of argument 0 has any
  // of these bits, else the table's argument rules (ALLOW without a source).
  std::uint32_t notify_if_arg0 = 0;
};

class Generator {
 public:
  explicit Generator(const v1::RuleTable& t) : table_(t) {}

  StatusOr<FilterProgram> Build() {
    std::vector<Entry> entries;
    std::vector<int> notified;
    std::vector<int> allowed;  // listed as KERNEL_ALLOW
    for (const v1::SyscallEntry& s : table_.syscalls()) {
      if (s.number() < 0 || static_cast<std::uint32_t>(s.number()) >= kX32SyscallBit) {
        return InvalidArgumentError("syscall number out of range: " + std::to_string(s.number()));
      }
      PORTCULLIS_ASSIGN_OR_RETURN(Handling h, EffectiveHandling(s));
      if (h == v1::SyscallEntry::KERNEL_ALLOW) allowed.push_back(s.number());
      if (h != v1::SyscallEntry::KERNEL_ALLOW) {
        entries.push_back(
            {.nr = s.number(), .handling = h, .source = &s, .deny_errno = s.deny_errno()});
      }
    }
    if (std::any_of(entries.begin(), entries.end(),
                    [](const Entry& e) { return e.handling == v1::SyscallEntry::AGENT; })) {
      WatchWorkloadState(entries, allowed);
    }
    for (const Entry& e : entries)
      if (e.handling == v1::SyscallEntry::AGENT) notified.push_back(e.nr);
    std::sort(entries.begin(), entries.end(),
              [](const Entry& a, const Entry& b) { return a.nr < b.nr; });
    for (std::size_t i = 1; i < entries.size(); ++i) {
      if (entries[i].nr == entries[i - 1].nr) {
        return InvalidArgumentError("syscall listed twice: " + std::to_string(entries[i].nr));
      }
    }
    std::sort(notified.begin(), notified.end());

    allow_ = a_.NewLabel();
    notify_ = a_.NewLabel();
    // 1, 2: architecture and x32, each with its own kill next to it.
    int native_arch = a_.NewLabel(), native_abi = a_.NewLabel();
    a_.Load(kArchOffset);
    a_.Jeq(AUDIT_ARCH_X86_64, a_.To(native_arch), Assembler::Next());
    a_.Ret(SECCOMP_RET_KILL_PROCESS);
    a_.Bind(native_arch);
    a_.Load(kNrOffset);
    a_.Jge(kX32SyscallBit, Assembler::Next(), a_.To(native_abi));
    a_.Ret(SECCOMP_RET_KILL_PROCESS);
    a_.Bind(native_abi);
    // 3: dispatch; bodies of KERNEL_ARGS syscalls come after it.
    std::vector<int> bodies(entries.size(), -1);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      switch (entries[i].handling) {
        case v1::SyscallEntry::KERNEL_DENY:
          bodies[i] = ErrnoLabel(entries[i].deny_errno);
          break;
        case v1::SyscallEntry::AGENT:
          bodies[i] = notify_;
          break;
        default:
          bodies[i] = a_.NewLabel();
      }
    }
    Dispatch(entries, bodies, 0, entries.size());
    // 4: argument rules.
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].handling != v1::SyscallEntry::KERNEL_ARGS) continue;
      a_.Bind(bodies[i]);
      if (entries[i].notify_if_arg0 != 0) {
        // Those bits go to the agent (which decides the table's rules, if
        // any, itself); the rest to the table's rules, or ALLOW.
        int hit = a_.NewLabel(), rules = a_.NewLabel();
        a_.Load(ArgLow(0));
        a_.And(entries[i].notify_if_arg0);
        a_.Jeq(0, Assembler::Next(), a_.To(hit));
        a_.Ja(entries[i].source == nullptr ? allow_ : rules);  // (JA: the returns are far)
        a_.Bind(hit);
        a_.Ja(notify_);
        if (entries[i].source == nullptr) continue;
        a_.Bind(rules);
      }
      PORTCULLIS_RETURN_IF_ERROR(ArgumentRules(*entries[i].source));
    }
    // Shared returns.
    a_.Bind(allow_);
    a_.Ret(SECCOMP_RET_ALLOW);
    a_.Bind(notify_);
    a_.Ret(SECCOMP_RET_USER_NOTIF);
    for (const auto& [err, label] : errno_labels_) {
      a_.Bind(label);
      a_.Ret(SECCOMP_RET_ERRNO | (static_cast<std::uint32_t>(err) & SECCOMP_RET_DATA));
    }
    PORTCULLIS_ASSIGN_OR_RETURN(std::vector<sock_filter> code, a_.Finish());
    return FilterProgram(std::move(code), std::move(notified));
  }

 private:
  // What the filter does with `s`, after the permissive rule: nothing is
  // denied in the kernel when denies are only recorded.
  StatusOr<Handling> EffectiveHandling(const v1::SyscallEntry& s) const {
    Handling h = s.handling();
    switch (h) {
      case v1::SyscallEntry::KERNEL_ALLOW:
      case v1::SyscallEntry::AGENT:
        return h;
      case v1::SyscallEntry::KERNEL_DENY:
        if (s.deny_errno() <= 0 || s.deny_errno() > 4095) {
          return InvalidArgumentError("bad deny_errno for " + s.name());
        }
        return table_.permissive() ? v1::SyscallEntry::AGENT : h;
      case v1::SyscallEntry::KERNEL_ARGS: {
        bool denies = s.fallback() == v1::ACTION_DENY;
        if (s.fallback() != v1::ACTION_ALLOW && s.fallback() != v1::ACTION_DENY) {
          return InvalidArgumentError("KERNEL_ARGS fallback must be allow or deny: " + s.name());
        }
        if (s.rules_size() == 0)
          return InvalidArgumentError("KERNEL_ARGS without rules: " + s.name());
        for (std::uint32_t r : s.rules()) {
          if (r >= static_cast<std::uint32_t>(table_.rules_size())) {
            return InvalidArgumentError("rule index out of range in " + s.name());
          }
          const v1::Rule& rule = table_.rules(static_cast<int>(r));
          if (!rule.has_syscall() || rule.syscall().number() != s.number()) {
            return InvalidArgumentError("rule " + rule.id() + " is not a rule on " + s.name());
          }
          if (!rule.any_program() ||
              (rule.action() != v1::ACTION_ALLOW && rule.action() != v1::ACTION_DENY)) {
            return InvalidArgumentError("rule " + rule.id() + " cannot be decided in the kernel");
          }
          denies = denies || rule.action() == v1::ACTION_DENY;
        }
        return table_.permissive() && denies ? v1::SyscallEntry::AGENT : h;
      }
      default:
        return InvalidArgumentError("unknown handling for syscall " + s.name());
    }
  }

  // The supervisor takes the workload's supplementary groups, umask and root
  // to be the agent's own until a syscall that can change them is seen (see
  // WorkloadStateSyscalls): such a syscall must reach it. A kernel deny stays
  // (the change never happens); anything else goes to the agent, which
  // decides the table's rules on it and notes the change. clone only with a
  // namespace flag (argument 0), ahead of its own rules; clone3, whose flags
  // the filter cannot read, fails with ENOSYS unless the table says
  // otherwise (the C libraries then fall back to clone); a table that allows
  // it outright has it sent to the agent (which then assumes the worst).
  void WatchWorkloadState(std::vector<Entry>& entries, const std::vector<int>& allowed) const {
    const int clone = policy::SyscallNumber("clone");
    const int clone3 = policy::SyscallNumber("clone3");
    for (int nr : WorkloadStateSyscalls()) {
      auto it =
          std::find_if(entries.begin(), entries.end(), [nr](const Entry& e) { return e.nr == nr; });
      if (it == entries.end()) {
        const bool listed = std::find(allowed.begin(), allowed.end(), nr) != allowed.end();
        if (nr == clone) {
          entries.push_back({.nr = nr,
                             .handling = v1::SyscallEntry::KERNEL_ARGS,
                             .notify_if_arg0 = kNamespaceCloneFlags});
        } else if (nr == clone3 && !listed) {
          entries.push_back(
              {.nr = nr, .handling = v1::SyscallEntry::KERNEL_DENY, .deny_errno = ENOSYS});
        } else {
          entries.push_back({.nr = nr, .handling = v1::SyscallEntry::AGENT});
        }
      } else if (it->handling == v1::SyscallEntry::KERNEL_ARGS) {
        // clone's own rules (deny-namespaces, ...) stay in the kernel for
        // every clone without a namespace flag: threads and forks.
        if (nr == clone) {
          it->notify_if_arg0 = kNamespaceCloneFlags;
        } else {
          it->handling = v1::SyscallEntry::AGENT;
        }
      }
    }
  }

  int ErrnoLabel(int err) {
    auto it = errno_labels_.find(err);
    if (it != errno_labels_.end()) return it->second;
    int label = a_.NewLabel();
    errno_labels_.emplace(err, label);
    return label;
  }

  // A binary search over entries[lo, hi) on the syscall number in A.
  void Dispatch(const std::vector<Entry>& e, const std::vector<int>& bodies, std::size_t lo,
                std::size_t hi) {
    constexpr std::size_t kLinear = 4;
    if (hi - lo <= kLinear) {
      for (std::size_t i = lo; i < hi; ++i) {
        int skip = a_.NewLabel();
        a_.Jeq(static_cast<std::uint32_t>(e[i].nr), Assembler::Next(), a_.To(skip));
        a_.Ja(bodies[i]);
        a_.Bind(skip);
      }
      a_.Ja(allow_);
      return;
    }
    std::size_t mid = lo + (hi - lo) / 2;
    int left = a_.NewLabel(), right = a_.NewLabel();
    a_.Jge(static_cast<std::uint32_t>(e[mid].nr), Assembler::Next(), a_.To(left));
    a_.Ja(right);
    a_.Bind(left);
    Dispatch(e, bodies, lo, mid);
    a_.Bind(right);
    Dispatch(e, bodies, mid, hi);
  }

  int ActionLabel(v1::Action action, int deny_errno) {
    return action == v1::ACTION_ALLOW ? allow_ : ErrnoLabel(deny_errno);
  }

  Status ArgumentRules(const v1::SyscallEntry& s) {
    const std::uint32_t narrow = Int32Arguments(s.number());
    for (std::uint32_t r : s.rules()) {
      const v1::Rule& rule = table_.rules(static_cast<int>(r));
      if (rule.syscall().args_size() > 6) return InvalidArgumentError("too many conditions");
      int fail = a_.NewLabel();
      for (const v1::ArgCondition& c : rule.syscall().args()) {
        if (c.index() > 5) return InvalidArgumentError("argument index out of range: " + rule.id());
        PORTCULLIS_RETURN_IF_ERROR(Condition(c, (narrow >> c.index()) & 1, fail));
      }
      int err = rule.deny_errno() != 0 ? rule.deny_errno() : s.deny_errno();
      if (rule.action() == v1::ACTION_DENY && (err <= 0 || err > 4095)) {
        return InvalidArgumentError("bad deny_errno for rule " + rule.id());
      }
      a_.Ja(ActionLabel(rule.action(), err));
      a_.Bind(fail);
    }
    if (s.fallback() == v1::ACTION_DENY && (s.deny_errno() <= 0 || s.deny_errno() > 4095)) {
      return InvalidArgumentError("bad deny_errno for " + s.name());
    }
    a_.Ja(ActionLabel(s.fallback(), s.deny_errno()));
    return OkStatus();
  }

  // Falls through when `c` holds, jumps to `fail` when it does not. A narrow
  // (32-bit) argument is compared on its low half only: the kernel ignores
  // the high half, and so must the filter.
  Status Condition(const v1::ArgCondition& c, bool narrow, int fail) {
    const auto next = Assembler::Next();
    const auto F = a_.To(fail);
    const std::uint32_t i = c.index();
    switch (c.op()) {
      case v1::ArgCondition::OP_EQUAL:
        if (!narrow) {
          a_.Load(ArgHigh(i));
          a_.Jeq(High(c.value()), next, F);
        }
        a_.Load(ArgLow(i));
        a_.Jeq(Low(c.value()), next, F);
        return OkStatus();
      case v1::ArgCondition::OP_NOT_EQUAL: {
        int pass = a_.NewLabel();
        if (!narrow) {
          a_.Load(ArgHigh(i));
          a_.Jeq(High(c.value()), next, a_.To(pass));
        }
        a_.Load(ArgLow(i));
        a_.Jeq(Low(c.value()), F, a_.To(pass));
        a_.Bind(pass);
        return OkStatus();
      }
      case v1::ArgCondition::OP_MASK:
        if (!narrow) {
          a_.Load(ArgHigh(i));
          a_.And(High(c.mask_or_hi()));
          a_.Jeq(High(c.value()), next, F);
        }
        a_.Load(ArgLow(i));
        a_.And(Low(c.mask_or_hi()));
        a_.Jeq(Low(c.value()), next, F);
        return OkStatus();
      case v1::ArgCondition::OP_RANGE: {
        std::uint64_t lo = c.value(), hi = c.mask_or_hi();
        if (narrow) {
          if (lo > 0xffffffffu || lo > hi) {
            a_.Ja(fail);
            return OkStatus();
          }
          hi = std::min<std::uint64_t>(hi, 0xffffffffu);
          a_.Load(ArgLow(i));
          a_.Jge(Low(lo), next, F);
          a_.Jgt(Low(hi), F, next);
          return OkStatus();
        }
        // arg >= lo
        int ge = a_.NewLabel(), pass = a_.NewLabel();
        a_.Load(ArgHigh(i));
        a_.Jgt(High(lo), a_.To(ge), next);
        a_.Jeq(High(lo), next, F);
        a_.Load(ArgLow(i));
        a_.Jge(Low(lo), a_.To(ge), F);
        a_.Bind(ge);
        // arg <= hi
        a_.Load(ArgHigh(i));
        a_.Jgt(High(hi), F, next);
        a_.Jeq(High(hi), next, a_.To(pass));
        a_.Load(ArgLow(i));
        a_.Jgt(Low(hi), F, a_.To(pass));
        a_.Bind(pass);
        return OkStatus();
      }
      default:
        return InvalidArgumentError("unknown argument operation " + std::to_string(c.op()));
    }
  }

  const v1::RuleTable& table_;
  Assembler a_;
  int allow_ = -1, notify_ = -1;
  std::map<int, int> errno_labels_;  // errno -> label of its RET
};

}  // namespace

StatusOr<FilterProgram> BuildFilter(const v1::RuleTable& table) {
  if (table.arch() != policy::kRuleTableArch) {
    return InvalidArgumentError("rule table for arch '" + table.arch() + "', this agent runs " +
                                std::string(policy::kRuleTableArch));
  }
  if (table.format() != policy::kRuleTableFormat) {
    return InvalidArgumentError("unknown rule table format " + std::to_string(table.format()));
  }
  return Generator(table).Build();
}

const std::vector<int>& WorkloadStateSyscalls() {
  static const std::vector<int> kSyscalls = [] {
    std::vector<int> v;
    for (const char* n :
         {"setgroups", "umask", "chroot", "pivot_root", "unshare", "setns", "clone", "clone3",
          "mount", "umount2", "move_mount", "open_tree", "fsmount", "mount_setattr"}) {
      int nr = policy::SyscallNumber(n);
      if (nr >= 0) v.push_back(nr);  // (a name the system's libseccomp does not know)
    }
    return v;
  }();
  return kSyscalls;
}

int InstallFilter(const FilterProgram& program, unsigned int flags) {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, program.prog());
  return r < 0 ? -errno : static_cast<int>(r);
}

std::uint32_t Int32Arguments(int syscall_number) {
  static const std::unordered_map<int, std::uint32_t> kTable = [] {
    // Arguments declared int / unsigned int / uid_t / gid_t / umode_t in the
    // kernel's SYSCALL_DEFINEs (x86-64): the kernel truncates them to 32 bits.
    const std::pair<const char*, std::uint32_t> kNarrow[] = {
        {"socket", 0b111},
        {"socketpair", 0b111},
        {"personality", 0b1},
        {"setns", 0b11},
        {"kill", 0b11},
        {"tkill", 0b11},
        {"tgkill", 0b111},
        {"prctl", 0b1},
        {"ioctl", 0b11},
        {"fcntl", 0b11},
        {"open", 0b110},
        {"openat", 0b1101},
        {"creat", 0b10},
        {"setuid", 0b1},
        {"setgid", 0b1},
        {"setreuid", 0b11},
        {"setregid", 0b11},
        {"setresuid", 0b111},
        {"setresgid", 0b111},
        {"setfsuid", 0b1},
        {"setfsgid", 0b1},
        {"keyctl", 0b1},
        {"bpf", 0b101},
        {"seccomp", 0b11},
        {"perf_event_open", 0b1110},
        {"umount2", 0b10},
        {"io_uring_setup", 0b1},
        {"io_uring_enter", 0b1111},
        {"io_uring_register", 0b1011},
        {"madvise", 0b100},
        {"setsockopt", 0b10111},
        {"getsockopt", 0b111},
        {"accept4", 0b1001},
        {"connect", 0b101},
        {"bind", 0b101},
        {"listen", 0b11},
        {"sendto", 0b101001},
        {"sendmsg", 0b101},
        {"dup", 0b1},
        {"dup2", 0b11},
        {"dup3", 0b111},
        {"memfd_create", 0b10},
        {"pidfd_open", 0b11},
        {"pidfd_getfd", 0b111},
        {"setpriority", 0b111},
        {"getpriority", 0b11},
        {"sched_setscheduler", 0b11},
        {"reboot", 0b111},
        {"mknod", 0b110},
        {"mknodat", 0b1101},
        {"chmod", 0b10},
        {"fchmod", 0b11},
        {"fchmodat", 0b101},
        {"chown", 0b110},
        {"lchown", 0b110},
        {"fchown", 0b111},
        {"fchownat", 0b11101},
        {"mkdir", 0b10},
        {"mkdirat", 0b101},
        {"flock", 0b11},
        {"close", 0b1},
        {"syslog", 0b101},
        {"mlockall", 0b1},
        {"finit_module", 0b101},
        {"delete_module", 0b10},
        {"kexec_file_load", 0b11},
        {"execveat", 0b10001},
        {"fsopen", 0b10},
        {"fsmount", 0b111},
        {"fspick", 0b101},
        {"move_mount", 0b10101},
        {"open_tree", 0b101},
        {"fsconfig", 0b10011},
        {"fanotify_init", 0b11},
        {"unlinkat", 0b101},
        {"renameat2", 0b10101},
        {"linkat", 0b10101},
        {"symlinkat", 0b10},
        {"quotactl", 0b1},
        {"shutdown", 0b11},
        {"accept", 0b1},
        {"lseek", 0b101},
        {"read", 0b1},
        {"write", 0b1},
    };
    std::unordered_map<int, std::uint32_t> m;
    for (const auto& [name, bits] : kNarrow) {
      int nr = policy::SyscallNumber(name);
      if (nr < 0) Fatal(std::string("libseccomp does not know syscall ") + name);
      m.emplace(nr, bits);
    }
    return m;
  }();
  auto it = kTable.find(syscall_number);
  return it == kTable.end() ? 0 : it->second;
}

std::string DisassembleFilter(const std::vector<sock_filter>& code) {
  std::string out;
  char line[96];
  for (std::size_t pc = 0; pc < code.size(); ++pc) {
    const sock_filter& f = code[pc];
    const char* op = "?";
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        op = "ld";
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        op = "and";
        break;
      case BPF_RET | BPF_K:
        op = "ret";
        break;
      case BPF_JMP | BPF_JA:
        op = "ja";
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        op = "jeq";
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        op = "jgt";
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        op = "jge";
        break;
      default:
        break;
    }
    if (BPF_CLASS(f.code) == BPF_JMP && f.code != (BPF_JMP | BPF_JA)) {
      std::snprintf(line, sizeof(line), "%4zu: %-3s #0x%x, %zu, %zu\n", pc, op, f.k, pc + 1 + f.jt,
                    pc + 1 + f.jf);
    } else if (f.code == (BPF_JMP | BPF_JA)) {
      std::snprintf(line, sizeof(line), "%4zu: ja  %zu\n", pc, pc + 1 + f.k);
    } else {
      std::snprintf(line, sizeof(line), "%4zu: %-3s #0x%x\n", pc, op, f.k);
    }
    out += line;
  }
  return out;
}

}  // namespace portcullis::agent
