// The access-audit trail (access_log.h) on both ledgers (SQLite file,
// PostgreSQL cluster) with an injected clock: recording and reading (range,
// patient, limit), the patient of a feedback's alert, pruning past retention
// (and only then), refusal of UPDATE/DELETE by the database, queueing while
// writes fail and committing once they recover, refusal when the queue is full,
// and Close() committing what was queued.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/ledger/sqlite_ledger.h"
#include "tests/service/ledger/ledger_backend.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::ledger {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// 2026-11-23T10:00:00Z.
const absl::Time kNow = absl::FromCivil(
    absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone());

AccessEntry Entry(absl::Time at, const std::string& patient,
                  const std::string& action = "Screen") {
  AccessEntry e;
  e.at = at;
  e.caller = "unauthenticated ipv4:127.0.0.1:1";
  e.action = action;
  e.patient_id = patient;
  e.outcome = "OK";
  return e;
}

std::vector<std::string> Patients(const AccessLogPage& page) {
  std::vector<std::string> out;
  for (const AccessEntry& e : page.entries) out.push_back(e.patient_id);
  return out;
}

class AccessLogTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
    absl::StatusOr<std::unique_ptr<LedgerBackend>> backend =
        LedgerBackend::Create(GetParam());
    ASSERT_THAT(backend, IsOk());
    backend_ = *std::move(backend);
  }

  LedgerTestConfig Options() {
    LedgerTestConfig options;
    options.flush_window = absl::Hours(1);  // commits come from reads/Close
    options.clock = [this] { return now_; };
    options.access_log_retention = absl::Hours(24 * 30);
    options.access_log_prune_interval = absl::Hours(1000);  // tests call it
    return options;
  }

  std::unique_ptr<AlertLedger> Open(const LedgerTestConfig& options) {
    absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
        backend_->Open(options);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }

  // How the database's refusal of an UPDATE/DELETE reaches Exec().
  absl::StatusCode RefusedCode() const {
    return GetParam() == Backend::kSqlite ? absl::StatusCode::kAlreadyExists
                                          : absl::StatusCode::kInternal;
  }

  std::unique_ptr<LedgerBackend> backend_;
  absl::Time now_ = kNow;
};

INSTANTIATE_TEST_SUITE_P(Backends, AccessLogTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         BackendName);

TEST_P(AccessLogTest, ReadsByRangeAndPatientOldestFirst) {
  std::unique_ptr<AlertLedger> ledger = Open(Options());
  ASSERT_NE(ledger, nullptr);
  AccessLog* log = ledger->access_log();
  ASSERT_NE(log, nullptr);
  ASSERT_THAT(log->RecordAccess(Entry(kNow + absl::Minutes(2), "b")), IsOk());
  ASSERT_THAT(log->RecordAccess(Entry(kNow, "a")), IsOk());
  ASSERT_THAT(log->RecordAccess(Entry(kNow + absl::Hours(30), "a")), IsOk());

  AccessLogQuery all;
  absl::StatusOr<AccessLogPage> page = log->ReadAccessLog(all);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("a", "b", "a"));

  AccessLogQuery day;
  day.from = kNow - absl::Hours(10);
  day.to = kNow + absl::Hours(14);  // exclusive
  page = log->ReadAccessLog(day);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("a", "b"));

  AccessLogQuery only_a;
  only_a.patient_id = "a";
  page = log->ReadAccessLog(only_a);
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->entries.size(), 2u);

  AccessLogQuery limited;
  limited.limit = 2;
  page = log->ReadAccessLog(limited);
  ASSERT_THAT(page, IsOk());
  EXPECT_EQ(page->entries.size(), 2u);
  EXPECT_TRUE(page->truncated);

  limited.limit = 0;
  EXPECT_THAT(log->ReadAccessLog(limited),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(AccessLogTest, FeedbackAccessGetsTheAlertsPatient) {
  std::unique_ptr<AlertLedger> ledger = Open(Options());
  ASSERT_NE(ledger, nullptr);
  ScreeningRecord screening;
  screening.request_id = "r1";
  screening.screened_at = kNow;
  screening.patient_id = "patient-x";
  screening.alerts.push_back({"11111111-1111-4111-8111-111111111111", "MN-X",
                              needlecheck::v1::SEVERITY_WARNING});
  ASSERT_THAT(ledger->RecordScreening(screening), IsOk());
  AccessEntry feedback = Entry(kNow, "", "RecordFeedback");
  feedback.patient_of_alert = "11111111-1111-4111-8111-111111111111";
  ASSERT_THAT(ledger->access_log()->RecordAccess(feedback), IsOk());
  AccessEntry unknown = Entry(kNow, "", "RecordFeedback");
  unknown.patient_of_alert = "no-such-alert";
  ASSERT_THAT(ledger->access_log()->RecordAccess(unknown), IsOk());
  absl::StatusOr<AccessLogPage> page =
      ledger->access_log()->ReadAccessLog(AccessLogQuery());
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("patient-x", ""));
}

