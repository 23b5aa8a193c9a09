#include "tests/service/ledger/ledger_backend.h"

#include <filesystem>
#include <fstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/sqlite/sqlite_db.h"
#include "service/ledger/postgres_ledger.h"
#include "service/ledger/sqlite_ledger.h"

namespace needlecheck::ledger {

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

void PrintTo(Backend backend, std::ostream* os) {
  *os << (backend == Backend::kSqlite ? "Sqlite" : "Postgres");
}

absl::StatusOr<std::unique_ptr<LedgerBackend>> LedgerBackend::Create(
    Backend kind) {
  std::unique_ptr<LedgerBackend> backend(new LedgerBackend(kind));
  if (backend->dir_.path().empty()) {
    return absl::InternalError("no temporary folder");
  }
  if (kind == Backend::kPostgres) {
    absl::StatusOr<std::unique_ptr<testing::PostgresCluster>> cluster =
        testing::PostgresCluster::Create();
    if (!cluster.ok()) return cluster.status();
    backend->cluster_ = *std::move(cluster);
  }
  return backend;
}

absl::StatusOr<std::unique_ptr<AlertLedger>> LedgerBackend::Open(
    const LedgerTestConfig& config) {
  auto common = [&](auto& options) {
    options.flush_window = config.flush_window;
    options.clock = config.clock;
    options.max_queued_screenings = config.max_queued_screenings;
    options.max_queued_access_records = config.max_queued_access_records;
    options.access_log_retention = config.access_log_retention;
    options.access_log_prune_interval = config.access_log_prune_interval;
    options.on_write_error = config.on_write_error;
    options.on_write_recovered = config.on_write_recovered;
    options.on_batch_committed = config.on_batch_committed;
  };
  if (kind_ == Backend::kSqlite) {
    SqliteLedgerOptions options;
    common(options);
    options.data_dir = dir_.path();
    options.fail_writes_while_exists = dir_.Path("fault");
    return OpenSqliteLedger(options);
  }
  PostgresLedgerOptions options;
  common(options);
  options.dsn = cluster_->Dsn();
  options.unknown_alert_grace = config.unknown_alert_grace;
  options.open_timeout = absl::Seconds(10);
  return OpenPostgresLedger(options);
}

absl::StatusOr<int64_t> LedgerBackend::QueryInt(const std::string& sql) {
  if (kind_ == Backend::kPostgres) {
    absl::StatusOr<std::string> out = cluster_->Sql(sql);
    if (!out.ok()) return out.status();
    int64_t value = 0;
    if (!absl::SimpleAtoi(*out, &value)) {
      return absl::InternalError(absl::StrCat("not an integer: ", *out));
    }
    return value;
  }
  absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
      sqlite::Connection::Open(dir_.Path(kLedgerFileName), false, false,
                               absl::Seconds(5));
  if (!db.ok()) return db.status();
  absl::StatusOr<sqlite::Statement> stmt = (*db)->Prepare(sql, "query");
  if (!stmt.ok()) return stmt.status();
  absl::StatusOr<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError("no row");
  return stmt->ColumnInt(0);
}

absl::Status LedgerBackend::Exec(const std::string& sql) {
  if (kind_ == Backend::kPostgres) return cluster_->Sql(sql).status();
  absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
      sqlite::Connection::Open(dir_.Path(kLedgerFileName), false, false,
                               absl::Seconds(5));
  if (!db.ok()) return db.status();
  return (*db)->Exec(sql);
}

absl::Status LedgerBackend::BreakWrites() {
  if (kind_ == Backend::kPostgres) return cluster_->Stop("immediate");
  if (dir_.WriteFile("fault", "on").empty()) {
    return absl::InternalError("cannot write the fault file");
  }
  return absl::OkStatus();
}

absl::Status LedgerBackend::RestoreWrites() {
  if (kind_ == Backend::kPostgres) return cluster_->Start();
  std::error_code ec;
  std::filesystem::remove(dir_.Path("fault"), ec);
  if (ec) return absl::InternalError(ec.message());
  return absl::OkStatus();
}

}  // namespace needlecheck::ledger
