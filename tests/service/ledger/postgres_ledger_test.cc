// What only the PostgreSQL ledger does (the shared contract runs in
// sqlite_ledger_test.cc and access_log_test.cc on both backends): two
// ledgers on one database (feedback through the other replica, also within
// its flush window; statistics over the whole fleet), many ledgers opening
// at once (exactly one migrates), a newer or foreign schema refused, the
// server stopped under load (feedback refused at once, screenings queued
// up to their bound, everything committed after the restart), passwords
// (a password file works; a DSN carrying one is refused without being
// quoted), text PostgreSQL cannot store (NUL, bad UTF-8) not poisoning a
// batch.
#include "service/ledger/postgres_ledger.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/ids/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::ledger {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::PostgresCluster;
using ::needlecheck::testing::StatusIs;
using ::needlecheck::v1::AlertStats;
using ::needlecheck::v1::RecordFeedbackRequest;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kDay1 = absl::FromCivil(
    absl::CivilSecond(2026, 11, 23, 10, 0, 0), absl::UTCTimeZone());

class PostgresLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
    absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
        PostgresCluster::Create();
    ASSERT_THAT(pg, IsOk());
    pg_ = *std::move(pg);
  }

  PostgresLedgerOptions Options() const {
    PostgresLedgerOptions options;
    options.dsn = pg_->Dsn();
    options.open_timeout = absl::Seconds(10);
    return options;
  }

  std::unique_ptr<AlertLedger> Open(const PostgresLedgerOptions& options) {
    absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
        OpenPostgresLedger(options);
    EXPECT_THAT(ledger, IsOk());
    return ledger.ok() ? *std::move(ledger) : nullptr;
  }

  std::string Sql(const std::string& sql) {
    absl::StatusOr<std::string> out = pg_->Sql(sql);
    EXPECT_THAT(out, IsOk()) << sql;
    return out.ok() ? *out : "";
  }

  std::unique_ptr<PostgresCluster> pg_;
};

ScreeningRecord OneAlert(const std::string& rule, std::string* id) {
  absl::StatusOr<std::string> alert_id = ids::NewUuidV4();
  EXPECT_THAT(alert_id, IsOk());
  *id = alert_id.ok() ? *alert_id : "";
  ScreeningRecord s;
  s.request_id = "req";
  s.screened_at = kDay1;
  s.patient_id = "PATIENT-SECRET-7";
  s.knowledge_base_version = "2026.11.1";
  s.alerts.push_back({*id, rule, needlecheck::v1::SEVERITY_WARNING});
  return s;
}

RecordFeedbackRequest Feedback(const std::string& alert_id,
                               needlecheck::v1::FeedbackOutcome outcome) {
  RecordFeedbackRequest request;
  request.set_alert_id(alert_id);
  request.set_outcome(outcome);
  request.set_outcome_timestamp("2026-11-23T10:05:00Z");
  return request;
}

