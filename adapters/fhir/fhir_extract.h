// FHIR R4 JSON -> needlecheck.v1.PatientRecord: the translation library of
// the FHIR adapter (target `needlecheck_fhir`). Read this header first.
//
// What it reads. One JSON document of any of these shapes:
//   - a Bundle of any type (collection, transaction, searchset, batch,
//     batch-response, document, ...): the resources under entry[].resource;
//     entries without a resource (e.g. batch-response error entries) are
//     skipped; nested Bundles are read recursively;
//   - a single resource ({"resourceType": "Condition", ...});
//   - a CDS Hooks `prefetch` object: an object without "resourceType" whose
//     values are resources, Bundles or null (null = "no data", skipped);
//   - a whole CDS Hooks request (an object without "resourceType" that has
//     "hook", "hookInstance", "context" or "prefetch"): only its "prefetch"
//     member is read here (see planned_session.h for the context);
//   - NDJSON (FHIR Bulk Data): one resource per line, via
//     ExtractFromNdjsonLine() or FhirRecordBuilder::AddNdjson();
//   - one resource mapped ahead from a tree parsed elsewhere (a batch
//     reader's routing parse): resource_fragment.h, then
//     FhirRecordBuilder::AddFragment().
//
// What it maps (every CodeableConcept keeps ALL its codings and its text):
//   Patient             -> patient_id, birth_date
//   Condition           -> conditions: code, clinicalStatus/verificationStatus
//                          (coding[].code of the R4 CodeableConcept),
//                          onsetDateTime | onsetPeriod.start (onsetString,
//                          onsetAge, onsetRange: ignored), abatementDateTime |
//                          abatementPeriod.end (| .start when no end)
//   AllergyIntolerance  -> allergies: code, statuses, recordedDate (fallback
//                          onsetDateTime | onsetPeriod.start), note[].text,
//                          reaction[].description, reaction[].manifestation
//                          text and displays, reaction[].substance text and
//                          displays. A "no known allergy" entry (text or
//                          display "No known allergies", "No known drug
//                          allergies", "NKA", "NKDA", ...; SNOMED 716186003
//                          "No known allergy (situation)" and 409137002 "No
//                          known history of drug allergy (situation)") sets
//                          no_known_allergies unless refuted/entered-in-error;
//                          the entry is kept in `allergies` too.
//   MedicationStatement -> medications: medicationCodeableConcept (or
//                          medicationReference.display as text), status,
//                          effectivePeriod.start/.end | effectiveDateTime
//                          (as start; no end: the status tells the rest)
//   MedicationRequest   -> medications: medicationCodeableConcept (or
//                          medicationReference.display), status,
//                          start = dispenseRequest.validityPeriod.start, else
//                          authoredOn; end = validityPeriod.end
//   MedicationAdministration
//                       -> medications (a dose given):
//                          medicationCodeableConcept (or
//                          medicationReference.display as text), status,
//                          effectiveDateTime as start AND end (given that
//                          day) | effectivePeriod.start/.end. The R4 status
//                          becomes a Medication status the engine reads:
//                          not-done -> "not-taken" and entered-in-error stay
//                          never given (no rule counts them, and an audit
//                          never takes them as a session's anesthetic);
//                          in-progress -> "active"; on-hold, completed,
//                          stopped, unknown unchanged. An administration of
//                          a topical anesthetic (e.g. EMLA) on a session's
//                          day is that session's anesthetic in an audit.
//   Procedure           -> procedures: code, status, performedDateTime |
//                          performedPeriod.start, bodySite -> areas (see
//                          vocabulary.h), needle depth (see below),
//                          usedCode -> used, performer -> performer (the
//                          first performer[].actor that names someone, in
//                          practice performer[0]: its display, else its
//                          reference), location -> location (display, else
//                          reference)
//   Observation         -> observations: code, valueCodeableConcept, or
//                          valueString / valueInteger / valueBoolean /
//                          valueQuantity ("0.5 mm") as value.text,
//                          effectiveDateTime | effectivePeriod.start |
//                          issued. Observations with status
//                          entered-in-error or cancelled are left out (the
//                          record has no Observation status). A Fitzpatrick
//                          skin-type Observation (LOINC 66555-4) with a clear
//                          value (SNOMED 403221005, 403222003, 403226000,
//                          403231003, 403235007, 403236008; or text/integer
//                          1-6, I-VI, "Type IV") sets fitzpatrick_skin_type to
//                          the LATEST one whose effective date is on or before
//                          ExtractOptions::as_of_date (all of them when
//                          as_of_date is empty). Pregnancy status (LOINC
//                          82810-3) is kept as an ordinary observation.
//   ServiceRequest (status draft) and Procedure (status preparation) whose
//   code is microneedling, MedicationRequest (status draft) for a topical
//                          anesthetic, Appointment mentioning microneedling
//                       -> FhirExtract::planned (candidates only; the CDS
//                          Hooks `context` is read by planned_session.h).
//   Any other resourceType is skipped and counted in
//   ExtractStats::skipped_by_type (OperationOutcome included: a CDS client
//   that failed to prefetch may send one; check skipped_by_type).
//
// Needle depth (Procedure, ServiceRequest): the extension
// {"url": "urn:needlecheck:fhir:needle-depth", "valueQuantity": {"value":
// 0.5, "unit": "mm"}} (unit or code "mm"; "cm" and "um"/"µm" are converted;
// any other unit, a value <= 0 or above 100 mm is INVALID_ARGUMENT; no unit
// means mm), else a text
// fallback in note[].text (and orderDetail[].text / patientInstruction for a
// ServiceRequest): "needle depth 0.5 mm", "depth: 0.5mm", "0.5 mm depth".
//
// Which patient. The record is for ONE patient. If the input holds one
// Patient resource, that is the patient. If it holds several, set
// ExtractOptions::patient_id (Patient.id) to pick one; otherwise
// INVALID_ARGUMENT. Clinical resources whose subject/patient reference names
// ANOTHER patient ("Patient/<other id>", or the urn:uuid fullUrl of another
// Patient entry) are left out and counted in ExtractStats::other_patient;
// resources without a subject are kept. With no Patient resource, patient_id
// comes from ExtractOptions::patient_id, else from the subject references
// when they all name one patient ("Patient/123" -> "123"), else stays empty.
//
// Validation. The input is untrusted. Fields we read are type-checked and
// dates are checked (FHIR date/dateTime grammar, a day that exists); fields
// we do not read are not validated. Errors name the resource and the JSON
// path from that resource's root and say what is wrong, never quoting a
// field's value (it may be patient data; errors reach logs and reports), e.g.
//   Condition/abc: $.onsetDateTime: the date does not exist (no such day
//   in its month)
//   AllergyIntolerance/x: $.note: expected an array, got a string
//   Condition at $.entry[3].resource: $.code: expected an object, got a
//   number                             (a resource without an id)
//
// Error codes:
//   INVALID_ARGUMENT    malformed or truncated JSON, nesting deeper than
//                       max_depth, a wrong type for a field we read, an
//                       impossible date, an unknown needle-depth unit, a
//                       document that is none of the shapes above, several
//                       Patients and no patient_id, patient_id not found.
//   RESOURCE_EXHAUSTED  input longer than max_input_bytes, or more than
//                       max_resources resources.
//
// simdjson, DOM API (not On Demand): the input is untrusted, and the DOM
// parser validates the whole document (UTF-8, structure, depth) before we
// read a single field, so a truncated or malformed document fails as a whole
// instead of half-way through a mapped record; we need random access (the
// Patient must be known before other resources are filtered, prefetch
// objects hold Bundles in any order); and the field-by-field type checks are
// simple on a tree. Its speed (GB/s) is far above what a hook call needs.
// Only the error-code API is used: no exceptions.
//
// Thread safety: the free functions are thread-safe (no shared state). A
// FhirRecordBuilder is not: use one per thread or call. No I/O, no clock,
// no globals beyond constant tables.
//
// Example:
//   needlecheck::fhir::ExtractOptions options;
//   options.as_of_date = "2026-12-01";
//   absl::StatusOr<needlecheck::fhir::FhirExtract> extract =
//       needlecheck::fhir::ExtractFromJson(bundle_json, options);
//   if (!extract.ok()) return extract.status();  // names resource and path
//   Screen(extract->record, ...);
#ifndef ADAPTERS_FHIR_FHIR_EXTRACT_H_
#define ADAPTERS_FHIR_FHIR_EXTRACT_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/json_document.h"
#include "google/protobuf/arena.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/session.pb.h"

