#include "adapters/batch/report/html/chart_by_month.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "adapters/batch/report/html/chart_parts.h"
#include "adapters/batch/report/html/style.h"
#include "adapters/batch/report/html/tables.h"
#include "adapters/batch/report/html/text.h"
#include "adapters/batch/report/report_html.h"

namespace needlecheck::batch::html {
namespace {

constexpr const char* kMonthNames[12] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};

// "YYYY-MM" -> months since year 0; false if not that form.
bool ParseMonth(absl::string_view key, int* index) {
  if (key.size() != 7 || key[4] != '-') return false;
  int year = 0, month = 0;
  if (!absl::SimpleAtoi(key.substr(0, 4), &year) ||
      !absl::SimpleAtoi(key.substr(5, 2), &month)) {
    return false;
  }
  for (char c : key.substr(0, 4)) {
    if (c < '0' || c > '9') return false;
  }
  if (month < 1 || month > 12) return false;
  *index = year * 12 + month - 1;
  return true;
}

// The most sessions in one month of `bars`; 0 when there are none.
int64_t BusiestMonth(const std::vector<MonthBar>& bars) {
  int64_t max_value = 0;
  for (const MonthBar& bar : bars) {
    max_value = std::max(max_value, bar.counts.sessions());
  }
  return max_value;
}

}  // namespace

std::vector<MonthBar> MonthSeries(
    const std::map<std::string, VerdictCounts>& by_month) {
  std::vector<MonthBar> bars;
  bool all_parse = !by_month.empty();
  int first = 0, last = 0;
  for (const auto& [key, counts] : by_month) {
    int index = 0;
    if (!ParseMonth(key, &index)) {
      all_parse = false;
      break;
    }
    // Keys are in order, and "YYYY-MM" sorts as the months do.
    if (key == by_month.begin()->first) first = index;
    last = index;
  }
  if (all_parse && last - first < 240) {
    for (int index = first; index <= last; ++index) {
      MonthBar bar;
      bar.key = absl::StrFormat("%04d-%02d", index / 12, index % 12 + 1);
      bar.label = kMonthNames[index % 12];
      bar.year = absl::StrCat(index / 12);
      auto it = by_month.find(bar.key);
      if (it != by_month.end()) bar.counts = it->second;
      bars.push_back(std::move(bar));
    }
    return bars;
  }
  for (const auto& [key, counts] : by_month) {
    MonthBar bar;
    bar.key = key;
    bar.label = key;
    bar.counts = counts;
    bars.push_back(std::move(bar));
  }
  return bars;
}

