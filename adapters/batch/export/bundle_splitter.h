// Splitting one JSON document (a Bundle, or a single resource) into its
// resources, each routed to its patient. Part of `needlecheck_batch_export`:
// the reader for ExportLayout files of Kind::kBundle (Synthea's
// output/fhir, one transaction Bundle per patient; searchset, collection,
// batch-response, document... are read the same way).
//
// What it yields, through a callback, in document order:
//   - for a Bundle: every entry[].resource; a resource that is itself a
//     Bundle is read through recursively (its entries are yielded, not the
//     nested Bundle). Entries without a resource (a DELETE in a
//     transaction, a batch-response error) are skipped and counted
//     (BundleStats::without_resource), as the FHIR adapter does;
//   - for any other resource: that resource alone (path "$").
// Each BundleEntry has the resource minified (simdjson's serializer: no
// insignificant whitespace; numbers re-printed in shortest round-trip form,
// so "1.50" becomes "1.5"), its 1-based `index` in document order (the
// "line number" of error reports), its JSON path ("$.entry[3].resource",
// 0-based array positions) and its route (resource_route.h).
//
// Which patient: as resource_route.h says, with the Bundle's own Patients
// known: "urn:uuid:..." (any "urn:") references are resolved through the
// fullUrl of the document's Patient entries (at any nesting depth; the
// first fullUrl wins) to that Patient's id. A Synthea bundle thus routes
// every entry that references its patient to Patient.id. Resources that
// reference no patient (Organization, Practitioner) have an empty
// patient_id: the caller counts them as "without patient".
//
// Errors:
//   - per entry, in BundleEntry::status (the walk goes on): INVALID_ARGUMENT
//     "entry is not an object", "resource is not an object", "entry of a
//     nested Bundle is not an array", or a routing error of
//     resource_route.h ("no resourceType", "id is not a valid FHIR id",
//     ...). `json` holds the resource when there is one.
//   - for the whole document (nothing is yielded): INVALID_ARGUMENT for
//     malformed JSON ("malformed JSON (TAPE_ERROR)"), nesting deeper than
//     max_depth, a top level that is not an object, a top-level Bundle
//     whose entry is not an array, a document larger than max_bytes;
//     FAILED_PRECONDITION for a JSON object without resourceType ("not a
//     FHIR resource or Bundle (no resourceType)"): valid JSON that is not
//     FHIR at all (a Bulk Data manifest, a report), which a reader skips
//     as a file rather than calling it malformed;
//     RESOURCE_EXHAUSTED when memory runs out.
//   - SplitBundleFile adds file errors, every message starting with the
//     path: NOT_FOUND, PERMISSION_DENIED, INVALID_ARGUMENT (not a regular
//     file), DATA_LOSS (truncated or corrupt gzip, read error).
//   - a non-OK status returned by the callback stops the walk and is
//     returned unchanged.
// Messages never quote values from the document.
//
// Memory: the whole document is parsed at once (simdjson DOM: about 3-4
// times its size), hence BundleOptions::max_bytes.
//
// Thread safety: the functions share no state; the callback runs on the
// calling thread.
//
// Example:
//   absl::StatusOr<BundleStats> stats = SplitBundleFile(
//       file.path, BundleOptions(), [&](const BundleEntry& e) {
//         if (!e.status.ok()) return ReportMalformed(file, e.index, e.status);
//         if (e.route.patient_id.empty()) return CountWithoutPatient(e);
//         return Store(e.route.patient_id, e.route.resource_type, e.json);
//       });
#ifndef ADAPTERS_BATCH_EXPORT_BUNDLE_SPLITTER_H_
#define ADAPTERS_BATCH_EXPORT_BUNDLE_SPLITTER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/export/resource_route.h"
#include "simdjson.h"

namespace needlecheck::batch {

struct BundleOptions {
  // Largest document accepted (decompressed), in bytes. Default 256 MiB
  // (the largest corpus bundle is about 3 MiB).
  size_t max_bytes = size_t{256} << 20;
  // Deepest nesting of objects and arrays in the whole document (a Bundle
  // adds 3 levels above its resources). Default 64, as the FHIR adapter.
  size_t max_depth = 64;
  // Fill BundleEntry::json (the minified resource). A reader that maps
  // BundleEntry::resource instead saves the serialization. Default true.
  bool keep_json = true;
};

// One resource of the document.
struct BundleEntry {
  int64_t index = 0;  // 1-based, document order
  std::string path;   // "$.entry[3].resource"; "$" for a lone resource
  std::string json;   // the resource, minified (when keep_json); may be
                      // empty on error
  // The resource in the document's parsed tree (valid during the callback
  // only; meaningful when status is OK), for the FHIR adapter's mapping
  // (adapters/fhir/resource_fragment.h) without a second parse.
  simdjson::dom::element resource;
  RouteResult route;    // meaningful when status is OK
  absl::Status status;  // OK, or why this entry cannot be routed
};

struct BundleStats {
  int64_t entries = 0;           // passed to the callback (errors included)
  int64_t errors = 0;            // of those, with a non-OK status
  int64_t without_resource = 0;  // entries with no resource: skipped
  int64_t nested_bundles = 0;    // Bundles read through
};

using BundleEntryCallback = absl::FunctionRef<absl::Status(const BundleEntry&)>;

// Splits one JSON document held in memory.
absl::StatusOr<BundleStats> SplitBundle(absl::string_view json,
                                        const BundleOptions& options,
                                        BundleEntryCallback on_entry);

// Reads `path` (plain or gzip, detected from the content) and splits it.
absl::StatusOr<BundleStats> SplitBundleFile(const std::string& path,
                                            const BundleOptions& options,
                                            BundleEntryCallback on_entry);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_EXPORT_BUNDLE_SPLITTER_H_
