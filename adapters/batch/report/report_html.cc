#include "adapters/batch/report/report_html.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace needlecheck::batch {
namespace {

// --- Text -------------------------------------------------------------------

// `text` as valid UTF-8: each byte that does not start a well-formed
// sequence, and each control character but \t \n \r, becomes U+FFFD.
std::string SanitizeUtf8(absl::string_view text) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      const bool control =
          (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F;
      if (control) {
        out += kReplacement;
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;  // <= U+10FFFF
    }
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      const unsigned char b = s[i + k];
      ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (ok) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += kReplacement;
      ++i;
    }
  }
  return out;
}

// Escapes valid UTF-8 text for HTML.
void AppendEscapedUtf8(absl::string_view text, std::string& out) {
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
}

// At most `max_chars` code points of valid UTF-8 `text`, with "…" in place
// of the rest.
std::string Truncate(const std::string& text, size_t max_chars) {
  if (max_chars == 0) return "";
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (chars == max_chars - 1) {
      // Does more than one code point remain?
      size_t rest = 0;
      for (size_t j = i; j < text.size(); ++j) {
        if ((static_cast<unsigned char>(text[j]) & 0xC0) != 0x80) ++rest;
      }
      if (rest > 1) return text.substr(0, i) + "\xE2\x80\xA6";
      return text;
    }
    ++chars;
  }
  return text;
}

// Escaped, truncated to `max_chars` code points.
std::string EscapeShort(absl::string_view text, size_t max_chars) {
  std::string out;
  AppendEscapedUtf8(Truncate(SanitizeUtf8(text), max_chars), out);
  return out;
}

std::string Esc(absl::string_view text) { return HtmlEscape(text); }

