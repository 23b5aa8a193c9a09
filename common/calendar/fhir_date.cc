#include "common/calendar/fhir_date.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace needlecheck {
namespace {

// What is wrong with a value, one per check, in the order they are made.
enum class Problem {
  kEmpty,
  kYearDigits,
  kYearZero,
  kAfterYear,
  kMonthDigits,
  kMonthRange,
  kAfterMonth,
  kDayDigits,
  kDayRange,    // day 00 or above 31
  kNoSuchDay,   // e.g. 02-30
  kTimeMarker,  // no 'T' after the day
  kTimeSyntax,
  kHourRange,
  kMinuteRange,
  kSecondRange,
  kFraction,
  kZoneMissing,  // the value ends after the time
  kZoneSyntax,   // a sign not followed by hh:mm
  kZoneOther,    // neither 'Z' nor a sign
  kZoneRange,
  kTrailing,
};

// A rejected value: the problem and the numbers its message may name.
struct Rejection {
  Problem problem;
  int year = 0, month = 0, day = 0;
  int field = 0;  // the hour, minute or second out of range
};

// Reads exactly `n` ASCII digits at `pos`; -1 if they are not there.
int ReadDigits(absl::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// Why, in the record wording (QuotingValue adds the value).
std::string RecordWording(const Rejection& r, const FhirDateOptions& options) {
  switch (r.problem) {
    case Problem::kEmpty:
      return "empty";
    case Problem::kYearDigits:
      return "expected a four-digit year";
    case Problem::kYearZero:
      return "year 0000 is out of range";
    case Problem::kAfterYear:
      return "expected '-' after the year";
    case Problem::kMonthDigits:
      return "expected a two-digit month";
    case Problem::kMonthRange:
      return absl::StrCat("month ", r.month, " is out of range");
    case Problem::kAfterMonth:
      return "expected '-' after the month";
    case Problem::kDayDigits:
      return "expected a two-digit day";
    case Problem::kDayRange:
    case Problem::kNoSuchDay:
      return absl::StrFormat("%04d-%02d-%02d does not exist", r.year, r.month,
                             r.day);
    case Problem::kTimeMarker:
      return "expected 'T' before the time";
    case Problem::kTimeSyntax:
      return "expected a time as Thh:mm:ss";
    case Problem::kHourRange:
      return absl::StrCat("hour ", r.field, " is out of range");
    case Problem::kMinuteRange:
      return absl::StrCat("minute ", r.field, " is out of range");
    case Problem::kSecondRange:
      return absl::StrCat("second ", r.field, " is out of range");
    case Problem::kFraction:
      return options.max_fraction_digits > 0
                 ? absl::StrCat("fractional seconds need 1 to ",
                                options.max_fraction_digits, " digits")
                 : "fractional seconds need at least 1 digit";
    case Problem::kZoneMissing:
    case Problem::kZoneOther:
      return "a dateTime with a time needs a time zone (Z or +hh:mm)";
    case Problem::kZoneSyntax:
      return "time zone offset must be +hh:mm or -hh:mm";
    case Problem::kZoneRange:
      return "time zone offset is out of range";
    case Problem::kTrailing:
      return "unexpected characters after the time zone";
  }
  return "";
}

// The FHIR adapter's wording: says what is wrong, names nothing of the value.
std::string WordingWithoutValue(const Rejection& r) {
  absl::string_view why;
  switch (r.problem) {
    case Problem::kNoSuchDay:
      return "the date does not exist (no such day in its month)";
    case Problem::kEmpty:
      why = "empty";
      break;
    case Problem::kYearDigits:
    case Problem::kYearZero:
      why = "year";
      break;
    case Problem::kAfterYear:
    case Problem::kMonthDigits:
    case Problem::kAfterMonth:
    case Problem::kDayDigits:
      break;
    case Problem::kMonthRange:
      why = "month out of range";
      break;
    case Problem::kDayRange:
      why = "day out of range";
      break;
    case Problem::kTimeMarker:
    case Problem::kTimeSyntax:
      why = "time must be Thh:mm:ss";
      break;
    case Problem::kHourRange:
    case Problem::kMinuteRange:
    case Problem::kSecondRange:
      why = "time out of range";
      break;
    case Problem::kFraction:
      why = "fraction";
      break;
    case Problem::kZoneMissing:
      why = "time zone required";
      break;
    case Problem::kZoneSyntax:
    case Problem::kZoneOther:
      why = "time zone";
      break;
    case Problem::kZoneRange:
      why = "time zone out of range";
      break;
    case Problem::kTrailing:
      why = "trailing characters";
      break;
  }
  std::string out = "the value is not a FHIR date or dateTime";
  if (!why.empty()) absl::StrAppend(&out, " (", why, ")");
  return out;
}

// The record wording: the value (its first 40 characters) and why.
absl::Status QuotingValue(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text.substr(0, 40), text.size() > 40 ? "..." : "",
                   "\" is not a FHIR date: ", why));
}

absl::Status Reject(absl::string_view text, const Rejection& r,
                    const FhirDateOptions& options) {
  if (!options.quote_value_in_errors) {
    return absl::InvalidArgumentError(WordingWithoutValue(r));
  }
  return QuotingValue(text, RecordWording(r, options));
}

