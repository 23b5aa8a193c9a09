#include "adapters/batch/report/html/style.h"

#include "absl/strings/str_cat.h"
#include "adapters/batch/report/html/text.h"

namespace needlecheck::batch::html {

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

}  // namespace needlecheck::batch::html
