// Validation of a CDS Hooks 2.0 service call (POST {baseUrl}/cds-services/
// {id}) and of a feedback call (POST .../{id}/feedback). Untrusted input;
// pure (no I/O, no clock), so it can be fuzzed directly (no fuzz target yet).
//
// ParseHookRequest checks, and says which field is wrong:
//   - the body is a JSON object;
//   - `hook` (REQUIRED string) is served by service `service_id`
//     (discovery.h);
//   - `hookInstance` (REQUIRED, non-empty string);
//   - `fhirServer` (CONDITIONAL: REQUIRED when fhirAuthorization is given;
//     an absolute http(s) URL);
//   - `fhirAuthorization` (OPTIONAL object: access_token, token_type
//     "Bearer", expires_in integer, scope, subject all REQUIRED);
//   - `context` (REQUIRED object): userId ("Type/id", the types the hook
//     allows), patientId (string) REQUIRED for every hook we serve;
//     encounterId optional string; order-select: selections (array of
//     "Type/id" strings, each naming a resource in draftOrders) and
//     draftOrders (a Bundle) REQUIRED; order-sign: draftOrders REQUIRED;
//     appointment-book: appointments REQUIRED (a Bundle, or an array as the
//     STU3-era examples send);
//   - `prefetch` (OPTIONAL object): for each of our keys (discovery.h),
//     whether it is present, null ("no data": not fetched again), absent, or
//     unusable (an OperationOutcome: the client failed to fetch it; treated
//     as absent), and the `next` page links of searchset Bundles (the client
//     MAY paginate prefetch). Other keys are ignored.
//   Unknown members (e.g. `extension`) are tolerated.
//
// Error codes: INVALID_ARGUMENT, with a message naming the JSON path
// ("context.patientId: required string missing"). Never holds token values.
//
// Thread-safe (no shared state).
#ifndef ADAPTERS_CDS_HOOKS_HOOK_REQUEST_H_
#define ADAPTERS_CDS_HOOKS_HOOK_REQUEST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "needlecheck/v1/ledger.pb.h"
#include "simdjson.h"

namespace needlecheck::cds_hooks {

struct FhirAuthorization {
  std::string access_token;  // never logged
  std::string scope;
  std::string subject;
  std::string patient;
  int64_t expires_in = 0;
};

// A draft resource the session may come from, so a suggestion can send it
// back updated (MN-FREQ-INTERVAL moves it). `resource` is the resource's
// object in the parsed body: it is read only if a suggestion is written, and
// is valid as long as the tree the request was read from (the caller's, or
// HookRequest::tree).
struct PlannedResource {
  std::string reference;  // "Appointment/apt1", "ServiceRequest/sr1"
  simdjson::dom::object resource;
};

struct HookRequest {
  std::string hook;
  std::string hook_instance;
  std::string fhir_server;  // empty when absent
  std::optional<FhirAuthorization> fhir_authorization;
  std::string user_id;
  std::string patient_id;
  std::string encounter_id;
  std::vector<std::string> selections;
  // Our prefetch keys by state.
  std::vector<std::string> prefetch_present;
  std::vector<std::string> prefetch_null;
  std::vector<std::string> prefetch_missing;  // absent or OperationOutcome
  // `next` links of searchset Bundles in our prefetch keys (more pages to
  // read before the data is complete).
  std::vector<std::string> prefetch_next_pages;
  // Appointments (appointment-book) and ServiceRequests (order hooks) of the
  // context.
  std::vector<PlannedResource> planned_resources;
  // The tree planned_resources point into when ParseHookRequest parsed the
  // body itself (the text overload); null when the caller's tree was read.
  std::shared_ptr<const simdjson::dom::parser> tree;
};

absl::StatusOr<HookRequest> ParseHookRequest(absl::string_view body,
                                             absl::string_view service_id);
// Same, on a body already parsed (its root element), so the service parses
// the body once for the request, the planned session, the record and the
// cards (planned_resources point into `root`'s tree).
absl::StatusOr<HookRequest> ParseHookRequest(const simdjson::dom::element& root,
                                             absl::string_view service_id);

// The `next` links of a FHIR searchset Bundle (a page the service fetched
// itself and parsed once); empty when it is not a Bundle or has none.
std::vector<std::string> BundleNextLinks(const simdjson::dom::element& root);

// A prefetch template with {{context.patientId}} (and {{context.userId}},
// {{context.encounterId}}) replaced by the URL-escaped values.
std::string ExpandPrefetchTemplate(absl::string_view query,
                                   const HookRequest& request);

// Feedback (POST .../{id}/feedback): {"feedback": [ ... ]}, each item with
// card (string), outcome ("accepted" | "overridden"), acceptedSuggestions
// (REQUIRED for accepted: array of {"id": string}), overrideReason
// (optional: reason Coding with system and code, and/or userComment; one of
// them REQUIRED), outcomeTimestamp (REQUIRED, RFC 3339). One
// RecordFeedbackRequest per item, with service_id set. INVALID_ARGUMENT
// naming the item and field, or naming the limit when the array holds more
// than `max_items` entries (checked before any item is read).
absl::StatusOr<std::vector<needlecheck::v1::RecordFeedbackRequest>>
ParseFeedback(absl::string_view body, absl::string_view service_id,
              size_t max_items = 100);

}  // namespace needlecheck::cds_hooks

#endif  // ADAPTERS_CDS_HOOKS_HOOK_REQUEST_H_
