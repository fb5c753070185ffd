#include "portcullis/qql/binder.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "portcullis/common/ids.h"
#include "portcullis/common/strings.h"
#include "portcullis/qql/diagnostics.h"

namespace portcullis::qql {
namespace {

using Kind = Predicate::Kind;
using Shape = BoundQuery::Shape;

constexpr std::int64_t kMicrosPerSecond = 1'000'000;
constexpr std::string_view kTimeForms = "a time (2026-11-28T10:00:00Z, 2026-11-28, now, now-1h)";

bool IsLabelKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '/' || c == '-';
}

bool IsTextual(const ColumnRef& c) {
  const FieldType t = c.field->type;
  return t == FieldType::kText || t == FieldType::kLabels;
}

bool IsOrdered(FieldType t) {
  return t == FieldType::kInteger || t == FieldType::kBigint || t == FieldType::kPort ||
         t == FieldType::kIp || t == FieldType::kTimestamp;
}

// A wildcard pattern (`*` = any run of characters) as a LIKE pattern: the
// characters LIKE treats specially (%, _ and its escape character \) are
// escaped, then each * becomes %.
std::string LikePattern(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\':
      case '%':
      case '_':
        out += '\\';
        out += c;
        break;
      case '*':
        out += '%';
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The byte range [lower, upper) of text_pattern_ops holding every text that
// starts with the literal prefix of `wildcard` (the text before its first *):
// lower is the prefix, upper the prefix cut after its last ASCII byte below
// 0x7F, that byte incremented (still ASCII, so still valid UTF-8). No upper
// when there is no such byte; nothing at all when the pattern starts with *.
std::vector<std::string> PrefixBounds(std::string_view wildcard) {
  const std::string prefix(wildcard.substr(0, wildcard.find('*')));
  if (prefix.empty()) return {};
  for (std::size_t j = prefix.size(); j-- > 0;) {
    const auto byte = static_cast<unsigned char>(prefix[j]);
    if (byte < 0x7F) {
      std::string upper = prefix.substr(0, j + 1);
      upper.back() = static_cast<char>(byte + 1);
      return {prefix, upper};
    }
  }
  return {prefix};
}

// The inet range [first network address with the prefix, last address as a
// host] holding every address within `net` (what PostgreSQL derives from
// <<= when it may: network_scan_first/last).
std::vector<std::string> CidrBounds(const IpValue& net) {
  const int bits = net.family == 4 ? 32 : 128;
  std::array<std::uint8_t, 16> last = net.bytes;
  for (int b = net.prefix; b < bits; ++b) {
    last[static_cast<std::size_t>(b / 8)] |= static_cast<std::uint8_t>(0x80 >> (b % 8));
  }
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(net.family == 4 ? AF_INET : AF_INET6, last.data(), buf, sizeof(buf)) == nullptr) {
    Fatal("CidrBounds: inet_ntop failed on a parsed address");
  }
  return {net.text, buf};
}

std::string JoinOr(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string IntervalText(std::int64_t seconds) {
  if (seconds % 86400 == 0) return std::to_string(seconds / 86400) + "d";
  if (seconds % 3600 == 0) return std::to_string(seconds / 3600) + "h";
  if (seconds % 60 == 0) return std::to_string(seconds / 60) + "m";
  return std::to_string(seconds) + "s";
}

Predicate Compare(const ColumnRef& column, ast::Op op, std::string value) {
  Predicate p;
  p.kind = Kind::kCompare;
  p.column = column;
  p.op = op;
  p.values.push_back(std::move(value));
  return p;
}

Predicate Combine(Kind kind, std::vector<Predicate> children) {
  if (children.size() == 1) return std::move(children[0]);
  Predicate p;
  p.kind = kind;
  for (Predicate& c : children) {
    if (c.kind == kind) {
      for (Predicate& grandchild : c.children)
        p.children.push_back(std::move(grandchild));
    } else {
      p.children.push_back(std::move(c));
    }
  }
  return p;
}

class Binder {
 public:
  Binder(std::string_view query, const Catalog& catalog, const CompileOptions& options)
      : q_(query), catalog_(catalog), options_(options) {}

  StatusOr<BoundQuery> Run(const ast::Query& tree) {
    BoundQuery out;
    PORTCULLIS_RETURN_IF_ERROR(BindOptions(out));
    if (tree.where) {
      std::optional<Predicate> where = BindExpr(*tree.where);
      if (where) out.where = std::move(*where);
    }
    BindPipeline(tree, out);
    if (!diagnostics_.empty()) return DiagnosticsError(q_, diagnostics_);
    return out;
  }

 private:
  void Error(std::size_t offset, std::string message) {
    if (diagnostics_.size() < kMaxDiagnostics) {
      diagnostics_.push_back(Diagnostic{offset, std::move(message)});
    }
  }

  std::string Position(std::size_t offset) const {
    std::string rendered = RenderDiagnostic(q_, Diagnostic{offset, ""});
    return rendered.substr(0, rendered.find(": "));
  }

  // --- options -------------------------------------------------------------

  Status BindOptions(BoundQuery& out) const {
    StatusOr<Uuid> tenant = Uuid::Parse(options_.tenant_id);
    if (!tenant.ok()) return tenant.status().WithContext("compile options: tenant_id");
    out.tenant_id = tenant->ToString();
    out.from = ToTimestamp(options_.from);
    out.to = ToTimestamp(options_.to);
    if (out.from >= out.to) {
      return InvalidArgumentError(
          "compile options: the time range is empty (from must be before to)");
    }
    if (options_.max_limit < 1 || options_.limit < 1) {
      return InvalidArgumentError("compile options: limit and max_limit must be at least 1");
    }
    out.order = options_.order;
    if (options_.after.empty()) return OkStatus();
    if (options_.after.size() != 2) {
      return InvalidArgumentError("cursor: expected 2 values, got " +
                                  std::to_string(options_.after.size()));
    }
    StatusOr<Uuid> event = Uuid::Parse(options_.after[1]);
    if (!event.ok()) return event.status().WithContext("cursor: event id");
    if (options_.order == CompileOptions::Order::kNewestFirst) {
      StatusOr<TimeValue> ts = ParseAbsoluteTime(options_.after[0]);
      if (!ts.ok() || ts->date_only) {
        return InvalidArgumentError("cursor: expected the event's time first");
      }
      out.after.emplace(FormatTimestamp(ts->time), event->ToString());
    } else {
      const std::string& txid = options_.after[0];
      StatusOr<std::int64_t> n = ParseInteger(txid, 0, INT64_MAX);
      if (!n.ok() || txid[0] == '-') {
        return InvalidArgumentError("cursor: expected a transaction id first");
      }
      out.after.emplace(std::to_string(*n), event->ToString());
    }
    return OkStatus();
  }

  // --- fields --------------------------------------------------------------

  std::optional<ColumnRef> Resolve(const ast::FieldName& f) {
    const FieldDef* labels = catalog_.labels();
    if (const FieldDef* def = catalog_.Find(f.name)) return ColumnRef{def, "", f.name};
    if (labels != nullptr && f.name.size() > labels->name.size() &&
        f.name.compare(0, labels->name.size(), labels->name) == 0 &&
        f.name[labels->name.size()] == '.') {
      std::string key = f.name.substr(labels->name.size() + 1);
      const bool ok = !key.empty() && key.size() <= kMaxLabelKeyBytes &&
                      std::all_of(key.begin(), key.end(), IsLabelKeyChar);
      if (!ok) {
        Error(f.offset + labels->name.size() + 1,
              "a label key is 1 to " + std::to_string(kMaxLabelKeyBytes) +
                  " characters of A-Z a-z 0-9 . _ / -, got " + Quoted(key));
        return std::nullopt;
      }
      return ColumnRef{labels, std::move(key), f.name};
    }
    std::vector<std::string_view> candidates = catalog_.Names();
    std::string as_label;
    if (labels != nullptr && f.name.find('.') != std::string::npos) {
      as_label = labels->name + f.name.substr(f.name.find('.'));
      candidates.push_back(as_label);
    }
    std::optional<std::string> guess = ClosestMatch(f.name, candidates);
    std::string message = "unknown field " + Quoted(f.name);
    if (guess) message += " (did you mean " + *guess + "?)";
    if (!guess && AsciiLower(f.name) == "count") message += " (to count events use '| count')";
    Error(f.offset, std::move(message));
    return std::nullopt;
  }

  // A field of a pipe stage: any field, labels only with a key.
  std::optional<ColumnRef> ResolveForStage(const ast::FieldName& f) {
    std::optional<ColumnRef> c = Resolve(f);
    if (c && c->field->type == FieldType::kLabels && c->label_key.empty()) {
      Error(f.offset, "labels needs a key here: labels.<key>");
      return std::nullopt;
    }
    return c;
  }

  // --- values --------------------------------------------------------------

  void TypeError(const ColumnRef& c, const ast::Value& v, std::string_view expected,
                 std::string_view why = {}) {
    std::string message = c.name + " takes " + std::string(expected) + ", got " + Quoted(v.text);
    if (!why.empty()) message += ": " + std::string(why);
    Error(v.offset, std::move(message));
  }

  // The normalized text of a single value of an integer, port, bool, uuid or
  // enum field.
  std::optional<std::string> Scalar(const ColumnRef& c, const ast::Value& v) {
    const FieldDef& f = *c.field;
    switch (f.type) {
      case FieldType::kInteger:
      case FieldType::kBigint:
      case FieldType::kPort: {
        const std::int64_t lo = f.type == FieldType::kInteger  ? INT32_MIN
                                : f.type == FieldType::kBigint ? INT64_MIN
                                                               : 0;
        const std::int64_t hi = f.type == FieldType::kInteger  ? INT32_MAX
                                : f.type == FieldType::kBigint ? INT64_MAX
                                                               : 65535;
        StatusOr<std::int64_t> n = ParseInteger(v.text, lo, hi);
        if (!n.ok()) {
          const bool not_number = n.status().message() == "not an integer";
          TypeError(c, v, DescribeType(f.type),
                    not_number || f.type == FieldType::kPort ? "" : n.status().message());
          return std::nullopt;
        }
        return std::to_string(*n);
      }
      case FieldType::kBool: {
        const std::string lower = AsciiLower(v.text);
        if (lower != "true" && lower != "false") {
          TypeError(c, v, DescribeType(f.type));
          return std::nullopt;
        }
        return lower;
      }
      case FieldType::kUuid: {
        StatusOr<Uuid> u = Uuid::Parse(v.text);
        if (!u.ok()) {
          TypeError(c, v, DescribeType(f.type));
          return std::nullopt;
        }
        return u->ToString();
      }
      case FieldType::kEnum: {
        const std::string lower = AsciiLower(v.text);
        if (std::find(f.values.begin(), f.values.end(), lower) != f.values.end()) return lower;
        std::vector<std::string_view> candidates(f.values.begin(), f.values.end());
        std::optional<std::string> guess = ClosestMatch(v.text, candidates);
        std::string message = c.name + " takes " + JoinOr(f.values) + ", got " + Quoted(v.text);
        if (guess) message += " (did you mean " + *guess + "?)";
        Error(v.offset, std::move(message));
        return std::nullopt;
      }
      default:
        return v.text;
    }
  }

  std::optional<TimeValue> Time(const ColumnRef& c, const ast::Value& v) {
    StatusOr<TimeValue> t = ParseTime(v.text, ToTimestamp(options_.now));
    if (!t.ok()) {
      TypeError(c, v, kTimeForms, t.status().message());
      return std::nullopt;
    }
    return *t;
  }

  std::optional<IpValue> Ip(const ColumnRef& c, const ast::Value& v) {
    StatusOr<IpValue> ip = ParseIp(v.text);
    if (!ip.ok()) {
      TypeError(c, v, DescribeType(FieldType::kIp), ip.status().message());
      return std::nullopt;
    }
    return *ip;
  }

  bool IsWildcard(const ColumnRef& c, const ast::Value& v) {
    if (v.quoted || v.text.find('*') == std::string::npos) return false;
    if (IsTextual(c)) return true;
    std::string hint;
    if (c.field->type == FieldType::kIp) hint = " (for a network use CIDR: 10.0.0.0/8)";
    Error(v.offset,
          "wildcards only work on text fields; " + c.name + " takes " +
              std::string(c.field->type == FieldType::kTimestamp ? kTimeForms
                                                                 : DescribeType(c.field->type)) +
              hint);
    return true;
  }

  // field:value and field != value (op kEq or kNe).
  std::optional<Predicate> BindMatch(const ColumnRef& c, const ast::Value& v, ast::Op op) {
    if (IsWildcard(c, v)) {
      if (!IsTextual(c)) return std::nullopt;
      Predicate p;
      p.kind = Kind::kLike;
      p.column = c;
      p.op = op;
      p.values.push_back(LikePattern(v.text));
      if (op == ast::Op::kEq && c.label_key.empty()) p.bounds = PrefixBounds(v.text);
      return p;
    }
    switch (c.field->type) {
      case FieldType::kText:
      case FieldType::kLabels:
        return Compare(c, op, v.text);
      case FieldType::kIp: {
        std::optional<IpValue> ip = Ip(c, v);
        if (!ip) return std::nullopt;
        if (ip->prefix < 0) return Compare(c, op, ip->text);
        Predicate p;
        p.kind = Kind::kWithin;
        p.column = c;
        p.op = op;
        p.values.push_back(ip->text);
        if (op == ast::Op::kEq) p.bounds = CidrBounds(*ip);
        return p;
      }
      case FieldType::kTimestamp: {
        std::optional<TimeValue> t = Time(c, v);
        if (!t) return std::nullopt;
        if (!t->date_only) return Compare(c, op, FormatTimestamp(t->time));
        // A date alone is the whole day.
        const std::string start = FormatTimestamp(t->time);
        const std::string end = FormatTimestamp(t->time + std::chrono::days(1));
        if (op == ast::Op::kEq) {
          return Combine(Kind::kAnd,
                         {Compare(c, ast::Op::kGe, start), Compare(c, ast::Op::kLt, end)});
        }
        return Combine(Kind::kOr, {Compare(c, ast::Op::kLt, start), Compare(c, ast::Op::kGe, end)});
      }
      default: {
        std::optional<std::string> s = Scalar(c, v);
        if (!s) return std::nullopt;
        return Compare(c, op, std::move(*s));
      }
    }
  }

  bool RequireOrdered(const ColumnRef& c, std::size_t offset, std::string_view what) {
    if (IsOrdered(c.field->type)) return true;
    Error(offset, std::string(what) + " needs a number, a time or an IP address; " + c.name +
                      " is " + std::string(DescribeType(c.field->type)));
    return false;
  }

  // field < value, <=, >, >=.
  std::optional<Predicate> BindOrdering(const ast::Term& term, const ColumnRef& c) {
    const ast::Value& v = term.values[0];
    if (!RequireOrdered(c, term.field.offset, std::string("'") + ast::OpText(term.op) + "'")) {
      return std::nullopt;
    }
    if (c.field->type == FieldType::kIp) {
      std::optional<IpValue> ip = Ip(c, v);
      if (!ip) return std::nullopt;
      if (ip->prefix >= 0) {
        Error(v.offset, "a comparison takes an address, not a network (for a network use " +
                            c.name + ":" + ip->text + ")");
        return std::nullopt;
      }
      return Compare(c, term.op, ip->text);
    }
    if (c.field->type == FieldType::kTimestamp) {
      std::optional<TimeValue> t = Time(c, v);
      if (!t) return std::nullopt;
      if (!t->date_only) return Compare(c, term.op, FormatTimestamp(t->time));
      // A date alone is the whole day: after it starts the next day.
      const Timestamp next = t->time + std::chrono::days(1);
      switch (term.op) {
        case ast::Op::kGt:
          return Compare(c, ast::Op::kGe, FormatTimestamp(next));
        case ast::Op::kGe:
          return Compare(c, ast::Op::kGe, FormatTimestamp(t->time));
        case ast::Op::kLt:
          return Compare(c, ast::Op::kLt, FormatTimestamp(t->time));
        default:
          return Compare(c, ast::Op::kLt, FormatTimestamp(next));
      }
    }
    std::optional<std::string> s = Scalar(c, v);
    if (!s) return std::nullopt;
    return Compare(c, term.op, std::move(*s));
  }

  std::optional<Predicate> BindList(const ast::Term& term, const ColumnRef& c) {
    std::vector<std::string> equal;
    std::vector<Predicate> others;
    bool ok = true;
    for (const ast::Value& v : term.values) {
      std::optional<Predicate> p = BindMatch(c, v, ast::Op::kEq);
      if (!p) {
        ok = false;
        continue;
      }
      if (p->kind == Kind::kCompare && p->op == ast::Op::kEq) {
        if (std::find(equal.begin(), equal.end(), p->values[0]) == equal.end()) {
          equal.push_back(std::move(p->values[0]));
        }
      } else {
        others.push_back(std::move(*p));
      }
    }
    if (!ok) return std::nullopt;
    std::vector<Predicate> all;
    if (equal.size() == 1) {
      all.push_back(Compare(c, ast::Op::kEq, std::move(equal[0])));
    } else if (equal.size() > 1) {
      Predicate in;
      in.kind = Kind::kIn;
      in.column = c;
      in.values = std::move(equal);
      all.push_back(std::move(in));
    }
    for (Predicate& p : others)
      all.push_back(std::move(p));
    return Combine(Kind::kOr, std::move(all));
  }

  std::optional<Predicate> BindRange(const ast::Term& term, const ColumnRef& c) {
    const ast::Value& lo = term.values[0];
    const ast::Value& hi = term.values[1];
    if (!RequireOrdered(c, term.field.offset, "a range")) return std::nullopt;
    Predicate p;
    p.kind = Kind::kBetween;
    p.column = c;
    switch (c.field->type) {
      case FieldType::kIp: {
        std::optional<IpValue> a = Ip(c, lo);
        std::optional<IpValue> b = Ip(c, hi);
        if (!a || !b) return std::nullopt;
        if (a->prefix >= 0 || b->prefix >= 0) {
          Error((a->prefix >= 0 ? lo : hi).offset,
                "a range takes addresses, not networks (for a network use CIDR alone)");
          return std::nullopt;
        }
        if (a->family != b->family) {
          Error(hi.offset, "a range of addresses needs two addresses of the same family");
          return std::nullopt;
        }
        if (b->bytes < a->bytes) {
          Error(hi.offset, "the range is empty: " + a->text + " is above " + b->text);
          return std::nullopt;
        }
        p.values = {a->text, b->text};
        return p;
      }
      case FieldType::kTimestamp: {
        std::optional<TimeValue> a = Time(c, lo);
        std::optional<TimeValue> b = Time(c, hi);
        if (!a || !b) return std::nullopt;
        if (b->time < a->time) {
          Error(hi.offset, "the range is empty: its end is before its start");
          return std::nullopt;
        }
        if (b->date_only) {
          // Through the end of the last day.
          return Combine(Kind::kAnd, {Compare(c, ast::Op::kGe, FormatTimestamp(a->time)),
                                      Compare(c, ast::Op::kLt,
                                              FormatTimestamp(b->time + std::chrono::days(1)))});
        }
        p.values = {FormatTimestamp(a->time), FormatTimestamp(b->time)};
        return p;
      }
      default: {
        std::optional<std::string> a = Scalar(c, lo);
        std::optional<std::string> b = Scalar(c, hi);
        if (!a || !b) return std::nullopt;
        // Both are normalized integers of the field's range.
        if (*ParseInteger(*b, INT64_MIN, INT64_MAX) < *ParseInteger(*a, INT64_MIN, INT64_MAX)) {
          Error(hi.offset, "the range is empty: " + *a + " is above " + *b);
          return std::nullopt;
        }
        p.values = {std::move(*a), std::move(*b)};
        return p;
      }
    }
  }

  std::optional<Predicate> BindTerm(const ast::Term& term) {
    std::optional<ColumnRef> c = Resolve(term.field);
    if (!c) return std::nullopt;
    if (term.kind == ast::Term::Kind::kExists) {
      Predicate p;
      p.kind = Kind::kExists;
      p.column = std::move(*c);
      return p;
    }
    if (c->field->type == FieldType::kLabels && c->label_key.empty()) {
      Error(term.field.offset,
            "labels needs a key: labels.<key>:value (or labels:* for any label)");
      return std::nullopt;
    }
    switch (term.kind) {
      case ast::Term::Kind::kCompare:
        if (term.op == ast::Op::kEq || term.op == ast::Op::kNe) {
          return BindMatch(*c, term.values[0], term.op);
        }
        return BindOrdering(term, *c);
      case ast::Term::Kind::kList:
        return BindList(term, *c);
      case ast::Term::Kind::kRange:
        return BindRange(term, *c);
      case ast::Term::Kind::kExists:
        break;
    }
    Fatal("BindTerm: unhandled term kind");
  }

  std::optional<Predicate> BindExpr(const ast::Expr& e) {
    switch (e.kind) {
      case ast::Expr::Kind::kTerm:
        return BindTerm(e.term);
      case ast::Expr::Kind::kNot: {
        std::optional<Predicate> child = BindExpr(e.children.at(0));
        if (!child) return std::nullopt;
        Predicate p;
        p.kind = Kind::kNot;
        p.children.push_back(std::move(*child));
        return p;
      }
      case ast::Expr::Kind::kAnd:
      case ast::Expr::Kind::kOr: {
        std::vector<Predicate> children;
        bool ok = true;
        for (const ast::Expr& c : e.children) {
          std::optional<Predicate> p = BindExpr(c);
          if (p) {
            children.push_back(std::move(*p));
          } else {
            ok = false;
          }
        }
        if (!ok) return std::nullopt;
        return Combine(e.kind == ast::Expr::Kind::kAnd ? Kind::kAnd : Kind::kOr,
                       std::move(children));
      }
    }
    Fatal("BindExpr: unhandled expression kind");
  }

  // --- pipeline ------------------------------------------------------------

  // N of "limit N" / "top N": at least 1; above max_limit means max_limit.
  std::optional<std::int64_t> RowCount(const ast::Stage& stage) {
    const std::string& text = stage.argument.text;
    const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
      return ch >= '0' && ch <= '9';
    });
    if (!digits) {
      Error(stage.argument.offset,
            std::string(stage.Name()) + " takes a number of rows, got " + Quoted(text));
      return std::nullopt;
    }
    std::int64_t n = 0;
    for (char ch : text) {
      n = n * 10 + (ch - '0');
      if (n > options_.max_limit) return options_.max_limit;
    }
    if (n == 0) {
      Error(stage.argument.offset, std::string(stage.Name()) + " takes at least 1 row");
      return std::nullopt;
    }
    return n;
  }

