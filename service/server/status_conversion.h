// Conversion of absl::Status to grpc::Status, and error details.
//
// Contract
// - Libraries below the server speak absl::Status. Error details travel as
//   absl::Status payloads keyed by their type URL
//   ("type.googleapis.com/google.rpc.BadRequest") holding the serialized
//   message. ToGrpcStatus() maps the code one to one, keeps the message and
//   packs every payload as a google.protobuf.Any into a google.rpc.Status,
//   serialized into grpc::Status::error_details() (the
//   "grpc-status-details-bin" trailer that gRPC clients decode).
// - Thread-safe, no state.
#ifndef SERVICE_SERVER_STATUS_CONVERSION_H_
#define SERVICE_SERVER_STATUS_CONVERSION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"
#include "service/engine/input_validation.h"

namespace needlecheck::server {

inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";

// INVALID_ARGUMENT whose message is `summary` followed by every violation
// ("summary: session.date: required; ..."; at most 10 listed, then "and N
// more") and whose payload is a google.rpc.BadRequest with all of them.
absl::Status BadRequestError(
    absl::string_view summary,
    const std::vector<engine::FieldViolation>& violations);

// The same status with `prefix` put in front of its message; payloads kept.
absl::Status PrefixMessage(const absl::Status& status,
                           absl::string_view prefix);

// The field paths of a BadRequest payload, comma-separated ("" if none):
// safe to log.
std::string ViolationFields(const absl::Status& status);

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_STATUS_CONVERSION_H_
