// The summary fold over findings lines (SummaryBuilder).
#include "adapters/batch/report/summary_builder.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/batch/findings/finding_test_data.h"

namespace needlecheck::batch {
namespace {

using ::needlecheck::batch::testing::Finding;
using ::testing::ElementsAre;

TEST(SummaryBuilderTest, CountsPatientsMonthsRulesAndIntervals) {
  SummaryBuilder builder;
  FindingRecord a1 = Finding("a", "a1", "2026-01-10", Verdict::kClear);
  a1.performer = "Dr. X";
  FindingRecord a2 =
      Finding("a", "a2", "2026-01-25", Verdict::kIntervalViolation);
  a2.days_since_previous_session = 15;
  a2.alerts = {{"MN-FREQ-INTERVAL", "critical", "Too soon", "frequency"}};
  a2.performer = "Dr. X";
  a2.location = "North";
  FindingRecord b1 = Finding("b", "b1", "2026-02-01", Verdict::kClear);
  b1.days_since_previous_session = 200;
  builder.Add(a1);
  builder.Add(a2);
  builder.Add(b1);
  InputCounts input;
  input.patients_audited = 3;
  const AuditSummary summary = builder.Finish(input);
  EXPECT_EQ(summary.patients, 3);
  EXPECT_EQ(summary.patients_with_sessions, 2);
  EXPECT_EQ(summary.patients_flagged, 1);
  EXPECT_EQ(summary.totals.sessions(), 3);
  EXPECT_EQ(summary.totals.flagged(), 1);
  EXPECT_EQ(summary.by_month.at("2026-01").sessions(), 2);
  EXPECT_EQ(summary.by_month.at("2026-02").sessions(), 1);
  EXPECT_EQ(summary.by_performer.at("Dr. X").sessions(), 2);
  EXPECT_EQ(summary.by_location.at("North").flagged(), 1);
  EXPECT_EQ(summary.by_rule.at("MN-FREQ-INTERVAL").critical, 1);
  EXPECT_EQ(summary.by_rule.at("MN-FREQ-INTERVAL").summary, "Too soon");
  EXPECT_EQ(summary.by_rule.at("MN-FREQ-INTERVAL").category, "frequency");
  EXPECT_EQ(summary.days_between_sessions.with_previous, 2);
  EXPECT_EQ(summary.days_between_sessions.under_28_days, 1);
  EXPECT_EQ(summary.days_between_sessions.buckets[2], 1);   // 14-20 days
  EXPECT_EQ(summary.days_between_sessions.buckets[26], 1);  // 182+
  ASSERT_EQ(summary.worst_cases.size(), 1u);
  EXPECT_EQ(summary.worst_cases[0].finding.session_id, "a2");
  EXPECT_THAT(summary.knowledge_base_versions, ElementsAre("2026.11.1"));
}

TEST(SummaryBuilderTest, WorstCasesAreTheWorstFiftyInOrder) {
  SummaryBuilder builder;
  for (int i = 0; i < 120; ++i) {
    FindingRecord f = Finding(absl::StrCat("p", 1000 + i), "s", "2026-01-01",
                              Verdict::kTreatedDespiteWarning);
    f.alerts = {{"MN-W", "warning", "", "medication"}};
    for (int c = 0; c < i % 4; ++c)
      f.alerts.push_back({"MN-C", "critical", "", "contraindication"});
    if (i % 4 > 0) f.verdict = Verdict::kTreatedDespiteCritical;
    builder.Add(f);
  }
  const AuditSummary summary = builder.Finish(InputCounts());
  ASSERT_EQ(summary.worst_cases.size(), 50u);
  EXPECT_EQ(summary.worst_cases.front().critical, 3);
  EXPECT_EQ(summary.worst_cases.front().finding.patient_id, "p1003");
  for (size_t i = 1; i < summary.worst_cases.size(); ++i) {
    EXPECT_FALSE(WorseCase(summary.worst_cases[i], summary.worst_cases[i - 1]));
  }
  // 30 patients have 3 critical alerts, 30 have 2: the 50 worst are those.
  EXPECT_EQ(summary.worst_cases.back().critical, 2);
}

}  // namespace
}  // namespace needlecheck::batch
