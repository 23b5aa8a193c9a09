// What an ADT message (and a booking's own PID/AL1/DG1...) says about a
// patient, and how it changes the stored record. Pure functions,
// thread-safe, no I/O. The segment-by-segment mapping is in
// adapters/hl7v2/README.md; in short:
//
//   PID-3 (every repetition with a CX.1)  identifiers (none: 101 at PID-3)
//   PID-7                                 birth_date (the day)
//   AL1-3 allergen, -5 reactions, -6 date allergies[] (clinical status
//        (+ NTE right after an AL1: notes)  active); NKA/NKDA/"No known
//                                           allergies" -> no_known_allergies
//   NTE after PID/PD1/PV1/PV2 naming an   an allergy entry whose substance
//        allergy (allerg*, NKA, NKDA,      text is the note (never dropped);
//        intoleran*, anaphyla*,            other patient-level notes are
//        hypersensitiv*)                   not read (counted)
//   DG1-3 code, -4 text, -5 date          conditions[] (onset; active;
//                                           DG1-6 W -> provisional;
//                                           DG1-21 D: left out)
//   PR1-3 code, -4 text, -5 date          procedures[] (performed, status
//                                           completed, areas its name
//                                           states)
//   OBX-3 code, -5 value, -14 date        observations[]; a Fitzpatrick
//                                           OBX with a clear value ->
//                                           fitzpatrick_skin_type
//   RXE-2 / RXA-5                         medications[]
//   IAM (ADT^A60)                         allergy_actions (IAM-6 table 0323)
//
// Snapshot or delta. A message with AL1 segments states the whole allergy
// list (its allergy notes included): ApplyPatientUpdate replaces the
// stored allergies and the NKA flag with it. Allergy notes in a message
// without AL1 are added to the stored allergies (never twice). A message
// without AL1 leaves them as they are (an ADT^A08 that only changes an address
// forgets nothing). The same holds for DG1 and the conditions (with a
// replaces_* flag false, as for a booking's facts, see booking.h, the
// section's entries are added, never twice). Procedures,
// medications and observations accumulate (an ADT carries the encounter's, not
// the patient's history): entries already stored (same content, or same id) are
// not added twice. ADT^A60 IAM segments are deltas on the stored allergies.
//
// Every string is UTF-8: values that are not are read as ISO-8859-1, and
// all are when MSH-18 says "8859/1" (hl7_types.h).
//
// Entry ids (echoed in alert evidence): AL1 -> "AL1-<set id>", DG1 ->
// DG1-20 else "DG1-<set id>", IAM -> IAM-7 else "IAM-<set id>", and for the
// accumulating sections the message's control id in front so that two
// messages' entries stay apart: PR1 -> PR1-19 else "<MSH-10>/PR1-<set id>",
// "<MSH-10>/OBX-<n>", "<MSH-10>/RXE-<n>", "<MSH-10>/RXA-<n>". (<set id> is
// the segment's sequence in the message when its set id is empty.)
//
// Errors (MakeHl7Error, hl7_error.h; InvalidArgument; texts never hold
// patient data): 101 no PID or no PID-3 identifier (at PID-3); 101 an empty
// required coded field (AL1-3, IAM-3, DG1-3 without DG1-4, PR1-3 without
// PR1-4, OBX-3, RXE-2, RXA-5); 102 a date that is not an HL7 date (at that
// field); 101/103 an IAM without a valid
// action code (at IAM-6); ReadPatientMerges: 101 a PID without MRG-1 (at
// MRG-1, or PID when the MRG is missing).
#ifndef ADAPTERS_HL7V2_MAPPING_PATIENT_UPDATE_H_
#define ADAPTERS_HL7V2_MAPPING_PATIENT_UPDATE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "adapters/hl7v2/er7_message.h"
#include "adapters/hl7v2/mapping/hl7_types.h"
#include "adapters/hl7v2/patient_identifier.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::hl7v2 {

// One ADT^A60 IAM segment: what to do with one allergy.
struct AllergyAction {
  enum class Kind { kAdd, kDelete, kUpdate, kNoChange };  // IAM-6 A D U X
  Kind kind = Kind::kAdd;
  // IAM-7.1 (the allergy's unique id) or "" when not sent; then the
  // allergen's codes (system + code), else its text (case-insensitive),
  // find the stored allergy.
  std::string unique_id;
  needlecheck::v1::Allergy allergy;
};

struct PatientUpdate {
  std::vector<PatientIdentifier> identifiers;  // PID-3 (>= 1)
  // What this message states (patient_id left empty).
  needlecheck::v1::PatientRecord facts;
  bool replaces_allergies = false;             // AL1 present
  bool replaces_conditions = false;            // DG1 present
  std::vector<AllergyAction> allergy_actions;  // ADT^A60, in message order
  // Patient-level NTE segments not mapped (not about allergies).
  int unmapped_notes = 0;
};

absl::StatusOr<PatientUpdate> ReadPatientUpdate(const Er7Message& message);

// Applies `update` to `stored` (see "Snapshot or delta" above). Leaves
// stored->patient_id alone.
void ApplyPatientUpdate(const PatientUpdate& update,
                        needlecheck::v1::PatientRecord* stored);

struct PatientMerge {
  std::vector<PatientIdentifier> surviving;  // PID-3
  std::vector<PatientIdentifier> prior;      // MRG-1
};

// ADT^A40: one PatientMerge per PID and the MRG that follows it.
absl::StatusOr<std::vector<PatientMerge>> ReadPatientMerges(
    const Er7Message& message);

// The union of both records into `surviving`, without duplicates (same
// content, ignoring entry ids). The surviving birth date and skin type win
// when set; no_known_allergies stays only when the union holds no other
// allergy.
void MergePatientRecords(const needlecheck::v1::PatientRecord& prior,
                         needlecheck::v1::PatientRecord* surviving);

// The identifiers of a CX field (PID-3, MRG-1): every repetition with a
// CX.1; CX.4's subcomponents joined with '&'; as UTF-8 (hl7_types.h).
std::vector<PatientIdentifier> ReadIdentifiers(const Er7Segment& segment,
                                               int field,
                                               TextEncoding encoding);

}  // namespace needlecheck::hl7v2

#endif  // ADAPTERS_HL7V2_MAPPING_PATIENT_UPDATE_H_
