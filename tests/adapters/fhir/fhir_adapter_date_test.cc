// The adapter's own FHIR date checks (adapters/fhir/internal/fhir_date.h).
#include "adapters/fhir/internal/fhir_date.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace needlecheck::fhir::internal {
namespace {

using ::testing::HasSubstr;

TEST(FhirAdapterDateTest, ValidForms) {
  struct Case {
    const char* text;
    int y, m, d;
    bool full_day;
  };
  const Case kCases[] = {
      {"2026", 2026, 1, 1, false},
      {"2026-11", 2026, 11, 1, false},
      {"2026-11-23", 2026, 11, 23, true},
      {"2024-02-29", 2024, 2, 29, true},
      {"2000-02-29", 2000, 2, 29, true},
      {"2026-11-23T10:00:00Z", 2026, 11, 23, true},
      {"2026-11-23T23:59:60+14:00", 2026, 11, 23, true},
      {"2026-11-23T00:00:00.123456-05:30", 2026, 11, 23, true},
      {"0001-01-01", 1, 1, 1, true},
  };
  for (const Case& c : kCases) {
    DateCheck got = CheckFhirDate(c.text);
    EXPECT_TRUE(got.ok) << c.text << ": " << got.error;
    EXPECT_EQ(got.first_day, DaysFromCivil(c.y, c.m, c.d)) << c.text;
    EXPECT_EQ(got.full_day, c.full_day) << c.text;
  }
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
}

TEST(FhirAdapterDateTest, InvalidForms) {
  struct Case {
    const char* text;
    const char* want;
  };
  const Case kCases[] = {
      {"2026-02-30", "the date does not exist"},
      {"1900-02-29", "does not exist"},
      {"2026-06-31", "does not exist"},
      {"2026-13", "(month out of range)"},
      {"2026-11-00", "(day out of range)"},
      {"2026-11-23T24:00:00Z", "time out of range"},
      {"2026-11-23T10:60:00Z", "time out of range"},
      {"2026-11-23T10:00:00", "time zone required"},
      {"2026-11-23T10:00:00.Z", "fraction"},
      {"2026-11-23T10:00:00+1:00", "time zone"},
      {"2026-11-23T10:00:00+14:30", "time zone out of range"},
      {"2026-11-23Z", "time must be"},
      {"+2026", "(year)"},
      {"", "(empty)"},
      {"２０２６", "(year)"},
  };
  for (const Case& c : kCases) {
    DateCheck got = CheckFhirDate(c.text);
    EXPECT_FALSE(got.ok) << c.text;
    EXPECT_THAT(got.error, HasSubstr(c.want)) << c.text;
  }
}

}  // namespace
}  // namespace needlecheck::fhir::internal
