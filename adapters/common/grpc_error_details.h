// What an adapter may repeat of a failed needlecheckd call: the field paths
// of its google.rpc.BadRequest detail and a bounded, printable message.
// Shared by needlecheck-audit (errors.ndjson) and needlecheck-hl7 (ERR-8 of
// an AR).
//
// Contract
// - BadRequestFieldPaths(): the `field` of every field violation in the
//   status's google.rpc.BadRequest details, in order, each cut to 200
//   characters with anything but letters, digits, '_', '.', '[' and ']'
//   replaced by '?': a path as needlecheckd writes it
//   ("record.allergies[0].recorded_date"), never a value. Empty when the
//   status carries no such detail (or it does not parse).
// - PrintableText(): `text` with bytes outside printable ASCII replaced by
//   '?', cut to 300 bytes (then "..." appended), for transport and service
//   messages in logs and outputs.
// - Pure functions, thread-safe.
#ifndef ADAPTERS_COMMON_GRPC_ERROR_DETAILS_H_
#define ADAPTERS_COMMON_GRPC_ERROR_DETAILS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "grpcpp/support/status.h"

namespace needlecheck::grpc_client {

std::vector<std::string> BadRequestFieldPaths(const grpc::Status& status);

std::string PrintableText(absl::string_view text);

}  // namespace needlecheck::grpc_client

#endif  // ADAPTERS_COMMON_GRPC_ERROR_DETAILS_H_