TEST_P(AccessLogTest, PruneDeletesOnlyRecordsPastRetention) {
  std::unique_ptr<AlertLedger> ledger = Open(Options());
  ASSERT_NE(ledger, nullptr);
  AccessLog* log = ledger->access_log();
  for (int days : {45, 31, 29, 0}) {
    ASSERT_THAT(log->RecordAccess(Entry(kNow - absl::Hours(24) * days,
                                        absl::StrCat("d", days))),
                IsOk());
  }
  ASSERT_THAT(ledger->Flush(), IsOk());
  absl::StatusOr<int64_t> pruned = log->PruneExpired();
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(*pruned, 2);
  absl::StatusOr<AccessLogPage> page = log->ReadAccessLog(AccessLogQuery());
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("d29", "d0"));
  // Two days later the 29-day-old record has expired too.
  now_ = kNow + absl::Hours(48);
  pruned = log->PruneExpired();
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(*pruned, 1);
  EXPECT_EQ(ledger->Counters().access_pruned, 3);
}

TEST_P(AccessLogTest, PruneRunsInTransactionsOfBoundedSize) {
  std::unique_ptr<AlertLedger> ledger = Open(Options());
  ASSERT_NE(ledger, nullptr);
  AccessLog* log = ledger->access_log();
  for (int i = 0; i < 10005; ++i) {
    ASSERT_THAT(log->RecordAccess(Entry(kNow - absl::Hours(24 * 40), "old")),
                IsOk());
  }
  ASSERT_THAT(log->RecordAccess(Entry(kNow, "new")), IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  absl::StatusOr<int64_t> pruned = log->PruneExpired();
  ASSERT_THAT(pruned, IsOk());
  EXPECT_EQ(*pruned, 10005);
  absl::StatusOr<AccessLogPage> page = log->ReadAccessLog(AccessLogQuery());
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("new"));
}

TEST_P(AccessLogTest, DatabaseRefusesUpdateAndDeleteOutsidePruning) {
  {
    std::unique_ptr<AlertLedger> ledger = Open(Options());
    ASSERT_NE(ledger, nullptr);
    // A pruning pass before the expired record is committed: it must not
    // leave the delete trigger open behind it.
    ASSERT_THAT(ledger->access_log()->PruneExpired(), IsOk());
    ASSERT_THAT(ledger->access_log()->RecordAccess(
                    Entry(kNow - absl::Hours(24 * 40), "old")),
                IsOk());
    ASSERT_THAT(ledger->access_log()->RecordAccess(Entry(kNow, "new")), IsOk());
    ASSERT_THAT(ledger->Close(), IsOk());
  }
  // Outside the ledger (the sqlite3 shell, psql): refused by the database.
  EXPECT_THAT(backend_->Exec("UPDATE access_log SET patient_id = 'x'"),
              StatusIs(RefusedCode(), HasSubstr("append-only")));
  // Even an expired record is not deleted outside the pruning pass.
  EXPECT_THAT(backend_->Exec("DELETE FROM access_log WHERE patient_id = 'old'"),
              StatusIs(RefusedCode(), HasSubstr("append-only")));
  EXPECT_THAT(backend_->Exec("DELETE FROM access_log"),
              StatusIs(RefusedCode(), HasSubstr("append-only")));
  if (GetParam() == Backend::kPostgres) {
    EXPECT_THAT(backend_->Exec("TRUNCATE access_log"),
                StatusIs(RefusedCode(), HasSubstr("append-only")));
  }
  absl::StatusOr<int64_t> count =
      backend_->QueryInt("SELECT COUNT(*) FROM access_log");
  ASSERT_THAT(count, IsOk());
  EXPECT_EQ(*count, 2);
}

