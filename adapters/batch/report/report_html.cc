#include "adapters/batch/report/report_html.h"

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/batch/report/html/chart_by_month.h"
#include "adapters/batch/report/html/chart_by_rule.h"
#include "adapters/batch/report/html/chart_days_between.h"
#include "adapters/batch/report/html/style.h"
#include "adapters/batch/report/html/tables.h"
#include "adapters/batch/report/html/text.h"

// The page: its head and stylesheet, the header, the headline figures, and
// the sections in order. The charts and tables are drawn in html/.
namespace needlecheck::batch {
namespace html {
namespace {

constexpr char kStyle[] = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f1f5f9; color: #1f2937;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
    "Helvetica Neue", Arial, "DejaVu Sans", sans-serif; }
header.page { background: #0f172a; color: #f8fafc; padding: 20px 0 16px; }
header.page .wrap, main { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header.page h1 { margin: 0 0 4px; font-size: 26px; }
header.page p { margin: 2px 0; color: #cbd5e1; }
nav.toc { margin-top: 10px; font-size: 14px; }
nav.toc a { color: #bfdbfe; margin-right: 14px; }
main { padding-bottom: 40px; }
section { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px;
  padding: 16px 24px 20px; margin: 18px 0; }
h2 { font-size: 20px; margin: 0 0 8px; }
h3 { font-size: 16px; margin: 18px 0 6px; }
p.lead { color: #334155; margin: 0 0 12px; }
p.note, .empty { color: #475569; }
.empty { font-style: italic; }
.cards { display: grid; gap: 12px;
  grid-template-columns: repeat(auto-fit, minmax(230px, 1fr)); }
.card { border: 1px solid #e2e8f0; border-left: 6px solid #64748b;
  border-radius: 6px; padding: 10px 14px; }
.card .label { font-weight: 600; }
.card .figure { font-size: 28px; font-weight: 700; line-height: 1.2;
  font-variant-numeric: tabular-nums; }
.card .figure small { font-size: 15px; font-weight: 600; color: #475569; }
.card p { margin: 4px 0 0; font-size: 13px; color: #475569; }
figure { margin: 8px 0 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; color: #475569; margin-top: 6px; }
.muted { color: #64748b; }
table { border-collapse: collapse; width: 100%; font-size: 13px;
  margin-top: 6px; }
th, td { padding: 5px 8px; border-bottom: 1px solid #e2e8f0;
  text-align: left; vertical-align: top; overflow-wrap: break-word; }
table.fixed { table-layout: fixed; }
table.fixed td { overflow-wrap: anywhere; }
table.fixed .badge { white-space: normal; }
th { background: #f8fafc; font-weight: 600; }
th.num, td.num { text-align: right; }
td.num { white-space: nowrap;
  font-variant-numeric: tabular-nums; }
tr.total td { font-weight: 600; border-top: 2px solid #cbd5e1; }
td.warn { color: #b45309; font-weight: 600; }
.id { font-family: "DejaVu Sans Mono", ui-monospace, monospace;
  font-size: 12px; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 4px;
  font-size: 12px; font-weight: 600; white-space: nowrap; }
ul.alerts { margin: 0; padding: 0; list-style: none; }
ul.alerts li { margin: 0 0 3px; }
details { margin-top: 8px; font-size: 13px; }
details summary { cursor: pointer; color: #1d4ed8; }
svg.mini { vertical-align: middle; width: 100%; max-width: 120px;
  height: 12px; }
footer { max-width: 1120px; margin: 0 auto; padding: 0 24px 24px;
  font-size: 12px; color: #64748b; }
@media print {
  body { background: #fff; font-size: 12px; }
  header.page { background: #fff; color: #000; padding: 0; }
  header.page p { color: #333; }
  nav.toc { display: none; }
  section { border: none; padding: 0; margin: 12px 0; }
  figure, tr, .card { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

void AppendHead(std::string& out) {
  absl::StrAppend(
      &out,
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      // No fetch of any kind: the page is self-contained, and says so to the
      // browser.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
      "form-action 'none'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, "
      "initial-scale=1\">\n"
      "<meta name=\"generator\" content=\"needlecheck-audit\">\n"
      "<title>needlecheck audit report</title>\n<style>",
      kStyle, "</style>\n</head>\n<body>\n");
}

void AppendHeader(const AuditSummary& summary, std::string& out) {
  absl::StrAppend(&out,
                  "<header class=\"page\"><div class=\"wrap\">\n"
                  "<h1>needlecheck audit report</h1>\n");
  const auto& versions = summary.knowledge_base_versions;
  if (versions.empty()) {
    absl::StrAppend(&out,
                    "<p>Knowledge base version: not recorded in the "
                    "findings.</p>\n");
  } else {
    std::vector<std::string> escaped;
    for (const std::string& v : versions) {
      escaped.push_back(absl::StrCat("<strong>", Esc(v), "</strong>"));
    }
    absl::StrAppend(&out, "<p>Checked against knowledge base version",
                    versions.size() > 1 ? "s " : " ",
                    absl::StrJoin(escaped, ", "), ".</p>\n");
    if (versions.size() > 1) {
      absl::StrAppend(&out,
                      "<p>More than one knowledge-base version: parts of "
                      "this audit were checked against different rules; "
                      "compare figures with care.</p>\n");
    }
  }
  absl::StrAppend(
      &out,
      "<p>Every past microneedling session in the export was re-checked as "
      "of its own date, with the areas, needle depth and numbing cream "
      "recorded for it.</p>\n"
      "<nav class=\"toc\" aria-label=\"Sections\">"
      "<a href=\"#overview\">Overview</a><a href=\"#by-rule\">By rule</a>"
      "<a href=\"#by-month\">By month</a>"
      "<a href=\"#days-between\">Days between sessions</a>");
  if (!summary.by_performer.empty()) {
    absl::StrAppend(&out, "<a href=\"#by-performer\">By performer</a>");
  }
  if (!summary.by_location.empty()) {
    absl::StrAppend(&out, "<a href=\"#by-location\">By location</a>");
  }
  absl::StrAppend(&out,
                  "<a href=\"#worst-cases\">Worst cases</a>"
                  "<a href=\"#input\">Input</a></nav>\n</div></header>\n");
}

// " <small>12.3%</small>" after a headline figure; nothing when `whole` is 0.
std::string SmallPercent(int64_t part, int64_t whole) {
  if (whole <= 0) return "";
  return absl::StrCat(" <small>", Percent(part, whole), "</small>");
}

void AppendOverview(const AuditSummary& summary, std::string& out) {
  const int64_t sessions = summary.totals.sessions();
  const int64_t flagged = summary.totals.flagged();
  absl::StrAppend(&out,
                  "<section id=\"overview\">\n<h2>Overview</h2>\n"
                  "<div class=\"cards\">\n");
  absl::StrAppend(
      &out,
      "<div class=\"card\" style=\"border-left-color:#0f172a\">"
      "<div class=\"label\">Sessions audited</div><div class=\"figure\">",
      Num(sessions), "</div><p>of ", Num(summary.patients_with_sessions),
      " patients with at least one session (", Num(summary.patients),
      " patients audited).</p></div>\n");
  absl::StrAppend(
      &out, "<div class=\"card\" style=\"border-left-color:", kCritical,
      "\"><div class=\"label\">Sessions flagged</div><div class=\"figure\">",
      Num(flagged), SmallPercent(flagged, sessions),
      "</div><p>sessions with a verdict other than clear, in ",
      Num(summary.patients_flagged), " patients",
      summary.patients_with_sessions > 0
          ? absl::StrCat(" (",
                         Percent(summary.patients_flagged,
                                 summary.patients_with_sessions),
                         " of patients with sessions)")
          : "",
      ".</p></div>\n");
  absl::StrAppend(&out, "</div>\n<h3>Verdicts</h3>\n");
  absl::StrAppend(&out,
                  "<p class=\"lead\">Each session counts once, under the "
                  "first of these verdicts that applies.</p>\n"
                  "<div class=\"cards\">\n");
  for (const VerdictStyle& style : kVerdictStyles) {
    const int64_t n = CountOf(summary.totals, style.verdict);
    absl::StrAppend(
        &out, "<div class=\"card\" style=\"border-left-color:", style.colour,
        "\"><div class=\"label\">", style.label, "</div><div class=\"figure\">",
        Num(n), SmallPercent(n, sessions), "</div><p>", style.explanation,
        "</p></div>\n");
  }
  absl::StrAppend(&out, "</div>\n</section>\n");
}

}  // namespace
}  // namespace html

std::string RenderAuditReport(const AuditSummary& summary) {
  std::string out;
  out.reserve(64 * 1024);
  html::AppendHead(out);
  html::AppendHeader(summary, out);
  absl::StrAppend(&out, "<main>\n");
  html::AppendOverview(summary, out);
  html::AppendRuleSection(summary, out);
  html::AppendMonthSection(summary, out);
  html::AppendIntervalSection(summary, out);
  html::AppendGroupTable("by-performer", "By performer", "performer",
                         summary.by_performer, out);
  html::AppendGroupTable("by-location", "By location", "location",
                         summary.by_location, out);
  html::AppendWorstCases(summary, out);
  html::AppendInput(summary.input, out);
  absl::StrAppend(&out,
                  "</main>\n<footer>Written by needlecheck-audit. This page "
                  "is self-contained: it loads nothing from the network and "
                  "needs no JavaScript.</footer>\n</body>\n</html>\n");
  return out;
}

}  // namespace needlecheck::batch
