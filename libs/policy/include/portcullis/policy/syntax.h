// The small syntaxes inside a policy document, each checked on its own so the
// parser can report every bad value with its location: path patterns, program
// patterns, CIDRs, port ranges and rule ids.
//
//   StatusOr<PathPattern> p = ParsePathPattern("/var/log/");   // subtree of /var/log
//   StatusOr<PortRange> r = ParsePortRange("8000-8999");
#pragma once

#include <string_view>

#include "portcullis/common/status.h"
#include "portcullis/policy/model.h"

namespace portcullis::policy {

// Absolute path, at most kMaxPathLength bytes, no NUL, no "." or ".."
// segment (the agent matches normalized paths, so such a rule could never
// match). Ending in "/": subtree; containing *, ? or [: glob (validated).
StatusOr<PathPattern> ParsePathPattern(std::string_view text);
// A program: an exact absolute path or a glob, same rules.
Status ValidatePathPattern(std::string_view text);
// "10.0.0.0/8", "2001:db8::/32", or a bare address.
Status ValidateCidr(std::string_view text);
// "443" or "8000-8999".
StatusOr<PortRange> ParsePortRange(std::string_view text);
// Letters, digits, '.', '_', '-'; 1 to 128 characters.
bool IsValidRuleId(std::string_view id);

}  // namespace portcullis::policy
