#include "portcullis/qql/ast.h"

#include "portcullis/common/status.h"

namespace portcullis::qql::ast {
namespace {

// A value as the tree prints it: bare as written, quoted with \" and \\ escaped.
std::string ValueText(const Value& v) {
  if (!v.quoted) return v.text;
  std::string out = "\"";
  for (char c : v.text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

const char* OpText(Op op) {
  switch (op) {
    case Op::kEq:
      return "=";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
  }
  Fatal("unknown ast::Op");
}

std::string Term::ToString() const {
  switch (kind) {
    case Kind::kCompare:
      return std::string("(") + OpText(op) + " " + field.name + " " + ValueText(values.at(0)) + ")";
    case Kind::kExists:
      return "(exists " + field.name + ")";
    case Kind::kList: {
      std::string out = "(in " + field.name + " [";
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out += ", ";
        out += ValueText(values[i]);
      }
      return out + "])";
    }
    case Kind::kRange:
      return "(range " + field.name + " " + ValueText(values.at(0)) + " " +
             ValueText(values.at(1)) + ")";
  }
  Fatal("unknown ast::Term::Kind");
}

std::string Expr::ToString() const {
  switch (kind) {
    case Kind::kTerm:
      return term.ToString();
    case Kind::kNot:
      return "(not " + children.at(0).ToString() + ")";
    case Kind::kAnd:
    case Kind::kOr: {
      std::string out = kind == Kind::kAnd ? "(and" : "(or";
      for (const Expr& c : children)
        out += " " + c.ToString();
      return out + ")";
    }
  }
  Fatal("unknown ast::Expr::Kind");
}

const char* Stage::Name() const {
  switch (kind) {
    case Kind::kCount:
      return "count";
    case Kind::kTop:
      return "top";
    case Kind::kSort:
      return "sort";
    case Kind::kLimit:
      return "limit";
    case Kind::kTimechart:
      return "timechart";
  }
  Fatal("unknown ast::Stage::Kind");
}

std::string Stage::ToString() const {
  std::string out = Name();
  switch (kind) {
    case Kind::kCount:
      if (!fields.empty()) out += " by";
      break;
    case Kind::kTop:
    case Kind::kLimit:
    case Kind::kTimechart:
      out += " " + ValueText(argument);
      break;
    case Kind::kSort:
      for (std::size_t i = 0; i < sort_keys.size(); ++i) {
        out += (i > 0 ? ", " : " ") + sort_keys[i].field.name +
               (sort_keys[i].descending ? " desc" : " asc");
      }
      break;
  }
  for (std::size_t i = 0; i < fields.size(); ++i)
    out += (i > 0 ? ", " : " ") + fields[i].name;
  return out;
}

std::string Query::ToString() const {
  std::string out = where ? where->ToString() : "*";
  for (const Stage& s : stages)
    out += " | " + s.ToString();
  return out;
}

}  // namespace portcullis::qql::ast