namespace needlecheck::fhir {

// How to read the input. Every field has a default that suits a CDS Hooks
// call or a Synthea bundle.
struct ExtractOptions {
  // Largest JSON document (or NDJSON line) accepted, in bytes.
  // Default 64 MiB (the largest corpus bundle is about 3 MiB).
  size_t max_input_bytes = size_t{64} << 20;
  // Deepest object/array nesting accepted. FHIR resources in practice nest
  // below 20; a prefetch object holding a Bundle adds 3. Default 64.
  size_t max_depth = 64;
  // Most resources accepted per FhirRecordBuilder (all documents together).
  // Default 200000.
  size_t max_resources = 200000;
  // Patient.id of the patient to extract when the input holds several
  // Patients (and the id to report when it holds none). Default: empty.
  std::string patient_id;
  // The evaluation date (the planned session date) as a FHIR date or
  // dateTime: the Fitzpatrick skin type is the latest clear one recorded on
  // or before it. Default: empty = the latest of all. An invalid date is
  // INVALID_ARGUMENT.
  std::string as_of_date;
  // An arena for the record's messages (a CDS Hooks call builds its whole
  // ScreenRequest on one, freed at once): FhirRecordBuilder creates every
  // mapped message on it, and Finish(record) with a record on the same arena
  // takes them without a copy. Null (the default): the heap. Must outlive
  // the builder and the record.
  google::protobuf::Arena* arena = nullptr;
};

// Counts, for logs and for the integrator's diagnostics. Never holds patient
// data.
struct ExtractStats {
  // Resources seen (Bundles themselves not counted; nested resources are).
  int64_t resources = 0;
  // Resources seen, per resourceType (mapped, skipped or left out).
  std::map<std::string, int64_t> by_type;
  // Resources of a type this library does not read, per resourceType.
  std::map<std::string, int64_t> skipped_by_type;
  // Resources left out because they belong to another patient.
  int64_t other_patient = 0;
  // Prefetch keys whose value was null ("no data").
  int64_t null_prefetch = 0;
};

// A microneedling area planned in a draft ServiceRequest or a Procedure in
// preparation.
struct PlannedArea {
  std::string source;  // "ServiceRequest/<id>" or "Procedure/<id>"
  // occurrenceDateTime | occurrencePeriod.start (ServiceRequest),
  // performedDateTime | performedPeriod.start (Procedure); may be empty.
  std::string date;
  // The area (from bodySite; UNSPECIFIED when no bodySite, OTHER when the
  // bodySite is not recognised) and the needle depth (0 = not stated).
  // One PlannedArea per bodySite entry; one with UNSPECIFIED if none.
  std::vector<needlecheck::v1::AreaPlan> areas;
};

// A draft order for a topical anesthetic.
struct PlannedAnesthetic {
  std::string source;                   // "MedicationRequest/<id>"
  needlecheck::v1::Concept anesthetic;  // all codings and text
};

// An Appointment whose serviceType, appointmentType, reasonCode,
// specialty or description mentions microneedling (or any Appointment when
// it only gives the date for draft orders; see planned_session.h).
struct PlannedAppointment {
  std::string source;  // "Appointment/<id>"
  std::string start;   // Appointment.start; may be empty
  std::string status;  // Appointment.status (e.g. "proposed")
  bool microneedling = false;
};

// Planned-session candidates found among the resources.
struct PlannedCandidates {
  std::vector<PlannedArea> areas;
  std::vector<PlannedAnesthetic> anesthetics;
  std::vector<PlannedAppointment> appointments;
};

// The result of reading one or more documents.
struct FhirExtract {
  needlecheck::v1::PatientRecord record;
  PlannedCandidates planned;
  ExtractStats stats;
};

// Reads one JSON document (Bundle, resource, prefetch object or CDS Hooks
// request; see the top of this file). Errors as documented above.
absl::StatusOr<FhirExtract> ExtractFromJson(absl::string_view json,
                                            const ExtractOptions& options);

// Reads one NDJSON line (one resource; a Bundle is accepted too). A blank
// line (only whitespace) gives an empty extract. The record's patient_id
// is the Patient's id, or the patient the resource's subject names, so a
// batch reader can group lines by patient.
absl::StatusOr<FhirExtract> ExtractFromNdjsonLine(
    absl::string_view line, const ExtractOptions& options);

// Accumulates several documents into one record: a CDS Hooks prefetch plus
// the searches fetched from the FHIR server for missing prefetch keys, or
// the lines of a Bulk Data export for one patient. The patient choice,
// other-patient filtering and Fitzpatrick choice happen in Finish(), over
// everything added. An Add* error leaves the builder unchanged (the failing
// document contributes nothing) so the caller may go on or give up.
class FhirRecordBuilder {
 public:
  explicit FhirRecordBuilder(ExtractOptions options);
  ~FhirRecordBuilder();
  FhirRecordBuilder(const FhirRecordBuilder&) = delete;
  FhirRecordBuilder& operator=(const FhirRecordBuilder&) = delete;
  FhirRecordBuilder(FhirRecordBuilder&&) noexcept;
  FhirRecordBuilder& operator=(FhirRecordBuilder&&) noexcept;

