// Routing one FHIR resource to its patient: resourceType, id and the
// Patient.id it belongs to, from one NDJSON line (or one bundle entry, see
// bundle_splitter.h). Part of `needlecheck_batch_export`. The input is
// untrusted: any bytes give a result or an error, never a crash.
//
// Which patient (RouteResult::patient_id, `link` says how it was found);
// a reference is read by the FHIR adapter's rule (adapters/fhir/
// patient_reference.h), the one the extractor uses too:
//   - a Patient: its own id (kSelf);
//   - otherwise the FIRST of these members that is present and not null, in
//     this order: subject, patient, beneficiary, individual (an object, or an
//     array of them as in Contract.subject: the first that names a Patient).
//     Its `reference`:
//       "Patient/<id>", "Patient/<id>/_history/<v>", or an absolute URL
//       ending in "/Patient/<id>" (optionally "/_history/<v>"): <id>
//       (kReference; the server base is ignored, an export names one
//       server);
//       "urn:..." (e.g. "urn:uuid:<x>" in a transaction Bundle): looked up
//       in the caller's fullUrl -> Patient.id map (kUrn); not in the map, or
//       no map (NDJSON): empty (kUnresolvedUrn);
//       "#<id>": a contained resource (kContained): empty, because a
//       contained Patient has no identity outside its container and so
//       cannot be grouped with anything;
//       another type ("Group/1", "Location/2"): empty (kOtherType);
//       anything else (a conditional "Patient?identifier=...", a bare id):
//       empty (kUnrecognized).
//     A member without `reference` (identifier or display only): empty
//     (kNoReference).
//   - none of them: an Appointment's first participant[].actor naming a
//     Patient, else empty (kNone).
// An empty patient_id is not an error: the caller counts the resource as
// "without patient" (link tells why).
//
// Validation. The whole line is validated as JSON (simdjson DOM: structure,
// UTF-8, numbers, nesting depth), so a line that routes will also parse
// when the audit reads it again; fields other than the ones above are not
// looked at. Ids must be FHIR ids ([A-Za-z0-9.-]{1,64}) and resourceType a
// type name ([A-Z][A-Za-z]{0,63}). Errors are INVALID_ARGUMENT with a fixed
// message that never quotes values from the input (no patient data in
// logs), e.g.:
//   "empty (no JSON)"
//   "malformed JSON (TAPE_ERROR)"       (the simdjson error name)
//   "malformed JSON (UTF8_ERROR)"
//   "nesting deeper than 64 levels"
//   "larger than 67108864 bytes"
//   "top level is not an object (an array)"
//   "no resourceType"
//   "resourceType is not a string"
//   "resourceType is not a resource type name"
//   "id is not a string", "id is not a valid FHIR id", "Patient without id"
//   "subject is not an object", "subject.reference is not a string"
//   "subject.reference names a Patient with an invalid id"
// A line holding a Bundle routes like any resource (no patient); split it
// with bundle_splitter.h to route its entries.
//
// Mapping: MapRouted() hands the tree the routing parsed to the FHIR
// adapter (adapters/fhir/resource_fragment.h), so a reader that keeps the
// mapped resource parses every line once.
//
// Speed: simdjson's DOM parser, reused across calls (no allocation per call
// once it has grown to the largest line), and one pass over the top-level
// members. Use RoutePadded() on lines from NdjsonLineReader to save the
// copy simdjson otherwise makes to pad the input.
//
// Thread safety: a ResourceRouter is used by one thread at a time (it owns
// a parser); use one per thread. RouteResource() is thread-safe.
//
// Example:
//   ResourceRouter router;
//   RouteResult route;
//   absl::Status s = router.RoutePadded(line.text, &route);
//   if (!s.ok()) { ReportMalformed(file, line.number, s); continue; }
//   if (route.patient_id.empty()) { ++without_patient; continue; }
//   Store(route.patient_id, route.resource_type, line.text);
#ifndef ADAPTERS_BATCH_EXPORT_RESOURCE_ROUTE_H_
#define ADAPTERS_BATCH_EXPORT_RESOURCE_ROUTE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/patient_reference.h"

