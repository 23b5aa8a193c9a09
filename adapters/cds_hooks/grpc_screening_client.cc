#include "adapters/cds_hooks/grpc_screening_client.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/net/caller_metadata.h"
#include "common/net/percent_encoding.h"
#include "common/trace/traceparent.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::cds_hooks {

namespace {

// needlecheckd's access trail reads these (common/net/caller_metadata.h).
void AddOnBehalfOf(grpc::ClientContext* context, const OnBehalfOf& on_behalf) {
  const std::pair<const char*, const std::string*> fields[] = {
      {net::kCallerIssKey, &on_behalf.iss},
      {net::kCallerSubKey, &on_behalf.sub},
      {net::kCallerTenantKey, &on_behalf.tenant},
      {net::kCallerUserKey, &on_behalf.user_id},
      {trace::kTraceparentHeader, &on_behalf.traceparent}};
  for (const auto& [key, value] : fields) {
    if (!value->empty()) {
      context->AddMetadata(key, net::PercentEncodeUnprintable(*value));
    }
  }
}

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

// One call of the callback API: what gRPC needs to outlive the call (held by
// the completion callback, freed after it) and the caller's `done`. The
// request is the caller's, valid until `done` has run.
template <typename Response>
struct AsyncCall {
  grpc::ClientContext context;
  Response response;
  std::function<void(absl::StatusOr<Response>)> done;

  void Finish(const grpc::Status& status) {
    if (!status.ok()) {
      done(ToAbsl(status));
    } else {
      done(std::move(response));
    }
  }
};

class GrpcScreeningClient : public ScreeningClient {
 public:
  GrpcScreeningClient(std::shared_ptr<grpc::Channel> channel,
                      absl::Duration timeout)
      : stub_(needlecheck::v1::ScreeningService::NewStub(std::move(channel))),
        timeout_(timeout) {}

  absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request, absl::Time deadline,
      const OnBehalfOf& on_behalf) override {
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    AddOnBehalfOf(&context, on_behalf);
    needlecheck::v1::ScreenResponse response;
    const grpc::Status status = stub_->Screen(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  void ScreenAsync(const needlecheck::v1::ScreenRequest& request,
                   absl::Time deadline, const OnBehalfOf& on_behalf,
                   ScreenDone done) override {
    auto call = std::make_shared<AsyncCall<needlecheck::v1::ScreenResponse>>();
    call->done = std::move(done);
    SetDeadline(&call->context, deadline);
    AddOnBehalfOf(&call->context, on_behalf);
    stub_->async()->Screen(
        &call->context, &request, &call->response,
        [call](grpc::Status status) { call->Finish(status); });
  }

  void GetKnowledgeBaseAsync(absl::Time deadline,
                             KnowledgeBaseDone done) override {
    static const needlecheck::v1::GetKnowledgeBaseRequest kRequest;
    auto call = std::make_shared<AsyncCall<needlecheck::v1::KnowledgeBase>>();
    call->done = std::move(done);
    SetDeadline(&call->context, deadline);
    stub_->async()->GetKnowledgeBase(
        &call->context, &kRequest, &call->response,
        [call](grpc::Status status) { call->Finish(status); });
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
      const needlecheck::v1::RecordFeedbackRequest& request,
      const OnBehalfOf& on_behalf) override {
    grpc::ClientContext context;
    SetDeadline(&context, absl::InfiniteFuture());
    AddOnBehalfOf(&context, on_behalf);
    needlecheck::v1::RecordFeedbackResponse response;
    const grpc::Status status =
        stub_->RecordFeedback(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  absl::Status RecordAccess(const needlecheck::v1::RecordAccessRequest& request,
                            absl::Time deadline,
                            const OnBehalfOf& on_behalf) override {
    grpc::ClientContext context;
    SetDeadline(&context, deadline);
    AddOnBehalfOf(&context, on_behalf);
    needlecheck::v1::RecordAccessResponse response;
    return ToAbsl(stub_->RecordAccess(&context, request, &response));
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
