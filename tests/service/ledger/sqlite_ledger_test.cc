// The SQLite alert ledger on a real file in a fresh temporary folder:
// recording, feedback (durability, idempotency, errors), statistics,
// date ranges, migration, refusal of newer files, reopen, close, and
// failing writes (refused at once, then recovered). Opening checks are in
// sqlite_ledger_open_test.cc.
#include "service/ledger/sqlite_ledger.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ids/uuid.h"
#include "common/sqlite/sqlite_db.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/ledger/internal/sqlite_schema.h"
#include "tests/service/ledger/ledger_backend.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::ledger {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::needlecheck::v1::AlertStats;
using ::needlecheck::v1::GetAlertStatsRequest;
using ::needlecheck::v1::RecordFeedbackRequest;
using ::needlecheck::v1::RecordFeedbackResponse;
using ::needlecheck::v1::RuleStats;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kCritical = needlecheck::v1::SEVERITY_CRITICAL;
constexpr auto kWarning = needlecheck::v1::SEVERITY_WARNING;
constexpr auto kInfo = needlecheck::v1::SEVERITY_INFO;
constexpr auto kAccepted = needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED;
constexpr auto kOverridden = needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN;

// 2026-11-23T10:00:00Z.
const absl::Time kDay1 = absl::FromCivil(
    absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone());

using TempDir = ::needlecheck::testing::ScopedTempDir;

class SqliteLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  SqliteLedgerOptions Options() const {
    SqliteLedgerOptions options;
    options.data_dir = dir_.path();
    // Long enough that nothing is committed by the window during a test:
    // commits come from Flush(), feedback, stats or Close().
    options.flush_window = absl::Hours(1);
    options.clock = [] { return kDay1 + absl::Hours(1); };
    return options;
  }

  std::unique_ptr<AlertLedger> Open(const SqliteLedgerOptions& options) {
    absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
        OpenSqliteLedger(options);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }
  std::unique_ptr<AlertLedger> Open() { return Open(Options()); }

  std::string FilePath() const {
    return absl::StrCat(dir_.path(), "/", kLedgerFileName);
  }

  // A raw connection to the ledger file, for checks.
  std::unique_ptr<sqlite::Connection> Raw() {
    absl::StatusOr<std::unique_ptr<sqlite::Connection>> db =
        sqlite::Connection::Open(FilePath(), false, true, absl::Seconds(5));
    EXPECT_THAT(db, IsOk());
    return db.ok() ? *std::move(db) : nullptr;
  }

  int64_t Count(const std::string& sql) {
    std::unique_ptr<sqlite::Connection> db = Raw();
    absl::StatusOr<sqlite::Statement> stmt = db->Prepare(sql, "count");
    EXPECT_THAT(stmt, IsOk());
    absl::StatusOr<bool> row = stmt->Step();
    EXPECT_THAT(row, IsOk());
    return stmt->ColumnInt(0);
  }

  TempDir dir_;
};

// The backend-neutral contract (alert_ledger.h), run against SQLite and
// PostgreSQL (ledger_backend.h).
class LedgerContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
    absl::StatusOr<std::unique_ptr<LedgerBackend>> backend =
        LedgerBackend::Create(GetParam());
    ASSERT_THAT(backend, IsOk());
    backend_ = *std::move(backend);
  }

  LedgerTestConfig Options() const {
    LedgerTestConfig options;
    // Long enough that nothing is committed by the window during a test:
    // commits come from Flush(), feedback, stats or Close().
    options.flush_window = absl::Hours(1);
    options.clock = [] { return kDay1 + absl::Hours(1); };
    return options;
  }

  std::unique_ptr<AlertLedger> Open(const LedgerTestConfig& options) {
    absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
        backend_->Open(options);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }
  std::unique_ptr<AlertLedger> Open() { return Open(Options()); }

  int64_t Count(const std::string& sql) {
    absl::StatusOr<int64_t> n = backend_->QueryInt(sql);
    EXPECT_THAT(n, IsOk()) << sql;
    return n.ok() ? *n : -1;
  }

  std::unique_ptr<LedgerBackend> backend_;
};

INSTANTIATE_TEST_SUITE_P(Backends, LedgerContractTest,
                         ::testing::Values(Backend::kSqlite,
                                           Backend::kPostgres),
                         BackendName);

std::string NewId() {
  absl::StatusOr<std::string> id = ids::NewUuidV4();
  EXPECT_THAT(id, IsOk());
  return id.ok() ? *id : std::string();
}

ScreeningRecord Screening(
    absl::Time at,
    std::vector<std::pair<std::string, needlecheck::v1::Severity>> rules,
    std::vector<std::string>* ids = nullptr) {
  ScreeningRecord s;
  s.request_id = "req-1";
  s.screened_at = at;
  s.patient_id = "PATIENT-SECRET-7";
  s.knowledge_base_version = "2026.11.1";
  for (const auto& [rule, severity] : rules) {
    IssuedAlert alert{NewId(), rule, severity};
    if (ids != nullptr) ids->push_back(alert.alert_id);
    s.alerts.push_back(alert);
  }
  return s;
}

RecordFeedbackRequest Feedback(const std::string& alert_id,
                               needlecheck::v1::FeedbackOutcome outcome,
                               const std::string& timestamp,
                               const std::string& reason_display = "",
                               const std::string& reason_code = "") {
  RecordFeedbackRequest request;
  request.set_alert_id(alert_id);
  request.set_outcome(outcome);
  request.set_outcome_timestamp(timestamp);
  if (!reason_display.empty() || !reason_code.empty()) {
    request.mutable_override_reason()->set_system("urn:example:reasons");
    request.mutable_override_reason()->set_code(reason_code);
    request.mutable_override_reason()->set_display(reason_display);
  }
  return request;
}

const RuleStats* FindRule(const AlertStats& stats, const std::string& id) {
  for (const RuleStats& rule : stats.rules()) {
    if (rule.rule_id() == id) return &rule;
  }
  return nullptr;
}

