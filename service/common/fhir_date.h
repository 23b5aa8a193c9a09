// FhirDate: a FHIR R4 date or dateTime, read as the range of calendar days
// it covers.
//
// FHIR allows partial dates: "2026" is the whole year, "2026-11" the whole
// month, "2026-11-23" one day, and a dateTime ("2026-11-23T10:00:00Z",
// "2026-11-23T10:00:00.123+01:00") names one day, the date as written in the
// source's own offset (the rules work in whole days, and the calendar day the
// clinic saw is the one that counts). Each rule picks the bound of the range
// that is conservative for it (see README.md, "How dates are read").
//
// Days are counted from 1970-01-01 (day 0) in the proleptic Gregorian
// calendar. Parsing is strict: month 1-12, a day that exists in its month,
// hours 0-23, minutes and seconds 0-59 (60 allowed for leap seconds), an
// offset "Z" or "+hh:mm"/"-hh:mm" required on a dateTime with a time, no
// trailing characters. Thread-safe; no I/O, no clock.
#ifndef SERVICE_COMMON_FHIR_DATE_H_
#define SERVICE_COMMON_FHIR_DATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace needlecheck {

// A calendar day, as days since 1970-01-01.
using DayNumber = int32_t;

// Days since 1970-01-01 for a valid civil date. No validation.
DayNumber DaysFromCivil(int year, int month, int day);

// "YYYY-MM-DD" for a day number.
std::string FormatDay(DayNumber day);

// The precision the source gave.
enum class DatePrecision { kYear, kMonth, kDay };

struct FhirDate {
  DayNumber first_day = 0;  // first day the value may mean
  DayNumber last_day = 0;   // last day the value may mean (== first_day for
                            // a full date)
  DatePrecision precision = DatePrecision::kDay;
};

// Parses a FHIR date or dateTime. Errors (INVALID_ARGUMENT) say what is
// wrong, e.g. "month 13 is out of range" or "2026-02-30 does not exist".
absl::StatusOr<FhirDate> ParseFhirDate(absl::string_view text);

// Parses a value that must name a full day (a date with day precision, or a
// dateTime): used for planned session dates and --date flags.
absl::StatusOr<DayNumber> ParseFhirDay(absl::string_view text);

}  // namespace needlecheck

#endif  // SERVICE_COMMON_FHIR_DATE_H_