std::string MonthChartSvg(const std::vector<MonthBar>& bars) {
  const int64_t max_value = BusiestMonth(bars);
  const Axis axis = NiceAxis(max_value);
  constexpr double kWidth = 900, kX0 = 60, kX1 = 884;
  constexpr double kTop = 44, kBottom = 282;
  const double height = kBottom + 44;
  const double slot = (kX1 - kX0) / bars.size();
  const double bar_w = std::min(slot * 0.72, 48.0);
  const double scale = (kBottom - kTop) / static_cast<double>(axis.max);
  const size_t label_every = (bars.size() + 17) / 18;

  std::string svg;
  double x = kX0;
  for (const VerdictStyle& style : kVerdictStyles) {
    x += LegendItem(svg, x, 16, style.colour, style.label);
  }
  AppendSessionsAxis(svg, axis, kX0, kX1, kBottom, scale, kTop - 12);
  std::string previous_year;
  for (size_t i = 0; i < bars.size(); ++i) {
    const MonthBar& bar = bars[i];
    const double cx = kX0 + slot * (i + 0.5);
    std::vector<std::string> parts;
    for (const VerdictStyle& style : kVerdictStyles) {
      parts.push_back(absl::StrCat(Num(CountOf(bar.counts, style.verdict)), " ",
                                   style.label));
    }
    absl::StrAppend(&svg, "<g><title>", Esc(bar.key), ": ",
                    Num(bar.counts.sessions()), " sessions \xE2\x80\x94 ",
                    absl::StrJoin(parts, ", "), "</title>");
    // Flagged at the bottom, so that months compare on them.
    double top = kBottom;
    for (const VerdictStyle& style : kVerdictStyles) {
      const int64_t n = CountOf(bar.counts, style.verdict);
      if (n <= 0) continue;
      const double h = n * scale;
      top -= h;
      absl::StrAppend(&svg, "<rect x=\"", Coord(cx - bar_w / 2), "\" y=\"",
                      Coord(top), "\" width=\"", Coord(bar_w), "\" height=\"",
                      Coord(h), "\" fill=\"", style.colour,
                      "\" stroke=\"#fff\" stroke-width=\"0.5\"/>");
    }
    if (slot >= 24 && bar.counts.sessions() > 0) {
      absl::StrAppend(&svg, "<text x=\"", Coord(cx), "\" y=\"", Coord(top - 4),
                      "\" font-size=\"10\" text-anchor=\"middle\" fill=\"",
                      kInk, "\">", Num(bar.counts.sessions()), "</text>");
    }
    absl::StrAppend(&svg, "</g>");
    if (i % label_every == 0) {
      absl::StrAppend(&svg, "<text x=\"", Coord(cx), "\" y=\"",
                      Coord(kBottom + 16),
                      "\" font-size=\"11\" text-anchor=\"middle\" fill=\"",
                      kInk, "\">", EscapeShort(bar.label, 10), "</text>");
      if (!bar.year.empty() && bar.year != previous_year) {
        absl::StrAppend(&svg, "<text x=\"", Coord(cx), "\" y=\"",
                        Coord(kBottom + 30),
                        "\" font-size=\"11\" font-weight=\"bold\" "
                        "text-anchor=\"middle\" fill=\"",
                        kInk, "\">", Esc(bar.year), "</text>");
        previous_year = bar.year;
      }
    }
  }

  return absl::StrCat(
      "<svg id=\"", kChartByMonthId, "\" role=\"img\" viewBox=\"0 0 ",
      Coord(kWidth), " ", Coord(height),
      "\" aria-label=\"Sessions by month: stacked bars for ", bars.size(),
      " months from ", Esc(bars.front().key), " to ", Esc(bars.back().key),
      ", split by verdict.\">", svg, "</svg>");
}

void AppendMonthSection(const AuditSummary& summary, std::string& out) {
  absl::StrAppend(&out,
                  "<section id=\"by-month\">\n<h2>Sessions by month</h2>\n"
                  "<p class=\"lead\">Sessions audited per month of the "
                  "session date, by verdict.</p>\n");
  const std::vector<MonthBar> bars = MonthSeries(summary.by_month);
  if (BusiestMonth(bars) == 0) {
    AppendEmpty("No sessions were audited: there is nothing to chart.", out);
    absl::StrAppend(&out, "</section>\n");
    return;
  }
  absl::StrAppend(
      &out, "<figure>\n", MonthChartSvg(bars),
      "\n<figcaption>Sessions by month, stacked by verdict (interval "
      "violation purple, treated despite a critical alert red, despite a "
      "warning amber, clear green); months without sessions show no bar. "
      "Hover a bar for its figures.</figcaption>\n</figure>\n");

  absl::StrAppend(&out,
                  "<details><summary>The figures per month</summary>\n"
                  "<table>\n");
  AppendVerdictTableHead("Month", out);
  absl::StrAppend(&out, "<tbody>\n");
  for (const MonthBar& bar : bars) {
    absl::StrAppend(&out, "<tr><td>", Esc(bar.key), "</td><td class=\"num\">",
                    Num(bar.counts.sessions()), "</td>");
    for (const VerdictStyle& style : kVerdictStyles) {
      absl::StrAppend(&out, "<td class=\"num\">",
                      Num(CountOf(bar.counts, style.verdict)), "</td>");
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n</details>\n</section>\n");
}

}  // namespace needlecheck::batch::html