TEST_F(SqliteLedgerTest, CreatesAVersionedWalFile) {
  std::unique_ptr<AlertLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  EXPECT_TRUE(std::filesystem::exists(FilePath()));
  std::unique_ptr<sqlite::Connection> db = Raw();
  EXPECT_EQ(*db->PragmaText("journal_mode"), "wal");
  EXPECT_EQ(*db->PragmaInt("user_version"), internal::LatestSchemaVersion());
  EXPECT_EQ(*db->PragmaInt("application_id"), internal::kApplicationId);
}

TEST_P(LedgerContractTest, FlushCommitsQueuedScreenings) {
  std::unique_ptr<AlertLedger> ledger = Open();
  std::vector<std::string> ids;
  ASSERT_THAT(
      ledger->RecordScreening(Screening(
          kDay1, {{"MN-CI-ECZEMA", kCritical}, {"MN-FREQ", kWarning}}, &ids)),
      IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {})), IsOk());
  EXPECT_EQ(ledger->Counters().queue_depth, 2);
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM alerts"), 2);
  EXPECT_EQ(Count(absl::StrCat("SELECT severity FROM alerts WHERE alert_id='",
                               ids[0], "'")),
            kCritical);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings WHERE patient_id = "
                  "'PATIENT-SECRET-7' AND kb_version = '2026.11.1' AND "
                  "screened_day = '2026-11-23' AND request_id = 'req-1'"),
            2);
  const LedgerCounters counters = ledger->Counters();
  EXPECT_EQ(counters.screenings_queued, 2);
  EXPECT_EQ(counters.screenings_committed, 2);
  EXPECT_EQ(counters.queue_depth, 0);
}

// One batch whose screenings straddle UTC midnights (and the Unix epoch):
// each screening and its alerts keep their own day, and empty texts are
// stored as empty, not NULL.
TEST_P(LedgerContractTest, OneBatchAcrossMidnightsKeepsEachScreeningsDay) {
  std::unique_ptr<AlertLedger> ledger = Open();
  const absl::Time midnight = absl::FromCivil(
      absl::CivilSecond(2026, 11, 24, 0, 0, 0), absl::UTCTimeZone());
  const absl::Time epoch = absl::UnixEpoch();
  const std::vector<absl::Time> instants = {
      midnight - absl::Microseconds(1),
      midnight,
      midnight + absl::Hours(24) - absl::Microseconds(1),
      midnight - absl::Microseconds(2),
      epoch - absl::Microseconds(1),
      epoch};
  for (absl::Time at : instants) {
    ScreeningRecord s = Screening(at, {{"R", kInfo}});
    s.request_id = absl::StrCat("at-", absl::ToUnixMicros(at));
    s.knowledge_base_version = "";
    ASSERT_THAT(ledger->RecordScreening(std::move(s)), IsOk());
  }
  ASSERT_THAT(ledger->Flush(), IsOk());
  const std::vector<std::pair<absl::Time, std::string>> expected = {
      {instants[0], "2026-11-23"}, {instants[1], "2026-11-24"},
      {instants[2], "2026-11-24"}, {instants[3], "2026-11-23"},
      {instants[4], "1969-12-31"}, {instants[5], "1970-01-01"}};
  for (const auto& [at, day] : expected) {
    const std::string request_id = absl::StrCat("at-", absl::ToUnixMicros(at));
    EXPECT_EQ(Count(absl::StrCat("SELECT COUNT(*) FROM screenings s JOIN "
                                 "alerts a ON a.screening_id = s.id WHERE "
                                 "s.request_id = '",
                                 request_id, "' AND s.screened_day = '", day,
                                 "' AND a.issued_day = '", day,
                                 "' AND s.kb_version = ''")),
              1)
        << request_id << " should be on " << day;
  }
}

TEST_P(LedgerContractTest, ReportsEachSuccessfulBatchCommitForMetrics) {
  LedgerTestConfig options = Options();
  absl::Mutex mu;
  std::vector<size_t> batches;
  std::vector<absl::Duration> took;
  options.on_batch_committed = [&](absl::Duration d, size_t screenings) {
    absl::MutexLock lock(&mu);
    batches.push_back(screenings);
    took.push_back(d);
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {})), IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {})), IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {})), IsOk());
  ASSERT_THAT(ledger->Close(), IsOk());
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batches, (std::vector<size_t>{2, 1}));
  for (absl::Duration d : took) EXPECT_GE(d, absl::ZeroDuration());
}

// max_batch_screenings counts screenings: the access record each Screen
// queues rides in the same transaction; access records alone are bounded
// by as many again.
TEST_F(SqliteLedgerTest, BatchLimitCountsScreeningsNotTheirAccessRecords) {
  SqliteLedgerOptions options = Options();
  options.max_batch_screenings = 2;
  absl::Mutex mu;
  std::vector<size_t> batches;  // writes per committed batch
  options.on_batch_committed = [&](absl::Duration, size_t writes) {
    absl::MutexLock lock(&mu);
    batches.push_back(writes);
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  AccessEntry access;
  access.at = kDay1;
  access.caller = "unauthenticated ipv4:127.0.0.1:1";
  access.action = "Screen";
  access.patient_id = "PATIENT-SECRET-7";
  access.outcome = "OK";
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
                IsOk());
    ASSERT_THAT(ledger->access_log()->RecordAccess(access), IsOk());
  }
  ASSERT_THAT(ledger->Flush(), IsOk());
  std::vector<size_t> with_screenings;
  {
    absl::MutexLock lock(&mu);
    with_screenings.swap(batches);
  }
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(ledger->access_log()->RecordAccess(access), IsOk());
  }
  ASSERT_THAT(ledger->Flush(), IsOk());
  ASSERT_THAT(ledger->Close(), IsOk());
  // The writer takes the first batch once the second screening is queued:
  // the first screening's access record is then queued too, the second's
  // may be (3 or 4 writes; counting writes, the limit would have cut at 2).
  // The third screening and what is left go with the Flush.
  ASSERT_EQ(with_screenings.size(), 2u);
  EXPECT_GE(with_screenings[0], 3u);
  EXPECT_LE(with_screenings[0], 4u);
  EXPECT_EQ(with_screenings[0] + with_screenings[1], 6u);
  absl::MutexLock lock(&mu);
  EXPECT_EQ(batches, (std::vector<size_t>{4, 1}));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM access_log"), 8);
}

