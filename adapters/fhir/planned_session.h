// The planned microneedling session of a CDS Hooks call, from the hook's
// `context` (FHIR R4 resources): part of the FHIR adapter library
// (target `needlecheck_fhir`). Pure translation: no I/O, no clock.
//
// Where it looks (whatever the hook; unknown context fields are ignored):
//   context.draftOrders   a Bundle of draft orders (order-select, order-sign);
//                         a JSON array of resources is accepted too
//   context.appointments  a Bundle of proposed Appointments
//                         (appointment-book); an array is accepted too (the
//                         STU3-era examples send one)
// context.selections is not used to narrow the orders: every microneedling
// order in draftOrders belongs to the session being ordered, and an
// anesthetic selected on its own still needs checking against it.
//
// The mapping (documented for integrators in adapters/fhir/README.md):
//   - Each ServiceRequest, or Procedure with status "preparation", whose
//     code (text or any coding display) names microneedling (microneedling,
//     micro-needling, collagen induction therapy, dermapen, derma roller,
//     SkinPen, RF microneedling, ...: any case, hyphen/space-insensitive; the
//     list is in vocabulary.h) is the session: each bodySite is one
//     AreaPlan (see vocabulary.h; no bodySite: one UNSPECIFIED area, i.e.
//     unknown). In draftOrders, status draft, active, on-hold or no status
//     counts (order-sign also fires on revised active orders); revoked,
//     completed, entered-in-error and unknown do not.
//   - Needle depth: extension urn:needlecheck:fhir:needle-depth
//     (valueQuantity, mm; cm and um converted), else text
//     "needle depth 0.5 mm" in orderDetail[].text, note[].text or
//     patientInstruction. The depth applies to every area of that order.
//   - Date: the order's occurrenceDateTime, else occurrencePeriod.start,
//     else the start of the (first) Appointment in the context, else
//     SessionOptions::default_date. All orders must name the same day.
//   - A MedicationRequest (status draft, active or none) in draftOrders whose
//     medicationCodeableConcept (or medicationReference.display) is a topical
//     anesthetic (lidocaine, prilocaine, EMLA, benzocaine, tetracaine, LMX,
//     "numbing cream", any -caine, RxNorm/SNOMED codes in vocabulary.h)
//     is the planned anesthetic: all its codings and text. Several
//     anesthetic orders are merged (codings concatenated, texts joined with
//     " + ").
//   - No microneedling order, but an Appointment whose serviceType,
//     appointmentType, reasonCode, specialty or description mentions
//     microneedling: a session with unknown areas on the appointment's start.
//
// Error codes:
//   NOT_FOUND           no microneedling session in this context. Not an
//                       error for the CDS service: answer {"cards": []} (or
//                       screen without a plan, e.g. for patient-view).
//   INVALID_ARGUMENT    malformed JSON, wrong field types, impossible dates,
//                       an unknown needle-depth unit, context not an object,
//                       draftOrders/appointments neither Bundle nor array,
//                       orders on different days, no date anywhere (no
//                       occurrence, no appointment start, no default_date).
//                       Messages name the resource and the JSON path.
//   RESOURCE_EXHAUSTED  input larger than max_input_bytes.
//
// Thread-safe (no shared state).
//
// Example (in the CDS Hooks service):
//   SessionOptions options;
//   options.default_date = today;  // the service owns the clock
//   auto planned = PlannedSessionFromHookContext(context_json, options);
//   if (absl::IsNotFound(planned.status())) return NoCards();
//   if (!planned.ok()) return BadRequest(planned.status().message());
//   request.mutable_session()->Swap(&planned->session);
#ifndef ADAPTERS_FHIR_PLANNED_SESSION_H_
#define ADAPTERS_FHIR_PLANNED_SESSION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/json_document.h"
#include "needlecheck/v1/session.pb.h"

namespace needlecheck::fhir {

struct SessionOptions {
  // Largest JSON document accepted, in bytes. Default 16 MiB.
  size_t max_input_bytes = size_t{16} << 20;
  // Deepest object/array nesting accepted. Default 64.
  size_t max_depth = 64;
  // The session date when neither an order nor an appointment gives one
  // (e.g. today, as the caller sees it). Default: empty = such a context is
  // INVALID_ARGUMENT.
  std::string default_date;
};

struct PlannedSessionExtract {
  // date, areas (with depths) and anesthetic. Areas are in order of the
  // resources in the context, one per bodySite.
  needlecheck::v1::PlannedSession session;
  // The resources the session was built from, e.g. "ServiceRequest/sr1",
  // "MedicationRequest/mr1", "Appointment/ap1", in context order.
  std::vector<std::string> sources;
  // Where the date came from: "ServiceRequest/sr1.occurrenceDateTime",
  // "Appointment/ap1.start" or "default_date".
  std::string date_source;
  // Counts of what the context held.
  ExtractStats stats;
};

// Reads a CDS Hooks `context` object (the JSON text of its value).
absl::StatusOr<PlannedSessionExtract> PlannedSessionFromHookContext(
    absl::string_view context_json, const SessionOptions& options);

// Same, from a whole CDS Hooks request body: reads its "context" member
// (INVALID_ARGUMENT when absent or not an object).
absl::StatusOr<PlannedSessionExtract> PlannedSessionFromHookRequest(
    absl::string_view request_json, const SessionOptions& options);

// Same, from a request body already parsed (json_document.h): the hook
// request, the session and the record read one tree. A document whose
// Parse() failed gives that error.
absl::StatusOr<PlannedSessionExtract> PlannedSessionFromHookRequest(
    const JsonDocument& request, const SessionOptions& options);

}  // namespace needlecheck::fhir

#endif  // ADAPTERS_FHIR_PLANNED_SESSION_H_
