// Integration tests of the alert ledger: the real needlecheckd on
// 127.0.0.1:0 with a fresh --data_dir, driven over real gRPC.
//   - Screen gives every alert a unique alert_id;
//   - RecordFeedback shows up in GetAlertStats; errors name fields;
//   - feedback survives a restart on the same --data_dir, and a SIGKILL;
//   - SIGTERM while client threads screen and send feedback: every
//     acknowledged feedback and every acknowledged alert is in the ledger
//     file afterwards (read with SQLite, read-only) and in the statistics of
//     a restarted server;
//   - a ledger from a newer needlecheckd stops the start-up clearly;
//   - no patient id or feedback comment in the server's log.
// No timing assertions, no sleeps: every wait is a bounded wait for an
// event (a log line, a counter, process exit).
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/integration/ledger_client.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::v1::AlertStats;
using ::needlecheck::v1::GetAlertStatsRequest;
using ::needlecheck::v1::RecordFeedbackRequest;
using ::needlecheck::v1::RecordFeedbackResponse;
using ::needlecheck::v1::RuleStats;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPatientSecret =
    ::needlecheck::testing::kLedgerPatientSecret;

using Client = ::needlecheck::testing::LedgerClient;
using ::needlecheck::testing::AlertingRequest;
using ::needlecheck::testing::Feedback;
using TempDir = ::needlecheck::testing::ScopedTempDir;

std::vector<std::string> ViolatedFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  for (const google::protobuf::Any& any : rpc.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) {
      fields.push_back(v.field());
    }
  }
  return fields;
}

const RuleStats* FindRule(const AlertStats& stats, const std::string& id) {
  for (const RuleStats& rule : stats.rules()) {
    if (rule.rule_id() == id) return &rule;
  }
  return nullptr;
}

// Totals over every rule.
struct Totals {
  int64_t fired = 0;
  int64_t answered = 0;  // accepted + overridden
};
Totals Sum(const AlertStats& stats) {
  Totals t;
  for (const RuleStats& rule : stats.rules()) {
    t.fired += rule.fired();
    t.answered += rule.accepted() + rule.overridden();
  }
  return t;
}

// Read-only access to the ledger file of a stopped server.
class LedgerFile {
 public:
  explicit LedgerFile(const std::string& path) {
    const int rc =
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << path;
  }
  ~LedgerFile() { sqlite3_close_v2(db_); }

  // How many rows `sql` (with one text parameter) counts.
  int64_t Count(const char* sql, const std::string& param) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    sqlite3_bind_text(stmt, 1, param.data(), static_cast<int>(param.size()),
                      SQLITE_TRANSIENT);
    int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

class LedgerIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    binary_ = BinaryPath("service/needlecheckd");
    ASSERT_FALSE(binary_.empty());
    ASSERT_FALSE(dir_.path().empty());
    data_dir_ = dir_.path() + "/data";
  }

  std::unique_ptr<ServerProcess> Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--data_dir=" + data_dir_,
                                     "--drain_seconds=30"};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<std::unique_ptr<ServerProcess>> process =
        ServerProcess::Start(binary_, args);
    EXPECT_THAT(process, IsOk());
    return process.ok() ? *std::move(process) : nullptr;
  }

  // SIGTERM and the exit code. Callers drop their clients first (an idle
  // connection delays the graceful GOAWAY).
  int Stop(ServerProcess& server) {
    EXPECT_THAT(server.Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = server.WaitForExit(absl::Seconds(120));
    EXPECT_THAT(code, IsOk());
    return code.ok() ? *code : -1;
  }

  std::string LedgerPath() const { return data_dir_ + "/ledger.sqlite3"; }

  std::string binary_;
  TempDir dir_;
  std::string data_dir_;
};

