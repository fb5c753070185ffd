#include "portcullis/common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

namespace portcullis::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(pipe(fds_), 0); }
  void TearDown() override {
    Init({});
    close(fds_[0]);
  }
  std::vector<nlohmann::json> Lines() {
    close(fds_[1]);
    std::string all;
    char buf[4096];
    ssize_t n;
    while ((n = read(fds_[0], buf, sizeof(buf))) > 0)
      all.append(buf, static_cast<size_t>(n));
    std::vector<nlohmann::json> out;
    std::size_t start = 0;
    for (std::size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back(nlohmann::json::parse(all.substr(start, nl - start)));
    }
    EXPECT_EQ(start, all.size()) << "trailing partial line";
    return out;
  }
  int fds_[2];
};

TEST_F(LogTest, WritesOneJsonObjectPerLineWithFields) {
  Init({.service = "registry", .level = Level::kInfo, .fd = fds_[1]});
  Debug("hidden");
  Info("listening", {{"port", 8443}, {"tls", true}});
  Error("bad \xff utf8 \"quoted\"\n");
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["service"], "registry");
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["msg"], "listening");
  EXPECT_EQ(lines[0]["port"], 8443);
  EXPECT_EQ(lines[0]["tls"], true);
  EXPECT_EQ(lines[1]["level"], "error");
  EXPECT_TRUE(lines[0]["ts"].get<std::string>().ends_with("Z"));
}

TEST_F(LogTest, FieldsCannotOverrideReservedKeys) {
  Init({.service = "s", .level = Level::kDebug, .fd = fds_[1]});
  Info("m", {{"level", "forged"}, {"msg", "forged"}});
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["msg"], "m");
}

TEST_F(LogTest, ConcurrentLinesDoNotInterleave) {
  Init({.service = "s", .level = Level::kInfo, .fd = fds_[1]});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 50; ++i)
        Info("line", {{"t", t}, {"i", i}, {"pad", std::string(100, 'x')}});
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(Lines().size(), 200u);  // each parsed as whole JSON
}

TEST(LogLevelTest, ParsesNames) {
  EXPECT_EQ(ParseLevel("warn"), Level::kWarn);
  EXPECT_EQ(ParseLevel("loud"), std::nullopt);
}

}  // namespace
}  // namespace portcullis::log
