// AccessTrail and its helpers without gRPC: the W3C traceparent parser, the
// metadata decoding, query-value stripping, what Record() stores and what a
// refusing access log means, RecordAccess validation and GetAccessLog's
// request checks; and, over in-process gRPC, that a call whose access
// cannot be recorded gets UNAVAILABLE and none of its data.
#include "service/server/access_trail.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/server/handlers.h"
#include "service/server/screening_service.h"
#include "service/server/server_options.h"
#include "tests/service/server/fake_ledger.h"
#include "tests/service/server/test_records.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

class FakeAccessLog : public ledger::AccessLog {
 public:
  absl::Status RecordAccess(ledger::AccessEntry entry) override {
    if (!refuse.ok()) return refuse;
    entries.push_back(std::move(entry));
    return absl::OkStatus();
  }
  absl::StatusOr<ledger::AccessLogPage> ReadAccessLog(
      const ledger::AccessLogQuery& query) override {
    queries.push_back(query);
    ledger::AccessLogPage page;
    page.entries = entries;
    return page;
  }
  absl::StatusOr<int64_t> PruneExpired() override { return 0; }

  absl::Status refuse;
  std::vector<ledger::AccessEntry> entries;
  std::vector<ledger::AccessLogQuery> queries;
};

const absl::Time kNow = absl::FromCivil(
    absl::CivilSecond(2026, 12, 6, 10, 0, 0), absl::UTCTimeZone());

