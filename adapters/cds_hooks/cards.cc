#include "adapters/cds_hooks/cards.h"

#include <cstdint>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "nlohmann/json.hpp"

namespace needlecheck::cds_hooks {

namespace {

using Json = nlohmann::ordered_json;
using needlecheck::v1::Alert;

const char* Indicator(needlecheck::v1::Severity severity) {
  switch (severity) {
    case needlecheck::v1::SEVERITY_CRITICAL:
      return "critical";
    case needlecheck::v1::SEVERITY_WARNING:
      return "warning";
    default:
      return "info";
  }
}

// Backslash-escapes GFM punctuation so record text cannot inject markup.
std::string EscapeMarkdown(absl::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    switch (c) {
      // Inline text never starts a line here, so block markers (#, -, +,
      // digits) need no escape.
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '<':
      case '>':
      case '|':
      case '~':
      case '&':
        out.push_back('\\');
        out.push_back(c);
        break;
      case '\n':
      case '\r':
      case '\t':
        out.push_back(' ');
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string Slug(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '-') {
      out.push_back('-');
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  if (out.size() > 64) out.resize(64);
  return out.empty() ? "reason" : out;
}

bool ParseDay(absl::string_view date, absl::CivilDay* day) {
  if (date.size() < 10) return false;
  return absl::ParseCivilTime(date.substr(0, 10), day);
}

// Moves the date part of a FHIR date/dateTime by `days`.
std::string ShiftDate(absl::string_view value, int64_t days) {
  absl::CivilDay day;
  if (!ParseDay(value, &day)) return std::string(value);
  return absl::StrCat(absl::FormatCivilTime(day + days), value.substr(10));
}

// The resource moved so that its date is `earliest`.
bool MoveResource(Json* resource, const absl::CivilDay& earliest) {
  const std::string type = resource->value("resourceType", "");
  auto shift_field = [&](Json* holder, const char* field) -> bool {
    auto it = holder->find(field);
    if (it == holder->end() || !it->is_string()) return false;
    absl::CivilDay day;
    if (!ParseDay(it->get<std::string>(), &day)) return false;
    const int64_t delta = earliest - day;
    *it = ShiftDate(it->get<std::string>(), delta);
    return true;
  };
  auto shift_pair = [&](Json* holder, const char* first, const char* second) {
    auto it = holder->find(first);
    if (it == holder->end() || !it->is_string()) return false;
    absl::CivilDay day;
    if (!ParseDay(it->get<std::string>(), &day)) return false;
    const int64_t delta = earliest - day;
    *it = ShiftDate(it->get<std::string>(), delta);
    auto end = holder->find(second);
    if (end != holder->end() && end->is_string()) {
      *end = ShiftDate(end->get<std::string>(), delta);
    }
    return true;
  };
  if (type == "Appointment") {
    if (shift_pair(resource, "start", "end")) return true;
    (*resource)["start"] = absl::FormatCivilTime(earliest);
    return true;
  }
  const char* date_field =
      type == "Procedure" ? "performedDateTime" : "occurrenceDateTime";
  const char* period_field =
      type == "Procedure" ? "performedPeriod" : "occurrencePeriod";
  if (shift_field(resource, date_field)) return true;
  auto period = resource->find(period_field);
  if (period != resource->end() && period->is_object() &&
      shift_pair(&*period, "start", "end")) {
    return true;
  }
  (*resource)[date_field] = absl::FormatCivilTime(earliest);
  return true;
}

std::string Detail(const Alert& alert, const std::string& kb_version) {
  std::string out = alert.detail();
  if (alert.evidence_size() > 0) {
    absl::StrAppend(&out, "\n\n**Evidence**\n");
    for (const auto& e : alert.evidence()) {
      absl::StrAppend(&out, "\n- ");
      if (!e.entry_id().empty()) {
        absl::StrAppend(&out, "entry ", EscapeMarkdown(e.entry_id()), ": ");
      }
      absl::StrAppend(&out, "\"", EscapeMarkdown(e.matched_text()), "\"");
    }
  }
  bool heading = false;
  for (const auto& s : alert.suggestions()) {
    if (s.text().empty() && s.earliest_date().empty() &&
        s.max_needle_depth_mm() <= 0) {
      continue;
    }
    if (!heading) {
      absl::StrAppend(&out, "\n\n**What to do**\n");
      heading = true;
    }
    absl::StrAppend(&out, "\n- ", s.text());
    if (!s.earliest_date().empty() &&
        !absl::StrContains(s.text(), s.earliest_date())) {
      absl::StrAppend(&out, " Earliest date: ", s.earliest_date(), ".");
    }
    if (s.max_needle_depth_mm() > 0) {
      absl::StrAppend(&out, absl::StrFormat(" Needle depth %.2g-%.2g mm.",
                                            s.min_needle_depth_mm(),
                                            s.max_needle_depth_mm()));
    }
  }
  if (!alert.citation().empty()) {
    absl::StrAppend(&out, "\n\n**Source:** ", alert.citation());
  }
  absl::StrAppend(&out, "\n\nRule ", alert.rule_id());
  if (!kb_version.empty()) {
    absl::StrAppend(&out, ", knowledge base ", kb_version);
  }
  absl::StrAppend(&out, ".");
  return out;
}

std::string EarliestDate(const Alert& alert) {
  for (const auto& s : alert.suggestions()) {
    if (!s.earliest_date().empty()) return s.earliest_date();
  }
  return "";
}

Json Card(const Alert& alert, const needlecheck::v1::ScreenResponse& response,
          const CardOptions& options) {
  Json card = Json::object();
  card["uuid"] =
      alert.alert_id().empty() ? options.new_uuid() : alert.alert_id();
  const bool interval = alert.rule_id() == kIntervalRuleId;
  const std::string earliest = EarliestDate(alert);
  needlecheck::v1::Severity severity = alert.severity();
  std::string summary = alert.summary();
  if (options.readiness && interval && !earliest.empty()) {
    severity = needlecheck::v1::SEVERITY_INFO;
    summary = absl::StrCat("Next microneedling session allowed from ", earliest,
                           " (last session fewer than 28 days ago)");
  }
  if (summary.empty()) summary = alert.rule_id();
  card["summary"] = ShortenSummary(summary);
  card["indicator"] = Indicator(severity);
  card["detail"] = Detail(alert, response.knowledge_base_version());

  Json source = Json::object();
  source["label"] = "needlecheck";
  auto citation = options.citation_urls.find(alert.rule_id());
  if (citation != options.citation_urls.end()) {
    const std::string url = ResolveUrl(options.docs_base_url, citation->second);
    if (!url.empty()) source["url"] = url;
  }
  Json topic = Json::object();
  topic["system"] = kRuleSystem;
  topic["code"] = alert.rule_id();
  topic["display"] =
      alert.category().empty()
          ? alert.rule_id()
          : absl::StrCat(alert.category(), " (", alert.rule_id(), ")");
  source["topic"] = std::move(topic);
  card["source"] = std::move(source);

  // The interval suggestion: move the planned resources.
  absl::CivilDay earliest_day;
  if (!options.readiness && interval && !earliest.empty() &&
      ParseDay(earliest, &earliest_day) && !options.planned_resources.empty()) {
    Json actions = Json::array();
    for (const PlannedResource& planned : options.planned_resources) {
      Json resource = Json::parse(planned.json, nullptr, false);
      if (resource.is_discarded() || !resource.is_object()) continue;
      MoveResource(&resource, earliest_day);
      Json action = Json::object();
      action["type"] = "update";
      action["description"] =
          absl::StrCat("Move ", planned.reference, " to ", earliest, ".");
      action["resource"] = std::move(resource);
      actions.push_back(std::move(action));
    }
    if (!actions.empty()) {
      Json suggestion = Json::object();
      suggestion["label"] =
          absl::StrCat("Move the session to ", earliest, " (earliest allowed)");
      suggestion["uuid"] = options.new_uuid();
      suggestion["isRecommended"] = true;
      suggestion["actions"] = std::move(actions);
      card["suggestions"] = Json::array({std::move(suggestion)});
      card["selectionBehavior"] = "at-most-one";
    }
  }

  if (severity == needlecheck::v1::SEVERITY_CRITICAL &&
      alert.override_reasons_size() > 0) {
    Json reasons = Json::array();
    for (const std::string& text : alert.override_reasons()) {
      if (text.empty()) continue;
      reasons.push_back(Json{{"system", kOverrideReasonSystem},
                             {"code", Slug(text)},
                             {"display", text}});
    }
    if (!reasons.empty()) card["overrideReasons"] = std::move(reasons);
  }
  return card;
}

}  // namespace

std::string ShortenSummary(absl::string_view summary) {
  constexpr size_t kMax = 139;  // "<140-character"
  size_t code_points = 0;
  size_t cut = summary.size();
  size_t keep_end = 0;  // byte offset after kMax - 1 code points
  for (size_t i = 0; i < summary.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(summary[i]);
    if ((c & 0xC0) != 0x80) {
      if (code_points == kMax - 1) keep_end = i;
      if (code_points == kMax) {
        cut = i;
        break;
      }
      ++code_points;
    }
  }
  if (cut == summary.size()) return std::string(summary);
  std::string out(summary.substr(0, keep_end));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  absl::StrAppend(&out, "\xE2\x80\xA6");  // U+2026
  return out;
}

std::string ResolveUrl(absl::string_view base, absl::string_view relative) {
  if (absl::StartsWith(relative, "https://") ||
      absl::StartsWith(relative, "http://")) {
    return std::string(relative);
  }
  if (base.empty() || relative.empty()) return "";
  if (!absl::StartsWith(base, "https://") &&
      !absl::StartsWith(base, "http://")) {
    return "";
  }
  while (!relative.empty() && relative.front() == '/')
    relative.remove_prefix(1);
  if (base.back() == '/') return absl::StrCat(base, relative);
  return absl::StrCat(base, "/", relative);
}

absl::StatusOr<std::string> RenderCards(
    const needlecheck::v1::ScreenResponse& response,
    const CardOptions& options) {
  try {
    Json cards = Json::array();
    for (const Alert& alert : response.alerts()) {
      cards.push_back(Card(alert, response, options));
    }
    Json body = Json::object();
    body["cards"] = std::move(cards);
    return body.dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("rendering cards: ", e.what()));
  }
}

}  // namespace needlecheck::cds_hooks
