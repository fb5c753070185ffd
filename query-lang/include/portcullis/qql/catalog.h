// The QQL field catalog: which dotted field names exist, the events column
// each reads and its type. The default catalog is generated at build time
// from schema/qql/fields.tsv (query-lang/cmake/generate_catalog.cmake), the
// single place where the table is written.
//
//   const Catalog& c = Catalog::Default();
//   const FieldDef* f = c.Find("network.remote.ip");  // column "remote_ip", FieldType::kIp
//
// Column names are the only identifiers the SQL emitter writes that depend on
// a query; they come from here, and the constructor refuses (terminates on)
// any that is not a plain lower-case identifier.
//
// Immutable after construction; safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace portcullis::qql {

enum class FieldType {
  kText,       // text; wildcards allowed
  kEnum,       // text with a closed set of lower-case values
  kInteger,    // integer (int4)
  kBigint,     // bigint (int8)
  kPort,       // integer, 0-65535
  kBool,       // boolean
  kUuid,       // uuid
  kIp,         // inet: an address, or a CIDR network with ':'
  kTimestamp,  // timestamptz
  kLabels,     // jsonb object of strings, queried as labels.<key>
};

// The PostgreSQL type of the column's values: "text", "integer", "inet", ...
// (kLabels: "jsonb"; a single label's value is text).
std::string_view SqlTypeOf(FieldType type);
// For messages: "text", "an integer", "an IP address or CIDR", ...
std::string_view DescribeType(FieldType type);

struct FieldDef {
  std::string name;    // "process.name"
  std::string column;  // "executable"
  FieldType type = FieldType::kText;
  std::vector<std::string> values;  // kEnum: the allowed values
  std::string description;
};

class Catalog {
 public:
  // The catalog generated from schema/qql/fields.tsv.
  static const Catalog& Default();

  // Terminates if a name or column is not an identifier, a name repeats, an
  // enum has no value or there is more than one kLabels field.
  explicit Catalog(std::vector<FieldDef> fields);

  // The field by its exact name (labels.<key> is not a name: see labels()).
  const FieldDef* Find(std::string_view name) const;
  // The kLabels field, or nullptr.
  const FieldDef* labels() const { return labels_ < 0 ? nullptr : &fields_[labels_]; }
  const std::vector<FieldDef>& fields() const { return fields_; }
  std::vector<std::string_view> Names() const;

 private:
  std::vector<FieldDef> fields_;
  int labels_ = -1;  // index of the kLabels field
};

}  // namespace portcullis::qql
