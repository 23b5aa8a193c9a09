// Hl7Error: an absl::Status that carries what an HL7 v2 ERR segment needs,
// the HL7 table 0357 code and the ERL location (segment ID ^ occurrence ^
// field ^ repetition ^ component ^ subcomponent).
//
// Contract:
// - MakeHl7Error() returns a non-OK status whose message is
//   "hl7v2: <location as a path, e.g. PID(1)-3>: <text>" (no HL7
//   delimiters, so it can go into ERR-8 unescaped) and whose payload
//   (kHl7ErrorPayloadUrl) holds the code and location; Hl7ErrorOf() reads them
//   back. A non-OK status without the payload reads as 207 (application
//   internal error) with no location.
// - Texts never contain patient data: callers pass fixed wording; segment
//   IDs in locations are validated (3 upper-case letters or digits) first.
// - Pure functions, thread-safe.
#ifndef ADAPTERS_HL7V2_HL7_ERROR_H_
#define ADAPTERS_HL7V2_HL7_ERROR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace needlecheck::hl7v2 {

// HL7 table 0357, message error condition codes.
enum class Hl7ErrorCode : int {
  kAccepted = 0,
  kSegmentSequenceError = 100,
  kRequiredFieldMissing = 101,
  kDataTypeError = 102,
  kTableValueNotFound = 103,
  kValueTooLong = 104,
  kUnsupportedMessageType = 200,
  kUnsupportedEventCode = 201,
  kUnsupportedProcessingId = 202,
  kUnsupportedVersionId = 203,
  kUnknownKeyIdentifier = 204,
  kDuplicateKeyIdentifier = 205,
  kApplicationRecordLocked = 206,
  kApplicationInternalError = 207,
};

// The table's display text, e.g. "Required field missing"; "" for a value
// outside the enumeration.
absl::string_view Hl7ErrorCodeText(Hl7ErrorCode code);

// ERL: an empty segment_id means "no location"; a 0 number means "not
// given" (that component and those after it are left out of ERR-2).
struct Hl7ErrorLocation {
  std::string segment_id;    // e.g. "PID"
  int segment_sequence = 0;  // 1 = first segment with this ID
  int field = 0;             // HL7 numbering (MSH-1 is the separator)
  int repetition = 0;
  int component = 0;
  int subcomponent = 0;

  // "PID^1^3" style with '^'; "" when segment_id is empty.
  std::string ToString(char component_separator = '^') const;
  // "PID(1)-3(2).1.1" style (Er7Message::Get syntax); "message" when
  // segment_id is empty.
  std::string ToPath() const;
  bool operator==(const Hl7ErrorLocation& o) const;
};

struct Hl7ErrorDetail {
  Hl7ErrorCode code = Hl7ErrorCode::kApplicationInternalError;
  Hl7ErrorLocation location;
};

inline constexpr absl::string_view kHl7ErrorPayloadUrl =
    "urn:needlecheck:hl7v2:error";

// `status_code` is the absl code (kInvalidArgument for a bad message,
// kResourceExhausted for a limit, kUnimplemented for unsupported types).
absl::Status MakeHl7Error(absl::StatusCode status_code, Hl7ErrorCode code,
                          const Hl7ErrorLocation& location,
                          absl::string_view text);

// The code and location of `status` (see the contract above); for an OK
// status, code kAccepted.
Hl7ErrorDetail Hl7ErrorOf(const absl::Status& status);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_HL7_ERROR_H_
