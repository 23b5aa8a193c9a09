// ReadBooking: the microneedling session a scheduling message (SIU^S12,
// SIU^S14) or an order (ORM^O01, OMG^O19) plans, for screening. Pure,
// thread-safe, no I/O. The field-by-field mapping is in
// adapters/hl7v2/README.md; in short:
//
// SIU: a service is microneedling when an AIS-3 (any AIS; else SCH-7
//   appointment reason or SCH-8 appointment type) matches the knowledge
//   base (session_matcher.h). Not screened: SCH-25 filler status Cancelled,
//   Deleted, Dc or Noshow (table 0278), or every microneedling AIS with
//   such an AIS-10 or with AIS-2 (segment action) D. Start: the microneedling
//   AIS-4, else SCH-11.4 (TQ start), else TQ1-7.
// ORM/OMG: an order group (ORC and its OBR) is microneedling when OBR-4
//   (or OBR-44) matches. Not screened: ORC-1 CA, DC, OC, OD, CR or DR, or
//   ORC-5 CA or DC. Start: the group's TQ1-7, else ORC-7.4, else OBR-27.4,
//   else OBR-7.
// Areas: OBR-15.4 and OBR-46 body sites (fhir::AreasFromBodySite), and an
//   area named in the service text ("Microneedling - full face"). None:
//   one area UNSPECIFIED (unknown; overlaps every past session).
// Needle depth: the service text, OBR-13 or an NTE after the AIS / ORC /
//   OBR ("needle depth 0.5 mm", fhir::NeedleDepthFromText); it applies to
//   every area. Deeper than SessionMatcher::max_needle_depth_mm(): 102 at
//   the field it was read from (needlecheckd would refuse the request).
// Anesthetic: RXO-1 / RXE-2 (of an order group that is not cancelled), or
//   a clause of an NTE after the service, naming a topical anesthetic
//   (fhir::IsTopicalAnesthetic): all codings and texts, merged (" + ").
// Patient: ReadPatientUpdate() of the same message (PID, AL1, DG1, ...),
//   with replaces_allergies and replaces_conditions false: a booking's
//   AL1/DG1 (an order's DG1 is the reason for the order) add to the stored
//   record in ApplyPatientUpdate and never replace what ADT feeds stored.
//
// Errors (MakeHl7Error; InvalidArgument) only for a booking to be screened:
// 101 no start date (at AIS-4 of the microneedling AIS for SIU, at ORC-7
// for orders); 102 a start that is not a date or names less than a day;
// the errors of ReadPatientUpdate (e.g. 101 no PID-3). A booking that is
// not screened never fails: `patient` is then what could be read (empty
// identifiers when the PID could not be read).
#ifndef ADAPTERS_HL7V2_MAPPING_BOOKING_H_
#define ADAPTERS_HL7V2_MAPPING_BOOKING_H_

#include <string>

#include "absl/status/statusor.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/hl7_error.h"
#include "adapters/hl7v2/mapping/patient_update.h"
#include "adapters/hl7v2/mapping/session_matcher.h"
#include "needlecheck/v1/session.pb.h"

namespace needlecheck::hl7v2 {

struct Booking {
  bool screen = false;              // microneedling and not cancelled
  std::string not_screened_reason;  // e.g. "not a microneedling booking"
  PatientUpdate patient;            // the booking's own PID/AL1/DG1...
  needlecheck::v1::PlannedSession session;  // date, areas, anesthetic
  std::string date_source;  // where the date came from, e.g. "AIS(1)-4"
  // The field that named the microneedling service (the first one screened,
  // else the first one found): AIS-3, SCH-7/8, OBR-4 or OBR-44, e.g. to
  // copy it into a report. No segment_id: no microneedling service.
  Hl7ErrorLocation service_location;
};

absl::StatusOr<Booking> ReadBooking(const Er7Message& message,
                                    const SessionMatcher& matcher);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_MAPPING_BOOKING_H_
