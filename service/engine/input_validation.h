// Input validation for a screening request: every problem with a field, so
// that a caller can fix them all at once.
//
// Contract
// - Pure and thread-safe. Returns an empty list when the input is valid.
// - Field paths use the proto field names with indexes, rooted at the
//   request: "session.date", "session.areas[1].needle_depth_mm",
//   "record.conditions[0].onset", "record.procedures[2].areas[0]".
// - Checked: session date present and a full FHIR date/dateTime; every date
//   in the record is a valid FHIR date/dateTime (partial dates allowed);
//   enum values are known TreatmentArea values; needle depths are finite,
//   not negative, and at most the knowledge base's max_needle_depth_mm;
//   fitzpatrick_skin_type is 0-6.
#ifndef SERVICE_ENGINE_INPUT_VALIDATION_H_
#define SERVICE_ENGINE_INPUT_VALIDATION_H_

#include <string>
#include <vector>

#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/session.pb.h"

namespace needlecheck::engine {

struct FieldViolation {
  std::string field;        // e.g. "session.date"
  std::string description;  // e.g. "required: the planned session date"
};

// The record part alone (paths rooted at "record."), for audits.
std::vector<FieldViolation> ValidateRecord(
    const needlecheck::v1::PatientRecord& record, double max_needle_depth_mm);

std::vector<FieldViolation> ValidateScreenInput(
    const needlecheck::v1::PatientRecord& record,
    const needlecheck::v1::PlannedSession& session, double max_needle_depth_mm);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_INPUT_VALIDATION_H_
