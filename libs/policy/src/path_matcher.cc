#include "portcullis/policy/path_matcher.h"

#include <algorithm>
#include <deque>
#include <map>

namespace portcullis::policy {
namespace {

constexpr size_t kMaxPathLength = 4096;

// Calls fn(segment) for each non-empty '/'-separated segment of `path`.
template <typename Fn>
void ForEachSegment(std::string_view path, Fn&& fn) {
  size_t i = 0;
  const size_t n = path.size();
  while (i < n) {
    while (i < n && path[i] == '/')
      ++i;
    if (i >= n) break;
    size_t j = i;
    while (j < n && path[j] != '/')
      ++j;
    if (!fn(path.substr(i, j - i))) return;
    i = j;
  }
}

// The first 8 bytes of a segment as a big-endian integer, zero-padded: keys
// order like the strings they start (bytes compare unsigned, a prefix sorts
// first, and path segments hold no NUL), so most comparisons in the trie's
// binary search are one integer compare instead of a memcmp.
uint64_t SegmentKey(std::string_view s) {
  uint64_t key = 0;
  const size_t n = std::min<size_t>(s.size(), 8);
  for (size_t i = 0; i < n; ++i)
    key |= uint64_t{static_cast<unsigned char>(s[i])} << (56 - 8 * i);
  return key;
}

Status CheckRule(uint32_t rule) {
  if (rule >= kMaxRules) {
    return InvalidArgumentError("rule index " + std::to_string(rule) + " out of range (max " +
                                std::to_string(kMaxRules - 1) + ")");
  }
  return OkStatus();
}

// Entry paths: absolute, normalized, one trailing '/' tolerated.
Status CheckEntryPath(std::string_view path) {
  const std::string quoted =
      "path \"" + std::string(path.substr(0, 80)) + (path.size() > 80 ? "...\"" : "\"");
  if (path.empty()) return InvalidArgumentError("path is empty");
  if (path.size() > kMaxPathLength) {
    return InvalidArgumentError(quoted + ": longer than " + std::to_string(kMaxPathLength) +
                                " bytes");
  }
  if (path.front() != '/') {
    return InvalidArgumentError(quoted + ": not absolute (must start with '/')");
  }
  if (size_t nul = path.find('\0'); nul != std::string_view::npos) {
    return InvalidArgumentError(quoted + ": NUL byte at offset " + std::to_string(nul));
  }
  std::string_view body = path;
  if (body.size() > 1 && body.back() == '/') body.remove_suffix(1);
  size_t start = 1;
  while (start <= body.size() && body.size() > 1) {
    size_t end = body.find('/', start);
    if (end == std::string_view::npos) end = body.size();
    std::string_view seg = body.substr(start, end - start);
    if (seg.empty()) {
      return InvalidArgumentError(quoted + ": empty segment (\"//\") at offset " +
                                  std::to_string(start));
    }
    if (seg == "." || seg == "..") {
      return InvalidArgumentError(quoted + ": '" + std::string(seg) + "' segment at offset " +
                                  std::to_string(start) + " (write the normalized path)");
    }
    start = end + 1;
  }
  return OkStatus();
}

}  // namespace

struct PathMatcher::Builder::TrieNode {
  std::map<std::string, std::unique_ptr<TrieNode>, std::less<>> children;
  std::vector<uint32_t> exact;
  std::vector<uint32_t> subtree;
  // Globs whose leading whole segments without wildcards lead to this node:
  // only paths that walk through it can match them.
  std::vector<std::pair<Glob, uint32_t>> globs;
};

PathMatcher::PathMatcher() : nodes_(1) {}

PathMatcher::Builder::Builder() : root_(std::make_unique<TrieNode>()) {}
PathMatcher::Builder::~Builder() = default;
PathMatcher::Builder::Builder(Builder&&) noexcept = default;
PathMatcher::Builder& PathMatcher::Builder::operator=(Builder&&) noexcept = default;

Status PathMatcher::Builder::AddExact(std::string_view path, uint32_t rule) {
  return Add(path, rule, /*subtree=*/false);
}

Status PathMatcher::Builder::AddSubtree(std::string_view directory, uint32_t rule) {
  return Add(directory, rule, /*subtree=*/true);
}

Status PathMatcher::Builder::AddGlob(std::string_view pattern, uint32_t rule) {
  PORTCULLIS_RETURN_IF_ERROR(CheckRule(rule));
  StatusOr<Glob> glob = Glob::Compile(pattern);
  if (!glob.ok()) return glob.status();
  return AddGlob(*std::move(glob), rule);
}

Status PathMatcher::Builder::AddGlob(Glob glob, uint32_t rule) {
  PORTCULLIS_RETURN_IF_ERROR(CheckRule(rule));
  if (glob.pattern().front() != '/' && glob.pattern().rfind("**/", 0) != 0 &&
      glob.pattern() != "**") {
    return InvalidArgumentError("glob \"" + glob.pattern() +
                                "\": not absolute (must start with '/' or '**/')");
  }
  // Index the glob under its literal prefix: "/etc/pkg/*.log" under
  // /etc/pkg, "**/x" and "/*/y" under the root.
  TrieNode* node = root_.get();
  ForEachSegment(GlobLiteralPrefix(glob.pattern()), [&node](std::string_view seg) {
    auto it = node->children.find(seg);
    if (it == node->children.end()) {
      it = node->children.emplace(std::string(seg), std::make_unique<TrieNode>()).first;
    }
    node = it->second.get();
    return true;
  });
  node->globs.emplace_back(std::move(glob), rule);
  return OkStatus();
}

Status PathMatcher::Builder::Add(std::string_view path, uint32_t rule, bool subtree) {
  PORTCULLIS_RETURN_IF_ERROR(CheckRule(rule));
  PORTCULLIS_RETURN_IF_ERROR(CheckEntryPath(path));
  TrieNode* node = root_.get();
  ForEachSegment(path, [&node](std::string_view seg) {
    auto it = node->children.find(seg);
    if (it == node->children.end()) {
      it = node->children.emplace(std::string(seg), std::make_unique<TrieNode>()).first;
    }
    node = it->second.get();
    return true;
  });
  (subtree ? node->subtree : node->exact).push_back(rule);
  return OkStatus();
}

PathMatcher PathMatcher::Builder::Build() && {
  PathMatcher m;
  m.nodes_.clear();
  auto append_rules = [&m](std::vector<uint32_t>& rules, uint32_t& begin, uint32_t& end) {
    std::sort(rules.begin(), rules.end());
    rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
    begin = static_cast<uint32_t>(m.rules_.size());
    m.rules_.insert(m.rules_.end(), rules.begin(), rules.end());
    end = static_cast<uint32_t>(m.rules_.size());
  };
  // Breadth-first, so that each node's edges are contiguous and, coming from
  // an ordered map, sorted by label. Nodes are numbered in queue order.
  std::deque<TrieNode*> queue{root_.get()};
  uint32_t next_index = 1;
  for (uint32_t index = 0; !queue.empty(); ++index) {
    TrieNode* t = queue.front();
    queue.pop_front();
    m.nodes_.resize(next_index);
    Node& node = m.nodes_[index];
    append_rules(t->exact, node.exact_begin, node.exact_end);
    append_rules(t->subtree, node.subtree_begin, node.subtree_end);
    node.globs_begin = static_cast<uint32_t>(m.globs_.size());
    for (auto& g : t->globs)
      m.globs_.push_back(std::move(g));
    node.globs_end = static_cast<uint32_t>(m.globs_.size());
    node.children_begin = static_cast<uint32_t>(m.edges_.size());
    for (auto& [label, child] : t->children) {
      m.edges_.push_back({SegmentKey(label), static_cast<uint32_t>(m.labels_.size()),
                          static_cast<uint32_t>(label.size()), next_index++});
      m.labels_ += label;
      queue.push_back(child.get());
    }
    node.children_end = static_cast<uint32_t>(m.edges_.size());
  }
  return m;
}

void PathMatcher::Match(std::string_view path, RuleBits& out) const {
  auto or_rules = [this, &out](uint32_t begin, uint32_t end) {
    for (uint32_t i = begin; i < end; ++i)
      out.Set(rules_[i]);
  };
  auto globs = [this, &out, path](const Node* n) {
    for (uint32_t i = n->globs_begin; i < n->globs_end; ++i) {
      const auto& [glob, rule] = globs_[i];
      if (!out.Test(rule) && glob.Matches(path)) out.Set(rule);
    }
  };
  const Node* node = &nodes_[0];
  or_rules(node->subtree_begin, node->subtree_end);
  globs(node);
  bool complete = true;  // every segment of `path` found in the trie
  ForEachSegment(path, [&](std::string_view seg) {
    const Edge* first = edges_.data() + node->children_begin;
    const Edge* last = edges_.data() + node->children_end;
    const uint64_t key = SegmentKey(seg);
    auto label = [this](const Edge& e) {
      return std::string_view(labels_.data() + e.label_begin, e.label_size);
    };
    const Edge* it = std::lower_bound(first, last, seg, [&](const Edge& e, std::string_view s) {
      if (e.key != key) return e.key < key;
      return label(e) < s;
    });
    if (it == last || it->key != key || label(*it) != seg) {
      complete = false;
      return false;
    }
    node = &nodes_[it->child];
    or_rules(node->subtree_begin, node->subtree_end);
    globs(node);
    return true;
  });
  if (complete) or_rules(node->exact_begin, node->exact_end);
}

}  // namespace portcullis::policy
