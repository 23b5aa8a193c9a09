#include "service/server/status_conversion.h"

#include <optional>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace needlecheck::server {
namespace {

constexpr size_t kMaxViolationsInMessage = 10;

// `text` cut to at most `max_bytes` (ending in "..." when cut), never in
// the middle of a UTF-8 sequence.
std::string Shorten(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  constexpr absl::string_view kEllipsis = "...";
  size_t cut = max_bytes > kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(text.substr(0, cut), kEllipsis);
}

}  // namespace

absl::Status BadRequestError(
    absl::string_view summary,
    const std::vector<engine::FieldViolation>& violations) {
  google::rpc::BadRequest bad_request;
  size_t details_bytes = 0;
  for (const engine::FieldViolation& v : violations) {
    if (bad_request.field_violations_size() >= kMaxViolationsInDetails) break;
    google::rpc::BadRequest::FieldViolation fv;
    fv.set_field(Shorten(v.field, kMaxViolationTextBytes));
    fv.set_description(Shorten(v.description, kMaxViolationTextBytes));
    details_bytes += fv.ByteSizeLong() + 3;  // + tag and length
    if (details_bytes > kMaxDetailsBytes) break;
    *bad_request.add_field_violations() = std::move(fv);
  }
  const size_t left_out =
      violations.size() -
      static_cast<size_t>(bad_request.field_violations_size());
  if (left_out > 0) {
    google::rpc::BadRequest::FieldViolation* more =
        bad_request.add_field_violations();
    more->set_field(std::string(kMoreViolationsField));
    more->set_description(
        absl::StrCat("and ", left_out, " more violations not listed"));
  }

  std::string message(summary);
  size_t listed = 0;
  for (const engine::FieldViolation& v : violations) {
    if (listed == kMaxViolationsInMessage) break;
    absl::StrAppend(&message, listed == 0 ? ": " : "; ",
                    Shorten(v.field, kMaxViolationTextBytes), ": ",
                    Shorten(v.description, kMaxViolationTextBytes));
    ++listed;
  }
  if (violations.size() > listed) {
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

absl::Status StreamRequestError(const absl::Status& status, int64_t index,
                                absl::string_view request_id) {
  constexpr size_t kMaxEchoedRequestIdBytes = 64;
  return PrefixMessage(
      status, absl::StrCat("request at index ", index, " (request_id \"",
                           absl::CHexEscape(
                               Shorten(request_id, kMaxEchoedRequestIdBytes)),
                           "\"): "));
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
  const std::string message = Shorten(status.message(), kMaxStatusMessageBytes);
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
