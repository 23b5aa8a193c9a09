// One FHIR resource, mapped once: the FHIR adapter's mapping of a single
// parsed resource into a compact byte string (a "fragment") that
// FhirRecordBuilder::AddFragment later merges into a patient's record.
//
// Why: a batch reader parses each export line once to find its patient.
// Mapping the resource from that same parsed tree, and keeping the mapped
// fragment instead of the JSON text, means the resource is never parsed
// again when its patient's record is built.
//
// Contract
// - MapResourceFragment(resource, &fragment) maps `resource` exactly as
//   FhirRecordBuilder::AddNdjsonLine maps the same resource's JSON text
//   (the same entries, stats and planned candidates; the resource is read
//   alone, so a "urn:..." reference resolves to nothing, as on an NDJSON
//   line). It always fills *fragment: when the mapping fails (a wrong type
//   for a field we read, an impossible date, ...), the fragment holds that
//   error instead, and AddFragment returns it unchanged (the message never
//   quotes a value, as fhir_extract.h says).
// - FhirRecordBuilder::AddFragment(fragment) adds what the fragment holds,
//   checking ExtractOptions::max_resources as AddNdjsonLine does; a
//   fragment's error is returned and the builder stays unchanged.
// - A fragment is only meant for the same build that wrote it (no format
//   promise across versions: a caller that stores fragments records
//   kFragmentFormat with them and refuses a store of another format).
//   One that does not decode (truncated, corrupt) is DATA_LOSS, naming no
//   content.
// - Thread-safe (no shared state). The resource element need only live
//   during the call.
//
// Example (a batch reader; the element comes from the routing parse):
//   std::string fragment;
//   fhir::MapResourceFragment(root, &fragment);
//   spill.Append(patient_id, file, line, fragment);
//   ...
//   for (const auto& r : patient.resources) {
//     if (absl::Status s = builder.AddFragment(r.body); !s.ok()) Skip(s);
//   }
//   absl::StatusOr<fhir::FhirExtract> extract = builder.Finish();
#ifndef ADAPTERS_FHIR_RESOURCE_FRAGMENT_H_
#define ADAPTERS_FHIR_RESOURCE_FRAGMENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/fhir/fhir_extract.h"
#include "simdjson.h"

namespace needlecheck::fhir {

// The format of the fragments this build writes; changes whenever their
// encoding does.
inline constexpr absl::string_view kFragmentFormat = "fhir-fragment-1";

// Maps one resource (a JSON object with a resourceType; not a Bundle) into
// *fragment (replaced). See the contract above.
void MapResourceFragment(const simdjson::dom::element& resource,
                         std::string* fragment);

// The resourceType and id (empty when none) of the resource a fragment was
// mapped from, as strings of the fragment's memory.
struct FragmentSource {
  absl::string_view resource_type;
  absl::string_view id;
};
absl::StatusOr<FragmentSource> ReadFragmentSource(absl::string_view fragment);

// One patient's record built from fragments straight into its serialized
// form, for a batch reader that only sends the record on (needlecheck-audit):
// the mapped entries are copied as the bytes their fragments hold, never
// decoded into messages, so building a record allocates nothing per entry.
//
// - Add(fragment) returns what FhirRecordBuilder::AddFragment returns for
//   the same fragment (the mapping's error, RESOURCE_EXHAUSTED beyond
//   ExtractOptions::max_resources, DATA_LOSS when it does not decode; an
//   entry's wire format is checked, its strings' UTF-8 is not: fragments
//   come from MapResourceFragment of the same build). The fragment's bytes
//   are not copied: they must stay alive and unchanged until
//   FinishRecord() or Restart().
// - FinishRecord(out) appends to *out the record FhirRecordBuilder::Finish()
//   would give for the same fragments and options, serialized byte for
//   byte as its SerializeAsString() (fields in number order), or returns
//   Finish()'s error. Planned candidates and stats are not built. The
//   writer is empty afterwards (same options).
// - Not thread-safe; one per thread. Its lists keep their capacity from
//   one record to the next.
class FragmentRecordWriter {
 public:
  FragmentRecordWriter();
  ~FragmentRecordWriter();
  FragmentRecordWriter(const FragmentRecordWriter&) = delete;
  FragmentRecordWriter& operator=(const FragmentRecordWriter&) = delete;

  // Empties the writer; reads with `options` from now on.
  void Restart(ExtractOptions options);
  absl::Status Add(absl::string_view fragment);
  absl::Status FinishRecord(std::string* out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace needlecheck::fhir

#endif  // ADAPTERS_FHIR_RESOURCE_FRAGMENT_H_
