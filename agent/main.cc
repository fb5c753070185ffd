// portcullis-agent: the container's entrypoint and PID 1. See README.md.
//
// Order matters: the policy and its filter are built before anything runs
// (a policy that cannot be enforced stops the container), signals are blocked
// before any thread exists, the workload is cloned before the event thread
// starts (the clone copies a single-threaded process).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>

#include "portcullis/agent/agent_log.h"
#include "portcullis/agent/bpf_filter.h"
#include "portcullis/agent/event_ring.h"
#include "portcullis/agent/init.h"
#include "portcullis/agent/options.h"
#include "portcullis/agent/policy_source.h"
#include "portcullis/agent/policy_swap.h"
#include "portcullis/agent/supervisor.h"

namespace {

constexpr const char* kVersion = "portcullis-agent 0.1.0\n";

// Exit codes of the agent itself (the workload's own status otherwise), as
// other inits and shells use them.
constexpr int kUsageError = 2;
constexpr int kCannotStart = 126;
constexpr int kNotFound = 127;

void Print(int fd, std::string_view text) {
  ssize_t ignored = ::write(fd, text.data(), text.size());
  (void)ignored;
}

std::string Hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// Hot swap: the new table replaces the supervisor's only if the running
// filter can enforce it (policy_swap.h); otherwise the running one stays.
void ReloadPolicy(const portcullis::agent::Options& options,
                  const portcullis::agent::LoadedPolicy& filter_policy,
                  const portcullis::agent::FilterProgram& filter,
                  portcullis::agent::Supervisor* supervisor) {
  using namespace portcullis::agent;
  auto loaded = LoadPolicyFile(options.policy_file, options.permissive);
  if (!loaded.ok()) {
    log::Error("policy reload failed: the running policy stays",
               {{"error", loaded.status().ToString()}});
    return;
  }
  auto blockers = SyscallsNeedingRestart(filter_policy.table, filter, loaded->table);
  if (!blockers.ok()) {
    log::Error("policy reload failed: the running policy stays",
               {{"error", blockers.status().ToString()}});
    return;
  }
  if (!blockers->empty()) {
    std::string names;
    for (const std::string& n : *blockers)
      names += (names.empty() ? "" : ",") + n;
    log::Error(
        "policy reload refused: the running seccomp filter cannot enforce the new policy for "
        "these syscalls; restart the container to apply it. The running policy stays",
        {{"syscalls", names}});
    return;
  }
  auto next = std::make_shared<const LoadedPolicy>(std::move(*loaded));
  if (supervisor != nullptr) supervisor->ReplacePolicy(next);
  log::Info("policy reloaded", {{"file", options.policy_file},
                                {"rules", std::to_string(next->compiled->rule_count())},
                                {"version", std::to_string(next->table.version())}});
}

}  // namespace

