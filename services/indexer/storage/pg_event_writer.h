// Writes event rows to the partitioned events table: one transaction per
// batch, COPY into a staging table, then an INSERT ... ON CONFLICT DO NOTHING
// per tenant (with that tenant set, so row-level security checks every row),
// so a batch written twice changes nothing. Daily partitions for the batch's
// days are created first if missing.
#pragma once

#include <vector>

#include "domain/rows.h"
#include "portcullis/pg/pool.h"

namespace portcullis::indexer {

struct WriteResult {
  std::size_t inserted = 0;
  std::size_t duplicates = 0;
};

class PgEventWriter {
 public:
  explicit PgEventWriter(pg::Pool& pool) : pool_(pool) {}
  // All or nothing.
  StatusOr<WriteResult> Write(const std::vector<EventRow>& rows);
  // Creates the partitions of the days from yesterday to `ahead` days on.
  Status EnsurePartitionsAhead(int ahead);
  // Drops the day partitions older than `days` days, connected as the
  // schema owner (`owner_dsn`): the application role may not drop tables.
  // Returns how many were dropped.
  static StatusOr<int> DropPartitionsOlderThan(const std::string& owner_dsn, int days);

 private:
  pg::Pool& pool_;
};

}  // namespace portcullis::indexer
