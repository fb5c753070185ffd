// Policy documents: JSON in, a Policy out, or every problem with where it is.
//
//   ParseResult r = ParsePolicyDocument(json_text);
//   if (!r.ok()) for (const Diagnostic& d : r.diagnostics) show(d.location, d.message);
//   else use(*r.policy);
//
// The document (all fields but "rules" optional):
//   {"name": "web", "mode": "enforcing" | "permissive",
//    "defaults": {"file": "allow", "network": "deny", "process": "allow"},
//    "hardening": ["deny-ptrace", ...],
//    "rules": [
//      {"id": "no-shadow", "type": "file", "action": "deny",
//       "paths": ["/etc/shadow", "/root/", "/home/*/.ssh/**"],
//       "operations": ["read", "write"], "programs": ["/usr/bin/*"]},
//      {"type": "network", "action": "allow", "direction": "outbound",
//       "addresses": ["10.0.0.0/8", "2001:db8::/32"], "ports": ["443", "8000-8999"],
//       "protocol": "tcp"},
//      {"type": "syscall", "action": "deny", "syscall": "personality",
//       "args": [{"index": 0, "op": "ne", "value": 0}]}]}
// A path ending in "/" is that directory's subtree; one with *, ?, [ is a glob.
// Rules without an "id" get "rule-<position>". Locations are JSON pointers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/policy/model.h"
#include "portcullis/policy/rule_bits.h"

namespace portcullis::policy {

struct Diagnostic {
  std::string location;  // JSON pointer, "" for the document itself
  std::string message;
};

struct ParseResult {
  std::optional<Policy> policy;  // set only when there is no diagnostic
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return policy.has_value(); }
};

// Limits: absurd documents are refused, with the limit named.
inline constexpr std::size_t kMaxDocumentBytes = 4 << 20;
// kMaxRules (4096) comes from rule_bits.h: the evaluator's bitset capacity.
inline constexpr std::size_t kMaxPathLength = 4096;
inline constexpr std::size_t kMaxListEntries = 256;  // paths, programs, addresses, ports
inline constexpr std::size_t kMaxDiagnostics = 200;

ParseResult ParsePolicyDocument(std::string_view json_text);

// The built-in hardening sets a policy can switch on, with what they deny.
struct HardeningSet {
  std::string_view name;
  std::string_view description;
};
const std::vector<HardeningSet>& HardeningSets();

}  // namespace portcullis::policy
