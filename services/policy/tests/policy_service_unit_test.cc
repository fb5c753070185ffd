// Domain logic of the policy service without a database: assignment
// resolution and its explanations, image globs, ETags, document diffs, and
// the distributor's long-polls against an in-memory store.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "domain/distributor.h"
#include "domain/policy_service.h"

namespace portcullis::policy_service {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

Assignment Assign(const char* policy, int priority, Selector s) {
  Assignment a;
  a.id = Uuid::Random();
  a.policy_id = Uuid::Random();
  a.policy_name = policy;
  a.priority = priority;
  a.selector = std::move(s);
  return a;
}

Selector Image(const char* glob) {
  return {Selector::Kind::kImage, glob, {}};
}
Selector Labels(std::map<std::string, std::string> l) {
  return {Selector::Kind::kLabels, "", std::move(l)};
}
Selector Default() {
  return {Selector::Kind::kDefault, "", {}};
}

TEST(ResolveTest, PriorityThenSpecificThenOldestWithReasons) {
  std::vector<Assignment> as = {
      Assign("fallback", 0, Default()),
      Assign("shop", 10, Image("registry.example/shop/*")),
      Assign("prod", 10, Labels({{"env", "prod"}})),
      Assign("urgent-default", 20, Default()),
  };
  AgentFacts web{"registry.example/shop/web:1.4", {{"env", "prod"}}};
  Resolution r = Resolve(as, web);
  ASSERT_NE(r.chosen, nullptr);
  EXPECT_EQ(r.chosen->policy_name, "urgent-default") << "highest priority first";

  as.pop_back();
  r = Resolve(as, web);
  EXPECT_EQ(r.chosen->policy_name, "shop") << "same priority: the older one";
  EXPECT_THAT(r.reason, HasSubstr("matches 'registry.example/shop/*'"));
  ASSERT_EQ(r.considered.size(), 3u);
  EXPECT_TRUE(r.considered[0].matched);
  EXPECT_THAT(r.considered[1].why, HasSubstr("not considered"));

  AgentFacts redis{"docker.io/library/redis:7", {{"env", "dev"}}};
  r = Resolve(as, redis);
  EXPECT_EQ(r.chosen->policy_name, "fallback");
  EXPECT_THAT(r.considered[0].why, HasSubstr("does not match"));
  EXPECT_THAT(r.considered[1].why, HasSubstr("label env=dev is not env=prod"));

  // Same priority: a default comes after image and label selectors.
  std::vector<Assignment> tie = {Assign("d", 5, Default()),
                                 Assign("l", 5, Labels({{"env", "dev"}}))};
  EXPECT_EQ(Resolve(tie, redis).chosen->policy_name, "l");

  r = Resolve({Assign("shop", 1, Image("x*"))}, redis);
  EXPECT_EQ(r.chosen, nullptr);
  EXPECT_THAT(r.reason, HasSubstr("no assignment matches"));
  EXPECT_THAT(Resolve({}, redis).reason, HasSubstr("no policy assignment"));
}

TEST(ImageGlobTest, MatchesAndValidates) {
  EXPECT_TRUE(ImageMatches("nginx:*", "nginx:1.25"));
  EXPECT_TRUE(ImageMatches("*/shop/*", "registry.example/shop/web:1"));
  EXPECT_TRUE(ImageMatches("redis:?", "redis:7"));
  EXPECT_FALSE(ImageMatches("redis:?", "redis:17"));
  EXPECT_FALSE(ImageMatches("nginx", "nginx:1"));
  EXPECT_TRUE(ImageMatches("*", ""));
  // Pathological patterns stay linear.
  EXPECT_FALSE(ImageMatches("*a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
  EXPECT_TRUE(ValidateImageGlob("nginx:*").ok());
  EXPECT_FALSE(ValidateImageGlob("").ok());
  EXPECT_FALSE(ValidateImageGlob(std::string(513, 'a')).ok());
  EXPECT_FALSE(ValidateImageGlob("a\nb").ok());
  EXPECT_FALSE(ValidateImageGlob(std::string(17, '*')).ok());
}

TEST(DiffTest, ByRuleIdWithMovesAndTopLevelFields) {
  json a = json::parse(R"({"name": "p", "defaults": {"file": "allow"}, "rules": [
      {"id": "a", "type": "file", "action": "deny", "paths": ["/x"]},
      {"id": "b", "type": "file", "action": "deny", "paths": ["/y"]},
      {"id": "c", "type": "file", "action": "deny", "paths": ["/z"]},
      {"id": "d", "type": "file", "action": "deny", "paths": ["/w"]}]})");
  json b = json::parse(R"({"name": "p", "defaults": {"file": "deny"}, "mode": "permissive",
      "rules": [
      {"id": "d", "type": "file", "action": "deny", "paths": ["/w"]},
      {"id": "a", "type": "file", "action": "monitor", "paths": ["/x"]},
      {"id": "c", "type": "file", "action": "deny", "paths": ["/z"]},
      {"id": "e", "type": "file", "action": "deny", "paths": ["/v"]}]})");
  std::set<std::string> got;
  for (const Change& c : DiffDocuments(a, b))
    got.insert(c.kind + " " + c.path);
  EXPECT_EQ(got,
            (std::set<std::string>{"changed /defaults/file", "added /mode", "removed /rules/b",
                                   "changed /rules/a/action", "added /rules/e", "moved /rules/d"}));
  EXPECT_TRUE(DiffDocuments(a, a).empty());
}

