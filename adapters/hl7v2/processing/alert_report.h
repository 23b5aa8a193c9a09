// The alerts of a screened booking as HL7 v2: the ERR segments of the AA
// (AckAlertsOf, for ack_builder.h) and the ORU^R01 the listener sends to
// --alerts_to (BuildAlertsOru).
//
// The ORU^R01, exactly (ER7, segments ending in CR, not MLLP-framed; the
// booking's delimiters):
//
//   MSH|^~\&|<app>||<booking MSH-3>|<booking MSH-4>|<time>||ORU^R01^ORU_R01|
//       <control id>|<booking MSH-11.1 or P>|<booking MSH-12 or 2.5.1>
//   PID|<every field of the booking's first PID, copied as written>
//   OBR|1|<placer id>|<filler id>|<booked service>|||<session date>|||||||||
//       ||||||<time>|||F
//   OBX|<n>|TX|<rule id>^<summary>^urn:needlecheck:rule||<SEVERITY>: <detail>
//       ||||<AA for CRITICAL, A for WARNING, empty for INFO>|||F|||<time>
//                                    (one OBX per alert, in response order)
//
// - <placer id>/<filler id>: SCH-1/SCH-2 of an SIU, ORC-2/ORC-3 (else
//   OBR-2/OBR-3) of an ORM/OMG, copied as written.
// - <booked service>: the field that named the microneedling service
//   (Booking::service_location: AIS-3, SCH-7/8, OBR-4 or OBR-44), else the
//   first AIS-3 (SIU) or OBR-4 (ORM/OMG), copied as written.
// - <session date>: the screened session's date as an HL7 DT (YYYYMMDD).
// - <time>: the screening time, UTC, YYYYMMDDHHMMSS+0000.
// - OBX-3.2 is the alert summary, OBX-5 "<SEVERITY>: <detail>" (the same
//   text as the ACK's ERR-7); OBX-8 follows HL7 table 0078.
// Fields copied from the booking have control bytes escaped (as the ACK
// does); our own texts are escaped for the delimiters (er7_escape.h). The
// result parses back with Er7Message::Parse and passes ValidateHeader.
// Pure functions, thread-safe.
#ifndef ADAPTERS_HL7V2_PROCESSING_ALERT_REPORT_H_
#define ADAPTERS_HL7V2_PROCESSING_ALERT_REPORT_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "adapters/hl7v2/ack_builder.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "needlecheck/v1/alert.pb.h"
#include "needlecheck/v1/screening.pb.h"
#include "needlecheck/v1/session.pb.h"

namespace needlecheck::hl7v2 {

// CRITICAL and WARNING -> W (ack_builder.h), INFO -> I; an unspecified
// severity counts as WARNING.
AlertSeverity AlertSeverityOf(needlecheck::v1::Severity severity);

// One AckAlert per alert of `response`, in its order.
std::vector<AckAlert> AckAlertsOf(
    const needlecheck::v1::ScreenResponse& response);

struct OruParams {
  std::string control_id;                   // MSH-10 (a new unique id)
  absl::Time time = absl::UnixEpoch();      // MSH-7, OBR-22, OBX-14
  std::string application = "NEEDLECHECK";  // MSH-3
};

// `booking` is the message Parse() and ValidateHeader() accepted;
// `service` the field holding the booked service (no segment_id: none).
std::string BuildAlertsOru(const Er7Message& booking,
                           const Hl7ErrorLocation& service,
                           const needlecheck::v1::PlannedSession& session,
                           const std::vector<AckAlert>& alerts,
                           const OruParams& params);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_PROCESSING_ALERT_REPORT_H_
