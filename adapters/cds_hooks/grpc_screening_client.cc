#include "adapters/cds_hooks/grpc_screening_client.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::cds_hooks {

namespace {

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

class GrpcScreeningClient : public ScreeningClient {
 public:
  GrpcScreeningClient(std::shared_ptr<grpc::Channel> channel,
                      absl::Duration timeout)
      : stub_(needlecheck::v1::ScreeningService::NewStub(std::move(channel))),
        timeout_(timeout) {}

  absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request,
      absl::Time deadline) override {
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    needlecheck::v1::ScreenResponse response;
    const grpc::Status status = stub_->Screen(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  absl::StatusOr<needlecheck::v1::KnowledgeBase> GetKnowledgeBase(
      absl::Time deadline) override {
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    needlecheck::v1::KnowledgeBase kb;
    const grpc::Status status = stub_->GetKnowledgeBase(
        &context, needlecheck::v1::GetKnowledgeBaseRequest(), &kb);
    if (!status.ok()) return ToAbsl(status);
    return kb;
  }

  absl::StatusOr<needlecheck::v1::RecordFeedbackResponse> RecordFeedback(
      const needlecheck::v1::RecordFeedbackRequest& request) override {
    grpc::ClientContext context;
    SetDeadline(&context, absl::InfiniteFuture());
    needlecheck::v1::RecordFeedbackResponse response;
    const grpc::Status status =
        stub_->RecordFeedback(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

 private:
  // Now + the per-call timeout, or `deadline` when that is sooner.
  void SetDeadline(grpc::ClientContext* context, absl::Time deadline) const {
    context->set_deadline(
        absl::ToChronoTime(std::min(absl::Now() + timeout_, deadline)));
  }

  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub_;
  const absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<ScreeningClient> NewGrpcScreeningClient(
    std::shared_ptr<grpc::Channel> channel, absl::Duration rpc_timeout) {
  return std::make_unique<GrpcScreeningClient>(std::move(channel), rpc_timeout);
}

}  // namespace needlecheck::cds_hooks
