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

}  // namespace
}  // namespace needlecheck::server
