// Days: counting, month lengths and formatting (common/calendar/day.h).
#include "common/calendar/day.h"

#include <cstdint>
#include <limits>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"

namespace needlecheck {
namespace {

TEST(DayTest, EpochAndRoundTrip) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(FormatDay(0), "1970-01-01");
  EXPECT_EQ(FormatDay(DaysFromCivil(2024, 2, 29)), "2024-02-29");
  EXPECT_EQ(FormatDay(DaysFromCivil(1900, 3, 1)), "1900-03-01");
  EXPECT_EQ(DaysFromCivil(2026, 12, 21) - DaysFromCivil(2026, 11, 23), 28);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
}

TEST(DayTest, MonthLengths) {
  EXPECT_EQ(DaysInMonth(2026, 1), 31);
  EXPECT_EQ(DaysInMonth(2026, 2), 28);
  EXPECT_EQ(DaysInMonth(2024, 2), 29);
  EXPECT_EQ(DaysInMonth(2000, 2), 29);
  EXPECT_EQ(DaysInMonth(1900, 2), 28);
  EXPECT_EQ(DaysInMonth(2026, 4), 30);
  EXPECT_EQ(DaysInMonth(2026, 12), 31);
  EXPECT_EQ(DaysInMonth(9999, 12), 31);
}

TEST(DayTest, CivilDayConversions) {
  EXPECT_EQ(ToCivilDay(0), absl::CivilDay(1970, 1, 1));
  EXPECT_EQ(ToCivilDay(-1), absl::CivilDay(1969, 12, 31));
  EXPECT_EQ(ToDayNumber(absl::CivilDay(2026, 12, 1)),
            DaysFromCivil(2026, 12, 1));
  EXPECT_EQ(ToCivilDay(DaysFromCivil(2026, 11, 23) + 28),
            absl::CivilDay(2026, 12, 21));
}

// Walks every day from 0001-01-01 to 9999-12-31 with a month-length table
// of its own: each day is one more than the day before, and formats as the
// walk spells it.
TEST(DayTest, EveryDayOfFourDigitYears) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  DayNumber expected = DaysFromCivil(1, 1, 1);
  EXPECT_EQ(FormatDay(expected), "0001-01-01");
  int checked = 0;
  for (int y = 1; y <= 9999; ++y) {
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    for (int m = 1; m <= 12; ++m) {
      const int length = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
      ASSERT_EQ(DaysInMonth(y, m), length) << y << "-" << m;
      for (int d = 1; d <= length; ++d, ++expected, ++checked) {
        ASSERT_EQ(DaysFromCivil(y, m, d), expected)
            << y << "-" << m << "-" << d;
        if (d == 1 || d == length) {
          ASSERT_EQ(FormatDay(expected),
                    absl::StrFormat("%04d-%02d-%02d", y, m, d));
        }
      }
    }
  }
  EXPECT_EQ(checked, 3652059);
  EXPECT_EQ(FormatDay(expected - 1), "9999-12-31");
}

TEST(DayTest, FormatsDaysPastFourDigitYears) {
  EXPECT_EQ(FormatDay(DaysFromCivil(9999, 12, 31) + 1), "10000-01-01");
  EXPECT_EQ(FormatDay(DaysFromCivil(1, 1, 1) - 1), "0000-12-31");
  EXPECT_EQ(FormatDay(std::numeric_limits<DayNumber>::max()), "5881580-07-11");
  EXPECT_EQ(FormatDay(std::numeric_limits<DayNumber>::min()), "-5877641-06-23");
}

// The CLI's --from and --to: a day as absl writes it, nothing else.
TEST(DayTest, CivilDayText) {
  for (const char* s :
       {"2026-12-01", "2024-02-29", "1000-01-01", "9999-12-31"}) {
    EXPECT_TRUE(IsCivilDayText(s)) << s;
  }
  for (const char* s :
       {"", "2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-1-01",
        "2026-01-1 ", " 026-01-01", "+026-01-01", "2026/01/01", "20260101",
        "2026-01-01T00:00:00Z", "0999-01-01", "2026-12-01 "}) {
    EXPECT_FALSE(IsCivilDayText(s)) << s;
  }
}

}  // namespace
TEST(DayTest, UtcDayOfAndUtcDayStart) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  EXPECT_EQ(UtcDayOf(absl::UnixEpoch()), 0);
  EXPECT_EQ(UtcDayOf(absl::UnixEpoch() - absl::Nanoseconds(1)), -1);
  EXPECT_EQ(UtcDayOf(absl::UnixEpoch() - absl::Hours(24)), -1);
  EXPECT_EQ(UtcDayOf(absl::UnixEpoch() - absl::Hours(24) - absl::Seconds(1)),
            -2);
  for (const absl::CivilDay day :
       {absl::CivilDay(2026, 11, 23), absl::CivilDay(2028, 2, 29),
        absl::CivilDay(1969, 12, 31), absl::CivilDay(1000, 1, 1),
        absl::CivilDay(9999, 12, 31)}) {
    const absl::Time start = absl::FromCivil(day, utc);
    EXPECT_EQ(UtcDayStart(ToDayNumber(day)), start) << day;
    EXPECT_EQ(UtcDayOf(start), ToDayNumber(day)) << day;
    EXPECT_EQ(UtcDayOf(start + absl::Hours(24) - absl::Nanoseconds(1)),
              ToDayNumber(day))
        << day;
    EXPECT_EQ(UtcDayOf(start + absl::Hours(24)), ToDayNumber(day) + 1) << day;
  }
}

}  // namespace needlecheck
