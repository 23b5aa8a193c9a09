#include "adapters/common/grpc_error_details.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace needlecheck::grpc_client {
namespace {

std::string SafeFieldPath(absl::string_view path) {
  std::string out;
  for (char c : path.substr(0, 200)) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '_' || c == '.' || c == '[' || c == ']';
    out += ok ? c : '?';
  }
  return out;
}

}  // namespace

std::vector<std::string> BadRequestFieldPaths(const grpc::Status& status) {
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

std::string PrintableText(absl::string_view text) {
  std::string out;
  for (char c : text.substr(0, 300)) {
    const unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u >= 0x7f) ? '?' : c;
  }
  if (text.size() > 300) out += "...";
  return out;
}

}  // namespace needlecheck::grpc_client
