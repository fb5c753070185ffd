// The seccomp filter generator. Two kinds of evidence:
//  - the real kernel: each test forks a child, installs the filter and makes
//    the system calls (allowed, denied with EPERM, argument rules in order,
//    x32 and int 0x80 killed, agent-bound calls with no listener -> ENOSYS);
//  - a classic-BPF interpreter over every syscall number and over random
//    argument rules, checked against libs/policy's evaluator (first match
//    wins), so coverage and ordering are verified exhaustively.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "portcullis/agent/bpf_filter.h"
#include "portcullis/agent/policy_source.h"
#include "portcullis/policy/compiler.h"
#include "portcullis/policy/evaluator.h"

namespace portcullis::agent {
namespace {

using policy::Action;
using policy::ArgCondition;
using policy::ArgOp;

v1::RuleTable TableOf(const std::string& json) {
  auto p = LoadPolicy(json, "test", false);
  EXPECT_TRUE(p.ok()) << p.status();
  return p.ok() ? p->table : v1::RuleTable();
}

FilterProgram FilterOf(const v1::RuleTable& t) {
  auto f = BuildFilter(t);
  if (!f.ok()) {
    ADD_FAILURE() << f.status();
    return FilterProgram({}, {});
  }
  return std::move(*f);
}

// Runs `body` in a forked child under `f`; returns the wait status. The child
// exits 200 if the filter cannot be installed.
int RunFiltered(const FilterProgram& f, const std::function<int()>& body) {
  pid_t pid = fork();
  if (pid == 0) {
    if (InstallFilter(f, 0) != 0) _exit(200);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// errno of a failed raw syscall, 0 if it succeeded.
int Errno(long result) {
  return result < 0 ? errno : 0;
}

bool KilledBySigsys(int status) {
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS;
}
int ExitOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1000 + WTERMSIG(status);
}

// --- a classic-BPF interpreter for the instructions the generator emits ---

std::uint32_t Eval(const std::vector<sock_filter>& code, const seccomp_data& d) {
  std::uint32_t a = 0;
  std::size_t pc = 0;
  auto word = [&](std::uint32_t off) {
    std::uint32_t w;
    std::memcpy(&w, reinterpret_cast<const char*>(&d) + off, 4);
    return w;
  };
  for (int steps = 0; steps < 100000 && pc < code.size(); ++steps) {
    const sock_filter& f = code[pc++];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        a = word(f.k);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= f.k;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      case BPF_JMP | BPF_JA:
        pc += f.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += a > f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= f.k ? f.jt : f.jf;
        break;
      default:
        ADD_FAILURE() << "unexpected instruction " << f.code << " at " << pc - 1;
        return 0xdeadbeef;
    }
  }
  ADD_FAILURE() << "ran off the program";
  return 0xdeadbeef;
}

seccomp_data Call(int nr, std::array<std::uint64_t, 6> args = {},
                  std::uint32_t arch = AUDIT_ARCH_X86_64) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = arch;
  for (int i = 0; i < 6; ++i)
    d.args[i] = args[static_cast<std::size_t>(i)];
  return d;
}

constexpr std::uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr std::uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
constexpr std::uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
std::uint32_t ErrnoRet(int e) {
  return SECCOMP_RET_ERRNO | static_cast<std::uint32_t>(e);
}

// --- the kernel ---

TEST(Filter, EmptyPolicyAllowsEverythingButForeignAbis) {
  FilterProgram f = FilterOf(TableOf(R"({"rules": []})"));
  EXPECT_FALSE(f.notifies());
  EXPECT_LE(f.code().size(), 9u) << DisassembleFilter(f.code());  // the guards only
  EXPECT_EQ(ExitOf(RunFiltered(f, [] { return getpid() > 0 && getppid() > 0 ? 0 : 1; })), 0);
}

TEST(Filter, KillsX32Syscalls) {
  FilterProgram f = FilterOf(TableOf(R"({"rules": []})"));
  // getpid through the x32 ABI: ENOSYS on kernels without x32, a bypass on
  // kernels with it; the filter kills either way.
  int status = RunFiltered(f, [] {
    syscall(0x40000000 | SYS_getpid);
    return 0;
  });
  EXPECT_TRUE(KilledBySigsys(status)) << status;
}

int Int80Getpid() {
  long ret = 20;  // __NR_getpid on i386
  asm volatile("int $0x80" : "+a"(ret) : : "memory");
  return ret > 0 ? 0 : 1;
}

TEST(Filter, KillsInt80Syscalls) {
  int baseline = 0;
  pid_t pid = fork();
  if (pid == 0) _exit(Int80Getpid());
  waitpid(pid, &baseline, 0);
  if (ExitOf(baseline) != 0) GTEST_SKIP() << "this kernel has no i386 emulation";
  FilterProgram f = FilterOf(TableOf(R"({"rules": []})"));
  EXPECT_TRUE(KilledBySigsys(RunFiltered(f, &Int80Getpid)));
}

TEST(Filter, UnconditionalDenyIsEperm) {
  v1::RuleTable t =
      TableOf(R"({"rules": [{"type": "syscall", "action": "deny", "syscall": "personality"}]})");
  FilterProgram f = FilterOf(t);
  EXPECT_FALSE(f.notifies());
  int status = RunFiltered(f, [] {
    if (Errno(personality(0xffffffff)) != EPERM) return 1;
    if (getpid() <= 0) return 2;  // others untouched
    return 0;
  });
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(Filter, ArgumentRulesFirstMatchWins) {
  // Rule order decides: the allow of one offset comes before the deny of the
  // range holding it.
  v1::RuleTable t = TableOf(R"({"rules": [
      {"type": "syscall", "action": "allow", "syscall": "lseek",
       "args": [{"index": 1, "op": "eq", "value": 4294967303}]},
      {"type": "syscall", "action": "deny", "syscall": "lseek",
       "args": [{"index": 1, "op": "range", "min": 4294967296, "max": 8589934591}]},
      {"type": "syscall", "action": "deny", "syscall": "lseek",
       "args": [{"index": 1, "op": "mask", "mask": 18374686479671623680,
                 "value": 1152921504606846976}]}]})");
  FilterProgram f = FilterOf(t);
  EXPECT_FALSE(f.notifies());
  int status = RunFiltered(f, [] {
    int fd = memfd_create("lseek", 0);
    if (fd < 0) return 10;
    if (Errno(lseek(fd, 0x100000007, SEEK_SET)) != 0) return 1;             // rule 1 allows
    if (Errno(lseek(fd, 0x100000006, SEEK_SET)) != EPERM) return 2;         // rule 2 denies
    if (Errno(lseek(fd, 0x1ffffffff, SEEK_SET)) != EPERM) return 3;         // range end
    if (Errno(lseek(fd, 0x200000000, SEEK_SET)) != 0) return 4;             // past it
    if (Errno(lseek(fd, 0xffffffff, SEEK_SET)) != 0) return 5;              // before it
    if (Errno(lseek(fd, 0x1000000000000005, SEEK_SET)) != EPERM) return 6;  // rule 3 (mask)
    if (Errno(lseek(fd, 5, SEEK_SET)) != 0) return 7;                       // fallback allow
    return 0;
  });
  EXPECT_EQ(ExitOf(status), 0);

