// Against the real PostgreSQL of scripts/infra.sh: migrations, row-level
// security as the application role, and the pool's failure modes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <thread>

#include "portcullis/pg/migrations.h"
#include "portcullis/pg/pool.h"
#include "portcullis/testing/infra.h"

namespace portcullis::pg {
namespace {

using testing::InfraEnv;

std::string MigrationsDir() {
  return testing::SourceDir() + "/schema/migrations";
}

// Replaces dbname=... in a key=value conninfo.
std::string WithDatabase(const std::string& dsn, const std::string& db) {
  std::string out;
  std::istringstream in(dsn);
  for (std::string kv; in >> kv;) {
    if (kv.rfind("dbname=", 0) == 0) continue;
    out += kv + " ";
  }
  return out + "dbname=" + db;
}

// A database created for one test and dropped afterwards, owned by the owner role.
class ScratchDatabase {
 public:
  ScratchDatabase() : name_(testing::UniqueName("portcullis_test_")) {
    pqxx::connection admin(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + name_ + " OWNER portcullis_owner");
    pqxx::connection db(WithDatabase(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"), name_));
    pqxx::nontransaction dtx(db);
    dtx.exec("ALTER SCHEMA public OWNER TO portcullis_owner");
  }
  ~ScratchDatabase() {
    pqxx::connection admin(InfraEnv::Get().Require("PORTCULLIS_PG_ADMIN_DSN"));
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
  std::string OwnerDsn() const {
    return WithDatabase(InfraEnv::Get().Require("PORTCULLIS_PG_OWNER_DSN"), name_);
  }

 private:
  std::string name_;
};

TEST(MigrationsTest, ApplyOnEmptyDatabaseThenAgainIsANoOp) {
  ScratchDatabase db;
  auto first = ApplyMigrations(db.OwnerDsn(), MigrationsDir());
  ASSERT_TRUE(first.ok()) << first.status();
  auto files = LoadMigrations(MigrationsDir());
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(first->applied.size(), files->size());
  EXPECT_EQ(first->already_applied, 0);

  auto second = ApplyMigrations(db.OwnerDsn(), MigrationsDir());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(second->applied.empty());
  EXPECT_EQ(second->already_applied, static_cast<int>(files->size()));

  pqxx::connection conn(db.OwnerDsn());
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>(),
            static_cast<int>(files->size()));
  // Daily partitions exist ahead of time.
  EXPECT_GE(tx.exec1("SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass")[0]
                .as<int>(),
            8);
}

TEST(MigrationsTest, ConcurrentRunnersApplyEachMigrationOnce) {
  ScratchDatabase db;
  std::vector<StatusOr<MigrationReport>> reports(3, InternalError("not run"));
  std::vector<std::thread> threads;
  for (auto& r : reports) {
    threads.emplace_back([&r, &db] { r = ApplyMigrations(db.OwnerDsn(), MigrationsDir()); });
  }
  for (auto& t : threads)
    t.join();
  std::size_t applied = 0;
  for (auto& r : reports) {
    ASSERT_TRUE(r.ok()) << r.status();
    applied += r->applied.size();
  }
  EXPECT_EQ(applied, LoadMigrations(MigrationsDir())->size());
}

TEST(MigrationsTest, EditedAppliedMigrationIsRejected) {
  ScratchDatabase db;
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / testing::UniqueName("portcullis_mig_");
  fs::create_directories(dir);
  fs::copy(MigrationsDir(), dir);
  ASSERT_TRUE(ApplyMigrations(db.OwnerDsn(), dir.string()).ok());
  std::ofstream(dir / "0001_tenants_and_events.sql", std::ios::app) << "\n-- edited\n";
  auto again = ApplyMigrations(db.OwnerDsn(), dir.string());
  fs::remove_all(dir);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("0001_tenants_and_events.sql"), std::string::npos);
}

TEST(MigrationsTest, BadDirectoryAndNamesAreClearErrors) {
  EXPECT_EQ(LoadMigrations("/nonexistent").status().code(), StatusCode::kInvalidArgument);
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / testing::UniqueName("portcullis_mig_");
  fs::create_directories(dir);
  std::ofstream(dir / "1-bad name.sql") << "SELECT 1;";
  auto r = LoadMigrations(dir.string());
  fs::remove_all(dir);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1-bad name.sql"), std::string::npos);
}

class TenancyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto p = Pool::Create({.dsn = InfraEnv::Get().Require("PORTCULLIS_PG_DSN"), .size = 2});
    ASSERT_TRUE(p.ok()) << p.status();
    pool_ = std::move(*p);
  }

