// BuildAck: the original-mode HL7 v2 acknowledgment (ER7 text, segments
// ending in CR, not MLLP-framed) that interface engines parse:
//
//   MSH|^~\&|<in MSH-5>|<in MSH-6>|<in MSH-3>|<in MSH-4>|<time>||
//       ACK^<in trigger>^ACK|<new id>|<in MSH-11 or P>|<in MSH-12 or 2.5.1>
//   MSA|<AA/AE/AR>|<in MSH-10>|<text>
//   ERR||<ERL e.g. PID^1^3>|<0357 code>^<0357 text>^HL70357|E||||<message>
//                                          (one per AckError)
//   ERR|||0^Message accepted^HL70357|<W or I>|<rule>^<summary>^
//       urn:needlecheck:rule||<SEVERITY>: <detail>|<summary>
//                                          (one per AckAlert)
//
// With `incoming` (a message Parse() accepted) the ACK uses its delimiters
// (MSH-2 as written, truncation character included) and copies MSH-3..6
// raw (control bytes escaped), swapped; MSH-12 is echoed when supported.
// Without it (unparseable bytes) the ACK uses the default delimiters, empty
// sender/receiver fields except MSH-3 = AckParams::application, and the
// MSH-9 trigger and MSA-2 from RecoverHeader(raw_incoming). Every text is
// escaped for the ACK's delimiters (er7_escape.h), so the result always parses
// back with Er7Message::Parse. Pure function, thread-safe.
#ifndef ADAPTERS_HL7V2_ACK_BUILDER_H_
#define ADAPTERS_HL7V2_ACK_BUILDER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"

namespace needlecheck::hl7v2 {

// MSA-1.
enum class AckCode {
  kAccept,  // AA: processed (alerts or not)
  kError,   // AE: a problem worth retrying
  kReject,  // AR: the message itself is unacceptable
};
absl::string_view AckCodeText(AckCode code);  // "AA", "AE", "AR"

// One ERR of an AE/AR.
struct AckError {
  Hl7ErrorCode code = Hl7ErrorCode::kApplicationInternalError;
  Hl7ErrorLocation location;  // ERR-2; none when segment_id is empty
  std::string message;        // ERR-8; never patient data
};

// The code, location (hl7_error.h payload) and message of `status`. The
// statuses of this library carry no patient data in their messages; other
// callers pass their own `message`.
AckError AckErrorFromStatus(const absl::Status& status);

enum class AlertSeverity { kCritical, kWarning, kInfo };
absl::string_view AlertSeverityName(AlertSeverity s);  // "CRITICAL", ...

// One screening alert riding in an AA.
struct AckAlert {
  std::string rule_id;                               // ERR-5.1
  std::string summary;                               // ERR-5.2 and ERR-8
  AlertSeverity severity = AlertSeverity::kWarning;  // ERR-4 W or I
  std::string detail;  // ERR-7 after "<SEVERITY>: "
};

struct AckParams {
  AckCode code = AckCode::kAccept;
  std::string text;              // MSA-3; may be empty
  std::vector<AckError> errors;  // written first
  std::vector<AckAlert> alerts;  // written after the errors
  std::string control_id;        // the ACK's own MSH-10 (caller's new id)
  absl::Time time = absl::UnixEpoch();      // MSH-7, written in UTC
  std::string application = "NEEDLECHECK";  // MSH-3 when no incoming MSH-5
};

inline constexpr absl::string_view kDefaultAckVersion = "2.5.1";

std::string BuildAck(const Er7Message* incoming, absl::string_view raw_incoming,
                     const AckParams& params);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_ACK_BUILDER_H_