  // The same rules with the deny first: the allow never gets its turn.
  v1::RuleTable reversed = TableOf(R"({"rules": [
      {"type": "syscall", "action": "deny", "syscall": "lseek",
       "args": [{"index": 1, "op": "range", "min": 4294967296, "max": 8589934591}]},
      {"type": "syscall", "action": "allow", "syscall": "lseek",
       "args": [{"index": 1, "op": "eq", "value": 4294967303}]}]})");
  status = RunFiltered(FilterOf(reversed), [] {
    int fd = memfd_create("lseek", 0);
    return Errno(lseek(fd, 0x100000007, SEEK_SET)) == EPERM ? 0 : 1;
  });
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(Filter, HighBitsCannotSmuggleA32BitArgumentPastARule) {
  // personality(unsigned int): the kernel ignores the high half of the
  // register, so the filter must too.
  v1::RuleTable t = TableOf(R"({"rules": [{"type": "syscall", "action": "deny",
      "syscall": "personality", "args": [{"index": 0, "op": "eq", "value": 4294967295}]}]})");
  int status = RunFiltered(FilterOf(t), [] {
    if (Errno(syscall(SYS_personality, 0xffffffffUL)) != EPERM) return 1;
    if (Errno(syscall(SYS_personality, 0x7ffffffffUL)) != EPERM) return 2;
    if (Errno(syscall(SYS_personality, 0xffffffffffffffffUL)) != EPERM) return 3;
    return 0;
  });
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(Filter, DenyPtraceHardeningLetsTracemeThrough) {
  v1::RuleTable t = TableOf(R"({"hardening": ["deny-ptrace"], "rules": []})");
  int status = RunFiltered(FilterOf(t), [] {
    // Without the filter PEEKDATA of a process we do not trace is ESRCH.
    if (Errno(ptrace(PTRACE_PEEKDATA, getppid(), nullptr, nullptr)) != EPERM) return 1;
    if (Errno(syscall(SYS_process_vm_readv, getppid(), nullptr, 0, nullptr, 0, 0)) != EPERM) {
      return 2;
    }
    if (Errno(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)) != 0) return 3;
    return 0;
  });
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(Filter, AgentSyscallsGoToTheListener) {
  // A file rule needs the path: openat goes to the agent. With no listener
  // the kernel answers ENOSYS (fail closed).
  v1::RuleTable t = TableOf(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/etc/shadow"], "operations": ["read"]}]})");
  FilterProgram f = FilterOf(t);
  EXPECT_TRUE(f.notifies());
  int status = RunFiltered(f, [] {
    if (Errno(syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY)) != ENOSYS) return 1;
    if (Errno(syscall(SYS_open, "/etc/hostname", O_RDONLY)) != ENOSYS) return 2;
    if (getpid() <= 0) return 3;
    return 0;
  });
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(Filter, NewListenerIsReturned) {
  v1::RuleTable t = TableOf(R"({"rules": [{"type": "file", "action": "deny",
      "paths": ["/etc/shadow"]}]})");
  FilterProgram f = FilterOf(t);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = InstallFilter(f, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    // A second listener on the same chain is refused (EBUSY).
    int again = InstallFilter(f, SECCOMP_FILTER_FLAG_NEW_LISTENER);
    _exit(fd > 2 && again == -EBUSY ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(Filter, PermissiveTablesKeepDeniesOutOfTheKernel) {
  v1::RuleTable t = TableOf(R"({"mode": "permissive", "rules": [
      {"type": "syscall", "action": "deny", "syscall": "personality"}]})");
  FilterProgram f = FilterOf(t);
  int nr = policy::SyscallNumber("personality");
  EXPECT_EQ(Eval(f.code(), Call(nr)), kNotify);
  // A compiled enforcing table forced permissive (--permissive) too.
  auto forced = LoadPolicy(R"({"rules": [{"type": "syscall", "action": "deny",
      "syscall": "personality"}]})",
                           "t", true);
  ASSERT_TRUE(forced.ok());
  std::string bytes;
  ASSERT_TRUE(TableOf(R"({"rules": [{"type": "syscall", "action": "deny",
      "syscall": "personality"}]})")
                  .SerializeToString(&bytes));
  auto binary = LoadPolicy(bytes, "t", true);
  ASSERT_TRUE(binary.ok()) << binary.status();
  EXPECT_EQ(Eval(FilterOf(binary->table).code(), Call(nr)), kNotify);
  auto enforcing = LoadPolicy(bytes, "t", false);
  ASSERT_TRUE(enforcing.ok());
  EXPECT_EQ(Eval(FilterOf(enforcing->table).code(), Call(nr)), ErrnoRet(EPERM));
}

