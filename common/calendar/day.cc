#include "common/calendar/day.h"

#include <cstdint>

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

DayNumber UtcDayOf(absl::Time t) {
  constexpr int64_t kSecondsPerDay = 86400;
  const int64_t seconds = absl::ToUnixSeconds(t);  // rounds down
  int64_t day = seconds / kSecondsPerDay;
  if (seconds % kSecondsPerDay < 0) --day;  // floor, not toward zero
  return static_cast<DayNumber>(day);
}

absl::Time UtcDayStart(DayNumber day) {
  return absl::FromUnixSeconds(int64_t{day} * 86400);
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
