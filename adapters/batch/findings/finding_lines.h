// FindingRecord <-> the lines of findings.ndjson and findings.csv: the one
// place that knows the two output formats of a finding (issue 4).
//
// findings.ndjson: one JSON object a line, keys in this order:
//   {"patient_id", "session_id" (the Procedure id), "session_date"
//    (YYYY-MM-DD), "verdict" (interval_violation | treated_despite_critical |
//    treated_despite_warning | clear), "alerts": [{"rule_id", "severity"
//    (critical | warning | info), "category", "summary"}], "areas": ["cheeks",
//    ...], "needle_depth_mm" (number or null), "anesthetic" (string or null),
//    "performer" (string or null), "location" (string or null),
//    "days_since_previous_session" (integer or null),
//    "knowledge_base_version"}
// findings.csv (RFC 4180, CRLF, UTF-8, header row first): the same, flat:
//   patient_id,session_id,session_date,verdict,critical,warning,info,
//   alerts,areas,needle_depth_mm,anesthetic,performer,location,
//   days_since_previous_session,knowledge_base_version
//   where alerts is "RULE:severity;RULE:severity" and areas "a;b". A cell
//   that begins with = + - @ TAB or CR is prefixed with ' so a spreadsheet
//   never runs it as a formula (CSV injection; patient ids and performer
//   names are untrusted text).
//
// Contract: FindingFromJsonLine(FindingToJsonLine(f)) == f for every f;
// both are pure and deterministic. FindingFromProto reads an AuditFinding of
// the Audit RPC (not an end-of-record marker).
#ifndef ADAPTERS_BATCH_FINDINGS_FINDING_LINES_H_
#define ADAPTERS_BATCH_FINDINGS_FINDING_LINES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "adapters/batch/findings/finding_record.h"
#include "needlecheck/v1/audit.pb.h"

namespace needlecheck::batch {

FindingRecord FindingFromProto(const needlecheck::v1::AuditFinding& finding);

// One findings.ndjson line, without the trailing newline.
std::string FindingToJsonLine(const FindingRecord& finding);

// Reads one findings.ndjson line back. INVALID_ARGUMENT names what is wrong.
absl::StatusOr<FindingRecord> FindingFromJsonLine(absl::string_view line);

// The findings.csv header row and one row, each ending with "\r\n".
std::string FindingsCsvHeader();
std::string FindingToCsvRow(const FindingRecord& finding);
// The same row, appended to *out (no allocation per cell).
void AppendFindingCsvRow(const FindingRecord& finding, std::string* out);

// "interval_violation" -> Verdict::kIntervalViolation, ...; false if none.
bool ParseVerdict(absl::string_view name, Verdict* verdict);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_FINDINGS_FINDING_LINES_H_
