#include "adapters/batch/findings/finding_lines.h"

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "adapters/common/json_string.h"
#include "adapters/common/json_writer.h"
#include "simdjson.h"

namespace needlecheck::batch {
namespace {

namespace v1 = needlecheck::v1;

std::string EnumSuffix(const std::string& name, absl::string_view prefix) {
  absl::string_view rest = name;
  if (absl::StartsWith(rest, prefix)) rest.remove_prefix(prefix.size());
  return absl::AsciiStrToLower(rest);
}

std::string ConceptName(const v1::Concept& concept) {
  if (!concept.text().empty()) return concept.text();
  for (const v1::Coding& coding : concept.codings()) {
    if (!coding.display().empty()) return coding.display();
  }
  for (const v1::Coding& coding : concept.codings()) {
    if (!coding.code().empty()) {
      return absl::StrCat(coding.system(), "|", coding.code());
    }
  }
  return "";
}

// Reads a string member that may be null or absent (-> empty).
absl::Status OptionalString(simdjson::dom::object object, const char* key,
                            std::string* out) {
  simdjson::dom::element value;
  if (object.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) {
    out->clear();
    return absl::OkStatus();
  }
  std::string_view text;
  if (value.get_string().get(text) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is not a string"));
  }
  out->assign(text.data(), text.size());
  return absl::OkStatus();
}

absl::Status RequiredString(simdjson::dom::object object, const char* key,
                            std::string* out) {
  std::string_view text;
  if (object.at_key(key).get_string().get(text) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", key, "\" is missing or not a string"));
  }
  out->assign(text.data(), text.size());
  return absl::OkStatus();
}

// Appends one CSV cell: a value a spreadsheet would read as a formula
// gets a leading "'", and a cell holding a comma, quote or line break is
// quoted with its quotes doubled.
void AppendCsvCell(absl::string_view value, std::string* out) {
  const bool defuse = !value.empty() &&
                      (value[0] == '=' || value[0] == '+' || value[0] == '-' ||
                       value[0] == '@' || value[0] == '\t' || value[0] == '\r');
  const bool quote = value.find_first_of(",\"\r\n") != absl::string_view::npos;
  if (quote) out->push_back('"');
  if (defuse) out->push_back('\'');
  if (!quote) {
    out->append(value.data(), value.size());
    return;
  }
  for (char c : value) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string FormatDepth(double mm) {
  // Shortest form that reads back the same (depths are like 0.5, 1.25).
  std::string text = absl::StrCat(mm);
  return text;
}

}  // namespace

bool ParseVerdict(absl::string_view name, Verdict* verdict) {
  for (int i = 0; i < kNumVerdicts; ++i) {
    if (name == VerdictName(static_cast<Verdict>(i))) {
      *verdict = static_cast<Verdict>(i);
      return true;
    }
  }
  return false;
}

FindingRecord FindingFromProto(const v1::AuditFinding& finding) {
  FindingRecord record;
  record.patient_id = finding.patient_id();
  const v1::AuditedSession& session = finding.session();
  record.session_id = session.procedure_id();
  record.session_date = session.date();
  switch (finding.verdict()) {
    case v1::AUDIT_VERDICT_INTERVAL_VIOLATION:
      record.verdict = Verdict::kIntervalViolation;
      break;
    case v1::AUDIT_VERDICT_TREATED_DESPITE_CRITICAL:
      record.verdict = Verdict::kTreatedDespiteCritical;
      break;
    case v1::AUDIT_VERDICT_TREATED_DESPITE_WARNING:
      record.verdict = Verdict::kTreatedDespiteWarning;
      break;
    default:
      record.verdict = Verdict::kClear;
      break;
  }
  for (int area : session.areas()) {
    record.areas.push_back(
        EnumSuffix(v1::TreatmentArea_Name(static_cast<v1::TreatmentArea>(area)),
                   "TREATMENT_AREA_"));
  }
  record.needle_depth_mm = session.needle_depth_mm();
  record.anesthetic = ConceptName(session.anesthetic());
  record.performer = session.performer();
  record.location = session.location();
  record.days_since_previous_session =
      session.has_days_since_previous_session()
          ? session.days_since_previous_session()
          : -1;
  for (const v1::Alert& alert : finding.alerts()) {
    record.alerts.push_back(
        {alert.rule_id(),
         EnumSuffix(v1::Severity_Name(alert.severity()), "SEVERITY_"),
         alert.summary(), alert.category()});
  }
  record.knowledge_base_version = finding.knowledge_base_version();
  return record;
}

