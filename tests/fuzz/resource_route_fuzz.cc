// Fuzz target for reading an export (adapters/batch), which faces every line
// of an untrusted FHIR Bulk Data export: RouteResource (and
// ResourceRouter::RoutePadded) and SplitBundle on the same bytes. Every
// input is checked for these invariants (a violation prints a message and
// aborts):
// - no crash, no sanitizer report, no exception;
// - errors are INVALID_ARGUMENT (RESOURCE_EXHAUSTED only if memory runs
//   out; FAILED_PRECONDITION for SplitBundle's JSON that is not FHIR) with
//   one of the fixed messages of resource_route.h, so that no
//   value from the input can reach a log;
// - on success: resourceType is a type name, ids are FHIR ids, patient_id
//   is non-empty exactly for the links that name a patient (self,
//   reference, urn), a Patient is its own patient;
// - RoutePadded (no copy) agrees with Route (copy), and routing twice gives
//   the same result;
// - SplitBundle: entries are numbered 1, 2, ...; the stats add up; every
//   routed entry's minified JSON routes again to the same type and id (and
//   patient, for references that need no bundle context).
// - the FHIR adapter's mapping from the routing parse (MapRouted, and
//   MapResourceFragment on a bundle entry's tree) builds what reading the
//   resource's text builds: the same status per resource and the same
//   record (one parse per resource on the batch path changes nothing).
//
// Built as a libFuzzer binary with clang and -DNEEDLECHECK_FUZZ=ON; always
// linked into resource_route_fuzz_smoke_test so ctest exercises it on gcc.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/export/bundle_splitter.h"
#include "adapters/batch/export/line_reader.h"
#include "adapters/batch/export/resource_route.h"
#include "adapters/fhir/fhir_extract.h"
#include "adapters/fhir/resource_fragment.h"