namespace needlecheck::batch {

// How the patient of a resource was found (or why there is none).
enum class PatientLink {
  kSelf,           // a Patient resource: its id
  kReference,      // "Patient/<id>" or ".../Patient/<id>[/_history/<v>]"
  kUrn,            // a "urn:..." reference resolved through the map
  kNone,           // no subject/patient/beneficiary/individual member
  kNoReference,    // the member has no "reference"
  kOtherType,      // the reference names another type (Group, Location...)
  kContained,      // "#<id>": a contained resource
  kUnresolvedUrn,  // a "urn:..." reference not in the map (or no map)
  kUnrecognized,   // a reference of no form above (e.g. conditional)
};

// "self", "reference", "urn", "none", "no-reference", "other-type",
// "contained", "unresolved-urn", "unrecognized" (for counters and logs).
const char* PatientLinkName(PatientLink link);

// The result of routing one resource.
struct RouteResult {
  std::string resource_type;
  std::string id;          // empty when the resource has none
  std::string patient_id;  // empty: no patient (see `link`)
  PatientLink link = PatientLink::kNone;
  // The member the patient came from: "id" (a Patient), "subject",
  // "patient", "beneficiary", "individual", "participant.actor"; "" for
  // kNone. Points to a string literal.
  const char* field = "";
};

// Limits, checked before and while parsing.
struct RouteOptions {
  // Largest resource accepted, in bytes. Default 64 MiB (the FHIR
  // adapter's and the line reader's limit).
  size_t max_bytes = size_t{64} << 20;
  // Deepest nesting of objects and arrays. Default 64, as the FHIR adapter
  // (a line deeper than this would fail there later).
  size_t max_depth = 64;
};

// fullUrl -> Patient.id of a bundle's Patient entries, for "urn:..."
// references (built by bundle_splitter.h).
using UrnPatientMap = absl::flat_hash_map<std::string, std::string>;

class ResourceRouter {
 public:
  explicit ResourceRouter(const RouteOptions& options = RouteOptions());
  ~ResourceRouter();
  ResourceRouter(const ResourceRouter&) = delete;
  ResourceRouter& operator=(const ResourceRouter&) = delete;
  ResourceRouter(ResourceRouter&&) noexcept;
  ResourceRouter& operator=(ResourceRouter&&) noexcept;

  // Routes one resource (one NDJSON line, without its newline). `urns`
  // (may be null) resolves "urn:..." references. On error *out is
  // unspecified. Reuses *out's strings (no allocation when they fit).
  absl::Status Route(absl::string_view json, RouteResult* out,
                     const UrnPatientMap* urns = nullptr);

  // As Route(), without copying: at least 64 bytes (SIMDJSON_PADDING) after
  // json.data() + json.size() must be readable, as NdjsonLineReader
  // guarantees for its lines.
  absl::Status RoutePadded(absl::string_view json, RouteResult* out,
                           const UrnPatientMap* urns = nullptr);

  // The FHIR adapter's mapping (fhir::MapResourceFragment) of the resource
  // the last Route()/RoutePadded() call routed without error, from that
  // call's parse: the resource is not parsed again. Undefined after a
  // failed call.
  void MapRouted(std::string* fragment) const;

  // JSON documents this router has parsed (one per Route()/RoutePadded()
  // call that got as far as parsing): with MapRouted() the only parse of a
  // resource on the batch path.
  int64_t parses() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// One-off routing with a fresh parser (tests, tools, the fuzz target); a
// loop should keep a ResourceRouter.
absl::StatusOr<RouteResult> RouteResource(
    absl::string_view json, const RouteOptions& options = RouteOptions(),
    const UrnPatientMap* urns = nullptr);

// Whether `id` is a FHIR id: 1 to 64 of [A-Za-z0-9.-] (the FHIR adapter's
// check, patient_reference.h).
using fhir::IsFhirId;

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_EXPORT_RESOURCE_ROUTE_H_
