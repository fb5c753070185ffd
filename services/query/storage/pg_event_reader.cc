#include "storage/pg_event_reader.h"

#include <pqxx/pqxx>

namespace portcullis::query {

StatusOr<ResultSet> PgEventReader::Run(const TenantId& tenant, const qql::SqlQuery& query) {
  ResultSet out;
  Status s = pool_.RunForTenant(tenant, [&](pqxx::work& tx) -> Status {
    pqxx::result r = tx.exec_params(
        query.sql, pqxx::prepare::make_dynamic_params(query.params.begin(), query.params.end()));
    if (r.columns() != query.columns.size()) {
      return InternalError("the query returned " + std::to_string(r.columns()) +
                           " columns; the compiler announced " +
                           std::to_string(query.columns.size()));
    }
    out.rows.reserve(r.size());
    for (const pqxx::row& row : r) {
      std::vector<std::optional<std::string>> values;
      values.reserve(row.size());
      for (const pqxx::field& f : row)
        values.push_back(f.is_null() ? std::nullopt : std::optional<std::string>(f.c_str()));
      out.rows.push_back(std::move(values));
    }
    return OkStatus();
  });
  if (!s.ok()) {
    if (s.code() == StatusCode::kDeadlineExceeded) {
      return DeadlineExceededError(
          "the query ran past the statement timeout: narrow the time range or add filters");
    }
    return s;
  }
  return out;
}

}  // namespace portcullis::query
