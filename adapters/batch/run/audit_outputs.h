// The files of a batch audit's output folder, and how they are written
// (issue 4). One run (or a merge of shard runs) writes:
//   findings.ndjson  one finding a line (findings/finding_lines.h), patients in
//                    byte order of their id, each patient's sessions in
//                    record order
//   findings.csv     the same, flat (findings/finding_lines.h)
//   summary.json     counts (summary_json.h)
//   report.html      the readable report (report_html.h)
//   errors.ndjson    every input problem: {"file", "line", "error"}, ordered
//                    by file name, line, message
//   audit.json       the run's manifest: which export files (names, sizes),
//                    which shard, complete or not (merge checks it)
//
// Contract: every file is written to a temporary name, flushed to disk and
// renamed, so a reader (or a kill) never sees half a file. The content
// depends only on the findings and input counts: no clock, no host, no
// path, so a re-run or a merge gives byte-identical files.
#ifndef ADAPTERS_BATCH_RUN_AUDIT_OUTPUTS_H_
#define ADAPTERS_BATCH_RUN_AUDIT_OUTPUTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch {

inline constexpr char kFindingsFile[] = "findings.ndjson";
inline constexpr char kFindingsCsvFile[] = "findings.csv";
inline constexpr char kSummaryFile[] = "summary.json";
inline constexpr char kReportFile[] = "report.html";
inline constexpr char kErrorsFile[] = "errors.ndjson";
inline constexpr char kManifestFile[] = "audit.json";

// Reads findings from `findings_path` (a findings.ndjson), writes
// findings.csv, summary.json and report.html into `out_dir`, and returns the
// summary. A line that does not read back is an INTERNAL error naming it
// (findings files are ours).
absl::StatusOr<AuditSummary> WriteReports(const std::string& findings_path,
                                          const std::string& out_dir,
                                          InputCounts input);

// One errors.ndjson line (without the newline), and back.
struct ErrorLine {
  std::string file;
  int64_t line = 0;
  std::string error;
};
std::string ErrorToJsonLine(const ErrorLine& error);
absl::StatusOr<ErrorLine> ErrorFromJsonLine(absl::string_view line);
// The order of errors.ndjson.
bool ErrorLineBefore(const ErrorLine& a, const ErrorLine& b);

// The manifest (audit.json).
struct ExportFileFacts {
  std::string name;
  uint64_t bytes = 0;
};
struct AuditManifest {
  std::vector<ExportFileFacts> files;
  uint32_t shard_index = 1;  // 1-based
  uint32_t shard_count = 1;
  // Shard runs this output was merged from (0: a run of its own).
  uint32_t merged_from = 0;
  bool complete = false;
};
std::string ManifestToJson(const AuditManifest& manifest);
absl::StatusOr<AuditManifest> ManifestFromJson(absl::string_view json);

// Reads a whole small file (a manifest, a summary).
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_RUN_AUDIT_OUTPUTS_H_
