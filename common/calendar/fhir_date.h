// FhirDate: a FHIR R4 date or dateTime, read as the range of calendar days it
// covers. The one date parser of the project (the service's record dates, the
// FHIR adapter's JSON, the CLI's --date flags).
//
// FHIR allows partial dates: "2026" is the whole year, "2026-11" the whole
// month, "2026-11-23" one day, and a dateTime ("2026-11-23T10:00:00Z",
// "2026-11-23T10:00:00.123+01:00") names one day, the date as written in the
// source's own offset (the rules work in whole days, and the calendar day the
// clinic saw is the one that counts). Each rule picks the bound of the range
// that is conservative for it (see README.md, "How dates are read").
//
// Grammar: YYYY, YYYY-MM, YYYY-MM-DD or
// YYYY-MM-DDThh:mm:ss[.fraction](Z|+hh:mm|-hh:mm); year 0001-9999, month
// 01-12, a day that exists in its month (leap years included), hour 00-23,
// minute 00-59, second 00-60 (leap second), a time zone required with a time,
// no trailing characters. Two corners differ between the two readers the
// project has always had, and FhirDateOptions names them:
//
//                        kRecordDates (default)   kFhirJsonDates
//   fraction digits      1 to 9                   1 or more (FHIR R4)
//   largest offset       14:59                    14:00 (FHIR R4)
//   error messages       quote the value          never quote the value
//
// kRecordDates is how the screening service reads needlecheck.v1 record and
// session dates (and the CLI its --date flags); kFhirJsonDates is how the
// FHIR adapter checks the untrusted FHIR JSON it translates. A dateTime that
// only one of them accepts is rare in practice, and each caller keeps the
// answers it has always given.
//
// Errors are INVALID_ARGUMENT and say what is wrong. kRecordDates:
// "\"2026-13-01\" is not a FHIR date: month 13 is out of range" (the value's
// first 40 characters, for the caller who sent it); kFhirJsonDates: "the
// value is not a FHIR date or dateTime (month out of range)" or "the date
// does not exist (no such day in its month)", never any part of the value
// (it may be patient data, and these errors reach logs and reports).
//
// Pure functions: thread-safe, no I/O, no clock; no allocation unless the
// value is rejected.
#ifndef COMMON_CALENDAR_FHIR_DATE_H_
#define COMMON_CALENDAR_FHIR_DATE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/calendar/day.h"

namespace needlecheck {

// The precision the source gave.
enum class DatePrecision { kYear, kMonth, kDay };

struct FhirDate {
  DayNumber first_day = 0;  // first day the value may mean
  DayNumber last_day = 0;   // last day the value may mean (== first_day for
                            // a full date)
  DatePrecision precision = DatePrecision::kDay;
};

// The two corners of the grammar and the wording of errors (see the table
// at the top of this file).
struct FhirDateOptions {
  // The most digits after the seconds' decimal point; 0: any number.
  int max_fraction_digits = 9;
  // The largest time zone offset either way, in minutes (minutes 00-59).
  int max_offset_minutes = 14 * 60 + 59;
  // Whether errors quote the value (its first 40 characters) and use the
  // record wording; otherwise they use the FHIR adapter's wording and name
  // nothing of the value.
  bool quote_value_in_errors = true;
};

// The screening service's reading of record and session dates.
inline constexpr FhirDateOptions kRecordDates{};
// The FHIR adapter's reading of FHIR JSON: FHIR R4's own grammar, errors
// that never quote the value.
inline constexpr FhirDateOptions kFhirJsonDates{
    /*max_fraction_digits=*/0, /*max_offset_minutes=*/14 * 60,
    /*quote_value_in_errors=*/false};

// Parses a FHIR date or dateTime.
absl::StatusOr<FhirDate> ParseFhirDate(
    absl::string_view text, const FhirDateOptions& options = kRecordDates);

// Parses a value that must name a full day (a date with day precision, or a
// dateTime) with kRecordDates: used for planned session dates and --date
// flags. A partial date: INVALID_ARGUMENT "... a full date (YYYY-MM-DD) is
// required".
absl::StatusOr<DayNumber> ParseFhirDay(absl::string_view text);

// The leading day of a date or dateTime, read leniently: the day its first
// ten characters name as absl::ParseCivilTime reads a CivilDay (a year as
// strtoll reads it, then "-MM-DD" as absl::ParseTime does: one- or
// two-digit month and day, surrounding white space allowed), whatever
// follows ignored unread (a time, an offset, anything). False, with `*day`
// unchanged, for a value shorter than ten characters (a partial date such
// as "2026-11") or whose first ten characters are no day that exists
// ("2026-02-30"). For moving the date of a resource that is sent back as it
// came (the CDS Hooks suggestions), not for validating one: use
// ParseFhirDate for that.
bool ParseLeadingDay(absl::string_view text, DayNumber* day);

// `day` as absl::FormatCivilTime writes it: "YYYY-MM-DD" for the years 1000
// to 9999, the year unpadded outside them ("999-01-01", "-1-01-01").
std::string FormatLeadingDay(DayNumber day);

// `text` with its leading day (ParseLeadingDay) moved by `days` and written
// by FormatLeadingDay, the characters after the first ten kept as they are
// ("2026-11-30T09:00:00-06:00" moved by 9: "2026-12-09T09:00:00-06:00");
// false, `*out` unchanged, when ParseLeadingDay refuses `text`.
bool ShiftLeadingDay(absl::string_view text, int64_t days, std::string* out);

}  // namespace needlecheck

#endif  // COMMON_CALENDAR_FHIR_DATE_H_
