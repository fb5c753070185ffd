#include "storage/pg_event_writer.h"

#include <map>
#include <pqxx/pqxx>
#include <set>

namespace portcullis::indexer {
namespace {

std::string Day(std::chrono::sys_days d) {
  std::chrono::year_month_day ymd(d);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace

StatusOr<WriteResult> PgEventWriter::Write(const std::vector<EventRow>& rows) {
  WriteResult out;
  if (rows.empty()) return out;
  std::set<std::chrono::sys_days> days;
  std::map<TenantId, std::size_t> per_tenant;
  for (const EventRow& r : rows) {
    days.insert(r.day);
    ++per_tenant[r.tenant];
  }
  Status s = pool_.RunUnscoped([&](pqxx::work& tx) -> Status {
    for (auto d : days)
      tx.exec_params("SELECT portcullis_ensure_event_partitions($1::date, 1)", Day(d));
    tx.exec("CREATE TEMP TABLE events_staging (LIKE events INCLUDING DEFAULTS) ON COMMIT DROP");
    {
      std::vector<std::string> columns(kEventColumns.begin(), kEventColumns.end());
      pqxx::stream_to copy(tx, "events_staging", columns);
      // A std::array: libpqxx 6.4 streams tuple-like rows only.
      std::array<const char*, kEventColumns.size()> line{};
      for (const EventRow& r : rows) {
        for (std::size_t i = 0; i < line.size(); ++i)
          line[i] = r.values[i] ? r.values[i]->c_str() : nullptr;  // nullptr: NULL
        copy << line;
      }
      copy.complete();
    }
    // Per tenant, with the tenant set: the policy's WITH CHECK sees each row.
    for (const auto& [tenant, count] : per_tenant) {
      tx.exec_params("SELECT set_config('app.tenant', $1, true)", tenant.ToString());
      pqxx::result r = tx.exec_params(
          "INSERT INTO events SELECT * FROM events_staging WHERE tenant_id = $1 "
          "ON CONFLICT DO NOTHING",
          tenant.ToString());
      out.inserted += static_cast<std::size_t>(r.affected_rows());
    }
    return OkStatus();
  });
  if (!s.ok()) return s;
  out.duplicates = rows.size() - out.inserted;
  return out;
}

Status PgEventWriter::EnsurePartitionsAhead(int ahead) {
  return pool_.RunUnscoped([&](pqxx::work& tx) -> Status {
    tx.exec_params(
        "SELECT portcullis_ensure_event_partitions((now() AT TIME ZONE 'UTC')::date - 1, $1)",
        ahead + 2);
    return OkStatus();
  });
}

StatusOr<int> PgEventWriter::DropPartitionsOlderThan(const std::string& owner_dsn, int days) {
  try {
    pqxx::connection c(owner_dsn);
    pqxx::work tx(c);
    int dropped = tx.exec_params(
                        "SELECT portcullis_drop_event_partitions("
                        "(now() AT TIME ZONE 'UTC')::date - $1::integer)",
                        days)[0][0]
                      .as<int>();
    tx.commit();
    return dropped;
  } catch (...) {
    return pg::StatusFromCurrentException("retention");
  }
}

}  // namespace portcullis::indexer
