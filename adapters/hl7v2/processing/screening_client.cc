#include "adapters/hl7v2/processing/screening_client.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/common/grpc_error_details.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::hl7v2 {
namespace {

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    std::vector<std::string> paths = grpc_client::BadRequestFieldPaths(status);
    return absl::InvalidArgumentError(
        absl::StrCat("needlecheckd rejected the request: ",
                     paths.empty() ? std::string("no field named")
                                   : absl::StrJoin(paths, ", ")));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      grpc_client::PrintableText(status.error_message()));
}

class GrpcScreeningClient : public ScreeningClient {
 public:
  explicit GrpcScreeningClient(std::shared_ptr<grpc::Channel> channel)
      : stub_(needlecheck::v1::ScreeningService::NewStub(std::move(channel))) {}

  absl::StatusOr<needlecheck::v1::ScreenResponse> Screen(
      const needlecheck::v1::ScreenRequest& request,
      absl::Time deadline) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    needlecheck::v1::ScreenResponse response;
    const grpc::Status status = stub_->Screen(&context, request, &response);
    if (!status.ok()) return ToAbsl(status);
    return response;
  }

  absl::StatusOr<needlecheck::v1::KnowledgeBase> GetKnowledgeBase(
      absl::Time deadline) override {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(deadline));
    needlecheck::v1::GetKnowledgeBaseRequest request;
    request.set_include_definition(true);
    needlecheck::v1::KnowledgeBase kb;
    const grpc::Status status = stub_->GetKnowledgeBase(&context, request, &kb);
    if (!status.ok()) return ToAbsl(status);
    return kb;
  }

 private:
  std::unique_ptr<needlecheck::v1::ScreeningService::Stub> stub_;
};

}  // namespace

std::unique_ptr<ScreeningClient> NewGrpcScreeningClient(
    std::shared_ptr<grpc::Channel> channel) {
  return std::make_unique<GrpcScreeningClient>(std::move(channel));
}

}  // namespace needlecheck::hl7v2
