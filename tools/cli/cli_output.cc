#include "tools/cli/cli_output.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace needlecheck::cli {
namespace {

using needlecheck::v1::Alert;
using needlecheck::v1::Severity;

constexpr absl::string_view kReset = "\033[0m";
constexpr absl::string_view kBold = "\033[1m";
constexpr absl::string_view kRed = "\033[1;31m";
constexpr absl::string_view kYellow = "\033[1;33m";
constexpr absl::string_view kCyan = "\033[1;36m";
constexpr absl::string_view kDim = "\033[2m";

std::string Paint(const OutputStyle& style, absl::string_view code,
                  absl::string_view text) {
  if (!style.color) return std::string(text);
  return absl::StrCat(code, text, kReset);
}

absl::string_view SeverityColor(Severity severity) {
  switch (severity) {
    case needlecheck::v1::SEVERITY_CRITICAL:
      return kRed;
    case needlecheck::v1::SEVERITY_WARNING:
      return kYellow;
    case needlecheck::v1::SEVERITY_INFO:
      return kCyan;
    default:
      return kBold;
  }
}

// Appends `text` with every line indented by `indent`.
void AppendIndented(std::string* out, absl::string_view indent,
                    absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    absl::StrAppend(out, indent, line, "\n");
  }
}

std::string FormatDepth(double mm) { return absl::StrFormat("%.2f", mm); }

std::string FormatSuggestion(const needlecheck::v1::Suggestion& s) {
  std::vector<std::string> extras;
  if (!s.earliest_date().empty()) {
    extras.push_back(absl::StrCat("earliest date ", s.earliest_date()));
  }
  if (s.min_needle_depth_mm() > 0 || s.max_needle_depth_mm() > 0) {
    extras.push_back(absl::StrCat("needle depth ",
                                  FormatDepth(s.min_needle_depth_mm()), "-",
                                  FormatDepth(s.max_needle_depth_mm()), " mm"));
  }
  std::string text = s.text();
  if (!extras.empty()) {
    absl::StrAppend(&text, text.empty() ? "" : " ", "(",
                    absl::StrJoin(extras, "; "), ")");
  }
  return text;
}

void AppendAlert(std::string* out, const Alert& alert,
                 const OutputStyle& style) {
  const std::string badge =
      absl::StrCat("[", SeverityName(alert.severity()), "]");
  absl::StrAppend(out, Paint(style, SeverityColor(alert.severity()), badge),
                  " ", Paint(style, kBold, alert.rule_id()));
  if (!alert.category().empty()) {
    absl::StrAppend(out, "  ", Paint(style, kDim, alert.category()));
  }
  absl::StrAppend(out, "\n");
  if (!alert.summary().empty()) AppendIndented(out, "  ", alert.summary());
  if (!alert.detail().empty()) AppendIndented(out, "  ", alert.detail());
  if (alert.evidence_size() > 0) {
    absl::StrAppend(out, "  Evidence:\n");
    for (const auto& e : alert.evidence()) {
      const std::string id = e.entry_id().empty() ? "(record)" : e.entry_id();
      absl::StrAppend(out, "    - ", id, ": \"", e.matched_text(), "\"\n");
    }
  }
  if (alert.suggestions_size() > 0) {
    absl::StrAppend(out, "  Suggestions:\n");
    for (const auto& s : alert.suggestions()) {
      AppendIndented(out, "    - ", FormatSuggestion(s));
    }
  }
  if (!alert.citation().empty()) {
    absl::StrAppend(out, "  Citation: ", alert.citation(), "\n");
  }
  if (alert.override_reasons_size() > 0) {
    absl::StrAppend(out, "  Override reasons:\n");
    for (const auto& r : alert.override_reasons()) {
      absl::StrAppend(out, "    - ", r, "\n");
    }
  }
  if (!alert.alert_id().empty()) {
    absl::StrAppend(out, "  Alert id: ", alert.alert_id(), "\n");
  }
}

std::string StatusCodeName(absl::StatusCode code) {
  std::string name = absl::StatusCodeToString(code);
  return name.empty() ? absl::StrCat("code ", static_cast<int>(code)) : name;
}

}  // namespace

