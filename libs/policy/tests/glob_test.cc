#include "portcullis/policy/glob.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace portcullis::policy {
namespace {

using ::testing::HasSubstr;

struct MatchCase {
  std::string pattern;
  std::string path;
  bool matches;
};

TEST(GlobTest, MatchTable) {
  const std::vector<MatchCase> cases = {
      // Literals.
      {"/etc/passwd", "/etc/passwd", true},
      {"/etc/passwd", "/etc/passwd2", false},
      {"/etc/passwd", "/etc/passw", false},
      {"/etc/passwd", "/etc/passwd/", false},
      // '*' stays within a segment.
      {"/usr/bin/*", "/usr/bin/ls", true},
      {"/usr/bin/*", "/usr/bin/", true},
      {"/usr/bin/*", "/usr/bin/x/y", false},
      {"/usr/bin/*", "/usr/bin", false},
      {"/usr/*/ls", "/usr/bin/ls", true},
      {"/usr/*/ls", "/usr/a/b/ls", false},
      {"/home/*/.ssh/id_*", "/home/alice/.ssh/id_rsa", true},
      {"/home/*/.ssh/id_*", "/home/alice/.ssh/config", false},
      {"/tmp/*.sh", "/tmp/run.sh", true},
      {"/tmp/*.sh", "/tmp/.sh", true},
      {"/tmp/*.sh", "/tmp/a/b.sh", false},
      {"/tmp/*a*b", "/tmp/xaxxb", true},
      {"/tmp/*a*b", "/tmp/xa/xb", false},
      {"/*", "/", true},
      {"/*", "/etc", true},
      {"/*", "/etc/x", false},
      // '?' is one non-'/' character.
      {"/dev/tty?", "/dev/tty1", true},
      {"/dev/tty?", "/dev/tty", false},
      {"/dev/tty?", "/dev/tty12", false},
      {"/a?b", "/a/b", false},
      // Classes.
      {"/dev/sd[abc]", "/dev/sdb", true},
      {"/dev/sd[abc]", "/dev/sdd", false},
      {"/dev/sd[a-c]1", "/dev/sdc1", true},
      {"/dev/sd[a-c]1", "/dev/sdz1", false},
      {"/dev/sd[!a-c]", "/dev/sdd", true},
      {"/dev/sd[!a-c]", "/dev/sda", false},
      {"/a[!x]b", "/a/b", false},  // a negated class still never matches '/'
      {"/a[]]b", "/a]b", true},
      {"/a[!]]b", "/a]b", false},
      {"/a[!]]b", "/axb", true},
      {"/a[a-]b", "/a-b", true},
      {"/a[\\]x]b", "/a]b", true},
      {"/a[+-0]b", "/a/b", false},  // a range spanning '/' excludes it
      {"/a[+-0]b", "/a.b", true},
      // Escapes.
      {"/a\\*b", "/a*b", true},
      {"/a\\*b", "/axb", false},
      {"/a\\?", "/a?", true},
      {"/a\\[b]", "/a[b]", true},
      {"/a\\\\b", "/a\\b", true},
      // Trailing "/**": the directory's contents at any depth, not itself.
      {"/a/**", "/a/", true},
      {"/a/**", "/a/b", true},
      {"/a/**", "/a/b/c/d", true},
      {"/a/**", "/a", false},
      {"/a/**", "/ab", false},
      {"/a/**", "/ab/c", false},
      // "/**/" in the middle: zero or more whole segments.
      {"/a/**/b", "/a/b", true},
      {"/a/**/b", "/a/x/b", true},
      {"/a/**/b", "/a/x/y/z/b", true},
      {"/a/**/b", "/a/xb", false},
      {"/a/**/b", "/a/x/bb", false},
      {"/a/**/b", "/a/b/c", false},
      {"/a/**/b/*", "/a/b/b/c", true},
      {"/a/**/b/*.log", "/a/x/b/y/z.log", false},
      {"/a/**/b/*.log", "/a/x/b/z.log", true},
      {"/home/**/.ssh/**", "/home/u/.ssh/keys/id", true},
      {"/home/**/.ssh/**", "/home/.ssh/id", true},
      {"/home/**/.ssh/**", "/home/u/ssh/id", false},
      {"/a/**/**/b", "/a/b", true},
      {"/a/**/**/b", "/a/x/y/b", true},
      {"/a/**/*x*/c", "/a/1/2/yxy/c", true},
      {"/a/**/*x*/c", "/a/1/2/yxy/d/c", false},
      // Leading "**/": in any directory.
      {"**/core", "/core", true},
      {"**/core", "/var/crash/core", true},
      {"**/core", "/var/crash/core.1", false},
      {"**/core", "/var/crash/xcore", false},
      {"**", "/anything/at/all", true},
      {"/**", "/", true},
      {"/**", "/x/y", true},
  };
  for (const MatchCase& c : cases) {
    StatusOr<Glob> g = Glob::Compile(c.pattern);
    ASSERT_TRUE(g.ok()) << c.pattern << ": " << g.status();
    EXPECT_EQ(g->Matches(c.path), c.matches) << c.pattern << " vs " << c.path;
  }
}

struct ErrorCase {
  std::string pattern;
  std::string message;  // substring of the expected message
};

TEST(GlobTest, CompileErrorTable) {
  const std::vector<ErrorCase> cases = {
      {"", "glob pattern is empty"},
      {"/a/[bc", "unterminated character class (add a closing ']') opened at offset 3"},
      {"/a[!", "unterminated character class (add a closing ']') opened at offset 2"},
      {"/a[]", "unterminated character class"},
      {"/a[z-a]", "reversed range in character class (write the low end first) at offset 3"},
      {"/a[x/]", "'/' in a character class (a class never matches '/') at offset 4"},
      {"/a\\", "'\\' at the end of the pattern escapes nothing (write '\\\\') at offset 2"},
      {"/a[\\", "escapes nothing"},
      {std::string("/a\0b", 4), "NUL byte at offset 2"},
      {"/a**", "'**' is not allowed here"},
      {"/a**", "at offset 2"},
      {"/**a", "'**' must be a whole path segment"},
      {"/a/***", "'***' is not allowed here"},
      {"**x", "at offset 0"},
  };
  for (const ErrorCase& c : cases) {
    StatusOr<Glob> g = Glob::Compile(c.pattern);
    ASSERT_FALSE(g.ok()) << c.pattern;
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(g.status().message(), HasSubstr(c.message)) << c.pattern;
  }
}

TEST(GlobTest, ErrorMessageQuotesThePattern) {
  StatusOr<Glob> g = Glob::Compile("/a/[bc");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().message(),
            "glob \"/a/[bc\": unterminated character class (add a closing ']') opened at "
            "offset 3");
  StatusOr<Glob> nul = Glob::Compile(std::string("/a\0", 3));
  ASSERT_FALSE(nul.ok());
  EXPECT_THAT(nul.status().message(), HasSubstr("\"/a\\x00\""));
}

