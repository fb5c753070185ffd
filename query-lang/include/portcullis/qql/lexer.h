// The QQL lexer: query text -> tokens, each with its byte offset.
//
//   StatusOr<std::vector<Token>> tokens = Lex("process.name:bash | count");
//   // kWord "process.name", kColon, kValue "bash", kPipe, kWord "count", kEnd
//
// The lexer knows one piece of context: the token after ':', a comparison
// operator, '[', '..' or ',' inside brackets is a value, and a value may hold
// ':', '<', '>', '=' and '!' (times, IPv6 addresses), which end a word
// elsewhere. Inside brackets a bare value ends at "..", so [1..5] is a range.
//
// It rejects, with the position: NUL bytes and other control characters
// (except tab, CR, LF), invalid UTF-8, unterminated quoted strings, escapes
// other than \" and \\, and a lone '!'. It does not limit the length of its
// input: Parse() checks kMaxQueryBytes before lexing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::qql {

enum class TokenKind {
  kWord,    // a field name, pipe command or pipe argument (not after ':' or an operator)
  kValue,   // an unquoted value (after ':', an operator, '[', ',' in brackets, '..')
  kString,  // a quoted value; text is the decoded contents
  kAnd,     // and, AND, And ... (keywords are case-insensitive)
  kOr,
  kNot,
  kColon,     // :
  kLParen,    // (
  kRParen,    // )
  kLBracket,  // [
  kRBracket,  // ]
  kComma,     // ,
  kRange,     // .. (inside brackets)
  kPipe,      // |
  kLt,        // <
  kLe,        // <=
  kGt,        // >
  kGe,        // >=
  kNe,        // !=
  kEquals,    // = (not QQL; lexed so the parser can say "use ':'")
  kEnd,       // the end of the query (offset == its size)
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::size_t offset = 0;  // of the first byte (the opening quote of a string)
  std::size_t length = 0;  // bytes in the query, quotes included
  std::string text;        // words and values as written; strings decoded
};

// How a message names a token: "'count'", "a quoted string", "')'", "the end of the query".
std::string DescribeToken(const Token& token);

// Always ends with a kEnd token on success.
StatusOr<std::vector<Token>> Lex(std::string_view query);

}  // namespace portcullis::qql
