// The FHIR date parser (common/calendar/fhir_date.h) in both readings:
// kRecordDates (the service's record and session dates, the CLI's --date)
// and kFhirJsonDates (the FHIR adapter's JSON).
#include "common/calendar/fhir_date.h"

#include <string>

#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace needlecheck {
namespace {

using ::needlecheck::testing::IsOk;
using ::needlecheck::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

// --- kRecordDates (the default) -------------------------------------------

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
  EXPECT_EQ(month->precision, DatePrecision::kMonth);
  auto year = ParseFhirDate("2026");
  ASSERT_THAT(year, IsOk());
  EXPECT_EQ(FormatDay(year->first_day), "2026-01-01");
  EXPECT_EQ(FormatDay(year->last_day), "2026-12-31");
  EXPECT_EQ(year->precision, DatePrecision::kYear);
  auto december = ParseFhirDate("9999-12");
  ASSERT_THAT(december, IsOk());
  EXPECT_EQ(FormatDay(december->last_day), "9999-12-31");
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
  EXPECT_THAT(ParseFhirDay("2026"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "\"2026\" is not a FHIR date: a full date (YYYY-MM-DD) "
                       "is required"));
  auto d = ParseFhirDay("2026-12-01T09:30:00+01:00");
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(FormatDay(*d), "2026-12-01");
  EXPECT_THAT(ParseFhirDay("2026-02-30"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("2026-02-30 does not exist")));
}

// --- kFhirJsonDates (the FHIR adapter) ------------------------------------

TEST(FhirJsonDateTest, ValidForms) {
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
    absl::StatusOr<FhirDate> got = ParseFhirDate(c.text, kFhirJsonDates);
    ASSERT_THAT(got, IsOk()) << c.text;
    EXPECT_EQ(got->first_day, DaysFromCivil(c.y, c.m, c.d)) << c.text;
    EXPECT_EQ(got->precision == DatePrecision::kDay, c.full_day) << c.text;
  }
}

TEST(FhirJsonDateTest, InvalidForms) {
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
    absl::StatusOr<FhirDate> got = ParseFhirDate(c.text, kFhirJsonDates);
    EXPECT_THAT(got,
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.want)))
        << c.text;
  }
}

// --- Both readings, message by message ------------------------------------

// Every way to fail, with its message in each reading, word for word: the
// record reading quotes the value for the caller who sent it; the FHIR JSON
// reading names nothing of it (its errors reach logs and reports).
TEST(FhirDateErrorsTest, EveryProblemInBothWordings) {
  struct Case {
    const char* text;
    const char* record;  // after "\"<text>\" is not a FHIR date: "
    const char* json;
  };
  const char* kNotADate = "the value is not a FHIR date or dateTime";
  const Case kCases[] = {
      {"", "empty", "(empty)"},
      {"26-11-23", "expected a four-digit year", "(year)"},
      {"0000-01-01", "year 0000 is out of range", "(year)"},
      {"2026/11/23", "expected '-' after the year", ""},
      {"2026-1-5", "expected a two-digit month", ""},
      {"2026-13-01", "month 13 is out of range", "(month out of range)"},
      {"2026-11/23", "expected '-' after the month", ""},
      {"2026-11-2", "expected a two-digit day", ""},
      {"2026-11-00", "2026-11-00 does not exist", "(day out of range)"},
      {"2026-02-30", "2026-02-30 does not exist", nullptr},
      {"2026-11-23 10:00:00Z", "expected 'T' before the time",
       "(time must be Thh:mm:ss)"},
      {"2026-11-23T10:00", "expected a time as Thh:mm:ss",
       "(time must be Thh:mm:ss)"},
      {"2026-11-23T25:00:00Z", "hour 25 is out of range",
       "(time out of range)"},
      {"2026-11-23T10:60:00Z", "minute 60 is out of range",
       "(time out of range)"},
      {"2026-11-23T10:00:61Z", "second 61 is out of range",
       "(time out of range)"},
      {"2026-11-23T10:00:00.Z", "fractional seconds need 1 to 9 digits",
       "(fraction)"},
      {"2026-11-23T10:00:00",
       "a dateTime with a time needs a time zone (Z or +hh:mm)",
       "(time zone required)"},
      {"2026-11-23T10:00:00+1:00", "time zone offset must be +hh:mm or -hh:mm",
       "(time zone)"},
      {"2026-11-23T10:00:00x",
       "a dateTime with a time needs a time zone (Z or +hh:mm)", "(time zone)"},
      {"2026-11-23T10:00:00+15:00", "time zone offset is out of range",
       "(time zone out of range)"},
      {"2026-11-23T10:00:00Z ", "unexpected characters after the time zone",
       "(trailing characters)"},
  };
  for (const Case& c : kCases) {
    const std::string text = c.text;
    EXPECT_THAT(ParseFhirDate(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         "\"" + text + "\" is not a FHIR date: " + c.record))
        << text;
    const std::string json =
        c.json == nullptr ? "the date does not exist (no such day in its month)"
        : *c.json == '\0' ? std::string(kNotADate)
                          : std::string(kNotADate) + " " + c.json;
    absl::StatusOr<FhirDate> got = ParseFhirDate(text, kFhirJsonDates);
    EXPECT_THAT(got, StatusIs(absl::StatusCode::kInvalidArgument, json))
        << text;
    if (text.size() >= 4) {
      EXPECT_THAT(std::string(got.status().message()),
                  Not(HasSubstr(text.substr(0, 4))))
          << text;
    }
  }
}

