#include "domain/policy_service.h"

#include <algorithm>
#include <cstdint>
#include <set>

#include "portcullis/policy/compiler.h"

namespace portcullis::policy_service {
namespace {

constexpr std::size_t kMaxImageGlob = 512;
constexpr int kMaxWildcards = 16;

std::string Describe(const Selector& s) {
  switch (s.kind) {
    case Selector::Kind::kImage:
      return "image '" + s.image_glob + "'";
    case Selector::Kind::kLabels: {
      std::string out = "labels {";
      bool first = true;
      for (const auto& [k, v] : s.labels) {
        out += (first ? "" : ", ") + k + "=" + v;
        first = false;
      }
      return out + "}";
    }
    case Selector::Kind::kDefault:
      return "the tenant default";
  }
  return "";
}

// Whether the selector matches, and the sentence that says so.
std::pair<bool, std::string> Check(const Selector& s, const AgentFacts& agent) {
  switch (s.kind) {
    case Selector::Kind::kImage:
      if (ImageMatches(s.image_glob, agent.image_name)) {
        return {true, "image '" + agent.image_name + "' matches '" + s.image_glob + "'"};
      }
      return {false, "image '" + agent.image_name + "' does not match '" + s.image_glob + "'"};
    case Selector::Kind::kLabels:
      for (const auto& [k, v] : s.labels) {
        auto it = agent.labels.find(k);
        if (it == agent.labels.end()) return {false, "the agent has no label '" + k + "'"};
        if (it->second != v) {
          return {false, "label " + k + "=" + it->second + " is not " + k + "=" + v};
        }
      }
      return {true, "the agent has every label of " + Describe(s)};
    case Selector::Kind::kDefault:
      return {true, "the tenant default applies to every agent"};
  }
  return {false, ""};
}

}  // namespace

Resolution Resolve(const std::vector<Assignment>& assignments, const AgentFacts& agent) {
  std::vector<const Assignment*> order;
  for (const Assignment& a : assignments)
    order.push_back(&a);
  // Stable: the store lists assignments oldest first.
  std::stable_sort(order.begin(), order.end(), [](const Assignment* a, const Assignment* b) {
    if (a->priority != b->priority) return a->priority > b->priority;
    return (a->selector.kind != Selector::Kind::kDefault) >
           (b->selector.kind != Selector::Kind::kDefault);
  });
  Resolution r;
  for (const Assignment* a : order) {
    if (r.chosen != nullptr) {
      r.considered.push_back({a, false, "not considered: an earlier assignment applies"});
      continue;
    }
    auto [matched, why] = Check(a->selector, agent);
    r.considered.push_back({a, matched, why});
    if (matched) {
      r.chosen = a;
      r.reason = "assignment " + a->id.ToString() + " (priority " + std::to_string(a->priority) +
                 ", " + Describe(a->selector) + ") gives policy '" + a->policy_name + "': " + why;
    }
  }
  if (r.chosen == nullptr) {
    r.reason = assignments.empty() ? "the tenant has no policy assignment"
                                   : "no assignment matches this agent and the tenant has no "
                                     "default assignment";
  }
  return r;
}

Status ValidateImageGlob(std::string_view glob) {
  if (glob.empty() || glob.size() > kMaxImageGlob) {
    return InvalidArgumentError("an image glob has 1 to " + std::to_string(kMaxImageGlob) +
                                " characters");
  }
  int wildcards = 0;
  for (char c : glob) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return InvalidArgumentError("an image glob may not contain control characters");
    }
    if (c == '*' || c == '?') ++wildcards;
  }
  if (wildcards > kMaxWildcards) {
    return InvalidArgumentError("an image glob has at most " + std::to_string(kMaxWildcards) +
                                " wildcards");
  }
  return OkStatus();
}

// Iterative matching with one backtrack point (the last '*'): linear in
// practice, never exponential.
bool ImageMatches(std::string_view glob, std::string_view image) {
  std::size_t g = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < image.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == image[i])) {
      ++g;
      ++i;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = i;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*')
    ++g;
  return g == glob.size();
}

std::string ETagFor(const CompiledVersion* v) {
  if (v == nullptr) return "\"none\"";
  return "\"" + v->policy_id.ToString() + "." + std::to_string(v->version) + ".f" +
         std::to_string(policy::kRuleTableFormat) + "\"";
}