TEST_F(LedgerIntegrationTest, ScreenGivesEveryAlertAUniqueId) {
  std::unique_ptr<ServerProcess> server = Start();
  ASSERT_NE(server, nullptr);
  Client client(server->address());
  absl::flat_hash_set<std::string> ids;
  int alerts = 0;
  for (int i = 0; i < 5; ++i) {
    ScreenResponse response;
    const grpc::Status status =
        client.Screen(AlertingRequest(absl::StrCat("ids-", i)), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    ASSERT_GE(response.alerts_size(), 2) << response.DebugString();
    for (const auto& alert : response.alerts()) {
      ++alerts;
      EXPECT_EQ(alert.alert_id().size(), 36u) << alert.rule_id();
      EXPECT_EQ(alert.alert_id()[14], '7') << alert.alert_id();
      ids.insert(alert.alert_id());
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(alerts));
  EXPECT_THAT(server->output(), HasSubstr("event=ledger_opened"));
}

TEST_F(LedgerIntegrationTest, FeedbackShowsInStatsAndErrorsNameFields) {
  std::unique_ptr<ServerProcess> server = Start();
  ASSERT_NE(server, nullptr);
  {
    Client client(server->address());
    ScreenResponse screened;
    ASSERT_TRUE(client.Screen(AlertingRequest("fb-1"), &screened).ok());
    ASSERT_GE(screened.alerts_size(), 2);
    const needlecheck::v1::Alert& first = screened.alerts(0);
    const needlecheck::v1::Alert& second = screened.alerts(1);

    // Right after the Screen (well inside the batch window).
    RecordFeedbackResponse recorded;
    grpc::Status status = client.RecordFeedback(
        Feedback(first.alert_id(), true, "2026-12-01T09:00:00Z"), &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(recorded.duplicate());
    RecordFeedbackResponse repeated;
    status = client.RecordFeedback(
        Feedback(first.alert_id(), true, "2026-12-01T10:00:00+01:00"),
        &repeated);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(repeated.duplicate());
    EXPECT_EQ(repeated.feedback_id(), recorded.feedback_id());
    status = client.RecordFeedback(
        Feedback(second.alert_id(), false, "2026-12-01T09:01:00Z"), &recorded);
    ASSERT_TRUE(status.ok()) << status.error_message();

    status =
        client.RecordFeedback(Feedback("00000000-0000-4000-8000-000000000000",
                                       false, "2026-12-01T09:00:00Z"),
                              &recorded);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
    RecordFeedbackRequest bad = Feedback(first.alert_id(), true, "yesterday");
    bad.clear_outcome();
    status = client.RecordFeedback(bad, &recorded);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(ViolatedFields(status),
                ::testing::ElementsAre("outcome", "outcome_timestamp"));

    AlertStats stats;
    status = client.GetAlertStats(GetAlertStatsRequest(), &stats);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(stats.screenings(), 1);
    const RuleStats* overridden = FindRule(stats, first.rule_id());
    ASSERT_NE(overridden, nullptr);
    EXPECT_EQ(overridden->fired(), 1);
    EXPECT_EQ(overridden->overridden(), 1);
    EXPECT_DOUBLE_EQ(overridden->override_rate(), 1.0);
    ASSERT_EQ(overridden->top_override_reasons_size(), 1);
    EXPECT_EQ(overridden->top_override_reasons(0).reason(),
              "Patient consented");
    const RuleStats* accepted = FindRule(stats, second.rule_id());
    ASSERT_NE(accepted, nullptr);
    EXPECT_EQ(accepted->accepted(), 1);

    GetAlertStatsRequest bad_stats;
    bad_stats.set_from_date("2026-02-30");
    status = client.GetAlertStats(bad_stats, &stats);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(ViolatedFields(status), Contains("from_date"));
  }
  EXPECT_EQ(Stop(*server), 0);
  // Patient data and comments never reach the log.
  EXPECT_THAT(server->output(), Not(HasSubstr(kPatientSecret)));
  EXPECT_THAT(server->output(), Not(HasSubstr("COMMENT-SECRET")));
  EXPECT_THAT(server->output(), Not(HasSubstr("Patient consented")));
  EXPECT_THAT(server->output(), HasSubstr("event=ledger_closed"));
}

TEST_F(LedgerIntegrationTest, FeedbackSurvivesARestart) {
  std::string alert_id;
  std::string rule_id;
  std::string feedback_id;
  {
    std::unique_ptr<ServerProcess> server = Start();
    ASSERT_NE(server, nullptr);
    {
      Client client(server->address());
      ScreenResponse screened;
      ASSERT_TRUE(client.Screen(AlertingRequest("restart-1"), &screened).ok());
      ASSERT_GE(screened.alerts_size(), 1);
      alert_id = screened.alerts(0).alert_id();
      rule_id = screened.alerts(0).rule_id();
      RecordFeedbackResponse recorded;
      const grpc::Status status = client.RecordFeedback(
          Feedback(alert_id, true, "2026-12-01T09:00:00Z"), &recorded);
      ASSERT_TRUE(status.ok()) << status.error_message();
      feedback_id = recorded.feedback_id();
    }
    ASSERT_EQ(Stop(*server), 0);
  }
  std::unique_ptr<ServerProcess> server = Start();
  ASSERT_NE(server, nullptr);
  Client client(server->address());
  AlertStats stats;
  GetAlertStatsRequest request;
  request.add_rule_ids(rule_id);
  ASSERT_TRUE(client.GetAlertStats(request, &stats).ok());
  ASSERT_EQ(stats.rules_size(), 1);
  EXPECT_EQ(stats.rules(0).fired(), 1);
  EXPECT_EQ(stats.rules(0).overridden(), 1);
  EXPECT_EQ(stats.screenings(), 1);
  // The same feedback again is recognised as already stored.
  RecordFeedbackResponse again;
  ASSERT_TRUE(client
                  .RecordFeedback(
                      Feedback(alert_id, true, "2026-12-01T09:00:00Z"), &again)
                  .ok());
  EXPECT_TRUE(again.duplicate());
  EXPECT_EQ(again.feedback_id(), feedback_id);
}

// A crash (SIGKILL: no drain, no flush) loses no acknowledged feedback:
// feedback is committed before it is acknowledged, and the alert it names
// was committed with it.
TEST_F(LedgerIntegrationTest, AcknowledgedFeedbackSurvivesSigkill) {
  std::string rule_id;
  std::string feedback_id;
  {
    std::unique_ptr<ServerProcess> server = Start({"--ledger_flush_ms=10000"});
    ASSERT_NE(server, nullptr);
    Client client(server->address());
    ScreenResponse screened;
    ASSERT_TRUE(client.Screen(AlertingRequest("kill-1"), &screened).ok());
    ASSERT_GE(screened.alerts_size(), 1);
    rule_id = screened.alerts(0).rule_id();
    RecordFeedbackResponse recorded;
    ASSERT_TRUE(client
                    .RecordFeedback(Feedback(screened.alerts(0).alert_id(),
                                             false, "2026-12-01T09:00:00Z"),
                                    &recorded)
                    .ok());
    feedback_id = recorded.feedback_id();
    ASSERT_THAT(server->Signal(SIGKILL), IsOk());
    absl::StatusOr<int> code = server->WaitForExit(absl::Seconds(120));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 128 + SIGKILL);
  }
  {
    LedgerFile file(LedgerPath());
    EXPECT_EQ(file.Count("SELECT COUNT(*) FROM feedback WHERE feedback_id = ?1",
                         feedback_id),
              1);
  }
  std::unique_ptr<ServerProcess> server = Start();
  ASSERT_NE(server, nullptr);
  Client client(server->address());
  GetAlertStatsRequest request;
  request.add_rule_ids(rule_id);
  AlertStats stats;
  ASSERT_TRUE(client.GetAlertStats(request, &stats).ok());
  ASSERT_EQ(stats.rules_size(), 1);
  EXPECT_EQ(stats.rules(0).accepted(), 1);
}

// What the client threads saw acknowledged.
struct Acknowledged {
  absl::Mutex mu;
  std::vector<std::string> alert_ids ABSL_GUARDED_BY(mu);
  std::vector<std::string> feedback_ids ABSL_GUARDED_BY(mu);
  int64_t feedback_count ABSL_GUARDED_BY(mu) = 0;
  int rounds ABSL_GUARDED_BY(mu) = 0;
  int threads_done ABSL_GUARDED_BY(mu) = 0;
};

TEST_F(LedgerIntegrationTest, SigtermDuringLoadLosesNoAcknowledgedFeedback) {
  // A long batch window: without the drain's flush, acknowledged alerts
  // would still be in memory when SIGTERM arrives.
  std::unique_ptr<ServerProcess> server = Start({"--ledger_flush_ms=2000"});
  ASSERT_NE(server, nullptr);
  constexpr int kThreads = 4;
  constexpr int kMaxRoundsPerThread = 400;
  constexpr int64_t kFeedbackBeforeSigterm = 40;
  Acknowledged acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client(server->address());
      for (int i = 0; i < kMaxRoundsPerThread; ++i) {
        ScreenResponse screened;
        if (!client
                 .Screen(AlertingRequest(absl::StrCat("load-", t, "-", i)),
                         &screened)
                 .ok()) {
          break;  // the server is draining or gone
        }
        {
          absl::MutexLock lock(&acked.mu);
          for (const auto& alert : screened.alerts()) {
            acked.alert_ids.push_back(alert.alert_id());
          }
        }
        bool stopped = false;
        for (int a = 0; a < screened.alerts_size() && !stopped; ++a) {
          RecordFeedbackResponse recorded;
          const grpc::Status status = client.RecordFeedback(
              Feedback(screened.alerts(a).alert_id(), (i + a) % 2 == 0,
                       "2026-12-01T09:00:00Z"),
              &recorded);
          if (!status.ok()) {
            // Only a stopping server may refuse: never a lost alert.
            EXPECT_NE(status.error_code(), grpc::StatusCode::NOT_FOUND);
            EXPECT_NE(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
            stopped = true;
            break;
          }
          absl::MutexLock lock(&acked.mu);
          acked.feedback_ids.push_back(recorded.feedback_id());
          ++acked.feedback_count;
        }
        absl::MutexLock lock(&acked.mu);
        ++acked.rounds;
        if (stopped) break;
      }
      absl::MutexLock lock(&acked.mu);
      ++acked.threads_done;
    });
  }
  // SIGTERM once enough feedback was acknowledged (or every thread is done,
  // on a very slow machine; the test still holds then).
  {
    absl::MutexLock lock(&acked.mu);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(acked.mu) {
      return acked.feedback_count >= kFeedbackBeforeSigterm ||
             acked.threads_done == kThreads;
    };
    acked.mu.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(120));
  }
  ASSERT_THAT(server->Signal(SIGTERM), IsOk());
  for (std::thread& thread : threads) thread.join();
  absl::StatusOr<int> code = server->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0) << server->output();
  EXPECT_THAT(server->output(), HasSubstr("event=ledger_closed"));
  EXPECT_THAT(server->output(), Not(HasSubstr("ledger_close_failed")));
  EXPECT_THAT(server->output(), Not(HasSubstr("ledger_record_failed")));

  absl::MutexLock lock(&acked.mu);
  ASSERT_GE(acked.feedback_count, 1);
  // The rounds each thread had left prove the SIGTERM came mid-way.
  std::cerr << "acknowledged: " << acked.alert_ids.size() << " alerts, "
            << acked.feedback_count << " feedback; rounds " << acked.rounds
            << " of " << kThreads * kMaxRoundsPerThread << "\n";
  {
    LedgerFile file(LedgerPath());
    for (const std::string& id : acked.feedback_ids) {
      EXPECT_EQ(file.Count(
                    "SELECT COUNT(*) FROM feedback WHERE feedback_id = ?1", id),
                1)
          << "acknowledged feedback " << id << " is missing";
    }
    for (const std::string& id : acked.alert_ids) {
      EXPECT_EQ(
          file.Count("SELECT COUNT(*) FROM alerts WHERE alert_id = ?1", id), 1)
          << "acknowledged alert " << id << " is missing";
    }
  }
  // And a restarted server reports them.
  server = Start();
  ASSERT_NE(server, nullptr);
  Client client(server->address());
  AlertStats stats;
  ASSERT_TRUE(client.GetAlertStats(GetAlertStatsRequest(), &stats).ok());
  const Totals totals = Sum(stats);
  EXPECT_GE(totals.fired, static_cast<int64_t>(acked.alert_ids.size()));
  EXPECT_GE(totals.answered, acked.feedback_count);
}