TEST(TraceIdFromTraceparentTest, AcceptsW3cForm) {
  EXPECT_EQ(TraceIdFromTraceparent(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  // A later version may append fields.
  EXPECT_EQ(TraceIdFromTraceparent(
                "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-xyz"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceIdFromTraceparentTest, RefusesEverythingElse) {
  for (const char* bad : {
           "",
           "garbage",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  // short
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
       }) {
    EXPECT_EQ(TraceIdFromTraceparent(bad), "") << bad;
  }
}

TEST(NewTraceparentTest, IsAValidFreshTraceparent) {
  const std::string first = trace::NewTraceparent();
  const std::string second = trace::NewTraceparent();
  ASSERT_EQ(first.size(), 55u) << first;
  EXPECT_EQ(first.substr(0, 3), "00-");
  EXPECT_EQ(first.substr(52), "-01");
  EXPECT_EQ(TraceIdFromTraceparent(first), first.substr(3, 32));
  EXPECT_NE(TraceIdFromTraceparent(first), TraceIdFromTraceparent(second));
}

TEST(StripQueryValuesTest, RemovesValuesAndFragment) {
  EXPECT_EQ(StripQueryValues("https://ehr/fhir/Observation?patient=123&code="
                             "http://loinc.org|1234-5&_count#frag"),
            "https://ehr/fhir/Observation?patient=&code=&_count");
  EXPECT_EQ(StripQueryValues("https://ehr/fhir/Patient/123"),
            "https://ehr/fhir/Patient/123");
  EXPECT_EQ(StripQueryValues("https://ehr/fhir/Condition?"),
            "https://ehr/fhir/Condition?");
}

TEST(AccessTrailTest, RecordStoresTheCallAndItsOutcome) {
  FakeAccessLog log;
  AccessTrail trail(&log, [] { return kNow; });
  CallIdentity identity;
  identity.caller = "tls cn=gateway";
  identity.iss = "https://ehr";
  identity.sub = "client";
  identity.tenant = "t1";
  identity.user = "Practitioner/1";
  identity.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ASSERT_THAT(trail.Record(identity, "ScreenStream", "pat-1",
                           absl::InvalidArgumentError("x"), "req-1", 2),
              IsOk());
  ASSERT_EQ(log.entries.size(), 1u);
  const ledger::AccessEntry& e = log.entries[0];
  EXPECT_EQ(e.at, kNow);
  EXPECT_EQ(e.caller, "tls cn=gateway");
  EXPECT_EQ(e.on_behalf_iss, "https://ehr");
  EXPECT_EQ(e.on_behalf_sub, "client");
  EXPECT_EQ(e.on_behalf_tenant, "t1");
  EXPECT_EQ(e.on_behalf_user, "Practitioner/1");
  EXPECT_EQ(e.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(e.action, "ScreenStream");
  EXPECT_EQ(e.patient_id, "pat-1");
  EXPECT_EQ(e.outcome, "INVALID_ARGUMENT");
  EXPECT_EQ(e.detail, "req-1");
  EXPECT_EQ(e.stream_index, 2);
}

TEST(AccessTrailTest, RefusedRecordIsAnErrorAndNoTrailIsNot) {
  FakeAccessLog log;
  log.refuse = absl::UnavailableError("queue full");
  AccessTrail trail(&log);
  EXPECT_THAT(trail.Record(CallIdentity(), "Screen", "p", absl::OkStatus()),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(AccessNotRecorded(absl::UnavailableError("queue full")),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("no patient data is returned")));
  AccessTrail none(nullptr);
  EXPECT_FALSE(none.enabled());
  EXPECT_THAT(none.Record(CallIdentity(), "Screen", "p", absl::OkStatus()),
              IsOk());
}

TEST(AccessTrailTest, RecordFetchesStripsValuesAndValidates) {
  FakeAccessLog log;
  AccessTrail trail(&log);
  needlecheck::v1::RecordAccessRequest request;
  EXPECT_THAT(
      trail.RecordFetches(CallIdentity(), request),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("patient_id")));
  request.set_patient_id("pat-9");
  auto* fetch = request.add_fetches();
  fetch->set_url("https://ehr/fhir/Condition?patient=pat-9");
  fetch->set_outcome("OK");
  fetch = request.add_fetches();
  fetch->set_url("https://ehr/fhir/Observation?patient=pat-9&page=2");
  fetch->set_outcome("NOT_FOUND");
  ASSERT_THAT(trail.RecordFetches(CallIdentity(), request), IsOk());
  ASSERT_EQ(log.entries.size(), 2u);
  EXPECT_EQ(log.entries[0].action, "FhirFetch");
  EXPECT_EQ(log.entries[0].patient_id, "pat-9");
  EXPECT_EQ(log.entries[0].detail, "https://ehr/fhir/Condition?patient=");
  EXPECT_EQ(log.entries[0].outcome, "OK");
  EXPECT_EQ(log.entries[1].detail,
            "https://ehr/fhir/Observation?patient=&page=");
  EXPECT_EQ(log.entries[1].outcome, "NOT_FOUND");
  for (int i = 0; i < AccessTrail::kMaxFetches; ++i) request.add_fetches();
  EXPECT_THAT(trail.RecordFetches(CallIdentity(), request),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(log.entries.size(), 2u);  // nothing more recorded
}

TEST(HandleGetAccessLogTest, ChecksDatesAndQueriesWholeUtcDays) {
  FakeAccessLog log;
  needlecheck::v1::GetAccessLogRequest request;
  needlecheck::v1::GetAccessLogResponse response;
  request.set_from_date("2026-12-01");
  request.set_to_date("2026-11-30");
  EXPECT_EQ(HandleGetAccessLog(&log, CallState(), kNow, request, &response)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_to_date("2026-12-02");
  request.set_patient_id("p");
  ASSERT_TRUE(
      HandleGetAccessLog(&log, CallState(), kNow, request, &response).ok());
  ASSERT_EQ(log.queries.size(), 1u);
  EXPECT_EQ(log.queries[0].from,
            absl::FromCivil(absl::CivilDay(2026, 12, 1), absl::UTCTimeZone()));
  EXPECT_EQ(log.queries[0].to,
            absl::FromCivil(absl::CivilDay(2026, 12, 3), absl::UTCTimeZone()));
  EXPECT_EQ(log.queries[0].patient_id, "p");
  EXPECT_EQ(log.queries[0].limit, 10000);
  EXPECT_EQ(HandleGetAccessLog(nullptr, CallState(), kNow, request, &response)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

// A ledger whose access trail is the fake.
class LedgerWithTrail : public testing::FakeLedger {
 public:
  ledger::AccessLog* access_log() override { return &trail; }
  FakeAccessLog trail;
};

class AccessRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(store_.Load(), IsOk());
    backend_ = CreateEngineBackend(&store_, &ledger_);
    service_ = std::make_unique<ScreeningServiceImpl>(backend_.get(), &ledger_);
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    grpc::ServerBuilder builder;
    ApplyServerOptions(options, &builder);
    int port = 0;
    AddListeningPort(options, &builder, &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = needlecheck::v1::ScreeningService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }
  void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
  }

  LedgerWithTrail ledger_;
  KnowledgeBaseStore store_{FileOrBundledLoader(""),
                            [] { return absl::Now(); }};
  std::unique_ptr<ScreeningBackend> backend_;
  std::unique_ptr<ScreeningServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub_;
};

TEST_F(AccessRefusalTest, RecordedScreenAnswersNormally) {
  grpc::ClientContext context;
  SetDeadline(&context);
  needlecheck::v1::ScreenResponse response;
  ASSERT_TRUE(
      stub_->Screen(&context, testing::EczemaRequest("r1"), &response).ok());
  EXPECT_GT(response.alerts_size(), 0);
  ASSERT_EQ(ledger_.trail.entries.size(), 1u);
  EXPECT_EQ(ledger_.trail.entries[0].action, "Screen");
  EXPECT_EQ(ledger_.trail.entries[0].outcome, "OK");
}

TEST_F(AccessRefusalTest, UnrecordableScreenGetsUnavailableAndNoAlerts) {
  ledger_.trail.refuse = absl::UnavailableError("queue full");
  grpc::ClientContext context;
  SetDeadline(&context);
  needlecheck::v1::ScreenResponse response;
  const grpc::Status status =
      stub_->Screen(&context, testing::EczemaRequest("r1"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("access log"));
  EXPECT_EQ(response.alerts_size(), 0);
}

TEST_F(AccessRefusalTest, UnrecordableStreamItemEndsTheStreamWithoutIt) {
  ledger_.trail.refuse = absl::UnavailableError("queue full");
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->ScreenStream(&context);
  ASSERT_TRUE(stream->Write(testing::EczemaRequest("r1")));
  stream->WritesDone();
  needlecheck::v1::ScreenResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AccessRefusalTest, UnrecordableAuditSendsNoFinding) {
  ledger_.trail.refuse = absl::UnavailableError("queue full");
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = stub_->Audit(&context);
  needlecheck::v1::AuditRequest request;
  *request.mutable_record() = testing::EczemaRequest("r1").record();
  ASSERT_TRUE(stream->Write(request));
  stream->WritesDone();
  needlecheck::v1::AuditFinding finding;
  EXPECT_FALSE(stream->Read(&finding));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(AccessRefusalTest, UnrecordableFeedbackAndStatsGetUnavailable) {
  ledger_.trail.refuse = absl::UnavailableError("queue full");
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    needlecheck::v1::AlertStats stats;
    EXPECT_EQ(stub_->GetAlertStats(&context, {}, &stats).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    needlecheck::v1::RecordFeedbackRequest request;
    request.set_alert_id("a");
    request.set_outcome(needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED);
    request.set_outcome_timestamp("2026-12-01T09:00:00Z");
    needlecheck::v1::RecordFeedbackResponse response;
    EXPECT_EQ(stub_->RecordFeedback(&context, request, &response).error_code(),
              grpc::StatusCode::UNAVAILABLE);
  }
}

}  // namespace
}  // namespace needlecheck::server
