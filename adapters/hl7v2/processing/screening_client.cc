#include "adapters/hl7v2/processing/screening_client.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpcpp/grpcpp.h"
#include "needlecheck/v1/screening.grpc.pb.h"

namespace needlecheck::hl7v2 {
namespace {

// A field path as needlecheckd writes them ("record.allergies[0].onset");
// anything else becomes '?', so that no value can ride along.
std::string SafeFieldPath(absl::string_view path) {
  std::string out;
  for (char c : path.substr(0, 200)) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '_' || c == '.' || c == '[' || c == ']';
    out += ok ? c : '?';
  }
  return out;
}

// Printable ASCII and at most 300 bytes.
std::string Printable(absl::string_view text) {
  std::string out;
  for (char c : text.substr(0, 300)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  return out;
}

// The field paths of the google.rpc.BadRequest details of `status`.
std::vector<std::string> RejectedFieldPaths(const grpc::Status& status) {
  std::vector<std::string> paths;
  google::rpc::Status rpc;
  if (status.error_details().empty() ||
      !rpc.ParseFromString(status.error_details())) {
    return paths;
  }
  for (const google::protobuf::Any& detail : rpc.details()) {
    if (!absl::EndsWith(detail.type_url(), "google.rpc.BadRequest")) continue;
    google::rpc::BadRequest bad_request;
    if (!detail.UnpackTo(&bad_request)) continue;
    for (const auto& violation : bad_request.field_violations()) {
      paths.push_back(SafeFieldPath(violation.field()));
    }
  }
  return paths;
}

absl::Status ToAbsl(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
    std::vector<std::string> paths = RejectedFieldPaths(status);
    return absl::InvalidArgumentError(
        absl::StrCat("needlecheckd rejected the request: ",
                     paths.empty() ? std::string("no field named")
                                   : absl::StrJoin(paths, ", ")));
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      Printable(status.error_message()));
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
