#include "service/server/handlers.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "service/server/status_conversion.h"
#include "tests/service/server/fake_ledger.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::v1::KnowledgeBase;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

class FakeBackend : public ScreeningBackend {
 public:
  absl::Status Screen(const ScreenRequest& request,
                      ScreenResponse* response) override {
    ++screen_calls;
    if (!status.ok()) return status;
    response->set_request_id(request.request_id());
    response->set_knowledge_base_version("fake");
    return absl::OkStatus();
  }
  absl::Status GetKnowledgeBase(KnowledgeBase* kb) override {
    ++kb_calls;
    if (!status.ok()) return status;
    kb->set_version("fake");
    kb->mutable_definition()->set_version("fake");
    return absl::OkStatus();
  }
  absl::Status status;
  int screen_calls = 0;
  int kb_calls = 0;
};

ScreenRequest Request() {
  ScreenRequest request;
  request.set_request_id("r-1");
  return request;
}

TEST(HandleScreenTest, DelegatesToTheBackend) {
  FakeBackend backend;
  ScreenResponse response;
  CallState call{kNow + absl::Seconds(5), false};
  EXPECT_TRUE(HandleScreen(backend, call, kNow, Request(), &response).ok());
  EXPECT_EQ(backend.screen_calls, 1);
  EXPECT_EQ(response.request_id(), "r-1");
}

TEST(HandleScreenTest, NoDeadlineIsFine) {
  FakeBackend backend;
  ScreenResponse response;
  EXPECT_TRUE(
      HandleScreen(backend, CallState(), kNow, Request(), &response).ok());
}

