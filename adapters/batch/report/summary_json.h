// summary.json: the machine-readable rendering of an AuditSummary (issue 4),
// and the reading back of its "input" part for the merge of shard outputs.
//
// Contract
// - SummaryToJson() is total and deterministic: the same AuditSummary gives
//   byte-identical text (keys in the fixed order below, maps in key order,
//   2-space indent, a trailing newline, no clock). Strings that are not
//   valid UTF-8 (untrusted ids and names from the export) are written with
//   U+FFFD in place of the bad bytes instead of failing.
// - InputCountsFromSummaryJson() reads the "input" object of a summary.json
//   written by SummaryToJson() (any version of this schema) back into an
//   InputCounts, so that merging shard outputs can add their counters. It
//   returns INVALID_ARGUMENT, with the JSON path of the problem, when the
//   text is not JSON, the schema is not "needlecheck.audit.summary/1", a
//   field is missing or of the wrong type, a count is negative or not an
//   integer, or the totals ("lines", ...) disagree with the per-file counts.
//   Keys it does not know are ignored.
// - Thread-safety: plain functions over values; safe from any thread.
//
// Schema ("needlecheck.audit.summary/1"), keys in this order:
//
//   {
//     "schema": "needlecheck.audit.summary/1",
//     "knowledge_base_versions": ["2025.1", ...],
//     "patients": {"audited": n, "with_sessions": n, "flagged": n},
//     "sessions": {"total": n,
//                  "by_verdict": {"interval_violation": n,
//                                 "treated_despite_critical": n,
//                                 "treated_despite_warning": n,
//                                 "clear": n}},
//     "by_rule": {"MN-...": {"summary": "...", "sessions": n,
//                            "critical": n, "warning": n, "info": n}},
//     "by_month": {"2025-01": {<the four verdicts>: n, "total": n}},
//     "by_performer": {"name": {<the four verdicts>: n, "total": n}},
//     "by_location": {"name": {<the four verdicts>: n, "total": n}},
//     "days_between_sessions": {
//       "bucket_days": 7,
//       "buckets": [{"from": 0, "to": 6, "sessions": n}, ...,
//                   {"from": 182, "to": null, "sessions": n}],
//       "under_28_days": n, "with_previous": n},
//     "worst_cases": [{"patient_id", "session_id", "session_date",
//                      "verdict", "areas": [...], "performer", "location",
//                      "days_since_previous_session": n or null (none),
//                      "critical": n, "warning": n,
//                      "alerts": [{"rule_id", "severity", "summary"}]}],
//     "input": {
//       "files": {"Patient.ndjson": {"lines": n, "resources": n,
//                                    "malformed": n, "without_patient": n}},
//       "skipped_files": {"log.txt": "reason"},
//       "resources_by_type": {"Patient": n, ...},
//       "lines": n, "resources": n, "malformed_lines": n,
//       "resources_without_patient": n,      (the four: sums over "files")
//       "rejected_resources": n, "rejected_patients": n}
//   }
//
// "performer" and "location" of a worst case are "" when not recorded.
#ifndef ADAPTERS_BATCH_REPORT_SUMMARY_JSON_H_
#define ADAPTERS_BATCH_REPORT_SUMMARY_JSON_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch {

// The value of "schema" in summary.json.
inline constexpr char kSummarySchema[] = "needlecheck.audit.summary/1";

// summary.json for `summary`: pretty-printed, trailing newline.
std::string SummaryToJson(const AuditSummary& summary);

// The "input" object of a summary.json, back as InputCounts.
absl::StatusOr<InputCounts> InputCountsFromSummaryJson(absl::string_view json);

// The per-file counters of `input` added up (the "lines", "resources",
// "malformed_lines" and "resources_without_patient" totals).
InputFileCounts TotalFileCounts(const InputCounts& input);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_REPORT_SUMMARY_JSON_H_