TEST(FhirDateErrorsTest, RecordWordingQuotesAtMostFortyCharacters) {
  EXPECT_THAT(
      ParseFhirDate("2026-11-23T10:00:00.123456789Z, then more text"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "\"2026-11-23T10:00:00.123456789Z, then mor...\" is not a FHIR "
               "date: unexpected characters after the time zone"));
}

// The two corners where the readings differ (fraction digits, offsets past
// 14:00), each kept as its callers have always had it.
TEST(FhirDateErrorsTest, TheReadingsDifferOnlyInTheirCorners) {
  const char* kTenFractionDigits = "2026-11-23T10:00:00.1234567890Z";
  EXPECT_THAT(ParseFhirDate(kTenFractionDigits),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("fractional seconds need 1 to 9 digits")));
  EXPECT_THAT(ParseFhirDate(kTenFractionDigits, kFhirJsonDates), IsOk());
  EXPECT_THAT(ParseFhirDate("2026-11-23T10:00:00.123456789Z"), IsOk());

  for (const char* s :
       {"2026-11-23T10:00:00+14:30", "2026-11-23T10:00:00-14:59",
        "2026-11-23T10:00:00+14:01"}) {
    absl::StatusOr<FhirDate> record = ParseFhirDate(s);
    ASSERT_THAT(record, IsOk()) << s;
    EXPECT_EQ(FormatDay(record->first_day), "2026-11-23");
    EXPECT_THAT(ParseFhirDate(s, kFhirJsonDates),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("(time zone out of range)")))
        << s;
  }
  for (const char* s :
       {"2026-11-23T10:00:00+14:00", "2026-11-23T10:00:00-13:59",
        "2026-11-23T10:00:00-00:00"}) {
    EXPECT_THAT(ParseFhirDate(s), IsOk()) << s;
    EXPECT_THAT(ParseFhirDate(s, kFhirJsonDates), IsOk()) << s;
  }
  for (const char* s :
       {"2026-11-23T10:00:00+15:00", "2026-11-23T10:00:00+10:60"}) {
    EXPECT_THAT(ParseFhirDate(s), Not(IsOk())) << s;
    EXPECT_THAT(ParseFhirDate(s, kFhirJsonDates), Not(IsOk())) << s;
  }
}

// --- The leading day (the CDS Hooks suggestion's reading) ------------------

