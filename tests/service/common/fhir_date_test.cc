#include "service/common/fhir_date.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;

TEST(FhirDateTest, EpochAndRoundTrip) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(FormatDay(0), "1970-01-01");
  EXPECT_EQ(FormatDay(DaysFromCivil(2024, 2, 29)), "2024-02-29");
  EXPECT_EQ(FormatDay(DaysFromCivil(1900, 3, 1)), "1900-03-01");
  EXPECT_EQ(DaysFromCivil(2026, 12, 21) - DaysFromCivil(2026, 11, 23), 28);
}

TEST(FhirDateTest, FullDate) {
  auto d = ParseFhirDate("2026-11-23");
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(d->first_day, DaysFromCivil(2026, 11, 23));
  EXPECT_EQ(d->last_day, d->first_day);
  EXPECT_EQ(d->precision, DatePrecision::kDay);
}

TEST(FhirDateTest, PartialDatesCoverTheirPeriod) {
  auto month = ParseFhirDate("2024-02");
  ASSERT_THAT(month, IsOk());
  EXPECT_EQ(FormatDay(month->first_day), "2024-02-01");
  EXPECT_EQ(FormatDay(month->last_day), "2024-02-29");
  auto year = ParseFhirDate("2026");
  ASSERT_THAT(year, IsOk());
  EXPECT_EQ(FormatDay(year->first_day), "2026-01-01");
  EXPECT_EQ(FormatDay(year->last_day), "2026-12-31");
}

TEST(FhirDateTest, DateTimeUsesTheDateAsWritten) {
  for (const char* s : {"2026-11-23T10:00:00Z", "2026-11-23T23:30:00-05:00",
                        "2026-11-23T00:15:00.123+14:00"}) {
    auto d = ParseFhirDate(s);
    ASSERT_THAT(d, IsOk()) << s;
    EXPECT_EQ(FormatDay(d->first_day), "2026-11-23") << s;
  }
}

TEST(FhirDateTest, RejectsImpossibleAndMalformed) {
  EXPECT_THAT(ParseFhirDate("2026-02-30"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("does not exist")));
  EXPECT_THAT(
      ParseFhirDate("2026-13-01"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("month 13")));
  for (const char* s :
       {"", "26-11-23", "2026/11/23", "2026-11-23T10:00", "2026-11-23T10:00:00",
        "2026-11-23T25:00:00Z", "2026-11-23 ", "2026-1-5",
        "2026-11-23T10:00:00+1:00", "2026-11-23Tx", "0000-01-01",
        "2026-11-23T10:00:00.Z"}) {
    EXPECT_THAT(ParseFhirDate(s), StatusIs(absl::StatusCode::kInvalidArgument))
        << s;
  }
}

TEST(FhirDateTest, ParseFhirDayNeedsAFullDay) {
  EXPECT_THAT(
      ParseFhirDay("2026-11"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("full date")));
  auto d = ParseFhirDay("2026-12-01T09:30:00+01:00");
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(FormatDay(*d), "2026-12-01");
}

}  // namespace
}  // namespace needlecheck
