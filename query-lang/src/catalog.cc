#include "portcullis/qql/catalog.h"

#include <set>

#include "catalog_data.h"
#include "portcullis/common/status.h"

namespace portcullis::qql {
namespace {

bool IsColumnName(std::string_view s) {
  if (s.empty() || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

bool IsFieldName(std::string_view s) {
  if (s.empty() || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) return false;
  }
  return true;
}

std::vector<std::string> SplitValues(std::string_view values) {
  std::vector<std::string> out;
  while (!values.empty()) {
    std::size_t bar = values.find('|');
    out.emplace_back(values.substr(0, bar));
    if (bar == std::string_view::npos) break;
    values.remove_prefix(bar + 1);
  }
  return out;
}

}  // namespace

std::string_view SqlTypeOf(FieldType type) {
  switch (type) {
    case FieldType::kText:
    case FieldType::kEnum:
      return "text";
    case FieldType::kInteger:
    case FieldType::kPort:
      return "integer";
    case FieldType::kBigint:
      return "bigint";
    case FieldType::kBool:
      return "boolean";
    case FieldType::kUuid:
      return "uuid";
    case FieldType::kIp:
      return "inet";
    case FieldType::kTimestamp:
      return "timestamptz";
    case FieldType::kLabels:
      return "jsonb";
  }
  Fatal("unknown FieldType");
}

std::string_view DescribeType(FieldType type) {
  switch (type) {
    case FieldType::kText:
      return "text";
    case FieldType::kEnum:
      return "one of a set of words";
    case FieldType::kInteger:
    case FieldType::kBigint:
      return "an integer";
    case FieldType::kPort:
      return "a port (0-65535)";
    case FieldType::kBool:
      return "true or false";
    case FieldType::kUuid:
      return "a UUID";
    case FieldType::kIp:
      return "an IP address or a CIDR network";
    case FieldType::kTimestamp:
      return "a time";
    case FieldType::kLabels:
      return "labels (query one with labels.<key>)";
  }
  Fatal("unknown FieldType");
}

const Catalog& Catalog::Default() {
  static const Catalog* const catalog = [] {
    std::vector<FieldDef> fields;
    for (std::size_t i = 0; i < internal::kFieldSpecCount; ++i) {
      const internal::FieldSpec& s = internal::kFieldSpecs[i];
      fields.push_back(FieldDef{s.name, s.column, s.type, SplitValues(s.values), s.description});
    }
    return new Catalog(std::move(fields));
  }();
  return *catalog;
}

Catalog::Catalog(std::vector<FieldDef> fields) : fields_(std::move(fields)) {
  std::set<std::string_view> names;
  for (const FieldDef& f : fields_) {
    if (!IsFieldName(f.name)) Fatal("QQL catalog: bad field name '" + f.name + "'");
    if (!IsColumnName(f.column)) Fatal("QQL catalog: bad column name '" + f.column + "'");
    if (!names.insert(f.name).second) Fatal("QQL catalog: field '" + f.name + "' repeats");
    if (f.type == FieldType::kEnum) {
      if (f.values.empty()) Fatal("QQL catalog: enum field '" + f.name + "' has no value");
      for (const std::string& v : f.values) {
        if (!IsColumnName(v)) Fatal("QQL catalog: bad value '" + v + "' of '" + f.name + "'");
      }
    }
    if (f.type == FieldType::kLabels) {
      if (labels_ >= 0) Fatal("QQL catalog: more than one labels field");
      labels_ = static_cast<int>(&f - fields_.data());
    }
  }
}

const FieldDef* Catalog::Find(std::string_view name) const {
  for (const FieldDef& f : fields_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::vector<std::string_view> Catalog::Names() const {
  std::vector<std::string_view> out;
  for (const FieldDef& f : fields_)
    out.emplace_back(f.name);
  return out;
}

}  // namespace portcullis::qql
