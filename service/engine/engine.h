// The screening engine: a pure function from (knowledge base, patient
// record, planned session, evaluation date) to alerts.
//
// Contract
// - Pure: no I/O, no clock, no globals. The evaluation date is an argument.
//   The same inputs always give the same alerts in the same order: severity
//   (CRITICAL first), then rule id.
// - Every enabled rule of the knowledge base is evaluated as of `as_of`
//   (docs/clinical-rules.md): only entries recorded, begun or performed on or
//   before that day count. One alert per fired rule, carrying the highest
//   severity among its matched criteria and every entry that made it fire.
// - Inputs are expected to have passed ValidateScreenInput(); an entry whose
//   date still fails to parse is ignored rather than guessed at.
// - Thread-safe: any number of threads may evaluate concurrently against the
//   same KnowledgeBase (each with its own EvaluationCache, if any).
#ifndef SERVICE_ENGINE_ENGINE_H_
#define SERVICE_ENGINE_ENGINE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "common/calendar/fhir_date.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "needlecheck/v1/alert.pb.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/session.pb.h"
#include "service/kb/knowledge_base.h"

namespace needlecheck::engine {

namespace internal {
struct EvaluationScratch;
}  // namespace internal

// What a caller may keep between evaluations to make the next ones cheaper:
// the readings of free texts met before (kb::TextClassificationCache: a
// patient's notes screened again, the same problem-list wording across
// patients) and the evaluation's working buffers, reused instead of
// allocated anew. The engine stays pure: the cache holds nothing that
// changes a result, and results are identical with and without it.
// Not thread-safe: keep one per thread (or worker), never share one between
// concurrent evaluations. Works with any knowledge base (a reload empties the
// text readings; see TextClassificationCache).
class EvaluationCache {
 public:
  explicit EvaluationCache(
      size_t max_text_bytes =
          kb::TextClassificationCache::kDefaultMaxTextBytes);
  ~EvaluationCache();
  EvaluationCache(const EvaluationCache&) = delete;
  EvaluationCache& operator=(const EvaluationCache&) = delete;

  // Texts whose readings are held.
  size_t texts_held() const { return texts_.size(); }

 private:
  friend void EvaluateAsOf(
      const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record,
      const needlecheck::v1::PlannedSession& session, DayNumber as_of,
      EvaluationCache* cache,
      google::protobuf::RepeatedPtrField<needlecheck::v1::Alert>* alerts);

  kb::TextClassificationCache texts_;
  std::unique_ptr<internal::EvaluationScratch> scratch_;
};

// The alerts for `session` as of `as_of` (normally the session's date).
std::vector<needlecheck::v1::Alert> EvaluateAsOf(
    const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record,
    const needlecheck::v1::PlannedSession& session, DayNumber as_of);

// The same, reusing `cache` (see EvaluationCache; null: none).
std::vector<needlecheck::v1::Alert> EvaluateAsOf(
    const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record,
    const needlecheck::v1::PlannedSession& session, DayNumber as_of,
    EvaluationCache* cache);

// The same alerts appended to `alerts`, built in place on its arena if it
// has one (a response message's `alerts` field): no copy, and with an arena
// nothing to free one by one.
void EvaluateAsOf(
    const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record,
    const needlecheck::v1::PlannedSession& session, DayNumber as_of,
    EvaluationCache* cache,
    google::protobuf::RepeatedPtrField<needlecheck::v1::Alert>* alerts);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_ENGINE_H_
