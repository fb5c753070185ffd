#include "portcullis/qql/sql_emitter.h"

#include <algorithm>
#include <set>

namespace portcullis::qql {
namespace {

using Kind = Predicate::Kind;
using Shape = BoundQuery::Shape;

// The only string literals the emitter writes.
constexpr std::string_view kBinOrigin = "1970-01-01T00:00:00Z";

// Every word the emitter writes besides catalog columns.
constexpr std::string_view kWords[] = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "IN", "LIKE", "BETWEEN",
    "ORDER", "BY", "ASC", "DESC", "NULLS", "LAST", "GROUP", "AS", "LIMIT", "TIMESTAMPTZ",
    // the table, its fixed columns, functions and types
    "events", "tenant_id", "ts", "event_id", "txid", "count", "date_bin", "pg_snapshot_xmin",
    "pg_current_snapshot", "uuid", "timestamptz", "text", "integer", "bigint", "boolean", "inet",
    "interval", "xid8", "jsonb"};

// Result names the emitter writes besides catalog field names.
constexpr std::string_view kResultNames[] = {"count", "time"};
constexpr std::string_view kLabelAliasPrefix = "label_";

// Operators and punctuation, longest first.
constexpr std::string_view kOperators[] = {
    "~>=~", "<<=", "->>", "~<~", "::", "<>", "<=", ">=", "(", ")", ",", "*", "=", "<", ">"};

// Positional references (GROUP BY 1, ORDER BY 2) stay below this.
constexpr long kMaxPosition = 16;

std::string OpSql(ast::Op op) {
  switch (op) {
    case ast::Op::kEq:
      return "=";
    case ast::Op::kNe:
      return "<>";
    case ast::Op::kLt:
      return "<";
    case ast::Op::kLe:
      return "<=";
    case ast::Op::kGt:
      return ">";
    case ast::Op::kGe:
      return ">=";
  }
  Fatal("unknown ast::Op");
}

class Emitter {
 public:
  explicit Emitter(const Catalog& catalog) : catalog_(catalog) {}

  SqlQuery Run(const BoundQuery& q) {
    SqlQuery out;
    // $1..$3, always, in this order.
    const std::string tenant = Param(q.tenant_id, "uuid");
    const std::string from = Param(FormatTimestamp(q.from), "timestamptz");
    const std::string to = Param(FormatTimestamp(q.to), "timestamptz");

    std::string select = "SELECT ";
    std::vector<std::string> group_positions;
    switch (q.shape) {
      case Shape::kListing: {
        bool first = true;
        for (const FieldDef& f : catalog_.fields()) {
          if (!first) select += ", ";
          first = false;
          select += FieldSql(f) + " AS \"" + f.name + "\"";
          out.columns.push_back({f.name, std::string(SqlTypeOf(f.type))});
        }
        if (q.order == CompileOptions::Order::kCommitOrder) {
          select += ", txid";
          out.columns.push_back({"txid", "xid8"});
        }
        break;
      }
      case Shape::kCount:
        select += "count(*) AS \"count\"";
        out.columns.push_back({"count", "bigint"});
        break;
      case Shape::kCountBy:
      case Shape::kTop:
        for (std::size_t i = 0; i < q.group_by.size(); ++i) {
          const ColumnRef& g = q.group_by[i];
          select += ColumnSql(g) + " AS \"" + Alias(g, i) + "\", ";
          out.columns.push_back({g.name, std::string(g.sql_type())});
          group_positions.push_back(std::to_string(i + 1));
        }
        select += "count(*) AS \"count\"";
        out.columns.push_back({"count", "bigint"});
        break;
      case Shape::kTimechart:
        select += "date_bin(" + Param(std::to_string(q.bucket_seconds) + " seconds", "interval") +
                  ", ts, TIMESTAMPTZ '" + std::string(kBinOrigin) + "') AS \"time\", " +
                  "count(*) AS \"count\"";
        out.columns.push_back({"time", "timestamptz"});
        out.columns.push_back({"count", "bigint"});
        break;
    }

    std::string sql = select + "\nFROM events\nWHERE tenant_id = " + tenant + " AND ts >= " + from +
                      " AND ts < " + to;
    const bool commit = q.order == CompileOptions::Order::kCommitOrder;
    if (commit) sql += "\n  AND txid < pg_snapshot_xmin(pg_current_snapshot())";
    // AND and OR groups are in parentheses; a single condition needs none
    // (comparison, LIKE, IN, BETWEEN and IS all bind tighter than AND).
    if (q.where) sql += "\n  AND " + PredicateSql(*q.where);
    if (q.after) {
      // One statement per Param(): the operands of + are unsequenced.
      const std::string key = Param(q.after->first, commit ? "xid8" : "timestamptz");
      const std::string id = Param(q.after->second, "uuid");
      sql += commit ? "\n  AND (txid, event_id) > (" : "\n  AND (ts, event_id) < (";
      sql += key + ", " + id + ")";
    }

    const std::string count_position = std::to_string(q.group_by.size() + 1);
    switch (q.shape) {
      case Shape::kListing: {
        std::string order = "\nORDER BY ";
        for (const BoundQuery::SortKey& k : q.sort) {
          order += ColumnSql(k.field) + (k.descending ? " DESC NULLS LAST, " : " ASC NULLS LAST, ");
        }
        order += commit ? "txid, event_id" : "ts DESC, event_id DESC";
        sql += order;
        break;
      }
      case Shape::kCount:
        break;
      case Shape::kCountBy: {
        sql += "\nGROUP BY " + Join(group_positions);
        std::vector<std::string> keys;
        std::vector<std::string> used;
        for (const BoundQuery::SortKey& k : q.sort) {
          const std::string position = k.by_count ? count_position : group_positions[k.column];
          if (std::find(used.begin(), used.end(), position) != used.end()) continue;
          used.push_back(position);
          keys.push_back(position + (k.descending ? " DESC" : " ASC"));
        }
        if (q.sort.empty()) {
          keys.push_back(count_position + " DESC");
          used.push_back(count_position);
        }
        for (const std::string& p : group_positions) {
          if (std::find(used.begin(), used.end(), p) == used.end()) keys.push_back(p);
        }
        sql += "\nORDER BY " + Join(keys);
        break;
      }
      case Shape::kTop: {
        sql += "\nGROUP BY " + Join(group_positions);
        std::vector<std::string> keys = {count_position + " DESC"};
        keys.insert(keys.end(), group_positions.begin(), group_positions.end());
        sql += "\nORDER BY " + Join(keys);
        break;
      }
      case Shape::kTimechart:
        sql += "\nGROUP BY 1\nORDER BY 1";
        break;
    }
    if (q.limit > 0) sql += "\nLIMIT " + Param(std::to_string(q.limit), "integer");

    out.sql = std::move(sql);
    out.params = std::move(params_);
    out.aggregate = q.shape != Shape::kListing;
    if (q.shape == Shape::kTimechart) out.bucket_seconds = q.bucket_seconds;
    return out;
  }

