#include "common/calendar/day.h"

#include "absl/strings/str_format.h"

namespace needlecheck {
namespace {

constexpr absl::CivilDay kEpoch(1970, 1, 1);

}  // namespace

absl::CivilDay ToCivilDay(DayNumber day) { return kEpoch + day; }

DayNumber ToDayNumber(absl::CivilDay day) {
  return static_cast<DayNumber>(day - kEpoch);
}

DayNumber DaysFromCivil(int year, int month, int day) {
  return ToDayNumber(absl::CivilDay(year, month, day));
}

int DaysInMonth(int year, int month) {
  // Day 0 of the next month is the last day of this one.
  return absl::CivilDay(year, month + 1, 0).day();
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
