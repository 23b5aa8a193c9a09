#include "service/engine/internal/session_history.h"

#include "service/engine/as_of.h"

namespace needlecheck::engine::internal {
namespace {

bool IsFace(int a) {
  return a == v1::TREATMENT_AREA_FULL_FACE ||
         a == v1::TREATMENT_AREA_FOREHEAD || a == v1::TREATMENT_AREA_CHEEKS ||
         a == v1::TREATMENT_AREA_PERIORBITAL ||
         a == v1::TREATMENT_AREA_PERIORAL || a == v1::TREATMENT_AREA_NOSE ||
         a == v1::TREATMENT_AREA_CHIN;
}

}  // namespace

bool AreasOverlap(int a, int b) {
  if (a == v1::TREATMENT_AREA_UNSPECIFIED ||
      b == v1::TREATMENT_AREA_UNSPECIFIED) {
    return true;
  }
  if (a == b) return true;
  return (a == v1::TREATMENT_AREA_FULL_FACE && IsFace(b)) ||
         (b == v1::TREATMENT_AREA_FULL_FACE && IsFace(a));
}

bool OverlapsPlan(const v1::Procedure& p, const v1::PlannedSession& session) {
  if (p.areas().empty() || session.areas().empty()) return true;
  for (int pa : p.areas()) {
    for (const v1::AreaPlan& planned : session.areas()) {
      if (AreasOverlap(pa, planned.area())) return true;
    }
  }
  return false;
}

std::optional<DayNumber> SessionDay(const kb::KnowledgeBase& kb,
                                    const kb::ConceptMatch& match,
                                    const v1::Procedure& p) {
  if (match.FindValueSet(kb.microneedling_value_set()) == nullptr) {
    return std::nullopt;
  }
  return ProcedureLastDay(p);
}

void PreviousSessions(const v1::PatientRecord& record,
                      const std::vector<std::optional<DayNumber>>& session_days,
                      const v1::PlannedSession& session, DayNumber t,
                      std::vector<PreviousSession>* out) {
  out->clear();
  for (int i = 0; i < record.procedures_size(); ++i) {
    const std::optional<DayNumber>& day = session_days[i];
    // Only sessions strictly before T: the session being planned (or
    // audited) and any on the same day are not "previous".
    if (!day.has_value() || *day >= t) continue;
    if (!OverlapsPlan(record.procedures(i), session)) continue;
    out->push_back(PreviousSession{i, *day});
  }
}

std::vector<PreviousSession> PreviousSessions(
    const kb::KnowledgeBase& kb, const v1::PatientRecord& record,
    const std::vector<kb::ConceptMatch>& procedure_matches,
    const v1::PlannedSession& session, DayNumber t) {
  std::vector<std::optional<DayNumber>> days(record.procedures_size());
  for (int i = 0; i < record.procedures_size(); ++i) {
    days[i] = SessionDay(kb, procedure_matches[i], record.procedures(i));
  }
  std::vector<PreviousSession> out;
  PreviousSessions(record, days, session, t, &out);
  return out;
}

}  // namespace needlecheck::engine::internal
