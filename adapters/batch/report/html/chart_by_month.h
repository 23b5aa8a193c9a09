// The "Sessions by month" chart of report.html: one vertical bar per month,
// stacked by verdict, and its section (lead, figure, figures per month).
//
// Contract
// - MonthSeries() is the chart's data: the summary's months in order, with
//   the months between them that had no session filled in as zero (when
//   all keys are YYYY-MM and they span at most 20 years; otherwise the keys
//   as they are).
// - MonthChartSvg() is a pure function of that series: the <svg
//   id="chart-by-month"> element, a <title> tooltip per bar. The series
//   must have a month with a session.
// - AppendMonthSection() appends the section; without sessions it says so
//   in a sentence and draws no svg.
// - Deterministic; thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_CHART_BY_MONTH_H_
#define ADAPTERS_BATCH_REPORT_HTML_CHART_BY_MONTH_H_

#include <map>
#include <string>
#include <vector>

#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch::html {

// One bar.
struct MonthBar {
  std::string key;    // "2025-01" (or whatever the summary had)
  std::string label;  // "Jan"
  std::string year;   // "2025"
  VerdictCounts counts;
};

std::vector<MonthBar> MonthSeries(
    const std::map<std::string, VerdictCounts>& by_month);

// The chart of `bars` (with at least one session).
std::string MonthChartSvg(const std::vector<MonthBar>& bars);

// <section id="by-month">: the chart and the figures per month.
void AppendMonthSection(const AuditSummary& summary, std::string& out);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_CHART_BY_MONTH_H_
