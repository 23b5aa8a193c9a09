// Findings for the batch tests: a FindingRecord with the fields every
// test needs and the knowledge-base version the fixtures use.
#ifndef TESTS_ADAPTERS_BATCH_FINDINGS_FINDING_TEST_DATA_H_
#define TESTS_ADAPTERS_BATCH_FINDINGS_FINDING_TEST_DATA_H_

#include <string>

#include "adapters/batch/findings/finding_record.h"

namespace needlecheck::batch::testing {

inline FindingRecord Finding(const std::string& patient,
                             const std::string& session,
                             const std::string& date, Verdict verdict) {
  FindingRecord f;
  f.patient_id = patient;
  f.session_id = session;
  f.session_date = date;
  f.verdict = verdict;
  f.knowledge_base_version = "2026.11.1";
  return f;
}

}  // namespace needlecheck::batch::testing

#endif  // TESTS_ADAPTERS_BATCH_FINDINGS_FINDING_TEST_DATA_H_
