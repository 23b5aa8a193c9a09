// The "Days between sessions" chart of report.html: a histogram in weeks of
// the days since the previous session on an overlapping area, with the
// 28-day minimum marked, and its section (lead, figure, figures per week).
//
// Contract
// - IntervalChartSvg() is a pure function of the histogram: the <svg
//   id="chart-days-between"> element, a <title> tooltip per bar, bars under
//   28 days in the interval-violation colour. The histogram must not be
//   empty (HasIntervals()).
// - AppendIntervalSection() appends the section; without intervals it says
//   so in a sentence and draws no svg.
// - Deterministic; thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_CHART_DAYS_BETWEEN_H_
#define ADAPTERS_BATCH_REPORT_HTML_CHART_DAYS_BETWEEN_H_

#include <string>

#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch::html {

// The minimum interval between two sessions on an overlapping area.
inline constexpr int kMinimumIntervalDays = 28;

// Whether `h` has anything to chart.
bool HasIntervals(const IntervalHistogram& h);

// The chart of `h` (HasIntervals(h)).
std::string IntervalChartSvg(const IntervalHistogram& h);

// <section id="days-between">: the chart and the figures per week.
void AppendIntervalSection(const AuditSummary& summary, std::string& out);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_CHART_DAYS_BETWEEN_H_
