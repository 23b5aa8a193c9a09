// The look of report.html: its colours (critical red, warning amber, info
// blue, clear green, interval violations purple, the same everywhere on the
// page), the four verdicts' labels, colours and explanations in the order
// of precedence, and the badges drawn from them.
//
// Contract: constants and pure functions; thread-safe.
#ifndef ADAPTERS_BATCH_REPORT_HTML_STYLE_H_
#define ADAPTERS_BATCH_REPORT_HTML_STYLE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "adapters/batch/report/audit_summary.h"

namespace needlecheck::batch::html {

inline constexpr char kCritical[] = "#c62828";
inline constexpr char kWarning[] = "#f59e0b";
inline constexpr char kInfo[] = "#1d6fc4";
inline constexpr char kClear[] = "#2e7d32";
inline constexpr char kInterval[] = "#6a1b9a";
inline constexpr char kNeutral[] = "#64748b";
inline constexpr char kInk[] = "#1f2937";
inline constexpr char kMuted[] = "#475569";
inline constexpr char kGrid[] = "#e2e8f0";

struct VerdictStyle {
  Verdict verdict;
  const char* label;
  const char* colour;
  const char* text_colour;  // on `colour`
  const char* explanation;
};

// In the order of precedence.
inline constexpr VerdictStyle kVerdictStyles[kNumVerdicts] = {
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

const VerdictStyle& StyleOf(Verdict verdict);

// The sessions of `counts` with `verdict`.
int64_t CountOf(const VerdictCounts& counts, Verdict verdict);

// The colour of an alert severity ("critical", "warning", "info"; grey for
// anything else).
const char* SeverityColour(absl::string_view severity);

// A coloured <span class="badge"> naming the verdict / the severity.
std::string VerdictBadge(Verdict verdict);
std::string SeverityBadge(absl::string_view severity);

}  // namespace needlecheck::batch::html

#endif  // ADAPTERS_BATCH_REPORT_HTML_STYLE_H_