  void BindTimechart(const ast::Stage& stage, BoundQuery& out) {
    out.shape = Shape::kTimechart;
    StatusOr<std::int64_t> seconds = ParseIntervalSeconds(stage.argument.text);
    if (!seconds.ok()) {
      Error(stage.argument.offset, "timechart takes an interval like 30s, 5m, 1h or 1d, got " +
                                       Quoted(stage.argument.text));
      return;
    }
    if (*seconds < kMinTimechartSeconds || *seconds > kMaxTimechartSeconds) {
      Error(stage.argument.offset, "the interval of timechart must be between " +
                                       IntervalText(kMinTimechartSeconds) + " and " +
                                       IntervalText(kMaxTimechartSeconds));
      return;
    }
    // Buckets start at multiples of the interval since the Unix epoch.
    const auto buckets = [&](std::int64_t s) {
      const std::int64_t width = s * kMicrosPerSecond;
      const std::int64_t first = FloorDiv(out.from.time_since_epoch().count(), width);
      const std::int64_t last = FloorDiv(out.to.time_since_epoch().count() - 1, width);
      return last - first + 1;
    };
    if (buckets(*seconds) > kMaxTimechartBuckets) {
      // The shortest interval that fits, rounded up to a whole unit.
      const std::int64_t range_s =
          ((out.to - out.from).count() + kMicrosPerSecond - 1) / kMicrosPerSecond;
      std::int64_t better = std::max(
          kMinTimechartSeconds, (range_s + kMaxTimechartBuckets - 2) / (kMaxTimechartBuckets - 1));
      const std::int64_t unit = better <= 60      ? 1
                                : better <= 3600  ? 60
                                : better <= 86400 ? 3600
                                                  : 86400;
      better = (better + unit - 1) / unit * unit;
      while (buckets(better) > kMaxTimechartBuckets)
        better += unit;
      Error(stage.argument.offset,
            "timechart " + stage.argument.text + " makes " + std::to_string(buckets(*seconds)) +
                " buckets over the time range (at most " + std::to_string(kMaxTimechartBuckets) +
                "): use " + IntervalText(better) + " or more");
      return;
    }
    out.bucket_seconds = *seconds;
  }