int main(int argc, char** argv) {
  using namespace portcullis::agent;
  portcullis::StatusOr<Options> options = ParseOptions(argc, argv, environ);
  if (!options.ok()) {
    Print(2, "portcullis-agent: " + options.status().message() + "\n\n");
    Print(2, UsageText());
    return kUsageError;
  }
  if (options->help) {
    Print(1, UsageText());
    return 0;
  }
  if (options->version) {
    Print(1, kVersion);
    return 0;
  }
  log::Init(options->log_level);

  std::shared_ptr<const LoadedPolicy> policy;
  std::optional<FilterProgram> filter;
  if (!options->policy_file.empty()) {
    auto loaded = LoadPolicyFile(options->policy_file, options->permissive);
    if (!loaded.ok()) {
      log::Error("cannot load the policy", {{"error", loaded.status().ToString()}});
      return kCannotStart;
    }
    policy = std::make_shared<const LoadedPolicy>(std::move(*loaded));
    auto built = BuildFilter(policy->table);
    if (!built.ok()) {
      log::Error("cannot build the seccomp filter", {{"error", built.status().ToString()}});
      return kCannotStart;
    }
    filter.emplace(std::move(*built));
    // The compiler denies io_uring for every policy that decides files or
    // network (an io_uring ring bypasses those decisions); a rule table made
    // elsewhere may not.
    const bool decides_files_or_network = std::any_of(
        policy->table.syscalls().begin(), policy->table.syscalls().end(), [](const auto& e) {
          return (e.category() == portcullis::v1::CATEGORY_FILE ||
                  e.category() == portcullis::v1::CATEGORY_NETWORK) &&
                 e.handling() != portcullis::v1::SyscallEntry::KERNEL_ALLOW;
        });
    const bool io_uring_allowed = std::none_of(
        policy->table.syscalls().begin(), policy->table.syscalls().end(), [](const auto& e) {
          return e.name() == "io_uring_setup" &&
                 e.handling() != portcullis::v1::SyscallEntry::KERNEL_ALLOW;
        });
    if (decides_files_or_network && io_uring_allowed) {
      log::Warn(
          "the rule table decides file or network syscalls but allows io_uring, which "
          "bypasses them: recompile it (the compiler denies io_uring for such policies)");
    }
    log::Info("policy loaded",
              {{"file", options->policy_file},
               {"rules", std::to_string(policy->compiled->rule_count())},
               {"permissive", policy->table.permissive() ? "true" : "false"},
               {"filter_instructions", std::to_string(filter->code().size())},
               {"notified_syscalls", std::to_string(filter->notified_syscalls().size())}});
  }

  // Signals are blocked before anything else can start a thread.
  auto init = Init::Create();
  if (!init.ok()) {
    log::Error("cannot initialise", {{"error", init.status().ToString()}});
    return kCannotStart;
  }
  const char* path_var = getenv("PATH");
  auto exe = ResolveExecutable(options->command.front(), path_var ? path_var : "");
  if (!exe.ok()) {
    log::Error("cannot start the workload", {{"error", exe.status().ToString()}});
    return kNotFound;
  }
  WorkloadSpec spec{.path = *exe, .argv = options->command, .env = WorkloadEnvironment(environ)};
  if (filter) spec.filter = &*filter;
  if (portcullis::Status s = (*init)->Start(spec); !s.ok()) {
    log::Error("cannot start the workload", {{"error", s.ToString()}});
    return kCannotStart;
  }

  // Events and the supervisor, now that the workload exists.
  EventRing ring(options->event_ring);
  std::optional<EventWriter> writer;
  if (!options->events_file.empty()) {
    writer.emplace(
        ring, EventWriterOptions{.path = options->events_file,
                                 .format = options->events_json ? EventFormat::kJsonLines
                                                                : EventFormat::kDelimitedProto});
    if (portcullis::Status s = writer->Start(); !s.ok()) {
      // The workload runs and is enforced; only its record is missing.
      log::Error("cannot open the event sink", {{"error", s.ToString()}});
      writer.reset();
    }
  }
  std::optional<Supervisor> supervisor;
  if ((*init)->listener_fd() >= 0) {
    std::string host = Hostname();
    supervisor.emplace(
        (*init)->listener_fd(), policy, writer ? &ring : nullptr,
        SupervisorOptions{
            .container_id = options->container_id.empty() ? host : options->container_id,
            .image = options->image,
            .hostname = host,
            .sample_allows = options->sample_allows});
    (*init)->Watch((*init)->listener_fd(), [&] { supervisor->HandleOne(); });
    (*init)->WatchMore(
        [&](std::vector<pollfd>* fds) { return supervisor->AddWaitingSockets(fds); },
        [&](const std::vector<pollfd>& fds) { supervisor->ServiceWaitingSockets(fds); });
  }
  if (filter) {
    // SIGHUP from outside the workload: reload --policy, not forwarded (a
    // policy reload must not end or reconfigure the workload). From the
    // workload itself (`kill -HUP 1`): forwarded as any signal, no reload.
    // `policy` stays the table the running filter was built from.
    (*init)->OnSignal([&](int sig, pid_t sender) {
      if (sig != SIGHUP || IsSelfOrDescendant(sender, getpid())) return false;
      ReloadPolicy(*options, *policy, *filter, supervisor ? &*supervisor : nullptr);
      return true;
    });
  }
  int code = (*init)->Run();
  if (writer) writer->Stop();
  if (supervisor) {
    const SupervisorStats& st = supervisor->stats();
    log::Info("workload exited", {{"status", std::to_string(code)},
                                  {"notifications", std::to_string(st.notifications)},
                                  {"denied", std::to_string(st.denied)},
                                  {"events", std::to_string(ring.pushed())},
                                  {"events_dropped", std::to_string(ring.dropped())}});
  }
  return code;
}