TEST_F(PostgresLedgerTest, FeedbackThroughAnotherReplicaAndFleetStats) {
  PostgresLedgerOptions options = Options();
  options.flush_window = absl::Milliseconds(300);  // grace: 700 ms
  std::unique_ptr<AlertLedger> a = Open(options);
  std::unique_ptr<AlertLedger> b = Open(options);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  // Committed alert: B finds it at once.
  std::string committed;
  ASSERT_THAT(a->RecordScreening(OneAlert("R1", &committed)), IsOk());
  ASSERT_THAT(a->Flush(), IsOk());
  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> first =
      b->RecordFeedback(
          Feedback(committed, needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED));
  ASSERT_THAT(first, IsOk());
  EXPECT_EQ(first->rule_id(), "R1");
  // The same feedback through A: a duplicate with B's feedback id.
  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> again =
      a->RecordFeedback(
          Feedback(committed, needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->duplicate());
  EXPECT_EQ(again->feedback_id(), first->feedback_id());

  // Still in A's write queue (its flush window): B waits for it.
  std::string queued;
  ASSERT_THAT(a->RecordScreening(OneAlert("R2", &queued)), IsOk());
  ASSERT_EQ(Sql(absl::StrCat("SELECT COUNT(*) FROM alerts WHERE alert_id = '",
                             queued, "'")),
            "0");
  EXPECT_THAT(b->RecordFeedback(Feedback(
                  queued, needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN)),
              IsOk());

  // Never issued: NOT_FOUND, but only after the grace.
  absl::StatusOr<std::string> unknown = ids::NewUuidV4();
  ASSERT_THAT(unknown, IsOk());
  const absl::Time start = absl::Now();
  EXPECT_THAT(b->RecordFeedback(Feedback(
                  *unknown, needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(700));

  // Statistics over every replica's rows, the same from both.
  std::string own;
  ASSERT_THAT(b->RecordScreening(OneAlert("R1", &own)), IsOk());
  absl::StatusOr<AlertStats> from_b = b->GetAlertStats({});
  ASSERT_THAT(from_b, IsOk());
  absl::StatusOr<AlertStats> from_a = a->GetAlertStats({});
  ASSERT_THAT(from_a, IsOk());
  EXPECT_EQ(from_a->SerializeAsString(), from_b->SerializeAsString());
  EXPECT_EQ(from_a->screenings(), 3);
  ASSERT_EQ(from_a->rules_size(), 2);
  EXPECT_EQ(from_a->rules(0).fired(), 2);
  EXPECT_EQ(from_a->rules(0).accepted(), 1);
  EXPECT_EQ(from_a->rules(1).overridden(), 1);
}

TEST_F(PostgresLedgerTest, ManyLedgersOpeningAtOnceMigrateOnce) {
  constexpr int kLedgers = 6;
  std::vector<PostgresOpenReport> reports(kLedgers);
  std::vector<absl::Status> results(kLedgers);
  std::vector<std::unique_ptr<AlertLedger>> ledgers(kLedgers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kLedgers; ++i) {
    threads.emplace_back([&, i] {
      absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
          OpenPostgresLedger(Options(), &reports[i]);
      results[i] = ledger.status();
      if (ledger.ok()) ledgers[i] = *std::move(ledger);
    });
  }
  for (std::thread& t : threads) t.join();
  int migrated = 0;
  for (int i = 0; i < kLedgers; ++i) {
    EXPECT_THAT(results[i], IsOk());
    EXPECT_EQ(reports[i].schema_version, LatestPostgresSchemaVersion());
    if (reports[i].migrated) {
      ++migrated;
      EXPECT_EQ(reports[i].schema_version_before, 0);
    }
  }
  EXPECT_EQ(migrated, 1);
  EXPECT_EQ(Sql("SELECT version FROM needlecheck_schema_version"),
            absl::StrCat(LatestPostgresSchemaVersion()));
}

// The operator's setup (README): a login role owning its database needs
// nothing else; a role without CREATE on the schema cannot migrate.
TEST_F(PostgresLedgerTest, RoleOwningTheDatabaseSufficesOthersAreRefused) {
  ASSERT_THAT(pg_->Sql("CREATE ROLE needlecheck LOGIN"), IsOk());
  ASSERT_THAT(pg_->Sql("CREATE DATABASE ledger OWNER needlecheck"), IsOk());
  ASSERT_THAT(pg_->Sql("CREATE ROLE stranger LOGIN"), IsOk());
  PostgresLedgerOptions options = Options();
  options.dsn = absl::StrCat("host=127.0.0.1 port=", pg_->Port(),
                             " dbname=ledger user=stranger");
  EXPECT_THAT(
      OpenPostgresLedger(options),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("42501")));
  options.dsn = absl::StrCat("host=127.0.0.1 port=", pg_->Port(),
                             " dbname=ledger user=needlecheck");
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  std::string id;
  ASSERT_THAT(ledger->RecordScreening(OneAlert("R", &id)), IsOk());
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(id, needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              IsOk());
  EXPECT_THAT(ledger->access_log()->PruneExpired(), IsOk());
}

TEST_F(PostgresLedgerTest, RefusesANewerSchemaAndForeignTables) {
  {
    std::unique_ptr<AlertLedger> ledger = Open(Options());
    ASSERT_NE(ledger, nullptr);
    ASSERT_THAT(ledger->Close(), IsOk());
  }
  const int newer = LatestPostgresSchemaVersion() + 1;
  Sql(absl::StrCat("UPDATE needlecheck_schema_version SET version = ", newer));
  EXPECT_THAT(OpenPostgresLedger(Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(absl::StrCat("schema version ", newer)),
                             HasSubstr("newer"))));
  EXPECT_EQ(Sql("SELECT version FROM needlecheck_schema_version"),
            absl::StrCat(newer));  // left untouched

  ASSERT_THAT(pg_->Sql("CREATE DATABASE other"), IsOk());
  ASSERT_THAT(pg_->Sql("CREATE TABLE alerts (x int)", "other"), IsOk());
  PostgresLedgerOptions other = Options();
  other.dsn = pg_->Dsn("other");
  EXPECT_THAT(OpenPostgresLedger(other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not a needlecheck ledger")));
}

// The server stops while screenings and feedback keep coming: feedback is
// refused at once, screenings queue up to their bound and are then
// refused (counted), nothing acknowledged is lost after the restart.
TEST_F(PostgresLedgerTest, ServerStoppedUnderLoadThenStartedAgain) {
  PostgresLedgerOptions options = Options();
  options.flush_window = absl::Milliseconds(20);
  options.max_queued_screenings = 25;
  absl::Notification recovered;
  options.on_write_recovered = [&](absl::Duration, int64_t) {
    recovered.Notify();
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  std::vector<std::string> ids(5);
  for (std::string& id : ids) {
    ASSERT_THAT(ledger->RecordScreening(OneAlert("R", &id)), IsOk());
  }
  ASSERT_THAT(ledger->RecordFeedback(
                  Feedback(ids[0], needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              IsOk());

  ASSERT_THAT(pg_->Stop("immediate"), IsOk());
  // Feed screenings until the bound refuses them (bounded loop).
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 200 && refused < 5; ++i) {
    std::string id;
    if (ledger->RecordScreening(OneAlert("R", &id)).ok()) {
      ++accepted;
    } else {
      ++refused;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(accepted, 25);
  EXPECT_EQ(refused, 5);
  EXPECT_EQ(ledger->Counters().screenings_refused, 5);
  EXPECT_TRUE(ledger->Counters().writes_failing);
  const absl::Time before = absl::Now();
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[1], needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ledger->GetAlertStats({}),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));

  ASSERT_THAT(pg_->Start(), IsOk());
  ASSERT_TRUE(recovered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM screenings"), absl::StrCat(5 + accepted));
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM alerts"), absl::StrCat(5 + accepted));
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(ids[1], needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              IsOk());
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM feedback"), "2");
  EXPECT_THAT(ledger->Close(), IsOk());
}

// A hung server (accepts connections, never answers): calls fail within
// their deadline instead of hanging, and everything resumes after.
TEST_F(PostgresLedgerTest, HungServerFailsCallsWithinTheirDeadline) {
  PostgresLedgerOptions options = Options();
  options.flush_window = absl::Milliseconds(20);
  options.statement_timeout = absl::Seconds(2);  // answers within 3 s
  options.connect_timeout = absl::Seconds(2);
  absl::Notification recovered;
  options.on_write_recovered = [&](absl::Duration, int64_t) {
    recovered.Notify();
  };
  std::unique_ptr<AlertLedger> ledger = Open(options);
  ASSERT_NE(ledger, nullptr);
  std::string id;
  ASSERT_THAT(ledger->RecordScreening(OneAlert("R", &id)), IsOk());
  ASSERT_THAT(ledger->RecordFeedback(
                  Feedback(id, needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              IsOk());

  ASSERT_THAT(pg_->Pause(), IsOk());
  absl::Time start = absl::Now();
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(id, needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN)),
              StatusIs(absl::StatusCode::kUnavailable));
  // Bounded by the deadline (3 s here); generous for a busy machine.
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  ASSERT_THAT(ledger->RecordScreening(OneAlert("R", &id)), IsOk());
  start = absl::Now();
  EXPECT_THAT(ledger->Flush(), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  ASSERT_THAT(pg_->Resume(), IsOk());

  ASSERT_TRUE(recovered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_THAT(ledger->RecordFeedback(
                  Feedback(id, needlecheck::v1::FEEDBACK_OUTCOME_OVERRIDDEN)),
              IsOk());
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM alerts"), "2");
}

TEST_F(PostgresLedgerTest, OpenRetriesUntilTheServerIsUp) {
  ASSERT_THAT(pg_->Stop("fast"), IsOk());
  PostgresLedgerOptions options = Options();
  options.open_timeout = absl::Seconds(60);
  std::atomic<int> retries{0};
  options.on_open_retry = [&](const absl::Status& s, absl::Duration) {
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
    ++retries;
  };
  std::thread starter([&] {
    while (retries.load() < 2) absl::SleepFor(absl::Milliseconds(10));
    EXPECT_THAT(pg_->Start(), IsOk());
  });
  PostgresOpenReport report;
  absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
      OpenPostgresLedger(options, &report);
  starter.join();
  ASSERT_THAT(ledger, IsOk());
  EXPECT_GE(report.connect_attempts, 3);

  // Gives up after open_timeout.
  ASSERT_THAT((*ledger)->Close(), IsOk());
  ASSERT_THAT(pg_->Stop("fast"), IsOk());
  options.open_timeout = absl::Milliseconds(300);
  options.on_open_retry = nullptr;
  EXPECT_THAT(OpenPostgresLedger(options),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot connect to PostgreSQL")));
}

TEST(PostgresPasswordTest, PasswordWorksAndIsNeverInTheDsn) {
  NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
  PostgresCluster::Options cluster_options;
  cluster_options.password = "correct-horse-battery";
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create(cluster_options);
  ASSERT_THAT(pg, IsOk());
  PostgresLedgerOptions options;
  options.dsn = (*pg)->Dsn();
  options.open_timeout = absl::Seconds(5);
  // Without the password: refused at once, not retried.
  EXPECT_THAT(
      OpenPostgresLedger(options),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("password")));
  options.password = "wrong-password-123";
  absl::StatusOr<std::unique_ptr<AlertLedger>> wrong =
      OpenPostgresLedger(options);
  EXPECT_THAT(wrong, StatusIs(absl::StatusCode::kPermissionDenied,
                              Not(HasSubstr("wrong-password-123"))));
  options.password = "correct-horse-battery";
  absl::StatusOr<std::unique_ptr<AlertLedger>> ledger =
      OpenPostgresLedger(options);
  ASSERT_THAT(ledger, IsOk());
  std::string id;
  ASSERT_THAT((*ledger)->RecordScreening(OneAlert("R", &id)), IsOk());
  EXPECT_THAT((*ledger)->RecordFeedback(
                  Feedback(id, needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED)),
              IsOk());

  // A DSN carrying a password is refused, and never quoted.
  for (const std::string& dsn :
       {absl::StrCat((*pg)->Dsn(), " password=hunter2-secret"),
        std::string("postgresql://postgres:hunter2-secret@127.0.0.1:5432/db"),
        std::string("host=x password='hunter2-secret' dbname=y")}) {
    options.dsn = dsn;
    EXPECT_THAT(
        OpenPostgresLedger(options),
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr("password"), Not(HasSubstr("hunter2")))))
        << dsn;
    EXPECT_THAT(CheckDsnHasNoPassword(dsn),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(DsnForLogs(dsn), Not(HasSubstr("hunter2"))) << dsn;
  }
  EXPECT_THAT(CheckDsnHasNoPassword((*pg)->Dsn()), IsOk());
  EXPECT_THAT(DsnForLogs("host=h port=5 dbname=d user=u"),
              AllOf(HasSubstr("host=h"), HasSubstr("dbname=d")));
  EXPECT_THAT(DsnForLogs("host=h application_name='a b'"),
              HasSubstr("application_name='a b'"));
  EXPECT_THAT(CheckDsnHasNoPassword("host=h 'unbalanced"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// PostgreSQL text holds no NUL and only valid UTF-8: such values are
// stored with U+FFFD instead of failing the batch for ever.
TEST_F(PostgresLedgerTest, TextPostgresCannotStoreDoesNotPoisonABatch) {
  std::unique_ptr<AlertLedger> ledger = Open(Options());
  ASSERT_NE(ledger, nullptr);
  std::string id;
  ScreeningRecord s = OneAlert("R", &id);
  s.patient_id = std::string("pat\0ient\xff", 9);
  ASSERT_THAT(ledger->RecordScreening(s), IsOk());
  AccessEntry entry;
  entry.at = kDay1;
  entry.caller = std::string("bad\xc3", 4);
  entry.action = "Screen";
  entry.outcome = "OK";
  ASSERT_THAT(ledger->access_log()->RecordAccess(entry), IsOk());
  ASSERT_THAT(ledger->Flush(), IsOk());
  EXPECT_EQ(Sql("SELECT patient_id FROM screenings"),
            "pat\xEF\xBF\xBDient\xEF\xBF\xBD");
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM access_log"), "1");
}

TEST(PostgresOptionsTest, InvalidOptionsNameTheField) {
  PostgresLedgerOptions options;
  EXPECT_THAT(ValidatePostgresLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dsn")));
  options.dsn = "host=127.0.0.1";
  EXPECT_THAT(ValidatePostgresLedgerOptions(options), IsOk());
  options.pool_size = 0;
  EXPECT_THAT(
      ValidatePostgresLedgerOptions(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("pool_size")));
  options.pool_size = 4;
  options.unknown_alert_grace = -absl::Seconds(1);
  EXPECT_THAT(ValidatePostgresLedgerOptions(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown_alert_grace")));
}

}  // namespace
}  // namespace needlecheck::ledger
