// The QQL syntax tree, as the parser builds it: names and values exactly as
// written (with their byte offsets), nothing resolved or checked against the
// field catalog yet. That is the binder's job (binder.h).
//
// Every node prints itself as an S-expression, which is what the golden tests
// compare:
//   process.name:bash and not event.action:allow | count by host.name
//   -> (and (= process.name bash) (not (= event.action allow))) | count by host.name
//
// Plain values; a tree owns its children.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace portcullis::qql::ast {

struct Value {
  std::string text;     // decoded (quotes and escapes removed)
  bool quoted = false;  // "..." : no wildcards, no special meaning of '*'
  std::size_t offset = 0;
};

struct FieldName {
  std::string name;
  std::size_t offset = 0;
};

enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };
const char* OpText(Op op);  // "=", "!=", "<", ...

struct Term {
  enum class Kind {
    kCompare,  // field:value (kEq) or field <op> value: one value
    kExists,   // field:*
    kList,     // field:[a, b, c]: one or more values
    kRange,    // field:[lo .. hi]: two values, inclusive
  };
  Kind kind = Kind::kCompare;
  FieldName field;
  Op op = Op::kEq;
  std::vector<Value> values;

  std::string ToString() const;
};

struct Expr {
  enum class Kind { kTerm, kAnd, kOr, kNot };
  Kind kind = Kind::kTerm;
  std::size_t offset = 0;      // of the term, the operator keyword or '('
  Term term;                   // kTerm
  std::vector<Expr> children;  // kAnd, kOr: two or more; kNot: one

  std::string ToString() const;
};

struct SortKey {
  FieldName field;
  bool descending = false;
};

struct Stage {
  enum class Kind {
    kCount,      // | count [by f1, f2]
    kTop,        // | top N f1 [, f2]
    kSort,       // | sort f [asc|desc] [, ...]
    kLimit,      // | limit N
    kTimechart,  // | timechart 5m
  };
  Kind kind = Kind::kCount;
  std::size_t offset = 0;          // of the command word
  std::vector<FieldName> fields;   // count by, top
  std::vector<SortKey> sort_keys;  // sort
  Value argument;                  // top's N, limit's N, timechart's interval (unchecked text)

  const char* Name() const;  // "count", "top", ...
  std::string ToString() const;
};

struct Query {
  std::optional<Expr> where;  // empty: every event
  std::vector<Stage> stages;

  std::string ToString() const;  // "*" for an empty filter
};

}  // namespace portcullis::qql::ast
