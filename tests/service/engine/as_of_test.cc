#include "service/engine/as_of.h"

#include "gtest/gtest.h"

namespace needlecheck::engine {
namespace {

DayNumber Day(const char* s) { return *ParseFhirDay(s); }

v1::Condition Cond(const char* status, const char* onset, const char* abatement,
                   const char* verification = "") {
  v1::Condition c;
  c.set_clinical_status(status);
  c.set_onset(onset);
  c.set_abatement(abatement);
  c.set_verification_status(verification);
  return c;
}

// A memo gives the reading of the text passed, whatever it held before.
TEST(AsOfTest, DateMemoReadsTheTextPassed) {
  DateMemo memo;
  for (const char* text :
       {"2024-03-05", "2024-03-05", "2023-12", "", "not a date", "2023-12",
        "2024-03-05T10:00:00+01:00", "2024-03-06"}) {
    const ParsedDate plain = ParseDateField(text);
    const ParsedDate memoized = ParseDateField(text, &memo);
    EXPECT_EQ(memoized.given, plain.given) << text;
    ASSERT_EQ(memoized.date.has_value(), plain.date.has_value()) << text;
    if (plain.date.has_value()) {
      EXPECT_EQ(memoized.date->first_day, plain.date->first_day) << text;
      EXPECT_EQ(memoized.date->last_day, plain.date->last_day) << text;
      EXPECT_EQ(memoized.date->precision, plain.date->precision) << text;
    }
  }
  v1::Condition c;
  c.set_onset("2020-01-01");
  c.set_abatement("2021");
  DateMemo memos[2];
  for (int round = 0; round < 2; ++round) {
    const ConditionDates dates = DatesOf(c, memos);
    EXPECT_EQ(dates.onset.date->first_day, DatesOf(c).onset.date->first_day);
    EXPECT_EQ(dates.abatement.date->last_day,
              DatesOf(c).abatement.date->last_day);
    c.set_abatement("2022-06");  // the second round reads the new date
  }
}

TEST(AsOfTest, ConditionActiveAt) {
  EXPECT_TRUE(ConditionActiveAt(Cond("active", "", ""), Day("2026-12-01")));
  // No clinical status: active only through an abatement after T.
  EXPECT_FALSE(ConditionActiveAt(Cond("", "", ""), Day("2026-12-01")));
  EXPECT_TRUE(
      ConditionActiveAt(Cond("", "2026-01", "2027-01-01"), Day("2026-12-01")));
  EXPECT_TRUE(
      ConditionActiveAt(Cond("recurrence", "2020", ""), Day("2026-12-01")));
  EXPECT_TRUE(
      ConditionActiveAt(Cond("relapse", "2020", ""), Day("2026-12-01")));
  EXPECT_FALSE(
      ConditionActiveAt(Cond("resolved", "2020", ""), Day("2026-12-01")));
  EXPECT_FALSE(
      ConditionActiveAt(Cond("remission", "2020", ""), Day("2026-12-01")));
  EXPECT_FALSE(
      ConditionActiveAt(Cond("active", "", "", "refuted"), Day("2026-12-01")));
  EXPECT_FALSE(ConditionActiveAt(Cond("active", "", "", "entered-in-error"),
                                 Day("2026-12-01")));
  // Onset after T.
  EXPECT_FALSE(
      ConditionActiveAt(Cond("active", "2026-12-02", ""), Day("2026-12-01")));
  // A partial onset counts from its first possible day.
  EXPECT_TRUE(
      ConditionActiveAt(Cond("active", "2026-12", ""), Day("2026-12-01")));
  // Resolved later: active before the abatement, not on or after it.
  EXPECT_TRUE(ConditionActiveAt(Cond("resolved", "2026-01", "2026-03-15"),
                                Day("2026-02-10")));
  EXPECT_FALSE(ConditionActiveAt(Cond("resolved", "2026-01", "2026-03-15"),
                                 Day("2026-03-15")));
  // An active status with an abatement in the past: abated.
  EXPECT_FALSE(ConditionActiveAt(Cond("active", "2020", "2021-01-01"),
                                 Day("2026-12-01")));
  // A partial abatement counts to its last possible day.
  EXPECT_TRUE(ConditionActiveAt(Cond("resolved", "2026-01", "2026-12"),
                                Day("2026-12-15")));
}

TEST(AsOfTest, MedicationActiveAt) {
  v1::Medication m;
  m.set_status("active");
  m.set_start("2026-01-01");
  EXPECT_TRUE(MedicationActiveAt(m, Day("2026-12-01"), 0));
  EXPECT_FALSE(MedicationActiveAt(m, Day("2025-12-31"), 0));
  m.set_end("2026-11-30");
  EXPECT_FALSE(MedicationActiveAt(m, Day("2026-12-01"), 0));
  EXPECT_TRUE(MedicationActiveAt(m, Day("2026-12-01"), 2));
  EXPECT_TRUE(MedicationActiveAt(m, Day("2026-11-30"), 0));
  m.clear_end();
  m.set_status("stopped");
  EXPECT_FALSE(MedicationActiveAt(m, Day("2026-12-01"), 0));
  // Stopped at an unknown date after 2026-01-01: within 400 days for sure.
  EXPECT_TRUE(MedicationActiveAt(m, Day("2026-12-01"), 400));
  EXPECT_FALSE(MedicationActiveAt(m, Day("2026-12-01"), 180));
  m.set_status("entered-in-error");
  EXPECT_FALSE(MedicationActiveAt(m, Day("2026-12-01"), 400));
}

TEST(AsOfTest, AllergyActiveAt) {
  v1::Allergy a;
  EXPECT_TRUE(AllergyActiveAt(a, Day("2026-12-01")));
  a.set_recorded_date("2026-12-02");
  EXPECT_FALSE(AllergyActiveAt(a, Day("2026-12-01")));
  EXPECT_FALSE(AllergyRecordedBy(a, Day("2026-12-01")));
  a.set_recorded_date("2026-12-01T08:00:00Z");
  EXPECT_TRUE(AllergyActiveAt(a, Day("2026-12-01")));
  a.set_clinical_status("inactive");
  EXPECT_FALSE(AllergyActiveAt(a, Day("2026-12-01")));
  EXPECT_TRUE(AllergyRecordedBy(a, Day("2026-12-01")));
  a.set_verification_status("entered-in-error");
  EXPECT_FALSE(AllergyRecordedBy(a, Day("2026-12-01")));
}

TEST(AsOfTest, ProcedureDates) {
  v1::Procedure p;
  p.set_status("completed");
  p.set_performed("2026-11");
  EXPECT_EQ(*ProcedureLastDay(p), Day("2026-11-30"));
  p.set_status("not-done");
  EXPECT_FALSE(ProcedureLastDay(p).has_value());
  p.set_status("completed");
  p.set_performed("garbage");
  EXPECT_FALSE(ProcedureLastDay(p).has_value());
  p.set_performed("2026-05-01");
  EXPECT_TRUE(ProcedurePerformedBy(p, Day("2026-12-01"), 0));
  EXPECT_FALSE(ProcedurePerformedBy(p, Day("2026-12-01"), 180));
  EXPECT_FALSE(ProcedurePerformedBy(p, Day("2026-04-30"), 0));
}

}  // namespace
}  // namespace needlecheck::engine