 private:
  static std::string Join(const std::vector<std::string>& parts) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i)
      out += (i > 0 ? ", " : "") + parts[i];
    return out;
  }

  // Appends a parameter; returns its placeholder with the cast.
  std::string Param(std::string value, std::string_view type) {
    params_.push_back(std::move(value));
    return "$" + std::to_string(params_.size()) + "::" + std::string(type);
  }

  static std::string Alias(const ColumnRef& c, std::size_t i) {
    // A label key comes from the query: it is a parameter, never an identifier.
    if (!c.label_key.empty()) return std::string(kLabelAliasPrefix) + std::to_string(i + 1);
    return c.field->name;
  }

  static std::string FieldSql(const FieldDef& f) { return f.column; }

  std::string ColumnSql(const ColumnRef& c) {
    if (c.field->type == FieldType::kLabels && !c.label_key.empty()) {
      return "(" + c.field->column + "->>" + Param(c.label_key, "text") + ")";
    }
    return FieldSql(*c.field);
  }

  std::string PredicateSql(const Predicate& p) {
    switch (p.kind) {
      case Kind::kAnd:
      case Kind::kOr: {
        std::string out = "(";
        for (std::size_t i = 0; i < p.children.size(); ++i) {
          if (i > 0) out += p.kind == Kind::kAnd ? " AND " : " OR ";
          out += PredicateSql(p.children[i]);
        }
        return out + ")";
      }
      case Kind::kNot:
        // True when the child is false or NULL: "not file.path:/etc/*" keeps
        // the events that have no file at all.
        return "(" + PredicateSql(p.children.at(0)) + ") IS NOT TRUE";
      case Kind::kExists:
        return ColumnSql(p.column) + " IS NOT NULL";
      default:
        break;
    }
    const std::string column = ColumnSql(p.column);
    const std::string_view type = p.column.sql_type();
    switch (p.kind) {
      case Kind::kCompare:
        return column + " " + OpSql(p.op) + " " + Param(p.values.at(0), type);
      case Kind::kLike: {
        const std::string range = RangeSql(column, "~>=~", "~<~", "text", p.bounds);
        const std::string like = column + (p.op == ast::Op::kNe ? " NOT LIKE " : " LIKE ") +
                                 Param(p.values.at(0), "text");
        return range.empty() ? like : "(" + range + " AND " + like + ")";
      }
      case Kind::kIn: {
        std::string out = column + " IN (";
        for (std::size_t i = 0; i < p.values.size(); ++i)
          out += (i > 0 ? ", " : "") + Param(p.values[i], type);
        return out + ")";
      }
      case Kind::kBetween: {
        const std::string lo = Param(p.values.at(0), type);
        const std::string hi = Param(p.values.at(1), type);
        return column + " BETWEEN " + lo + " AND " + hi;
      }
      case Kind::kWithin: {
        const std::string range = RangeSql(column, ">=", "<=", "inet", p.bounds);
        const std::string within = column + " <<= " + Param(p.values.at(0), "inet");
        if (p.op == ast::Op::kNe) return "NOT (" + within + ")";
        return range.empty() ? within : "(" + range + " AND " + within + ")";
      }
      default:
        Fatal("PredicateSql: unhandled predicate kind");
    }
  }

  // "column ge lower AND column le upper" for the bounds that exist (binder.h,
  // Predicate::bounds): leakproof comparisons an index can use under
  // row-level security. Empty without bounds.
  std::string RangeSql(const std::string& column, std::string_view ge, std::string_view le,
                       std::string_view type, const std::vector<std::string>& bounds) {
    if (bounds.empty()) return "";
    std::string out = column + " " + std::string(ge) + " " + Param(bounds.at(0), type);
    if (bounds.size() > 1) {
      out += " AND " + column + " " + std::string(le) + " " + Param(bounds[1], type);
    }
    return out;
  }

  const Catalog& catalog_;
  std::vector<std::string> params_;
};

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || (c >= '0' && c <= '9');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

