// The QQL parser: query text -> syntax tree (ast.h), by recursive descent over
// the lexer's tokens. Nothing here knows the field catalog; a term names any
// word as its field and the binder decides whether it exists.
//
//   StatusOr<ast::Query> q = Parse("process.name:bash and not event.action:allow | count");
//
// The grammar (EBNF; keywords are case-insensitive, `word`, `value` and
// `string` are tokens of lexer.h):
//
//   query      = [ expr ] { "|" stage } ;
//   expr       = or_expr ;
//   or_expr    = and_expr { "or" and_expr } ;
//   and_expr   = not_expr { [ "and" ] not_expr } ;     (* adjacency is "and" *)
//   not_expr   = "not" not_expr | primary ;
//   primary    = "(" expr ")" | term ;
//   term       = field ":" match
//              | field ( "<" | "<=" | ">" | ">=" | "!=" ) scalar ;
//   match      = "*"                                    (* exists *)
//              | scalar
//              | "[" scalar { "," scalar } "]"          (* any of *)
//              | "[" scalar ".." scalar "]" ;           (* inclusive range *)
//   scalar     = value | string ;
//   field      = word ;
//   stage      = "count" [ "by" field_list ]
//              | "top" word field_list                  (* top N f *)
//              | "sort" sort_key { "," sort_key }
//              | "limit" word
//              | "timechart" word ;                     (* timechart 5m *)
//   sort_key   = field [ "asc" | "desc" ] ;
//   field_list = field { "," field } ;
//
// So `not` binds tighter than `and`, which binds tighter than `or`.
//
// Limits (each breach is an InvalidArgument with the position): the query's
// length, nesting of parentheses and `not`, terms, values in one list and
// pipe stages. The parser stops at the first syntax error.
#pragma once

#include <cstddef>
#include <string_view>

#include "portcullis/common/status.h"
#include "portcullis/qql/ast.h"

namespace portcullis::qql {

inline constexpr std::size_t kMaxQueryBytes = 8 * 1024;
inline constexpr int kMaxDepth = 32;                // nested "(" and "not"
inline constexpr int kMaxTerms = 128;               // field:value terms in a query
inline constexpr std::size_t kMaxListValues = 100;  // values in one [a, b, ...]
inline constexpr std::size_t kMaxStages = 8;        // "| ..." stages
inline constexpr std::size_t kMaxStageFields = 8;   // fields of count by / top / sort

StatusOr<ast::Query> Parse(std::string_view query);

}  // namespace portcullis::qql
