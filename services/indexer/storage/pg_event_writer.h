// Writes batches of event rows to the partitioned events table, one
// transaction per batch, so that a batch written twice changes nothing:
//   1. the partitions of the batch's days are created if missing (once per
//      day per process; again after any failed batch);
//   2. in a savepoint, the fast path:
//      - as portcullis_indexer (BYPASSRLS, INSERT only): COPY straight into
//        events;
//      - as a role under row-level security (COPY FROM refuses the table):
//        COPY into a per-connection temporary staging table, then per tenant,
//        with that tenant set so the policy checks every row, a plain
//        INSERT ... SELECT;
//   3. only if the fast path hits an event already in the table (a
//      redelivered batch, SQLSTATE 23505), the savepoint is rolled back and
//      the rows go through the staging table with INSERT ... ON CONFLICT DO
//      NOTHING.
// ON CONFLICT costs about a quarter more PostgreSQL CPU than a plain INSERT,
// which costs about a third more than COPY (services/indexer/README.md).
#pragma once

#include <mutex>
#include <optional>
#include <set>

#include "domain/rows.h"
#include "portcullis/pg/pool.h"

namespace portcullis::indexer {

struct WriteResult {
  std::size_t inserted = 0;
  std::size_t duplicates = 0;
  bool deduplicated = false;  // step 3 ran
};

// COPYs the batch's rows into `table` (columns kEventColumns) as they are.
void CopyRows(pqxx::transaction_base& tx, const std::string& table, const RowBatch& batch);

class PgEventWriter {
 public:
  explicit PgEventWriter(pg::Pool& pool) : pool_(pool) {}
  // All or nothing.
  StatusOr<WriteResult> Write(const RowBatch& batch);
  // Write, and when PostgreSQL refuses a value (InvalidArgument: a row it
  // cannot store, which no check before foresaw), the batch is halved until
  // the refused rows stand alone: those are returned in `refused` (their COPY
  // lines, for the dead letters) and every other row is written. Without
  // this, one such row would stop its partitions for good. Other failures
  // are returned as they are (the caller retries the batch).
  struct Refused {
    std::string line;
    std::string reason;
  };
  StatusOr<WriteResult> WriteSalvaging(const RowBatch& batch, std::vector<Refused>* refused);
  // Creates the partitions of the days from yesterday to `ahead` days on.
  Status EnsurePartitionsAhead(int ahead);
  // Drops the day partitions older than `days` days, connected as the
  // schema owner (`owner_dsn`): the application role may not drop tables.
  // Returns how many were dropped.
  static StatusOr<int> DropPartitionsOlderThan(const std::string& owner_dsn, int days);

 private:
  struct Setup {
    bool direct_copy = false;  // the role bypasses row-level security
    std::string staging_ddl;
  };
  StatusOr<Setup> GetSetup();

  pg::Pool& pool_;
  std::mutex mu_;
  std::optional<Setup> setup_;                    // guarded by mu_
  std::set<std::chrono::sys_days> ensured_days_;  // guarded by mu_
};

}  // namespace portcullis::indexer
