// The pieces the charts of report.html share: legend entries, a round
// value axis, and the horizontal grid of a vertical bar chart. Each appends
// SVG elements to a string; none draws a whole chart.
//
// Contract: pure functions of their arguments; thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_CHART_PARTS_H_
#define ADAPTERS_BATCH_REPORT_HTML_CHART_PARTS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace needlecheck::batch::html {

// A coloured square and a label, for SVG legends; returns the width used.
double LegendItem(std::string& svg, double x, double y, const char* colour,
                  absl::string_view label);

struct Axis {
  int64_t max = 1;   // the top of the axis, a multiple of step
  int64_t step = 1;  // between gridlines
};

// A round axis from 0 to at least `max_value`, with about five steps.
Axis NiceAxis(int64_t max_value);

// The horizontal grid lines and value labels of a vertical bar chart, from
// 0 to axis.max every axis.step, between x0 and x1 (`bottom` is the y of 0,
// `scale` pixels a unit), and the axis title "sessions" at `title_y`.
void AppendSessionsAxis(std::string& svg, const Axis& axis, double x0,
                        double x1, double bottom, double scale, double title_y);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_CHART_PARTS_H_