// --- exhaustive checks with the interpreter ---

TEST(FilterProgram, EveryEntryPointOfEveryBehaviourIsCovered) {
  v1::RuleTable t = TableOf(R"({"defaults": {"network": "deny"}, "rules": [
      {"type": "file", "action": "deny", "paths": ["/secret/"]},
      {"type": "network", "action": "allow", "direction": "outbound", "ports": ["443"]}]})");
  FilterProgram f = FilterOf(t);
  std::set<int> expected;
  for (const policy::CategorySyscall& s : policy::CategorySyscalls())
    expected.insert(policy::SyscallNumber(s.name));
  std::set<int> listed;
  for (const v1::SyscallEntry& e : t.syscalls())
    if (e.handling() == v1::SyscallEntry::AGENT) listed.insert(e.number());
  EXPECT_EQ(listed, expected);  // the compiler routes all of them to the agent ...
  // io_uring, file handles and mounts would bypass them all: the compiler
  // denies them (implied deny-io-uring, deny-file-handles and deny-mount), in
  // the kernel.
  std::set<int> io_uring;
  for (const char* n :
       {"io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at"})
    io_uring.insert(policy::SyscallNumber(n));
  const std::vector<policy::HardeningRule> mounts =
      *policy::HardeningRules(policy::kImpliedMountSet);
  for (const policy::HardeningRule& h : mounts)
    io_uring.insert(policy::SyscallNumber(h.syscall));
  // The filter adds what the supervisor watches (WorkloadStateSyscalls; clone
  // only with a namespace flag, clone3 fails: FilterProgram.
  // WorkloadStateChangesReachTheAgent).
  std::set<int> state(WorkloadStateSyscalls().begin(), WorkloadStateSyscalls().end());
  const int clone = policy::SyscallNumber("clone"), clone3 = policy::SyscallNumber("clone3");
  for (int nr = 0; nr < 1024; ++nr) {
    // ... and so does the filter, and nothing else.
    EXPECT_EQ(Eval(f.code(), Call(nr)), expected.count(nr)   ? kNotify
                                        : io_uring.count(nr) ? ErrnoRet(EPERM)
                                        : nr == clone3       ? ErrnoRet(ENOSYS)
                                        : nr == clone        ? kAllow
                                        : state.count(nr)    ? kNotify
                                                             : kAllow)
        << nr;
    EXPECT_EQ(Eval(f.code(), Call(nr | 0x40000000)), kKill) << nr;
    EXPECT_EQ(Eval(f.code(), Call(nr, {}, AUDIT_ARCH_I386)), kKill) << nr;
  }
  state.erase(clone);
  state.erase(clone3);
  for (int nr : io_uring)
    state.erase(nr);
  expected.insert(state.begin(), state.end());
  EXPECT_EQ(std::set<int>(f.notified_syscalls().begin(), f.notified_syscalls().end()), expected);
}