TEST(HandleScreenTest, ExpiredDeadlineDoesNoWork) {
  FakeBackend backend;
  ScreenResponse response;
  for (absl::Time deadline : {kNow - absl::Seconds(1), kNow}) {
    const grpc::Status status = HandleScreen(
        backend, CallState{deadline, false}, kNow, Request(), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_EQ(backend.screen_calls, 0);
}

TEST(HandleScreenTest, CancelledCallDoesNoWork) {
  FakeBackend backend;
  ScreenResponse response;
  const grpc::Status status =
      HandleScreen(backend, CallState{absl::InfiniteFuture(), true}, kNow,
                   Request(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(backend.screen_calls, 0);
}

TEST(HandleScreenTest, BackendErrorsKeepTheirDetails) {
  FakeBackend backend;
  backend.status = BadRequestError("invalid screening request",
                                   {{"session.date", "required"}});
  ScreenResponse response;
  const grpc::Status status =
      HandleScreen(backend, CallState(), kNow, Request(), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(status.error_details()));
  ASSERT_EQ(rpc.details_size(), 1);
  google::rpc::BadRequest bad_request;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&bad_request));
  EXPECT_EQ(bad_request.field_violations(0).field(), "session.date");
}

TEST(HandleGetKnowledgeBaseTest, DelegatesToTheBackend) {
  FakeBackend backend;
  KnowledgeBase kb;
  EXPECT_TRUE(HandleGetKnowledgeBase(backend, CallState(), kNow, {}, &kb).ok());
  EXPECT_EQ(kb.version(), "fake");
}

TEST(HandleGetKnowledgeBaseTest, DefinitionOnlyWhenAskedFor) {
  FakeBackend backend;
  KnowledgeBase kb;
  ASSERT_TRUE(HandleGetKnowledgeBase(backend, CallState(), kNow, {}, &kb).ok());
  EXPECT_FALSE(kb.has_definition());
  needlecheck::v1::GetKnowledgeBaseRequest request;
  request.set_include_definition(true);
  ASSERT_TRUE(
      HandleGetKnowledgeBase(backend, CallState(), kNow, request, &kb).ok());
  EXPECT_EQ(kb.definition().version(), "fake");
}

TEST(HandleGetKnowledgeBaseTest, ExpiredDeadlineDoesNoWork) {
  FakeBackend backend;
  KnowledgeBase kb;
  const grpc::Status status = HandleGetKnowledgeBase(
      backend, CallState{kNow - absl::Milliseconds(1), false}, kNow, {}, &kb);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(backend.kb_calls, 0);
}

TEST(HandleGetKnowledgeBaseTest, UnavailableIsPassedOn) {
  FakeBackend backend;
  backend.status = absl::UnavailableError("no knowledge base is loaded");
  KnowledgeBase kb;
  EXPECT_EQ(
      HandleGetKnowledgeBase(backend, CallState(), kNow, {}, &kb).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

std::vector<std::string> BadRequestFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status rpc;
  EXPECT_TRUE(rpc.ParseFromString(status.error_details()));
  for (const auto& any : rpc.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) {
      fields.push_back(v.field());
    }
  }
  return fields;
}

needlecheck::v1::RecordFeedbackRequest ValidFeedback() {
  needlecheck::v1::RecordFeedbackRequest request;
  request.set_alert_id("7d1c9c1e-2b7a-4e0b-9a43-3f1f6f0c2a11");
  request.set_outcome(needlecheck::v1::FEEDBACK_OUTCOME_ACCEPTED);
  request.set_outcome_timestamp("2026-11-23T10:05:00Z");
  return request;
}

TEST(HandleRecordFeedbackTest, DelegatesToTheLedger) {
  testing::FakeLedger ledger;
  needlecheck::v1::RecordFeedbackResponse response;
  const grpc::Status status = HandleRecordFeedback(&ledger, CallState(), kNow,
                                                   ValidFeedback(), &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.feedback_id(), "fb-1");
  ASSERT_EQ(ledger.feedback.size(), 1u);
  EXPECT_EQ(ledger.feedback[0].alert_id(), ValidFeedback().alert_id());
}

TEST(HandleRecordFeedbackTest, InvalidRequestNamesFieldsAndSkipsTheLedger) {
  testing::FakeLedger ledger;
  needlecheck::v1::RecordFeedbackRequest request;
  request.set_outcome_timestamp("yesterday");
  needlecheck::v1::RecordFeedbackResponse response;
  const grpc::Status status =
      HandleRecordFeedback(&ledger, CallState(), kNow, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(
      BadRequestFields(status),
      ::testing::ElementsAre("alert_id", "outcome", "outcome_timestamp"));
  EXPECT_TRUE(ledger.feedback.empty());
}

TEST(HandleRecordFeedbackTest, LedgerErrorsArePassedOn) {
  testing::FakeLedger ledger;
  needlecheck::v1::RecordFeedbackResponse response;
  ledger.feedback_status = absl::NotFoundError("no alert with this alert_id");
  EXPECT_EQ(HandleRecordFeedback(&ledger, CallState(), kNow, ValidFeedback(),
                                 &response)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  ledger.feedback_status = absl::UnavailableError("disk I/O error");
  EXPECT_EQ(HandleRecordFeedback(&ledger, CallState(), kNow, ValidFeedback(),
                                 &response)
                .error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST(HandleRecordFeedbackTest, NoLedgerIsUnimplemented) {
  needlecheck::v1::RecordFeedbackResponse response;
  EXPECT_EQ(HandleRecordFeedback(nullptr, CallState(), kNow, ValidFeedback(),
                                 &response)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST(HandleRecordFeedbackTest, ExpiredDeadlineDoesNoWork) {
  testing::FakeLedger ledger;
  needlecheck::v1::RecordFeedbackResponse response;
  EXPECT_EQ(HandleRecordFeedback(&ledger, CallState{kNow, false}, kNow,
                                 ValidFeedback(), &response)
                .error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(ledger.feedback.empty());
}

TEST(HandleGetAlertStatsTest, DelegatesToTheLedger) {
  testing::FakeLedger ledger;
  needlecheck::v1::GetAlertStatsRequest request;
  request.set_from_date("2026-11-01");
  needlecheck::v1::AlertStats stats;
  const grpc::Status status =
      HandleGetAlertStats(&ledger, CallState(), kNow, request, &stats);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(stats.screenings(), 7);
  EXPECT_EQ(stats.from_date(), "2026-11-01");
}

TEST(HandleGetAlertStatsTest, InvalidRequestNamesFields) {
  testing::FakeLedger ledger;
  needlecheck::v1::GetAlertStatsRequest request;
  request.set_from_date("2026-11-31");
  request.set_top_reasons(99);
  needlecheck::v1::AlertStats stats;
  const grpc::Status status =
      HandleGetAlertStats(&ledger, CallState(), kNow, request, &stats);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadRequestFields(status),
              ::testing::ElementsAre("from_date", "top_reasons"));
  EXPECT_TRUE(ledger.stats_requests.empty());
}

TEST(HandleGetAlertStatsTest, NoLedgerAndLedgerErrors) {
  needlecheck::v1::AlertStats stats;
  EXPECT_EQ(
      HandleGetAlertStats(nullptr, CallState(), kNow, {}, &stats).error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  testing::FakeLedger ledger;
  ledger.stats_status = absl::UnavailableError("closed");
  EXPECT_EQ(
      HandleGetAlertStats(&ledger, CallState(), kNow, {}, &stats).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

// An access log that keeps the query it was asked.
class RecordingAccessLog : public ledger::AccessLog {
 public:
  absl::Status RecordAccess(ledger::AccessEntry) override {
    return absl::OkStatus();
  }
  absl::StatusOr<ledger::AccessLogPage> ReadAccessLog(
      const ledger::AccessLogQuery& query) override {
    queries.push_back(query);
    return ledger::AccessLogPage();
  }
  absl::StatusOr<int64_t> PruneExpired() override { return 0; }
  std::vector<ledger::AccessLogQuery> queries;
};

absl::Time UtcMidnight(int year, int month, int day) {
  return absl::FromCivil(absl::CivilDay(year, month, day), absl::UTCTimeZone());
}

TEST(HandleGetAccessLogTest, DaysAreWholeUtcDays) {
  RecordingAccessLog log;
  needlecheck::v1::GetAccessLogRequest request;
  request.set_from_date("2028-02-28");
  request.set_to_date("2028-02-29");
  needlecheck::v1::GetAccessLogResponse response;
  const grpc::Status status =
      HandleGetAccessLog(&log, CallState(), kNow, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(log.queries.size(), 1u);
  EXPECT_EQ(log.queries[0].from, UtcMidnight(2028, 2, 28));
  EXPECT_EQ(log.queries[0].to, UtcMidnight(2028, 3, 1));  // exclusive
}

// The exact set of day texts GetAccessLog accepts, and the day each
// means, as it was before the parse moved onto common/calendar. It is
// wider than GetAlertStats's (IsIsoDayTest.AcceptanceIsPinned): a sign,
// one-digit months and days and surrounding blanks are taken.
TEST(HandleGetAccessLogTest, DayAcceptanceIsPinned) {
  const struct {
    const char* text;
    absl::Time start;
  } kAccepted[] = {
      {"2026-11-23", UtcMidnight(2026, 11, 23)},
      {"2028-02-29", UtcMidnight(2028, 2, 29)},
      {"+2026-1-01", UtcMidnight(2026, 1, 1)},
      {" 2026-01-1", UtcMidnight(2026, 1, 1)},
      {"2026-01-1 ", UtcMidnight(2026, 1, 1)},
      {"2026-1-1  ", UtcMidnight(2026, 1, 1)},
      {"02026-1-01", UtcMidnight(2026, 1, 1)},
      {"+026-01-01", UtcMidnight(26, 1, 1)},
      {"0999-01-01", UtcMidnight(999, 1, 1)},
      {"0000-01-01", UtcMidnight(0, 1, 1)},
      {"-999-01-01", UtcMidnight(-999, 1, 1)},
  };
  for (const auto& accepted : kAccepted) {
    RecordingAccessLog log;
    needlecheck::v1::GetAccessLogRequest request;
    request.set_from_date(accepted.text);
    request.set_to_date(accepted.text);
    needlecheck::v1::GetAccessLogResponse response;
    const grpc::Status status =
        HandleGetAccessLog(&log, CallState(), kNow, request, &response);
    ASSERT_TRUE(status.ok()) << accepted.text << ": " << status.error_message();
    ASSERT_EQ(log.queries.size(), 1u);
    EXPECT_EQ(log.queries[0].from, accepted.start) << accepted.text;
    EXPECT_EQ(log.queries[0].to, accepted.start + absl::Hours(24))
        << accepted.text;
  }
  for (const char* text :
       {"", "2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10",
        "2026-01-00", "2026-01-32", "2026/01/01", "2026-1-010", " +026-01-01",
        "2026-01-01\n", "2026-11-23T00:00:00Z", "20261123"}) {
    RecordingAccessLog log;
    needlecheck::v1::GetAccessLogRequest request;
    request.set_from_date(text);
    request.set_to_date("2026-11-23");
    needlecheck::v1::GetAccessLogResponse response;
    const grpc::Status status =
        HandleGetAccessLog(&log, CallState(), kNow, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << text;
    EXPECT_THAT(BadRequestFields(status), ::testing::ElementsAre("from_date"))
        << text;
    EXPECT_TRUE(log.queries.empty()) << text;
  }
}

}  // namespace
}  // namespace needlecheck::server
