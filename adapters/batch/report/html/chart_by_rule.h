// The "Findings by rule" chart of report.html: one horizontal bar per rule,
// stacked by severity, and its section (lead, figure, table of figures).
//
// Contract
// - RuleChartSvg() is a pure function of its rows: the <svg
//   id="chart-by-rule"> element, with a <title> tooltip per bar and an
//   aria-label naming the most frequent rule. Rows must not be empty.
// - AppendRuleSection() appends the section; with no rule fired it says so
//   in a sentence and draws no svg.
// - Deterministic (rows in SortedRules() order); thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_CHART_BY_RULE_H_
#define ADAPTERS_BATCH_REPORT_HTML_CHART_BY_RULE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch::html {

// One bar: a rule and its counts (pointers into the summary).
struct RuleRow {
  const std::string* id;
  const RuleCounts* counts;
  int64_t alerts() const {
    return counts->critical + counts->warning + counts->info;
  }
};

// The rules of `summary`, most sessions first; ties by rule id.
std::vector<RuleRow> SortedRules(const AuditSummary& summary);

// The chart of `rows` (not empty).
std::string RuleChartSvg(const std::vector<RuleRow>& rows);

// <section id="by-rule">: the chart and the figures of every rule.
void AppendRuleSection(const AuditSummary& summary, std::string& out);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_CHART_BY_RULE_H_
