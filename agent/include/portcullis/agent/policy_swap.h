// Policy hot swap: whether a new rule table can take over from the running
// one while the workload runs. The seccomp filter cannot change once the
// workload has started; only the agent's own decisions can. So a new table is
// enforceable by the running filter only if, for every syscall, either the
// filter already sends it to the agent (which then decides it under the new
// table), or the filter's in-kernel handling of it is exactly the new table's
// (same allow, same errno, same argument rules in the same order).
//
//   auto blockers = SyscallsNeedingRestart(filter_table, *filter, next.table);
//   if (blockers.ok() && blockers->empty()) supervisor.ReplacePolicy(next);
//   else log the names: those syscalls need a new filter (a restart).
//
// Pure functions; `filter_table` is the table the running filter was built
// from (not the last table swapped in: the filter never changes).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "portcullis/agent/bpf_filter.h"
#include "portcullis/common/status.h"
#include "portcullis/v1/rule_table.pb.h"

namespace portcullis::agent {

// The names of the syscalls whose handling by `filter` (built from
// `filter_table`) cannot enforce `next`, ascending by number; empty: `next`
// can be swapped in. InvalidArgument if no filter can be built from `next`.
StatusOr<std::vector<std::string>> SyscallsNeedingRestart(const v1::RuleTable& filter_table,
                                                          const FilterProgram& filter,
                                                          const v1::RuleTable& next);

// Whether `sender` (a signal's ssi_pid) is `self` or one of its descendants:
// the workload must not trigger a reload of its own policy. 0 (a sender
// outside the agent's PID namespace, e.g. the container engine) is not.
bool IsSelfOrDescendant(pid_t sender, pid_t self);

}  // namespace portcullis::agent
