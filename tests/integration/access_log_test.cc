// The access-audit trail through the real needlecheckd on 127.0.0.1:0 with
// a real SQLite ledger file:
//   - a known set of calls (Screen for patients A and B, a ScreenStream of
//     3, an Audit of 2 records, feedback, statistics, a rejected Screen)
//     leaves exactly those accesses, with action, patient, outcome, stream
//     position, caller, on-behalf-of metadata and trace id;
//   - the patient filter; reading the trail is itself recorded;
//   - the database refuses UPDATE and DELETE on access_log;
//   - the pruning pass at start deletes records past
//     --access_log_retention_days and keeps the others;
//   - the canary patient id never reaches the application log;
//   - over mutual TLS the caller is the client certificate's name, and a
//     call the authorization policy refuses is recorded with its code.
// No timing assertions: every wait is a bounded wait for an event.
#include <signal.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "needlecheck/v1/screening.grpc.pb.h"
#include "tests/integration/ledger_client.h"
#include "tests/testing/read_file.h"
#include "tests/testing/scoped_temp_dir.h"
#include "tests/testing/server_process.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/tls_test_certs.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::AlertingRequest;
using ::needlecheck::testing::BinaryPath;
using ::needlecheck::testing::Feedback;
using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::ServerProcess;
using ::needlecheck::v1::AccessRecord;
using ::needlecheck::v1::GetAccessLogRequest;
using ::needlecheck::v1::GetAccessLogResponse;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// Patient A: its id must never reach the application log.
constexpr char kPatientA[] = "CANARY-Jane-Q-Doe-7731";
constexpr char kPatientB[] = "patient-b";
constexpr char kTraceparent[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr char kTraceId[] = "4bf92f3577b34da6a3ce929d0e0e4736";

std::string Day(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d", t, absl::UTCTimeZone());
}

v1::ScreenRequest ScreenFor(const std::string& patient, const std::string& id) {
  v1::ScreenRequest request = AlertingRequest(id);
  request.mutable_record()->set_patient_id(patient);
  return request;
}

// An open read-write connection to a stopped server's ledger file.
class RawLedger {
 public:
  explicit RawLedger(const std::string& path) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr),
        SQLITE_OK);
  }
  ~RawLedger() { sqlite3_close_v2(db_); }
  // SQLite's error message, or "" when `sql` ran.
  std::string Exec(const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    std::string message = rc == SQLITE_OK ? "" : (error ? error : "error");
    sqlite3_free(error);
    return message;
  }
  int64_t Count(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr),
              SQLITE_OK);
    int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()); }

  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--data_dir=" + dir_.Path("data")};
    args.insert(args.end(), extra.begin(), extra.end());
    auto process =
        ServerProcess::Start(BinaryPath("service/needlecheckd"), args);
    ASSERT_THAT(process, IsOk());
    server_ = *std::move(process);
    stub_ = v1::ScreeningService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                            grpc::InsecureChannelCredentials()));
  }

  void Stop() {
    stub_.reset();  // the channel with it: the drain need not wait for it
    ASSERT_THAT(server_->Signal(SIGTERM), IsOk());
    absl::StatusOr<int> code = server_->WaitForExit();
    ASSERT_THAT(code, IsOk());
    EXPECT_EQ(*code, 0);
  }

  void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  }

  GetAccessLogResponse Read(const std::string& from, const std::string& to,
                            const std::string& patient = "") {
    GetAccessLogRequest request;
    request.set_from_date(from);
    request.set_to_date(to);
    request.set_patient_id(patient);
    grpc::ClientContext context;
    SetDeadline(&context);
    GetAccessLogResponse response;
    const grpc::Status status =
        stub_->GetAccessLog(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The calls the trail must hold afterwards, in order.
  void MakeKnownCalls() {
    v1::ScreenResponse screened_a;
    {
      grpc::ClientContext context;
      SetDeadline(&context);
      context.AddMetadata("traceparent", kTraceparent);
      context.AddMetadata("x-needlecheck-caller-iss", "https://ehr.example");
      context.AddMetadata("x-needlecheck-caller-sub", "client%20one");
      context.AddMetadata("x-needlecheck-caller-tenant", "tenant-1");
      context.AddMetadata("x-needlecheck-caller-user", "Practitioner/p1");
      ASSERT_TRUE(
          stub_->Screen(&context, ScreenFor(kPatientA, "req-a"), &screened_a)
              .ok());
      ASSERT_GT(screened_a.alerts_size(), 0);
    }
    {
      grpc::ClientContext context;
      SetDeadline(&context);
      v1::ScreenResponse response;
      ASSERT_TRUE(
          stub_->Screen(&context, ScreenFor(kPatientB, "req-b"), &response)
              .ok());
    }
    {
      grpc::ClientContext context;
      SetDeadline(&context);
      auto stream = stub_->ScreenStream(&context);
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(stream->Write(
            ScreenFor(absl::StrCat("stream-", i), absl::StrCat("s", i))));
        v1::ScreenResponse response;
        ASSERT_TRUE(stream->Read(&response));
      }
      stream->WritesDone();
      ASSERT_TRUE(stream->Finish().ok());
    }
    {
      grpc::ClientContext context;
      SetDeadline(&context);
      auto stream = stub_->Audit(&context);
      for (int i = 0; i < 2; ++i) {
        v1::AuditRequest request;
        request.set_request_id(absl::StrCat("audit-req-", i));
        *request.mutable_record() =
            ScreenFor(absl::StrCat("audit-", i), "x").record();
        ASSERT_TRUE(stream->Write(request));
        v1::AuditFinding finding;
        do {
          ASSERT_TRUE(stream->Read(&finding));
        } while (!finding.end_of_record());
      }
      stream->WritesDone();
      ASSERT_TRUE(stream->Finish().ok());
    }
    {
      grpc::ClientContext context;
      SetDeadline(&context);
      v1::RecordFeedbackResponse response;
      ASSERT_TRUE(stub_
                      ->RecordFeedback(&context,
                                       Feedback(screened_a.alerts(0).alert_id(),
                                                true, "2026-12-01T09:00:00Z"),
                                       &response)
                      .ok());
    }
    {
      grpc::ClientContext context;
      SetDeadline(&context);
      v1::AlertStats stats;
      ASSERT_TRUE(
          stub_->GetAlertStats(&context, v1::GetAlertStatsRequest(), &stats)
              .ok());
    }
    {
      // Rejected: no session.
      grpc::ClientContext context;
      SetDeadline(&context);
      v1::ScreenRequest bad = ScreenFor("patient-bad", "req-bad");
      bad.clear_session();
      v1::ScreenResponse response;
      EXPECT_EQ(stub_->Screen(&context, bad, &response).error_code(),
                grpc::StatusCode::INVALID_ARGUMENT);
    }
  }

  ::needlecheck::testing::ScopedTempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ScreeningService::Stub> stub_;
};

