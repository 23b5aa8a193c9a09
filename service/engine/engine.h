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
//   same KnowledgeBase.
#ifndef SERVICE_ENGINE_ENGINE_H_
#define SERVICE_ENGINE_ENGINE_H_

#include <string>
#include <vector>

#include "needlecheck/v1/alert.pb.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/session.pb.h"
#include "service/common/fhir_date.h"
#include "service/kb/knowledge_base.h"

namespace needlecheck::engine {

// The alerts for `session` as of `as_of` (normally the session's date).
std::vector<needlecheck::v1::Alert> EvaluateAsOf(
    const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record,
    const needlecheck::v1::PlannedSession& session, DayNumber as_of);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_ENGINE_H_
