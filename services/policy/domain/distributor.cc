#include "domain/distributor.h"

#include <algorithm>
#include <vector>

namespace portcullis::policy_service {

namespace {

// The answer to a request whose version has not changed.
FetchResult NotModified(std::string etag) {
  FetchResult r;
  r.status = 304;
  r.etag = std::move(etag);
  return r;
}

}  // namespace

Distributor::Distributor(PolicyStore& store, Options options)
    : store_(store), options_(options), ticker_([this] { TickLoop(); }) {}

Distributor::~Distributor() {
  ReleaseAll();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  ticker_.join();
}

std::uint64_t Distributor::GenerationLocked(const TenantId& tenant) const {
  auto it = generations_.find(tenant);
  return global_generation_ + (it == generations_.end() ? 0 : it->second);
}

StatusOr<std::pair<std::shared_ptr<const Distributor::State>, std::uint64_t>> Distributor::Load(
    const TenantId& tenant) {
  std::uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = GenerationLocked(tenant);
    auto it = cache_.find(tenant);
    if (it != cache_.end() && it->second.generation == generation) {
      return std::make_pair(it->second.state, generation);
    }
  }
  StatusOr<State> loaded = store_.LoadTenantState(tenant);
  if (!loaded.ok()) return loaded.status();
  auto state = std::make_shared<const State>(std::move(*loaded));
  std::lock_guard<std::mutex> lock(mu_);
  // Cache only what no change notification has overtaken meanwhile.
  if (GenerationLocked(tenant) == generation) cache_[tenant] = {state, generation};
  return std::make_pair(std::shared_ptr<const State>(state), generation);
}

FetchResult Distributor::Answer(const State& state, const AgentFacts& facts) {
  Resolution r = Resolve(state.assignments, facts);
  FetchResult out;
  if (r.chosen != nullptr) {
    auto it = state.current.find(r.chosen->policy_id);
    if (it != state.current.end()) {
      out.status = 200;
      out.version = it->second;
      out.etag = ETagFor(&it->second);
      return out;
    }
  }
  out.status = 404;
  out.etag = ETagFor(nullptr);
  out.reason = r.reason;
  return out;
}

StatusOr<AgentFacts> Distributor::Facts(const TenantId& tenant, const AgentId& agent) {
  const auto now = std::chrono::steady_clock::now();
  const auto key = std::make_pair(tenant, agent);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = facts_.find(key);
    if (it != facts_.end() && it->second.expires > now) return it->second.facts;
  }
  StatusOr<AgentFacts> facts = store_.GetAgentFacts(tenant, agent);
  if (!facts.ok()) return facts;
  std::lock_guard<std::mutex> lock(mu_);
  if (facts_.size() >= options_.max_cached_facts) facts_.clear();  // bounded, simply
  facts_[key] = {*facts, now + options_.facts_ttl};
  return facts;
}

void Distributor::Fetch(const TenantId& tenant, const AgentId& agent,
                        const std::string& if_none_match, std::chrono::milliseconds wait,
                        Done done) {
  StatusOr<AgentFacts> facts = Facts(tenant, agent);
  if (!facts.ok()) return done(facts.status());
  wait = std::clamp(wait, std::chrono::milliseconds(0), options_.max_wait);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto loaded = Load(tenant);
    if (!loaded.ok()) return done(loaded.status());
    FetchResult result = Answer(*loaded->first, *facts);
    if (result.etag == if_none_match) {
      if (wait.count() > 0) {
        std::unique_lock<std::mutex> lock(mu_);
        // A change between the load and now would have found no waiter to
        // wake: look again instead of sleeping on a stale answer.
        if (GenerationLocked(tenant) != loaded->second) continue;
        if (stopping_) break;
        // The agent's oldest waiting request gives way to this one (the
        // total stays the same); otherwise the instance must have room.
        std::optional<std::pair<Done, std::string>> superseded;
        const auto key = std::make_pair(tenant, agent);
        WaiterList& list = waiters_[tenant];
        if (auto mine = by_agent_.find(key);
            mine != by_agent_.end() && mine->second.size() >= options_.max_waits_per_agent) {
          auto oldest = mine->second.front();
          superseded.emplace(std::move(oldest->done), oldest->etag);
          UnparkLocked(tenant, list, oldest);
        } else if (waiting_ >= options_.max_waiting) {
          lock.unlock();
          return done(ResourceExhaustedError("too many policy requests are waiting; ask again")
                          .WithRetryAfter(1));
        }
        list.push_back(
            {agent, *facts, result.etag, std::chrono::steady_clock::now() + wait, std::move(done)});
        by_agent_[key].push_back(std::prev(list.end()));
        ++waiting_;
        lock.unlock();
        if (superseded) superseded->first(NotModified(std::move(superseded->second)));
        return;
      }
      return done(NotModified(result.etag));
    }
    return done(result);
  }
  done(NotModified(if_none_match));
}

