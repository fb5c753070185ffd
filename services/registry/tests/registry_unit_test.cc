#include <gtest/gtest.h>

#include "domain/registry.h"

namespace portcullis::registry {
namespace {

TEST(GlobToLikeTest, TranslatesWildcardsAndEscapesLikeMetacharacters) {
  EXPECT_EQ(GlobToLike("nginx:*"), "nginx:%");
  EXPECT_EQ(GlobToLike("a?c"), "a_c");
  EXPECT_EQ(GlobToLike("100%_done\\"), "100\\%\\_done\\\\");
  EXPECT_EQ(GlobToLike("' OR 1=1 --"), "' OR 1=1 --");  // bound as a parameter, never spliced
}

TEST(AgentStatusTest, NamesRoundTrip) {
  for (auto s :
       {AgentStatus::kOnline, AgentStatus::kStale, AgentStatus::kOffline, AgentStatus::kRevoked}) {
    EXPECT_EQ(ParseAgentStatus(AgentStatusName(s)), s);
  }
  EXPECT_EQ(ParseAgentStatus("ONLINE"), std::nullopt);
}

class NoStore : public RegistryStore {
 public:
  Status CreateTenant(const TenantId&, const std::string&, const Issued&, const std::string&,
                      const Actor&) override {
    return InternalError("unused");
  }
  StatusOr<ApiKey> CreateApiKey(const TenantId&, const std::string&, const std::string&,
                                const Uuid&, const std::string&, const Actor&) override {
    ++create_calls;
    return InternalError("unused");
  }
  StatusOr<std::vector<ApiKey>> ListApiKeys(const TenantId&) override { return InternalError(""); }
  Status RevokeApiKey(const TenantId&, const Uuid&, const Actor&) override { return {}; }
  StatusOr<EnrollmentToken> CreateEnrollmentToken(const TenantId&, const std::string&,
                                                  std::optional<std::int64_t>,
                                                  std::optional<std::int64_t>, const Uuid&,
                                                  const std::string&, const Actor&) override {
    return InternalError("");
  }
  StatusOr<std::vector<EnrollmentToken>> ListEnrollmentTokens(const TenantId&) override {
    return InternalError("");
  }
  Status RevokeEnrollmentToken(const TenantId&, const Uuid&, const Actor&) override { return {}; }
  StatusOr<Registration> RegisterAgent(
      const TenantId&, const Uuid&, const AgentFacts&,
      const std::function<std::pair<Issued, std::string>(const AgentId&)>&, const Actor&) override {
    return InternalError("");
  }
  Status Heartbeat(const TenantId&, const AgentId&, const std::string&,
                   const AgentCounters&) override {
    return {};
  }
  StatusOr<Page> ListAgents(const TenantId&, const AgentFilter&, const StatusWindows&) override {
    return InternalError("");
  }
  StatusOr<Agent> GetAgent(const TenantId&, const AgentId&, const StatusWindows&) override {
    return InternalError("");
  }
  Status RevokeAgent(const TenantId&, const AgentId&, const Actor&) override { return {}; }
  StatusOr<std::vector<ImageSummary>> ListImages(const TenantId&, const StatusWindows&) override {
    return InternalError("");
  }
  StatusOr<std::vector<AuditEntry>> ListAudit(const TenantId&, int,
                                              std::optional<std::int64_t>) override {
    return InternalError("");
  }
  int create_calls = 0;
};

TEST(RegistryServiceTest, RejectsUnknownRolesBeforeStorage) {
  NoStore store;
  RegistryService svc(store, {});
  auto r = svc.CreateApiKey(TenantId::Generate(), "x", "root", {"admin_key", "k", "127.0.0.1"});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.create_calls, 0);
}

TEST(RegistryServiceTest, StatusWindowsFollowTheHeartbeatInterval) {
  NoStore store;
  RegistryService svc(store, {.heartbeat_interval = std::chrono::seconds(30)});
  EXPECT_EQ(svc.windows().online_within, std::chrono::seconds(90));
  EXPECT_EQ(svc.windows().stale_within, std::chrono::seconds(600));
  RegistryService slow(store, {.heartbeat_interval = std::chrono::seconds(120)});
  EXPECT_EQ(slow.windows().stale_within, std::chrono::seconds(1200));
}

}  // namespace
}  // namespace portcullis::registry
