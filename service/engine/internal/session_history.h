// Session history as the session-spacing rule (MN-FREQ-INTERVAL) reads it
// (docs/clinical-rules.md, "Session history"): which procedures are past
// microneedling sessions, on which day, which areas overlap, and which
// sessions are "previous" to a session on a given day. The interval rule
// (engine.cc) and the audit (audit.cc, AuditedSession's
// days_since_previous_session) both use these, so the two never disagree.
//
// Internal to needlecheck_engine: callers outside service/engine must not
// include it. Pure functions, thread-safe; no I/O, no clock.
#ifndef SERVICE_ENGINE_INTERNAL_SESSION_HISTORY_H_
#define SERVICE_ENGINE_INTERNAL_SESSION_HISTORY_H_

#include <optional>
#include <vector>

#include "common/calendar/fhir_date.h"
#include "needlecheck/v1/record.pb.h"
#include "needlecheck/v1/session.pb.h"
#include "service/kb/knowledge_base.h"

namespace needlecheck::engine::internal {

// Whether two treatment areas overlap: the same area, full face and a face
// sub-area (forehead, cheeks, periorbital, perioral, nose, chin), or either
// one unknown (TREATMENT_AREA_UNSPECIFIED), which overlaps every area.
bool AreasOverlap(int a, int b);

// Whether past procedure `p` overlaps the areas of `session`. A procedure
// without areas, or a session without areas, is an unknown area: it
// overlaps everything.
bool OverlapsPlan(const needlecheck::v1::Procedure& p,
                  const needlecheck::v1::PlannedSession& session);

// The day of a past microneedling session: `p` is one, when `match` (its
// code classified with kb.ClassifyConcept) is in the knowledge base's
// microneedling value set and it was performed on a valid date; the day is
// conservatively the last day that date may mean (ProcedureLastDay).
// nullopt: not a session.
std::optional<DayNumber> SessionDay(const kb::KnowledgeBase& kb,
                                    const kb::ConceptMatch& match,
                                    const needlecheck::v1::Procedure& p);

struct PreviousSession {
  int procedure_index = 0;  // index in record.procedures
  DayNumber day = 0;        // SessionDay of that procedure
};

// The previous sessions of `session` evaluated as of day `t`: the record's
// sessions (SessionDay) strictly before t that overlap the session's areas,
// in record order. A session on day t itself (the one being planned or
// audited, or another that day) is never previous. `procedure_matches[i]`
// is record.procedures(i) classified with kb.ClassifyConcept (same size).
std::vector<PreviousSession> PreviousSessions(
    const kb::KnowledgeBase& kb, const needlecheck::v1::PatientRecord& record,
    const std::vector<kb::ConceptMatch>& procedure_matches,
    const needlecheck::v1::PlannedSession& session, DayNumber t);

// The same, from the SessionDay of every procedure of the record
// (`session_days[i]` for record.procedures(i)), appended to `out` (cleared
// first).
void PreviousSessions(const needlecheck::v1::PatientRecord& record,
                      const std::vector<std::optional<DayNumber>>& session_days,
                      const needlecheck::v1::PlannedSession& session,
                      DayNumber t, std::vector<PreviousSession>* out);

}  // namespace needlecheck::engine::internal

#endif  // SERVICE_ENGINE_INTERNAL_SESSION_HISTORY_H_
