#include "portcullis/policy/path_matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portcullis::policy {
namespace {

using ::testing::HasSubstr;

std::vector<uint32_t> Rules(const RuleBits& b) {
  std::vector<uint32_t> out;
  for (uint32_t r = 0; r < kMaxRules; ++r) {
    if (b.Test(r)) out.push_back(r);
  }
  return out;
}

std::vector<uint32_t> MatchOf(const PathMatcher& m, std::string_view path) {
  RuleBits b;
  m.Match(path, b);
  return Rules(b);
}

PathMatcher Sample() {
  PathMatcher::Builder b;
  EXPECT_TRUE(b.AddSubtree("/etc", 0).ok());
  EXPECT_TRUE(b.AddExact("/etc/shadow", 1).ok());
  EXPECT_TRUE(b.AddExact("/etc", 2).ok());
  EXPECT_TRUE(b.AddSubtree("/var/log/", 3).ok());  // trailing '/' ignored
  EXPECT_TRUE(b.AddGlob("/home/*/.ssh/**", 4).ok());
  EXPECT_TRUE(b.AddGlob("**/*.pem", 5).ok());
  EXPECT_TRUE(b.AddExact("/etcetera", 6).ok());
  EXPECT_TRUE(b.AddSubtree("/usr/lib/x86_64-linux-gnu", 7).ok());
  EXPECT_TRUE(b.AddExact("/usr/lib", 8).ok());
  EXPECT_TRUE(b.AddSubtree("/etc/ssl", 9).ok());
  return std::move(b).Build();
}

TEST(PathMatcherTest, MatchTable) {
  const PathMatcher m = Sample();
  struct Case {
    std::string path;
    std::vector<uint32_t> rules;
  };
  const std::vector<Case> cases = {
      {"/etc", {0, 2}},
      {"/etc/", {0, 2}},  // trailing slash
      {"/etc/passwd", {0}},
      {"/etc/shadow", {0, 1}},
      {"/etc/shadow/x", {0}},  // exact does not extend downwards
      {"/etc/shadow.bak", {0}},
      {"/etcetera", {6}},  // subtree stops at '/' boundaries
      {"/etcetera/x", {}},
      {"/et", {}},
      {"/", {}},
      {"/var/log", {3}},
      {"/var/log/syslog", {3}},
      {"/var/logs", {}},
      {"/var", {}},
      {"/home/alice/.ssh/id_rsa", {4}},
      {"/home/alice/.ssh/", {4}},
      {"/home/alice/.ssh", {}},
      {"/home/alice/.sshx/k", {}},
      {"/etc/ssl/private/key.pem", {0, 5, 9}},
      {"/key.pem", {5}},
      {"/usr/lib", {8}},
      {"/usr/lib/x86_64-linux-gnu/libc.so.6", {7}},
      {"/usr/lib/x86_64-linux-gnu", {7}},
      {"/usr/lib/x86_64", {}},
      {"/usr", {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(MatchOf(m, c.path), c.rules) << c.path;
  }
}

TEST(PathMatcherTest, RootSubtreeMatchesEverything) {
  PathMatcher::Builder b;
  ASSERT_TRUE(b.AddSubtree("/", 3).ok());
  ASSERT_TRUE(b.AddExact("/", 4).ok());
  const PathMatcher m = std::move(b).Build();
  EXPECT_EQ(MatchOf(m, "/"), (std::vector<uint32_t>{3, 4}));
  EXPECT_EQ(MatchOf(m, "/a/b/c"), (std::vector<uint32_t>{3}));
}

TEST(PathMatcherTest, MatchOrsIntoExistingBits) {
  const PathMatcher m = Sample();
  RuleBits b;
  b.Set(100);
  m.Match("/etc/shadow", b);
  EXPECT_EQ(Rules(b), (std::vector<uint32_t>{0, 1, 100}));
}

TEST(PathMatcherTest, SeveralRulesOnOneEntry) {
  PathMatcher::Builder b;
  ASSERT_TRUE(b.AddSubtree("/srv", 10).ok());
  ASSERT_TRUE(b.AddSubtree("/srv", 2).ok());
  ASSERT_TRUE(b.AddSubtree("/srv", 10).ok());  // duplicate: harmless
  ASSERT_TRUE(b.AddGlob("/srv/*", 4095).ok());
  const PathMatcher m = std::move(b).Build();
  EXPECT_EQ(MatchOf(m, "/srv/www"), (std::vector<uint32_t>{2, 10, 4095}));
}

TEST(PathMatcherTest, EmptyMatcherMatchesNothing) {
  EXPECT_TRUE(MatchOf(PathMatcher(), "/etc").empty());
  EXPECT_TRUE(MatchOf(PathMatcher::Builder().Build(), "/etc").empty());
}

TEST(PathMatcherTest, ManyEntries) {
  PathMatcher::Builder b;
  for (uint32_t i = 0; i < kMaxRules; ++i) {
    ASSERT_TRUE(b.AddExact("/data/" + std::to_string(i) + "/file", i).ok());
  }
  const PathMatcher m = std::move(b).Build();
  for (uint32_t i : {0u, 1u, 999u, 4095u}) {
    EXPECT_EQ(MatchOf(m, "/data/" + std::to_string(i) + "/file"), (std::vector<uint32_t>{i}));
  }
  EXPECT_TRUE(MatchOf(m, "/data/4096/file").empty());
  EXPECT_TRUE(MatchOf(m, "/data/12").empty());
}

// Edges are searched by their first 8 bytes first: labels that share those
// bytes, that are prefixes of one another, or that differ only past byte 8
// (or in bytes >= 0x80) must still be told apart.
TEST(PathMatcherTest, LabelsSharingTheirFirstEightBytes) {
  const std::vector<std::string> labels = {
      "pkg1",
      "pkg10",
      "pkg100",
      "application",
      "application-a",
      "application-b",
      "applicat",  // exactly 8 bytes, a prefix of the three above
      "applicau",
      "\xc3\xa9t\xc3\xa9",
      "zz",
      "a"};
  PathMatcher::Builder b;
  for (uint32_t i = 0; i < labels.size(); ++i)
    ASSERT_TRUE(b.AddExact("/opt/" + labels[i], i).ok()) << labels[i];
  PathMatcher m = std::move(b).Build();
  for (uint32_t i = 0; i < labels.size(); ++i)
    EXPECT_EQ(MatchOf(m, "/opt/" + labels[i]), std::vector<uint32_t>{i}) << labels[i];
  for (const char* miss : {"/opt/pkg", "/opt/pkg1000", "/opt/applicati", "/opt/application-c",
                           "/opt/applicat-", "/opt/\xc3\xa9t", "/opt/"}) {
    EXPECT_TRUE(MatchOf(m, miss).empty()) << miss;
  }
}

TEST(PathMatcherTest, BuildErrorTable) {
  struct Case {
    std::string path;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "path is empty"},
      {"etc/passwd", "path \"etc/passwd\": not absolute (must start with '/')"},
      {"/etc//passwd", "empty segment (\"//\") at offset 5"},
      {"/etc/./passwd", "'.' segment at offset 5"},
      {"/etc/../passwd", "'..' segment at offset 5"},
      {"/etc/..", "'..' segment"},
      {std::string("/a\0b", 4), "NUL byte at offset 2"},
      {"/" + std::string(5000, 'a'), "longer than 4096 bytes"},
  };
  for (const Case& c : cases) {
    PathMatcher::Builder b;
    for (bool subtree : {false, true}) {
      Status s = subtree ? b.AddSubtree(c.path, 0) : b.AddExact(c.path, 0);
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.path;
      EXPECT_THAT(s.message(), HasSubstr(c.message)) << c.path;
    }
  }
}

TEST(PathMatcherTest, RejectsBadGlobsAndRuleIndexes) {
  PathMatcher::Builder b;
  EXPECT_THAT(b.AddGlob("/a/[x", 0).message(), HasSubstr("unterminated character class"));
  EXPECT_THAT(b.AddGlob("*.pem", 0).message(), HasSubstr("not absolute"));
  EXPECT_THAT(b.AddExact("/a", kMaxRules).message(), HasSubstr("rule index 4096 out of range"));
  EXPECT_THAT(b.AddSubtree("/a", kMaxRules).message(), HasSubstr("out of range"));
  EXPECT_THAT(b.AddGlob("/a/*", kMaxRules).message(), HasSubstr("out of range"));
  EXPECT_TRUE(b.AddGlob("**", 0).ok());
}

}  // namespace
}  // namespace portcullis::policy

