// The PostgreSQL ledger through the real needlecheckd (--ledger=postgres)
// against a throwaway cluster (tests/testing/postgres_cluster.h):
//   - Screen gives alert ids, RecordFeedback is committed, GetAlertStats
//     counts it; the rows are in the database; SIGTERM exits 0; no patient
//     id or comment in the log;
//   - --ledger_password_file against a cluster that needs a password
//     (scram-sha-256); without it the start fails (exit 1) at once;
//   - a --ledger_dsn carrying a password is refused (exit 2) without the
//     password in the output; SQLite-only flags are refused with postgres;
//   - the database stopped under a running server: still SERVING, Screen
//     answers, feedback UNAVAILABLE; all committed after the restart;
//   - an unreachable database: the start gives up after
//     --ledger_connect_timeout (exit 1).
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/ledger_client.h"
#include "tests/testing/postgres_cluster.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::AlertingRequest;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::Feedback;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::kLedgerCommentSecret;
using ::needlecheck::testing::kLedgerPatientSecret;
using ::needlecheck::testing::LedgerClient;
using ::needlecheck::testing::PostgresCluster;
using ::needlecheck::testing::ScopedTempDir;
using ::needlecheck::testing::ServerProcess;
using ::testing::HasSubstr;
using ::testing::Not;

class PostgresNeedlecheckdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    NEEDLECHECK_SKIP_WITHOUT_POSTGRES();
    ASSERT_FALSE(dir_.path().empty());
    binary_ = BinaryPath("service/needlecheckd");
    ASSERT_FALSE(binary_.empty());
  }

  std::vector<std::string> Args(const std::string& dsn) const {
    return {"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data"),
            "--ledger=postgres", "--ledger_dsn=" + dsn,
            "--ledger_connect_timeout=20s"};
  }

  // Screens once, sends feedback on the first alert, reads the stats.
  void ScreenFeedbackStats(const std::string& address) {
    LedgerClient client(address);
    needlecheck::v1::ScreenResponse screened;
    ASSERT_TRUE(client.Screen(AlertingRequest("pg-1"), &screened).ok());
    ASSERT_GT(screened.alerts_size(), 0);
    const std::string alert_id = screened.alerts(0).alert_id();
    ASSERT_EQ(alert_id.size(), 36u);
    needlecheck::v1::RecordFeedbackResponse ack;
    grpc::Status status = client.RecordFeedback(
        Feedback(alert_id, /*overridden=*/true, "2026-12-01T10:00:00Z"), &ack);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_FALSE(ack.duplicate());
    needlecheck::v1::AlertStats stats;
    status = client.GetAlertStats({}, &stats);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(stats.screenings(), 1);
    int64_t overridden = 0;
    for (const auto& rule : stats.rules()) overridden += rule.overridden();
    EXPECT_EQ(overridden, 1);
  }

  ScopedTempDir dir_;
  std::string binary_;
};

TEST_F(PostgresNeedlecheckdTest, ScreenFeedbackAndStatsGoToPostgres) {
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create();
  ASSERT_THAT(pg, IsOk());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(binary_, Args((*pg)->Dsn()));
  ASSERT_THAT(server, IsOk());
  ScreenFeedbackStats((*server)->address());
  ASSERT_THAT((*server)->Signal(SIGTERM), IsOk());
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
  const std::string log = (*server)->output();
  EXPECT_THAT(log, HasSubstr("ledger_opened"));
  EXPECT_THAT(log, HasSubstr("postgres"));
  EXPECT_THAT(log, Not(HasSubstr(kLedgerPatientSecret)));
  EXPECT_THAT(log, Not(HasSubstr(kLedgerCommentSecret)));
  absl::StatusOr<std::string> feedback =
      (*pg)->Sql("SELECT COUNT(*) FROM feedback WHERE user_comment <> ''");
  ASSERT_THAT(feedback, IsOk());
  EXPECT_EQ(*feedback, "1");
  absl::StatusOr<std::string> patients = (*pg)->Sql(
      absl::StrCat("SELECT COUNT(*) FROM screenings WHERE patient_id = '",
                   kLedgerPatientSecret, "'"));
  ASSERT_THAT(patients, IsOk());
  EXPECT_EQ(*patients, "1");
}

// The database stops under a running needlecheckd: it stays SERVING,
// Screen still answers, feedback is UNAVAILABLE (logged
// ledger_write_failed); after the restart everything queued is committed
// (ledger_write_recovered) and feedback works again.
TEST_F(PostgresNeedlecheckdTest, DatabaseDownKeepsServingThenRecovers) {
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create();
  ASSERT_THAT(pg, IsOk());
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(binary_, Args((*pg)->Dsn()));
  ASSERT_THAT(server, IsOk());
  LedgerClient client((*server)->address());
  needlecheck::v1::ScreenResponse before;
  ASSERT_TRUE(client.Screen(AlertingRequest("pg-before"), &before).ok());

  ASSERT_THAT((*pg)->Stop("immediate"), IsOk());
  const size_t mark = (*server)->output_size();
  needlecheck::v1::ScreenResponse during;
  ASSERT_TRUE(client.Screen(AlertingRequest("pg-during"), &during).ok());
  ASSERT_GT(during.alerts_size(), 0);
  EXPECT_TRUE((*server)->WaitForOutput("ledger_write_failed", mark));
  grpc::health::v1::HealthCheckResponse health;
  ASSERT_TRUE(client.Health("", &health).ok());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  needlecheck::v1::RecordFeedbackResponse ack;
  EXPECT_EQ(client
                .RecordFeedback(Feedback(before.alerts(0).alert_id(), false,
                                         "2026-12-01T10:00:00Z"),
                                &ack)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);

  ASSERT_THAT((*pg)->Start(), IsOk());
  EXPECT_TRUE((*server)->WaitForOutput("ledger_write_recovered", mark));
  grpc::Status status = client.RecordFeedback(
      Feedback(during.alerts(0).alert_id(), false, "2026-12-01T10:00:00Z"),
      &ack);
  EXPECT_TRUE(status.ok()) << status.error_message();
  ASSERT_THAT((*server)->Signal(SIGTERM), IsOk());
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(120));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 0);
  absl::StatusOr<std::string> screenings =
      (*pg)->Sql("SELECT COUNT(*) FROM screenings");
  ASSERT_THAT(screenings, IsOk());
  EXPECT_EQ(*screenings, "2");
}

