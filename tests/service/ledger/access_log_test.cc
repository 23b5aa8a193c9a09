// The access-audit trail of the SQLite ledger (access_log.h) on a real file
// with an injected clock: recording and reading (range, patient, limit),
// the patient of a feedback's alert, pruning past retention (and only
// then), refusal of UPDATE/DELETE by the database, queueing while writes
// fail and committing once they recover, refusal when the queue is full,
// and Close() committing what was queued.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/ledger/internal/sqlite_db.h"
#include "service/ledger/sqlite_ledger.h"
#include "tests/testing/scoped_temp_dir.h"
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

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  SqliteLedgerOptions Options() {
    SqliteLedgerOptions options;
    options.data_dir = dir_.path();
    options.flush_window = absl::Hours(1);  // commits come from reads/Close
    options.clock = [this] { return now_; };
    options.access_log_retention = absl::Hours(24 * 30);
    options.access_log_prune_interval = absl::Hours(1000);  // tests call it
    return options;
  }

  std::unique_ptr<AlertLedger> Open(const SqliteLedgerOptions& options) {
    absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
        OpenSqliteLedger(options);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }

  std::string FilePath() const {
    return absl::StrCat(dir_.path(), "/", kLedgerFileName);
  }

  ::needlecheck::testing::ScopedTempDir dir_;
  absl::Time now_ = kNow;
};

TEST_F(AccessLogTest, ReadsByRangeAndPatientOldestFirst) {
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

TEST_F(AccessLogTest, FeedbackAccessGetsTheAlertsPatient) {
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

TEST_F(AccessLogTest, PruneDeletesOnlyRecordsPastRetention) {
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

TEST_F(AccessLogTest, PruneRunsInTransactionsOfBoundedSize) {
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

TEST_F(AccessLogTest, DatabaseRefusesUpdateAndDeleteOutsidePruning) {
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
  absl::StatusOr<std::unique_ptr<internal::Connection>> db =
      internal::Connection::Open(FilePath(), /*read_only=*/false,
                                 /*create=*/false, absl::Seconds(5));
  ASSERT_THAT(db, IsOk());
  EXPECT_THAT(
      (*db)->Exec("UPDATE access_log SET patient_id = 'x'"),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("append-only")));
  // Even an expired record is not deleted outside the pruning pass.
  EXPECT_THAT(
      (*db)->Exec("DELETE FROM access_log WHERE patient_id = 'old'"),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("append-only")));
  EXPECT_THAT(
      (*db)->Exec("DELETE FROM access_log"),
      StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("append-only")));
  absl::StatusOr<internal::Statement> count =
      (*db)->Prepare("SELECT COUNT(*) FROM access_log", "count");
  ASSERT_THAT(count, IsOk());
  ASSERT_THAT(count->Step(), IsOk());
  EXPECT_EQ(count->ColumnInt(0), 2);
}

TEST_F(AccessLogTest, QueuedWhileWritesFailThenCommitted) {
  SqliteLedgerOptions options = Options();
  options.flush_window = absl::ZeroDuration();
  options.fail_writes_while_exists = dir_.Path("disk-full");
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  { std::ofstream(dir_.Path("disk-full")) << "x"; }
  ASSERT_THAT(ledger->access_log()->RecordAccess(Entry(kNow, "during-1")),
              IsOk());
  // Reading commits first: refused while writes fail.
  EXPECT_THAT(ledger->access_log()->ReadAccessLog(AccessLogQuery()),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_TRUE(ledger->Counters().writes_failing);
  // Screenings are refused now; access records still queue.
  EXPECT_THAT(ledger->RecordScreening(ScreeningRecord()),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(ledger->access_log()->RecordAccess(Entry(kNow, "during-2")),
              IsOk());
  std::filesystem::remove(dir_.Path("disk-full"));
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

TEST_F(AccessLogTest, FullQueueRefusesAndCloseCommitsTheRest) {
  SqliteLedgerOptions options = Options();
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

TEST_F(AccessLogTest, RetentionOptionsAreValidated) {
  SqliteLedgerOptions options = Options();
  options.access_log_retention = absl::ZeroDuration();
  EXPECT_THAT(ValidateSqliteLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("access_log_retention")));
  options = Options();
  options.access_log_prune_interval = absl::InfiniteDuration();
  EXPECT_THAT(ValidateSqliteLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("access_log_prune_interval")));
  options = Options();
  options.max_queued_access_records = 0;
  EXPECT_THAT(ValidateSqliteLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace needlecheck::ledger
