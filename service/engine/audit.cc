#include "service/engine/audit.h"

#include <optional>
#include <string>
#include <vector>

#include "service/engine/as_of.h"
#include "service/engine/engine.h"
#include "service/engine/internal/session_history.h"

namespace needlecheck::engine {
namespace {

bool IsAnesthetic(const kb::KnowledgeBase& kb, const v1::Concept& concept) {
  kb::ConceptMatch match;
  kb.ClassifyConcept(concept, &match);
  return !match.agents.empty() || !match.generic_anesthetic.empty();
}

// The anesthetic a past session used, or an empty concept.
v1::Concept SessionAnesthetic(const kb::KnowledgeBase& kb,
                              const v1::PatientRecord& record,
                              const v1::Procedure& procedure, DayNumber day) {
  for (const v1::Concept& used : procedure.used()) {
    if (IsAnesthetic(kb, used)) return used;
  }
  for (const v1::Medication& m : record.medications()) {
    std::optional<FhirDate> start = OptionalDate(m.start());
    if (!start.has_value() || start->first_day != day ||
        start->last_day != day) {
      continue;
    }
    // Never given (not-taken, entered-in-error, draft, cancelled): e.g. a
    // MedicationAdministration that was not done.
    if (!MedicationBegunBy(m, day)) continue;
    if (IsAnesthetic(kb, m.code())) return m.code();
  }
  return v1::Concept();
}

std::string IntervalRuleId(const kb::KnowledgeBase& kb) {
  for (const auto& rule : kb.definition().rules()) {
    if (rule.kind() == v1::RULE_KIND_SESSION_INTERVAL) return rule.id();
  }
  return "";
}

}  // namespace

v1::AuditVerdict VerdictFor(const std::vector<v1::Alert>& alerts,
                            absl::string_view interval_rule_id) {
  v1::Severity highest = v1::SEVERITY_UNSPECIFIED;
  for (const v1::Alert& alert : alerts) {
    if (!interval_rule_id.empty() && alert.rule_id() == interval_rule_id) {
      return v1::AUDIT_VERDICT_INTERVAL_VIOLATION;
    }
    if (alert.severity() > highest) highest = alert.severity();
  }
  if (highest == v1::SEVERITY_CRITICAL) {
    return v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL;
  }
  if (highest == v1::SEVERITY_WARNING) {
    return v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING;
  }
  return v1::AUDIT_VERDICT_CLEAR;
}

int CountAuditedSessions(const kb::KnowledgeBase& kb,
                         const v1::PatientRecord& record) {
  int sessions = 0;
  kb::ConceptMatch match;
  for (const v1::Procedure& procedure : record.procedures()) {
    kb.ClassifyConcept(procedure.code(), &match);
    if (internal::SessionDay(kb, match, procedure).has_value()) ++sessions;
  }
  return sessions;
}

std::vector<v1::AuditFinding> AuditRecord(const kb::KnowledgeBase& kb,
                                          const v1::PatientRecord& record) {
  std::vector<v1::AuditFinding> findings;
  const std::string interval_rule = IntervalRuleId(kb);
  std::vector<kb::ConceptMatch> matches(record.procedures_size());
  for (int i = 0; i < record.procedures_size(); ++i) {
    kb.ClassifyConcept(record.procedures(i).code(), &matches[i]);
  }
  for (int i = 0; i < record.procedures_size(); ++i) {
    const v1::Procedure& procedure = record.procedures(i);
    std::optional<DayNumber> day =
        internal::SessionDay(kb, matches[i], procedure);
    if (!day.has_value()) continue;

    v1::PlannedSession session;
    session.set_date(FormatDay(*day));
    for (int area : procedure.areas()) {
      v1::AreaPlan* plan = session.add_areas();
      plan->set_area(static_cast<v1::TreatmentArea>(area));
      plan->set_needle_depth_mm(procedure.needle_depth_mm());
    }
    *session.mutable_anesthetic() =
        SessionAnesthetic(kb, record, procedure, *day);

    v1::AuditFinding finding;
    finding.set_patient_id(record.patient_id());
    v1::AuditedSession* audited = finding.mutable_session();
    audited->set_procedure_id(procedure.id());
    audited->set_date(session.date());
    audited->mutable_areas()->CopyFrom(procedure.areas());
    audited->set_needle_depth_mm(procedure.needle_depth_mm());
    *audited->mutable_anesthetic() = session.anesthetic();
    audited->set_performer(procedure.performer());
    audited->set_location(procedure.location());
    // The latest previous session exactly as the session-spacing rule sees
    // it (whether or not that rule is enabled, or fires).
    std::optional<DayNumber> latest;
    for (const internal::PreviousSession& previous :
         internal::PreviousSessions(kb, record, matches, session, *day)) {
      if (!latest.has_value() || previous.day > *latest) latest = previous.day;
    }
    if (latest.has_value()) {
      audited->set_days_since_previous_session(*day - *latest);
    }
    std::vector<v1::Alert> alerts = EvaluateAsOf(kb, record, session, *day);
    finding.set_verdict(VerdictFor(alerts, interval_rule));
    for (v1::Alert& alert : alerts) *finding.add_alerts() = std::move(alert);
    findings.push_back(std::move(finding));
  }
  return findings;
}

}  // namespace needlecheck::engine
