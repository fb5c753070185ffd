# The helpers every CMakeLists.txt of the project uses, so that each library,
# binary and test is declared the same way (in the spirit of absl_cc_library).
#
#   portcullis_cc_library(NAME common SRCS a.cc b.cc DEPS Threads::Threads
#                         PUBLIC_DEPS portcullis::common)
#     -> target portcullis_common, alias portcullis::common, public headers in
#        include/, private sources in src/.
#   portcullis_cc_binary(NAME portcullis-registry SRCS main.cc DEPS ...)
#   portcullis_cc_test(NAME common_test SRCS tests/x_test.cc DEPS ... [INTEGRATION])
#     -> GoogleTest binary registered with CTest; INTEGRATION tests need the
#        real PostgreSQL/Kafka (fixture "infra") and are labelled integration.

set(PORTCULLIS_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wno-unused-parameter -Wno-missing-field-initializers)

function(portcullis_set_warnings target)
  target_compile_options(${target} PRIVATE ${PORTCULLIS_WARNINGS})
  if(PORTCULLIS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

function(portcullis_cc_library)
  cmake_parse_arguments(L "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target portcullis_${L_NAME})
  if(L_SRCS)
    add_library(${target} STATIC ${L_SRCS})
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                         PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${target} PUBLIC ${L_PUBLIC_DEPS} PRIVATE ${L_DEPS})
    portcullis_set_warnings(${target})
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    target_link_libraries(${target} INTERFACE ${L_PUBLIC_DEPS})
  endif()
  add_library(portcullis::${L_NAME} ALIAS ${target})
endfunction()

function(portcullis_cc_binary)
  cmake_parse_arguments(B "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${B_NAME} ${B_SRCS})
  target_link_libraries(${B_NAME} PRIVATE ${B_DEPS})
  portcullis_set_warnings(${B_NAME})
endfunction()

function(portcullis_cc_test)
  if(NOT PORTCULLIS_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(T "INTEGRATION" "NAME;TIMEOUT" "SRCS;DEPS" ${ARGN})
  add_executable(${T_NAME} ${T_SRCS})
  target_link_libraries(${T_NAME} PRIVATE ${T_DEPS} GTest::gmock GTest::gtest_main)
  portcullis_set_warnings(${T_NAME})
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set(env "PORTCULLIS_ENV_FILE=${PORTCULLIS_INFRA_DIR}/infra.env"
          "PORTCULLIS_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
          "PORTCULLIS_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
          "PORTCULLIS_INFRA_DIR=${PORTCULLIS_INFRA_DIR}")
  if(T_INTEGRATION)
    set_tests_properties(${T_NAME} PROPERTIES LABELS integration FIXTURES_REQUIRED infra
                         RESOURCE_LOCK infra TIMEOUT ${T_TIMEOUT} ENVIRONMENT "${env}")
  else()
    set_tests_properties(${T_NAME} PROPERTIES LABELS unit TIMEOUT ${T_TIMEOUT}
                         ENVIRONMENT "${env}")
  endif()
endfunction()
