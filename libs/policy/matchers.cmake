# The evaluator's matchers (globs, paths, addresses, rule sets): allocation-free
# and lock-free at match time, shared by the policy service and the agent.
portcullis_cc_library(
  NAME policy_matchers
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/src/glob.cc ${CMAKE_CURRENT_SOURCE_DIR}/src/path_matcher.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/src/address_matcher.cc
  PUBLIC_DEPS portcullis::common)

portcullis_cc_test(
  NAME policy_matchers_test
  SRCS ${CMAKE_CURRENT_SOURCE_DIR}/tests/glob_test.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/tests/path_matcher_test.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/tests/address_matcher_test.cc
       ${CMAKE_CURRENT_SOURCE_DIR}/tests/rule_bits_test.cc
  DEPS portcullis::policy_matchers)
