// SummaryBuilder: folds findings (in findings.ndjson order) and the input
// counters into an AuditSummary (audit_summary.h), in bounded memory.
//
// Contract
// - Add() takes findings in file order; a patient's findings are
//   consecutive (the batch audit writes them so), which is how patients with
//   sessions and flagged patients are counted.
// - Finish() is deterministic: the same findings and input give the same
//   summary, whatever the sharding that produced them.
#ifndef ADAPTERS_BATCH_REPORT_SUMMARY_BUILDER_H_
#define ADAPTERS_BATCH_REPORT_SUMMARY_BUILDER_H_

#include <string>

#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch {

class SummaryBuilder {
 public:
  void Add(const FindingRecord& finding);
  // The summary of everything added, with `input` as its input side (and
  // `patients` = input.patients_audited).
  AuditSummary Finish(InputCounts input);

 private:
  AuditSummary summary_;
  std::string current_patient_;
  bool current_flagged_ = false;
  bool any_ = false;
};

// True if `a` is a worse case than `b` (the order of
// AuditSummary::worst_cases).
bool WorseCase(const WorstCase& a, const WorstCase& b);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_REPORT_SUMMARY_BUILDER_H_
