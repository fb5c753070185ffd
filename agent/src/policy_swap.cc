#include "portcullis/agent/policy_swap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <tuple>

namespace portcullis::agent {
namespace {

// What the filter does in the kernel with one syscall that it does not send
// to the agent: everything BuildFilter reads for it.
struct KernelHandling {
  v1::SyscallEntry::Handling handling = v1::SyscallEntry::KERNEL_ALLOW;
  int deny_errno = 0;
  v1::Action fallback = v1::ACTION_UNSPECIFIED;
  // Per argument rule, in order: action, errno, conditions.
  std::vector<std::tuple<int, int, std::string>> rules;

  bool operator==(const KernelHandling&) const = default;
};

KernelHandling KernelHandlingOf(const v1::RuleTable& t, const v1::SyscallEntry* e) {
  KernelHandling k;
  if (e == nullptr || e->handling() == v1::SyscallEntry::KERNEL_ALLOW) return k;
  k.handling = e->handling();
  k.deny_errno = e->deny_errno();
  if (e->handling() != v1::SyscallEntry::KERNEL_ARGS) return k;
  k.fallback = e->fallback();
  for (std::uint32_t i : e->rules()) {
    const v1::Rule& r = t.rules(static_cast<int>(i));
    std::string all;
    for (const v1::ArgCondition& a : r.syscall().args()) {
      char buf[96];
      std::snprintf(buf, sizeof(buf), "%u:%d:%llu:%llu;", a.index(), static_cast<int>(a.op()),
                    static_cast<unsigned long long>(a.value()),
                    static_cast<unsigned long long>(a.mask_or_hi()));
      all += buf;
    }
    k.rules.emplace_back(static_cast<int>(r.action()), r.deny_errno(), all);
  }
  return k;
}

std::map<int, const v1::SyscallEntry*> EntriesOf(const v1::RuleTable& t) {
  std::map<int, const v1::SyscallEntry*> m;
  for (const v1::SyscallEntry& e : t.syscalls())
    m[e.number()] = &e;
  return m;
}

}  // namespace

StatusOr<std::vector<std::string>> SyscallsNeedingRestart(const v1::RuleTable& filter_table,
                                                          const FilterProgram& filter,
                                                          const v1::RuleTable& next) {
  auto next_filter = BuildFilter(next);
  if (!next_filter.ok()) return next_filter.status();
  const std::set<int> agent(filter.notified_syscalls().begin(), filter.notified_syscalls().end());
  const std::set<int> next_agent(next_filter->notified_syscalls().begin(),
                                 next_filter->notified_syscalls().end());
  const auto running = EntriesOf(filter_table);
  const auto wanted = EntriesOf(next);
  std::set<int> numbers;
  for (const auto& [nr, e] : running)
    numbers.insert(nr);
  for (const auto& [nr, e] : wanted)
    numbers.insert(nr);
  std::vector<std::string> blockers;
  for (int nr : numbers) {
    if (agent.count(nr) != 0) continue;  // the agent decides it, under any table
    auto r = running.find(nr);
    auto w = wanted.find(nr);
    const v1::SyscallEntry* re = r == running.end() ? nullptr : r->second;
    const v1::SyscallEntry* we = w == wanted.end() ? nullptr : w->second;
    if (next_agent.count(nr) != 0 ||
        !(KernelHandlingOf(filter_table, re) == KernelHandlingOf(next, we))) {
      blockers.push_back(we != nullptr ? we->name() : re->name());
    }
  }
  return blockers;
}

bool IsSelfOrDescendant(pid_t sender, pid_t self) {
  // Up the parent chain through /proc/PID/stat ("pid (comm) state ppid ...";
  // comm may hold spaces and parentheses: the last ')' ends it).
  for (int depth = 0; sender > 0 && depth < 4096; ++depth) {
    if (sender == self) return true;
    char path[32];
    std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(sender));
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[512];
    ssize_t n = ::read(fd, buf, sizeof(buf) - 1);
    ::close(fd);
    if (n <= 0) return false;
    buf[n] = 0;
    const char* close_paren = nullptr;
    for (const char* p = buf; *p != 0; ++p)
      if (*p == ')') close_paren = p;
    int ppid = 0;
    char state = 0;
    if (close_paren == nullptr || std::sscanf(close_paren + 1, " %c %d", &state, &ppid) != 2) {
      return false;
    }
    sender = ppid;
  }
  return false;
}

}  // namespace portcullis::agent