  // One JSON document, as ExtractFromJson reads it.
  absl::Status AddJson(absl::string_view json);
  // One document already parsed (see json_document.h), read as AddJson
  // reads its text; a document whose Parse() failed gives that error.
  absl::Status AddDocument(const JsonDocument& document);
  // A single resource or Bundle on one NDJSON line (blank: no-op).
  absl::Status AddNdjsonLine(absl::string_view line);
  // One resource already mapped by MapResourceFragment
  // (resource_fragment.h), as AddNdjsonLine adds its text, without parsing
  // anything: the mapping's error when the fragment holds one, DATA_LOSS
  // when it does not decode.
  absl::Status AddFragment(absl::string_view fragment);
  // Many NDJSON lines ("\n" or "\r\n"); errors are prefixed "line N: ".
  // Stops at the first bad line (earlier lines stay added).
  absl::Status AddNdjson(absl::string_view ndjson);

  // The record of everything added. The builder is empty afterwards.
  absl::StatusOr<FhirExtract> Finish();
  // Finish(), the record built in `*record` (cleared first; on
  // ExtractOptions::arena to take the messages without a copy) rather than
  // in FhirExtract::record, which stays empty: for a record inside a larger
  // message. `*record` is unspecified on error.
  absl::StatusOr<FhirExtract> Finish(needlecheck::v1::PatientRecord* record);

  // Empties the builder and reads with `options` from now on, as a new
  // FhirRecordBuilder(options) would, but keeping the JSON parser's buffers:
  // a batch reader building one patient's record after another saves their
  // allocation.
  void Restart(ExtractOptions options);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace needlecheck::fhir

#endif  // ADAPTERS_FHIR_FHIR_EXTRACT_H_