SqlQuery EmitSql(const BoundQuery& query, const Catalog& catalog) {
  return Emitter(catalog).Run(query);
}

Status VerifySql(const SqlQuery& query, const Catalog& catalog) {
  std::set<std::string_view> words(std::begin(kWords), std::end(kWords));
  std::set<std::string_view> names(std::begin(kResultNames), std::end(kResultNames));
  for (const FieldDef& f : catalog.fields()) {
    words.insert(f.column);
    names.insert(f.name);
  }
  const std::string_view sql = query.sql;
  std::vector<bool> used(query.params.size(), false);
  const auto fail = [&](std::size_t at, std::string_view what) {
    return InvalidArgumentError("generated SQL: " + std::string(what) + " at byte " +
                                std::to_string(at));
  };
  std::size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    const std::size_t start = i;
    if (c == ' ' || c == '\n') {
      ++i;
    } else if (IsIdentStart(c)) {
      while (i < sql.size() && IsIdentChar(sql[i]))
        ++i;
      if (words.count(sql.substr(start, i - start)) == 0) return fail(start, "unknown word");
    } else if (IsDigit(c)) {
      long n = 0;
      while (i < sql.size() && IsDigit(sql[i]) && n <= kMaxPosition)
        n = n * 10 + (sql[i++] - '0');
      if (n < 1 || n > kMaxPosition || (i < sql.size() && IsIdentChar(sql[i]))) {
        return fail(start, "unexpected number");
      }
    } else if (c == '$') {
      ++i;
      std::size_t n = 0;
      while (i < sql.size() && IsDigit(sql[i]) && n <= query.params.size())
        n = n * 10 + static_cast<std::size_t>(sql[i++] - '0');
      if (i == start + 1 || n < 1 || n > query.params.size() ||
          (i < sql.size() && IsIdentChar(sql[i]))) {
        return fail(start, "placeholder out of range");
      }
      used[n - 1] = true;
    } else if (c == '"' || c == '\'') {
      const std::size_t close = sql.find(c, i + 1);
      if (close == std::string_view::npos) return fail(start, "unterminated quote");
      const std::string_view inner = sql.substr(i + 1, close - i - 1);
      i = close + 1;
      if (c == '"') {
        const bool label_alias =
            inner.size() > kLabelAliasPrefix.size() &&
            inner.substr(0, kLabelAliasPrefix.size()) == kLabelAliasPrefix &&
            std::all_of(inner.begin() + static_cast<long>(kLabelAliasPrefix.size()), inner.end(),
                        IsDigit);
        if (names.count(inner) == 0 && !label_alias) return fail(start, "unknown identifier");
      } else if (inner != kBinOrigin && !inner.empty()) {
        return fail(start, "unknown string literal");
      }
    } else {
      bool matched = false;
      for (std::string_view op : kOperators) {
        if (sql.substr(i, op.size()) == op) {
          i += op.size();
          matched = true;
          break;
        }
      }
      if (!matched) return fail(start, "unexpected character");
    }
  }
  for (std::size_t k = 0; k < used.size(); ++k) {
    if (!used[k]) return fail(sql.size(), "parameter $" + std::to_string(k + 1) + " unused");
  }
  return OkStatus();
}

}  // namespace portcullis::qql