TEST(FilterProgram, WorkloadStateChangesReachTheAgent) {
  // The supervisor takes the workload's groups, umask and root to be the
  // agent's until one of these calls is seen: each must reach it.
  const int clone = policy::SyscallNumber("clone"), clone3 = policy::SyscallNumber("clone3");
  const int setgroups = policy::SyscallNumber("setgroups"), umask = policy::SyscallNumber("umask");
  FilterProgram files = FilterOf(TableOf(R"({"rules": [
      {"type": "file", "action": "deny", "paths": ["/secret/"]},
      {"type": "syscall", "action": "deny", "syscall": "setgroups"}]})"));
  for (const char* n : {"umask", "chroot", "unshare", "setns"})
    EXPECT_EQ(Eval(files.code(), Call(policy::SyscallNumber(n))), kNotify) << n;
  // A kernel deny stays: the change never happens.
  EXPECT_EQ(Eval(files.code(), Call(setgroups)), ErrnoRet(EPERM));
  // clone: a thread or a process stays in the kernel, a new mount or user
  // namespace goes to the agent, whatever else is in the flags or in the
  // high half of the argument.
  EXPECT_EQ(Eval(files.code(), Call(clone, {CLONE_VM | CLONE_THREAD | CLONE_SIGHAND})), kAllow);
  EXPECT_EQ(Eval(files.code(), Call(clone, {SIGCHLD | (0xffffffffull << 32)})), kAllow);
  EXPECT_EQ(Eval(files.code(), Call(clone, {CLONE_NEWNS | SIGCHLD})), kNotify);
  EXPECT_EQ(Eval(files.code(), Call(clone, {CLONE_NEWUSER})), kNotify);
  EXPECT_EQ(Eval(files.code(), Call(clone, {CLONE_NEWPID | CLONE_NEWUSER | CLONE_NEWNS})), kNotify);
  EXPECT_EQ(Eval(files.code(), Call(clone3)), ErrnoRet(ENOSYS));
  // The table's own rules on them win: decided by the agent (argument
  // rules), or kept (a deny of clone3).
  FilterProgram own = FilterOf(TableOf(R"({"rules": [
      {"type": "file", "action": "deny", "paths": ["/secret/"]},
      {"type": "syscall", "action": "deny", "syscall": "umask", "args": [{"index": 0, "op": "eq", "value": 0}]},
      {"type": "syscall", "action": "deny", "syscall": "clone3"}]})"));
  EXPECT_EQ(Eval(own.code(), Call(umask, {0})), kNotify);
  EXPECT_EQ(Eval(own.code(), Call(clone3)), ErrnoRet(EPERM));
  // clone's own argument rules stay in the kernel for the clones without a
  // namespace flag (a fork, a thread), behind the agent's test.
  FilterProgram hardened = FilterOf(TableOf(R"({"hardening": ["deny-namespaces"], "rules": [
      {"type": "file", "action": "deny", "paths": ["/secret/"]},
      {"type": "syscall", "action": "deny", "syscall": "clone",
       "args": [{"index": 0, "op": "mask", "mask": 256, "value": 256}]}]})"));
  EXPECT_EQ(Eval(hardened.code(), Call(clone, {SIGCHLD})), kAllow);
  EXPECT_EQ(Eval(hardened.code(), Call(clone, {CLONE_VM | SIGCHLD})), ErrnoRet(EPERM));
  EXPECT_EQ(Eval(hardened.code(), Call(clone, {CLONE_NEWNS | SIGCHLD})), kNotify);
  // The mount calls: a mount can give a file a second name, or bring in a
  // file system that matches names regardless of case. A policy that decides
  // files denies them in the kernel (implied deny-mount) unless it decided
  // about mounts itself; then they reach the agent.
  for (const char* n : {"mount", "umount2", "move_mount", "open_tree", "fsmount", "pivot_root"})
    EXPECT_EQ(Eval(files.code(), Call(policy::SyscallNumber(n))), ErrnoRet(EPERM)) << n;
  FilterProgram mounts = FilterOf(TableOf(R"({"rules": [
      {"type": "file", "action": "deny", "paths": ["/secret/"]},
      {"type": "syscall", "action": "allow", "syscall": "mount"}]})"));
  for (const char* n :
       {"mount", "umount2", "move_mount", "open_tree", "fsmount", "mount_setattr", "pivot_root"})
    EXPECT_EQ(Eval(mounts.code(), Call(policy::SyscallNumber(n))), kNotify) << n;
  // A table that allows clone3 outright (a table made elsewhere) keeps it
  // working: the agent gets it.
  v1::RuleTable allows = TableOf(R"({"rules": [
      {"type": "file", "action": "deny", "paths": ["/secret/"]}]})");
  v1::SyscallEntry* e = allows.add_syscalls();
  e->set_number(clone3);
  e->set_name("clone3");
  e->set_handling(v1::SyscallEntry::KERNEL_ALLOW);
  EXPECT_EQ(Eval(FilterOf(allows).code(), Call(clone3)), kNotify);
  // A filter that sends nothing to the agent adds nothing: no listener.
  FilterProgram kernel_only = FilterOf(TableOf(R"({"rules": [
      {"type": "syscall", "action": "deny", "syscall": "personality"}]})"));
  EXPECT_FALSE(kernel_only.notifies());
  for (int nr : WorkloadStateSyscalls()) {
    EXPECT_EQ(Eval(kernel_only.code(), Call(nr, {CLONE_NEWNS})), kAllow) << nr;
  }
}

