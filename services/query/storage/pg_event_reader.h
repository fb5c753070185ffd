// Runs compiled QQL (qql::SqlQuery) against the events table as the caller's
// tenant: app.tenant is set, so row-level security confines every statement
// to the tenant's rows whatever the SQL says (the compiler adds the tenant
// condition too, for the index). Bounded by the pool's statement timeout
// (PORTCULLIS_PG_STATEMENT_TIMEOUT_MS): a query past it is DeadlineExceeded.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "portcullis/common/ids.h"
#include "portcullis/pg/pool.h"
#include "portcullis/qql/qql.h"

namespace portcullis::query {

struct ResultSet {
  std::vector<std::vector<std::optional<std::string>>> rows;  // text output; nullopt: NULL
};

class PgEventReader {
 public:
  explicit PgEventReader(pg::Pool& pool) : pool_(pool) {}
  StatusOr<ResultSet> Run(const TenantId& tenant, const qql::SqlQuery& query);

 private:
  pg::Pool& pool_;
};

}  // namespace portcullis::query