TEST(ETagTest, NamesPolicyVersionAndFormat) {
  CompiledVersion v{*Uuid::Parse("00000000-0000-4000-8000-000000000001"), "p", 7, "", ""};
  EXPECT_EQ(ETagFor(&v), "\"00000000-0000-4000-8000-000000000001.7.f1\"");
  EXPECT_EQ(ETagFor(nullptr), "\"none\"");
}

// An in-memory store: only what the distributor reads.
class FakeStore : public PolicyStore {
 public:
  std::mutex mu;
  TenantState state;
  int loads = 0;
  StatusOr<PolicyInfo> CreatePolicy(const TenantId&, const Uuid&, const std::string&,
                                    const std::string&, const PublishFn&, const Actor&) override {
    return InternalError("unused");
  }
  StatusOr<PolicyInfo> UpdatePolicy(const TenantId&, const Uuid&, const std::string&,
                                    const std::string&, std::optional<std::int64_t>,
                                    const PublishFn&, const Actor&) override {
    return InternalError("unused");
  }
  StatusOr<PolicyInfo> Rollback(const TenantId&, const Uuid&, std::int64_t, const std::string&,
                                const PublishFn&, const Actor&) override {
    return InternalError("unused");
  }
  Status DeletePolicy(const TenantId&, const Uuid&, const Actor&) override {
    return InternalError("unused");
  }
  StatusOr<std::vector<PolicyInfo>> ListPolicies(const TenantId&) override {
    return InternalError("unused");
  }
  StatusOr<PolicyVersion> GetPolicy(const TenantId&, const Uuid&,
                                    std::optional<std::int64_t>) override {
    return InternalError("unused");
  }
  StatusOr<std::vector<VersionInfo>> ListVersions(const TenantId&, const Uuid&) override {
    return InternalError("unused");
  }
  StatusOr<Assignment> CreateAssignment(const TenantId&, const Assignment&, const Actor&) override {
    return InternalError("unused");
  }
  StatusOr<std::vector<Assignment>> ListAssignments(const TenantId&) override {
    return InternalError("unused");
  }
  Status DeleteAssignment(const TenantId&, const Uuid&, const Actor&) override {
    return InternalError("unused");
  }
  int fact_reads = 0;
  StatusOr<AgentFacts> GetAgentFacts(const TenantId&, const AgentId&) override {
    std::lock_guard<std::mutex> lock(mu);
    ++fact_reads;
    return AgentFacts{"img", {}};
  }
  StatusOr<TenantState> LoadTenantState(const TenantId&) override {
    std::lock_guard<std::mutex> lock(mu);
    ++loads;
    return state;
  }
  void Publish(const Uuid& policy, std::int64_t version) {
    std::lock_guard<std::mutex> lock(mu);
    if (state.assignments.empty()) {
      Assignment a = Assign("p", 0, Default());
      a.policy_id = policy;
      state.assignments.push_back(a);
    }
    state.current[policy] = {policy, "p", version, "table-v" + std::to_string(version), ""};
  }
};

struct Collected {
  std::promise<StatusOr<FetchResult>> promise;
  Distributor::Done Done() {
    return [this](StatusOr<FetchResult> r) { promise.set_value(std::move(r)); };
  }
};

