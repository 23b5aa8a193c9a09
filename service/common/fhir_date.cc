#include "service/common/fhir_date.h"

#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace needlecheck {
namespace {

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` ASCII digits at `pos`; returns -1 if they are not there.
int ReadDigits(absl::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text.substr(0, 40), text.size() > 40 ? "..." : "",
                   "\" is not a FHIR date: ", why));
}

// Validates "Thh:mm:ss[.fff](Z|+hh:mm|-hh:mm)" starting at s[pos] == 'T'.
absl::Status CheckTime(absl::string_view text, size_t pos) {
  absl::string_view s = text;
  int hh = ReadDigits(s, pos + 1, 2);
  if (hh < 0 || pos + 3 >= s.size() || s[pos + 3] != ':') {
    return Invalid(text, "expected a time as Thh:mm:ss");
  }
  int mm = ReadDigits(s, pos + 4, 2);
  if (mm < 0 || pos + 6 >= s.size() || s[pos + 6] != ':') {
    return Invalid(text, "expected a time as Thh:mm:ss");
  }
  int ss = ReadDigits(s, pos + 7, 2);
  if (ss < 0) return Invalid(text, "expected a time as Thh:mm:ss");
  if (hh > 23)
    return Invalid(text, absl::StrCat("hour ", hh, " is out of range"));
  if (mm > 59)
    return Invalid(text, absl::StrCat("minute ", mm, " is out of range"));
  if (ss > 60)
    return Invalid(text, absl::StrCat("second ", ss, " is out of range"));
  size_t p = pos + 9;
  if (p < s.size() && s[p] == '.') {
    size_t digits = 0;
    ++p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      ++p;
      ++digits;
    }
    if (digits == 0 || digits > 9) {
      return Invalid(text, "fractional seconds need 1 to 9 digits");
    }
  }
  if (p >= s.size()) {
    return Invalid(text,
                   "a dateTime with a time needs a time zone (Z or +hh:mm)");
  }
  if (s[p] == 'Z') {
    ++p;
  } else if (s[p] == '+' || s[p] == '-') {
    int oh = ReadDigits(s, p + 1, 2);
    if (oh < 0 || p + 3 >= s.size() || s[p + 3] != ':') {
      return Invalid(text, "time zone offset must be +hh:mm or -hh:mm");
    }
    int om = ReadDigits(s, p + 4, 2);
    if (om < 0)
      return Invalid(text, "time zone offset must be +hh:mm or -hh:mm");
    if (oh > 14 || om > 59)
      return Invalid(text, "time zone offset is out of range");
    p += 6;
  } else {
    return Invalid(text,
                   "a dateTime with a time needs a time zone (Z or +hh:mm)");
  }
  if (p != s.size())
    return Invalid(text, "unexpected characters after the time zone");
  return absl::OkStatus();
}

}  // namespace

DayNumber DaysFromCivil(int y, int m, int d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

std::string FormatDay(DayNumber z) {
  // Howard Hinnant's civil_from_days.
  int64_t zz = static_cast<int64_t>(z) + 719468;
  const int64_t era = (zz >= 0 ? zz : zz - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(zz - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
  return absl::StrFormat("%04d-%02d-%02d", y, m, d);
}

absl::StatusOr<FhirDate> ParseFhirDate(absl::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  const int year = ReadDigits(text, 0, 4);
  if (year < 0) return Invalid(text, "expected a four-digit year");
  if (year < 1) return Invalid(text, "year 0000 is out of range");
  FhirDate out;
  if (text.size() == 4) {
    out.first_day = DaysFromCivil(year, 1, 1);
    out.last_day = DaysFromCivil(year, 12, 31);
    out.precision = DatePrecision::kYear;
    return out;
  }
  if (text[4] != '-') return Invalid(text, "expected '-' after the year");
  const int month = ReadDigits(text, 5, 2);
  if (month < 0) return Invalid(text, "expected a two-digit month");
  if (month < 1 || month > 12) {
    return Invalid(text, absl::StrCat("month ", month, " is out of range"));
  }
  if (text.size() == 7) {
    out.first_day = DaysFromCivil(year, month, 1);
    out.last_day = DaysFromCivil(year, month, DaysInMonth(year, month));
    out.precision = DatePrecision::kMonth;
    return out;
  }
  if (text[7] != '-') return Invalid(text, "expected '-' after the month");
  const int day = ReadDigits(text, 8, 2);
  if (day < 0) return Invalid(text, "expected a two-digit day");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Invalid(text, absl::StrFormat("%04d-%02d-%02d does not exist", year,
                                         month, day));
  }
  if (text.size() > 10) {
    if (text[10] != 'T') return Invalid(text, "expected 'T' before the time");
    absl::Status time = CheckTime(text, 10);
    if (!time.ok()) return time;
  }
  out.first_day = out.last_day = DaysFromCivil(year, month, day);
  out.precision = DatePrecision::kDay;
  return out;
}

absl::StatusOr<DayNumber> ParseFhirDay(absl::string_view text) {
  absl::StatusOr<FhirDate> date = ParseFhirDate(text);
  if (!date.ok()) return date.status();
  if (date->precision != DatePrecision::kDay) {
    return Invalid(text, "a full date (YYYY-MM-DD) is required");
  }
  return date->first_day;
}

}  // namespace needlecheck
