// ScreeningServiceImpl over real gRPC in-process (port 0 on loopback), with
// the engine backend and the bundled knowledge base.
#include "service/server/screening_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "service/server/server_options.h"
#include "tests/service/server/test_records.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck::server {
namespace {

using ::needlecheck::server::testing::EczemaRequest;
using ::needlecheck::testing::IsOk;
using ::needlecheck::v1::ScreenRequest;
using ::needlecheck::v1::ScreenResponse;
using ::testing::Contains;
using ::testing::HasSubstr;

std::vector<std::string> DetailFields(const grpc::Status& status) {
  std::vector<std::string> fields;
  google::rpc::Status rpc;
  if (!rpc.ParseFromString(status.error_details())) return fields;
  for (const auto& any : rpc.details()) {
    google::rpc::BadRequest bad_request;
    if (!any.UnpackTo(&bad_request)) continue;
    for (const auto& v : bad_request.field_violations()) {
      fields.push_back(v.field());
    }
  }
  return fields;
}

class ScreeningServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(store_.Load(), IsOk());
    backend_ = CreateEngineBackend(&store_);
    service_ = std::make_unique<ScreeningServiceImpl>(backend_.get());
    ServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.max_receive_message_bytes = 64 * 1024;
    grpc::ServerBuilder builder;
    ApplyServerOptions(options, &builder);
    int port = 0;
    AddListeningPort(options, &builder, &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    stub_ = needlecheck::v1::ScreeningService::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }

  std::unique_ptr<grpc::ClientContext> Context() {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(60));
    return context;
  }

  KnowledgeBaseStore store_{FileOrBundledLoader(""),
                            [] { return absl::Now(); }};
  std::unique_ptr<ScreeningBackend> backend_;
  std::unique_ptr<ScreeningServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub_;
};

TEST_F(ScreeningServiceTest, Screen) {
  ScreenResponse response;
  const grpc::Status status =
      stub_->Screen(Context().get(), EczemaRequest("u-1"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.request_id(), "u-1");
  std::vector<std::string> rules;
  for (const auto& a : response.alerts()) rules.push_back(a.rule_id());
  EXPECT_THAT(rules, Contains("MN-CI-ECZEMA"));
}

TEST_F(ScreeningServiceTest, ScreenRejectsBadInputWithDetails) {
  ScreenRequest request = EczemaRequest("u-2");
  request.mutable_session()->clear_date();
  ScreenResponse response;
  const grpc::Status status =
      stub_->Screen(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("session.date"));
  EXPECT_THAT(DetailFields(status), Contains("session.date"));
}

TEST_F(ScreeningServiceTest, ScreenAboveMaxMessageSize) {
  ScreenRequest request = EczemaRequest("big");
  request.mutable_record()->mutable_conditions(0)->mutable_code()->set_text(
      std::string(128 * 1024, 'x'));
  ScreenResponse response;
  const grpc::Status status =
      stub_->Screen(Context().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(ScreeningServiceTest, ExpiredDeadline) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() -
                       std::chrono::seconds(1));
  ScreenResponse response;
  EXPECT_EQ(
      stub_->Screen(&context, EczemaRequest("late"), &response).error_code(),
      grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST_F(ScreeningServiceTest, StreamAnswersInOrder) {
  auto context = Context();
  auto stream = stub_->ScreenStream(context.get());
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(stream->Write(EczemaRequest(absl::StrCat("s-", i))));
    ScreenResponse response;
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.request_id(), absl::StrCat("s-", i));
    EXPECT_GT(response.alerts_size(), 0);
  }
  ASSERT_TRUE(stream->WritesDone());
  ScreenResponse extra;
  EXPECT_FALSE(stream->Read(&extra));
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(ScreeningServiceTest, EmptyStreamIsOk) {
  auto context = Context();
  auto stream = stub_->ScreenStream(context.get());
  ASSERT_TRUE(stream->WritesDone());
  ScreenResponse response;
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ScreeningServiceTest, BadRequestEndsTheStreamNamingItsPosition) {
  auto context = Context();
  auto stream = stub_->ScreenStream(context.get());
  std::vector<ScreenRequest> requests = {EczemaRequest("a"), EczemaRequest("b"),
                                         EczemaRequest("c"),
                                         EczemaRequest("d")};
  requests[2].mutable_session()->set_date("2026-02-30");
  // Write everything first: the server reads one at a time, so these are
  // buffered by flow control.
  for (const ScreenRequest& r : requests) {
    if (!stream->Write(r)) break;
  }
  stream->WritesDone();
  std::vector<std::string> ids;
  ScreenResponse response;
  while (stream->Read(&response)) ids.push_back(response.request_id());
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("index 2"));
  EXPECT_THAT(status.error_message(), HasSubstr("\"c\""));
  EXPECT_THAT(DetailFields(status), Contains("session.date"));
}

TEST_F(ScreeningServiceTest, GetKnowledgeBase) {
  needlecheck::v1::KnowledgeBase kb;
  const grpc::Status status = stub_->GetKnowledgeBase(
      Context().get(), needlecheck::v1::GetKnowledgeBaseRequest(), &kb);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(kb.version(), store_.Current().kb->version());
  EXPECT_FALSE(kb.loaded_at().empty());
  EXPECT_GT(kb.rules_size(), 0);
}

}  // namespace
}  // namespace needlecheck::server
