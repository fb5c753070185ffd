#include "portcullis/qql/lexer.h"

#include "portcullis/common/strings.h"
#include "portcullis/qql/diagnostics.h"
#include "utf8.h"

namespace portcullis::qql {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Characters that end any bare token.
bool IsHardDelimiter(char c) {
  switch (c) {
    case '(':
    case ')':
    case '[':
    case ']':
    case ',':
    case '|':
    case '"':
      return true;
    default:
      return IsSpace(c);
  }
}

// Characters that also end a word (a value may contain them).
bool IsWordDelimiter(char c) {
  switch (c) {
    case ':':
    case '<':
    case '>':
    case '=':
    case '!':
      return true;
    default:
      return IsHardDelimiter(c);
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view query) : q_(query) {}

  StatusOr<std::vector<Token>> Run() {
    PORTCULLIS_RETURN_IF_ERROR(CheckBytes());
    while (true) {
      while (pos_ < q_.size() && IsSpace(q_[pos_]))
        ++pos_;
      if (pos_ == q_.size()) {
        Push(TokenKind::kEnd, pos_, 0);
        return std::move(tokens_);
      }
      const char c = q_[pos_];
      if (brackets_ > 0 && AtRange()) {
        Push(TokenKind::kRange, pos_, 2);
        value_next_ = true;
        continue;
      }
      if (c == '"') {
        PORTCULLIS_RETURN_IF_ERROR(LexString());
        value_next_ = false;
        continue;
      }
      if (IsHardDelimiter(c)) {
        LexPunctuation(c);
        continue;
      }
      if (value_next_) {
        LexBare(TokenKind::kValue, IsHardDelimiter);
        value_next_ = false;
        continue;
      }
      switch (c) {
        case ':':
          Push(TokenKind::kColon, pos_, 1);
          value_next_ = true;
          continue;
        case '<':
        case '>': {
          const bool eq = pos_ + 1 < q_.size() && q_[pos_ + 1] == '=';
          TokenKind kind = c == '<' ? (eq ? TokenKind::kLe : TokenKind::kLt)
                                    : (eq ? TokenKind::kGe : TokenKind::kGt);
          Push(kind, pos_, eq ? 2 : 1);
          value_next_ = true;
          continue;
        }
        case '!':
          if (pos_ + 1 < q_.size() && q_[pos_ + 1] == '=') {
            Push(TokenKind::kNe, pos_, 2);
            value_next_ = true;
            continue;
          }
          return ErrorAt(q_, pos_, "expected '!=' (use 'not' to negate a term)");
        case '=':
          Push(TokenKind::kEquals, pos_, 1);
          value_next_ = true;
          continue;
        default:
          LexBare(TokenKind::kWord, IsWordDelimiter);
          Classify(tokens_.back());
          continue;
      }
    }
  }

 private:
  // NUL and other control bytes, and invalid UTF-8, are rejected up front:
  // nothing after this point (values, parameters, messages) can hold them.
  Status CheckBytes() const {
    std::size_t i = 0;
    while (i < q_.size()) {
      const auto c = static_cast<unsigned char>(q_[i]);
      if (c == 0) return ErrorAt(q_, i, "the query contains a NUL byte");
      if (internal::IsForbiddenControl(c)) {
        return ErrorAt(q_, i, "the query contains a control character");
      }
      const std::size_t n = internal::Utf8SequenceLength(q_, i);
      if (n == 0) return ErrorAt(q_, i, "the query is not valid UTF-8");
      i += n;
    }
    return OkStatus();
  }

  bool AtRange() const { return q_.compare(pos_, 2, "..") == 0; }

  void Push(TokenKind kind, std::size_t offset, std::size_t length, std::string text = {}) {
    if (text.empty() && kind != TokenKind::kString && kind != TokenKind::kEnd) {
      text = std::string(q_.substr(offset, length));
    }
    tokens_.push_back(Token{kind, offset, length, std::move(text)});
    pos_ = offset + length;
  }

  void LexPunctuation(char c) {
    switch (c) {
      case '(':
        Push(TokenKind::kLParen, pos_, 1);
        value_next_ = false;
        break;
      case ')':
        Push(TokenKind::kRParen, pos_, 1);
        value_next_ = false;
        break;
      case '[':
        Push(TokenKind::kLBracket, pos_, 1);
        ++brackets_;
        value_next_ = true;
        break;
      case ']':
        Push(TokenKind::kRBracket, pos_, 1);
        if (brackets_ > 0) --brackets_;
        value_next_ = false;
        break;
      case ',':
        Push(TokenKind::kComma, pos_, 1);
        value_next_ = brackets_ > 0;
        break;
      case '|':
        Push(TokenKind::kPipe, pos_, 1);
        value_next_ = false;
        break;
      default:
        break;  // whitespace and '"' never get here
    }
  }

  template <typename Delimiter>
  void LexBare(TokenKind kind, Delimiter is_delimiter) {
    const std::size_t start = pos_;
    std::size_t end = pos_;
    while (end < q_.size() && !is_delimiter(q_[end])) {
      if (brackets_ > 0 && end > start && q_.compare(end, 2, "..") == 0) break;
      ++end;
    }
    Push(kind, start, end - start);
  }

  static void Classify(Token& token) {
    const std::string lower = AsciiLower(token.text);
    if (lower == "and") token.kind = TokenKind::kAnd;
    if (lower == "or") token.kind = TokenKind::kOr;
    if (lower == "not") token.kind = TokenKind::kNot;
  }

  Status LexString() {
    const std::size_t start = pos_;
    std::string text;
    std::size_t i = pos_ + 1;
    while (true) {
      if (i >= q_.size()) return ErrorAt(q_, start, "unterminated quoted string");
      const char c = q_[i];
      if (c == '"') break;
      if (c == '\\') {
        if (i + 1 < q_.size() && (q_[i + 1] == '"' || q_[i + 1] == '\\')) {
          text += q_[i + 1];
          i += 2;
          continue;
        }
        if (i + 1 >= q_.size()) return ErrorAt(q_, start, "unterminated quoted string");
        return ErrorAt(q_, i, "unknown escape in a quoted string: only \\\" and \\\\ are escapes");
      }
      text += c;
      ++i;
    }
    Push(TokenKind::kString, start, i + 1 - start, std::move(text));
    return OkStatus();
  }

  std::string_view q_;
  std::size_t pos_ = 0;
  bool value_next_ = false;
  int brackets_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

std::string DescribeToken(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "the end of the query";
    case TokenKind::kString:
      return "a quoted string";
    case TokenKind::kWord:
    case TokenKind::kValue:
      return Quoted(token.text);
    default:
      return "'" + token.text + "'";
  }
}

StatusOr<std::vector<Token>> Lex(std::string_view query) {
  return Lexer(query).Run();
}

}  // namespace portcullis::qql