namespace portcullis::policy {
namespace {

TEST(PathMatcherGlobIndexTest, GlobsAreFoundThroughTheirLiteralPrefixOnly) {
  PathMatcher::Builder b;
  ASSERT_TRUE(b.AddGlob("/etc/pkg/*.log", 0).ok());
  ASSERT_TRUE(b.AddGlob("**/id_rsa", 1).ok());
  ASSERT_TRUE(b.AddGlob("/*/y", 2).ok());
  ASSERT_TRUE(b.AddGlob("/srv/a\\*b/*", 3).ok());  // an escaped '*' ends the literal prefix
  ASSERT_TRUE(b.AddExact("/etc/pkg/keep", 4).ok());
  PathMatcher m = std::move(b).Build();
  auto match = [&m](const char* path) {
    RuleBits bits;
    m.Match(path, bits);
    return bits.FirstSet();
  };
  EXPECT_EQ(match("/etc/pkg/a.log"), 0u);
  EXPECT_EQ(match("/etc/other/a.log"), std::nullopt);
  EXPECT_EQ(match("/etc/pkg/sub/a.log"), std::nullopt);
  EXPECT_EQ(match("/home/u/.ssh/id_rsa"), 1u);
  EXPECT_EQ(match("/id_rsa"), 1u);
  EXPECT_EQ(match("/q/y"), 2u);
  EXPECT_EQ(match("/srv/a*b/c"), 3u);
  EXPECT_EQ(match("/etc/pkg/keep"), 4u);
}

}  // namespace
}  // namespace portcullis::policy