TEST(FilterProgram, ManySyscallsDispatchCorrectly) {
  // Every third syscall number denied with its own errno: a deep search tree.
  policy::Policy p;
  std::map<int, int> denied;
  for (int nr = 0; nr < 450; nr += 3) {
    std::string name = policy::SyscallName(nr);
    if (name.empty()) continue;
    policy::SyscallRule s{.syscall = name, .number = nr};
    p.rules.push_back({.id = "r" + std::to_string(nr), .action = Action::kDeny, .body = s});
    denied[nr] = 0;
  }
  auto t = policy::CompileRuleTable(p);
  ASSERT_TRUE(t.ok()) << t.status();
  for (const v1::SyscallEntry& e : t->syscalls())
    if (denied.count(e.number())) denied[e.number()] = e.deny_errno();
  FilterProgram f = FilterOf(*t);
  for (int nr = 0; nr < 1024; ++nr) {
    std::uint32_t want = denied.count(nr) ? ErrnoRet(denied[nr]) : kAllow;
    EXPECT_EQ(Eval(f.code(), Call(nr)), want) << nr;
  }
}

// Random argument rules on lseek's 64-bit offset against the evaluator.
TEST(FilterProgram, ArgumentRulesAgreeWithTheEvaluator) {
  std::mt19937_64 rng(20261128);
  const std::uint64_t kInteresting[] = {0,           1,          2,           0x7fffffff,
                                        0x80000000,  0xffffffff, 0x100000000, 0x100000001,
                                        0x1ffffffff, ~0ull,      ~0ull - 1,   0xff00000000000000};
  auto pick = [&] {
    return rng() % 3 == 0 ? rng() : kInteresting[rng() % std::size(kInteresting)];
  };
  const int nr = policy::SyscallNumber("lseek");
  int checked = 0, denied = 0;
  for (int round = 0; round < 150; ++round) {
    policy::Policy p;
    int rules = 1 + static_cast<int>(rng() % 6);
    for (int r = 0; r < rules; ++r) {
      policy::SyscallRule s{.syscall = "lseek", .number = nr};
      int conds = 1 + static_cast<int>(rng() % 3);
      for (int c = 0; c < conds; ++c) {
        ArgCondition a{.index = 1, .op = static_cast<ArgOp>(rng() % 4)};
        a.value = pick();
        a.mask_or_hi = pick();
        if (a.op == ArgOp::kRange && a.value > a.mask_or_hi) std::swap(a.value, a.mask_or_hi);
        s.args.push_back(a);
      }
      p.rules.push_back({.id = "r" + std::to_string(r),
                         .action = rng() % 2 ? Action::kAllow : Action::kDeny,
                         .body = s});
    }
    auto t = policy::CompileRuleTable(p);
    ASSERT_TRUE(t.ok()) << t.status();
    auto compiled = policy::CompiledPolicy::Load(*t);
    ASSERT_TRUE(compiled.ok());
    FilterProgram f = FilterOf(*t);
    for (int probe = 0; probe < 200; ++probe) {
      std::uint64_t arg = pick();
      if (probe < 24) arg = kInteresting[probe % std::size(kInteresting)] + (probe / 12);
      std::optional<policy::Decision> d =
          (*compiled)->DecideSyscall({.number = nr, .args = {3, arg, 0}, .program = "/x"});
      std::uint32_t want = kAllow;
      if (d && d->action == Action::kDeny) {
        const v1::SyscallEntry* e = nullptr;
        for (const auto& s : t->syscalls())
          if (s.number() == nr) e = &s;
        ASSERT_NE(e, nullptr);
        want = ErrnoRet(e->deny_errno());
        ++denied;
      }
      ASSERT_EQ(Eval(f.code(), Call(nr, {3, arg, 0})), want)
          << "round " << round << " arg " << arg << "\n"
          << policy::RuleTableText(*t) << DisassembleFilter(f.code());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 150 * 200);
  // Both outcomes were exercised, in quantity.
  EXPECT_GT(denied, checked / 10);
  EXPECT_LT(denied, checked - checked / 10);
}

TEST(FilterProgram, LongRuleListsUseLongJumps) {
  // 400 rules on one syscall: far more than a conditional jump reaches.
  policy::Policy p;
  const int nr = policy::SyscallNumber("lseek");
  for (int r = 0; r < 400; ++r) {
    policy::SyscallRule s{
        .syscall = "lseek",
        .number = nr,
        .args = {{.index = 1, .op = ArgOp::kEqual, .value = 1000 + static_cast<std::uint64_t>(r)}}};
    p.rules.push_back({.id = "r" + std::to_string(r), .action = Action::kDeny, .body = s});
  }
  auto t = policy::CompileRuleTable(p);
  ASSERT_TRUE(t.ok());
  FilterProgram f = FilterOf(*t);
  EXPECT_GT(f.code().size(), 1000u);
  EXPECT_EQ(Eval(f.code(), Call(nr, {3, 1399})), ErrnoRet(EPERM));
  EXPECT_EQ(Eval(f.code(), Call(nr, {3, 1400})), kAllow);
  EXPECT_EQ(Eval(f.code(), Call(nr, {3, 1000})), ErrnoRet(EPERM));
  // And the kernel agrees.
  int status = RunFiltered(f, [] {
    int fd = memfd_create("lseek", 0);
    if (Errno(lseek(fd, 1399, SEEK_SET)) != EPERM) return 1;
    if (Errno(lseek(fd, 1400, SEEK_SET)) != 0) return 2;
    return 0;
  });
  EXPECT_EQ(ExitOf(status), 0);
}

TEST(FilterProgram, RefusesTablesThatDoNotHoldTogether) {
  v1::RuleTable good = TableOf(R"({"rules": [{"type": "syscall", "action": "deny",
      "syscall": "lseek", "args": [{"index": 1, "op": "eq", "value": 5}]}]})");
  ASSERT_TRUE(BuildFilter(good).ok());
  int lseek = -1;
  for (int i = 0; i < good.syscalls_size(); ++i)
    if (good.syscalls(i).name() == "lseek") lseek = i;
  ASSERT_GE(lseek, 0);
  ASSERT_EQ(good.syscalls(lseek).handling(), v1::SyscallEntry::KERNEL_ARGS);
  ASSERT_EQ(good.syscalls(lseek).rules_size(), 1);
  v1::RuleTable t = good;
  t.set_arch("aarch64");
  EXPECT_FALSE(BuildFilter(t).ok());
  t = good;
  t.set_format(99);
  EXPECT_FALSE(BuildFilter(t).ok());
  t = good;
  t.mutable_syscalls(lseek)->set_handling(v1::SyscallEntry::HANDLING_UNSPECIFIED);
  EXPECT_FALSE(BuildFilter(t).ok());
  t = good;
  t.mutable_rules(0)->mutable_syscall()->mutable_args(0)->set_index(6);
  EXPECT_FALSE(BuildFilter(t).ok());
  t = good;
  t.mutable_syscalls(lseek)->set_rules(0, 57);
  EXPECT_FALSE(BuildFilter(t).ok());
  t = good;
  *t.add_syscalls() = good.syscalls(lseek);
  EXPECT_FALSE(BuildFilter(t).ok());
  t = good;
  t.mutable_rules(0)->set_action(v1::ACTION_MONITOR);
  EXPECT_FALSE(BuildFilter(t).ok());
}

}  // namespace
}  // namespace portcullis::agent