TEST_F(LedgerIntegrationTest, LedgerNoneGivesNoIds) {
  std::unique_ptr<ServerProcess> server = Start({"--ledger=none"});
  ASSERT_NE(server, nullptr);
  Client client(server->address());
  ScreenResponse screened;
  ASSERT_TRUE(client.Screen(AlertingRequest("none-1"), &screened).ok());
  ASSERT_GE(screened.alerts_size(), 1);
  EXPECT_TRUE(screened.alerts(0).alert_id().empty());
  RecordFeedbackResponse recorded;
  EXPECT_EQ(client
                .RecordFeedback(Feedback("x", false, "2026-12-01T09:00:00Z"),
                                &recorded)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_FALSE(std::filesystem::exists(LedgerPath()));
}

TEST_F(LedgerIntegrationTest, ALedgerFromANewerVersionStopsTheStart) {
  std::filesystem::create_directories(data_dir_);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(LedgerPath().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "PRAGMA application_id = 1313033036; "
                           "PRAGMA user_version = 999; "
                           "CREATE TABLE future (x)",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  absl::StatusOr<std::unique_ptr<ServerProcess>> process = ServerProcess::Spawn(
      binary_, {"--listen=127.0.0.1:0", "--data_dir=" + data_dir_},
      ServerProcess::Options());
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 1);
  // The reader thread may still be draining the pipe: wait for the line.
  EXPECT_TRUE((*process)->WaitForOutput("event=start_failed"));
  EXPECT_THAT((*process)->output(), HasSubstr("schema version 999"));
  EXPECT_THAT((*process)->output(), HasSubstr("newer"));
  EXPECT_THAT((*process)->output(), Not(HasSubstr("listening on")));
}

TEST_F(LedgerIntegrationTest, BadLedgerFlagIsAUsageError) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> process = ServerProcess::Spawn(
      binary_,
      {"--listen=127.0.0.1:0", "--data_dir=" + data_dir_, "--ledger=mysql"},
      ServerProcess::Options());
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
  EXPECT_TRUE((*process)->WaitForOutput("event=invalid_options"));
  EXPECT_THAT((*process)->output(),
              HasSubstr("is not one of sqlite, postgres, none"));
}

}  // namespace
}  // namespace needlecheck
