// As-of-date semantics for record entries (docs/clinical-rules.md,
// "Inputs"): when a condition is active, an allergy counts, a medication is
// taken, a procedure is a performed session.
//
// Contract: pure functions of one entry and the evaluation day T. Dates that
// are missing or do not parse are read as "unknown" (never as a guess).
// Partial dates are read conservatively: the earliest day they may mean for
// "begun by T" (onset, start, recorded), the latest for "still going at T"
// (abatement, end) and for "how long ago" (a partial session date counts as
// its last possible day, so the interval to it is the shortest possible).
#ifndef SERVICE_ENGINE_AS_OF_H_
#define SERVICE_ENGINE_AS_OF_H_

#include <optional>
#include <string>

#include "common/calendar/fhir_date.h"
#include "needlecheck/v1/record.pb.h"

namespace needlecheck::engine {

// The parsed date, or nullopt when empty or invalid.
std::optional<FhirDate> OptionalDate(const std::string& text);

// A date field read once: whether the source gave one (non-empty text) and
// its days when it parses. The engine reads each entry's dates once per
// evaluation and passes them to the overloads below; the overloads without
// dates read them from the entry.
struct ParsedDate {
  bool given = false;
  std::optional<FhirDate> date;  // nullopt: not given, or invalid
};
ParsedDate ParseDateField(const std::string& text);

// The date field last parsed in one place (a slot a caller keeps from call
// to call): the same text again gives the stored reading without parsing.
struct DateMemo {
  std::string text;
  ParsedDate parsed;
  bool valid = false;
};
// ParseDateField(text), through `memo` when it is not null.
ParsedDate ParseDateField(const std::string& text, DateMemo* memo);

struct ConditionDates {
  ParsedDate onset;
  ParsedDate abatement;
};
struct AllergyDates {
  ParsedDate recorded;
};
struct MedicationDates {
  ParsedDate start;
  ParsedDate end;
};
struct ProcedureDates {
  ParsedDate performed;
};
// The dates of an entry. `memos`, when not null, holds two slots, one per
// date field of the entry in the order of its Dates struct.
ConditionDates DatesOf(const needlecheck::v1::Condition& c,
                       DateMemo* memos = nullptr);
AllergyDates DatesOf(const needlecheck::v1::Allergy& a,
                     DateMemo* memos = nullptr);
MedicationDates DatesOf(const needlecheck::v1::Medication& m,
                        DateMemo* memos = nullptr);
ProcedureDates DatesOf(const needlecheck::v1::Procedure& p,
                       DateMemo* memos = nullptr);
// An observation's one date, its effective date.
ParsedDate DatesOf(const needlecheck::v1::Observation& o,
                   DateMemo* memos = nullptr);

// Refuted or entered-in-error: never counts.
bool IsRetracted(absl::string_view verification_status);

// Condition active at T: not retracted; onset on or before T (or none); not
// abated by T; and clinical status active/recurrence/relapse, or an
// abatement date after T. Resolved/inactive/remission (or no status) with no
// abatement date: never active.
bool ConditionActiveAt(const needlecheck::v1::Condition& c, DayNumber t);
bool ConditionActiveAt(const needlecheck::v1::Condition& c,
                       const ConditionDates& dates, DayNumber t);

// Condition begun on or before T (a "history of"), whatever its status now;
// retracted ones never count.
bool ConditionBegunBy(const needlecheck::v1::Condition& c, DayNumber t);
bool ConditionBegunBy(const needlecheck::v1::Condition& c,
                      const ConditionDates& dates, DayNumber t);

// Allergy that counts at T: not retracted, clinical status active (or not
// given), recorded on or before T (or no date).
bool AllergyActiveAt(const needlecheck::v1::Allergy& a, DayNumber t);
bool AllergyActiveAt(const needlecheck::v1::Allergy& a,
                     const AllergyDates& dates, DayNumber t);

// Allergy entry that exists in the record at T (documentation): not entered
// in error, recorded on or before T (or no date). Refuted entries count as
// documentation (someone asked).
bool AllergyRecordedBy(const needlecheck::v1::Allergy& a, DayNumber t);
bool AllergyRecordedBy(const needlecheck::v1::Allergy& a,
                       const AllergyDates& dates, DayNumber t);

// Medication taken at T, or (lookback_days > 0) stopped fewer than
// lookback_days days before T. Draft, cancelled, not-taken and
// entered-in-error never count. A stopped/completed medication without an
// end date counts only through the lookback, measured from its start (it
// stopped no earlier than it started).
bool MedicationActiveAt(const needlecheck::v1::Medication& m, DayNumber t,
                        int lookback_days);
bool MedicationActiveAt(const needlecheck::v1::Medication& m,
                        const MedicationDates& dates, DayNumber t,
                        int lookback_days);

// Medication started on or before T, whatever its status (not draft,
// cancelled, not-taken or entered-in-error).
bool MedicationBegunBy(const needlecheck::v1::Medication& m, DayNumber t);
bool MedicationBegunBy(const needlecheck::v1::Medication& m,
                       const MedicationDates& dates, DayNumber t);

// Whether a procedure was performed (status not not-done, entered-in-error
// or preparation).
bool ProcedurePerformed(const needlecheck::v1::Procedure& p);

// The day a performed procedure took place, conservatively the last day its
// date may mean; nullopt when it has no valid date or was not performed.
std::optional<DayNumber> ProcedureLastDay(const needlecheck::v1::Procedure& p);
std::optional<DayNumber> ProcedureLastDay(const needlecheck::v1::Procedure& p,
                                          const ProcedureDates& dates);

// Performed on or before T (earliest possible day), and, when
// lookback_days > 0, fewer than lookback_days days before T.
bool ProcedurePerformedBy(const needlecheck::v1::Procedure& p, DayNumber t,
                          int lookback_days);
bool ProcedurePerformedBy(const needlecheck::v1::Procedure& p,
                          const ProcedureDates& dates, DayNumber t,
                          int lookback_days);

}  // namespace needlecheck::engine

#endif  // SERVICE_ENGINE_AS_OF_H_
