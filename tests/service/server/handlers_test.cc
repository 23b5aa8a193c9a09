#include "service/server/handlers.h"

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "service/server/status_conversion.h"

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
  EXPECT_TRUE(HandleGetKnowledgeBase(backend, CallState(), kNow, &kb).ok());
  EXPECT_EQ(kb.version(), "fake");
}

TEST(HandleGetKnowledgeBaseTest, ExpiredDeadlineDoesNoWork) {
  FakeBackend backend;
  KnowledgeBase kb;
  const grpc::Status status = HandleGetKnowledgeBase(
      backend, CallState{kNow - absl::Milliseconds(1), false}, kNow, &kb);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(backend.kb_calls, 0);
}

TEST(HandleGetKnowledgeBaseTest, UnavailableIsPassedOn) {
  FakeBackend backend;
  backend.status = absl::UnavailableError("no knowledge base is loaded");
  KnowledgeBase kb;
  EXPECT_EQ(
      HandleGetKnowledgeBase(backend, CallState(), kNow, &kb).error_code(),
      grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace needlecheck::server
