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
// - Everything sent back is bounded so that it fits in a default client's
//   8 KiB of metadata, however many problems a request has: a BadRequest
//   lists at most kMaxViolationsInDetails violations (and at most
//   kMaxDetailsBytes of them) followed by one FieldViolation with field
//   "..." counting the rest; fields and descriptions are shortened to
//   kMaxViolationTextBytes; the status message to kMaxStatusMessageBytes.
//   Otherwise a request with hundreds of problems would reach the client as
//   RESOURCE_EXHAUSTED (metadata too large) instead of INVALID_ARGUMENT.
// - Thread-safe, no state.
#ifndef SERVICE_SERVER_STATUS_CONVERSION_H_
#define SERVICE_SERVER_STATUS_CONVERSION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"
#include "service/engine/input_validation.h"

namespace needlecheck::server {

inline constexpr absl::string_view kBadRequestTypeUrl =
    "type.googleapis.com/google.rpc.BadRequest";

// Bounds on what an error sends back (see the contract above).
inline constexpr int kMaxViolationsInDetails = 20;
inline constexpr size_t kMaxDetailsBytes = 3 * 1024;
inline constexpr size_t kMaxViolationTextBytes = 160;
inline constexpr size_t kMaxStatusMessageBytes = 1024;

// The field of the last FieldViolation when some were left out; its
// description says how many ("and 180 more violations not listed").
inline constexpr absl::string_view kMoreViolationsField = "...";

// INVALID_ARGUMENT whose message is `summary` followed by the first
// violations ("summary: session.date: required; ..."; at most 10 listed,
// then "and N more") and whose payload is a google.rpc.BadRequest with the
// first kMaxViolationsInDetails of them, plus a kMoreViolationsField entry
// counting the others when there are more.
absl::Status BadRequestError(
    absl::string_view summary,
    const std::vector<engine::FieldViolation>& violations);

// The same status with `prefix` put in front of its message; payloads kept.
absl::Status PrefixMessage(const absl::Status& status,
                           absl::string_view prefix);

// `status` for a request a stream could not process: the message prefixed
// with "request at index N (request_id \"ID\"): ", the id C-escaped and
// cut to 64 bytes; payloads kept.
absl::Status StreamRequestError(const absl::Status& status, int64_t index,
                                absl::string_view request_id);

// The field paths of a BadRequest payload, comma-separated ("" if none;
// bounded as the payload is): safe to log.
std::string ViolationFields(const absl::Status& status);

// The status for the wire: same code, the message shortened to
// kMaxStatusMessageBytes, payloads packed into error_details().
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace needlecheck::server

#endif  // SERVICE_SERVER_STATUS_CONVERSION_H_