std::string FindingToJsonLine(const FindingRecord& finding) {
  // Written without a DOM, byte for byte what nlohmann::ordered_json's
  // dump(-1, ' ', false, replace) gave for the same members (this is on
  // the audit's path, once per finding).
  std::string line;
  line.reserve(256 + finding.alerts.size() * 160);
  const auto key = [&line](absl::string_view name) {
    line.push_back(line.empty() ? '{' : ',');
    line.push_back('"');
    line.append(name.data(), name.size());
    line.append("\":");
  };
  const auto string_or_null = [&line](const std::string& value) {
    if (value.empty()) {
      line.append("null");
    } else {
      adapters::AppendJsonString(value, &line);
    }
  };
  key("patient_id");
  adapters::AppendJsonString(finding.patient_id, &line);
  key("session_id");
  adapters::AppendJsonString(finding.session_id, &line);
  key("session_date");
  adapters::AppendJsonString(finding.session_date, &line);
  key("verdict");
  adapters::AppendJsonString(VerdictName(finding.verdict), &line);
  key("alerts");
  line.push_back('[');
  for (size_t i = 0; i < finding.alerts.size(); ++i) {
    const FindingAlert& alert = finding.alerts[i];
    if (i > 0) line.push_back(',');
    line.append("{\"rule_id\":");
    adapters::AppendJsonString(alert.rule_id, &line);
    line.append(",\"severity\":");
    adapters::AppendJsonString(alert.severity, &line);
    line.append(",\"category\":");
    adapters::AppendJsonString(alert.category, &line);
    line.append(",\"summary\":");
    adapters::AppendJsonString(alert.summary, &line);
    line.push_back('}');
  }
  line.push_back(']');
  key("areas");
  line.push_back('[');
  for (size_t i = 0; i < finding.areas.size(); ++i) {
    if (i > 0) line.push_back(',');
    adapters::AppendJsonString(finding.areas[i], &line);
  }
  line.push_back(']');
  key("needle_depth_mm");
  if (finding.needle_depth_mm > 0 && std::isfinite(finding.needle_depth_mm)) {
    adapters::AppendJsonDouble(finding.needle_depth_mm, &line);
  } else {
    line.append("null");
  }
  key("anesthetic");
  string_or_null(finding.anesthetic);
  key("performer");
  string_or_null(finding.performer);
  key("location");
  string_or_null(finding.location);
  key("days_since_previous_session");
  if (finding.days_since_previous_session >= 0) {
    absl::StrAppend(&line, finding.days_since_previous_session);
  } else {
    line.append("null");
  }
  key("knowledge_base_version");
  adapters::AppendJsonString(finding.knowledge_base_version, &line);
  line.push_back('}');
  return line;
}