  // Creates tenant `t` with one event, as the application role.
  void Seed(const TenantId& t) {
    Status s = pool_->RunForTenant(t, [&](pqxx::work& tx) {
      tx.exec_params("INSERT INTO tenants (id, name) VALUES ($1, $2)", t.ToString(),
                     "tenant-" + t.ToString());
      tx.exec_params(
          "INSERT INTO events (tenant_id, event_id, ts, agent_id, syscall, action) "
          "VALUES ($1, $2, now(), $3, 'openat', 'deny')",
          t.ToString(), EventId::Generate().ToString(), AgentId::Generate().ToString());
      return OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  int CountVisible(const TenantId* t, const std::string& table) {
    int n = -1;
    auto fn = [&](pqxx::work& tx) {
      n = tx.exec1("SELECT count(*) FROM " + table)[0].as<int>();
      return OkStatus();
    };
    Status s = t ? pool_->RunForTenant(*t, fn) : pool_->RunUnscoped(fn);
    EXPECT_TRUE(s.ok()) << s;
    return n;
  }

  std::unique_ptr<Pool> pool_;
};

TEST_F(TenancyTest, ApplicationRoleIsNotPrivileged) {
  Status s = pool_->RunUnscoped([](pqxx::work& tx) {
    pqxx::row r =
        tx.exec1("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user");
    EXPECT_FALSE(r[0].as<bool>());
    EXPECT_FALSE(r[1].as<bool>());
    return OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(TenancyTest, TenantSeesOnlyItsOwnRows) {
  TenantId a = TenantId::Generate();
  TenantId b = TenantId::Generate();
  Seed(a);
  Seed(b);
  EXPECT_EQ(CountVisible(&a, "tenants"), 1);
  EXPECT_EQ(CountVisible(&a, "events"), 1);
  // A forgotten WHERE still returns nothing of b's when the tenant is a.
  Status s = pool_->RunForTenant(a, [&](pqxx::work& tx) {
    pqxx::result r =
        tx.exec_params("SELECT event_id FROM events WHERE tenant_id = $1", b.ToString());
    EXPECT_TRUE(r.empty());
    return OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  // No tenant set: no rows at all (fails closed).
  EXPECT_EQ(CountVisible(nullptr, "events"), 0);
  EXPECT_EQ(CountVisible(nullptr, "tenants"), 0);
}

TEST_F(TenancyTest, CannotWriteAnotherTenantsRows) {
  TenantId a = TenantId::Generate();
  TenantId b = TenantId::Generate();
  Seed(a);
  Status s = pool_->RunForTenant(a, [&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO events (tenant_id, event_id, ts, agent_id) VALUES ($1, $2, now(), $3)",
        b.ToString(), EventId::Generate().ToString(), AgentId::Generate().ToString());
    return OkStatus();
  });
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s;
  // Events are immutable for the application role.
  s = pool_->RunForTenant(a, [&](pqxx::work& tx) {
    tx.exec("DELETE FROM events");
    return OkStatus();
  });
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s;
}

TEST_F(TenancyTest, PartitionsAreNotReachableDirectly) {
  Status s = pool_->RunUnscoped([](pqxx::work& tx) {
    std::string part = tx.exec1(
                             "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                             "i.inhrelid WHERE i.inhparent = 'events'::regclass LIMIT 1")[0]
                           .as<std::string>();
    tx.exec("SELECT count(*) FROM " + tx.quote_name(part));
    return OkStatus();
  });
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s;
}

TEST_F(TenancyTest, FailedTransactionWritesNothing) {
  TenantId a = TenantId::Generate();
  Status s = pool_->RunForTenant(a, [&](pqxx::work& tx) {
    tx.exec_params("INSERT INTO tenants (id, name) VALUES ($1, $2)", a.ToString(), "partial");
    return InvalidArgumentError("domain check failed after the first write");
  });
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CountVisible(&a, "tenants"), 0);
}

TEST_F(TenancyTest, StatementTimeoutIsDeadlineExceeded) {
  auto p = Pool::Create({.dsn = InfraEnv::Get().Require("PORTCULLIS_PG_DSN"),
                         .size = 1,
                         .statement_timeout = std::chrono::milliseconds(100)});
  ASSERT_TRUE(p.ok());
  Status s = (*p)->RunUnscoped([](pqxx::work& tx) {
    tx.exec("SELECT pg_sleep(5)");
    return OkStatus();
  });
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s;
  // The connection is still usable afterwards.
  EXPECT_TRUE((*p)->Ping().ok());
}

// JIT is off unless asked for: its compile time exceeded whole searches.
TEST_F(TenancyTest, JitIsOffUnlessAskedFor) {
  for (const bool jit : {false, true}) {
    auto p =
        Pool::Create({.dsn = InfraEnv::Get().Require("PORTCULLIS_PG_DSN"), .size = 1, .jit = jit});
    ASSERT_TRUE(p.ok());
    std::string setting;
    Status s = (*p)->RunUnscoped([&](pqxx::work& tx) {
      setting = tx.exec1("SHOW jit")[0].as<std::string>();
      return OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(setting, jit ? "on" : "off");
  }
}

TEST(PoolTest, UnreachableServerIsUnavailable) {
  auto p = Pool::Create({.dsn = "host=127.0.0.1 port=1 dbname=x user=y", .size = 1});
  ASSERT_TRUE(p.ok());
  Status s = (*p)->Ping();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  EXPECT_EQ((*p)->open_connections(), 0);
}

TEST(PoolTest, ExhaustedPoolTimesOut) {
  auto p = Pool::Create({.dsn = InfraEnv::Get().Require("PORTCULLIS_PG_DSN"),
                         .size = 1,
                         .acquire_timeout = std::chrono::milliseconds(50)});
  ASSERT_TRUE(p.ok());
  Status inner;
  Status outer = (*p)->RunUnscoped([&](pqxx::work&) {
    inner = (*p)->Ping();  // the only connection is leased by this call
    return OkStatus();
  });
  EXPECT_TRUE(outer.ok()) << outer;
  EXPECT_EQ(inner.code(), StatusCode::kUnavailable) << inner;
}

TEST(PoolTest, RejectsBadOptions) {
  EXPECT_FALSE(Pool::Create({.dsn = ""}).ok());
  EXPECT_FALSE(Pool::Create({.dsn = "host=x", .size = 0}).ok());
}

}  // namespace
}  // namespace portcullis::pg
