// The seccomp filter: a rule table (libs/policy CompileRuleTable) turned into
// a classic-BPF program, written by hand so the rules of a syscall are tested
// in exactly the table's order (first match wins), which libseccomp cannot
// promise for rules with different actions on one syscall.
//
//   StatusOr<FilterProgram> f = BuildFilter(table);
//   // in the workload's process, after fork, before exec:
//   int listener = InstallFilter(*f, SECCOMP_FILTER_FLAG_NEW_LISTENER);
//
// Layout of the program:
//   1. the architecture must be AUDIT_ARCH_X86_64, else KILL_PROCESS (i386
//      through int 0x80 carries AUDIT_ARCH_I386);
//   2. syscall numbers with the x32 bit (0x40000000) are KILL_PROCESS;
//   3. a binary search on the number over the syscalls the table lists with a
//      handling other than KERNEL_ALLOW; a number not found is ALLOW, so the
//      kernel's action cache skips the filter for it entirely;
//   4. per syscall: KERNEL_DENY returns ERRNO(deny_errno); KERNEL_ARGS tests
//      its rules in order (all conditions of a rule must hold; 64-bit
//      comparisons on the two 32-bit halves, only the low half for arguments
//      the kernel reads as 32-bit ints, so high bits cannot smuggle a value
//      past a rule), the first rule that holds decides, else the fallback;
//      AGENT returns USER_NOTIF (the supervisor decides);
//   5. whenever the filter sends anything to the agent, it also sends the
//      syscalls that change the workload state the supervisor otherwise
//      assumes unchanged (WorkloadStateSyscalls; clone only with
//      CLONE_NEWNS or CLONE_NEWUSER; clone3, whose flags sit behind a
//      pointer, fails with ENOSYS), unless the table denies them.
// A permissive table never denies in the kernel: what would be a kernel deny
// goes to the agent, which records it and lets the call through.
//
// Thread-safety: BuildFilter is a pure function; InstallFilter is
// async-signal-safe (no allocation), for use between fork and exec.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/v1/rule_table.pb.h"

namespace portcullis::agent {

class FilterProgram {
 public:
  FilterProgram(std::vector<sock_filter> code, std::vector<int> notified)
      : code_(std::move(code)), notified_(std::move(notified)) {
    prog_.len = static_cast<unsigned short>(code_.size());
    prog_.filter = code_.data();
  }
  FilterProgram(const FilterProgram&) = delete;
  FilterProgram& operator=(const FilterProgram&) = delete;
  FilterProgram(FilterProgram&& o) noexcept
      : FilterProgram(std::move(o.code_), std::move(o.notified_)) {}
  FilterProgram& operator=(FilterProgram&&) = delete;

  const std::vector<sock_filter>& code() const { return code_; }
  const sock_fprog* prog() const { return &prog_; }
  // Syscalls the filter sends to the agent (USER_NOTIF), ascending. Non-empty
  // means the filter needs a listener that answers.
  const std::vector<int>& notified_syscalls() const { return notified_; }
  bool notifies() const { return !notified_.empty(); }

 private:
  std::vector<sock_filter> code_;
  std::vector<int> notified_;
  sock_fprog prog_{};
};

// InvalidArgument for a table that does not hold together (unknown handling,
// bad argument index or operation, duplicate syscall, foreign arch).
StatusOr<FilterProgram> BuildFilter(const v1::RuleTable& table);

// Sets NO_NEW_PRIVS and installs `program` for the calling thread with the
// seccomp(2) `flags`. Returns the listener fd with
// SECCOMP_FILTER_FLAG_NEW_LISTENER, otherwise 0; -errno on failure.
// Async-signal-safe.
int InstallFilter(const FilterProgram& program, unsigned int flags);

// setgroups, umask, chroot, pivot_root, unshare, setns, clone and clone3, and
// the mount calls (mount, umount2, move_mount, open_tree, fsmount,
// mount_setattr): the only ways the workload's supplementary groups, umask,
// root, namespaces or mounts can come to differ from what the agent saw when
// the workload started. See the filter's step 5 and the supervisor.
const std::vector<int>& WorkloadStateSyscalls();

// Which arguments of an x86-64 syscall the kernel reads as 32-bit values (int,
// unsigned int, uid_t, ...): bit i for argument i.
std::uint32_t Int32Arguments(int syscall_number);

// The program as text, one instruction a line, for tests and debugging.
std::string DisassembleFilter(const std::vector<sock_filter>& code);

}  // namespace portcullis::agent