TEST_P(LedgerContractTest, FeedbackRightAfterScreeningFindsTheQueuedAlert) {
  std::unique_ptr<AlertLedger> ledger = Open();  // 1 hour window
  std::vector<std::string> ids;
  ASSERT_THAT(ledger->RecordScreening(
                  Screening(kDay1, {{"MN-CI-ECZEMA", kCritical}}, &ids)),
              IsOk());
  RecordFeedbackRequest request = Feedback(
      ids[0], kOverridden, "2026-11-23T10:05:00Z", "Patient consented");
  request.set_user_comment("COMMENT-SECRET: discussed risks");
  request.add_accepted_suggestion_ids("s-1");
  request.set_service_id("microneedling-safety");
  absl::StatusOr<RecordFeedbackResponse> response =
      ledger->RecordFeedback(request);
  ASSERT_THAT(response, IsOk());
  EXPECT_FALSE(response->duplicate());
  EXPECT_EQ(response->feedback_id().size(), 36u);
  EXPECT_EQ(response->rule_id(), "MN-CI-ECZEMA");
  // Durable: visible to another connection as soon as it returned.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback WHERE user_comment = "
                  "'COMMENT-SECRET: discussed risks' AND service_id = "
                  "'microneedling-safety' AND reason_display = 'Patient "
                  "consented'"),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback_suggestions WHERE "
                  "suggestion_id = 's-1'"),
            1);
  EXPECT_EQ(Count("SELECT recorded_at_us FROM feedback"),
            absl::ToUnixMicros(kDay1 + absl::Hours(1)));
}

TEST_P(LedgerContractTest, FeedbackIsIdempotent) {
  std::unique_ptr<AlertLedger> ledger = Open();
  std::vector<std::string> ids;
  ASSERT_THAT(ledger->RecordScreening(
                  Screening(kDay1, {{"MN-CI-ECZEMA", kCritical}}, &ids)),
              IsOk());
  absl::StatusOr<RecordFeedbackResponse> first = ledger->RecordFeedback(
      Feedback(ids[0], kOverridden, "2026-11-23T10:05:00Z", "A"));
  ASSERT_THAT(first, IsOk());
  // Same alert, outcome and instant (also written with another offset).
  for (const char* ts : {"2026-11-23T10:05:00Z", "2026-11-23T11:05:00+01:00",
                         "2026-11-23T10:05:00.000Z"}) {
    absl::StatusOr<RecordFeedbackResponse> again =
        ledger->RecordFeedback(Feedback(ids[0], kOverridden, ts, "B"));
    ASSERT_THAT(again, IsOk()) << ts;
    EXPECT_TRUE(again->duplicate()) << ts;
    EXPECT_EQ(again->rule_id(), "MN-CI-ECZEMA") << ts;
    EXPECT_EQ(again->feedback_id(), first->feedback_id()) << ts;
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback WHERE reason_display='A'"), 1);
  // Another instant or another outcome is new feedback.
  absl::StatusOr<RecordFeedbackResponse> later = ledger->RecordFeedback(
      Feedback(ids[0], kOverridden, "2026-11-23T10:06:00Z"));
  ASSERT_THAT(later, IsOk());
  EXPECT_FALSE(later->duplicate());
  absl::StatusOr<RecordFeedbackResponse> accepted = ledger->RecordFeedback(
      Feedback(ids[0], kAccepted, "2026-11-23T10:05:00Z"));
  ASSERT_THAT(accepted, IsOk());
  EXPECT_FALSE(accepted->duplicate());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback"), 3);
  EXPECT_EQ(ledger->Counters().feedback_recorded, 3);
  EXPECT_EQ(ledger->Counters().feedback_duplicates, 3);
}

TEST_P(LedgerContractTest, FeedbackForAnUnknownAlertIsNotFound) {
  std::unique_ptr<AlertLedger> ledger = Open();
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(NewId(), kAccepted, "2026-11-23T10:05:00Z")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("alert_id")));
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback"), 0);
}

TEST_P(LedgerContractTest, InvalidFeedbackNamesEveryField) {
  std::unique_ptr<AlertLedger> ledger = Open();
  EXPECT_THAT(ledger->RecordFeedback(RecordFeedbackRequest()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("alert_id"), HasSubstr("outcome:"),
                             HasSubstr("outcome_timestamp"))));
  for (const char* bad :
       {"2026-11-23", "2026-11-23T10:05:00", "2026-13-01T10:00:00Z",
        "2026-02-30T10:00:00Z", " 2026-11-23T10:05:00Z", "yesterday",
        "2026-11-23 10:05:00Z", "2026-11-23T25:00:00Z"}) {
    EXPECT_THAT(
        ledger->RecordFeedback(Feedback(NewId(), kAccepted, bad)),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("outcome_timestamp"), Not(HasSubstr(bad)))))
        << bad;
  }
  RecordFeedbackRequest unknown_outcome =
      Feedback(NewId(), kAccepted, "2026-11-23T10:05:00Z");
  unknown_outcome.set_outcome(static_cast<needlecheck::v1::FeedbackOutcome>(7));
  EXPECT_THAT(
      ledger->RecordFeedback(unknown_outcome),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("outcome")));
}