  void BindSort(const ast::Stage& stage, BoundQuery& out) {
    for (const ast::SortKey& key : stage.sort_keys) {
      BoundQuery::SortKey k;
      k.descending = key.descending;
      if (out.shape == Shape::kCountBy) {
        if (key.field.name == "count") {
          k.by_count = true;
        } else {
          auto it = std::find_if(out.group_by.begin(), out.group_by.end(),
                                 [&](const ColumnRef& g) { return g.name == key.field.name; });
          if (it == out.group_by.end()) {
            std::string columns;
            for (const ColumnRef& g : out.group_by)
              columns += g.name + ", ";
            Error(key.field.offset, "cannot sort by " + Quoted(key.field.name) +
                                        ": the rows of 'count by' have " + columns + "count");
            continue;
          }
          k.column = static_cast<std::size_t>(it - out.group_by.begin());
        }
      } else {
        std::optional<ColumnRef> c = ResolveForStage(key.field);
        if (!c) continue;
        k.field = std::move(*c);
      }
      out.sort.push_back(std::move(k));
    }
  }

  void BindPipeline(const ast::Query& tree, BoundQuery& out) {
    const ast::Stage* aggregation = nullptr;
    const ast::Stage* sort = nullptr;
    const ast::Stage* limit = nullptr;
    bool misplaced_sort = false;
    for (const ast::Stage& s : tree.stages) {
      if (limit != nullptr) {
        Error(s.offset,
              std::string("'") + s.Name() + "' after 'limit': limit must be the last stage");
        continue;
      }
      switch (s.kind) {
        case ast::Stage::Kind::kCount:
        case ast::Stage::Kind::kTop:
        case ast::Stage::Kind::kTimechart:
          if (aggregation != nullptr) {
            Error(s.offset, std::string("only one aggregation per query: '") + aggregation->Name() +
                                "' at " + Position(aggregation->offset) + " already aggregates");
            continue;
          }
          if (sort != nullptr) {
            Error(sort->offset, std::string("'sort' before '") + s.Name() +
                                    "' has no effect: sort the result of the aggregation instead");
            sort = nullptr;  // reported; its keys are not checked against the groups
            misplaced_sort = true;
          }
          aggregation = &s;
          break;
        case ast::Stage::Kind::kSort:
          if (sort != nullptr || misplaced_sort) {
            Error(s.offset, "only one 'sort' stage: list several keys in it (| sort a desc, b)");
            continue;
          }
          sort = &s;
          break;
        case ast::Stage::Kind::kLimit:
          limit = &s;
          break;
      }
    }

    const bool commit_order = options_.order == CompileOptions::Order::kCommitOrder;
    if (commit_order && aggregation != nullptr) {
      Error(aggregation->offset,
            "aggregations are not available in commit order (an export lists events)");
      return;
    }
    if (commit_order && sort != nullptr) {
      Error(sort->offset, "commit order is fixed (txid, event id): sort is not available");
      return;
    }
    if (!options_.after.empty() && aggregation != nullptr) {
      Error(aggregation->offset, "a cursor pages event listings, not aggregations");
      return;
    }
    if (!options_.after.empty() && sort != nullptr) {
      Error(sort->offset, "a cursor pages the default order: sort is not available with one");
      return;
    }

    if (aggregation == nullptr) {
      out.shape = Shape::kListing;
      if (sort != nullptr) BindSort(*sort, out);
      out.limit = std::min(options_.limit, options_.max_limit);
      if (limit != nullptr) {
        if (std::optional<std::int64_t> n = RowCount(*limit)) out.limit = *n;
      }
      return;
    }

    const std::string name = aggregation->Name();
    switch (aggregation->kind) {
      case ast::Stage::Kind::kCount:
        if (aggregation->fields.empty()) {
          out.shape = Shape::kCount;
          if (sort != nullptr)
            Error(sort->offset, "'count' returns one row: there is nothing to sort");
          if (limit != nullptr)
            Error(limit->offset, "'count' returns one row: limit has no effect");
          return;
        }
        out.shape = Shape::kCountBy;
        BindGroups(*aggregation, out);
        if (sort != nullptr) BindSort(*sort, out);
        out.limit = options_.max_limit;
        if (limit != nullptr) {
          if (std::optional<std::int64_t> n = RowCount(*limit)) out.limit = *n;
        }
        return;
      case ast::Stage::Kind::kTop:
        out.shape = Shape::kTop;
        if (std::optional<std::int64_t> n = RowCount(*aggregation)) out.limit = *n;
        BindGroups(*aggregation, out);
        if (sort != nullptr) {
          Error(sort->offset,
                "'top' rows are already sorted by count (use '| count by' to sort otherwise)");
        }
        if (limit != nullptr) Error(limit->offset, "'top N' already limits the rows to N");
        return;
      case ast::Stage::Kind::kTimechart:
        BindTimechart(*aggregation, out);
        if (sort != nullptr) Error(sort->offset, "'timechart' rows are ordered by time");
        if (limit != nullptr) {
          Error(limit->offset,
                "'timechart' returns one row per interval: narrow the time range or widen the "
                "interval instead of a limit");
        }
        return;
      default:
        Fatal("BindPipeline: " + name + " is not an aggregation");
    }
  }