// Checks "Thh:mm:ss[.fff](Z|+hh:mm|-hh:mm)" from s[pos] == 'T' to the end:
// true when it is one, else false with the problem in `r`.
bool CheckTime(absl::string_view s, size_t pos, const FhirDateOptions& options,
               Rejection* r) {
  const int hh = ReadDigits(s, pos + 1, 2);
  const int mm = ReadDigits(s, pos + 4, 2);
  const int ss = ReadDigits(s, pos + 7, 2);
  if (hh < 0 || pos + 3 >= s.size() || s[pos + 3] != ':' || mm < 0 ||
      pos + 6 >= s.size() || s[pos + 6] != ':' || ss < 0) {
    r->problem = Problem::kTimeSyntax;
    return false;
  }
  if (hh > 23 || mm > 59 || ss > 60) {
    r->problem = hh > 23   ? Problem::kHourRange
                 : mm > 59 ? Problem::kMinuteRange
                           : Problem::kSecondRange;
    r->field = hh > 23 ? hh : mm > 59 ? mm : ss;
    return false;
  }
  size_t p = pos + 9;
  if (p < s.size() && s[p] == '.') {
    size_t digits = 0;
    ++p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      ++p;
      ++digits;
    }
    if (digits == 0 ||
        (options.max_fraction_digits > 0 &&
         digits > static_cast<size_t>(options.max_fraction_digits))) {
      r->problem = Problem::kFraction;
      return false;
    }
  }
  if (p >= s.size()) {
    r->problem = Problem::kZoneMissing;
    return false;
  }
  if (s[p] == 'Z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    const int oh = ReadDigits(s, p + 1, 2);
    const int om = ReadDigits(s, p + 4, 2);
    if (oh < 0 || p + 3 >= s.size() || s[p + 3] != ':' || om < 0) {
      r->problem = Problem::kZoneSyntax;
      return false;
    }
    if (om > 59 || oh * 60 + om > options.max_offset_minutes) {
      r->problem = Problem::kZoneRange;
      return false;
    }
    p += 6;
  } else {
    r->problem = Problem::kZoneOther;
    return false;
  }
  if (p != s.size()) {
    r->problem = Problem::kTrailing;
    return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<FhirDate> ParseFhirDate(absl::string_view text,
                                       const FhirDateOptions& options) {
  Rejection r{Problem::kEmpty};
  if (text.empty()) return Reject(text, r, options);
  const int year = ReadDigits(text, 0, 4);
  if (year < 1) {
    r.problem = year < 0 ? Problem::kYearDigits : Problem::kYearZero;
    return Reject(text, r, options);
  }
  FhirDate out;
  if (text.size() == 4) {
    out.first_day = ToDayNumber(absl::CivilDay(year, 1, 1));
    out.last_day = ToDayNumber(absl::CivilDay(year + 1, 1, 1)) - 1;
    out.precision = DatePrecision::kYear;
    return out;
  }
  r.year = year;
  const int month = text[4] == '-' ? ReadDigits(text, 5, 2) : -1;
  if (month < 1 || month > 12) {
    r.problem = text[4] != '-' ? Problem::kAfterYear
                : month < 0    ? Problem::kMonthDigits
                               : Problem::kMonthRange;
    r.month = month;
    return Reject(text, r, options);
  }
  if (text.size() == 7) {
    const absl::CivilMonth civil_month(year, month);
    out.first_day = ToDayNumber(absl::CivilDay(civil_month));
    // The day before the next month begins (whole-month steps are cheaper in
    // absl than stepping a day back across a month).
    out.last_day = ToDayNumber(absl::CivilDay(civil_month + 1)) - 1;
    out.precision = DatePrecision::kMonth;
    return out;
  }
  r.month = month;
  const int day = text[7] == '-' ? ReadDigits(text, 8, 2) : -1;
  const absl::CivilDay civil(year, month, day);
  if (day < 1 || civil.day() != day) {
    r.problem = text[7] != '-'        ? Problem::kAfterMonth
                : day < 0             ? Problem::kDayDigits
                : day < 1 || day > 31 ? Problem::kDayRange
                                      : Problem::kNoSuchDay;
    r.day = day;
    return Reject(text, r, options);
  }
  if (text.size() > 10) {
    if (text[10] != 'T') {
      r.problem = Problem::kTimeMarker;
      return Reject(text, r, options);
    }
    if (!CheckTime(text, 10, options, &r)) return Reject(text, r, options);
  }
  out.first_day = out.last_day = ToDayNumber(civil);
  out.precision = DatePrecision::kDay;
  return out;
}

absl::StatusOr<DayNumber> ParseFhirDay(absl::string_view text) {
  absl::StatusOr<FhirDate> date = ParseFhirDate(text, kRecordDates);
  if (!date.ok()) return date.status();
  if (date->precision != DatePrecision::kDay) {
    return QuotingValue(text, "a full date (YYYY-MM-DD) is required");
  }
  return date->first_day;
}

bool ParseLeadingDay(absl::string_view text, DayNumber* day) {
  absl::CivilDay civil;
  if (text.size() < 10 || !absl::ParseCivilTime(text.substr(0, 10), &civil)) {
    return false;
  }
  // Ten characters hold at most a six-digit year: well within DayNumber.
  *day = ToDayNumber(civil);
  return true;
}

std::string FormatLeadingDay(DayNumber day) {
  return absl::FormatCivilTime(ToCivilDay(day));
}

bool ShiftLeadingDay(absl::string_view text, int64_t days, std::string* out) {
  DayNumber day;
  if (!ParseLeadingDay(text, &day)) return false;
  *out = absl::StrCat(absl::FormatCivilTime(ToCivilDay(day) + days),
                      text.substr(10));
  return true;
}

}  // namespace needlecheck
