// FindingRecord: one finding of a batch audit, as a line of findings.ndjson
// (and a row of findings.csv) carries it, with its verdict and alerts. The
// value every part of the batch audit passes around: the run writes it
// (findings/finding_lines.h), the summary folds it (report/summary_builder.h).
//
// Contract
// - Plain values, no behaviour but VerdictName(); the formats that read and
//   write a FindingRecord live in findings/finding_lines.h.
// - Depends on nothing but the standard library.
#ifndef ADAPTERS_BATCH_FINDINGS_FINDING_RECORD_H_
#define ADAPTERS_BATCH_FINDINGS_FINDING_RECORD_H_

#include <string>
#include <vector>

namespace needlecheck::batch {

// The four verdicts, in the order of precedence (audit.proto), with the
// names written in findings.ndjson and summary.json.
enum class Verdict {
  kIntervalViolation = 0,
  kTreatedDespiteCritical = 1,
  kTreatedDespiteWarning = 2,
  kClear = 3,
};
inline constexpr int kNumVerdicts = 4;
// "interval_violation", "treated_despite_critical",
// "treated_despite_warning", "clear".
const char* VerdictName(Verdict verdict);

// One alert of a finding, as findings.ndjson carries it.
struct FindingAlert {
  std::string rule_id;
  std::string severity;  // "critical", "warning", "info"
  std::string summary;   // the alert's one line for the clinician (it may
                         // name this patient's findings and dates)
  std::string category;  // the rule's category, e.g. "contraindication"
};

// One finding, as findings.ndjson carries it (one line each).
struct FindingRecord {
  std::string patient_id;
  std::string session_id;    // the Procedure id
  std::string session_date;  // YYYY-MM-DD
  Verdict verdict = Verdict::kClear;
  std::vector<std::string> areas;  // lower-case names, e.g. "cheeks"
  double needle_depth_mm = 0;      // 0: not recorded
  std::string anesthetic;          // text or display; empty: none known
  std::string performer;           // empty: not recorded
  std::string location;            // empty: not recorded
  // Days since the previous session on an overlapping area; -1: none.
  int days_since_previous_session = -1;
  std::vector<FindingAlert> alerts;  // severity order, then rule id
  std::string knowledge_base_version;
};

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_FINDINGS_FINDING_RECORD_H_