TEST_P(LedgerContractTest, StatsCountFiredFeedbackAndReasons) {
  std::unique_ptr<AlertLedger> ledger = Open();
  std::vector<std::string> eczema;  // 5 critical
  std::vector<std::string> freq;    // 2 warning, 1 info
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(ledger->RecordScreening(
                    Screening(kDay1, {{"MN-CI-ECZEMA", kCritical}}, &eczema)),
                IsOk());
  }
  ASSERT_THAT(
      ledger->RecordScreening(Screening(
          kDay1, {{"MN-FREQ", kWarning}, {"MN-FREQ", kWarning}}, &freq)),
      IsOk());
  ASSERT_THAT(
      ledger->RecordScreening(Screening(kDay1, {{"MN-FREQ", kInfo}}, &freq)),
      IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {})), IsOk());
  auto record = [&](const RecordFeedbackRequest& r) {
    ASSERT_THAT(ledger->RecordFeedback(r), IsOk());
  };
  // eczema[0]: overridden "Consented" (display wins over code).
  record(Feedback(eczema[0], kOverridden, "2026-11-23T10:01:00Z", "Consented",
                  "consent"));
  // eczema[1]: overridden "Consented".
  record(Feedback(eczema[1], kOverridden, "2026-11-23T10:01:00Z", "Consented"));
  // eczema[2]: overridden, code only.
  record(
      Feedback(eczema[2], kOverridden, "2026-11-23T10:01:00Z", "", "benefit"));
  // eczema[3]: overridden, no reason; then accepted later: the latest wins.
  record(Feedback(eczema[3], kOverridden, "2026-11-23T10:01:00Z"));
  record(Feedback(eczema[3], kAccepted, "2026-11-23T10:02:00Z"));
  // eczema[4]: accepted first, overridden later (no reason): counts as
  // overridden, "(none given)". Sent out of order: timestamps decide.
  record(Feedback(eczema[4], kOverridden, "2026-11-23T10:09:00Z"));
  record(Feedback(eczema[4], kAccepted, "2026-11-23T10:03:00Z"));
  // freq[0]: accepted.
  record(Feedback(freq[0], kAccepted, "2026-11-23T10:01:00Z"));

  GetAlertStatsRequest request;
  absl::StatusOr<AlertStats> stats = ledger->GetAlertStats(request);
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->screenings(), 8);
  ASSERT_EQ(stats->rules_size(), 2);
  EXPECT_EQ(stats->rules(0).rule_id(), "MN-CI-ECZEMA");  // by rule id
  const RuleStats& e = stats->rules(0);
  EXPECT_EQ(e.fired(), 5);
  EXPECT_EQ(e.critical(), 5);
  EXPECT_EQ(e.warning(), 0);
  EXPECT_EQ(e.accepted(), 1);
  EXPECT_EQ(e.overridden(), 4);
  EXPECT_DOUBLE_EQ(e.override_rate(), 0.8);
  // Most frequent first; ties by text ('(' sorts before letters).
  ASSERT_EQ(e.top_override_reasons_size(), 3);
  EXPECT_EQ(e.top_override_reasons(0).reason(), "Consented");
  EXPECT_EQ(e.top_override_reasons(0).count(), 2);
  EXPECT_EQ(e.top_override_reasons(1).reason(), "(none given)");  // [4]
  EXPECT_EQ(e.top_override_reasons(1).count(), 1);
  EXPECT_EQ(e.top_override_reasons(2).reason(), "benefit");
  EXPECT_EQ(e.top_override_reasons(2).count(), 1);
  const RuleStats& f = stats->rules(1);
  EXPECT_EQ(f.rule_id(), "MN-FREQ");
  EXPECT_EQ(f.fired(), 3);
  EXPECT_EQ(f.warning(), 2);
  EXPECT_EQ(f.info(), 1);
  EXPECT_EQ(f.critical(), 0);
  EXPECT_EQ(f.accepted(), 1);
  EXPECT_EQ(f.overridden(), 0);
  EXPECT_DOUBLE_EQ(f.override_rate(), 0.0);
  EXPECT_EQ(f.top_override_reasons_size(), 0);

  // top_reasons limits the list; the rule filter keeps only the rules asked.
  request.set_top_reasons(1);
  request.add_rule_ids("MN-CI-ECZEMA");
  stats = ledger->GetAlertStats(request);
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->rules_size(), 1);
  ASSERT_EQ(stats->rules(0).top_override_reasons_size(), 1);
  EXPECT_EQ(stats->rules(0).top_override_reasons(0).reason(), "Consented");
  EXPECT_EQ(stats->screenings(), 8);  // screenings are not per rule
}

TEST_P(LedgerContractTest, StatsTieBreakReasonsByText) {
  std::unique_ptr<AlertLedger> ledger = Open();
  std::vector<std::string> ids;
  ASSERT_THAT(ledger->RecordScreening(
                  Screening(kDay1, {{"R", kCritical}, {"R", kCritical}}, &ids)),
              IsOk());
  ASSERT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kOverridden, "2026-11-23T10:01:00Z", "b")),
              IsOk());
  ASSERT_THAT(ledger->RecordFeedback(
                  Feedback(ids[1], kOverridden, "2026-11-23T10:01:00Z", "a")),
              IsOk());
  absl::StatusOr<AlertStats> stats = ledger->GetAlertStats({});
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->rules(0).top_override_reasons_size(), 2);
  EXPECT_EQ(stats->rules(0).top_override_reasons(0).reason(), "a");
  EXPECT_EQ(stats->rules(0).top_override_reasons(1).reason(), "b");
  EXPECT_DOUBLE_EQ(stats->rules(0).override_rate(), 1.0);
}

