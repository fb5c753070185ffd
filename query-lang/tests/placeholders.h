// Test helpers: the options tests compile with, and the placeholders of a statement, read
// independently of the library's own VerifySql. Well-formed means they are exactly $1..$n with n
// == params.size(), each used at least once, and no other '$' in the text.
#pragma once

#include <set>
#include <string>

#include "portcullis/qql/qql.h"
#include "portcullis/qql/values.h"

namespace portcullis::qql::testing {

inline constexpr const char* kTestTenant = "00000000-0000-4000-8000-0000000000aa";

// The options the tests compile with: a fixed tenant, now = 2026-11-28 12:00 UTC,
// the last 24 hours.
inline CompileOptions TestOptions() {
  CompileOptions o;
  o.tenant_id = kTestTenant;
  o.now = std::chrono::system_clock::time_point(ParseAbsoluteTime("2026-11-28T12:00:00Z")->time);
  o.from = o.now - std::chrono::hours(24);
  o.to = o.now;
  return o;
}

inline std::string PlaceholderProblem(const SqlQuery& q) {
  std::set<std::size_t> seen;
  for (std::size_t i = 0; i < q.sql.size(); ++i) {
    if (q.sql[i] != '$') continue;
    std::size_t j = i + 1;
    std::size_t n = 0;
    while (j < q.sql.size() && q.sql[j] >= '0' && q.sql[j] <= '9' && n < 1000000)
      n = n * 10 + static_cast<std::size_t>(q.sql[j++] - '0');
    if (j == i + 1) return "a '$' without a number at byte " + std::to_string(i);
    if (n < 1 || n > q.params.size()) return "$" + std::to_string(n) + " is out of range";
    if (q.sql.compare(j, 2, "::") != 0) return "$" + std::to_string(n) + " has no cast";
    seen.insert(n);
  }
  if (seen.size() != q.params.size()) {
    return std::to_string(seen.size()) + " placeholders for " + std::to_string(q.params.size()) +
           " parameters";
  }
  return "";
}

}  // namespace portcullis::qql::testing
