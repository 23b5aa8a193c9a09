#include "adapters/fhir/internal/fhir_date.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace needlecheck::fhir::internal {
namespace {

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly `n` ASCII digits at `pos`; false if any is not a digit.
bool Digits(absl::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// The error never quotes the value (it may be patient data, and errors
// reach logs and reports): it says what is wrong with it.
DateCheck Bad(absl::string_view why) {
  DateCheck r;
  r.error = "the value is not a FHIR date or dateTime";
  if (!why.empty()) absl::StrAppend(&r.error, " (", why, ")");
  return r;
}

}  // namespace

int32_t DaysFromCivil(int y, int m, int d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

DateCheck CheckFhirDate(absl::string_view s) {
  int year = 0, month = 1, day = 1;
  if (s.empty()) return Bad("empty");
  if (!Digits(s, 0, 4, &year) || year == 0) return Bad("year");
  size_t pos = 4;
  bool full_day = false;
  if (pos < s.size()) {
    if (s[pos] != '-' || !Digits(s, pos + 1, 2, &month)) return Bad("");
    if (month < 1 || month > 12) {
      return Bad("month out of range");
    }
    pos += 3;
    if (pos < s.size()) {
      if (s[pos] != '-' || !Digits(s, pos + 1, 2, &day)) return Bad("");
      pos += 3;
      if (day < 1 || day > 31) return Bad("day out of range");
      if (day > DaysInMonth(year, month)) {
        DateCheck r;
        r.error = "the date does not exist (no such day in its month)";
        return r;
      }
      full_day = true;
      if (pos < s.size()) {
        int hh = 0, mm = 0, ss = 0;
        if (s[pos] != 'T' || !Digits(s, pos + 1, 2, &hh) ||
            pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !Digits(s, pos + 4, 2, &mm) || pos + 6 >= s.size() ||
            s[pos + 6] != ':' || !Digits(s, pos + 7, 2, &ss)) {
          return Bad("time must be Thh:mm:ss");
        }
        if (hh > 23 || mm > 59 || ss > 60) return Bad("time out of range");
        pos += 9;
        if (pos < s.size() && s[pos] == '.') {
          size_t digits = 0;
          ++pos;
          while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
            ++pos;
            ++digits;
          }
          if (digits == 0) return Bad("fraction");
        }
        if (pos >= s.size()) return Bad("time zone required");
        if (s[pos] == 'Z') {
          ++pos;
        } else if (s[pos] == '+' || s[pos] == '-') {
          int oh = 0, om = 0;
          if (!Digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() ||
              s[pos + 3] != ':' || !Digits(s, pos + 4, 2, &om)) {
            return Bad("time zone");
          }
          if (om > 59 || oh > 14 || (oh == 14 && om != 0)) {
            return Bad("time zone out of range");
          }
          pos += 6;
        } else {
          return Bad("time zone");
        }
        if (pos != s.size()) return Bad("trailing characters");
      }
    }
  }
  DateCheck r;
  r.ok = true;
  r.first_day = DaysFromCivil(year, month, day);
  r.full_day = full_day;
  return r;
}

}  // namespace needlecheck::fhir::internal
