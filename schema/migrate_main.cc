// portcullis-migrate: applies schema/migrations to a database, once each.
//
//   PORTCULLIS_PG_OWNER_DSN="host=... user=portcullis_owner" portcullis-migrate
//       --dir schema/migrations
//
// Runs as the schema owner role, never as the application role. Exit 0 when
// the database is up to date (also when nothing was pending), 1 on failure,
// 2 on usage errors.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "portcullis/common/log.h"
#include "portcullis/pg/migrations.h"

int main(int argc, char** argv) {
  using namespace portcullis;
  log::Init({.service = "migrate"});
  std::string dsn;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dsn" && i + 1 < argc) {
      dsn = argv[++i];
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: portcullis-migrate --dsn CONNINFO --dir MIGRATIONS_DIR\n");
      return 2;
    }
  }
  if (dsn.empty()) {
    const char* env = std::getenv("PORTCULLIS_PG_OWNER_DSN");  // NOLINT(concurrency-mt-unsafe)
    if (env != nullptr) dsn = env;
  }
  if (dsn.empty() || dir.empty()) {
    std::fprintf(stderr,
                 "usage: portcullis-migrate --dsn CONNINFO --dir MIGRATIONS_DIR\n"
                 "  (--dsn defaults to $PORTCULLIS_PG_OWNER_DSN)\n");
    return 2;
  }
  StatusOr<pg::MigrationReport> report = pg::ApplyMigrations(dsn, dir);
  if (!report.ok()) {
    log::Error("migrations failed", {{"error", report.status().ToString()}});
    return 1;
  }
  log::Info("migrations up to date",
            {{"applied", report->applied}, {"already_applied", report->already_applied}});
  return 0;
}
