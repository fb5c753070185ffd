#include "portcullis/agent/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace portcullis::agent {
namespace {

StatusOr<Options> Parse(std::vector<const char*> args, std::vector<const char*> env = {}) {
  args.insert(args.begin(), "portcullis-agent");
  env.push_back(nullptr);
  return ParseOptions(static_cast<int>(args.size()), args.data(), env.data());
}

TEST(Options, CommandAfterSeparator) {
  auto o = Parse({"--policy", "/p.json", "--", "/bin/app", "--policy", "x"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->policy_file, "/p.json");
  EXPECT_EQ(o->command, (std::vector<std::string>{"/bin/app", "--policy", "x"}));
  EXPECT_FALSE(o->permissive);
}

TEST(Options, CommandWithoutSeparator) {
  auto o = Parse({"/bin/app", "-x"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->command, (std::vector<std::string>{"/bin/app", "-x"}));
}

TEST(Options, EnvironmentThenFlagsWin) {
  auto o = Parse({"--", "app"},
                 {"PORTCULLIS_AGENT_POLICY=/env.json", "PORTCULLIS_AGENT_PERMISSIVE=true"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->policy_file, "/env.json");
  EXPECT_TRUE(o->permissive);
  o = Parse({"--policy", "/flag.json", "--", "app"}, {"PORTCULLIS_AGENT_POLICY=/env.json"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->policy_file, "/flag.json");
}

TEST(Options, ConfigFile) {
  std::string path = ::testing::TempDir() + "agent-options-" + std::to_string(getpid());
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("# agent\nPORTCULLIS_AGENT_POLICY=/file.json\nPORTCULLIS_AGENT_LOG_LEVEL=debug\n", f);
  fclose(f);
  auto o = Parse({"--config", path.c_str(), "--", "app"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->policy_file, "/file.json");
  EXPECT_EQ(o->log_level, LogLevel::kDebug);
  std::string env = "PORTCULLIS_AGENT_CONFIG=" + path;
  o = Parse({"--", "app"}, {env.c_str(), "PORTCULLIS_AGENT_POLICY=/env.json"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->policy_file, "/env.json");  // the environment overrides the file
  unlink(path.c_str());
}

TEST(Options, ReportsEveryProblem) {
  auto o = Parse({"--bogus", "--log-level", "loud"}, {"PORTCULLIS_AGENT_PERMISSIVE=maybe"});
  ASSERT_FALSE(o.ok());
  const std::string m = o.status().message();
  EXPECT_NE(m.find("--bogus"), std::string::npos) << m;
  EXPECT_NE(m.find("--log-level"), std::string::npos) << m;
  EXPECT_NE(m.find("no command"), std::string::npos) << m;
  EXPECT_NE(m.find("PORTCULLIS_AGENT_PERMISSIVE"), std::string::npos) << m;
}

TEST(Options, SampledAllows) {
  auto o = Parse({"--", "app"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->sample_allows, 0u);  // none by default
  o = Parse({"--", "app"}, {"PORTCULLIS_AGENT_SAMPLE_ALLOWS=100"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->sample_allows, 100u);
  o = Parse({"--sample-allows", "1", "--", "app"}, {"PORTCULLIS_AGENT_SAMPLE_ALLOWS=100"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->sample_allows, 1u);
  for (const char* bad : {"-1", "x", "1.5", "", "4000000000", "1000000001"}) {
    o = Parse({"--sample-allows", bad, "--", "app"});
    ASSERT_FALSE(o.ok()) << bad;
    EXPECT_NE(o.status().message().find("--sample-allows"), std::string::npos) << bad;
  }
  o = Parse({"--", "app"}, {"PORTCULLIS_AGENT_SAMPLE_ALLOWS=-1"});
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("PORTCULLIS_AGENT_SAMPLE_ALLOWS"), std::string::npos);
}

TEST(Options, MissingConfigFileIsAnError) {
  EXPECT_FALSE(Parse({"--config", "/nonexistent/agent.env", "--", "app"}).ok());
}

TEST(Options, WorkloadEnvironmentDropsAgentVariables) {
  const char* env[] = {"PATH=/bin", "PORTCULLIS_AGENT_ENROLLMENT_TOKEN=secret",
                       "PORTCULLIS_OTHER=kept", nullptr};
  EXPECT_EQ(WorkloadEnvironment(env),
            (std::vector<std::string>{"PATH=/bin", "PORTCULLIS_OTHER=kept"}));
}

}  // namespace
}  // namespace portcullis::agent
