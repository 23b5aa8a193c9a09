#include "adapters/batch/report/html/chart_days_between.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "adapters/batch/report/html/chart_parts.h"
#include "adapters/batch/report/html/style.h"
#include "adapters/batch/report/html/tables.h"
#include "adapters/batch/report/html/text.h"
#include "adapters/batch/report/report_html.h"

namespace needlecheck::batch::html {
namespace {

// "0–6", "7–13", ..., "182+": the days of bucket `i`.
std::string BucketLabel(int i) {
  const int from = i * IntervalHistogram::kBucketDays;
  if (i + 1 == IntervalHistogram::kBuckets) return absl::StrCat(from, "+");
  return absl::StrCat(from, "\xE2\x80\x93",
                      from + IntervalHistogram::kBucketDays - 1);
}

// The most sessions in one bucket of `h`.
int64_t TallestBucket(const IntervalHistogram& h) {
  int64_t max_value = 0;
  for (int64_t n : h.buckets) max_value = std::max(max_value, n);
  return max_value;
}

}  // namespace

bool HasIntervals(const IntervalHistogram& h) {
  return h.with_previous != 0 || TallestBucket(h) != 0;
}

std::string IntervalChartSvg(const IntervalHistogram& h) {
  constexpr int kLimitBucket =
      kMinimumIntervalDays / IntervalHistogram::kBucketDays;
  const int64_t max_value = TallestBucket(h);
  const int64_t at_least =
      std::max<int64_t>(0, h.with_previous - h.under_28_days);
  const Axis axis = NiceAxis(max_value);
  constexpr double kWidth = 900, kX0 = 60, kX1 = 884;
  constexpr double kTop = 62, kBottom = 270;
  const double height = kBottom + 48;
  const double slot = (kX1 - kX0) / IntervalHistogram::kBuckets;
  const double scale = (kBottom - kTop) / static_cast<double>(axis.max);

  std::string svg;
  AppendSessionsAxis(svg, axis, kX0, kX1, kBottom, scale, kTop - 8);
  for (int i = 0; i < IntervalHistogram::kBuckets; ++i) {
    const int64_t n = h.buckets[i];
    const double x = kX0 + slot * i;
    const char* colour = i < kLimitBucket ? kInterval : kNeutral;
    absl::StrAppend(&svg, "<g><title>", BucketLabel(i), " days: ", Num(n),
                    n == 1 ? " session" : " sessions", "</title>");
    if (n > 0) {
      const double bh = n * scale;
      absl::StrAppend(&svg, "<rect x=\"", Coord(x + 1), "\" y=\"",
                      Coord(kBottom - bh), "\" width=\"", Coord(slot - 2),
                      "\" height=\"", Coord(bh), "\" fill=\"", colour, "\"/>");
    }
    absl::StrAppend(&svg, "</g>");
    if (i % 4 == 0 || i + 1 == IntervalHistogram::kBuckets) {
      const bool last = i + 1 == IntervalHistogram::kBuckets;
      const double lx = last ? x + slot / 2 : x;
      absl::StrAppend(
          &svg, "<text x=\"", Coord(lx), "\" y=\"", Coord(kBottom + 16),
          "\" font-size=\"11\" text-anchor=\"middle\" fill=\"", kInk, "\">",
          last ? BucketLabel(i)
               : absl::StrCat(i * IntervalHistogram::kBucketDays),
          "</text>");
    }
  }
  absl::StrAppend(&svg, "<text x=\"", Coord((kX0 + kX1) / 2), "\" y=\"",
                  Coord(kBottom + 36),
                  "\" font-size=\"12\" text-anchor=\"middle\" fill=\"", kMuted,
                  "\">days since the previous session on an overlapping "
                  "area (weeks)</text>");
  // The 28-day line, labelled, with the counts on either side.
  const double lx = kX0 + slot * kLimitBucket;
  absl::StrAppend(
      &svg, "<line x1=\"", Coord(lx), "\" y1=\"", Coord(kTop - 30), "\" x2=\"",
      Coord(lx), "\" y2=\"", Coord(kBottom),
      "\" stroke=\"#111827\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
      "<text x=\"", Coord(lx), "\" y=\"", Coord(kTop - 36),
      "\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\" "
      "fill=\"#111827\">28-day minimum</text>",
      "<text x=\"", Coord(lx + 8), "\" y=\"", Coord(kTop - 14),
      "\" font-size=\"12\"><tspan font-weight=\"bold\" fill=\"", kInterval,
      "\">\xE2\x97\x80 under 28 days: ", Num(h.under_28_days), " (",
      Percent(h.under_28_days, h.with_previous), ")</tspan><tspan fill=\"",
      kInk, "\">   \xC2\xB7   28 days or more: ", Num(at_least),
      " \xE2\x96\xB6</tspan></text>");

  return absl::StrCat(
      "<svg id=\"", kChartDaysBetweenId, "\" role=\"img\" viewBox=\"0 0 ",
      Coord(kWidth), " ", Coord(height),
      "\" aria-label=\"Days between sessions: histogram in weeks of ",
      Num(h.with_previous),
      " sessions with an earlier session on an overlapping area; ",
      Num(h.under_28_days), " of them came less than 28 days after it.\">", svg,
      "</svg>");
}

void AppendIntervalSection(const AuditSummary& summary, std::string& out) {
  const IntervalHistogram& h = summary.days_between_sessions;
  absl::StrAppend(&out,
                  "<section id=\"days-between\">\n<h2>Days between "
                  "sessions</h2>\n<p class=\"lead\">For each session with an "
                  "earlier session on an overlapping area: the days since "
                  "that earlier session. The minimum interval is ",
                  kMinimumIntervalDays, " days.</p>\n");
  if (!HasIntervals(h)) {
    AppendEmpty(
        "No session had an earlier session on an overlapping area: there "
        "are no intervals to chart.",
        out);
    absl::StrAppend(&out, "</section>\n");
    return;
  }
  absl::StrAppend(
      &out, "<figure>\n", IntervalChartSvg(h),
      "\n<figcaption>Days between sessions, one bar per week "
      "(0\xE2\x80\x93"
      "6 days, 7\xE2\x80\x93"
      "13 days, ..., 182 days or more). The dashed line marks the 28-day "
      "minimum interval; bars left of it (purple) are interval violations: "
      "<strong>",
      Num(h.under_28_days), "</strong> of ", Num(h.with_previous),
      " sessions with an earlier one (",
      Percent(h.under_28_days, h.with_previous),
      ").</figcaption>\n</figure>\n");

  absl::StrAppend(&out,
                  "<details><summary>The figures per week</summary>\n"
                  "<table>\n<thead><tr><th>Days since the previous session"
                  "</th><th class=\"num\">Sessions</th></tr></thead>\n"
                  "<tbody>\n");
  for (int i = 0; i < IntervalHistogram::kBuckets; ++i) {
    absl::StrAppend(&out, "<tr><td>", BucketLabel(i), "</td><td class=\"num\">",
                    Num(h.buckets[i]), "</td></tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n</details>\n</section>\n");
}

}  // namespace needlecheck::batch::html
