#include "service/engine/as_of.h"

namespace needlecheck::engine {

std::optional<FhirDate> OptionalDate(const std::string& text) {
  if (text.empty()) return std::nullopt;
  absl::StatusOr<FhirDate> date = ParseFhirDate(text);
  if (!date.ok()) return std::nullopt;
  return *date;
}

ParsedDate ParseDateField(const std::string& text) {
  ParsedDate out;
  out.given = !text.empty();
  if (out.given) out.date = OptionalDate(text);
  return out;
}

ParsedDate ParseDateField(const std::string& text, DateMemo* memo) {
  if (memo == nullptr) return ParseDateField(text);
  if (!memo->valid || memo->text != text) {
    memo->text = text;
    memo->parsed = ParseDateField(text);
    memo->valid = true;
  }
  return memo->parsed;
}

namespace {

DateMemo* Slot(DateMemo* memos, int i) {
  return memos == nullptr ? nullptr : memos + i;
}

}  // namespace

ConditionDates DatesOf(const v1::Condition& c, DateMemo* memos) {
  return {ParseDateField(c.onset(), Slot(memos, 0)),
          ParseDateField(c.abatement(), Slot(memos, 1))};
}
AllergyDates DatesOf(const v1::Allergy& a, DateMemo* memos) {
  return {ParseDateField(a.recorded_date(), Slot(memos, 0))};
}
MedicationDates DatesOf(const v1::Medication& m, DateMemo* memos) {
  return {ParseDateField(m.start(), Slot(memos, 0)),
          ParseDateField(m.end(), Slot(memos, 1))};
}
ProcedureDates DatesOf(const v1::Procedure& p, DateMemo* memos) {
  return {ParseDateField(p.performed(), Slot(memos, 0))};
}

ParsedDate DatesOf(const v1::Observation& o, DateMemo* memos) {
  return ParseDateField(o.effective(), Slot(memos, 0));
}

bool IsRetracted(absl::string_view verification_status) {
  return verification_status == "refuted" ||
         verification_status == "entered-in-error";
}

bool ConditionBegunBy(const v1::Condition& c, const ConditionDates& dates,
                      DayNumber t) {
  if (IsRetracted(c.verification_status())) return false;
  if (c.clinical_status() == "entered-in-error") return false;
  if (!dates.onset.given) return true;
  return dates.onset.date.has_value() && dates.onset.date->first_day <= t;
}

bool ConditionBegunBy(const v1::Condition& c, DayNumber t) {
  return ConditionBegunBy(c, DatesOf(c), t);
}

bool ConditionActiveAt(const v1::Condition& c, const ConditionDates& dates,
                       DayNumber t) {
  if (!ConditionBegunBy(c, dates, t)) return false;
  const std::optional<FhirDate>& abatement = dates.abatement.date;
  if (dates.abatement.given && !abatement.has_value()) {
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

bool ConditionActiveAt(const v1::Condition& c, DayNumber t) {
  return ConditionActiveAt(c, DatesOf(c), t);
}

bool AllergyRecordedBy(const v1::Allergy& a, const AllergyDates& dates,
                       DayNumber t) {
  if (a.verification_status() == "entered-in-error") return false;
  if (!dates.recorded.given) return true;
  return dates.recorded.date.has_value() && dates.recorded.date->first_day <= t;
}

bool AllergyRecordedBy(const v1::Allergy& a, DayNumber t) {
  return AllergyRecordedBy(a, DatesOf(a), t);
}

bool AllergyActiveAt(const v1::Allergy& a, const AllergyDates& dates,
                     DayNumber t) {
  if (IsRetracted(a.verification_status())) return false;
  const std::string& status = a.clinical_status();
  if (!status.empty() && status != "active") return false;
  return AllergyRecordedBy(a, dates, t);
}

bool AllergyActiveAt(const v1::Allergy& a, DayNumber t) {
  return AllergyActiveAt(a, DatesOf(a), t);
}

namespace {
bool MedicationNeverTaken(const v1::Medication& m) {
  const std::string& s = m.status();
  return s == "entered-in-error" || s == "cancelled" || s == "not-taken" ||
         s == "draft";
}
}  // namespace

bool MedicationBegunBy(const v1::Medication& m, const MedicationDates& dates,
                       DayNumber t) {
  if (MedicationNeverTaken(m)) return false;
  if (!dates.start.given) return true;
  return dates.start.date.has_value() && dates.start.date->first_day <= t;
}

bool MedicationBegunBy(const v1::Medication& m, DayNumber t) {
  return MedicationBegunBy(m, DatesOf(m), t);
}

bool MedicationActiveAt(const v1::Medication& m, const MedicationDates& dates,
                        DayNumber t, int lookback_days) {
  if (!MedicationBegunBy(m, dates, t)) return false;
  const std::optional<FhirDate>& end = dates.end.date;
  if (end.has_value()) {
    if (end->last_day >= t) return true;  // still taken at T
    return lookback_days > 0 && t - end->last_day < lookback_days;
  }
  const std::string& s = m.status();
  const bool ended = s == "stopped" || s == "completed";
  if (!ended) return true;  // active, on-hold, intended, unknown, ...
  if (lookback_days <= 0) return false;
  const std::optional<FhirDate>& start = dates.start.date;
  // Stopped at an unknown date no earlier than its start.
  return start.has_value() && t - start->last_day < lookback_days;
}

bool MedicationActiveAt(const v1::Medication& m, DayNumber t,
                        int lookback_days) {
  return MedicationActiveAt(m, DatesOf(m), t, lookback_days);
}

bool ProcedurePerformed(const v1::Procedure& p) {
  const std::string& s = p.status();
  return s != "not-done" && s != "entered-in-error" && s != "preparation";
}

std::optional<DayNumber> ProcedureLastDay(const v1::Procedure& p,
                                          const ProcedureDates& dates) {
  if (!ProcedurePerformed(p)) return std::nullopt;
  if (!dates.performed.date.has_value()) return std::nullopt;
  return dates.performed.date->last_day;
}

std::optional<DayNumber> ProcedureLastDay(const v1::Procedure& p) {
  return ProcedureLastDay(p, DatesOf(p));
}

bool ProcedurePerformedBy(const v1::Procedure& p, const ProcedureDates& dates,
                          DayNumber t, int lookback_days) {
  if (!ProcedurePerformed(p)) return false;
  const std::optional<FhirDate>& performed = dates.performed.date;
  if (!performed.has_value())
    return !dates.performed.given && lookback_days <= 0;
  if (performed->first_day > t) return false;
  return lookback_days <= 0 || t - performed->last_day < lookback_days;
}

bool ProcedurePerformedBy(const v1::Procedure& p, DayNumber t,
                          int lookback_days) {
  return ProcedurePerformedBy(p, DatesOf(p), t, lookback_days);
}

}  // namespace needlecheck::engine
