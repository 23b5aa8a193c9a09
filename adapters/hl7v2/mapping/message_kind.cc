#include "adapters/hl7v2/mapping/message_kind.h"

#include <string>

namespace needlecheck::hl7v2 {
namespace {

bool IsOneOf(const std::string& value,
             std::initializer_list<const char*> list) {
  for (const char* item : list) {
    if (value == item) return true;
  }
  return false;
}

}  // namespace

MessageKind ClassifyMessage(const Er7Message& message) {
  const std::string& type = message.header().message_type;
  const std::string& event = message.header().trigger_event;
  if (type == "ADT") {
    if (IsOneOf(event, {"A01", "A04", "A08", "A28", "A31", "A60"})) {
      return MessageKind::kPatientUpdate;
    }
    if (event == "A40") return MessageKind::kPatientMerge;
    return MessageKind::kAcknowledgeOnly;
  }
  if (type == "SIU") {
    if (IsOneOf(event, {"S12", "S14"})) return MessageKind::kBooking;
    return MessageKind::kAcknowledgeOnly;
  }
  if ((type == "ORM" && event == "O01") || (type == "OMG" && event == "O19")) {
    return MessageKind::kBooking;
  }
  return MessageKind::kUnsupported;
}

Hl7ErrorCode UnsupportedCode(const Er7Message& message) {
  const std::string& type = message.header().message_type;
  return type == "ORM" || type == "OMG" ? Hl7ErrorCode::kUnsupportedEventCode
                                        : Hl7ErrorCode::kUnsupportedMessageType;
}

absl::Status UnsupportedMessageError(const Er7Message& message) {
  const Hl7ErrorCode code = UnsupportedCode(message);
  Hl7ErrorLocation location;
  location.segment_id = "MSH";
  location.segment_sequence = 1;
  location.field = 9;
  location.repetition = 1;
  const bool event = code == Hl7ErrorCode::kUnsupportedEventCode;
  location.component = event ? 2 : 1;
  return MakeHl7Error(absl::StatusCode::kUnimplemented, code, location,
                      event ? "this trigger event is not supported"
                            : "this message type is not supported");
}

}  // namespace needlecheck::hl7v2