TEST_P(LedgerContractTest, StatsDateRangeIsInclusiveByUtcIssueDay) {
  std::unique_ptr<AlertLedger> ledger = Open();
  // 22nd 23:59:59 UTC, 23rd 00:00 and 23:59:59, 24th 00:00 UTC.
  const absl::Time day22_end = kDay1 - absl::Hours(10) - absl::Seconds(1);
  const absl::Time day23_start = kDay1 - absl::Hours(10);
  const absl::Time day23_end = kDay1 + absl::Hours(14) - absl::Seconds(1);
  const absl::Time day24_start = kDay1 + absl::Hours(14);
  for (absl::Time t : {day22_end, day23_start, day23_end, day24_start}) {
    ASSERT_THAT(ledger->RecordScreening(Screening(t, {{"R", kWarning}})),
                IsOk());
  }
  auto fired = [&](const std::string& from, const std::string& to) -> int64_t {
    GetAlertStatsRequest request;
    request.set_from_date(from);
    request.set_to_date(to);
    absl::StatusOr<AlertStats> stats = ledger->GetAlertStats(request);
    EXPECT_THAT(stats, IsOk());
    if (!stats.ok()) return -1;
    EXPECT_EQ(stats->from_date(), from);
    EXPECT_EQ(stats->to_date(), to);
    const RuleStats* rule = FindRule(*stats, "R");
    const int64_t n = rule == nullptr ? 0 : rule->fired();
    EXPECT_EQ(stats->screenings(), n);  // one alert per screening here
    return n;
  };
  EXPECT_EQ(fired("2026-11-23", "2026-11-23"), 2);
  EXPECT_EQ(fired("2026-11-22", "2026-11-23"), 3);
  EXPECT_EQ(fired("2026-11-23", ""), 3);
  EXPECT_EQ(fired("", "2026-11-22"), 1);
  EXPECT_EQ(fired("", ""), 4);
  EXPECT_EQ(fired("2026-11-25", "2026-12-31"), 0);
}

TEST_P(LedgerContractTest, InvalidStatsRequestsNameTheField) {
  std::unique_ptr<AlertLedger> ledger = Open();
  GetAlertStatsRequest request;
  request.set_from_date("2026-11-31");
  EXPECT_THAT(
      ledger->GetAlertStats(request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("from_date")));
  request.set_from_date("2026-11-24");
  request.set_to_date("2026-11-23");
  EXPECT_THAT(ledger->GetAlertStats(request),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("to_date: before from_date")));
  request.Clear();
  request.set_top_reasons(51);
  EXPECT_THAT(
      ledger->GetAlertStats(request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("top_reasons")));
  request.Clear();
  request.add_rule_ids("");
  EXPECT_THAT(
      ledger->GetAlertStats(request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rule_ids[0]")));
}

TEST_P(LedgerContractTest,
       ReopenKeepsEverythingAndAcceptsFeedbackForOldAlerts) {
  std::vector<std::string> ids;
  {
    std::unique_ptr<AlertLedger> ledger = Open();
    ASSERT_THAT(ledger->RecordScreening(
                    Screening(kDay1, {{"R1", kCritical}, {"R2", kInfo}}, &ids)),
                IsOk());
    ASSERT_THAT(ledger->RecordFeedback(
                    Feedback(ids[0], kOverridden, "2026-11-23T10:01:00Z", "x")),
                IsOk());
    ASSERT_THAT(ledger->Close(), IsOk());
    EXPECT_THAT(ledger->Close(), IsOk());  // idempotent
    EXPECT_THAT(ledger->RecordScreening(Screening(kDay1, {})),
                StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(ledger->RecordFeedback(
                    Feedback(ids[1], kAccepted, "2026-11-23T10:01:00Z")),
                StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(ledger->GetAlertStats({}),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  std::unique_ptr<AlertLedger> ledger = Open();
  ASSERT_THAT(ledger->RecordFeedback(
                  Feedback(ids[1], kAccepted, "2026-11-23T10:01:00Z")),
              IsOk());
  absl::StatusOr<RecordFeedbackResponse> repeat = ledger->RecordFeedback(
      Feedback(ids[0], kOverridden, "2026-11-23T10:01:00Z", "x"));
  ASSERT_THAT(repeat, IsOk());
  EXPECT_TRUE(repeat->duplicate());
  absl::StatusOr<AlertStats> stats = ledger->GetAlertStats({});
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->screenings(), 1);
  ASSERT_EQ(stats->rules_size(), 2);
  EXPECT_EQ(stats->rules(0).overridden(), 1);
  EXPECT_EQ(stats->rules(1).accepted(), 1);
}

TEST_P(LedgerContractTest, CloseCommitsEverythingQueued) {
  std::unique_ptr<AlertLedger> ledger = Open();  // 1 hour window
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
                IsOk());
  }
  ASSERT_THAT(ledger->Close(), IsOk());
  EXPECT_EQ(ledger->Counters().screenings_committed, 50);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM alerts"), 50);
}

TEST_P(LedgerContractTest, DestructorCommitsToo) {
  {
    std::unique_ptr<AlertLedger> ledger = Open();
    ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
                IsOk());
  }
  EXPECT_EQ(Count("SELECT COUNT(*) FROM alerts"), 1);
}

TEST_F(SqliteLedgerTest, CloseFoldsTheWalIntoTheFile) {
  std::unique_ptr<AlertLedger> ledger = Open();
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  ASSERT_THAT(ledger->Close(), IsOk());
  std::error_code ec;
  EXPECT_TRUE(!std::filesystem::exists(FilePath() + "-wal", ec) ||
              std::filesystem::file_size(FilePath() + "-wal", ec) == 0);
}

TEST_F(SqliteLedgerTest, MigratesAVersion1File) {
  std::vector<std::string> ids;
  {
    // A file as a version-1 needlecheckd left it, with data.
    std::unique_ptr<sqlite::Connection> db = Raw();
    ASSERT_THAT(db->Exec("PRAGMA journal_mode = WAL"), IsOk());
    ASSERT_THAT(internal::MigrateTo(*db, FilePath(), 1), IsOk());
    ASSERT_EQ(*db->PragmaInt("user_version"), 1);
    ASSERT_THAT(
        db->Exec("INSERT INTO screenings (id, request_id, screened_at_us, "
                 "screened_day, patient_id, kb_version) VALUES (1, 'r', 0, "
                 "'2026-01-02', 'p', 'v'); INSERT INTO alerts VALUES "
                 "('old-alert', 1, 'R-OLD', 3, '2026-01-02')"),
        IsOk());
    EXPECT_EQ(Count("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                    "'alerts_by_day_rule'"),
              0);
  }
  std::unique_ptr<AlertLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(*Raw()->PragmaInt("user_version"), internal::LatestSchemaVersion());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sqlite_master WHERE name = "
                  "'alert_days'"),
            1);
  ASSERT_THAT(ledger->RecordFeedback(Feedback("old-alert", kOverridden,
                                              "2026-01-02T09:00:00Z", "y")),
              IsOk());
  GetAlertStatsRequest request;
  request.set_from_date("2026-01-01");
  request.set_to_date("2026-01-31");
  absl::StatusOr<AlertStats> stats = ledger->GetAlertStats(request);
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->rules_size(), 1);
  EXPECT_EQ(stats->rules(0).rule_id(), "R-OLD");
  EXPECT_EQ(stats->rules(0).overridden(), 1);
  EXPECT_EQ(stats->screenings(), 1);
}