TEST(DistributorTest, AnswersNowOrWhenTheTenantChangesOrWhenTheWaitEnds) {
  FakeStore store;
  Distributor d(store,
                {.max_wait = std::chrono::seconds(5), .tick = std::chrono::milliseconds(20)});
  TenantId tenant = TenantId::Generate();
  AgentId agent = AgentId::Generate();
  Uuid policy = Uuid::Random();

  Collected none;
  d.Fetch(tenant, agent, "", std::chrono::seconds(0), none.Done());
  auto r = none.promise.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);

  // Waiting on "none": answered when a policy is assigned and published.
  Collected waiting;
  d.Fetch(tenant, agent, "\"none\"", std::chrono::seconds(5), waiting.Done());
  EXPECT_EQ(d.waiting(), 1u);
  store.Publish(policy, 1);
  d.TenantChanged(TenantId::Generate());  // another tenant: nothing happens
  EXPECT_EQ(d.waiting(), 1u);
  d.TenantChanged(tenant);
  r = waiting.promise.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->version->rule_table, "table-v1");
  EXPECT_EQ(d.waiting(), 0u);
  const std::string etag = r->etag;

  // The same version: 304 when the wait ends.
  Collected expires;
  auto start = std::chrono::steady_clock::now();
  d.Fetch(tenant, agent, etag, std::chrono::milliseconds(200), expires.Done());
  r = expires.promise.get_future().get();
  EXPECT_EQ(r->status, 304);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));

  // Many waiters, one load per change.
  std::vector<std::unique_ptr<Collected>> many;
  for (int i = 0; i < 100; ++i) {
    many.push_back(std::make_unique<Collected>());
    d.Fetch(tenant, AgentId::Generate(), etag, std::chrono::seconds(5), many.back()->Done());
  }
  int loads_before = store.loads;
  store.Publish(policy, 2);
  d.TenantChanged(tenant);
  for (auto& c : many)
    EXPECT_EQ(c->promise.get_future().get()->version->version, 2);
  EXPECT_EQ(store.loads - loads_before, 1);

  // Re-polls reuse the agent's facts.
  int reads = store.fact_reads;
  for (int i = 0; i < 3; ++i) {
    Collected again;
    d.Fetch(tenant, agent, "", std::chrono::seconds(0), again.Done());
    EXPECT_EQ(again.promise.get_future().get()->status, 200);
  }
  EXPECT_EQ(store.fact_reads, reads);

  // Draining answers everyone at once.
  Collected drained;
  d.Fetch(tenant, agent, "\"x\"", std::chrono::seconds(0), drained.Done());
  EXPECT_EQ(drained.promise.get_future().get()->status, 200) << "a stale ETag gets the table";
  Collected c2;
  std::string etag2 = ETagFor(&store.state.current[policy]);
  d.Fetch(tenant, agent, etag2, std::chrono::seconds(5), c2.Done());
  d.ReleaseAll();
  EXPECT_EQ(c2.promise.get_future().get()->status, 304);
}

// Whether the request of `f` has been answered, without waiting.
bool Answered(std::future<StatusOr<FetchResult>>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// A distributor with the given limits over a store where one tenant has a
// published policy, and the ETag of that version (what its agents wait on).
struct WithPublishedPolicy {
  explicit WithPublishedPolicy(Distributor::Options limits) : d(store, limits) {
    store.Publish(policy, 1);
    d.TenantChanged(tenant);
    etag = ETagFor(&store.state.current[policy]);
  }
  FakeStore store;
  Distributor d;
  TenantId tenant = TenantId::Generate();
  Uuid policy = Uuid::Random();
  std::string etag;
};

TEST(DistributorTest, OneAgentsNewWaitAnswersItsOldestBeyondTheLimit) {
  WithPublishedPolicy p({.max_wait = std::chrono::seconds(30),
                         .tick = std::chrono::milliseconds(20),
                         .max_waits_per_agent = 2});
  auto& [store, d, tenant, policy, etag] = p;
  AgentId agent = AgentId::Generate(), other = AgentId::Generate();

  Collected first, second, third, others;
  auto f1 = first.promise.get_future(), f2 = second.promise.get_future(),
       f3 = third.promise.get_future(), fo = others.promise.get_future();
  d.Fetch(tenant, other, etag, std::chrono::seconds(30), others.Done());
  d.Fetch(tenant, agent, etag, std::chrono::seconds(30), first.Done());
  d.Fetch(tenant, agent, etag, std::chrono::seconds(30), second.Done());
  EXPECT_EQ(d.waiting(), 3u);
  EXPECT_FALSE(Answered(f1));

  // The third takes the place of the first, the agent's oldest, which is
  // answered at once (304, its ETag); the other agent's wait is untouched.
  d.Fetch(tenant, agent, etag, std::chrono::seconds(30), third.Done());
  ASSERT_TRUE(Answered(f1));
  auto r = f1.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 304);
  EXPECT_EQ(r->etag, etag);
  EXPECT_EQ(d.waiting(), 3u);
  EXPECT_FALSE(Answered(f2));
  EXPECT_FALSE(Answered(fo));

  // The ones still waiting are answered by the next change, each once.
  store.Publish(policy, 2);
  d.TenantChanged(tenant);
  for (auto* f : {&f2, &f3, &fo}) {
    auto got = f->get();
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->status, 200);
    EXPECT_EQ(got->version->version, 2);
  }
  EXPECT_EQ(d.waiting(), 0u);

  // After a change answered them, the agent may wait twice again.
  const std::string etag2 = ETagFor(&store.state.current[policy]);
  Collected a, b;
  auto fa = a.promise.get_future(), fb = b.promise.get_future();
  d.Fetch(tenant, agent, etag2, std::chrono::seconds(30), a.Done());
  d.Fetch(tenant, agent, etag2, std::chrono::seconds(30), b.Done());
  EXPECT_EQ(d.waiting(), 2u);
  EXPECT_FALSE(Answered(fa));
  d.ReleaseAll();
  EXPECT_EQ(fa.get()->status, 304);
  EXPECT_EQ(fb.get()->status, 304);
}

