#include "portcullis/qql/parser.h"

#include <vector>

#include "portcullis/common/strings.h"
#include "portcullis/qql/diagnostics.h"
#include "portcullis/qql/lexer.h"

namespace portcullis::qql {
namespace {

constexpr std::string_view kCommands[] = {"count", "top", "sort", "limit", "timechart"};

std::string Position(std::string_view query, std::size_t offset) {
  std::size_t line = 1;
  std::size_t col = 1;
  for (std::size_t i = 0; i < offset && i < query.size(); ++i) {
    if (query[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(query[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

bool IsWordCi(const Token& t, std::string_view word) {
  return t.kind == TokenKind::kWord && AsciiLower(t.text) == word;
}

class Parser {
 public:
  Parser(std::string_view query, std::vector<Token> tokens)
      : q_(query), tokens_(std::move(tokens)) {}

  StatusOr<ast::Query> Run() {
    ast::Query query;
    if (Peek().kind != TokenKind::kPipe && Peek().kind != TokenKind::kEnd) {
      PORTCULLIS_ASSIGN_OR_RETURN(query.where, ParseOr());
    }
    while (Peek().kind == TokenKind::kPipe) {
      const Token& pipe = Next();
      if (query.stages.size() == kMaxStages) {
        return ErrorAt(q_, pipe.offset, "more than " + std::to_string(kMaxStages) + " pipe stages");
      }
      PORTCULLIS_ASSIGN_OR_RETURN(ast::Stage stage, ParseStage());
      query.stages.push_back(std::move(stage));
      if (Peek().kind != TokenKind::kPipe && Peek().kind != TokenKind::kEnd) {
        return Error(Peek(), "unexpected " + DescribeToken(Peek()) + " after the '" +
                                 query.stages.back().Name() +
                                 "' stage (stages are separated by '|')");
      }
    }
    if (Peek().kind == TokenKind::kRParen) return Error(Peek(), "')' without a matching '('");
    if (Peek().kind != TokenKind::kEnd) {
      return Error(Peek(), "unexpected " + DescribeToken(Peek()));
    }
    return query;
  }

 private:
  const Token& Peek() const { return tokens_[i_]; }
  const Token& Next() {
    const Token& t = tokens_[i_];
    if (t.kind != TokenKind::kEnd) ++i_;
    return t;
  }
  Status Error(const Token& at, std::string message) const {
    return ErrorAt(q_, at.offset, std::move(message));
  }

  Status Enter(const Token& at) {
    if (++depth_ > kMaxDepth) {
      return Error(at, "nesting is deeper than " + std::to_string(kMaxDepth) +
                           " levels of parentheses and 'not'");
    }
    return OkStatus();
  }

  StatusOr<ast::Expr> ParseOr() {
    PORTCULLIS_ASSIGN_OR_RETURN(ast::Expr first, ParseAnd());
    if (Peek().kind != TokenKind::kOr) return first;
    ast::Expr out;
    out.kind = ast::Expr::Kind::kOr;
    out.offset = first.offset;
    out.children.push_back(std::move(first));
    while (Peek().kind == TokenKind::kOr) {
      Next();
      PORTCULLIS_ASSIGN_OR_RETURN(ast::Expr next, ParseAnd());
      out.children.push_back(std::move(next));
    }
    return out;
  }

  // Any token that can't continue an expression ends an and-chain; anything
  // else is an implicit "and" (and gets the term's error if it is no term).
  bool EndsAndChain(TokenKind k) const {
    return k == TokenKind::kOr || k == TokenKind::kRParen || k == TokenKind::kPipe ||
           k == TokenKind::kEnd;
  }

  StatusOr<ast::Expr> ParseAnd() {
    PORTCULLIS_ASSIGN_OR_RETURN(ast::Expr first, ParseNot());
    if (EndsAndChain(Peek().kind)) return first;
    ast::Expr out;
    out.kind = ast::Expr::Kind::kAnd;
    out.offset = first.offset;
    out.children.push_back(std::move(first));
    while (!EndsAndChain(Peek().kind)) {
      if (Peek().kind == TokenKind::kAnd) Next();
      PORTCULLIS_ASSIGN_OR_RETURN(ast::Expr next, ParseNot());
      out.children.push_back(std::move(next));
    }
    return out;
  }

  StatusOr<ast::Expr> ParseNot() {
    if (Peek().kind != TokenKind::kNot) return ParsePrimary();
    const Token& op = Next();
    PORTCULLIS_RETURN_IF_ERROR(Enter(op));
    PORTCULLIS_ASSIGN_OR_RETURN(ast::Expr operand, ParseNot());
    --depth_;
    ast::Expr out;
    out.kind = ast::Expr::Kind::kNot;
    out.offset = op.offset;
    out.children.push_back(std::move(operand));
    return out;
  }

  StatusOr<ast::Expr> ParsePrimary() {
    if (Peek().kind == TokenKind::kLParen) {
      const Token& open = Next();
      PORTCULLIS_RETURN_IF_ERROR(Enter(open));
      if (Peek().kind == TokenKind::kRParen) return Error(Peek(), "empty parentheses");
      PORTCULLIS_ASSIGN_OR_RETURN(ast::Expr inner, ParseOr());
      if (Peek().kind != TokenKind::kRParen) {
        return Error(Peek(), "expected ')' to close the '(' at " + Position(q_, open.offset) +
                                 ", got " + DescribeToken(Peek()));
      }
      Next();
      --depth_;
      return inner;
    }
    ast::Expr out;
    out.kind = ast::Expr::Kind::kTerm;
    out.offset = Peek().offset;
    PORTCULLIS_ASSIGN_OR_RETURN(out.term, ParseTerm());
    return out;
  }

  StatusOr<ast::Term> ParseTerm() {
    const Token& field = Peek();
    if (field.kind != TokenKind::kWord) {
      if (field.kind == TokenKind::kEnd)
        return Error(field, "expected a term, got the end of the query");
      return Error(field, "expected a field name, got " + DescribeToken(field));
    }
    Next();
    if (++terms_ > kMaxTerms) {
      return Error(field, "the query has more than " + std::to_string(kMaxTerms) + " terms");
    }
    ast::Term term;
    term.field = {field.text, field.offset};
    const Token& op = Next();
    switch (op.kind) {
      case TokenKind::kColon:
        PORTCULLIS_RETURN_IF_ERROR(ParseMatch(op, term));
        return term;
      case TokenKind::kLt:
      case TokenKind::kLe:
      case TokenKind::kGt:
      case TokenKind::kGe:
      case TokenKind::kNe: {
        term.op = op.kind == TokenKind::kLt   ? ast::Op::kLt
                  : op.kind == TokenKind::kLe ? ast::Op::kLe
                  : op.kind == TokenKind::kGt ? ast::Op::kGt
                  : op.kind == TokenKind::kGe ? ast::Op::kGe
                                              : ast::Op::kNe;
        PORTCULLIS_ASSIGN_OR_RETURN(ast::Value v, ParseScalar(op));
        term.values.push_back(std::move(v));
        return term;
      }
      case TokenKind::kEquals:
        return Error(op, "use ':' for equality: " + Quoted(field.text + ":value"));
      default:
        return Error(op, "expected ':' or a comparison (<, <=, >, >=, !=) after " +
                             Quoted(field.text) + ", got " + DescribeToken(op));
    }
  }

  Status ParseMatch(const Token& colon, ast::Term& term) {
    if (Peek().kind == TokenKind::kValue && Peek().text == "*") {
      Next();
      term.kind = ast::Term::Kind::kExists;
      return OkStatus();
    }
    if (Peek().kind != TokenKind::kLBracket) {
      if (Peek().kind == TokenKind::kLParen) {
        return Error(Peek(), "expected a value after ':' (for any of several values use [a, b])");
      }
      PORTCULLIS_ASSIGN_OR_RETURN(ast::Value v, ParseScalar(colon));
      term.values.push_back(std::move(v));
      return OkStatus();
    }
    const Token& open = Next();
    PORTCULLIS_ASSIGN_OR_RETURN(ast::Value first, ParseScalar(open));
    term.values.push_back(std::move(first));
    if (Peek().kind == TokenKind::kRange) {
      const Token& dots = Next();
      PORTCULLIS_ASSIGN_OR_RETURN(ast::Value hi, ParseScalar(dots));
      term.values.push_back(std::move(hi));
      term.kind = ast::Term::Kind::kRange;
    } else {
      term.kind = ast::Term::Kind::kList;
      while (Peek().kind == TokenKind::kComma) {
        const Token& comma = Next();
        if (term.values.size() == kMaxListValues) {
          return Error(comma, "a list holds at most " + std::to_string(kMaxListValues) + " values");
        }
        PORTCULLIS_ASSIGN_OR_RETURN(ast::Value v, ParseScalar(comma));
        term.values.push_back(std::move(v));
      }
    }
    if (Peek().kind != TokenKind::kRBracket) {
      if (Peek().kind == TokenKind::kEnd) {
        return Error(Peek(), "expected ']' to close the '[' at " + Position(q_, open.offset));
      }
      return Error(Peek(), std::string(term.kind == ast::Term::Kind::kRange
                                           ? "expected ']' after the range"
                                           : "expected ',' or ']' in the list") +
                               ", got " + DescribeToken(Peek()));
    }
    Next();
    return OkStatus();
  }

  // A value after `after` (':', an operator, '[', ',' or '..').
  StatusOr<ast::Value> ParseScalar(const Token& after) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kValue && t.kind != TokenKind::kString) {
      return Error(t, "expected a value after '" + after.text + "'");
    }
    Next();
    return ast::Value{t.text, t.kind == TokenKind::kString, t.offset};
  }

  StatusOr<ast::FieldName> ParseField(std::string_view after) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kWord) {
      return Error(
          t, "expected a field name after " + std::string(after) + ", got " + DescribeToken(t));
    }
    Next();
    return ast::FieldName{t.text, t.offset};
  }

  Status ParseFieldList(std::string_view after, std::vector<ast::FieldName>& out) {
    PORTCULLIS_ASSIGN_OR_RETURN(ast::FieldName first, ParseField(after));
    out.push_back(std::move(first));
    while (Peek().kind == TokenKind::kComma) {
      const Token& comma = Next();
      if (out.size() == kMaxStageFields) {
        return Error(comma, "at most " + std::to_string(kMaxStageFields) + " fields");
      }
      PORTCULLIS_ASSIGN_OR_RETURN(ast::FieldName next, ParseField("','"));
      out.push_back(std::move(next));
    }
    return OkStatus();
  }

  StatusOr<ast::Value> ParseArgument(const Token& command, std::string_view what) {
    const Token& t = Peek();
    if (t.kind != TokenKind::kWord) {
      return Error(t, "expected " + std::string(what) + " after '" + command.text + "', got " +
                          DescribeToken(t));
    }
    Next();
    return ast::Value{t.text, false, t.offset};
  }

  StatusOr<ast::Stage> ParseStage() {
    const Token& command = Peek();
    if (command.kind != TokenKind::kWord) {
      return Error(command,
                   "expected a pipe command (count, top, sort, limit, timechart) after "
                   "'|', got " +
                       DescribeToken(command));
    }
    Next();
    ast::Stage stage;
    stage.offset = command.offset;
    const std::string name = AsciiLower(command.text);
    if (name == "count") {
      stage.kind = ast::Stage::Kind::kCount;
      if (IsWordCi(Peek(), "by")) {
        Next();
        PORTCULLIS_RETURN_IF_ERROR(ParseFieldList("'by'", stage.fields));
      }
    } else if (name == "top") {
      stage.kind = ast::Stage::Kind::kTop;
      PORTCULLIS_ASSIGN_OR_RETURN(stage.argument, ParseArgument(command, "a number of rows"));
      PORTCULLIS_RETURN_IF_ERROR(ParseFieldList("'top N'", stage.fields));
    } else if (name == "sort") {
      stage.kind = ast::Stage::Kind::kSort;
      while (true) {
        PORTCULLIS_ASSIGN_OR_RETURN(ast::FieldName field,
                                    ParseField(stage.sort_keys.empty() ? "'sort'" : "','"));
        ast::SortKey key{std::move(field), false};
        if (IsWordCi(Peek(), "desc") || IsWordCi(Peek(), "asc")) {
          key.descending = IsWordCi(Next(), "desc");
        }
        stage.sort_keys.push_back(std::move(key));
        if (Peek().kind != TokenKind::kComma) break;
        const Token& comma = Next();
        if (stage.sort_keys.size() == kMaxStageFields) {
          return Error(comma, "at most " + std::to_string(kMaxStageFields) + " sort keys");
        }
      }
    } else if (name == "limit") {
      stage.kind = ast::Stage::Kind::kLimit;
      PORTCULLIS_ASSIGN_OR_RETURN(stage.argument, ParseArgument(command, "a number of rows"));
    } else if (name == "timechart") {
      stage.kind = ast::Stage::Kind::kTimechart;
      PORTCULLIS_ASSIGN_OR_RETURN(stage.argument, ParseArgument(command, "an interval such as 5m"));
    } else {
      std::vector<std::string_view> commands(std::begin(kCommands), std::end(kCommands));
      std::optional<std::string> guess = ClosestMatch(command.text, commands);
      return Error(command, "unknown pipe command " + Quoted(command.text) +
                                (guess ? " (did you mean " + *guess + "?)"
                                       : " (count, top, sort, limit, timechart)"));
    }
    return stage;
  }

  std::string_view q_;
  std::vector<Token> tokens_;
  std::size_t i_ = 0;
  int depth_ = 0;
  int terms_ = 0;
};

}  // namespace

StatusOr<ast::Query> Parse(std::string_view query) {
  if (query.size() > kMaxQueryBytes) {
    return ErrorAt(query, kMaxQueryBytes,
                   "the query is " + std::to_string(query.size()) + " bytes; at most " +
                       std::to_string(kMaxQueryBytes) + " are allowed");
  }
  PORTCULLIS_ASSIGN_OR_RETURN(std::vector<Token> tokens, Lex(query));
  return Parser(query, std::move(tokens)).Run();
}

}  // namespace portcullis::qql
