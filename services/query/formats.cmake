# The SIEM export formatters (JSON lines, CEF, LEEF 2.0, RFC 5424 syslog): a
# pure domain library, no I/O. Paths are relative to this file, so it can be
# included from any CMakeLists.txt.
portcullis_cc_library(
  NAME query_formats
  SRCS ${CMAKE_CURRENT_LIST_DIR}/domain/export_format.cc
  PUBLIC_DEPS portcullis::common
  DEPS nlohmann_json::nlohmann_json)
# The service's own folder is its include root ("domain/export_format.h").
target_include_directories(portcullis_query_formats PUBLIC ${CMAKE_CURRENT_LIST_DIR})

portcullis_cc_test(NAME query_formats_test SRCS ${CMAKE_CURRENT_LIST_DIR}/tests/export_format_test.cc
                   DEPS portcullis::query_formats nlohmann_json::nlohmann_json)
if(TARGET query_formats_test)
  # The test checks the formatters know every field of the QQL catalog.
  target_compile_definitions(query_formats_test PRIVATE
    PORTCULLIS_QQL_FIELDS_TSV="${CMAKE_CURRENT_LIST_DIR}/../../schema/qql/fields.tsv")
endif()
