// Glob: a compiled path pattern, as written in policy rules ("/usr/bin/*",
// "/home/**/.ssh/*"), matched without allocation on every intercepted syscall.
//
//   StatusOr<Glob> glob = Glob::Compile("/home/**/.ssh/id_*");
//   if (!glob.ok()) return glob.status();   // "... at offset N: ..."
//   glob->Matches("/home/alice/.ssh/id_rsa");         // true
//   glob->Matches("/home/alice/work/.ssh/id_ed25519"); // true
//   glob->Matches("/home/alice/.ssh/config");         // false
//
// Syntax (path semantics: nothing but `**` ever matches a '/'):
//   *       any run of characters, possibly empty, within one path segment
//           (never '/').
//   ?       exactly one character other than '/'.
//   [abc] [a-z] [!a-z]
//           one character (never '/') in / not in the class. ']' right after
//           '[' or '[!' is a literal ']'; '\' escapes inside a class too. An
//           empty or reversed range ("[z-a]") and a '/' in a class are errors.
//   \c      the character c literally (e.g. "\*", "\[", "\\").
//   **      only as a whole path segment, i.e. between '/' (or the start or
//           end of the pattern) on both sides; anywhere else ("/a**", "***")
//           it is an error, so a typo cannot silently widen a rule.
//           - "/a/**" (at the end) matches "/a/" followed by anything, '/'
//             included: "/a/", "/a/b", "/a/b/c". It does NOT match "/a"
//             itself: use a directory-subtree entry for "/a and below".
//           - "/a/**/b" matches zero or more whole segments in between:
//             "/a/b", "/a/x/b", "/a/x/y/b" (not "/a/xb").
//           - "**/b" (at the start) matches "b" in any directory: "/b",
//             "/x/b", "/x/y/b". "**" alone matches every path.
// Limits: the pattern is 1..4096 bytes and contains no NUL byte.
//
// Matching is the two-pointer algorithm with star restart points (one for the
// latest '*', one for the latest '**'): no recursion, no exponential
// backtracking; worst case O(len(path) * len(pattern)), linear in practice.
//
// A Glob is an immutable value, safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::policy {

class Glob {
 public:
  static constexpr size_t kMaxPatternLength = 4096;

  // Validates and compiles `pattern`. Errors are InvalidArgument with the
  // offending byte offset, e.g. `glob "/a/[bc": unterminated character class
  // opened at offset 3 (add a closing ']')`.
  static StatusOr<Glob> Compile(std::string_view pattern);

  // True if the whole of `path` matches the pattern. Allocation-free.
  bool Matches(std::string_view path) const;

  // The pattern as written.
  const std::string& pattern() const { return pattern_; }

 private:
  enum class Op : uint8_t {
    kLiteral,        // arg = the byte
    kAnyChar,        // '?'
    kClass,          // arg = index in classes_
    kStar,           // '*'
    kStarStarSlash,  // "**/" : empty, or any string ending in '/'
    kStarStarEnd,    // trailing "**" : anything
  };
  struct Token {
    Op op;
    uint16_t arg;
  };
  using CharSet = std::array<uint64_t, 4>;  // 256 bits, one per byte value

  Glob() = default;
  bool TokenMatches(const Token& t, char c) const;

  std::string pattern_;
  std::vector<Token> tokens_;
  std::vector<CharSet> classes_;
};

// The leading directory segments of `pattern` without wildcards or escapes,
// joined as a path: "/etc/app/*.conf" -> "/etc/app", "/*/y" and "**/x" -> "".
// Every path the glob matches lies beneath it, so matchers index the glob
// there.
std::string GlobLiteralPrefix(std::string_view pattern);

}  // namespace portcullis::policy
