// Distributor: answers agents asking for their rule table, now or when it
// changes (long-poll).
//
//   distributor.Fetch(tenant, agent, /*if_none_match=*/"\"<etag>\"", 30s,
//                     [](StatusOr<FetchResult> r) { ... answer the HTTP request ... });
//   // from the change listener (PostgreSQL NOTIFY on every publish/assign):
//   distributor.TenantChanged(tenant);
//
// What an agent gets is resolved from the tenant's assignments and current
// versions (PolicyStore::TenantState), cached per tenant and dropped on every
// change notification, so a change costs one query per tenant and instance,
// however many agents wait. A parked request is answered when its ETag
// changes (200 or 404), or with 304 when its wait ends; every request is
// answered exactly once. Waiting is bounded: an agent keeps at most
// max_waits_per_agent requests waiting (a new one answers its oldest with
// 304 at once: a reconnecting agent's stale request, or a flood from one
// credential, does not pile up), and the instance at most max_waiting
// (beyond, ResourceExhausted: 429 with Retry-After). Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "domain/policy_service.h"

namespace portcullis::policy_service {

struct FetchResult {
  int status = 200;  // 200 (version), 304 (not modified), 404 (no policy applies)
  std::string etag;
  std::optional<CompiledVersion> version;  // 200
  std::string reason;                      // 404: why no policy applies
};

class Distributor {
 public:
  using Done = std::function<void(StatusOr<FetchResult>)>;
  struct Options {
    std::chrono::milliseconds max_wait{30000};
    std::chrono::milliseconds tick{100};  // how often expired waits are answered
    // An agent's image and labels are fixed at registration; a re-poll
    // reuses them for this long instead of reading them again (revocation
    // is still checked on every request, by the authenticator).
    std::chrono::milliseconds facts_ttl{60000};
    std::size_t max_cached_facts = 200000;
    std::size_t max_waits_per_agent = 2;  // at least 1
    std::size_t max_waiting = 100000;
  };

  Distributor(PolicyStore& store, Options options);
  ~Distributor();
  Distributor(const Distributor&) = delete;
  Distributor& operator=(const Distributor&) = delete;

  // `wait` is clamped to max_wait; 0 answers at once.
  void Fetch(const TenantId& tenant, const AgentId& agent, const std::string& if_none_match,
             std::chrono::milliseconds wait, Done done);

  // A policy or assignment of `tenant` changed (or, for EverythingChanged,
  // notifications may have been missed): re-resolve its waiting agents.
  void TenantChanged(const TenantId& tenant);
  void EverythingChanged();
  // Answers every waiting request now (304): the service is draining.
  void ReleaseAll();

  std::size_t waiting() const;
  const Options& options() const { return options_; }

 private:
  using State = PolicyStore::TenantState;
  struct Waiter {
    AgentId agent;
    AgentFacts facts;
    std::string etag;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  struct Cached {
    std::shared_ptr<const State> state;
    std::uint64_t generation = 0;
  };

  // The tenant's state and the generation it was loaded at.
  StatusOr<std::pair<std::shared_ptr<const State>, std::uint64_t>> Load(const TenantId& tenant);
  std::uint64_t GenerationLocked(const TenantId& tenant) const;
  static FetchResult Answer(const State& state, const AgentFacts& facts);
  StatusOr<AgentFacts> Facts(const TenantId& tenant, const AgentId& agent);
  void Reevaluate(const TenantId& tenant);
  void TickLoop();
  using WaiterList = std::list<Waiter>;
  // Takes `w` out of `tenant`'s waiters (its list is `list`) and out of its
  // agent's; the next one in `list`.
  WaiterList::iterator UnparkLocked(const TenantId& tenant, WaiterList& list,
                                    WaiterList::iterator w);

  PolicyStore& store_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::uint64_t global_generation_ = 0;
  std::map<TenantId, std::uint64_t> generations_;
  std::map<TenantId, Cached> cache_;
  std::map<TenantId, WaiterList> waiters_;
  // Each agent's waiting requests, oldest first (at most max_waits_per_agent).
  std::map<std::pair<TenantId, AgentId>, std::vector<WaiterList::iterator>> by_agent_;
  struct CachedFacts {
    AgentFacts facts;
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::pair<TenantId, AgentId>, CachedFacts> facts_;
  std::size_t waiting_ = 0;
  std::thread ticker_;
};

}  // namespace portcullis::policy_service
