#include "service/engine/as_of.h"

namespace needlecheck::engine {

std::optional<FhirDate> OptionalDate(const std::string& text) {
  if (text.empty()) return std::nullopt;
  absl::StatusOr<FhirDate> date = ParseFhirDate(text);
  if (!date.ok()) return std::nullopt;
  return *date;
}

bool IsRetracted(absl::string_view verification_status) {
  return verification_status == "refuted" ||
         verification_status == "entered-in-error";
}

bool ConditionBegunBy(const v1::Condition& c, DayNumber t) {
  if (IsRetracted(c.verification_status())) return false;
  if (c.clinical_status() == "entered-in-error") return false;
  if (c.onset().empty()) return true;
  std::optional<FhirDate> onset = OptionalDate(c.onset());
  return onset.has_value() && onset->first_day <= t;
}

bool ConditionActiveAt(const v1::Condition& c, DayNumber t) {
  if (!ConditionBegunBy(c, t)) return false;
  std::optional<FhirDate> abatement = OptionalDate(c.abatement());
  if (!c.abatement().empty() && !abatement.has_value()) {
    // An abatement we cannot read: fall back on the clinical status.
  } else if (abatement.has_value()) {
    // Abated by T when even its latest possible day is on or before T.
    if (abatement->last_day <= t) return false;
    return true;  // abated after T: it was active at T, whatever it is now
  }
  // clinical-rules.md: active only by status (or an abatement after T). A
  // condition without a clinical status is not active (FHIR requires one
  // unless the entry was entered in error; adapters of sources without
  // statuses set "active" themselves).
  const std::string& status = c.clinical_status();
  return status == "active" || status == "recurrence" || status == "relapse";
}

bool AllergyRecordedBy(const v1::Allergy& a, DayNumber t) {
  if (a.verification_status() == "entered-in-error") return false;
  if (a.recorded_date().empty()) return true;
  std::optional<FhirDate> recorded = OptionalDate(a.recorded_date());
  return recorded.has_value() && recorded->first_day <= t;
}

bool AllergyActiveAt(const v1::Allergy& a, DayNumber t) {
  if (IsRetracted(a.verification_status())) return false;
  const std::string& status = a.clinical_status();
  if (!status.empty() && status != "active") return false;
  return AllergyRecordedBy(a, t);
}

namespace {
bool MedicationNeverTaken(const v1::Medication& m) {
  const std::string& s = m.status();
  return s == "entered-in-error" || s == "cancelled" || s == "not-taken" ||
         s == "draft";
}
}  // namespace

bool MedicationBegunBy(const v1::Medication& m, DayNumber t) {
  if (MedicationNeverTaken(m)) return false;
  if (m.start().empty()) return true;
  std::optional<FhirDate> start = OptionalDate(m.start());
  return start.has_value() && start->first_day <= t;
}

bool MedicationActiveAt(const v1::Medication& m, DayNumber t,
                        int lookback_days) {
  if (!MedicationBegunBy(m, t)) return false;
  std::optional<FhirDate> end = OptionalDate(m.end());
  if (end.has_value()) {
    if (end->last_day >= t) return true;  // still taken at T
    return lookback_days > 0 && t - end->last_day < lookback_days;
  }
  const std::string& s = m.status();
  const bool ended = s == "stopped" || s == "completed";
  if (!ended) return true;  // active, on-hold, intended, unknown, ...
  if (lookback_days <= 0) return false;
  std::optional<FhirDate> start = OptionalDate(m.start());
  // Stopped at an unknown date no earlier than its start.
  return start.has_value() && t - start->last_day < lookback_days;
}

bool ProcedurePerformed(const v1::Procedure& p) {
  const std::string& s = p.status();
  return s != "not-done" && s != "entered-in-error" && s != "preparation";
}

std::optional<DayNumber> ProcedureLastDay(const v1::Procedure& p) {
  if (!ProcedurePerformed(p)) return std::nullopt;
  std::optional<FhirDate> performed = OptionalDate(p.performed());
  if (!performed.has_value()) return std::nullopt;
  return performed->last_day;
}

bool ProcedurePerformedBy(const v1::Procedure& p, DayNumber t,
                          int lookback_days) {
  if (!ProcedurePerformed(p)) return false;
  std::optional<FhirDate> performed = OptionalDate(p.performed());
  if (!performed.has_value())
    return p.performed().empty() && lookback_days <= 0;
  if (performed->first_day > t) return false;
  return lookback_days <= 0 || t - performed->last_day < lookback_days;
}

}  // namespace needlecheck::engine