TEST(GlobTest, LengthLimit) {
  std::string ok(Glob::kMaxPatternLength, 'a');
  ok[0] = '/';
  EXPECT_TRUE(Glob::Compile(ok).ok());
  StatusOr<Glob> g = Glob::Compile(ok + "a");
  ASSERT_FALSE(g.ok());
  EXPECT_THAT(g.status().message(), HasSubstr("pattern is 4097 bytes long, the maximum is 4096"));
}

TEST(GlobTest, KeepsPattern) {
  StatusOr<Glob> g = Glob::Compile("/a/**/b");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->pattern(), "/a/**/b");
}

// Backtracking matchers take exponential time here; ours is linear-ish. The
// test has no timing assertion: it would simply not finish in CTest's timeout.
TEST(GlobTest, PathologicalPatternsFinish) {
  const std::string as(100000, 'a');
  StatusOr<Glob> g = Glob::Compile("*a*a*a*a*a*a*b");
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->Matches(as));
  EXPECT_TRUE(g->Matches(as + "b"));

  std::string path;
  for (int i = 0; i < 2000; ++i)
    path += "/aaaaaaaaaa";
  StatusOr<Glob> deep = Glob::Compile("/**/*a*a*a*a*a*a*b/**/*a*a*a*a*c");
  ASSERT_TRUE(deep.ok());
  EXPECT_FALSE(deep->Matches(path));
  EXPECT_TRUE(deep->Matches(path + "/aaaaaab/x/aaaaac"));
}

// Cross-checks the two-pointer matcher against std::regex on random patterns
// made of literals, '?', '*' and "**" segments, over paths of 'a', 'b', '/'.
TEST(GlobTest, AgreesWithRegexOnRandomPatterns) {
  std::mt19937 rng(42);
  auto pick = [&rng](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int round = 0; round < 5000; ++round) {
    std::vector<std::string> segs(1 + pick(4));
    for (std::string& seg : segs) {
      if (pick(4) == 0) {
        seg = "**";
        continue;
      }
      const int len = 1 + pick(3);
      for (int c = 0; c < len; ++c) {
        const char ch = "ab*?"[pick(4)];
        if (ch == '*' && !seg.empty() && seg.back() == '*') continue;
        seg += ch;
      }
    }
    std::string pattern;
    std::string re;
    const bool leading = pick(5) == 0 && segs[0] == "**" && segs.size() > 1;  // "**/x"
    bool after_dstar = false;  // the previous "**/" already stands for the '/'
    for (size_t k = 0; k < segs.size(); ++k) {
      if (!(k == 0 && leading)) pattern += '/';
      if (!after_dstar && !(k == 0 && leading)) re += '/';
      after_dstar = false;
      if (segs[k] == "**") {
        pattern += "**";
        if (k + 1 == segs.size()) {
          re += ".*";
        } else {
          re += "(.*/)?";
          after_dstar = true;
        }
        continue;
      }
      pattern += segs[k];
      for (char ch : segs[k]) {
        re += ch == '*' ? "[^/]*" : ch == '?' ? "[^/]" : std::string(1, ch);
      }
    }
    StatusOr<Glob> g = Glob::Compile(pattern);
    ASSERT_TRUE(g.ok()) << pattern << ": " << g.status();
    const std::regex reference(re);
    for (int t = 0; t < 20; ++t) {
      std::string path = "/";
      const int len = pick(9);
      for (int c = 0; c < len; ++c)
        path += "ab/"[pick(3)];
      ASSERT_EQ(g->Matches(path), std::regex_match(path, reference))
          << pattern << " (" << re << ") vs " << path;
    }
  }
}

}  // namespace
}  // namespace portcullis::policy
