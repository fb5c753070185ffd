// The field table as generated from schema/qql/fields.tsv (catalog_fields.cc
// in the build directory); Catalog::Default() turns it into FieldDefs.
#pragma once

#include <cstddef>

#include "portcullis/qql/catalog.h"

namespace portcullis::qql::internal {

struct FieldSpec {
  const char* name;
  const char* column;
  FieldType type;
  const char* values;  // kEnum: "a|b|c"
  const char* description;
};

extern const FieldSpec kFieldSpecs[];
extern const std::size_t kFieldSpecCount;

}  // namespace portcullis::qql::internal