void Distributor::TenantChanged(const TenantId& tenant) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++generations_[tenant];
    cache_.erase(tenant);
  }
  Reevaluate(tenant);
}

void Distributor::EverythingChanged() {
  std::vector<TenantId> tenants;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++global_generation_;
    cache_.clear();
    for (const auto& [t, w] : waiters_)
      tenants.push_back(t);
  }
  for (const TenantId& t : tenants)
    Reevaluate(t);
}

void Distributor::Reevaluate(const TenantId& tenant) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiters_.find(tenant);
    if (it == waiters_.end() || it->second.empty()) return;
  }
  // On failure (database down) the waiters stay; their waits end with 304
  // and the agents ask again.
  auto loaded = Load(tenant);
  if (!loaded.ok()) return;
  std::vector<std::pair<Done, FetchResult>> answers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiters_.find(tenant);
    if (it == waiters_.end()) return;
    for (auto w = it->second.begin(); w != it->second.end();) {
      FetchResult r = Answer(*loaded->first, w->facts);
      if (r.etag != w->etag) {
        answers.emplace_back(std::move(w->done), std::move(r));
        w = UnparkLocked(tenant, it->second, w);
      } else {
        ++w;
      }
    }
  }
  for (auto& [done, result] : answers)
    done(std::move(result));
}

void Distributor::ReleaseAll() {
  std::vector<std::pair<Done, std::string>> answers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [tenant, list] : waiters_) {
      for (Waiter& w : list)
        answers.emplace_back(std::move(w.done), w.etag);
    }
    waiters_.clear();
    by_agent_.clear();
    waiting_ = 0;
  }
  for (auto& [done, etag] : answers) {
    done(NotModified(std::move(etag)));
  }
}

Distributor::WaiterList::iterator Distributor::UnparkLocked(const TenantId& tenant,
                                                            WaiterList& list,
                                                            WaiterList::iterator w) {
  auto mine = by_agent_.find({tenant, w->agent});
  if (mine != by_agent_.end()) {
    auto& v = mine->second;
    v.erase(std::remove(v.begin(), v.end(), w), v.end());
    if (v.empty()) by_agent_.erase(mine);
  }
  --waiting_;
  return list.erase(w);
}

std::size_t Distributor::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

void Distributor::TickLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, options_.tick);
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<Done, std::string>> expired;
    for (auto& [tenant, list] : waiters_) {
      for (auto w = list.begin(); w != list.end();) {
        if (w->deadline <= now) {
          expired.emplace_back(std::move(w->done), w->etag);
          w = UnparkLocked(tenant, list, w);
        } else {
          ++w;
        }
      }
    }
    if (expired.empty()) continue;
    lock.unlock();
    for (auto& [done, etag] : expired) {
      done(NotModified(std::move(etag)));
    }
    lock.lock();
  }
}

}  // namespace portcullis::policy_service
