// Audit of past treatments: every past microneedling session of a record,
// evaluated as of its own date.
//
// Contract
// - Pure, deterministic and thread-safe, like EvaluateAsOf (engine.h).
// - Sessions are the record's procedures in the knowledge base's
//   microneedling value set (by code or text) that were performed (not
//   not-done, entered-in-error or preparation) and have a valid date; they
//   are audited in record order.
// - Each session is evaluated with EvaluateAsOf as of its day (for a partial
//   date, its last possible day), with a planned session made of its own
//   areas and needle depth and the anesthetic it used: Procedure.used
//   entries that are topical anesthetics, else medications started that day
//   that are and were given (not not-taken, entered-in-error, draft or
//   cancelled; a FHIR MedicationAdministration on the session day arrives
//   as such a medication). Only what was recorded by then counts (the as-of
//   semantics of the rules); the session itself and any on the same day are
//   never its "previous session".
// - The AuditedSession copies the procedure's id, areas, needle depth,
//   performer and location, and carries the anesthetic above and
//   days_since_previous_session: the session's day minus the day of the
//   latest previous session on an overlapping area, by the very definitions
//   the session-spacing rule uses (internal/session_history.h), whether or
//   not that rule is enabled or fires; unset when there is none.
// - The verdict is the first that applies: INTERVAL_VIOLATION (the
//   session-spacing rule fired), TREATED_DESPITE_CRITICAL,
//   TREATED_DESPITE_WARNING, CLEAR (nothing above INFO).
// - Findings carry patient_id, the session and the alerts; request_id and
//   knowledge_base_version are left for the caller.
// - Cost: each session is evaluated against the whole record, so the work
//   grows with sessions x record size. A caller facing untrusted records
//   refuses those with more than kMaxAuditedSessions sessions
//   (CountAuditedSessions, which costs one classification per procedure)
//   before calling AuditRecord.
#ifndef SERVICE_ENGINE_AUDIT_H_
#define SERVICE_ENGINE_AUDIT_H_

#include <vector>

#include "needlecheck/v1/audit.pb.h"
#include "needlecheck/v1/record.pb.h"
#include "service/kb/knowledge_base.h"

namespace needlecheck::engine {

// The most microneedling sessions one audited record may hold: monthly
// sessions for 16 years. Records of thousands of sessions would hold a
// server thread for minutes.
inline constexpr int kMaxAuditedSessions = 200;

// How many sessions (as defined above) AuditRecord would audit.
int CountAuditedSessions(const kb::KnowledgeBase& kb,
                         const needlecheck::v1::PatientRecord& record);

std::vector<needlecheck::v1::AuditFinding> AuditRecord(
    const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record);

// The verdict for a session's alerts (see above). `interval_rule_id` is the
// id of the knowledge base's session-spacing rule.
needlecheck::v1::AuditVerdict VerdictFor(
    const std::vector<needlecheck::v1::Alert>& alerts,
    absl::string_view interval_rule_id);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_AUDIT_H_