TEST(DistributorTest, BeyondTheInstancesLimitARequestIsRefusedNotParked) {
  WithPublishedPolicy p({.max_wait = std::chrono::seconds(30),
                         .tick = std::chrono::milliseconds(20),
                         .max_waiting = 3});
  auto& [store, d, tenant, policy, etag] = p;

  std::vector<std::unique_ptr<Collected>> waiting;
  std::vector<std::future<StatusOr<FetchResult>>> futures;
  for (int i = 0; i < 3; ++i) {
    waiting.push_back(std::make_unique<Collected>());
    futures.push_back(waiting.back()->promise.get_future());
    d.Fetch(tenant, AgentId::Generate(), etag, std::chrono::seconds(30), waiting.back()->Done());
  }
  EXPECT_EQ(d.waiting(), 3u);
  Collected refused;
  d.Fetch(tenant, AgentId::Generate(), etag, std::chrono::seconds(30), refused.Done());
  auto r = refused.promise.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().retry_after_seconds(), 1);
  EXPECT_EQ(d.waiting(), 3u);

  // A request that needs no wait is still answered.
  Collected now;
  d.Fetch(tenant, AgentId::Generate(), "", std::chrono::seconds(30), now.Done());
  EXPECT_EQ(now.promise.get_future().get()->status, 200);

  // Once a wait ends, there is room again.
  store.Publish(policy, 2);
  d.TenantChanged(tenant);
  for (auto& f : futures)
    EXPECT_EQ(f.get()->status, 200);
  EXPECT_EQ(d.waiting(), 0u);
  const std::string etag2 = ETagFor(&store.state.current[policy]);
  Collected parked;
  auto fp = parked.promise.get_future();
  d.Fetch(tenant, AgentId::Generate(), etag2, std::chrono::seconds(30), parked.Done());
  EXPECT_EQ(d.waiting(), 1u);
  d.ReleaseAll();
  EXPECT_EQ(fp.get()->status, 304);
}

TEST(DistributorTest, AtTheInstancesLimitAnAgentStillReplacesItsOwnOldestWait) {
  WithPublishedPolicy p({.max_wait = std::chrono::seconds(30),
                         .tick = std::chrono::milliseconds(20),
                         .max_waits_per_agent = 2,
                         .max_waiting = 2});
  auto& [store, d, tenant, policy, etag] = p;
  AgentId agent = AgentId::Generate();

  Collected first, second, third, other;
  auto f1 = first.promise.get_future(), f2 = second.promise.get_future(),
       f3 = third.promise.get_future(), fo = other.promise.get_future();
  d.Fetch(tenant, agent, etag, std::chrono::seconds(30), first.Done());
  d.Fetch(tenant, agent, etag, std::chrono::seconds(30), second.Done());
  EXPECT_EQ(d.waiting(), 2u);
  // Full, but this one replaces the agent's own oldest: the total stays 2.
  d.Fetch(tenant, agent, etag, std::chrono::seconds(30), third.Done());
  ASSERT_TRUE(Answered(f1));
  EXPECT_EQ(f1.get()->status, 304);
  EXPECT_FALSE(Answered(f3));
  EXPECT_EQ(d.waiting(), 2u);
  // Another agent's would add one: refused.
  d.Fetch(tenant, AgentId::Generate(), etag, std::chrono::seconds(30), other.Done());
  ASSERT_TRUE(Answered(fo));
  EXPECT_EQ(fo.get().status().code(), StatusCode::kResourceExhausted);
  d.ReleaseAll();
  EXPECT_EQ(f2.get()->status, 304);
  EXPECT_EQ(f3.get()->status, 304);
}

}  // namespace
}  // namespace portcullis::policy_service
