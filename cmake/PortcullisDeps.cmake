# Every third-party dependency comes from Debian's packages; this is the one place
# that finds them and gives each an imported target.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
# 3.10+ destroys deeply nested documents without recursion.
find_package(nlohmann_json 3.10 REQUIRED)
find_package(OpenSSL REQUIRED)

pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(PISTACHE REQUIRED IMPORTED_TARGET libpistache)
pkg_check_modules(RDKAFKAXX REQUIRED IMPORTED_TARGET rdkafka++ rdkafka)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
# Content-Encoding of event batches (ingest): gzip and zstd.
pkg_check_modules(ZLIB REQUIRED IMPORTED_TARGET zlib)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
# Policy files in YAML, for portcullisctl only (PkgConfig::YAMLCPP). pkg-config
# rather than yaml-cpp's CMake package: its target is `yaml-cpp` in 0.7 and
# `yaml-cpp::yaml-cpp` from 0.8 on, the pkg-config module is the same in both.
pkg_check_modules(YAMLCPP REQUIRED IMPORTED_TARGET yaml-cpp>=0.7)

# libpqxx 6.4 only offers as<std::optional<T>>() with this defined.
set_property(TARGET PkgConfig::PQXX APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS PQXX_HAVE_OPTIONAL)
# Debian's Pistache is built with TLS; its headers need this to declare it.
set_property(TARGET PkgConfig::PISTACHE APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS PISTACHE_USE_SSL)

if(PORTCULLIS_BUILD_TESTS)
  find_package(GTest CONFIG REQUIRED)
endif()
