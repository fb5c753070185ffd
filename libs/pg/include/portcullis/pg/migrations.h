// Schema migrations: numbered SQL files applied once each, in order, and
// recorded in schema_migrations with a checksum.
//
//   auto report = pg::ApplyMigrations(owner_dsn, "schema/migrations");
//
// Files are named NNNN_description.sql (NNNN a positive integer, unique).
// Each pending file runs in its own transaction together with its bookkeeping
// row, under a transaction-level advisory lock, so concurrent runners (two
// replicas starting at once) apply each migration exactly once. Applying twice
// is a no-op. A file changed after it was applied is an error, not silently
// skipped: the database would no longer match the source.
#pragma once

#include <string>
#include <vector>

#include "portcullis/common/status.h"

namespace portcullis::pg {

struct Migration {
  int version = 0;
  std::string name;  // file name
  std::string sql;
  std::string checksum;  // hex SHA-256 of the file
};

struct MigrationReport {
  std::vector<std::string> applied;  // file names applied by this run
  int already_applied = 0;
};

// Reads and validates the migration files of `dir`, sorted by version.
StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir);

StatusOr<MigrationReport> ApplyMigrations(const std::string& dsn, const std::string& dir);

}  // namespace portcullis::pg
