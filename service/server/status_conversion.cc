#include "service/server/status_conversion.h"

#include <optional>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace needlecheck::server {
namespace {
constexpr int kMaxViolationsInMessage = 10;
}  // namespace

absl::Status BadRequestError(
    absl::string_view summary,
    const std::vector<engine::FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  std::string message(summary);
  int listed = 0;
  for (const engine::FieldViolation& v : violations) {
    google::rpc::BadRequest::FieldViolation* fv =
        bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
    if (listed < kMaxViolationsInMessage) {
      absl::StrAppend(&message, listed == 0 ? ": " : "; ", v.field, ": ",
                      v.description);
      ++listed;
    }
  }
  if (violations.size() > static_cast<size_t>(listed)) {
    absl::StrAppend(&message, "; and ", violations.size() - listed, " more");
  }
  absl::Status status = absl::InvalidArgumentError(message);
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status PrefixMessage(const absl::Status& status,
                           absl::string_view prefix) {
  if (status.ok()) return status;
  absl::Status out(status.code(), absl::StrCat(prefix, status.message()));
  status.ForEachPayload(
      [&out](absl::string_view type_url, const absl::Cord& payload) {
        out.SetPayload(type_url, payload);
      });
  return out;
}

std::string ViolationFields(const absl::Status& status) {
  auto payload = status.GetPayload(kBadRequestTypeUrl);
  if (!payload.has_value()) return "";
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return "";
  return absl::StrJoin(
      bad_request.field_violations(), ",",
      [](std::string* out, const google::rpc::BadRequest::FieldViolation& v) {
        out->append(v.field());
      });
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  google::rpc::Status rpc_status;
  status.ForEachPayload(
      [&rpc_status](absl::string_view type_url, const absl::Cord& payload) {
        google::protobuf::Any* any = rpc_status.add_details();
        any->set_type_url(std::string(type_url));
        any->set_value(std::string(payload));
      });
  if (rpc_status.details_size() == 0) return grpc::Status(code, message);
  rpc_status.set_code(static_cast<int>(status.code()));
  rpc_status.set_message(message);
  return grpc::Status(code, message, rpc_status.SerializeAsString());
}

}  // namespace needlecheck::server
