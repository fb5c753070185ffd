#include "portcullis/pg/pool.h"

#include <string_view>

#include "portcullis/common/log.h"

namespace portcullis::pg {
namespace {

Status StatusFromSqlState(const std::string& state, const std::string& what,
                          std::string_view context) {
  std::string msg = std::string(context) + ": " + what;
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
    msg.pop_back();
  msg += " (SQLSTATE " + state + ")";
  if (state == "23505") return AlreadyExistsError(msg);
  if (state == "42501") return PermissionDeniedError(msg);
  if (state == "57014") return DeadlineExceededError(msg);
  if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
    return UnavailableError(msg);
  }
  if (state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0) {
    // Data errors reach clients as 400s: say which class, keep PostgreSQL's
    // own text (statement details, parameter numbers) in the log.
    log::Warn("database refused a value", {{"context", std::string(context)}, {"error", msg}});
    return InvalidArgumentError(std::string(context) + ": the database refused a value (SQLSTATE " +
                                state + ")");
  }
  if (state == "40001" || state == "40P01") return UnavailableError(msg);  // retryable
  return InternalError(msg);
}

}  // namespace

Status StatusFromCurrentException(std::string_view context) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return UnavailableError(std::string(context) + ": database connection lost: " + e.what());
  } catch (const pqxx::transaction_rollback& e) {
    // Serialization failure or deadlock: retryable (derives from sql_error).
    return UnavailableError(std::string(context) + ": transaction rolled back, retry: " + e.what());
  } catch (const pqxx::unique_violation& e) {
    return StatusFromSqlState("23505", e.what(), context);
  } catch (const pqxx::insufficient_privilege& e) {
    return StatusFromSqlState("42501", e.what(), context);
  } catch (const pqxx::sql_error& e) {
    // libpqxx 6.4 leaves sqlstate() empty on some paths (exec_params); the
    // subclasses above cover the codes callers branch on.
    std::string state = e.sqlstate();
    if (state.empty() && std::string_view(e.what()).find("canceling statement due to statement "
                                                         "timeout") != std::string_view::npos) {
      state = "57014";  // no query_cancelled class in 6.4 either
    }
    return StatusFromSqlState(state, e.what(), context);

  } catch (const pqxx::in_doubt_error& e) {
    return UnavailableError(std::string(context) + ": commit outcome unknown: " + e.what());
  } catch (const std::exception& e) {
    return InternalError(std::string(context) + ": " + e.what());
  } catch (...) {
    return InternalError(std::string(context) + ": unknown exception");
  }
}

Pool::Pool(PoolOptions options) : options_(std::move(options)) {
  // The statement timeout is also the connection's default, so statements
  // run outside RunForTenant/RunUnscoped transactions are bounded too.
  dsn_with_timeout_ =
      options_.dsn + " connect_timeout=" + std::to_string(options_.connect_timeout_s) +
      " options='-c statement_timeout=" + std::to_string(options_.statement_timeout.count()) +
      " -c jit=" + (options_.jit ? "on" : "off") + "'";
}

Pool::~Pool() {
  std::lock_guard<std::mutex> lock(mu_);
  if (leased_ != 0) Fatal("pg::Pool destroyed with connections still leased");
}

StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.dsn.empty()) return InvalidArgumentError("PostgreSQL DSN is empty");
  if (options.size < 1 || options.size > 256) {
    return InvalidArgumentError("pool size must be between 1 and 256");
  }
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

int Pool::open_connections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(idle_.size()) + leased_;
}

namespace {
// Sets the statement timeout, the tenant and the commit mode of a
// transaction: one prepared statement, run first in every transaction.
constexpr const char* kTxSettings = "portcullis_tx_settings";
constexpr const char* kTxSettingsSql =
    "SELECT set_config('statement_timeout', $1, true), set_config('app.tenant', $2, true), "
    "set_config('synchronous_commit', $3, true)";
}  // namespace

void Pool::Prepare(std::string name, std::string sql) {
  std::lock_guard<std::mutex> lock(mu_);
  prepared_.emplace_back(std::move(name), std::move(sql));
}

StatusOr<Pool::Conn> Pool::Acquire() {
  Conn c;
  std::vector<std::pair<std::string, std::string>> to_prepare;
  {
    std::unique_lock<std::mutex> lock(mu_);
    bool got = cv_.wait_for(lock, options_.acquire_timeout, [&] {
      return !idle_.empty() || leased_ + static_cast<int>(idle_.size()) < options_.size;
    });
    if (!got) {
      return UnavailableError("no database connection free within " +
                              std::to_string(options_.acquire_timeout.count()) + " ms");
    }
    if (!idle_.empty()) {
      c = std::move(idle_.back());
      idle_.pop_back();
    }
    ++leased_;
    if (!c.conn || !c.conn->is_open()) c.prepared = 0;
    to_prepare.assign(prepared_.begin() + static_cast<std::ptrdiff_t>(c.prepared), prepared_.end());
    c.prepared = prepared_.size();
  }
  try {
    if (!c.conn || !c.conn->is_open()) {
      c.conn = std::make_unique<pqxx::connection>(dsn_with_timeout_);
      c.conn->prepare(kTxSettings, kTxSettingsSql);
    }
    for (const auto& [name, sql] : to_prepare)
      c.conn->prepare(name, sql);
    return c;
  } catch (...) {
    Release(Conn{});
    return StatusFromCurrentException("connect to PostgreSQL");
  }
}

void Pool::Release(Conn c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    --leased_;
    if (c.conn && c.conn->is_open()) idle_.push_back(std::move(c));
  }
  cv_.notify_one();
}

Status Pool::Run(const TenantId* tenant, const TxFn& fn, TxOptions options) {
  StatusOr<Conn> acquired = Acquire();
  if (!acquired.ok()) return acquired.status();
  Conn c = std::move(*acquired);
  Status result;
  try {
    pqxx::work tx(*c.conn);
    tx.exec_prepared(kTxSettings, std::to_string(options_.statement_timeout.count()),
                     tenant != nullptr ? tenant->ToString() : std::string(),
                     options.async_commit ? "off" : "on");
    result = fn(tx);
    if (result.ok()) tx.commit();  // otherwise the destructor rolls back
  } catch (...) {
    result = StatusFromCurrentException("database");
  }
  // A connection whose transaction failed mid-way may be unusable: let libpq
  // tell us (is_open) rather than guessing, and drop it if it is broken.
  Release(std::move(c));
  return result;
}

Status Pool::RunAutocommit(const std::function<Status(pqxx::nontransaction&)>& fn) {
  StatusOr<Conn> acquired = Acquire();
  if (!acquired.ok()) return acquired.status();
  Conn c = std::move(*acquired);
  Status result;
  try {
    pqxx::nontransaction tx(*c.conn);
    result = fn(tx);
  } catch (...) {
    result = StatusFromCurrentException("database");
  }
  Release(std::move(c));
  return result;
}

Status Pool::RunForTenant(const TenantId& tenant, const TxFn& fn, TxOptions options) {
  if (tenant.is_nil()) return InvalidArgumentError("tenant id is nil");
  return Run(&tenant, fn, options);
}

Status Pool::RunUnscoped(const TxFn& fn) {
  return Run(nullptr, fn, {});
}

Status Pool::Ping() {
  return RunUnscoped([](pqxx::work& tx) {
    tx.exec("SELECT 1");
    return OkStatus();
  });
}

}  // namespace portcullis::pg
