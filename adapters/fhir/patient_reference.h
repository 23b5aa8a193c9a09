// The one rule for which patient a FHIR Reference names. Every adapter that
// asks "whose resource is this?" uses it: the batch audit's router
// (adapters/batch/export/resource_route.h), which groups an export's
// resources by patient, and the FHIR adapter (fhir_extract.h), which leaves
// out the resources of another patient. Because both read a reference
// through this function, a resource grouped under a patient is never
// dropped by the extractor as "another patient's".
//
// ParsePatientReference(reference), for a Reference.reference string:
//   "#..."                          kContained (no identity outside its
//                                   container)
//   "urn:..."                       kUrn (the caller resolves it, e.g.
//                                   through a bundle's fullUrl -> Patient.id)
//   "Patient/<id>", ".../Patient/<id>", either with "/_history/<v>":
//                                   kPatient, patient_id = <id> (the LAST
//                                   path segment; the server base ignored)
//   "<Type>/<id>" of another resource type name ([A-Z][A-Za-z]{0,63}):
//                                   kOtherType
//   anything else ("Patient?identifier=...", a bare id, "", a query or a
//   fragment anywhere):             kUnrecognized
// patient_id points into `reference`; it is NOT checked to be a FHIR id
// (IsFhirId): the router rejects the resource when it is not, the extractor
// treats it as a patient other than the one being read.
//
// Pure functions of their input: thread-safe, no allocation.
#ifndef ADAPTERS_FHIR_PATIENT_REFERENCE_H_
#define ADAPTERS_FHIR_PATIENT_REFERENCE_H_

#include "absl/strings/string_view.h"

namespace needlecheck::fhir {

enum class ReferenceForm {
  kPatient,
  kUrn,
  kContained,
  kOtherType,
  kUnrecognized,
};

struct PatientReference {
  ReferenceForm form = ReferenceForm::kUnrecognized;
  absl::string_view patient_id;  // set for kPatient only
};

PatientReference ParsePatientReference(absl::string_view reference);

// Whether `id` is a FHIR id: 1 to 64 of [A-Za-z0-9.-].
bool IsFhirId(absl::string_view id);

// Whether `name` can be a resource type: [A-Z][A-Za-z]{0,63}.
bool IsResourceTypeName(absl::string_view name);

}  // namespace needlecheck::fhir

#endif  // ADAPTERS_FHIR_PATIENT_REFERENCE_H_
