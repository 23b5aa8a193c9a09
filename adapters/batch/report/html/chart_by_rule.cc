#include "adapters/batch/report/html/chart_by_rule.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "adapters/batch/report/html/chart_parts.h"
#include "adapters/batch/report/html/style.h"
#include "adapters/batch/report/html/tables.h"
#include "adapters/batch/report/html/text.h"
#include "adapters/batch/report/report_html.h"

namespace needlecheck::batch::html {

std::vector<RuleRow> SortedRules(const AuditSummary& summary) {
  std::vector<RuleRow> rows;
  for (const auto& [id, counts] : summary.by_rule) {
    rows.push_back({&id, &counts});
  }
  // Most sessions first; ties by rule id (the map order; stable sort).
  std::stable_sort(rows.begin(), rows.end(),
                   [](const RuleRow& a, const RuleRow& b) {
                     return std::max(a.counts->sessions, a.alerts()) >
                            std::max(b.counts->sessions, b.alerts());
                   });
  return rows;
}

std::string RuleChartSvg(const std::vector<RuleRow>& rows) {
  int64_t max_value = 0;
  for (const RuleRow& row : rows) max_value = std::max(max_value, row.alerts());
  const Axis axis = NiceAxis(max_value);

  constexpr double kWidth = 900, kLabelRight = 214, kX0 = 224, kX1 = 840;
  constexpr double kTop = 36, kRow = 28, kBar = 18;
  const double plot_bottom = kTop + kRow * rows.size();
  const double height = plot_bottom + 30;
  const double scale = (kX1 - kX0) / static_cast<double>(axis.max);

  std::string svg;
  // Legend.
  double x = kX0;
  x += LegendItem(svg, x, 16, kCritical, "Critical");
  x += LegendItem(svg, x, 16, kWarning, "Warning");
  LegendItem(svg, x, 16, kInfo, "Info");
  // Grid and axis labels.
  for (int64_t t = 0; t <= axis.max; t += axis.step) {
    const double gx = kX0 + t * scale;
    absl::StrAppend(&svg, "<line x1=\"", Coord(gx), "\" y1=\"", Coord(kTop - 4),
                    "\" x2=\"", Coord(gx), "\" y2=\"", Coord(plot_bottom),
                    "\" stroke=\"", t == 0 ? "#94a3b8" : kGrid,
                    "\"/><text x=\"", Coord(gx), "\" y=\"",
                    Coord(plot_bottom + 16),
                    "\" font-size=\"11\" text-anchor=\"middle\" fill=\"",
                    kMuted, "\">", Num(t), "</text>");
  }
  absl::StrAppend(&svg, "<text x=\"", Coord(kX1), "\" y=\"",
                  Coord(plot_bottom + 28),
                  "\" font-size=\"11\" text-anchor=\"end\" fill=\"", kMuted,
                  "\">sessions</text>");
  for (size_t i = 0; i < rows.size(); ++i) {
    const RuleRow& row = rows[i];
    const RuleCounts& c = *row.counts;
    const double y = kTop + kRow * i + (kRow - kBar) / 2;
    absl::StrAppend(&svg, "<g><title>", Esc(*row.id), ": ", Esc(c.summary),
                    " \xE2\x80\x94 ", Num(c.sessions), " sessions (",
                    Num(c.critical), " critical, ", Num(c.warning),
                    " warning, ", Num(c.info), " info)</title>");
    absl::StrAppend(&svg, "<text x=\"", Coord(kLabelRight), "\" y=\"",
                    Coord(y + kBar / 2 + 4), "\" font-size=\"12\" fill=\"",
                    kInk, "\" text-anchor=\"end\">", EscapeShort(*row.id, 28),
                    "</text>");
    double bx = kX0;
    for (const auto& [n, colour] :
         {std::pair<int64_t, const char*>{c.critical, kCritical},
          {c.warning, kWarning},
          {c.info, kInfo}}) {
      if (n <= 0) continue;
      const double w = n * scale;
      absl::StrAppend(&svg, "<rect x=\"", Coord(bx), "\" y=\"", Coord(y),
                      "\" width=\"", Coord(w), "\" height=\"", Coord(kBar),
                      "\" fill=\"", colour,
                      "\" stroke=\"#fff\" stroke-width=\"0.5\"/>");
      bx += w;
    }
    absl::StrAppend(&svg, "<text x=\"", Coord(bx + 6), "\" y=\"",
                    Coord(y + kBar / 2 + 4), "\" font-size=\"11\" fill=\"",
                    kInk, "\">", Num(row.alerts()), "</text></g>");
  }

  const RuleRow& top = rows.front();
  return absl::StrCat(
      "<svg id=\"", kChartByRuleId, "\" role=\"img\" viewBox=\"0 0 ",
      Coord(kWidth), " ", Coord(height),
      "\" aria-label=\"Findings by rule: horizontal bars for ", rows.size(),
      rows.size() == 1 ? " rule" : " rules",
      ", split by severity. Most frequent: ", Esc(*top.id), " on ",
      Num(top.counts->sessions), " sessions.\">", svg, "</svg>");
}

void AppendRuleSection(const AuditSummary& summary, std::string& out) {
  absl::StrAppend(&out,
                  "<section id=\"by-rule\">\n<h2>Findings by rule</h2>\n"
                  "<p class=\"lead\">How many sessions each rule fired on, "
                  "by the severity of its alert.</p>\n");
  const std::vector<RuleRow> rows = SortedRules(summary);
  if (rows.empty()) {
    AppendEmpty("No rule fired on any session: there is nothing to chart.",
                out);
    absl::StrAppend(&out, "</section>\n");
    return;
  }
  absl::StrAppend(
      &out, "<figure>\n", RuleChartSvg(rows),
      "\n<figcaption>Findings by rule: sessions on which each rule "
      "fired, stacked by severity (critical red, warning amber, info "
      "blue). Hover a bar for its figures; the table below has them "
      "all.</figcaption>\n</figure>\n");

  absl::StrAppend(&out, FixedTable({22, 50, 7, 7, 7, 7}),
                  "<thead><tr><th>Rule</th><th>What it checks</th>"
                  "<th class=\"num\">Sessions</th><th class=\"num\">Critical"
                  "</th><th class=\"num\">Warning</th><th class=\"num\">Info"
                  "</th></tr></thead>\n<tbody>\n");
  for (const RuleRow& row : rows) {
    const RuleCounts& c = *row.counts;
    // A rule whose alert text names each patient's findings has no one
    // summary; its category says what kind of check it is.
    const std::string checks =
        c.summary.empty()
            ? absl::StrCat(Esc(c.category),
                           " <span class=\"muted\">(each alert names the "
                           "patient's own findings)</span>")
            : absl::StrCat(Esc(c.category), c.category.empty() ? "" : ": ",
                           Esc(c.summary));
    absl::StrAppend(&out, "<tr><td class=\"id\">", Esc(*row.id), "</td><td>",
                    checks, "</td><td class=\"num\">", Num(c.sessions),
                    "</td><td class=\"num\">", Num(c.critical),
                    "</td><td class=\"num\">", Num(c.warning),
                    "</td><td class=\"num\">", Num(c.info), "</td></tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n</section>\n");
}

}  // namespace needlecheck::batch::html
