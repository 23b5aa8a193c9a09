#include "adapters/hl7v2/hl7_error.h"

#include <vector>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace needlecheck::hl7v2 {

absl::string_view Hl7ErrorCodeText(Hl7ErrorCode code) {
  switch (code) {
    case Hl7ErrorCode::kAccepted:
      return "Message accepted";
    case Hl7ErrorCode::kSegmentSequenceError:
      return "Segment sequence error";
    case Hl7ErrorCode::kRequiredFieldMissing:
      return "Required field missing";
    case Hl7ErrorCode::kDataTypeError:
      return "Data type error";
    case Hl7ErrorCode::kTableValueNotFound:
      return "Table value not found";
    case Hl7ErrorCode::kValueTooLong:
      return "Value too long";
    case Hl7ErrorCode::kUnsupportedMessageType:
      return "Unsupported message type";
    case Hl7ErrorCode::kUnsupportedEventCode:
      return "Unsupported event code";
    case Hl7ErrorCode::kUnsupportedProcessingId:
      return "Unsupported processing id";
    case Hl7ErrorCode::kUnsupportedVersionId:
      return "Unsupported version id";
    case Hl7ErrorCode::kUnknownKeyIdentifier:
      return "Unknown key identifier";
    case Hl7ErrorCode::kDuplicateKeyIdentifier:
      return "Duplicate key identifier";
    case Hl7ErrorCode::kApplicationRecordLocked:
      return "Application record locked";
    case Hl7ErrorCode::kApplicationInternalError:
      return "Application internal error";
  }
  return "";
}

std::string Hl7ErrorLocation::ToString(char component_separator) const {
  if (segment_id.empty()) return "";
  std::string out = segment_id;
  const int numbers[] = {segment_sequence, field, repetition, component,
                         subcomponent};
  for (int n : numbers) {
    if (n <= 0) break;
    out.push_back(component_separator);
    absl::StrAppend(&out, n);
  }
  return out;
}

std::string Hl7ErrorLocation::ToPath() const {
  if (segment_id.empty()) return "message";
  std::string out = segment_id;
  if (segment_sequence > 0) absl::StrAppend(&out, "(", segment_sequence, ")");
  if (field <= 0) return out;
  absl::StrAppend(&out, "-", field);
  if (repetition > 0) absl::StrAppend(&out, "(", repetition, ")");
  if (component <= 0) return out;
  absl::StrAppend(&out, ".", component);
  if (subcomponent > 0) absl::StrAppend(&out, ".", subcomponent);
  return out;
}

bool Hl7ErrorLocation::operator==(const Hl7ErrorLocation& o) const {
  return segment_id == o.segment_id && segment_sequence == o.segment_sequence &&
         field == o.field && repetition == o.repetition &&
         component == o.component && subcomponent == o.subcomponent;
}

absl::Status MakeHl7Error(absl::StatusCode status_code, Hl7ErrorCode code,
                          const Hl7ErrorLocation& location,
                          absl::string_view text) {
  absl::Status status(status_code,
                      absl::StrCat("hl7v2: ", location.ToPath(), ": ", text));
  // code|segment|sequence|field|repetition|component|subcomponent
  status.SetPayload(
      kHl7ErrorPayloadUrl,
      absl::Cord(absl::StrCat(static_cast<int>(code), "|", location.segment_id,
                              "|", location.segment_sequence, "|",
                              location.field, "|", location.repetition, "|",
                              location.component, "|", location.subcomponent)));
  return status;
}

Hl7ErrorDetail Hl7ErrorOf(const absl::Status& status) {
  Hl7ErrorDetail detail;
  if (status.ok()) {
    detail.code = Hl7ErrorCode::kAccepted;
    return detail;
  }
  absl::optional<absl::Cord> payload = status.GetPayload(kHl7ErrorPayloadUrl);
  if (!payload.has_value()) return detail;
  const std::vector<std::string> parts =
      absl::StrSplit(std::string(*payload), '|');
  if (parts.size() != 7) return detail;
  int numbers[6] = {0, 0, 0, 0, 0, 0};
  int code = 0;
  if (!absl::SimpleAtoi(parts[0], &code) ||
      Hl7ErrorCodeText(static_cast<Hl7ErrorCode>(code)).empty()) {
    return detail;
  }
  for (int i = 2; i < 7; ++i) {
    if (!absl::SimpleAtoi(parts[i], &numbers[i - 2])) return detail;
  }
  detail.code = static_cast<Hl7ErrorCode>(code);
  detail.location.segment_id = parts[1];
  detail.location.segment_sequence = numbers[0];
  detail.location.field = numbers[1];
  detail.location.repetition = numbers[2];
  detail.location.component = numbers[3];
  detail.location.subcomponent = numbers[4];
  return detail;
}

}  // namespace needlecheck::hl7v2