// What the reading accepts and refuses: exactly what the CDS Hooks cards
// accepted when they read the first ten characters with
// absl::ParseCivilTime themselves.
TEST(LeadingDayTest, AcceptsWhatTheFirstTenCharactersName) {
  struct Case {
    const char* text;
    bool accepted;
    int year, month, day;
  };
  const Case kCases[] = {
      {"2026-11-30", true, 2026, 11, 30},
      {"2026-11-30T09:00:00-06:00", true, 2026, 11, 30},
      {"2026-11-30T09:00:00.123+14:00", true, 2026, 11, 30},
      {"2026-11-30T23:59:59Z", true, 2026, 11, 30},
      {"2026-11-30Z", true, 2026, 11, 30},
      {"2026-11-30 and more", true, 2026, 11, 30},
      {"2024-02-29", true, 2024, 2, 29},
      {"2000-02-29T00:00:00Z", true, 2000, 2, 29},
      {"0026-11-30", true, 26, 11, 30},
      {"+2026-11-3", true, 2026, 11, 3},
      {" 2026-11-3", true, 2026, 11, 3},
      {"2026-11-3 ", true, 2026, 11, 3},
      {"2026-1-3  ", true, 2026, 1, 3},
      {"20261-1-30", true, 20261, 1, 30},
      {"-2026-1-30", true, -2026, 1, 30},
      // Partial dates and short values.
      {"2026-11", false, 0, 0, 0},
      {"2026", false, 0, 0, 0},
      {"2026-11-3", false, 0, 0, 0},
      {"", false, 0, 0, 0},
      // Days that do not exist, fields out of range.
      {"2026-02-29", false, 0, 0, 0},
      {"1900-02-29", false, 0, 0, 0},
      {"2026-02-30T09:00:00Z", false, 0, 0, 0},
      {"2026-04-31", false, 0, 0, 0},
      {"2026-13-01", false, 0, 0, 0},
      {"2026-00-10", false, 0, 0, 0},
      {"2026-11-00", false, 0, 0, 0},
      {"2026-11-32", false, 0, 0, 0},
      // Not a day in the first ten characters.
      {"2026/11/30", false, 0, 0, 0},
      {"2026-1-30Z", false, 0, 0, 0},
      {"2026-11-3T0", false, 0, 0, 0},
      {"T2026-11-30", false, 0, 0, 0},
      {"bad", false, 0, 0, 0},
      {"30-11-2026", false, 0, 0, 0},
  };
  for (const Case& c : kCases) {
    DayNumber day = 12345;
    EXPECT_EQ(ParseLeadingDay(c.text, &day), c.accepted) << c.text;
    if (c.accepted) {
      EXPECT_EQ(ToCivilDay(day), absl::CivilDay(c.year, c.month, c.day))
          << c.text;
    } else {
      EXPECT_EQ(day, 12345) << c.text;
    }
  }
}

TEST(LeadingDayTest, ShiftKeepsTheRestOfTheValue) {
  std::string out = "unchanged";
  ASSERT_TRUE(ShiftLeadingDay("2026-11-30T09:00:00-06:00", 9, &out));
  EXPECT_EQ(out, "2026-12-09T09:00:00-06:00");
  ASSERT_TRUE(ShiftLeadingDay("2026-11-30", 32, &out));
  EXPECT_EQ(out, "2027-01-01");
  ASSERT_TRUE(ShiftLeadingDay("2024-02-28Z", 1, &out));
  EXPECT_EQ(out, "2024-02-29Z");
  ASSERT_TRUE(ShiftLeadingDay("2026-12-09", -9, &out));
  EXPECT_EQ(out, "2026-11-30");
  // The day is rewritten as absl writes it; the rest stays.
  ASSERT_TRUE(ShiftLeadingDay("2026-1-3  x", 0, &out));
  EXPECT_EQ(out, "2026-01-03x");
  ASSERT_TRUE(ShiftLeadingDay("0026-11-30", 1, &out));
  EXPECT_EQ(out, "26-12-01");
  out = "unchanged";
  EXPECT_FALSE(ShiftLeadingDay("2026-11", 9, &out));
  EXPECT_FALSE(ShiftLeadingDay("2026-02-30T09:00:00Z", 9, &out));
  EXPECT_EQ(out, "unchanged");
}

TEST(LeadingDayTest, FormatsAsAbslDoes) {
  EXPECT_EQ(FormatLeadingDay(DaysFromCivil(2026, 12, 9)), "2026-12-09");
  EXPECT_EQ(FormatLeadingDay(DaysFromCivil(999, 1, 1)), "999-01-01");
  EXPECT_EQ(FormatLeadingDay(DaysFromCivil(10000, 1, 1)), "10000-01-01");
}

}  // namespace
}  // namespace needlecheck
