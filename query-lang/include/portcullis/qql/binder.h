// The QQL binder: syntax tree + field catalog + compile options -> a checked,
// normalized query plan (BoundQuery) for the SQL emitter.
//
//   PORTCULLIS_ASSIGN_OR_RETURN(ast::Query tree, Parse(text));
//   PORTCULLIS_ASSIGN_OR_RETURN(BoundQuery plan, Bind(text, tree, Catalog::Default(), options));
//
// It resolves every field (an unknown one gets a suggestion by edit distance:
// "unknown field 'proces.name' (did you mean process.name?)"), checks each
// value against its field's type and turns it into the text of a parameter
// (enum words lower-cased, UUIDs canonical, CIDRs with host bits cleared,
// relative times resolved against options.now, wildcards into LIKE patterns
// with %, _ and \ escaped), and checks that the pipeline makes sense. It is
// the only stage that reads the tenant and the time range, and BoundQuery
// always carries them.
//
// Unlike the parser it does not stop at the first problem: the error lists
// every diagnostic (up to kMaxDiagnostics) with its position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"
#include "portcullis/qql/ast.h"
#include "portcullis/qql/catalog.h"
#include "portcullis/qql/qql.h"
#include "portcullis/qql/values.h"

namespace portcullis::qql {

inline constexpr std::size_t kMaxDiagnostics = 10;
// timechart: the shortest interval, and the most buckets over [from, to).
inline constexpr std::int64_t kMinTimechartSeconds = 10;
inline constexpr std::int64_t kMaxTimechartSeconds = 366 * 86400;
inline constexpr std::int64_t kMaxTimechartBuckets = 5000;
// labels.<key>: keys of 1 to 63 characters from [A-Za-z0-9._/-].
inline constexpr std::size_t kMaxLabelKeyBytes = 63;

// A field as a query uses it.
struct ColumnRef {
  const FieldDef* field = nullptr;
  std::string label_key;  // labels.<key>: the key (a parameter); else empty
  std::string name;       // as the result column is named: "process.name", "labels.app"
  // The PostgreSQL type of the values ("text" for a label's value).
  std::string_view sql_type() const;
};

struct Predicate {
  enum class Kind {
    kAnd,      // children, two or more
    kOr,       // children, two or more
    kNot,      // one child; true when the child is false or NULL
    kCompare,  // column <op> values[0]
    kLike,     // column LIKE values[0] (op kEq) or NOT LIKE (op kNe); values[0] is a pattern
    kIn,       // column IN (values...), two or more
    kBetween,  // column BETWEEN values[0] AND values[1]
    kWithin,   // column <<= values[0] (a CIDR; op kEq) or NOT (...) (op kNe)
    kExists,   // column IS NOT NULL
  };
  Kind kind = Kind::kExists;
  ColumnRef column;
  ast::Op op = ast::Op::kEq;
  std::vector<std::string> values;  // normalized parameter texts
  // kLike and kWithin (op kEq) on a column: {lower, upper} (upper may be
  // absent) of a range every match lies in, in the btree order of the
  // column's index (text_pattern_ops bytes; inet), for the emitter to add as
  // plain comparisons. Row-level security lets the planner use an index
  // condition only when its operator is leakproof: LIKE and <<= are not,
  // >= and <= (~>=~, ~<~) are, so without the range a prefix or CIDR match
  // could never use an index. The LIKE or <<= itself stays the exact test.
  std::vector<std::string> bounds;
  std::vector<Predicate> children;

  std::string ToString() const;  // for tests: (= process.name 'bash')
};

struct BoundQuery {
  enum class Shape {
    kListing,    // events, newest first or in commit order
    kCount,      // | count: one row
    kCountBy,    // | count by f...: one row per group
    kTop,        // | top N f...: the N largest groups
    kTimechart,  // | timechart 5m: one row per non-empty bucket
  };
  struct SortKey {
    bool by_count = false;   // sort count (after count by)
    std::size_t column = 0;  // kCountBy: index into group_by
    ColumnRef field;         // kListing: the field
    bool descending = false;
  };

  // Always set: the binder is the only place the tenant condition comes from.
  std::string tenant_id;  // canonical lower-case UUID
  Timestamp from, to;     // [from, to), from < to
  CompileOptions::Order order = CompileOptions::Order::kNewestFirst;

  std::optional<Predicate> where;
  Shape shape = Shape::kListing;
  std::vector<ColumnRef> group_by;  // kCountBy, kTop
  std::vector<SortKey> sort;        // kListing, kCountBy
  std::int64_t limit = 0;           // rows; 0 for kCount and kTimechart
  std::int64_t bucket_seconds = 0;  // kTimechart
  // Keyset cursor of a listing: {ts, event_id} or {txid, event_id}, normalized.
  std::optional<std::pair<std::string, std::string>> after;
};

StatusOr<BoundQuery> Bind(std::string_view query, const ast::Query& tree, const Catalog& catalog,
                          const CompileOptions& options);

}  // namespace portcullis::qql
