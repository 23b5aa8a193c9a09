#include "adapters/batch/report/html/chart_parts.h"

#include "absl/strings/str_cat.h"
#include "adapters/batch/report/html/style.h"
#include "adapters/batch/report/html/text.h"

namespace needlecheck::batch::html {

double LegendItem(std::string& svg, double x, double y, const char* colour,
                  absl::string_view label) {
  absl::StrAppend(&svg, "<rect x=\"", Coord(x), "\" y=\"", Coord(y - 10),
                  "\" width=\"12\" height=\"12\" rx=\"2\" fill=\"", colour,
                  "\"/><text x=\"", Coord(x + 17), "\" y=\"", Coord(y),
                  "\" font-size=\"12\" fill=\"", kInk, "\">", label, "</text>");
  // DejaVu Sans / system sans at 12px: about 6.8 px per character.
  return 17 + 6.8 * label.size() + 16;
}

Axis NiceAxis(int64_t max_value) {
  Axis axis;
  if (max_value <= 0) return axis;
  const double raw = static_cast<double>(max_value) / 5.0;
  int64_t magnitude = 1;
  while (static_cast<double>(magnitude) * 10 <= raw) magnitude *= 10;
  for (int64_t m : {1, 2, 5, 10}) {
    if (static_cast<double>(m * magnitude) >= raw) {
      axis.step = m * magnitude;
      break;
    }
  }
  axis.max = (max_value + axis.step - 1) / axis.step * axis.step;
  return axis;
}

void AppendSessionsAxis(std::string& svg, const Axis& axis, double x0,
                        double x1, double bottom, double scale,
                        double title_y) {
  for (int64_t t = 0; t <= axis.max; t += axis.step) {
    const double gy = bottom - t * scale;
    absl::StrAppend(&svg, "<line x1=\"", Coord(x0), "\" y1=\"", Coord(gy),
                    "\" x2=\"", Coord(x1), "\" y2=\"", Coord(gy),
                    "\" stroke=\"", t == 0 ? "#94a3b8" : kGrid,
                    "\"/><text x=\"", Coord(x0 - 6), "\" y=\"", Coord(gy + 4),
                    "\" font-size=\"11\" text-anchor=\"end\" fill=\"", kMuted,
                    "\">", Num(t), "</text>");
  }
  absl::StrAppend(&svg, "<text x=\"", Coord(x0 - 6), "\" y=\"", Coord(title_y),
                  "\" font-size=\"11\" text-anchor=\"end\" fill=\"", kMuted,
                  "\">sessions</text>");
}

}  // namespace needlecheck::batch::html