bool UseColor(bool stdout_is_tty, const char* no_color_env) {
  if (no_color_env != nullptr && no_color_env[0] != '\0') return false;
  return stdout_is_tty;
}

absl::StatusOr<needlecheck::v1::PatientRecord> ParseRecordJson(
    absl::string_view json, absl::string_view file_name) {
  needlecheck::v1::PatientRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &record,
      options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": not a valid needlecheck.v1.PatientRecord in proto JSON: ",
        std::string(status.message())));
  }
  return record;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  std::string out;
  // Printing a valid message cannot fail (no Any with unknown types here).
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  if (out.empty() || out.back() != '\n') out.push_back('\n');
  return out;
}

std::string SeverityName(Severity severity) {
  std::string name = needlecheck::v1::Severity_Name(severity);
  if (absl::StartsWith(name, "SEVERITY_")) name.erase(0, 9);
  if (name.empty()) name = absl::StrCat(static_cast<int>(severity));
  return name;
}

std::string FormatScreenResponse(
    const needlecheck::v1::ScreenResponse& response, const OutputStyle& style) {
  std::string out;
  const std::string kb_version = response.knowledge_base_version().empty()
                                     ? "unknown"
                                     : response.knowledge_base_version();
  if (response.alerts_size() == 0) {
    absl::StrAppend(&out, Paint(style, kBold, "No alerts"), " (knowledge base ",
                    kb_version, ")\n");
    return out;
  }
  int counts[4] = {0, 0, 0, 0};
  for (const Alert& a : response.alerts()) {
    const int s = a.severity();
    if (s >= 0 && s < 4) ++counts[s];
  }
  std::vector<std::string> parts;
  if (counts[3] > 0) parts.push_back(absl::StrCat(counts[3], " critical"));
  if (counts[2] > 0) parts.push_back(absl::StrCat(counts[2], " warning"));
  if (counts[1] > 0) parts.push_back(absl::StrCat(counts[1], " info"));
  absl::StrAppend(
      &out,
      Paint(style, kBold,
            absl::StrCat(response.alerts_size(),
                         response.alerts_size() == 1 ? " alert" : " alerts")),
      parts.empty() ? "" : absl::StrCat(" (", absl::StrJoin(parts, ", "), ")"),
      ", knowledge base ", kb_version, "\n");
  for (const Alert& alert : response.alerts()) {
    absl::StrAppend(&out, "\n");
    AppendAlert(&out, alert, style);
  }
  return out;
}

namespace {

// The ConText lists: one line each (id, kind, category, direction, phrase
// count), then the source and the phrases, indented.
void AppendContextLists(std::string* out,
                        const needlecheck::v1::KnowledgeBase& kb,
                        const OutputStyle& style) {
  if (kb.context_lists().empty()) return;
  absl::StrAppend(
      out, "\n",
      Paint(style, kBold,
            absl::StrCat("Context lists (", kb.context_lists_size(), ")")),
      "\n");
  auto short_name = [](absl::string_view full, absl::string_view prefix) {
    absl::string_view s = full;
    if (absl::StartsWith(s, prefix)) s.remove_prefix(prefix.size());
    return s == "UNSPECIFIED" ? std::string("-") : absl::AsciiStrToLower(s);
  };
  for (const auto& l : kb.context_lists()) {
    absl::StrAppend(
        out, "  ", l.id(), "  ", l.kind(), "  ",
        short_name(needlecheck::v1::ContextCategory_Name(l.category()),
                   "CONTEXT_CATEGORY_"),
        "  ",
        short_name(needlecheck::v1::ContextDirection_Name(l.direction()),
                   "CONTEXT_DIRECTION_"),
        "  ", l.phrase_count(), " phrases\n", "      source: ", l.source(),
        "\n", "      ", absl::StrJoin(l.phrases(), " | "), "\n");
  }
}

}  // namespace

