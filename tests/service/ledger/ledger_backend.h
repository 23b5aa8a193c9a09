// LedgerBackend: one test's ledger database, SQLite (a file in a fresh
// temporary folder) or PostgreSQL (a fresh PostgresCluster), so that the
// ledger contract tests run unchanged against both implementations.
// Test-only.
//
// Contract
// - Create(kind) makes the database; for PostgreSQL it returns
//   FAILED_PRECONDITION when postgresql-15 is missing (tests call
//   NEEDLECHECK_SKIP_WITHOUT_POSTGRES() first).
// - Open(config) opens a ledger on it with the options both backends share
//   (LedgerTestConfig); the PostgreSQL one re-checks unknown alert ids for
//   only `unknown_alert_grace` (100 ms by default), since the tests' flush
//   window is an hour.
// - QueryInt()/Exec() run SQL on the database outside the ledger (same
//   table names in both): for checks, and to try what the ledger refuses.
// - BreakWrites() makes every ledger write fail (SQLite: the test-only
//   fault file, as a full disk; PostgreSQL: the server stopped, immediate
//   mode); RestoreWrites() ends it (PostgreSQL: started again, same port).
#ifndef TESTS_SERVICE_LEDGER_LEDGER_BACKEND_H_
#define TESTS_SERVICE_LEDGER_LEDGER_BACKEND_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "service/ledger/alert_ledger.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/scoped_temp_dir.h"

namespace needlecheck::ledger {

enum class Backend { kSqlite, kPostgres };

// "Sqlite" / "Postgres", for INSTANTIATE_TEST_SUITE_P names.
std::string BackendName(const ::testing::TestParamInfo<Backend>& info);
// The same in test listings ("GetParam() = Postgres").
void PrintTo(Backend backend, std::ostream* os);

struct LedgerTestConfig {
  absl::Duration flush_window = absl::Hours(1);
  std::function<absl::Time()> clock;
  size_t max_queued_screenings = 10000;
  size_t max_queued_access_records = 100000;
  absl::Duration access_log_retention = absl::Hours(24 * 2190);
  absl::Duration access_log_prune_interval = absl::Hours(1000);
  absl::Duration unknown_alert_grace = absl::Milliseconds(100);  // postgres
  std::function<void(const absl::Status&)> on_write_error;
  std::function<void(absl::Duration, int64_t)> on_write_recovered;
  std::function<void(absl::Duration, size_t)> on_batch_committed;
};

class LedgerBackend {
 public:
  static absl::StatusOr<std::unique_ptr<LedgerBackend>> Create(Backend kind);

  Backend kind() const { return kind_; }
  absl::StatusOr<std::unique_ptr<AlertLedger>> Open(
      const LedgerTestConfig& config);
  // The first column of the first row of `sql`, as an integer.
  absl::StatusOr<int64_t> QueryInt(const std::string& sql);
  absl::Status Exec(const std::string& sql);
  absl::Status BreakWrites();
  absl::Status RestoreWrites();

  // PostgreSQL only (null for SQLite).
  testing::PostgresCluster* cluster() { return cluster_.get(); }

 private:
  explicit LedgerBackend(Backend kind) : kind_(kind) {}

  Backend kind_;
  testing::ScopedTempDir dir_;
  std::unique_ptr<testing::PostgresCluster> cluster_;
};

}  // namespace needlecheck::ledger

#endif  // TESTS_SERVICE_LEDGER_LEDGER_BACKEND_H_