TEST_P(AccessLogTest, QueuedWhileWritesFailThenCommitted) {
  LedgerTestConfig options = Options();
  options.flush_window = absl::ZeroDuration();
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  ASSERT_THAT(backend_->BreakWrites(), IsOk());
  ASSERT_THAT(ledger->access_log()->RecordAccess(Entry(kNow, "during-1")),
              IsOk());
  // Reading commits first: refused while writes fail.
  EXPECT_THAT(ledger->access_log()->ReadAccessLog(AccessLogQuery()),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_TRUE(ledger->Counters().writes_failing);
  // Screenings are refused now (SQLite; PostgreSQL queues them up to their
  // bound); access records still queue.
  if (GetParam() == Backend::kSqlite) {
    EXPECT_THAT(ledger->RecordScreening(ScreeningRecord()),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  ASSERT_THAT(ledger->access_log()->RecordAccess(Entry(kNow, "during-2")),
              IsOk());
  ASSERT_THAT(backend_->RestoreWrites(), IsOk());
  // The writer retries at most 1 s apart; reads answer UNAVAILABLE until
  // then. Bounded: 600 tries of a 100 ms wait.
  absl::StatusOr<AccessLogPage> page;
  for (int i = 0; i < 600; ++i) {
    page = ledger->access_log()->ReadAccessLog(AccessLogQuery());
    if (page.ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("during-1", "during-2"));
}

TEST_P(AccessLogTest, FullQueueRefusesAndCloseCommitsTheRest) {
  LedgerTestConfig options = Options();
  options.max_queued_access_records = 2;
  {
    std::unique_ptr<AlertLedger> ledger = Open(options);
    ASSERT_NE(ledger, nullptr);
    AccessLog* log = ledger->access_log();
    ASSERT_THAT(log->RecordAccess(Entry(kNow, "1")), IsOk());
    ASSERT_THAT(log->RecordAccess(Entry(kNow, "2")), IsOk());
    EXPECT_THAT(log->RecordAccess(Entry(kNow, "3")),
                StatusIs(absl::StatusCode::kUnavailable,
                         HasSubstr("access log's write queue is full")));
    EXPECT_EQ(ledger->Counters().access_refused, 1);
    ASSERT_THAT(ledger->Close(), IsOk());
    EXPECT_THAT(log->RecordAccess(Entry(kNow, "4")),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  std::unique_ptr<AlertLedger> reopened = Open(options);
  ASSERT_NE(reopened, nullptr);
  absl::StatusOr<AccessLogPage> page =
      reopened->access_log()->ReadAccessLog(AccessLogQuery());
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(Patients(*page), ElementsAre("1", "2"));
}

SqliteLedgerOptions SqliteOptions() {
  SqliteLedgerOptions options;
  options.data_dir = "/nonexistent";  // only validated here
  return options;
}

TEST(SqliteAccessLogTest, RetentionOptionsAreValidated) {
  SqliteLedgerOptions options = SqliteOptions();
  options.access_log_retention = absl::ZeroDuration();
  EXPECT_THAT(ValidateSqliteLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("access_log_retention")));
  options = SqliteOptions();
  options.access_log_prune_interval = absl::InfiniteDuration();
  EXPECT_THAT(ValidateSqliteLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("access_log_prune_interval")));
  options = SqliteOptions();
  options.max_queued_access_records = 0;
  EXPECT_THAT(ValidateSqliteLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace needlecheck::ledger
