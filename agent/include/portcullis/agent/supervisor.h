// The supervisor: answers the seccomp user notifications of the workload (the
// syscalls the filter sends to the agent because their decision needs a
// pointer argument, the program, or an event) against the compiled policy.
//
//   Supervisor sup(listener_fd, policy, &ring, {.container_id = "c1"});
//   // the init loop, when listener_fd is readable:
//   sup.HandleOne();
//
// What each family gets (README.md has the threat model):
//   - open, openat, openat2, creat: the agent opens the file itself, in the
//     workload's context (its root, cwd or dirfd through /proc/TID) and with
//     the calling thread's credentials (fsuid, fsgid, groups, umask), decides
//     on the path of what it really opened, and injects the descriptor
//     (SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SEND): the workload
//     gets exactly the object that was checked, whatever its threads do.
//   - other path syscalls (unlink, rename, chmod, mkdir, ...): located the
//     same way (real directory + name, or the object), decided, and carried
//     out by the agent itself on what it decided on, with the workload's
//     credentials and umask; the result is the answer.
//   - connect, bind to an IP address, and sends to one on a datagram
//     socket: decided on the address read from the workload's memory, and
//     carried out by the agent on a duplicate of the workload's socket with
//     that very address (CarryOutOnSocket, SendOnSocket).
//   - execve and execveat, sends on stream sockets: decided on the
//     arguments read from the workload's memory, denied with the policy's
//     errno, or allowed with SECCOMP_USER_NOTIF_FLAG_CONTINUE (the kernel
//     re-reads the arguments: a residual race, see README).
//   - accept, accept4 on a TCP socket: the agent accepts on a duplicate of
//     the workload's socket, decides on the peer, and injects that
//     connection or closes it and takes the next one. On a blocking socket
//     the call waits, parked, while the supervisor answers other calls:
//     Init's loop also polls the parked sockets (AddWaitingSockets) and
//     hands them back (ServiceWaitingSockets).
//   - listen, and accept on other sockets: the address is not known before
//     the call; allowed with CONTINUE and recorded when the policy asks.
// Every deny and monitor decision becomes a v1::Event pushed to the ring, and
// so do the allowed calls among the sampled ones (sample_allows).
//
// Threading: one thread (the agent's main loop) calls HandleOne and the
// parked-accept calls (AddWaitingSockets, ServiceWaitingSockets). It switches
// that thread's filesystem credentials with raw system calls (per thread) and
// the process umask around each open; nothing else in the agent may create
// files concurrently with different expectations.
#pragma once

#include <linux/seccomp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "portcullis/agent/event_ring.h"
#include "portcullis/agent/policy_source.h"
#include "portcullis/agent/target.h"

