#include "portcullis/pg/migrations.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "portcullis/pg/pool.h"

namespace portcullis::pg {
namespace {

// An arbitrary constant naming the migration lock in pg_advisory_xact_lock.
constexpr long long kMigrationLockKey = 0x706f7274637573LL;  // "portcus"
constexpr std::uintmax_t kMaxMigrationBytes = 4 << 20;

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    Fatal("EVP_Digest(sha256) failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

}  // namespace

StatusOr<std::vector<Migration>> LoadMigrations(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgumentError("migrations directory '" + dir + "' does not exist");
  }
  static const std::regex kName(R"(^([0-9]{4,})_[a-z0-9_]+\.sql$)");
  std::vector<Migration> out;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    std::smatch m;
    if (!std::regex_match(name, m, kName)) {
      return InvalidArgumentError("migration file '" + name +
                                  "' is not named NNNN_lower_case_words.sql");
    }
    if (entry.file_size(ec) > kMaxMigrationBytes) {
      return InvalidArgumentError("migration file '" + name + "' is larger than 4 MiB");
    }
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    if (!in) return InvalidArgumentError("cannot read migration file '" + name + "'");
    Migration mig;
    mig.version = std::stoi(m[1].str());
    mig.name = name;
    mig.sql = buf.str();
    mig.checksum = Sha256Hex(mig.sql);
    out.push_back(std::move(mig));
  }
  if (ec) return InvalidArgumentError("cannot list '" + dir + "': " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    if (out[i].version == out[i - 1].version) {
      return InvalidArgumentError("migrations '" + out[i - 1].name + "' and '" + out[i].name +
                                  "' have the same version");
    }
  }
  if (out.empty() || out.front().version < 1) {
    return InvalidArgumentError("no migrations (versions start at 1) in '" + dir + "'");
  }
  return out;
}

StatusOr<MigrationReport> ApplyMigrations(const std::string& dsn, const std::string& dir) {
  StatusOr<std::vector<Migration>> migrations = LoadMigrations(dir);
  if (!migrations.ok()) return migrations.status();
  MigrationReport report;
  try {
    pqxx::connection conn(dsn);
    {
      pqxx::work tx(conn);
      tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          "  version integer PRIMARY KEY,"
          "  name text NOT NULL,"
          "  checksum text NOT NULL,"
          "  applied_at timestamptz NOT NULL DEFAULT now())");
      tx.commit();
    }
    for (const Migration& mig : *migrations) {
      pqxx::work tx(conn);
      tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
      pqxx::result done =
          tx.exec_params("SELECT checksum FROM schema_migrations WHERE version = $1", mig.version);
      if (!done.empty()) {
        if (done[0][0].as<std::string>() != mig.checksum) {
          return FailedPreconditionError("migration '" + mig.name +
                                         "' was changed after it was applied; add a new "
                                         "migration instead of editing an applied one");
        }
        ++report.already_applied;
        continue;  // the transaction rolls back: nothing to do
      }
      try {
        tx.exec(mig.sql);
      } catch (...) {
        return StatusFromCurrentException("migration '" + mig.name + "'");
      }
      tx.exec_params("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                     mig.version, mig.name, mig.checksum);
      tx.commit();
      report.applied.push_back(mig.name);
    }
  } catch (...) {
    return StatusFromCurrentException("apply migrations");
  }
  return report;
}

}  // namespace portcullis::pg
