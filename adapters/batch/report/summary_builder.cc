#include "adapters/batch/report/summary_builder.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace needlecheck::batch {

bool WorseCase(const WorstCase& a, const WorstCase& b) {
  const FindingRecord& fa = a.finding;
  const FindingRecord& fb = b.finding;
  return std::make_tuple(-a.critical, -a.warning, static_cast<int>(fa.verdict),
                         std::cref(fa.patient_id), std::cref(fa.session_date),
                         std::cref(fa.session_id)) <
         std::make_tuple(-b.critical, -b.warning, static_cast<int>(fb.verdict),
                         std::cref(fb.patient_id), std::cref(fb.session_date),
                         std::cref(fb.session_id));
}

void SummaryBuilder::Add(const FindingRecord& finding) {
  if (!any_ || finding.patient_id != current_patient_) {
    any_ = true;
    current_patient_ = finding.patient_id;
    current_flagged_ = false;
    ++summary_.patients_with_sessions;
  }
  const int verdict = static_cast<int>(finding.verdict);
  const bool flagged = finding.verdict != Verdict::kClear;
  if (flagged && !current_flagged_) {
    current_flagged_ = true;
    ++summary_.patients_flagged;
  }
  ++summary_.totals.by_verdict[verdict];
  if (finding.session_date.size() >= 7) {
    ++summary_.by_month[finding.session_date.substr(0, 7)].by_verdict[verdict];
  }
  if (!finding.performer.empty()) {
    ++summary_.by_performer[finding.performer].by_verdict[verdict];
  }
  if (!finding.location.empty()) {
    ++summary_.by_location[finding.location].by_verdict[verdict];
  }
  if (!finding.knowledge_base_version.empty()) {
    summary_.knowledge_base_versions.insert(finding.knowledge_base_version);
  }
  if (finding.days_since_previous_session >= 0) {
    IntervalHistogram& histogram = summary_.days_between_sessions;
    const int bucket = std::min(
        finding.days_since_previous_session / IntervalHistogram::kBucketDays,
        IntervalHistogram::kBuckets - 1);
    ++histogram.buckets[bucket];
    ++histogram.with_previous;
    if (finding.days_since_previous_session < 28) ++histogram.under_28_days;
  }
  WorstCase worst;
  for (const FindingAlert& alert : finding.alerts) {
    RuleCounts& rule = summary_.by_rule[alert.rule_id];
    if (rule.sessions == 0) {
      rule.summary = alert.summary;
      rule.category = alert.category;
    } else if (rule.summary != alert.summary) {
      rule.summary.clear();  // patient-specific text: not the rule's
    }
    ++rule.sessions;
    if (alert.severity == "critical") {
      ++rule.critical;
      ++worst.critical;
    } else if (alert.severity == "warning") {
      ++rule.warning;
      ++worst.warning;
    } else {
      ++rule.info;
    }
  }
  if (!flagged) return;
  // Keep the kWorstCases worst, sorted.
  std::vector<WorstCase>& worst_cases = summary_.worst_cases;
  worst.finding = finding;
  if (static_cast<int>(worst_cases.size()) == AuditSummary::kWorstCases &&
      !WorseCase(worst, worst_cases.back())) {
    return;
  }
  auto at = std::upper_bound(worst_cases.begin(), worst_cases.end(), worst,
                             WorseCase);
  worst_cases.insert(at, std::move(worst));
  if (static_cast<int>(worst_cases.size()) > AuditSummary::kWorstCases) {
    worst_cases.pop_back();
  }
}

AuditSummary SummaryBuilder::Finish(InputCounts input) {
  AuditSummary summary = std::move(summary_);
  summary.patients = input.patients_audited;
  summary.input = std::move(input);
  summary_ = AuditSummary();
  any_ = false;
  current_patient_.clear();
  current_flagged_ = false;
  return summary;
}

}  // namespace needlecheck::batch
