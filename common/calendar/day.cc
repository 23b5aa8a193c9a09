#include "common/calendar/day.h"

#include "absl/strings/str_format.h"

namespace needlecheck {
DayNumber DaysFromCivil(int year, int month, int day) {
  return ToDayNumber(absl::CivilDay(year, month, day));
}

int DaysInMonth(int year, int month) {
  const absl::CivilMonth civil_month(year, month);
  return static_cast<int>(absl::CivilDay(civil_month + 1) -
                          absl::CivilDay(civil_month));
}

std::string FormatDay(DayNumber day) {
  const absl::CivilDay civil = ToCivilDay(day);
  return absl::StrFormat("%04d-%02d-%02d", civil.year(), civil.month(),
                         civil.day());
}

bool IsCivilDayText(absl::string_view text) {
  absl::CivilDay day;
  return text.size() == 10 && absl::ParseCivilTime(text, &day) &&
         absl::FormatCivilTime(day) == text;
}

}  // namespace needlecheck