TEST_F(PostgresNeedlecheckdTest, PasswordFileForAClusterThatNeedsOne) {
  PostgresCluster::Options options;
  options.password = "pw-from-file-7f3a";
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create(options);
  ASSERT_THAT(pg, IsOk());

  // Without a password: refused login, no retrying, exit 1.
  ServerProcess::Options no_env;
  no_env.extra_env = {"PGPASSWORD=", "PGPASSFILE=" + dir_.Path("none")};
  absl::StatusOr<std::unique_ptr<ServerProcess>> refused =
      ServerProcess::Spawn(binary_, Args((*pg)->Dsn()), no_env);
  ASSERT_THAT(refused, IsOk());
  absl::StatusOr<int> code = (*refused)->WaitForExit(absl::Seconds(60));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 1);
  EXPECT_THAT((*refused)->output(), HasSubstr("password"));

  const std::string file =
      dir_.WriteFile("pgpassword", options.password + "\n");
  std::vector<std::string> args = Args((*pg)->Dsn());
  args.push_back("--ledger_password_file=" + file);
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Start(binary_, args, no_env);
  ASSERT_THAT(server, IsOk());
  ScreenFeedbackStats((*server)->address());
  EXPECT_THAT((*server)->output(), Not(HasSubstr(options.password)));
}

TEST_F(PostgresNeedlecheckdTest, DsnWithAPasswordIsRefusedWithoutQuotingIt) {
  for (const std::string& dsn :
       {std::string("host=127.0.0.1 port=5432 dbname=needlecheck "
                    "user=needlecheck password=hunter2-on-cmdline"),
        std::string("postgresql://needlecheck:hunter2-on-cmdline@127.0.0.1:"
                    "5432/needlecheck")}) {
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Spawn(binary_, Args(dsn), ServerProcess::Options());
    ASSERT_THAT(server, IsOk());
    absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(60));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 2) << dsn;
    const std::string out = (*server)->output();
    EXPECT_THAT(out, HasSubstr("ledger_dsn"));
    EXPECT_THAT(out, HasSubstr("--ledger_password_file"));
    EXPECT_THAT(out, Not(HasSubstr("hunter2")));
  }
}

TEST_F(PostgresNeedlecheckdTest, SqliteOnlyFlagsAreRefusedWithPostgres) {
  const std::string dsn = "host=127.0.0.1 port=1 dbname=x user=y";
  for (const std::string& extra :
       {std::string("--ledger_recover"),
        "--testonly_ledger_fault_file=" + dir_.Path("fault")}) {
    std::vector<std::string> args = Args(dsn);
    args.push_back(extra);
    absl::StatusOr<std::unique_ptr<ServerProcess>> server =
        ServerProcess::Spawn(binary_, args, ServerProcess::Options());
    ASSERT_THAT(server, IsOk());
    absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(60));
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 2) << extra;
    EXPECT_THAT((*server)->output(), HasSubstr("only with --ledger=sqlite"));
  }
  // And a DSN without --ledger=postgres.
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Spawn(
      binary_,
      {"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data"),
       "--ledger_dsn=" + dsn},
      ServerProcess::Options());
  ASSERT_THAT(server, IsOk());
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(60));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 2);
}

TEST_F(PostgresNeedlecheckdTest, UnreachableDatabaseGivesUpAfterTheTimeout) {
  absl::StatusOr<std::unique_ptr<PostgresCluster>> pg =
      PostgresCluster::Create();
  ASSERT_THAT(pg, IsOk());
  ASSERT_THAT((*pg)->Stop("fast"), IsOk());
  std::vector<std::string> args = Args((*pg)->Dsn());
  args.back() = "--ledger_connect_timeout=2s";
  absl::StatusOr<std::unique_ptr<ServerProcess>> server =
      ServerProcess::Spawn(binary_, args, ServerProcess::Options());
  ASSERT_THAT(server, IsOk());
  absl::StatusOr<int> code = (*server)->WaitForExit(absl::Seconds(60));
  ASSERT_THAT(code, IsOk());
  EXPECT_EQ(*code, 1);
  EXPECT_THAT((*server)->output(), HasSubstr("ledger_connect_retry"));
  EXPECT_THAT((*server)->output(), HasSubstr("cannot connect to PostgreSQL"));
}

}  // namespace
}  // namespace needlecheck