std::string FormatKnowledgeBase(const needlecheck::v1::KnowledgeBase& kb,
                                const OutputStyle& style) {
  std::string out;
  absl::StrAppend(
      &out, Paint(style, kBold, absl::StrCat("Knowledge base ", kb.version())),
      "\n");
  if (!kb.source().empty())
    absl::StrAppend(&out, "  source:    ", kb.source(), "\n");
  if (!kb.sha256().empty())
    absl::StrAppend(&out, "  sha256:    ", kb.sha256(), "\n");
  if (!kb.loaded_at().empty()) {
    absl::StrAppend(&out, "  loaded at: ", kb.loaded_at(), "\n");
  }
  size_t id_width = 2;
  for (const auto& r : kb.rules()) id_width = std::max(id_width, r.id().size());
  absl::StrAppend(
      &out, "\n",
      Paint(style, kBold, absl::StrCat("Rules (", kb.rules_size(), ")")), "\n");
  absl::StrAppend(&out, absl::StrFormat("  %-*s  %-8s  %-7s  %s\n",
                                        static_cast<int>(id_width), "ID",
                                        "SEVERITY", "ENABLED", "CATEGORY"));
  for (const auto& r : kb.rules()) {
    const std::string severity =
        r.severity() == needlecheck::v1::SEVERITY_UNSPECIFIED
            ? "-"
            : SeverityName(r.severity());
    // Pad before painting so that escape codes do not upset the columns.
    const std::string padded = absl::StrFormat("%-8s", severity);
    absl::StrAppend(
        &out, absl::StrFormat("  %-*s  ", static_cast<int>(id_width), r.id()),
        Paint(style, SeverityColor(r.severity()), padded),
        absl::StrFormat("  %-7s  %s\n", r.enabled() ? "yes" : "no",
                        r.category()));
  }
  size_t vs_width = 2;
  for (const auto& v : kb.value_sets()) {
    vs_width = std::max(vs_width, v.id().size());
  }
  absl::StrAppend(
      &out, "\n",
      Paint(style, kBold,
            absl::StrCat("Value sets (", kb.value_sets_size(), ")")),
      "\n");
  absl::StrAppend(
      &out, absl::StrFormat("  %-*s  %5s  %5s\n", static_cast<int>(vs_width),
                            "ID", "CODES", "TERMS"));
  for (const auto& v : kb.value_sets()) {
    absl::StrAppend(
        &out, absl::StrFormat("  %-*s  %5d  %5d\n", static_cast<int>(vs_width),
                              v.id(), v.code_count(), v.term_count()));
  }
  absl::StrAppend(
      &out, "\nAnesthetic agents and products: ", kb.anesthetic_count(), "\n");
  if (!kb.case_sensitive_terms().empty()) {
    std::vector<std::string> terms;
    for (const auto& t : kb.case_sensitive_terms()) {
      terms.push_back(
          absl::StrCat("\"", t.term(), "\" (", t.anesthetic_id(), ")"));
    }
    absl::StrAppend(&out, "Matched only as written (case-sensitive): ",
                    absl::StrJoin(terms, ", "), "\n");
  }
  if (kb.has_thresholds()) {
    const auto& t = kb.thresholds();
    absl::StrAppend(
        &out, "Thresholds: min interval ", t.min_interval_days(),
        " days; maintenance window ends at ", t.maintenance_window_end_days(),
        " days; periorbital depth ", FormatDepth(t.eye_min_depth_mm()), "-",
        FormatDepth(t.eye_max_depth_mm()), " mm; max needle depth ",
        FormatDepth(t.max_needle_depth_mm()), " mm\n");
  }
  AppendContextLists(&out, kb, style);
  return out;
}

std::string FormatRpcError(absl::string_view rpc, absl::StatusCode code,
                           absl::string_view message,
                           absl::string_view error_details) {
  std::string out =
      absl::StrCat(rpc, " failed: ", StatusCodeName(code), ": ", message, "\n");
  if (error_details.empty()) return out;
  google::rpc::Status status;
  if (!status.ParseFromArray(error_details.data(),
                             static_cast<int>(error_details.size()))) {
    return out;
  }
  for (const google::protobuf::Any& detail : status.details()) {
    google::rpc::BadRequest bad_request;
    if (!detail.Is<google::rpc::BadRequest>() ||
        !detail.UnpackTo(&bad_request)) {
      continue;
    }
    for (const auto& violation : bad_request.field_violations()) {
      absl::StrAppend(&out, "  field ", violation.field(), ": ",
                      violation.description(), "\n");
    }
  }
  return out;
}

}  // namespace needlecheck::cli
