// Test support for suites that run against the real local infrastructure
// (scripts/infra.sh): reads its env file and runs its subcommands. Used by
// integration tests only; unit tests never need it.
//
//   const InfraEnv& env = InfraEnv::Get();      // fails the test if infra is down
//   auto pool = pg::Pool::Create({.dsn = env.Require("PORTCULLIS_PG_DSN")});
//   ASSERT_TRUE(RunInfra("stop pg").ok());
#pragma once

#include <map>
#include <string>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::testing {

class InfraEnv {
 public:
  // Loaded once from $PORTCULLIS_ENV_FILE; aborts with a clear message if the
  // file is missing (run scripts/infra.sh up, or ctest which does it).
  static const InfraEnv& Get();
  // The value of `key`; aborts naming the key if absent.
  const std::string& Require(const std::string& key) const;
  const std::map<std::string, std::string>& values() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
};

// Runs `scripts/infra.sh <args>` and returns OK when it exits 0.
Status RunInfra(const std::string& args);

// $PORTCULLIS_SOURCE_DIR / $PORTCULLIS_BIN_DIR, set by CTest.
std::string SourceDir();
std::string BinDir();

// A unique lower-case name with `prefix`, for databases and topics.
std::string UniqueName(const std::string& prefix);

}  // namespace portcullis::testing
