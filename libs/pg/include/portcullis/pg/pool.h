// PostgreSQL access for services: a bounded connection pool and the one way to
// run a transaction, scoped to a tenant for row-level security.
//
//   auto pool = pg::Pool::Create({.dsn = cfg.pg_dsn, .size = 4});
//   Status s = pool->RunForTenant(tenant, [&](pqxx::work& tx) -> Status {
//     pqxx::result r = tx.exec_params("SELECT name FROM tenants WHERE id = $1", id);
//     ...
//     return OkStatus();
//   });
//
// Connections are opened lazily, so a service starts while PostgreSQL is down
// and becomes ready when it comes back. libpqxx exceptions never escape: they
// are mapped to a Status (broken connection -> Unavailable, statement timeout
// -> DeadlineExceeded, unique violation -> AlreadyExists, ...). The tenant is set
// with set_config(..., is_local = true) inside the transaction only, because
// libpqxx 6 silently reconnects and would lose session-level state.
//
// Thread-safe. The pool must outlive every Lease taken from it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "portcullis/common/ids.h"
#include "portcullis/common/status.h"

namespace portcullis::pg {

struct PoolOptions {
  std::string dsn;
  int size = 4;
  // How long Acquire waits for a free connection before Unavailable.
  std::chrono::milliseconds acquire_timeout{2000};
  // Applied to every transaction run through the pool (SET LOCAL).
  std::chrono::milliseconds statement_timeout{5000};
  // libpq connect_timeout, in seconds (libpq's unit).
  int connect_timeout_s = 3;
  // PostgreSQL's JIT compiler for the connection's statements. Off by
  // default: it compiles when a plan's estimated cost passes jit_above_cost,
  // which a selective search over many partitions does, and the compilation
  // alone took 180-215 ms for a query that runs in 10-15 ms without it (and
  // made a 1M-row aggregation slower too: 954 vs 616 ms), measured on the
  // 10M-event benchmark (tests/bench/README.md, query_bench.sh).
  bool jit = false;
};

using TxFn = std::function<Status(pqxx::work&)>;

struct TxOptions {
  // synchronous_commit = off for this transaction: the commit returns before
  // its WAL reaches disk, so a database crash may lose the last few hundred
  // milliseconds of such transactions (never corrupts). Only for data that is
  // refreshed continuously anyway (heartbeats), never for accepted events.
  bool async_commit = false;
};

class Pool {
 public:
  static StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `fn` in a transaction with app.tenant set to `tenant`; commits when
  // `fn` returns OK, rolls back otherwise (and on any exception).
  Status RunForTenant(const TenantId& tenant, const TxFn& fn, TxOptions options = {});
  // Runs `fn` in a transaction with no tenant: under RLS it sees no tenant rows.
  // For platform-level work only (partition upkeep, operator actions).
  Status RunUnscoped(const TxFn& fn);
  // Runs `fn` outside an explicit transaction (each statement commits on its
  // own). The tenant is NOT set: only for statements that set it themselves
  // in their own transaction (SECURITY INVOKER functions such as
  // portcullis_agent_heartbeat) or need none. One round trip per statement.
  Status RunAutocommit(const std::function<Status(pqxx::nontransaction&)>& fn);

  // SELECT 1 on a pooled connection: the readiness check.
  Status Ping();

  // Defines a prepared statement on every connection of the pool (those open
  // now on their next use, new ones when they connect), for hot paths: run it
  // with tx.exec_prepared(name, ...). Saves the parse and plan of each call.
  void Prepare(std::string name, std::string sql);

  int size() const { return options_.size; }
  // Connections currently open (for metrics and tests).
  int open_connections() const;

 private:
  // A connection and how many of prepared_ it has defined.
  struct Conn {
    std::unique_ptr<pqxx::connection> conn;
    std::size_t prepared = 0;
  };
  explicit Pool(PoolOptions options);
  StatusOr<Conn> Acquire();
  void Release(Conn conn);
  Status Run(const TenantId* tenant, const TxFn& fn, TxOptions options);

  const PoolOptions options_;
  std::string dsn_with_timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Conn> idle_;
  std::vector<std::pair<std::string, std::string>> prepared_;  // append-only
  int leased_ = 0;
};

// Maps an exception thrown by libpqxx (or anything else) to a Status. Call
// only from a catch block.
Status StatusFromCurrentException(std::string_view context);

}  // namespace portcullis::pg