namespace {

using nlohmann::json;

void DiffValue(const std::string& path, const json& a, const json& b, std::vector<Change>& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (auto it = a.begin(); it != a.end(); ++it)
      keys.insert(it.key());
    for (auto it = b.begin(); it != b.end(); ++it)
      keys.insert(it.key());
    for (const std::string& k : keys) {
      const std::string p = path + "/" + k;
      if (!a.contains(k)) {
        out.push_back({p, "added", nullptr, b[k]});
      } else if (!b.contains(k)) {
        out.push_back({p, "removed", a[k], nullptr});
      } else {
        DiffValue(p, a[k], b[k], out);
      }
    }
    return;
  }
  out.push_back({path, "changed", a, b});
}

// Rules by id ("rule-<n>" for rules without one, as the parser names them).
std::vector<std::pair<std::string, json>> RulesById(const json& doc) {
  std::vector<std::pair<std::string, json>> out;
  if (!doc.contains("rules") || !doc["rules"].is_array()) return out;
  int n = 0;
  for (const json& r : doc["rules"]) {
    std::string id = r.is_object() && r.contains("id") && r["id"].is_string()
                         ? r["id"].get<std::string>()
                         : "rule-" + std::to_string(n);
    out.emplace_back(id, r);
    ++n;
  }
  return out;
}

}  // namespace

std::vector<Change> DiffDocuments(const json& before, const json& after) {
  std::vector<Change> out;
  json a = before, b = after;
  if (a.is_object()) a.erase("rules");
  if (b.is_object()) b.erase("rules");
  DiffValue("", a, b, out);
  auto ra = RulesById(before), rb = RulesById(after);
  std::map<std::string, std::size_t> pos_a, pos_b;
  for (std::size_t i = 0; i < ra.size(); ++i)
    pos_a[ra[i].first] = i;
  for (std::size_t i = 0; i < rb.size(); ++i)
    pos_b[rb[i].first] = i;
  for (const auto& [id, rule] : ra) {
    if (!pos_b.count(id)) out.push_back({"/rules/" + id, "removed", rule, nullptr});
  }
  // Order matters (first match wins): a rule whose position relative to the
  // rules both versions share changed is reported as moved.
  std::vector<std::string> common_a, common_b;
  for (const auto& [id, rule] : ra) {
    if (pos_b.count(id)) common_a.push_back(id);
  }
  for (const auto& [id, rule] : rb) {
    if (pos_a.count(id)) common_b.push_back(id);
  }
  std::map<std::string, std::size_t> rank_a;
  for (std::size_t i = 0; i < common_a.size(); ++i)
    rank_a[common_a[i]] = i;
  for (std::size_t i = 0; i < rb.size(); ++i) {
    const auto& [id, rule] = rb[i];
    auto it = pos_a.find(id);
    if (it == pos_a.end()) {
      out.push_back({"/rules/" + id, "added", nullptr, rule});
      continue;
    }
    DiffValue("/rules/" + id, ra[it->second].second, rule, out);
  }
  // The longest run of shared rules still in the same relative order stays
  // put; every other shared rule moved (longest increasing subsequence of
  // their old ranks in the new order).
  std::vector<std::size_t> ranks;
  for (const std::string& id : common_b)
    ranks.push_back(rank_a[id]);
  std::vector<std::size_t> tails, tail_index, parent(ranks.size(), SIZE_MAX);
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    std::size_t k = static_cast<std::size_t>(
        std::lower_bound(tails.begin(), tails.end(), ranks[i]) - tails.begin());
    if (k == tails.size()) {
      tails.push_back(ranks[i]);
      tail_index.push_back(i);
    } else {
      tails[k] = ranks[i];
      tail_index[k] = i;
    }
    parent[i] = k > 0 ? tail_index[k - 1] : SIZE_MAX;
  }
  std::vector<bool> stays(ranks.size(), false);
  for (std::size_t i = tail_index.empty() ? SIZE_MAX : tail_index.back(); i != SIZE_MAX;
       i = parent[i])
    stays[i] = true;
  for (std::size_t i = 0; i < common_b.size(); ++i) {
    if (stays[i]) continue;
    const std::string& id = common_b[i];
    out.push_back({"/rules/" + id, "moved", static_cast<std::int64_t>(pos_a[id]),
                   static_cast<std::int64_t>(pos_b[id])});
  }
  return out;
}

}  // namespace portcullis::policy_service
