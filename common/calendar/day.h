// Calendar days: the one calendar of the project, built on absl::CivilDay.
//
// A day is stored as a DayNumber, the count of days since 1970-01-01 (day 0)
// in the proleptic Gregorian calendar: a plain integer that is cheap to keep,
// compare and add to (the screening engine does all three per record entry).
// absl::CivilDay does the calendar work (month lengths, leap years,
// conversions); use it directly where a civil day is more natural.
//
// Contract
// - DaysFromCivil() expects a date that exists (see DaysInMonth); it does not
//   validate. Parse untrusted text with common/calendar/fhir_date.h.
// - FormatDay() writes "YYYY-MM-DD" with at least four year digits
//   ("0001-01-01"), so a day round-trips through ParseFhirDay.
// - Adding days is integer arithmetic on DayNumber ("day + 28"); the result is
//   a day as long as it stays within int32.
// - Pure functions: thread-safe, no I/O, no clock, no time zone.
#ifndef COMMON_CALENDAR_DAY_H_
#define COMMON_CALENDAR_DAY_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace needlecheck {

// A calendar day, as days since 1970-01-01.
using DayNumber = int32_t;

// Day 0.
inline constexpr absl::CivilDay kDayNumberEpoch(1970, 1, 1);

// The civil day of `day`.
inline absl::CivilDay ToCivilDay(DayNumber day) {
  return kDayNumberEpoch + day;
}

// The DayNumber of `day` (whose year must keep it within int32).
inline DayNumber ToDayNumber(absl::CivilDay day) {
  return static_cast<DayNumber>(day - kDayNumberEpoch);
}

// Days since 1970-01-01 of the date year-month-day, which must exist.
DayNumber DaysFromCivil(int year, int month, int day);

// The number of days of `month` (1-12) in `year`: 28 to 31.
int DaysInMonth(int year, int month);

// The UTC day holding the finite instant `t`. Unix time has no leap
// seconds, so a UTC day is 86,400 s: integer arithmetic, no time zone data.
DayNumber UtcDayOf(absl::Time t);

// The first instant of `day` in UTC (00:00:00Z).
absl::Time UtcDayStart(DayNumber day);

// "YYYY-MM-DD" for `day`, e.g. FormatDay(0) == "1970-01-01".
std::string FormatDay(DayNumber day);

// True when `text` is ten characters and a day exactly as
// absl::FormatCivilTime writes it: "YYYY-MM-DD" for the years 1000 to 9999,
// a day that exists, no sign, space or missing zero. For command-line
// arguments that name a UTC day (the CLI's --from and --to).
bool IsCivilDayText(absl::string_view text);

}  // namespace needlecheck

#endif  // COMMON_CALENDAR_DAY_H_