// 1234567 -> "1,234,567".
std::string Num(int64_t n) {
  const uint64_t magnitude =
      n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  const std::string digits = absl::StrCat(magnitude);
  std::string out;
  if (n < 0) out.push_back('-');
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// "12.3%", "<0.1%", or an en dash when `whole` is 0.
std::string Percent(int64_t part, int64_t whole) {
  if (whole <= 0) return "\xE2\x80\x93";
  const double pct = 100.0 * static_cast<double>(part) / whole;
  if (part > 0 && pct < 0.05) return "&lt;0.1%";
  return absl::StrFormat("%.1f%%", pct);
}

// An SVG coordinate.
std::string F(double v) { return absl::StrFormat("%.1f", v); }

// --- Colours and words --------------------------------------------------

constexpr char kCritical[] = "#c62828";
constexpr char kWarning[] = "#f59e0b";
constexpr char kInfo[] = "#1d6fc4";
constexpr char kClear[] = "#2e7d32";
constexpr char kInterval[] = "#6a1b9a";
constexpr char kNeutral[] = "#64748b";
constexpr char kInk[] = "#1f2937";
constexpr char kMuted[] = "#475569";
constexpr char kGrid[] = "#e2e8f0";

struct VerdictStyle {
  Verdict verdict;
  const char* label;
  const char* colour;
  const char* text_colour;  // on `colour`
  const char* explanation;
};

// In the order of precedence.
constexpr VerdictStyle kVerdictStyles[kNumVerdicts] = {
    {Verdict::kIntervalViolation, "Interval violation", kInterval, "#fff",
     "Treated again less than 28 days after an earlier session on an "
     "overlapping area: the skin had not had the minimum time to heal."},
    {Verdict::kTreatedDespiteCritical, "Treated despite a critical alert",
     kCritical, "#fff",
     "The session went ahead although a critical alert applied on that "
     "day, such as an active skin condition in the area or an allergy to "
     "the numbing cream used."},
    {Verdict::kTreatedDespiteWarning, "Treated despite a warning", kWarning,
     kInk,
     "The session went ahead with a warning that called for caution (for "
     "example the needle depth for the area or the skin type), but no "
     "critical alert."},
    {Verdict::kClear, "Clear", kClear, "#fff",
     "No critical alert and no warning applied on the day of the session "
     "(informational notes may still exist)."},
};

const VerdictStyle& StyleOf(Verdict verdict) {
  for (const VerdictStyle& style : kVerdictStyles) {
    if (style.verdict == verdict) return style;
  }
  return kVerdictStyles[kNumVerdicts - 1];
}

int64_t CountOf(const VerdictCounts& counts, Verdict verdict) {
  return counts.by_verdict[static_cast<int>(verdict)];
}

const char* SeverityColour(absl::string_view severity) {
  if (severity == "critical") return kCritical;
  if (severity == "warning") return kWarning;
  if (severity == "info") return kInfo;
  return kNeutral;
}

std::string VerdictBadge(Verdict verdict) {
  const VerdictStyle& style = StyleOf(verdict);
  return absl::StrCat("<span class=\"badge\" style=\"background:", style.colour,
                      ";color:", style.text_colour, "\">", style.label,
                      "</span>");
}

std::string SeverityBadge(absl::string_view severity) {
  const char* colour = SeverityColour(severity);
  const char* text = severity == "warning" ? kInk : "#fff";
  return absl::StrCat("<span class=\"badge\" style=\"background:", colour,
                      ";color:", text, "\">", EscapeShort(severity, 16),
                      "</span>");
}

// A coloured square and a label, for SVG legends; returns the width used.
double LegendItem(std::string& svg, double x, double y, const char* colour,
                  absl::string_view label) {
  absl::StrAppend(&svg, "<rect x=\"", F(x), "\" y=\"", F(y - 10),
                  "\" width=\"12\" height=\"12\" rx=\"2\" fill=\"", colour,
                  "\"/><text x=\"", F(x + 17), "\" y=\"", F(y),
                  "\" font-size=\"12\" fill=\"", kInk, "\">", label, "</text>");
  // DejaVu Sans / system sans at 12px: about 6.8 px per character.
  return 17 + 6.8 * label.size() + 16;
}

// --- Axes ---------------------------------------------------------------

struct Axis {
  int64_t max = 1;   // the top of the axis, a multiple of step
  int64_t step = 1;  // between gridlines
};

// A round axis from 0 to at least `max_value`, with about five steps.
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

// The horizontal grid lines and value labels of a vertical bar chart, from
// 0 to axis.max every axis.step, between x0 and x1 (`bottom` is the y of 0,
// `scale` pixels a unit), and the axis title "sessions" at `title_y`.
void AppendSessionsAxis(std::string& svg, const Axis& axis, double x0,
                        double x1, double bottom, double scale,
                        double title_y) {
  for (int64_t t = 0; t <= axis.max; t += axis.step) {
    const double gy = bottom - t * scale;
    absl::StrAppend(&svg, "<line x1=\"", F(x0), "\" y1=\"", F(gy), "\" x2=\"",
                    F(x1), "\" y2=\"", F(gy), "\" stroke=\"",
                    t == 0 ? "#94a3b8" : kGrid, "\"/><text x=\"", F(x0 - 6),
                    "\" y=\"", F(gy + 4),
                    "\" font-size=\"11\" text-anchor=\"end\" fill=\"", kMuted,
                    "\">", Num(t), "</text>");
  }
  absl::StrAppend(&svg, "<text x=\"", F(x0 - 6), "\" y=\"", F(title_y),
                  "\" font-size=\"11\" text-anchor=\"end\" fill=\"", kMuted,
                  "\">sessions</text>");
}

// --- Months -------------------------------------------------------------

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

struct MonthBar {
  std::string key;    // "2025-01" (or whatever the summary had)
  std::string label;  // "Jan"
  std::string year;   // "2025"
  VerdictCounts counts;
};

// The months of the summary in order, with the months between them that
// had no session filled in as zero (when all keys are YYYY-MM and they span
// at most 20 years; otherwise the keys as they are).
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

// --- Page pieces --------------------------------------------------------

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

// "<table>" with a fixed layout and these column widths (percent), so that
// long untrusted texts wrap inside their column instead of squeezing the
// others.
std::string FixedTable(std::initializer_list<int> widths) {
  std::string out = "<table class=\"fixed\"><colgroup>";
  for (int w : widths) absl::StrAppend(&out, "<col style=\"width:", w, "%\">");
  absl::StrAppend(&out, "</colgroup>\n");
  return out;
}

// The sentence that stands in for a chart without data.
void AppendEmpty(absl::string_view sentence, std::string& out) {
  absl::StrAppend(&out, "<p class=\"empty\">", sentence, "</p>\n");
}

// --- Chart: findings by rule ----------------------------------------------

struct RuleRow {
  const std::string* id;
  const RuleCounts* counts;
  int64_t alerts() const {
    return counts->critical + counts->warning + counts->info;
  }
};

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

void AppendRuleChart(const AuditSummary& summary, std::string& out) {
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
    absl::StrAppend(&svg, "<line x1=\"", F(gx), "\" y1=\"", F(kTop - 4),
                    "\" x2=\"", F(gx), "\" y2=\"", F(plot_bottom),
                    "\" stroke=\"", t == 0 ? "#94a3b8" : kGrid,
                    "\"/><text x=\"", F(gx), "\" y=\"", F(plot_bottom + 16),
                    "\" font-size=\"11\" text-anchor=\"middle\" fill=\"",
                    kMuted, "\">", Num(t), "</text>");
  }
  absl::StrAppend(&svg, "<text x=\"", F(kX1), "\" y=\"", F(plot_bottom + 28),
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
    absl::StrAppend(&svg, "<text x=\"", F(kLabelRight), "\" y=\"",
                    F(y + kBar / 2 + 4), "\" font-size=\"12\" fill=\"", kInk,
                    "\" text-anchor=\"end\">", EscapeShort(*row.id, 28),
                    "</text>");
    double bx = kX0;
    for (const auto& [n, colour] :
         {std::pair<int64_t, const char*>{c.critical, kCritical},
          {c.warning, kWarning},
          {c.info, kInfo}}) {
      if (n <= 0) continue;
      const double w = n * scale;
      absl::StrAppend(&svg, "<rect x=\"", F(bx), "\" y=\"", F(y), "\" width=\"",
                      F(w), "\" height=\"", F(kBar), "\" fill=\"", colour,
                      "\" stroke=\"#fff\" stroke-width=\"0.5\"/>");
      bx += w;
    }
    absl::StrAppend(&svg, "<text x=\"", F(bx + 6), "\" y=\"",
                    F(y + kBar / 2 + 4), "\" font-size=\"11\" fill=\"", kInk,
                    "\">", Num(row.alerts()), "</text></g>");
  }

  const RuleRow& top = rows.front();
  absl::StrAppend(
      &out, "<figure>\n<svg id=\"", kChartByRuleId,
      "\" role=\"img\" viewBox=\"0 0 ", F(kWidth), " ", F(height),
      "\" aria-label=\"Findings by rule: horizontal bars for ", rows.size(),
      rows.size() == 1 ? " rule" : " rules",
      ", split by severity. Most frequent: ", Esc(*top.id), " on ",
      Num(top.counts->sessions), " sessions.\">", svg,
      "</svg>\n<figcaption>Findings by rule: sessions on which each rule "
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

// --- Chart: sessions by month --------------------------------------------

void AppendVerdictTableHead(absl::string_view first, std::string& out) {
  absl::StrAppend(&out, "<thead><tr><th>", first,
                  "</th><th class=\"num\">Sessions</th>");
  for (const VerdictStyle& style : kVerdictStyles) {
    absl::StrAppend(&out, "<th class=\"num\">", style.label, "</th>");
  }
  absl::StrAppend(&out, "</tr></thead>\n");
}

void AppendMonthChart(const AuditSummary& summary, std::string& out) {
  absl::StrAppend(&out,
                  "<section id=\"by-month\">\n<h2>Sessions by month</h2>\n"
                  "<p class=\"lead\">Sessions audited per month of the "
                  "session date, by verdict.</p>\n");
  const std::vector<MonthBar> bars = MonthSeries(summary.by_month);
  int64_t max_value = 0;
  for (const MonthBar& bar : bars) {
    max_value = std::max(max_value, bar.counts.sessions());
  }
  if (bars.empty() || max_value == 0) {
    AppendEmpty("No sessions were audited: there is nothing to chart.", out);
    absl::StrAppend(&out, "</section>\n");
    return;
  }
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
      absl::StrAppend(&svg, "<rect x=\"", F(cx - bar_w / 2), "\" y=\"", F(top),
                      "\" width=\"", F(bar_w), "\" height=\"", F(h),
                      "\" fill=\"", style.colour,
                      "\" stroke=\"#fff\" stroke-width=\"0.5\"/>");
    }
    if (slot >= 24 && bar.counts.sessions() > 0) {
      absl::StrAppend(&svg, "<text x=\"", F(cx), "\" y=\"", F(top - 4),
                      "\" font-size=\"10\" text-anchor=\"middle\" fill=\"",
                      kInk, "\">", Num(bar.counts.sessions()), "</text>");
    }
    absl::StrAppend(&svg, "</g>");
    if (i % label_every == 0) {
      absl::StrAppend(&svg, "<text x=\"", F(cx), "\" y=\"", F(kBottom + 16),
                      "\" font-size=\"11\" text-anchor=\"middle\" fill=\"",
                      kInk, "\">", EscapeShort(bar.label, 10), "</text>");
      if (!bar.year.empty() && bar.year != previous_year) {
        absl::StrAppend(&svg, "<text x=\"", F(cx), "\" y=\"", F(kBottom + 30),
                        "\" font-size=\"11\" font-weight=\"bold\" "
                        "text-anchor=\"middle\" fill=\"",
                        kInk, "\">", Esc(bar.year), "</text>");
        previous_year = bar.year;
      }
    }
  }

  absl::StrAppend(
      &out, "<figure>\n<svg id=\"", kChartByMonthId,
      "\" role=\"img\" viewBox=\"0 0 ", F(kWidth), " ", F(height),
      "\" aria-label=\"Sessions by month: stacked bars for ", bars.size(),
      " months from ", Esc(bars.front().key), " to ", Esc(bars.back().key),
      ", split by verdict.\">", svg,
      "</svg>\n<figcaption>Sessions by month, stacked by verdict (interval "
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

// --- Chart: days between sessions ----------------------------------------

std::string BucketLabel(int i) {
  const int from = i * IntervalHistogram::kBucketDays;
  if (i + 1 == IntervalHistogram::kBuckets) return absl::StrCat(from, "+");
  return absl::StrCat(from, "\xE2\x80\x93",
                      from + IntervalHistogram::kBucketDays - 1);
}

void AppendIntervalChart(const AuditSummary& summary, std::string& out) {
  const IntervalHistogram& h = summary.days_between_sessions;
  constexpr int kLimitDays = 28;
  constexpr int kLimitBucket = kLimitDays / IntervalHistogram::kBucketDays;
  absl::StrAppend(&out,
                  "<section id=\"days-between\">\n<h2>Days between "
                  "sessions</h2>\n<p class=\"lead\">For each session with an "
                  "earlier session on an overlapping area: the days since "
                  "that earlier session. The minimum interval is ",
                  kLimitDays, " days.</p>\n");
  int64_t max_value = 0;
  for (int64_t n : h.buckets) max_value = std::max(max_value, n);
  if (h.with_previous == 0 && max_value == 0) {
    AppendEmpty(
        "No session had an earlier session on an overlapping area: there "
        "are no intervals to chart.",
        out);
    absl::StrAppend(&out, "</section>\n");
    return;
  }
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
      absl::StrAppend(&svg, "<rect x=\"", F(x + 1), "\" y=\"", F(kBottom - bh),
                      "\" width=\"", F(slot - 2), "\" height=\"", F(bh),
                      "\" fill=\"", colour, "\"/>");
    }
    absl::StrAppend(&svg, "</g>");
    if (i % 4 == 0 || i + 1 == IntervalHistogram::kBuckets) {
      const bool last = i + 1 == IntervalHistogram::kBuckets;
      const double lx = last ? x + slot / 2 : x;
      absl::StrAppend(&svg, "<text x=\"", F(lx), "\" y=\"", F(kBottom + 16),
                      "\" font-size=\"11\" text-anchor=\"middle\" fill=\"",
                      kInk, "\">",
                      last ? BucketLabel(i)
                           : absl::StrCat(i * IntervalHistogram::kBucketDays),
                      "</text>");
    }
  }
  absl::StrAppend(&svg, "<text x=\"", F((kX0 + kX1) / 2), "\" y=\"",
                  F(kBottom + 36),
                  "\" font-size=\"12\" text-anchor=\"middle\" fill=\"", kMuted,
                  "\">days since the previous session on an overlapping "
                  "area (weeks)</text>");
  // The 28-day line, labelled, with the counts on either side.
  const double lx = kX0 + slot * kLimitBucket;
  absl::StrAppend(
      &svg, "<line x1=\"", F(lx), "\" y1=\"", F(kTop - 30), "\" x2=\"", F(lx),
      "\" y2=\"", F(kBottom),
      "\" stroke=\"#111827\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>",
      "<text x=\"", F(lx), "\" y=\"", F(kTop - 36),
      "\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\" "
      "fill=\"#111827\">28-day minimum</text>",
      "<text x=\"", F(lx + 8), "\" y=\"", F(kTop - 14),
      "\" font-size=\"12\"><tspan font-weight=\"bold\" fill=\"", kInterval,
      "\">\xE2\x97\x80 under 28 days: ", Num(h.under_28_days), " (",
      Percent(h.under_28_days, h.with_previous), ")</tspan><tspan fill=\"",
      kInk, "\">   \xC2\xB7   28 days or more: ", Num(at_least),
      " \xE2\x96\xB6</tspan></text>");

  absl::StrAppend(
      &out, "<figure>\n<svg id=\"", kChartDaysBetweenId,
      "\" role=\"img\" viewBox=\"0 0 ", F(kWidth), " ", F(height),
      "\" aria-label=\"Days between sessions: histogram in weeks of ",
      Num(h.with_previous),
      " sessions with an earlier session on an overlapping area; ",
      Num(h.under_28_days), " of them came less than 28 days after it.\">", svg,
      "</svg>\n<figcaption>Days between sessions, one bar per week "
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

// --- Tables -------------------------------------------------------------

// A small stacked bar of the verdict shares (decorative: the figures are in
// the same row).
std::string MiniBar(const VerdictCounts& counts) {
  const int64_t total = counts.sessions();
  std::string svg =
      "<svg class=\"mini\" viewBox=\"0 0 120 12\" preserveAspectRatio=\"none\" "
      "aria-hidden=\"true\" focusable=\"false\">";
  absl::StrAppend(&svg, "<rect width=\"120\" height=\"12\" fill=\"", kGrid,
                  "\"/>");
  double x = 0;
  for (const VerdictStyle& style : kVerdictStyles) {
    const int64_t n = CountOf(counts, style.verdict);
    if (n <= 0 || total <= 0) continue;
    const double w = 120.0 * n / total;
    absl::StrAppend(&svg, "<rect x=\"", F(x), "\" width=\"", F(w),
                    "\" height=\"12\" fill=\"", style.colour, "\"/>");
    x += w;
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

void AppendGroupTable(absl::string_view id, absl::string_view title,
                      absl::string_view what,
                      const std::map<std::string, VerdictCounts>& groups,
                      std::string& out) {
  if (groups.empty()) return;
  std::vector<std::pair<const std::string*, const VerdictCounts*>> rows;
  for (const auto& [name, counts] : groups) rows.push_back({&name, &counts});
  // Most flagged first, then most sessions; ties by name (stable).
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    if (a.second->flagged() != b.second->flagged()) {
      return a.second->flagged() > b.second->flagged();
    }
    return a.second->sessions() > b.second->sessions();
  });
  absl::StrAppend(&out, "<section id=\"", id, "\">\n<h2>", title,
                  "</h2>\n<p class=\"lead\">Sessions per ", what,
                  " (where the record names one), most flagged first.</p>\n",
                  FixedTable({22, 8, 8, 8, 14, 10, 10, 10, 10}),
                  "<thead><tr><th>",
                  what == "performer" ? "Performer" : "Location",
                  "</th><th class=\"num\">Sessions</th><th class=\"num\">"
                  "Flagged</th><th class=\"num\">Share flagged</th><th>"
                  "Verdicts</th>");
  for (const VerdictStyle& style : kVerdictStyles) {
    absl::StrAppend(&out, "<th class=\"num\">", style.label, "</th>");
  }
  absl::StrAppend(&out, "</tr></thead>\n<tbody>\n");
  for (const auto& [name, counts] : rows) {
    absl::StrAppend(&out, "<tr><td>", Esc(*name), "</td><td class=\"num\">",
                    Num(counts->sessions()), "</td><td class=\"num\">",
                    Num(counts->flagged()), "</td><td class=\"num\">",
                    Percent(counts->flagged(), counts->sessions()), "</td><td>",
                    MiniBar(*counts), "</td>");
    for (const VerdictStyle& style : kVerdictStyles) {
      absl::StrAppend(&out, "<td class=\"num\">",
                      Num(CountOf(*counts, style.verdict)), "</td>");
    }
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n</section>\n");
}

void AppendWorstCases(const AuditSummary& summary, std::string& out) {
  absl::StrAppend(&out, "<section id=\"worst-cases\">\n<h2>Worst cases</h2>\n");
  if (summary.worst_cases.empty()) {
    AppendEmpty("No session was flagged.", out);
    absl::StrAppend(&out, "</section>\n");
    return;
  }
  absl::StrAppend(
      &out, "<p class=\"lead\">The ", Num(summary.worst_cases.size()),
      " most serious of the ", Num(summary.totals.flagged()),
      " flagged sessions: most critical alerts first, then most warnings, "
      "then by verdict.</p>\n",
      FixedTable({3, 10, 10, 9, 10, 10, 9, 9, 7, 23}),
      "<thead><tr><th class=\"num\">#</th>"
      "<th>Patient</th><th>Session</th><th>Date</th><th>Verdict</th>"
      "<th>Areas</th><th>Performer</th><th>Location</th>"
      "<th class=\"num\">Days since last</th><th>Alerts</th></tr>"
      "</thead>\n<tbody>\n");
  int rank = 0;
  for (const WorstCase& worst : summary.worst_cases) {
    const FindingRecord& f = worst.finding;
    std::vector<std::string> areas;
    for (const std::string& area : f.areas) areas.push_back(Esc(area));
    const bool short_interval = f.days_since_previous_session >= 0 &&
                                f.days_since_previous_session < 28;
    absl::StrAppend(
        &out, "<tr><td class=\"num\">", ++rank, "</td><td class=\"id\">",
        Esc(f.patient_id), "</td><td class=\"id\">", Esc(f.session_id),
        "</td><td style=\"white-space:nowrap\">", Esc(f.session_date),
        "</td><td>", VerdictBadge(f.verdict), "</td><td>",
        absl::StrJoin(areas, ", "), "</td><td>",
        f.performer.empty() ? "\xE2\x80\x93" : Esc(f.performer), "</td><td>",
        f.location.empty() ? "\xE2\x80\x93" : Esc(f.location),
        "</td><td class=\"num", short_interval ? " warn" : "", "\">",
        f.days_since_previous_session < 0 ? std::string("\xE2\x80\x93")
                                          : Num(f.days_since_previous_session),
        "</td><td><ul class=\"alerts\">");
    for (const FindingAlert& alert : f.alerts) {
      absl::StrAppend(&out, "<li>", SeverityBadge(alert.severity),
                      " <span class=\"id\">", Esc(alert.rule_id), "</span> ",
                      Esc(alert.summary), "</li>");
    }
    absl::StrAppend(&out, "</ul></td></tr>\n");
  }
  absl::StrAppend(&out, "</tbody>\n</table>\n</section>\n");
}

void AppendInput(const InputCounts& input, std::string& out) {
  InputFileCounts total;
  for (const auto& [name, counts] : input.files) {
    total.lines += counts.lines;
    total.resources += counts.resources;
    total.malformed += counts.malformed;
    total.without_patient += counts.without_patient;
  }
  auto cell = [](int64_t n, bool warn_if_positive) {
    return absl::StrCat("<td class=\"num",
                        warn_if_positive && n > 0 ? " warn" : "", "\">", Num(n),
                        "</td>");
  };
  absl::StrAppend(
      &out,
      "<section id=\"input\">\n<h2>Input</h2>\n<p class=\"lead\">What was "
      "read from the export. Anything skipped or rejected below was not "
      "audited.</p>\n<table>\n<tbody>\n"
      "<tr><td>Lines read</td>",
      cell(total.lines, false),
      "</tr>\n<tr><td>Resources routed to a patient</td>",
      cell(total.resources, false),
      "</tr>\n<tr><td>Malformed lines (skipped)</td>",
      cell(total.malformed, true),
      "</tr>\n<tr><td>Resources without a patient reference (skipped)</td>",
      cell(total.without_patient, true),
      "</tr>\n<tr><td>Resources rejected by the FHIR adapter (skipped)</td>",
      cell(input.rejected_resources, true),
      "</tr>\n<tr><td>Patients whose record was rejected (not audited)</td>",
      cell(input.rejected_patients, true), "</tr>\n</tbody>\n</table>\n");

  absl::StrAppend(&out, "<h3>Files read</h3>\n");
  if (input.files.empty()) {
    AppendEmpty("No file was read.", out);
  } else {
    absl::StrAppend(&out, FixedTable({40, 15, 15, 15, 15}),
                    "<thead><tr><th>File</th><th class=\"num\">Lines"
                    "</th><th class=\"num\">Resources</th><th class=\"num\">"
                    "Malformed</th><th class=\"num\">Without patient</th>"
                    "</tr></thead>\n<tbody>\n");
    for (const auto& [name, counts] : input.files) {
      absl::StrAppend(&out, "<tr><td class=\"id\">", Esc(name), "</td>",
                      cell(counts.lines, false), cell(counts.resources, false),
                      cell(counts.malformed, true),
                      cell(counts.without_patient, true), "</tr>\n");
    }
    absl::StrAppend(&out, "<tr class=\"total\"><td>All files</td>",
                    cell(total.lines, false), cell(total.resources, false),
                    cell(total.malformed, true),
                    cell(total.without_patient, true),
                    "</tr>\n</tbody>\n</table>\n");
  }

  if (!input.resources_by_type.empty()) {
    absl::StrAppend(&out,
                    "<h3>Resources by type</h3>\n<table>\n<thead><tr><th>"
                    "Resource type</th><th class=\"num\">Resources</th></tr>"
                    "</thead>\n<tbody>\n");
    for (const auto& [type, n] : input.resources_by_type) {
      absl::StrAppend(&out, "<tr><td>", Esc(type), "</td>", cell(n, false),
                      "</tr>\n");
    }
    absl::StrAppend(&out, "</tbody>\n</table>\n");
  }

  absl::StrAppend(&out, "<h3>Files skipped</h3>\n");
  if (input.skipped_files.empty()) {
    AppendEmpty("No file was skipped.", out);
  } else {
    absl::StrAppend(&out, FixedTable({30, 70}),
                    "<thead><tr><th>File</th><th>Why it was not "
                    "read</th></tr></thead>\n<tbody>\n");
    for (const auto& [name, reason] : input.skipped_files) {
      absl::StrAppend(&out, "<tr><td class=\"id\">", Esc(name), "</td><td>",
                      Esc(reason), "</td></tr>\n");
    }
    absl::StrAppend(&out, "</tbody>\n</table>\n");
  }
  absl::StrAppend(&out, "</section>\n");
}

}  // namespace

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  AppendEscapedUtf8(SanitizeUtf8(text), out);
  return out;
}

std::string RenderAuditReport(const AuditSummary& summary) {
  std::string out;
  out.reserve(64 * 1024);
  AppendHead(out);
  AppendHeader(summary, out);
  absl::StrAppend(&out, "<main>\n");
  AppendOverview(summary, out);
  AppendRuleChart(summary, out);
  AppendMonthChart(summary, out);
  AppendIntervalChart(summary, out);
  AppendGroupTable("by-performer", "By performer", "performer",
                   summary.by_performer, out);
  AppendGroupTable("by-location", "By location", "location",
                   summary.by_location, out);
  AppendWorstCases(summary, out);
  AppendInput(summary.input, out);
  absl::StrAppend(&out,
                  "</main>\n<footer>Written by needlecheck-audit. This page "
                  "is self-contained: it loads nothing from the network and "
                  "needs no JavaScript.</footer>\n</body>\n</html>\n");
  return out;
}

}  // namespace needlecheck::batch
