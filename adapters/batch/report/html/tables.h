// The tables and sections of report.html that are not charts: the table
// pieces the chart sections share (a fixed-layout table, the verdict column
// heads, the sentence that stands in for a chart without data), and the
// sections per performer and per location, the worst cases and the input.
// Each appends HTML to `out`; every text from the data is escaped.
//
// Contract: pure functions of their arguments; deterministic (ties broken by
// name); thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_TABLES_H_
#define ADAPTERS_BATCH_REPORT_HTML_TABLES_H_

#include <initializer_list>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch::html {

// "<table>" with a fixed layout and these column widths (percent), so that
// long untrusted texts wrap inside their column instead of squeezing the
// others.
std::string FixedTable(std::initializer_list<int> widths);

// The sentence that stands in for a chart without data.
void AppendEmpty(absl::string_view sentence, std::string& out);

// The <thead> of a table with a first column `first`, sessions, and one
// column per verdict.
void AppendVerdictTableHead(absl::string_view first, std::string& out);

// The section `id` of sessions per `what` ("performer" or "location"),
// most flagged first; nothing when `groups` is empty.
void AppendGroupTable(absl::string_view id, absl::string_view title,
                      absl::string_view what,
                      const std::map<std::string, VerdictCounts>& groups,
                      std::string& out);

// The worst cases: the summary's most serious flagged sessions.
void AppendWorstCases(const AuditSummary& summary, std::string& out);

// What was read from the export, what was skipped and why.
void AppendInput(const InputCounts& input, std::string& out);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_TABLES_H_