struct Expected {
  std::string action;
  std::string patient;
  std::string outcome;
  int64_t stream_index;
};

TEST_F(AccessLogTest, HoldsExactlyTheAccessesMade) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string today = Day(absl::Now());
  ASSERT_NO_FATAL_FAILURE(MakeKnownCalls());
  // A day either side: the calls may straddle midnight UTC.
  const GetAccessLogResponse log = Read(Day(absl::Now() - absl::Hours(24)),
                                        Day(absl::Now() + absl::Hours(24)));
  const std::vector<Expected> expected = {
      {"Screen", kPatientA, "OK", -1},
      {"Screen", kPatientB, "OK", -1},
      {"ScreenStream", "stream-0", "OK", 0},
      {"ScreenStream", "stream-1", "OK", 1},
      {"ScreenStream", "stream-2", "OK", 2},
      {"Audit", "audit-0", "OK", 0},
      {"Audit", "audit-1", "OK", 1},
      {"RecordFeedback", kPatientA, "OK", -1},
      {"GetAlertStats", "", "OK", -1},
      {"Screen", "patient-bad", "INVALID_ARGUMENT", -1},
  };
  ASSERT_EQ(log.records_size(), static_cast<int>(expected.size()))
      << log.DebugString();
  EXPECT_FALSE(log.truncated());
  for (size_t i = 0; i < expected.size(); ++i) {
    const AccessRecord& r = log.records(static_cast<int>(i));
    SCOPED_TRACE(absl::StrCat("record ", i, ": ", r.ShortDebugString()));
    EXPECT_EQ(r.action(), expected[i].action);
    EXPECT_EQ(r.patient_id(), expected[i].patient);
    EXPECT_EQ(r.outcome(), expected[i].outcome);
    EXPECT_EQ(r.stream_index(), expected[i].stream_index);
    EXPECT_THAT(r.caller(), StartsWith("unauthenticated ipv4:127.0.0.1:"));
    EXPECT_THAT(r.time(), StartsWith(today.substr(0, 4)));
  }
  // The first call's metadata: on-behalf-of (percent-decoded) and trace id.
  const AccessRecord& first = log.records(0);
  EXPECT_EQ(first.on_behalf_iss(), "https://ehr.example");
  EXPECT_EQ(first.on_behalf_sub(), "client one");
  EXPECT_EQ(first.on_behalf_tenant(), "tenant-1");
  EXPECT_EQ(first.on_behalf_user(), "Practitioner/p1");
  EXPECT_EQ(first.trace_id(), kTraceId);
  EXPECT_EQ(first.detail(), "req-a");
  EXPECT_EQ(log.records(1).trace_id(), "");
  EXPECT_EQ(log.records(1).on_behalf_iss(), "");

  // The patient filter; the first read was recorded too.
  const GetAccessLogResponse only_a =
      Read(Day(absl::Now() - absl::Hours(24)),
           Day(absl::Now() + absl::Hours(24)), kPatientA);
  ASSERT_EQ(only_a.records_size(), 2) << only_a.DebugString();
  EXPECT_EQ(only_a.records(0).action(), "Screen");
  EXPECT_EQ(only_a.records(1).action(), "RecordFeedback");
  const GetAccessLogResponse all = Read(Day(absl::Now() - absl::Hours(24)),
                                        Day(absl::Now() + absl::Hours(24)));
  ASSERT_EQ(all.records_size(), 12);
  EXPECT_EQ(all.records(10).action(), "GetAccessLog");
  EXPECT_EQ(all.records(11).action(), "GetAccessLog");
  EXPECT_EQ(all.records(11).patient_id(), kPatientA);

  // Days without calls hold nothing.
  EXPECT_EQ(Read("2001-01-01", "2001-12-31").records_size(), 0);

  ASSERT_NO_FATAL_FAILURE(Stop());
  EXPECT_THAT(server_->output(), Not(HasSubstr(kPatientA)));
}

