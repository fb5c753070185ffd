// PathMatcher: which file rules name a path, by exact path, directory subtree
// or glob. Built once when a policy is loaded, then immutable; the agent calls
// Match on every intercepted file syscall, without allocating or locking.
//
//   PathMatcher::Builder b;
//   PORTCULLIS_RETURN_IF_ERROR(b.AddSubtree("/etc", 0));       // rule 0
//   PORTCULLIS_RETURN_IF_ERROR(b.AddExact("/etc/shadow", 1));  // rule 1
//   PORTCULLIS_RETURN_IF_ERROR(b.AddGlob("/home/*/.ssh/**", 2));
//   PathMatcher m = std::move(b).Build();
//   RuleBits bits;
//   m.Match("/etc/shadow", bits);  // bits = {0, 1}
//
// Entries:
//   exact    the path itself only.
//   subtree  the directory itself and everything beneath it, on segment
//            boundaries: "/etc" matches "/etc", "/etc/", "/etc/ssh/x", never
//            "/etcetera". "/" is every path.
//   glob     see glob.h.
// Entry paths must be absolute ("/..."), without "." / ".." segments or empty
// segments ("//"); one trailing '/' is accepted and ignored ("/etc/" is
// "/etc"). Violations are InvalidArgument at build time, as is a rule index
// >= kMaxRules.
//
// Precondition of Match: `path` is absolute and already normalized by the
// caller (symlinks, "." and ".." resolved). Empty segments are skipped, so a
// trailing or doubled '/' makes no difference to exact and subtree entries.
//
// Cost: exact and subtree entries live in a trie over path segments whose
// children are sorted, so a lookup costs O(segments * log(fan-out)) string
// comparisons, independent of the number of entries. A glob hangs on the trie
// node of its literal prefix (the leading segments without wildcards:
// "/etc/app/*.conf" under /etc/app) and is checked only for paths that walk
// through that node; globs without such a prefix ("**/x", "/*/y") are checked
// for every path: keep those few.
//
// Thread-safety: a built PathMatcher is immutable and safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/policy/glob.h"
#include "portcullis/policy/rule_bits.h"

namespace portcullis::policy {

class PathMatcher {
 public:
  class Builder;

  PathMatcher();  // matches nothing

  // ORs into `out` the rule index of every entry matching `path`.
  void Match(std::string_view path, RuleBits& out) const;

 private:
  struct Node {
    uint32_t children_begin = 0;  // into edges_
    uint32_t children_end = 0;
    uint32_t exact_begin = 0;  // into rules_
    uint32_t exact_end = 0;
    uint32_t subtree_begin = 0;  // into rules_
    uint32_t subtree_end = 0;
    uint32_t globs_begin = 0;  // into globs_: globs whose literal prefix ends here
    uint32_t globs_end = 0;
  };
  struct Edge {
    uint64_t key;          // the label's first 8 bytes, big-endian (see SegmentKey)
    uint32_t label_begin;  // into labels_
    uint32_t label_size;
    uint32_t child;  // into nodes_
  };

  std::vector<Node> nodes_;  // nodes_[0] is "/"
  std::vector<Edge> edges_;  // each node's edges sorted by label
  std::string labels_;
  std::vector<uint32_t> rules_;
  std::vector<std::pair<Glob, uint32_t>> globs_;
};

// Collects entries; not thread-safe. Build() consumes it.
class PathMatcher::Builder {
 public:
  Builder();
  ~Builder();
  Builder(Builder&&) noexcept;
  Builder& operator=(Builder&&) noexcept;

  Status AddExact(std::string_view path, uint32_t rule);
  Status AddSubtree(std::string_view directory, uint32_t rule);
  Status AddGlob(std::string_view pattern, uint32_t rule);
  Status AddGlob(Glob glob, uint32_t rule);

  PathMatcher Build() &&;

 private:
  struct TrieNode;
  Status Add(std::string_view path, uint32_t rule, bool subtree);

  std::unique_ptr<TrieNode> root_;
};

}  // namespace portcullis::policy
