// ClassifyMessage: what the HL7 v2 listener does with a parsed message,
// from MSH-9 (type and trigger event) alone. Pure, thread-safe.
//
//   kPatientUpdate    ADT^A01 A04 A08 A28 A31 (snapshot) and ADT^A60 (IAM
//                     allergy deltas): patient_update.h
//   kPatientMerge     ADT^A40: patient_update.h ReadPatientMerges
//   kBooking          SIU^S12 S14, ORM^O01, OMG^O19: booking.h
//   kAcknowledgeOnly  every other SIU (S13 S15 S17 S26 ...) and ADT event:
//                     accepted (AA), nothing stored or screened
//   kUnsupported      anything else (ORU, VXU, RDE, PPR, ...): AR with 200
//                     (unsupported message type) or 201 (unsupported
//                     event code: a known type with another trigger, e.g.
//                     ORM^O02), see UnsupportedCode()
#ifndef ADAPTERS_HL7V2_MAPPING_MESSAGE_KIND_H_
#define ADAPTERS_HL7V2_MAPPING_MESSAGE_KIND_H_

#include "absl/status/status.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"

namespace needlecheck::hl7v2 {

enum class MessageKind {
  kPatientUpdate,    // ADT A01 A04 A08 A28 A31 A60
  kPatientMerge,     // ADT A40
  kBooking,          // SIU S12 S14, ORM O01, OMG O19
  kAcknowledgeOnly,  // other SIU and ADT events: accepted, not stored
  kUnsupported,      // anything else: AR 200/201
};

MessageKind ClassifyMessage(const Er7Message& message);

// For a kUnsupported message: 201 when the message type is one we read
// with other triggers (ORM, OMG), else 200.
Hl7ErrorCode UnsupportedCode(const Er7Message& message);

// The AR status for a kUnsupported message: kUnimplemented with
// UnsupportedCode() located at MSH-9 (field 9, component 1 or 2).
absl::Status UnsupportedMessageError(const Er7Message& message);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_MAPPING_MESSAGE_KIND_H_
