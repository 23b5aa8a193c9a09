// ListExportFiles: which files of an export folder needlecheck-audit reads,
// and how. Part of `needlecheck_batch_export` (reading the export).
//
// The folder is either a FHIR Bulk Data export (what `$export` produces:
// one NDJSON file per resource type, possibly split and numbered, plain or
// gzip) or a folder of JSON documents (Synthea's output/fhir: one Bundle
// per patient, or one resource per file). Both may be mixed.
//
// Classification, by the file NAME only (no file is opened here):
//   - NDJSON resource file (Kind::kNdjson): the name ends in ".ndjson",
//     ".ndjson.gz", ".jsonl" or ".jsonl.gz" (extension case-insensitive) and
//     contains a resource type token. Tokens are the maximal runs of ASCII
//     letters of the name without its extension; the resource type is the
//     first token that is an R4 resource type name ("1.Condition",
//     "Condition_2", "Condition.000", "export-MedicationRequest"), else the
//     first token that has an upper-case initial followed by a lower-case
//     letter (a type this list does not know, e.g. an R5 one). Other NDJSON
//     files (the sample export's "log.ndjson", a generator's
//     "expected_findings.ndjson") are skipped with a reason. The type from
//     the name is a hint for progress and reports: each line's own
//     resourceType is authoritative (resource_route.h).
//   - JSON document (Kind::kBundle): ".json" or ".json.gz"; read with
//     bundle_splitter.h (a Bundle of any type or a single resource).
//     resource_type is the first R4 resource type token of the name, else
//     empty (Synthea names bundles after the patient).
//   - Everything else is skipped with a reason: other extensions, hidden
//     files (leading '.'), sub-folders, sockets and other non-regular files,
//     entries that cannot be stat'ed (e.g. a dangling symlink). Symbolic
//     links to regular files are followed.
//   - NOT recursive: sub-folders are skipped (reason "sub-folder (not
//     read: ...)"). A $export and Synthea both write one flat folder; reading
//     sub-folders would silently pick up earlier exports or unrelated data.
//
// `gzip` is from the name (".gz"); the line reader detects compression from
// the content anyway, so a mislabelled file is still read correctly.
// Files are sorted by name in byte order (strcmp), so every run and every
// machine reads them in the same order. A resource type with no file is not
// an error: there is nothing to list.
//
// Errors (the message names the path):
//   NOT_FOUND          the folder does not exist.
//   INVALID_ARGUMENT   the path is not a folder (or is empty).
//   PERMISSION_DENIED  the folder cannot be read (listing refused).
//   UNKNOWN            any other error reading the folder (errno text).
// An empty folder is OK: no files, nothing skipped.
//
// Thread safety: a free function with no shared state. It reads the folder
// once: files appearing or vanishing afterwards are the caller's concern
// (they surface as open errors in the reader).
#ifndef ADAPTERS_BATCH_EXPORT_EXPORT_LAYOUT_H_
#define ADAPTERS_BATCH_EXPORT_EXPORT_LAYOUT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck::batch {

// One file to read.
struct ExportFile {
  enum class Kind {
    kNdjson,  // one resource per line: read with line_reader.h
    kBundle,  // one JSON document: read with bundle_splitter.h
  };
  std::string name;  // relative to the folder (no '/': not recursive)
  std::string path;  // folder + "/" + name
  Kind kind = Kind::kNdjson;
  bool gzip = false;          // the name ends in ".gz"
  std::string resource_type;  // from the name (see above); may be empty
                              // for kBundle, never for kNdjson
  uint64_t size_bytes = 0;    // on disk (compressed size for gzip)
};

// What ListExportFiles found.
struct ExportLayout {
  std::vector<ExportFile> files;  // sorted by name, byte order
  // Entries not read: name -> reason (e.g. "log.ndjson" -> "NDJSON file
  // without a FHIR resource type in its name (an export log?)").
  std::map<std::string, std::string> skipped;
};

// Lists and classifies the entries of `dir` (see the top of this file).
absl::StatusOr<ExportLayout> ListExportFiles(const std::string& dir);

// The resource type token of a file name (without folder), as described
// above: e.g. "Condition" for "Condition.000.ndjson", "1.Condition.ndjson",
// "Condition_2.ndjson.gz"; empty when there is none. `r4_only` applies the
// bundle rule (only R4 resource type names). Exposed for tests and reports.
std::string ResourceTypeFromFileName(absl::string_view file_name, bool r4_only);

// True for the names of the 145 FHIR R4 (4.0.1) resource types.
bool IsR4ResourceType(absl::string_view name);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_EXPORT_EXPORT_LAYOUT_H_