namespace {

using needlecheck::batch::BundleEntry;
using needlecheck::batch::BundleOptions;
using needlecheck::batch::BundleStats;
using needlecheck::batch::IsFhirId;
using needlecheck::batch::PatientLink;
using needlecheck::batch::PatientLinkName;
using needlecheck::batch::ResourceRouter;
using needlecheck::batch::RouteOptions;
using needlecheck::batch::RouteResult;

[[noreturn]] void Fail(absl::string_view input, const std::string& what) {
  std::fprintf(stderr,
               "resource_route_fuzz: %s; input (%zu bytes):", what.c_str(),
               input.size());
  for (unsigned char c : input.substr(0, 512)) std::fprintf(stderr, " %02x", c);
  std::fprintf(stderr, "\n");
  std::abort();
}

// The messages resource_route.h and bundle_splitter.h document; nothing
// else may appear (no values from the input).
bool IsKnownMessage(absl::string_view m) {
  static constexpr const char* kExact[] = {
      "empty (no JSON)",
      "no resourceType",
      "resourceType is not a string",
      "resourceType is not a resource type name",
      "id is not a string",
      "id is not a valid FHIR id",
      "Patient without id",
      "not a FHIR resource or Bundle (no resourceType)",
      "Bundle entry is not an array",
      "entry is not an object",
      "resource is not an object",
      "entry of a nested Bundle is not an array",
      "out of memory parsing JSON",
  };
  for (const char* e : kExact) {
    if (m == e) return true;
  }
  for (const char* prefix :
       {"malformed JSON (", "nesting deeper than ", "larger than ",
        "top level is not an object (", "cannot allocate the JSON parser ("}) {
    if (absl::StartsWith(m, prefix)) {
      for (unsigned char c : m) {
        if (c < 0x20 || c >= 0x7f) return false;
      }
      return m.size() < 100;
    }
  }
  for (const char* field :
       {"subject", "patient", "beneficiary", "individual"}) {
    if (!absl::StartsWith(m, field)) continue;
    const absl::string_view rest = m.substr(std::string(field).size());
    if (rest == " is not an object" || rest == "[] is not an object" ||
        rest == ".reference is not a string" ||
        rest == ".reference names a Patient with an invalid id") {
      return true;
    }
  }
  return false;
}

void CheckError(absl::string_view input, const absl::Status& s) {
  // FAILED_PRECONDITION: SplitBundle's "valid JSON, not FHIR".
  if (s.code() != absl::StatusCode::kInvalidArgument &&
      s.code() != absl::StatusCode::kResourceExhausted &&
      s.code() != absl::StatusCode::kFailedPrecondition) {
    Fail(input, "unexpected status " + s.ToString());
  }
  if (!IsKnownMessage(s.message())) {
    Fail(input, "undocumented error message: " + s.ToString());
  }
}

bool IsTypeName(absl::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'A' || s[0] > 'Z') return false;
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

void CheckRoute(absl::string_view input, const RouteResult& r) {
  if (!IsTypeName(r.resource_type)) Fail(input, "bad resource_type");
  if (!r.id.empty() && !IsFhirId(r.id)) Fail(input, "bad id");
  const bool names_patient = r.link == PatientLink::kSelf ||
                             r.link == PatientLink::kReference ||
                             r.link == PatientLink::kUrn;
  if (names_patient != !r.patient_id.empty()) {
    Fail(input, std::string("patient_id and link disagree: ") +
                    PatientLinkName(r.link));
  }
  if (!r.patient_id.empty() && !IsFhirId(r.patient_id)) {
    Fail(input, "bad patient_id");
  }
  if ((r.resource_type == "Patient") != (r.link == PatientLink::kSelf)) {
    Fail(input, "a Patient must be its own patient, and only a Patient");
  }
  if (r.link == PatientLink::kSelf && r.patient_id != r.id) {
    Fail(input, "Patient routed to another id");
  }
  if (r.field == nullptr) Fail(input, "null field");
}

bool SameRoute(const RouteResult& a, const RouteResult& b) {
  return a.resource_type == b.resource_type && a.id == b.id &&
         a.patient_id == b.patient_id && a.link == b.link &&
         std::string(a.field) == b.field;
}

// Adds `fragment` and `text` (the same resource) to a builder each; they
// must agree, and so must the records.
void CheckMapping(absl::string_view input, absl::string_view fragment,
                  absl::string_view text) {
  needlecheck::fhir::FhirRecordBuilder from_fragment{
      needlecheck::fhir::ExtractOptions()};
  needlecheck::fhir::FhirRecordBuilder from_text{
      needlecheck::fhir::ExtractOptions()};
  const absl::Status a = from_fragment.AddFragment(fragment);
  const absl::Status b = from_text.AddNdjsonLine(text);
  if (a != b) {
    Fail(input, "the mapped fragment and the text disagree: " + a.ToString() +
                    " vs " + b.ToString());
  }
  absl::StatusOr<needlecheck::fhir::FhirExtract> x = from_fragment.Finish();
  absl::StatusOr<needlecheck::fhir::FhirExtract> y = from_text.Finish();
  if (x.ok() != y.ok() || (x.ok() && x->record.SerializeAsString() !=
                                         y->record.SerializeAsString())) {
    Fail(input, "the record from the fragment differs from the text's");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  RouteOptions options;
  options.max_bytes = 1 << 20;
  ResourceRouter router(options);

  RouteResult first;
  const absl::Status s1 = router.Route(input, &first);
  // The same bytes with the padding NdjsonLineReader provides.
  std::string padded(input);
  padded.append(needlecheck::batch::NdjsonLineReader::kPadding, '\0');
  RouteResult second;
  const absl::Status s2 =
      router.RoutePadded(absl::string_view(padded.data(), size), &second);
  if (s1.ok() != s2.ok() || s1.message() != s2.message()) {
    Fail(input,
         "RoutePadded disagrees: " + s1.ToString() + " vs " + s2.ToString());
  }
  if (s1.ok()) {
    CheckRoute(input, first);
    if (!SameRoute(first, second)) Fail(input, "RoutePadded result differs");
    if (first.resource_type != "Bundle") {
      std::string fragment;
      router.MapRouted(&fragment);  // the padded parse of the same bytes
      CheckMapping(input, fragment, input);
    }
    auto again = needlecheck::batch::RouteResource(input, options);
    if (!again.ok() || !SameRoute(*again, first)) {
      Fail(input, "routing twice differs");
    }
  } else {
    CheckError(input, s1);
  }

  BundleOptions bundle_options;
  bundle_options.max_bytes = 1 << 20;
  // Default limits: re-printed numbers may make an entry's JSON longer.
  ResourceRouter rerouter;
  int64_t expected_index = 0;
  int64_t errors = 0;
  absl::StatusOr<BundleStats> stats = needlecheck::batch::SplitBundle(
      input, bundle_options, [&](const BundleEntry& e) {
        if (e.index != ++expected_index)
          Fail(input, "entry index out of order");
        if (!e.status.ok()) {
          ++errors;
          CheckError(input, e.status);
          return absl::OkStatus();
        }
        CheckRoute(input, e.route);
        std::string fragment;
        needlecheck::fhir::MapResourceFragment(e.resource, &fragment);
        CheckMapping(input, fragment, e.json);
        RouteResult r;
        if (!rerouter.Route(e.json, &r).ok() ||
            r.resource_type != e.route.resource_type || r.id != e.route.id) {
          Fail(input, "an entry's minified JSON does not route the same");
        }
        if ((e.route.link == PatientLink::kSelf ||
             e.route.link == PatientLink::kReference) &&
            r.patient_id != e.route.patient_id) {
          Fail(input, "an entry's patient changes when routed alone");
        }
        return absl::OkStatus();
      });
  if (stats.ok()) {
    if (stats->entries != expected_index || stats->errors != errors ||
        stats->without_resource < 0 || stats->nested_bundles < 0) {
      Fail(input, "bundle stats do not add up");
    }
  } else {
    CheckError(input, stats.status());
  }
  return 0;
}
