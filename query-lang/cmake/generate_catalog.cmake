# Generates the QQL field catalog (C++) from schema/qql/fields.tsv, so the
# field table is written once. Run at build time by query-lang/CMakeLists.txt:
#
#   cmake -DINPUT=schema/qql/fields.tsv -DOUTPUT=catalog_fields.cc -P generate_catalog.cmake
#
# Every line is checked here, so a typo fails the build rather than a query:
# field names [a-z][a-z0-9_.]*, columns [a-z_][a-z0-9_]* (they are spliced into
# SQL as identifiers), a known type, no duplicate field.
cmake_minimum_required(VERSION 3.25)

if(NOT DEFINED INPUT OR NOT DEFINED OUTPUT)
  message(FATAL_ERROR "usage: cmake -DINPUT=fields.tsv -DOUTPUT=out.cc -P generate_catalog.cmake")
endif()

file(READ "${INPUT}" text)
foreach(forbidden ";" "[" "]" "\"" "\\")
  string(FIND "${text}" "${forbidden}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${INPUT}: the character ${forbidden} is not allowed (offset ${at})")
  endif()
endforeach()

# One list element per line (the file holds no ';', checked above).
string(REPLACE "\r" "" text "${text}")
string(REPLACE "\n" ";" lines "${text}")

set(entries "")
set(seen "")
set(lineno 0)
foreach(line IN LISTS lines)
  math(EXPR lineno "${lineno} + 1")
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  string(REPLACE "\t" ";" cells "${line}")
  list(LENGTH cells n)
  if(NOT n EQUAL 4)
    message(FATAL_ERROR "${INPUT}:${lineno}: expected 4 tab-separated cells, got ${n}")
  endif()
  list(GET cells 0 field)
  list(GET cells 1 column)
  list(GET cells 2 type)
  list(GET cells 3 description)
  if(NOT field MATCHES "^[a-z][a-z0-9_.]*$")
    message(FATAL_ERROR "${INPUT}:${lineno}: bad field name '${field}'")
  endif()
  if(NOT column MATCHES "^[a-z_][a-z0-9_]*$")
    message(FATAL_ERROR "${INPUT}:${lineno}: bad column name '${column}'")
  endif()
  if(field IN_LIST seen)
    message(FATAL_ERROR "${INPUT}:${lineno}: field '${field}' appears twice")
  endif()
  list(APPEND seen "${field}")

  set(values "")
  if(type MATCHES "^enum\\(([a-z0-9_|]+)\\)$")
    set(enumerator kEnum)
    set(values "${CMAKE_MATCH_1}")
  elseif(type STREQUAL "text")
    set(enumerator kText)
  elseif(type STREQUAL "integer")
    set(enumerator kInteger)
  elseif(type STREQUAL "bigint")
    set(enumerator kBigint)
  elseif(type STREQUAL "port")
    set(enumerator kPort)
  elseif(type STREQUAL "bool")
    set(enumerator kBool)
  elseif(type STREQUAL "uuid")
    set(enumerator kUuid)
  elseif(type STREQUAL "ip")
    set(enumerator kIp)
  elseif(type STREQUAL "timestamp")
    set(enumerator kTimestamp)
  elseif(type STREQUAL "labels")
    set(enumerator kLabels)
  else()
    message(FATAL_ERROR "${INPUT}:${lineno}: unknown type '${type}'")
  endif()
  string(APPEND entries
         "    {\"${field}\", \"${column}\", FieldType::${enumerator}, \"${values}\",\n"
         "     \"${description}\"},\n")
endforeach()

if(entries STREQUAL "")
  message(FATAL_ERROR "${INPUT}: no field")
endif()

set(out "// Generated from schema/qql/fields.tsv by query-lang/cmake/generate_catalog.cmake.
// Do not edit: change the .tsv file.
#include \"catalog_data.h\"

namespace portcullis::qql::internal {

const FieldSpec kFieldSpecs[] = {
${entries}};

const std::size_t kFieldSpecCount = sizeof(kFieldSpecs) / sizeof(kFieldSpecs[0]);

}  // namespace portcullis::qql::internal
")

file(WRITE "${OUTPUT}" "${out}")