TEST_F(SqliteLedgerTest, MigratesAVersion3FileIntoPerDayCounts) {
  {
    // A file as a version-3 needlecheckd left it: three screenings on two
    // days, four alerts, and feedback on two of them (the second alert has
    // two answers: the later one counts).
    std::unique_ptr<sqlite::Connection> db = Raw();
    ASSERT_THAT(db->Exec("PRAGMA journal_mode = WAL"), IsOk());
    ASSERT_THAT(internal::MigrateTo(*db, FilePath(), 3), IsOk());
    ASSERT_EQ(*db->PragmaInt("user_version"), 3);
    ASSERT_THAT(
        db->Exec(
            "INSERT INTO screenings (id, request_id, screened_at_us, "
            "screened_day, patient_id, kb_version) VALUES "
            "(1, 'r1', 0, '2026-01-02', 'p', 'v'), "
            "(2, 'r2', 0, '2026-01-02', 'p', 'v'), "
            "(3, 'r3', 0, '2026-01-05', 'q', 'v'); "
            "INSERT INTO alerts VALUES "
            "('a1', 1, 'R-A', 3, '2026-01-02'), "
            "('a2', 1, 'R-B', 2, '2026-01-02'), "
            "('a3', 2, 'R-A', 3, '2026-01-02'), "
            "('a4', 3, 'R-A', 1, '2026-01-05'); "
            "INSERT INTO feedback (feedback_id, alert_id, outcome, "
            "outcome_timestamp, outcome_at_us, reason_code, recorded_at_us) "
            "VALUES ('f1', 'a1', 2, '2026-01-02T09:00:00Z', 1, 'c1', 1), "
            "('f2', 'a4', 1, '2026-01-05T09:00:00Z', 1, '', 1), "
            "('f3', 'a4', 2, '2026-01-05T10:00:00Z', 2, 'c2', 1)"),
        IsOk());
  }
  std::unique_ptr<AlertLedger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(*Raw()->PragmaInt("user_version"), internal::LatestSchemaVersion());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM feedback WHERE issued_day = ''"), 0);
  // Nothing but the primary keys is left to write per screening and alert.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' "
                  "AND tbl_name IN ('screenings', 'alerts') AND sql IS NOT "
                  "NULL"),
            0);

  auto stats_of = [&](const std::string& from, const std::string& to) {
    GetAlertStatsRequest request;
    request.set_from_date(from);
    request.set_to_date(to);
    absl::StatusOr<AlertStats> stats = ledger->GetAlertStats(request);
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? *stats : AlertStats();
  };
  AlertStats all = stats_of("2026-01-01", "2026-01-31");
  EXPECT_EQ(all.screenings(), 3);
  ASSERT_EQ(all.rules_size(), 2);
  EXPECT_EQ(all.rules(0).rule_id(), "R-A");
  EXPECT_EQ(all.rules(0).fired(), 3);
  EXPECT_EQ(all.rules(0).critical(), 2);
  EXPECT_EQ(all.rules(0).info(), 1);
  EXPECT_EQ(all.rules(0).accepted(), 0);
  EXPECT_EQ(all.rules(0).overridden(), 2);  // a1, and a4's later answer
  ASSERT_EQ(all.rules(0).top_override_reasons_size(), 2);
  EXPECT_EQ(all.rules(0).top_override_reasons(0).reason(), "c1");
  EXPECT_EQ(all.rules(1).rule_id(), "R-B");
  EXPECT_EQ(all.rules(1).fired(), 1);
  EXPECT_EQ(all.rules(1).warning(), 1);

  AlertStats second_day = stats_of("2026-01-05", "2026-01-05");
  EXPECT_EQ(second_day.screenings(), 1);
  ASSERT_EQ(second_day.rules_size(), 1);
  EXPECT_EQ(second_day.rules(0).fired(), 1);
  EXPECT_EQ(second_day.rules(0).overridden(), 1);

  // New screenings add to the migrated counts.
  ASSERT_THAT(ledger->RecordScreening(Screening(
                  absl::FromCivil(absl::CivilSecond(2026, 1, 5, 8, 0, 0),
                                  absl::UTCTimeZone()),
                  {{"R-A", kInfo}, {"R-C", kWarning}})),
              IsOk());
  AlertStats after = stats_of("2026-01-05", "2026-01-05");
  EXPECT_EQ(after.screenings(), 2);
  ASSERT_EQ(after.rules_size(), 2);
  EXPECT_EQ(after.rules(0).fired(), 2);
  EXPECT_EQ(after.rules(0).info(), 2);
  EXPECT_EQ(after.rules(1).rule_id(), "R-C");
}