  void BindGroups(const ast::Stage& stage, BoundQuery& out) {
    for (const ast::FieldName& f : stage.fields) {
      std::optional<ColumnRef> c = ResolveForStage(f);
      if (!c) continue;
      const bool repeated = std::any_of(out.group_by.begin(), out.group_by.end(),
                                        [&](const ColumnRef& g) { return g.name == c->name; });
      if (repeated) {
        Error(f.offset, Quoted(f.name) + " appears twice");
        continue;
      }
      out.group_by.push_back(std::move(*c));
    }
  }

  std::string_view q_;
  const Catalog& catalog_;
  const CompileOptions& options_;
  std::vector<Diagnostic> diagnostics_;
};

std::string QuoteSql(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::string_view ColumnRef::sql_type() const {
  if (field->type == FieldType::kLabels && !label_key.empty()) return "text";
  return SqlTypeOf(field->type);
}

std::string Predicate::ToString() const {
  switch (kind) {
    case Kind::kAnd:
    case Kind::kOr:
    case Kind::kNot: {
      std::string out = kind == Kind::kAnd ? "(and" : kind == Kind::kOr ? "(or" : "(not";
      for (const Predicate& c : children)
        out += " " + c.ToString();
      return out + ")";
    }
    case Kind::kExists:
      return "(exists " + column.name + ")";
    default: {
      std::string out = "(";
      switch (kind) {
        case Kind::kCompare:
          out += ast::OpText(op);
          break;
        case Kind::kLike:
          out += op == ast::Op::kEq ? "like" : "not-like";
          break;
        case Kind::kIn:
          out += "in";
          break;
        case Kind::kBetween:
          out += "between";
          break;
        case Kind::kWithin:
          out += op == ast::Op::kEq ? "within" : "not-within";
          break;
        default:
          break;
      }
      out += " " + column.name;
      for (const std::string& v : values)
        out += " " + QuoteSql(v);
      return out + ")";
    }
  }
}

StatusOr<BoundQuery> Bind(std::string_view query, const ast::Query& tree, const Catalog& catalog,
                          const CompileOptions& options) {
  return Binder(query, catalog, options).Run(tree);
}

}  // namespace portcullis::qql
