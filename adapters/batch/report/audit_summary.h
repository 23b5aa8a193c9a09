// AuditSummary: what a batch audit found, in aggregate: the model behind
// summary.json and report.html (issue 4).
//
// Contract
// - Built only from the findings lines (findings.ndjson, in their order)
//   and the input counters, so a merge of shard outputs rebuilds exactly the
//   summary a single run gives (the counters are additive over shards).
// - Holds no more than bounded aggregates: counts per verdict, rule, month,
//   performer and location; a histogram of days between sessions; the
//   worst `kWorstCases` sessions. Memory does not grow with the number of
//   sessions (months, rules, performers and locations are few).
// - Deterministic: maps are ordered; ties among worst cases are broken by
//   patient id, session date and session id.
// - No clock: the summary carries no generation time, so two runs over the
//   same export give byte-identical summary.json and report.html.
#ifndef ADAPTERS_BATCH_REPORT_AUDIT_SUMMARY_H_
#define ADAPTERS_BATCH_REPORT_AUDIT_SUMMARY_H_

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "adapters/batch/findings/finding_record.h"

namespace needlecheck::batch {

// Counts of sessions per verdict.
struct VerdictCounts {
  std::array<int64_t, kNumVerdicts> by_verdict{};
  int64_t sessions() const;
  // Sessions whose verdict is not clear.
  int64_t flagged() const;
};

// Per rule: how many sessions it fired on, by severity.
struct RuleCounts {
  // What the rule checks: the alerts' one-line summary when every alert of
  // the rule has the same (a fixed text), else empty (the text names each
  // patient's findings).
  std::string summary;
  int64_t sessions = 0;
  int64_t critical = 0;
  int64_t warning = 0;
  int64_t info = 0;
  std::string category;  // the rule's category, e.g. "frequency"
};

// The input side, from the reading of the export. Every field is additive
// over shards (each input line is counted by exactly one shard).
struct InputFileCounts {
  int64_t lines = 0;            // non-blank lines (or bundle entries)
  int64_t resources = 0;        // parsed and routed to a patient
  int64_t malformed = 0;        // lines skipped as malformed
  int64_t without_patient = 0;  // resources with no patient reference
};
struct InputCounts {
  // Per file name (relative to the export folder), in name order.
  std::map<std::string, InputFileCounts> files;
  // Files present but not read, with the reason (e.g. "log.ndjson": "not a
  // FHIR resource file (name does not start with a resource type)").
  std::map<std::string, std::string> skipped_files;
  // Resources per resourceType: an R4 type, or the type the file's name
  // gives; any other resourceType (a value from the input) is counted under
  // "(other resourceType)".
  std::map<std::string, int64_t> resources_by_type;
  // Resources a patient's record could not use (the FHIR adapter rejected
  // the resource: wrong type, impossible date, ...): skipped, reported.
  int64_t rejected_resources = 0;
  // Patients whose record needlecheckd rejected as a whole: not audited.
  int64_t rejected_patients = 0;
  // Patients whose records were audited (with or without sessions); the
  // summary's `patients` is this.
  int64_t patients_audited = 0;
};

// The days-between-sessions histogram: bucket i counts sessions whose
// previous overlapping session was [i*kBucketDays, (i+1)*kBucketDays) days
// before; the last bucket is open-ended.
struct IntervalHistogram {
  static constexpr int kBucketDays = 7;
  static constexpr int kBuckets = 27;  // 0-6 ... 175-181, then 182+
  std::array<int64_t, kBuckets> buckets{};
  int64_t under_28_days = 0;  // sessions with a previous one < 28 days before
  int64_t with_previous = 0;  // sessions with any previous one
};

// A worst case for the report's table: a flagged session.
struct WorstCase {
  FindingRecord finding;
  int critical = 0;
  int warning = 0;
};

struct AuditSummary {
  static constexpr int kWorstCases = 50;

  int64_t patients = 0;                // audited patients (records sent)
  int64_t patients_with_sessions = 0;  // of those, with >= 1 session
  int64_t patients_flagged = 0;        // with >= 1 session not clear
  VerdictCounts totals;
  std::map<std::string, RuleCounts> by_rule;          // by rule id
  std::map<std::string, VerdictCounts> by_month;      // "YYYY-MM"
  std::map<std::string, VerdictCounts> by_performer;  // "" not counted
  std::map<std::string, VerdictCounts> by_location;   // "" not counted
  IntervalHistogram days_between_sessions;
  // Flagged sessions only, worst first: more critical alerts, more
  // warnings, then verdict precedence, then patient id, session date,
  // session id.
  std::vector<WorstCase> worst_cases;
  std::set<std::string> knowledge_base_versions;
  InputCounts input;
};

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_REPORT_AUDIT_SUMMARY_H_
