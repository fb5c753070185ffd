#include "storage/pg_event_writer.h"

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include "portcullis/common/log.h"

namespace portcullis::indexer {
namespace {

std::string Day(std::chrono::sys_days d) {
  std::chrono::year_month_day ymd(d);
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// INSERT from the staging table, per tenant with the tenant set (row-level
// security's WITH CHECK sees every row). Returns the rows inserted.
std::size_t InsertPerTenant(pqxx::transaction_base& tx, const RowBatch& batch,
                            const std::string& insert) {
  std::size_t inserted = 0;
  for (const auto& [tenant, count] : batch.tenants) {
    tx.exec_params("SELECT set_config('app.tenant', $1, true)", tenant.ToString());
    inserted += static_cast<std::size_t>(tx.exec_params(insert, tenant.ToString()).affected_rows());
  }
  return inserted;
}

}  // namespace

// libpqxx 6.4's stream_to takes rows of values and escapes each one (most of
// the indexer's CPU when it was used); its raw line writer is private.
// tablewriter (deprecated in 6.x; the same COPY protocol underneath) has a
// public one, and a "line" may hold many rows: the text goes in one piece.
void CopyRows(pqxx::transaction_base& tx, const std::string& table, const RowBatch& batch) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  std::vector<std::string> columns(kEventColumns.begin(), kEventColumns.end());
  pqxx::tablewriter writer(tx, table, columns.begin(), columns.end());
  writer.write_raw_line(batch.copy_text);  // strips one final '\n'; the protocol adds it back
  writer.complete();
#pragma GCC diagnostic pop
}

// What the connected role may do, and the staging table's DDL with the
// column types read from the catalog (pg_attribute needs no privilege on
// events; CREATE TABLE ... LIKE would need SELECT, which portcullis_indexer
// does not have).
StatusOr<PgEventWriter::Setup> PgEventWriter::GetSetup() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (setup_) return *setup_;
  }
  Setup setup;
  Status s = pool_.RunUnscoped([&](pqxx::work& tx) -> Status {
    setup.direct_copy =
        tx.exec("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]
            .as<bool>();
    std::map<std::string, std::string> types;
    for (const auto& row :
         tx.exec("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                 "WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped"))
      types[row[0].as<std::string>()] = row[1].as<std::string>();
    std::string columns;
    for (const char* c : kEventColumns) {
      auto t = types.find(c);
      if (t == types.end()) return InternalError(std::string("events has no column ") + c);
      columns += (columns.empty() ? "" : ", ") + std::string(c) + " " + t->second;
    }
    setup.staging_ddl =
        "CREATE TEMP TABLE IF NOT EXISTS events_staging (" + columns + ") ON COMMIT DELETE ROWS";
    return OkStatus();
  });
  if (!s.ok()) return s;
  log::Info("indexer: write path",
            {{"path", setup.direct_copy ? "copy into events"
                                        : "copy into staging, insert (role under row-level "
                                          "security)"}});
  std::lock_guard<std::mutex> lock(mu_);
  setup_ = setup;
  return setup;
}

StatusOr<WriteResult> PgEventWriter::Write(const RowBatch& batch) {
  WriteResult out;
  if (batch.rows == 0) return out;
  PORTCULLIS_ASSIGN_OR_RETURN(Setup setup, GetSetup());
  std::vector<std::chrono::sys_days> missing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto d : batch.days)
      if (!ensured_days_.contains(d)) missing.push_back(d);
  }
  static const std::string kColumns = EventColumnList();
  static const std::string kInsert = "INSERT INTO events (" + kColumns + ") SELECT " + kColumns +
                                     " FROM events_staging WHERE tenant_id = $1";
  Status s = pool_.RunUnscoped([&](pqxx::work& tx) -> Status {
    for (auto d : missing)
      tx.exec_params("SELECT portcullis_ensure_event_partitions($1::date, 1)", Day(d));
    try {
      pqxx::subtransaction fast(tx, "fast_path");
      if (setup.direct_copy) {
        CopyRows(fast, "events", batch);
      } else {
        fast.exec(setup.staging_ddl);
        CopyRows(fast, "events_staging", batch);
        InsertPerTenant(fast, batch, kInsert);
      }
      fast.commit();
      out.inserted = batch.rows;
    } catch (const pqxx::sql_error& e) {
      // libpqxx 6.4 does not fill sqlstate() for every error class: the
      // type says it too.
      if (e.sqlstate() != "23505" && dynamic_cast<const pqxx::unique_violation*>(&e) == nullptr) {
        throw;  // not a redelivery: the batch fails
      }
      // Some rows are in already (the savepoint rolled back everything the
      // fast path did): every row again, skipping those.
      out.deduplicated = true;
      tx.exec(setup.staging_ddl);
      CopyRows(tx, "events_staging", batch);
      out.inserted = InsertPerTenant(tx, batch, kInsert + " ON CONFLICT DO NOTHING");
    }
    return OkStatus();
  });
  std::lock_guard<std::mutex> lock(mu_);
  if (!s.ok()) {
    // A partition dropped by retention since (an old event), or anything
    // else: the retry checks every day again.
    ensured_days_.clear();
    return s;
  }
  ensured_days_.insert(missing.begin(), missing.end());
  out.duplicates = batch.rows - out.inserted;
  return out;
}

StatusOr<WriteResult> PgEventWriter::WriteSalvaging(const RowBatch& batch,
                                                    std::vector<Refused>* refused) {
  StatusOr<WriteResult> w = Write(batch);
  if (w.ok() || w.status().code() != StatusCode::kInvalidArgument) return w;
  if (batch.rows <= 1) {
    std::string line = batch.copy_text;
    if (!line.empty() && line.back() == '\n') line.pop_back();
    refused->push_back({std::move(line), w.status().message()});
    return WriteResult{};
  }
  // Halve at a line boundary.
  const std::string_view text = batch.copy_text;
  std::size_t cut = 0;
  for (std::size_t seen = 0; seen < batch.rows / 2; ++seen)
    cut = text.find('\n', cut) + 1;
  WriteResult out;
  for (const std::string_view half : {text.substr(0, cut), text.substr(cut)}) {
    PORTCULLIS_ASSIGN_OR_RETURN(WriteResult part, WriteSalvaging(BatchOfLines(half), refused));
    out.inserted += part.inserted;
    out.duplicates += part.duplicates;
    out.deduplicated = out.deduplicated || part.deduplicated;
  }
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
