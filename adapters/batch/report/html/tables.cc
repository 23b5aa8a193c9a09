#include "adapters/batch/report/html/tables.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/batch/report/html/style.h"
#include "adapters/batch/report/html/text.h"
#include "adapters/batch/report/summary_json.h"

namespace needlecheck::batch::html {
namespace {

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
    absl::StrAppend(&svg, "<rect x=\"", Coord(x), "\" width=\"", Coord(w),
                    "\" height=\"12\" fill=\"", style.colour, "\"/>");
    x += w;
  }
  absl::StrAppend(&svg, "</svg>");
  return svg;
}

}  // namespace

std::string FixedTable(std::initializer_list<int> widths) {
  std::string out = "<table class=\"fixed\"><colgroup>";
  for (int w : widths) absl::StrAppend(&out, "<col style=\"width:", w, "%\">");
  absl::StrAppend(&out, "</colgroup>\n");
  return out;
}

void AppendEmpty(absl::string_view sentence, std::string& out) {
  absl::StrAppend(&out, "<p class=\"empty\">", sentence, "</p>\n");
}

void AppendVerdictTableHead(absl::string_view first, std::string& out) {
  absl::StrAppend(&out, "<thead><tr><th>", first,
                  "</th><th class=\"num\">Sessions</th>");
  for (const VerdictStyle& style : kVerdictStyles) {
    absl::StrAppend(&out, "<th class=\"num\">", style.label, "</th>");
  }
  absl::StrAppend(&out, "</tr></thead>\n");
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
  const InputFileCounts total = TotalFileCounts(input);
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

}  // namespace needlecheck::batch::html