namespace portcullis::agent {

struct SupervisorOptions {
  std::string container_id;
  std::string image;
  std::string hostname;
  // One notification in every `sample_allows` is sampled (0: none): if the
  // call is allowed, it is recorded too (an ACTION_ALLOW event).
  std::uint32_t sample_allows = 0;
};

struct SupervisorStats {
  std::uint64_t notifications = 0;
  std::uint64_t allowed = 0;
  std::uint64_t denied = 0;  // enforced denies
  std::uint64_t fds_injected = 0;
  std::uint64_t gone = 0;  // the thread died (or its id was reused) mid-decision
};

class Supervisor {
 public:
  // `listener` is owned by the caller and outlives the supervisor.
  Supervisor(int listener, std::shared_ptr<const LoadedPolicy> policy, EventRing* ring,
             SupervisorOptions options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Receives one notification and answers it. Never blocks on anything but
  // the workload's own file system operations.
  void HandleOne();
  const SupervisorStats& stats() const { return stats_; }
  // Decides every later notification under `next` (hot swap, SIGHUP). Called
  // on HandleOne's thread, between two notifications, so each decision is
  // made entirely under one table. The caller has checked that the running
  // filter can enforce `next` (policy_swap.h).
  void ReplacePolicy(std::shared_ptr<const LoadedPolicy> next);
  // Parked blocking accepts: appends their sockets (POLLIN) to `fds` and
  // returns how long the caller may wait before calling ServiceWaitingSockets
  // again (ms; -1: nothing is parked, no limit).
  int AddWaitingSockets(std::vector<pollfd>* fds) const;
  // After the caller's poll: takes the connections that arrived for parked
  // accepts (the entries AddWaitingSockets added, with their revents; all 0
  // after a timeout) and drops the accepts the workload gave up (a signal).
  void ServiceWaitingSockets(const std::vector<pollfd>& polled);

 private:
  struct Call;
  enum class Kind;
  struct Verdict;
  struct Place;
  struct PendingAccept;
  struct Outgoing;
  struct SpareConnection;

  Kind KindOf(int nr) const;
  // Sets t.proc_dir and t.status_fd from procs_ (opening them on a miss).
  void AttachProc(Target& t);
  void ForgetProc(pid_t tid);
  // Reads the program (/proc/TID/exe) if the call does not have it yet: an
  // event is about to be recorded. Before the answer, while the thread is
  // still held in its syscall.
  void NeedProgram(Call& c);
  // PathOfFd through self_fds_ (one lookup instead of /proc/self/fd/N).
  std::string PathOf(int fd) const;
  void HandleOpen(Call& c);
  void HandlePathOp(Call& c);
  Place Locate(const Call& c, int dirfd_arg, int path_arg, bool follow, bool empty_path_ok);
  // Carries out a path syscall the policy allowed; false with errno set.
  bool Perform(const Call& c, Place& first, Place* second, const std::string& link_text);
  void HandleExec(Call& c);
  void HandleNetwork(Call& c);
  // connect or bind to the IP address `addr` the policy allowed: carried out
  // by the agent on a duplicate of the workload's socket with that very
  // address, so a thread that rewrites the workload's buffer after the
  // decision changes nothing. A blocking connect waits on a worker thread.
  // Takes `sock` (the duplicate, -1 when it failed with `dup_errno`).
  void CarryOutOnSocket(const Call& c, const Verdict& v, int sock, int dup_errno,
                        const sockaddr_storage& addr, socklen_t len);
  // sendto, sendmsg, sendmmsg on a datagram socket (`sock`, the duplicate,
  // taken), or with MSG_FASTOPEN on a stream socket (`stream`: the first
  // message, at most 64 KiB of it), with IP addresses the policy allowed:
  // the agent reads the messages and sends them itself with the addresses
  // it decided on.
  void SendOnSocket(const Call& c, const Verdict& v, int sock, bool stream,
                    const std::vector<Outgoing>& out);
  // accept, accept4 on a TCP socket: the agent accepts on a duplicate of it,
  // decides on the peer, then injects the connection or closes it and takes
  // the next one (inbound rules). A blocking accept with nothing to take is
  // parked (parked_) until a connection comes or the call is interrupted.
  void HandleAccept(Call& c);
  // Takes connections off `p`'s socket (a spare one first) until one is
  // allowed and handed over: true once the call is answered, false when
  // nothing (more) is waiting on the socket.
  bool TakeConnection(PendingAccept& p);
  // The decision on one IP address and port of a network call, with the
  // event's target; `proto` is the socket's (IPPROTO_TCP/UDP) or 0 when not
  // known (both evaluated, the stricter stands).
  Verdict DecideIp(const Call& c, policy::Direction direction, const policy::IpAddress& ip,
                   std::uint16_t port, int proto) const;
  void HandleOther(Call& c);
  // setgroups, umask, chroot, ... (WorkloadStateSyscalls): notes what the
  // workload may have changed, then decides the call like HandleOther.
  void HandleState(Call& c);
  // The thread's credentials: from its pidfd and capget while its groups
  // (and, for a call that may create, its umask) are known to be the
  // agent's own, else from /proc/TID/status.
  StatusOr<Credentials> ReadCredentials(const Call& c) const;

  // Takes `checked_fd` (the object the decision was about).
  void OpenInWorker(const Call& c, int checked_fd, std::uint64_t flags);
  bool StillValid(const Call& c);
  void Continue(const Call& c);
  void Succeed(const Call& c, std::int64_t value = 0);
  void Fail(const Call& c, int err);
  // Hands `fd` over as the call's result; false when the call was gone
  // (interrupted) and nothing was delivered.
  bool Inject(const Call& c, int fd, bool cloexec);
  int DenyErrno(const Call& c, int rule) const;
  void Record(const Call& c, const Verdict& v, int result);
  // An enforced deny: answers the call with its errno, counts and records it,
  // and returns true. False for anything else (nothing done).
  bool RefuseIfDenied(const Call& c, const Verdict& v);
  // entries_, policy_id_bytes_ and needs_program_ from policy_ (construction,
  // and each accepted reload).
  void DerivePolicyState();

  int listener_;
  std::shared_ptr<const LoadedPolicy> policy_;
  EventRing* ring_;
  SupervisorOptions options_;
  seccomp_notif_sizes sizes_{};
  std::vector<char> request_;
  std::unordered_map<int, const v1::SyscallEntry*> entries_;
  std::string policy_id_bytes_;
  pid_t self_pid_ = 0;
  std::unordered_map<int, std::string> names_;  // syscall names by number
  // Per workload thread, descriptors of /proc/TID and /proc/TID/status
  // (Target::proc_dir, status_fd): a notification costs one pread of the
  // status instead of a path walk, open, two reads and a close. Bounded
  // (cleared when full); an entry whose thread is gone fails and is replaced.
  struct ProcFds {
    int dir = -1;
    int status = -1;
    int pidfd = -1;  // PIDFD_THREAD, -1 where the kernel has none
    void Close();
  };
  std::unordered_map<pid_t, ProcFds> procs_;
  // The program is read for every notification only when a rule names
  // programs; otherwise only for calls that are recorded (NeedProgram).
  bool needs_program_ = true;
  int self_fds_ = -1;  // O_PATH of the agent's own /proc/PID/fd
  int root_fd_ = -1;   // O_PATH of the agent's root: the workload's, until root_changed_
  // Set for good once the workload made a call that may have changed its
  // supplementary groups, umask or root (HandleState): from then on they
  // are read for each call, as the workload's own.
  bool groups_changed_ = false;
  bool umask_changed_ = false;
  bool root_changed_ = false;
  // Whether a lookup that crosses no symlink finds the object its lexical
  // path names: every mounted file system compares names exactly (no
  // case-insensitive ones) and the workload has made no mount call since.
  bool lexical_names_ = false;
  SupervisorStats stats_;
  std::vector<std::unique_ptr<PendingAccept>> parked_;
  // Connections accepted for a call that was interrupted before it got them
  // (a signal between accept and ADDFD): the next accept on that socket gets
  // them, as it would have natively; closed after kSpareLifetime.
  std::vector<std::unique_ptr<SpareConnection>> spares_;
  std::int64_t last_sweep_ms_ = 0;
  std::uint64_t notifications_since_sample_ = 0;
};

}  // namespace portcullis::agent
