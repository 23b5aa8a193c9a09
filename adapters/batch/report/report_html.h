// report.html: the human-readable rendering of an AuditSummary (issue 4),
// one self-contained page for a compliance officer.
//
// Contract
// - RenderAuditReport() is total and deterministic: the same AuditSummary
//   gives byte-identical HTML (no clock, no randomness, maps in key order,
//   ties broken by name).
// - Self-contained: inline CSS, charts as inline SVG drawn here, no script,
//   no font, image, stylesheet or link outside the page. A
//   Content-Security-Policy <meta> (default-src 'none') makes the browser
//   refuse any fetch should one ever slip in. The page reads the same with
//   JavaScript disabled and printed.
// - Every text that comes from the data (patient and session ids,
//   performer and location names, rule ids and summaries, file names,
//   reasons, knowledge-base versions) is untrusted: it is HTML-escaped, and
//   bytes that are not valid UTF-8 or are control characters are replaced
//   by U+FFFD, in element text and attribute values alike.
// - Contents, in order: title and knowledge-base version(s); headline
//   figures with a plain-language explanation of each verdict; the charts
//   "Findings by rule" (svg#chart-by-rule), "Sessions by month"
//   (svg#chart-by-month) and "Days between sessions" (svg#chart-days-between,
//   with the 28-day line), each a <figure> with an <svg role="img"
//   aria-label=...>, <title> tooltips on every bar, a <figcaption> and its
//   data in a table; tables per performer and per location (when any); the
//   worst cases; the input that was read. A chart with no data is replaced
//   by a sentence saying so (its svg is then absent).
// - Colours: critical red, warning amber, info blue, clear green; interval
//   violations purple; the same everywhere on the page.
// - Thread-safety: plain functions over values; safe from any thread.
// - Parts: this file's .cc is the page (head, header, overview, the
//   sections in order); html/text.h writes every text and figure,
//   html/style.h the colours and verdict styles, html/tables.h the tables,
//   and each chart is a function of its data to an SVG string
//   (html/chart_by_rule.h, html/chart_by_month.h, html/chart_days_between.h).
#ifndef ADAPTERS_BATCH_REPORT_REPORT_HTML_H_
#define ADAPTERS_BATCH_REPORT_REPORT_HTML_H_

#include <string>

#include "absl/strings/string_view.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch {

// The ids of the three charts' <svg> elements.
inline constexpr char kChartByRuleId[] = "chart-by-rule";
inline constexpr char kChartByMonthId[] = "chart-by-month";
inline constexpr char kChartDaysBetweenId[] = "chart-days-between";

// report.html for `summary`.
std::string RenderAuditReport(const AuditSummary& summary);

// `text` escaped for HTML element content and quoted attribute values
// (& < > " '), with invalid UTF-8 and control characters other than tab,
// newline and carriage return replaced by U+FFFD.
std::string HtmlEscape(absl::string_view text);

}  // namespace needlecheck::batch

#endif  // ADAPTERS_BATCH_REPORT_REPORT_HTML_H_