// The per-day counts are written in the transaction of the rows they
// count, so they always agree with the rows, across midnight too (one
// batch holding screenings of two days).
TEST_F(SqliteLedgerTest, PerDayCountsAgreeWithTheRows) {
  std::unique_ptr<AlertLedger> ledger = Open();
  const absl::Time midnight =
      absl::FromCivil(absl::CivilDay(2026, 11, 24), absl::UTCTimeZone());
  for (int i = 0; i < 6; ++i) {
    const absl::Time at = midnight + absl::Seconds(i - 3);
    ASSERT_THAT(
        ledger->RecordScreening(Screening(
            at, {{"R-A", kCritical}, {i % 2 == 0 ? "R-B" : "R-A", kWarning}})),
        IsOk());
  }
  ASSERT_THAT(ledger->Flush(), IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(midnight, {{"R-B", kInfo}})),
              IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT screened_day AS day, "
                  "COUNT(*) AS n FROM screenings GROUP BY 1 EXCEPT SELECT "
                  "day, screenings FROM screening_days)"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT day, screenings FROM "
                  "screening_days EXCEPT SELECT screened_day, COUNT(*) FROM "
                  "screenings GROUP BY 1)"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT issued_day, rule_id, "
                  "severity, COUNT(*) FROM alerts GROUP BY 1, 2, 3 EXCEPT "
                  "SELECT day, rule_id, severity, alerts FROM alert_days)"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM (SELECT day, rule_id, severity, "
                  "alerts FROM alert_days EXCEPT SELECT issued_day, rule_id, "
                  "severity, COUNT(*) FROM alerts GROUP BY 1, 2, 3)"),
            0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screening_days"), 2);
  EXPECT_EQ(Count("SELECT screenings FROM screening_days WHERE day = "
                  "'2026-11-24'"),
            4);
}

TEST_F(SqliteLedgerTest, MigrationStepsAreOrderedAndComplete) {
  const std::vector<internal::Migration>& steps = internal::Migrations();
  ASSERT_FALSE(steps.empty());
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_EQ(steps[i].version, static_cast<int>(i) + 1);
  }
  EXPECT_EQ(internal::LatestSchemaVersion(), steps.back().version);
}

TEST_F(SqliteLedgerTest, RefusesAFileFromANewerVersion) {
  {
    std::unique_ptr<AlertLedger> ledger = Open();
    ASSERT_THAT(ledger->Close(), IsOk());
  }
  const int newer = internal::LatestSchemaVersion() + 1;
  ASSERT_THAT(Raw()->Exec(absl::StrCat("PRAGMA user_version = ", newer)),
              IsOk());
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(FilePath()),
                             HasSubstr(absl::StrCat("schema version ", newer)),
                             HasSubstr("newer"))));
  EXPECT_EQ(*Raw()->PragmaInt("user_version"), newer);  // left untouched
}

TEST_F(SqliteLedgerTest, RefusesASqliteFileThatIsNotALedger) {
  ASSERT_THAT(Raw()->Exec("CREATE TABLE patients (id TEXT)"), IsOk());
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a needlecheck ledger")));
}

TEST_F(SqliteLedgerTest, RefusesAFileThatIsNotSqlite) {
  {
    std::FILE* f = std::fopen(FilePath().c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        "this is not a database, just some text long enough .......\n"
        "................................................................\n",
        f);
    std::fclose(f);
  }
  EXPECT_THAT(OpenSqliteLedger(Options()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(FilePath())));
}

TEST_F(SqliteLedgerTest, MissingFolderIsUnavailable) {
  SqliteLedgerOptions options = Options();
  options.data_dir = dir_.path() + "/does/not/exist";
  EXPECT_THAT(
      OpenSqliteLedger(options),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot open")));
}

TEST_F(SqliteLedgerTest, InvalidOptions) {
  SqliteLedgerOptions options;
  EXPECT_THAT(
      OpenSqliteLedger(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("data_dir")));
  options = Options();
  options.flush_window = -absl::Milliseconds(1);
  EXPECT_THAT(
      OpenSqliteLedger(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("flush_window")));
  options = Options();
  options.max_queued_screenings = 0;
  EXPECT_THAT(OpenSqliteLedger(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_queued_screenings")));
  options = Options();
  options.integrity_check_time_limit = absl::InfiniteDuration();
  EXPECT_THAT(OpenSqliteLedger(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("integrity_check_time_limit")));
}

// While another connection holds the write lock, the batch fails and is
// retried; meanwhile screenings, feedback and statistics are refused at
// once (never queued behind the disk, never dropped silently); once the
// lock is gone the writer recovers and everything accepted is committed.
TEST_F(SqliteLedgerTest, FailingWritesRefuseAtOnceAndRecover) {
  SqliteLedgerOptions options = Options();
  options.flush_window = absl::ZeroDuration();
  options.busy_timeout = absl::ZeroDuration();
  std::atomic<int> write_errors{0};
  options.on_write_error = [&](const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    ++write_errors;
  };
  absl::Notification recovered;
  options.on_write_recovered = [&](absl::Duration failing_for,
                                   int64_t failed_attempts) {
    EXPECT_GE(failed_attempts, 1);
    EXPECT_GT(failing_for, absl::ZeroDuration());
    recovered.Notify();
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  std::unique_ptr<sqlite::Connection> blocker = Raw();
  ASSERT_THAT(blocker->Exec("BEGIN IMMEDIATE"), IsOk());

  std::vector<std::string> ids;
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}}, &ids)),
              IsOk());
  EXPECT_THAT(ledger->Flush(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_GE(write_errors.load(), 1);
  EXPECT_TRUE(ledger->Counters().writes_failing);

  EXPECT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot write at the moment")));
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kAccepted, "2026-11-23T10:01:00Z", "")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot write at the moment")));
  EXPECT_THAT(ledger->GetAlertStats({}),
              StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_THAT(blocker->Exec("ROLLBACK"), IsOk());
  ASSERT_TRUE(recovered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_FALSE(ledger->Counters().writes_failing);
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kAccepted, "2026-11-23T10:01:00Z", "")),
              IsOk());
  const LedgerCounters counters = ledger->Counters();
  EXPECT_EQ(counters.screenings_queued, 2);
  EXPECT_EQ(counters.screenings_committed, 2);
  EXPECT_EQ(counters.screenings_refused, 1);
  EXPECT_EQ(counters.feedback_refused, 1);
  EXPECT_EQ(counters.feedback_recorded, 1);
  EXPECT_GE(counters.batch_write_failures, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 2);
}

