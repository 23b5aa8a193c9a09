// The charts of report.html as functions of their data to SVG: each is
// what the page embeds, draws one bar group per datum, and stands alone.
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "adapters/batch/report/html/chart_by_month.h"
#include "adapters/batch/report/html/chart_by_rule.h"
#include "adapters/batch/report/html/chart_days_between.h"
#include "adapters/batch/report/report_html.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/adapters/batch/report/report_test_data.h"

namespace needlecheck::batch::html {
namespace {

using ::needlecheck::batch::testing::Count;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST(ReportChartsTest, ThePageEmbedsEachChartAsDrawnFromItsData) {
  const AuditSummary summary = testing::RealisticSummary();
  const std::string page = RenderAuditReport(summary);
  const std::string by_rule = RuleChartSvg(SortedRules(summary));
  const std::string by_month = MonthChartSvg(MonthSeries(summary.by_month));
  const std::string days = IntervalChartSvg(summary.days_between_sessions);
  for (const std::string* svg : {&by_rule, &by_month, &days}) {
    EXPECT_THAT(*svg, StartsWith("<svg id=\""));
    EXPECT_THAT(*svg, EndsWith("</svg>"));
    EXPECT_EQ(Count(*svg, "<svg"), 1u);
    EXPECT_THAT(page,
                HasSubstr(absl::StrCat("<figure>\n", *svg, "\n<figcaption>")));
  }
  EXPECT_THAT(by_rule, StartsWith(absl::StrCat("<svg id=\"", kChartByRuleId)));
  EXPECT_THAT(by_month,
              StartsWith(absl::StrCat("<svg id=\"", kChartByMonthId)));
  EXPECT_THAT(days,
              StartsWith(absl::StrCat("<svg id=\"", kChartDaysBetweenId)));
}

TEST(ReportChartsTest, RuleChartHasOneBarGroupPerRuleMostSessionsFirst) {
  AuditSummary summary;
  summary.by_rule["A-RULE"] = {"a", 2, 1, 1, 0, "safety"};
  summary.by_rule["B-RULE"] = {"b", 9, 0, 9, 0, "frequency"};
  summary.by_rule["C-RULE"] = {"c", 2, 0, 0, 2, "dose"};
  const std::vector<RuleRow> rows = SortedRules(summary);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(*rows[0].id, "B-RULE");
  EXPECT_EQ(*rows[1].id, "A-RULE");  // ties keep rule id order
  EXPECT_EQ(*rows[2].id, "C-RULE");
  const std::string svg = RuleChartSvg(rows);
  EXPECT_EQ(Count(svg, "<g>"), 3u);
  EXPECT_THAT(svg, HasSubstr("Most frequent: B-RULE on 9 sessions."));
  EXPECT_EQ(svg, RuleChartSvg(SortedRules(summary)));  // deterministic
}

TEST(ReportChartsTest, MonthSeriesFillsTheMonthsBetweenWithZero) {
  std::map<std::string, VerdictCounts> by_month;
  by_month["2024-12"].by_verdict = {1, 0, 0, 3};
  by_month["2025-02"].by_verdict = {0, 0, 2, 0};
  const std::vector<MonthBar> bars = MonthSeries(by_month);
  ASSERT_EQ(bars.size(), 3u);
  EXPECT_EQ(bars[0].key, "2024-12");
  EXPECT_EQ(bars[0].label, "Dec");
  EXPECT_EQ(bars[1].key, "2025-01");
  EXPECT_EQ(bars[1].counts.sessions(), 0);
  EXPECT_EQ(bars[2].year, "2025");
  const std::string svg = MonthChartSvg(bars);
  EXPECT_EQ(Count(svg, "<g>"), 3u);
  EXPECT_THAT(svg, HasSubstr("3 months from 2024-12 to 2025-02"));
}

TEST(ReportChartsTest, MonthSeriesKeepsKeysThatAreNotMonthsAsTheyAre) {
  std::map<std::string, VerdictCounts> by_month;
  by_month["2025-01"].by_verdict = {0, 0, 0, 1};
  by_month["<b>unknown</b>"].by_verdict = {0, 1, 0, 0};
  const std::vector<MonthBar> bars = MonthSeries(by_month);
  ASSERT_EQ(bars.size(), 2u);
  EXPECT_EQ(bars[0].key, "2025-01");  // the keys in their byte order
  const std::string svg = MonthChartSvg(bars);
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
  EXPECT_THAT(svg, HasSubstr("&lt;b&gt;unknown&lt;/b&gt;"));
}

TEST(ReportChartsTest, IntervalChartHasABarGroupPerWeekAndTheLimitLine) {
  IntervalHistogram h;
  EXPECT_FALSE(HasIntervals(h));
  h.buckets[1] = 4;   // 7-13 days
  h.buckets[10] = 6;  // 70-76 days
  h.with_previous = 10;
  h.under_28_days = 4;
  ASSERT_TRUE(HasIntervals(h));
  const std::string svg = IntervalChartSvg(h);
  EXPECT_EQ(Count(svg, "<g>"),
            static_cast<size_t>(IntervalHistogram::kBuckets));
  EXPECT_EQ(Count(svg, "<rect "), 2u);
  EXPECT_THAT(svg,
              HasSubstr(absl::StrCat(kMinimumIntervalDays, "-day minimum")));
  EXPECT_THAT(svg, HasSubstr("4 of them came less than 28 days after it."));
}

}  // namespace
}  // namespace needlecheck::batch::html