TEST_F(AccessLogTest, BadDatesAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(Start());
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{
           {"", "2026-12-01"},
           {"2026-12-01", ""},
           {"2026-13-01", "2026-12-01"},
           {"2026-12-02", "2026-12-01"}}) {
    GetAccessLogRequest request;
    request.set_from_date(from);
    request.set_to_date(to);
    grpc::ClientContext context;
    SetDeadline(&context);
    GetAccessLogResponse response;
    EXPECT_EQ(stub_->GetAccessLog(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << from << " " << to;
  }
}

TEST_F(AccessLogTest, DatabaseRefusesUpdateAndDelete) {
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(MakeKnownCalls());
  ASSERT_NO_FATAL_FAILURE(Stop());
  RawLedger db(dir_.Path("data") + "/ledger.sqlite3");
  const int64_t rows = db.Count("SELECT COUNT(*) FROM access_log");
  EXPECT_EQ(rows, 10);
  EXPECT_THAT(db.Exec("UPDATE access_log SET patient_id = 'someone-else'"),
              HasSubstr("append-only"));
  EXPECT_THAT(db.Exec("UPDATE access_log SET outcome = 'OK' WHERE id = 10"),
              HasSubstr("append-only"));
  EXPECT_THAT(db.Exec("DELETE FROM access_log"), HasSubstr("append-only"));
  EXPECT_THAT(db.Exec("DELETE FROM access_log WHERE id = 1"),
              HasSubstr("append-only"));
  // Removing the retention row opens nothing.
  EXPECT_EQ(db.Exec("DELETE FROM access_log_retention"), "");
  EXPECT_THAT(db.Exec("DELETE FROM access_log WHERE id = 1"),
              HasSubstr("append-only"));
  EXPECT_EQ(db.Count("SELECT COUNT(*) FROM access_log"), rows);
  EXPECT_EQ(db.Count("SELECT COUNT(*) FROM access_log WHERE patient_id = "
                     "'someone-else'"),
            0);
}

TEST_F(AccessLogTest, PruningAtStartDeletesOnlyRecordsPastRetention) {
  // Make the ledger, then add records of known ages behind its back.
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_NO_FATAL_FAILURE(Stop());
  const absl::Time now = absl::Now();
  {
    RawLedger db(dir_.Path("data") + "/ledger.sqlite3");
    for (const auto& [days, patient] :
         std::vector<std::pair<int, std::string>>{{40, "expired-1"},
                                                  {31, "expired-2"},
                                                  {29, "kept-1"},
                                                  {1, "kept-2"}}) {
      EXPECT_EQ(
          db.Exec(absl::StrCat(
              "INSERT INTO access_log (at_us, caller, action, patient_id, "
              "outcome) VALUES (",
              absl::ToUnixMicros(now - absl::Hours(24) * days),
              ", 'test', 'Screen', '", patient, "', 'OK')")),
          "");
    }
  }
  ASSERT_NO_FATAL_FAILURE(Start({"--access_log_retention_days=30"}));
  ASSERT_TRUE(
      server_->WaitForOutput("event=access_log_pruned records_deleted=2"))
      << server_->output();
  const GetAccessLogResponse log =
      Read(Day(now - absl::Hours(24 * 50)), Day(now + absl::Hours(24)));
  std::vector<std::string> patients;
  for (const AccessRecord& r : log.records())
    patients.push_back(r.patient_id());
  EXPECT_THAT(patients, ::testing::ElementsAre("kept-1", "kept-2"));
  ASSERT_NO_FATAL_FAILURE(Stop());
}

TEST_F(AccessLogTest, BadRetentionFlagStopsTheStart) {
  auto process = ServerProcess::Spawn(
      BinaryPath("service/needlecheckd"),
      {"--listen=127.0.0.1:0", "--data_dir=" + dir_.Path("data"),
       "--access_log_retention_days=0"},
      ServerProcess::Options());
  ASSERT_THAT(process, IsOk());
  absl::StatusOr<int> code = (*process)->WaitForExit();
  ASSERT_THAT(code, IsOk());
  EXPECT_NE(*code, 0);
  EXPECT_THAT((*process)->output(), HasSubstr("access_log_retention_days"));
}

TEST_F(AccessLogTest, MutualTlsCallerAndRefusedCallsAreRecorded) {
  absl::StatusOr<::needlecheck::testing::TlsTestCerts> certs =
      ::needlecheck::testing::CreateTlsTestCerts(dir_.path());
  if (!certs.ok()) GTEST_SKIP() << certs.status();
  const std::string policy =
      dir_.WriteFile("policy", "test-client Screen,GetAccessLog\n");
  ASSERT_FALSE(policy.empty());
  ASSERT_NO_FATAL_FAILURE(Start(
      {"--tls_cert=" + certs->server_cert, "--tls_key=" + certs->server_key,
       "--tls_client_ca=" + certs->ca_cert, "--authz_policy=" + policy}));
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = ::needlecheck::testing::ReadFile(certs->ca_cert);
  tls.pem_private_key = ::needlecheck::testing::ReadFile(certs->client_key);
  tls.pem_cert_chain = ::needlecheck::testing::ReadFile(certs->client_cert);
  stub_ = v1::ScreeningService::NewStub(
      grpc::CreateChannel(server_->address(), grpc::SslCredentials(tls)));
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::ScreenResponse response;
    const grpc::Status status =
        stub_->Screen(&context, ScreenFor("tls-patient", "r-tls"), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  {
    // Not allowed by the policy: refused, and the attempt recorded.
    grpc::ClientContext context;
    SetDeadline(&context);
    v1::AlertStats stats;
    EXPECT_EQ(stub_->GetAlertStats(&context, v1::GetAlertStatsRequest(), &stats)
                  .error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  const GetAccessLogResponse log = Read(Day(absl::Now() - absl::Hours(24)),
                                        Day(absl::Now() + absl::Hours(24)));
  ASSERT_EQ(log.records_size(), 2) << log.DebugString();
  EXPECT_EQ(log.records(0).patient_id(), "tls-patient");
  EXPECT_THAT(log.records(0).caller(), StartsWith("tls test-client"));
  EXPECT_EQ(log.records(1).action(), "GetAlertStats");
  EXPECT_EQ(log.records(1).outcome(), "PERMISSION_DENIED");
  EXPECT_THAT(log.records(1).caller(), StartsWith("tls test-client"));
  ASSERT_NO_FATAL_FAILURE(Stop());
}

}  // namespace
}  // namespace needlecheck