// While writes fail (SQLite: a full disk; PostgreSQL: the server stopped),
// the queued batch is retried, feedback and statistics are refused at once
// (never waiting for the database), screenings are refused (SQLite) or
// keep queueing (PostgreSQL, up to the queue bound); once writes work
// again everything accepted is committed and feedback works.
TEST_P(LedgerContractTest, WritesFailingRefuseAtOnceAndRecover) {
  LedgerTestConfig options = Options();
  options.flush_window = absl::ZeroDuration();
  std::atomic<int> write_errors{0};
  options.on_write_error = [&](const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    ++write_errors;
  };
  absl::Notification recovered;
  options.on_write_recovered = [&](absl::Duration failing_for,
                                   int64_t failed_attempts) {
    EXPECT_GE(failed_attempts, 1);
    EXPECT_GT(failing_for, absl::ZeroDuration());
    recovered.Notify();
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  std::vector<std::string> ids;
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}}, &ids)),
              IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  // A pooled connection exists before the outage (PostgreSQL): it dies.
  ASSERT_THAT(ledger->GetAlertStats({}), IsOk());

  ASSERT_THAT(backend_->BreakWrites(), IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  EXPECT_THAT(ledger->Flush(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_GE(write_errors.load(), 1);
  EXPECT_TRUE(ledger->Counters().writes_failing);
  const absl::Time before = absl::Now();
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kAccepted, "2026-11-23T10:01:00Z", "")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot write at the moment")));
  EXPECT_THAT(ledger->GetAlertStats({}),
              StatusIs(absl::StatusCode::kUnavailable));
  // At once: no wait for the database (generous for a busy machine).
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  const absl::Status third =
      ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}}));
  if (GetParam() == Backend::kSqlite) {
    EXPECT_THAT(third, StatusIs(absl::StatusCode::kUnavailable,
                                HasSubstr("cannot write at the moment")));
  } else {
    EXPECT_THAT(third, IsOk());  // queued through the outage
  }

  ASSERT_THAT(backend_->RestoreWrites(), IsOk());
  ASSERT_TRUE(recovered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_FALSE(ledger->Counters().writes_failing);
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kAccepted, "2026-11-23T10:01:00Z", "")),
              IsOk());
  absl::StatusOr<AlertStats> stats = ledger->GetAlertStats({});
  ASSERT_THAT(stats, IsOk());
  const int64_t accepted = third.ok() ? 4 : 3;
  EXPECT_EQ(stats->screenings(), accepted);
  const LedgerCounters counters = ledger->Counters();
  EXPECT_EQ(counters.screenings_queued, accepted);
  EXPECT_EQ(counters.screenings_committed, accepted);
  EXPECT_EQ(counters.screenings_refused, third.ok() ? 0 : 1);
  EXPECT_EQ(counters.feedback_refused, 1);
  EXPECT_EQ(counters.feedback_recorded, 1);
  EXPECT_GE(counters.batch_write_failures, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), accepted);
}

// A full queue (a slow disk) refuses at once instead of blocking.
TEST_P(LedgerContractTest, FullQueueRefusesAtOnce) {
  LedgerTestConfig options = Options();  // the window never ends
  options.max_queued_screenings = 2;
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  EXPECT_THAT(
      ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
      StatusIs(absl::StatusCode::kUnavailable, HasSubstr("queue is full")));
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_EQ(ledger->Counters().screenings_refused, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 2);
}

// The test-only fault file fails writes like a full disk while it exists.
TEST_F(SqliteLedgerTest, InjectedFaultFileFailsWritesWhileItExists) {
  SqliteLedgerOptions options = Options();
  options.flush_window = absl::ZeroDuration();
  options.fail_writes_while_exists = dir_.Path("fault");
  absl::Notification recovered;
  options.on_write_recovered = [&](absl::Duration, int64_t) {
    recovered.Notify();
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  std::vector<std::string> ids;
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}}, &ids)),
              IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  ASSERT_FALSE(dir_.WriteFile("fault", "on").empty());
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kAccepted, "2026-11-23T10:01:00Z", "")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("injected")));
  ASSERT_THAT(ledger->RecordScreening(Screening(kDay1, {{"R", kInfo}})),
              IsOk());
  EXPECT_THAT(ledger->Flush(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("injected")));
  EXPECT_TRUE(ledger->Counters().writes_failing);
  std::filesystem::remove(dir_.Path("fault"));
  ASSERT_TRUE(recovered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], kAccepted, "2026-11-23T10:01:00Z", "")),
              IsOk());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM screenings"), 2);
}

TEST_P(LedgerContractTest, ConcurrentScreeningsFeedbackAndStats) {
  LedgerTestConfig options = Options();
  options.flush_window = absl::Milliseconds(5);
  std::unique_ptr<AlertLedger> ledger = Open(options);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::vector<std::string> ids;
        if (!ledger->RecordScreening(Screening(kDay1, {{"R", kWarning}}, &ids))
                 .ok()) {
          ++failures;
          continue;
        }
        const auto outcome = (i % 2 == 0) ? kAccepted : kOverridden;
        if (!ledger
                 ->RecordFeedback(
                     Feedback(ids[0], outcome, "2026-11-23T10:01:00Z", "why"))
                 .ok()) {
          ++failures;
        }
        if (t == 0 && i % 10 == 0 && !ledger->GetAlertStats({}).ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  absl::StatusOr<AlertStats> stats = ledger->GetAlertStats({});
  ASSERT_THAT(stats, IsOk());
  ASSERT_EQ(stats->rules_size(), 1);
  EXPECT_EQ(stats->rules(0).fired(), kThreads * kPerThread);
  EXPECT_EQ(stats->rules(0).accepted(), kThreads * kPerThread / 2);
  EXPECT_EQ(stats->rules(0).overridden(), kThreads * kPerThread / 2);
  EXPECT_DOUBLE_EQ(stats->rules(0).override_rate(), 0.5);
}

}  // namespace
}  // namespace needlecheck::ledger