absl::StatusOr<FindingRecord> FindingFromJsonLine(absl::string_view line) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(line.data(), line.size()).get(root)) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed JSON (", simdjson::error_message(error), ")"));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("not a JSON object");
  }
  FindingRecord record;
  absl::Status status =
      RequiredString(object, "patient_id", &record.patient_id);
  if (status.ok())
    status = RequiredString(object, "session_id", &record.session_id);
  if (status.ok()) {
    status = RequiredString(object, "session_date", &record.session_date);
  }
  std::string verdict;
  if (status.ok()) status = RequiredString(object, "verdict", &verdict);
  if (status.ok() && !ParseVerdict(verdict, &record.verdict)) {
    status = absl::InvalidArgumentError("\"verdict\" is not a known verdict");
  }
  if (status.ok())
    status = OptionalString(object, "anesthetic", &record.anesthetic);
  if (status.ok())
    status = OptionalString(object, "performer", &record.performer);
  if (status.ok())
    status = OptionalString(object, "location", &record.location);
  if (status.ok()) {
    status = OptionalString(object, "knowledge_base_version",
                            &record.knowledge_base_version);
  }
  if (!status.ok()) return status;

  simdjson::dom::element value;
  if (object.at_key("needle_depth_mm").get(value) == simdjson::SUCCESS &&
      !value.is_null()) {
    double depth = 0;
    if (value.get_double().get(depth) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("\"needle_depth_mm\" is not a number");
    }
    record.needle_depth_mm = depth;
  }
  if (object.at_key("days_since_previous_session").get(value) ==
          simdjson::SUCCESS &&
      !value.is_null()) {
    int64_t days = 0;
    if (value.get_int64().get(days) != simdjson::SUCCESS || days < 0 ||
        days > INT32_MAX) {
      return absl::InvalidArgumentError(
          "\"days_since_previous_session\" is not a day count");
    }
    record.days_since_previous_session = static_cast<int>(days);
  }
  simdjson::dom::array array;
  if (object.at_key("areas").get_array().get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element area : array) {
      std::string_view text;
      if (area.get_string().get(text) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError("\"areas\" holds a non-string");
      }
      record.areas.emplace_back(text);
    }
  }
  if (object.at_key("alerts").get_array().get(array) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("\"alerts\" is missing or not an array");
  }
  for (simdjson::dom::element element : array) {
    simdjson::dom::object alert;
    if (element.get_object().get(alert) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError("\"alerts\" holds a non-object");
    }
    FindingAlert parsed;
    absl::Status alert_status =
        RequiredString(alert, "rule_id", &parsed.rule_id);
    if (alert_status.ok()) {
      alert_status = RequiredString(alert, "severity", &parsed.severity);
    }
    if (alert_status.ok()) {
      alert_status = OptionalString(alert, "category", &parsed.category);
    }
    if (alert_status.ok()) {
      alert_status = OptionalString(alert, "summary", &parsed.summary);
    }
    if (!alert_status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("alerts: ", alert_status.message()));
    }
    record.alerts.push_back(std::move(parsed));
  }
  return record;
}

std::string FindingsCsvHeader() {
  return "patient_id,session_id,session_date,verdict,critical,warning,info,"
         "alerts,areas,needle_depth_mm,anesthetic,performer,location,"
         "days_since_previous_session,knowledge_base_version\r\n";
}

void AppendFindingCsvRow(const FindingRecord& finding, std::string* out) {
  int critical = 0, warning = 0, info = 0;
  std::string joined;  // the alerts, then the areas
  for (const FindingAlert& alert : finding.alerts) {
    if (alert.severity == "critical") ++critical;
    if (alert.severity == "warning") ++warning;
    if (alert.severity == "info") ++info;
    if (&alert != &finding.alerts.front()) joined.push_back(';');
    absl::StrAppend(&joined, alert.rule_id, ":", alert.severity);
  }
  AppendCsvCell(finding.patient_id, out);
  out->push_back(',');
  AppendCsvCell(finding.session_id, out);
  out->push_back(',');
  AppendCsvCell(finding.session_date, out);
  absl::StrAppend(out, ",", VerdictName(finding.verdict), ",", critical, ",",
                  warning, ",", info, ",");
  AppendCsvCell(joined, out);
  out->push_back(',');
  joined.clear();
  for (const std::string& area : finding.areas) {
    if (&area != &finding.areas.front()) joined.push_back(';');
    joined.append(area);
  }
  AppendCsvCell(joined, out);
  out->push_back(',');
  if (finding.needle_depth_mm > 0) {
    out->append(FormatDepth(finding.needle_depth_mm));
  }
  out->push_back(',');
  AppendCsvCell(finding.anesthetic, out);
  out->push_back(',');
  AppendCsvCell(finding.performer, out);
  out->push_back(',');
  AppendCsvCell(finding.location, out);
  out->push_back(',');
  if (finding.days_since_previous_session >= 0) {
    absl::StrAppend(out, finding.days_since_previous_session);
  }
  out->push_back(',');
  AppendCsvCell(finding.knowledge_base_version, out);
  out->append("\r\n");
}

std::string FindingToCsvRow(const FindingRecord& finding) {
  std::string row;
  AppendFindingCsvRow(finding, &row);
  return row;
}

}  // namespace needlecheck::batch
