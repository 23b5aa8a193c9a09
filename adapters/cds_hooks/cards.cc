#include "adapters/cds_hooks/cards.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "adapters/common/json_writer.h"
#include "common/calendar/fhir_date.h"
#include "simdjson.h"

namespace needlecheck::cds_hooks {

namespace {

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

absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }

// The planned resource moved so that its date is `earliest`, written to
// `w`: the date fields are replaced where they are (or added at the end),
// every other member is written as it came.
void WriteMovedResource(simdjson::dom::object resource, DayNumber earliest,
                        adapters::JsonWriter* w) {
  // Member -> new value, of the resource and of its period member.
  std::vector<std::pair<std::string, std::string>> top;
  std::vector<std::pair<std::string, std::string>> in_period;
  auto string_member = [](simdjson::dom::object o, absl::string_view key,
                          std::string_view* out) {
    return o.at_key(std::string_view(key.data(), key.size())).get(*out) ==
           simdjson::SUCCESS;
  };
  // Shifts `first` (and `second` by as many days) of `o` into `out`.
  auto shift_pair = [&](simdjson::dom::object o, const char* first,
                        const char* second,
                        std::vector<std::pair<std::string, std::string>>* out) {
    std::string_view value;
    DayNumber day;
    if (!string_member(o, first, &value) || !ParseLeadingDay(AV(value), &day)) {
      return false;
    }
    const int64_t delta = int64_t{earliest} - day;
    std::string moved;
    ShiftLeadingDay(AV(value), delta, &moved);
    out->emplace_back(first, std::move(moved));
    if (second != nullptr && string_member(o, second, &value)) {
      if (!ShiftLeadingDay(AV(value), delta, &moved)) moved = value;
      out->emplace_back(second, std::move(moved));
    }
    return true;
  };
  std::string_view type;
  string_member(resource, "resourceType", &type);
  const char* period_field = nullptr;
  if (type == "Appointment") {
    if (!shift_pair(resource, "start", "end", &top)) {
      top.emplace_back("start", FormatLeadingDay(earliest));
    }
  } else {
    const char* date_field =
        type == "Procedure" ? "performedDateTime" : "occurrenceDateTime";
    period_field = type == "Procedure" ? "performedPeriod" : "occurrencePeriod";
    simdjson::dom::object period;
    if (!shift_pair(resource, date_field, nullptr, &top) &&
        !(resource.at_key(period_field).get(period) == simdjson::SUCCESS &&
          shift_pair(period, "start", "end", &in_period))) {
      top.emplace_back(date_field, FormatLeadingDay(earliest));
    }
  }
  auto find = [](const std::vector<std::pair<std::string, std::string>>& v,
                 std::string_view key) -> const std::string* {
    for (const auto& [k, value] : v) {
      if (k == key) return &value;
    }
    return nullptr;
  };
  // Writes `o` with the values of `changed` in place of its members, and
  // those it lacks at the end. (FHIR JSON has no repeated keys; should one
  // come, every occurrence is written.)
  auto write_object =
      [&](simdjson::dom::object o,
          const std::vector<std::pair<std::string, std::string>>& changed,
          const std::function<bool(std::string_view, simdjson::dom::element)>&
              nested) {
        std::vector<std::string_view> replaced;
        w->BeginObject();
        for (auto field : o) {
          w->Key(AV(field.key));
          if (const std::string* v = find(changed, field.key)) {
            w->String(*v);
            replaced.push_back(field.key);
          } else if (!nested || !nested(field.key, field.value)) {
            w->Element(field.value);
          }
        }
        for (const auto& [k, value] : changed) {
          if (std::find(replaced.begin(), replaced.end(), k) ==
              replaced.end()) {
            w->Key(k);
            w->String(value);
          }
        }
        w->EndObject();
      };
  write_object(
      resource, top, [&](std::string_view key, simdjson::dom::element value) {
        simdjson::dom::object period;
        if (in_period.empty() || period_field == nullptr ||
            key != period_field || value.get(period) != simdjson::SUCCESS) {
          return false;
        }
        write_object(period, in_period, nullptr);
        return true;
      });
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

// Writes the card of `alert` to `w`.
absl::Status WriteCard(const Alert& alert,
                       const needlecheck::v1::ScreenResponse& response,
                       const CardOptions& options, adapters::JsonWriter* w) {
  w->BeginObject();
  w->Key("uuid");
  if (alert.alert_id().empty()) {
    absl::StatusOr<std::string> uuid = options.new_uuid();
    if (!uuid.ok()) return uuid.status();
    w->String(*uuid);
  } else {
    w->String(alert.alert_id());
  }
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
  w->Key("summary");
  w->String(ShortenSummary(summary));
  w->Key("indicator");
  w->String(Indicator(severity));
  w->Key("detail");
  w->String(Detail(alert, response.knowledge_base_version()));

  w->Key("source");
  w->BeginObject();
  w->Key("label");
  w->String("needlecheck");
  auto citation = options.citation_urls.find(alert.rule_id());
  if (citation != options.citation_urls.end()) {
    const std::string url = ResolveUrl(options.docs_base_url, citation->second);
    if (!url.empty()) {
      w->Key("url");
      w->String(url);
    }
  }
  w->Key("topic");
  w->BeginObject();
  w->Key("system");
  w->String(kRuleSystem);
  w->Key("code");
  w->String(alert.rule_id());
  w->Key("display");
  w->String(alert.category().empty()
                ? alert.rule_id()
                : absl::StrCat(alert.category(), " (", alert.rule_id(), ")"));
  w->EndObject();
  w->EndObject();

  // The interval suggestion: move the planned resources.
  DayNumber earliest_day;
  if (!options.readiness && interval && !earliest.empty() &&
      ParseLeadingDay(earliest, &earliest_day) &&
      !options.planned_resources.empty()) {
    adapters::JsonWriter actions;
    actions.BeginArray();
    bool any = false;
    for (const PlannedResource& planned : options.planned_resources) {
      adapters::JsonWriter resource;
      WriteMovedResource(planned.resource, earliest_day, &resource);
      any = true;
      actions.BeginObject();
      actions.Key("type");
      actions.String("update");
      actions.Key("description");
      actions.String(
          absl::StrCat("Move ", planned.reference, " to ", earliest, "."));
      actions.Key("resource");
      actions.Raw(std::move(resource).Text());
      actions.EndObject();
    }
    actions.EndArray();
    if (any) {
      absl::StatusOr<std::string> uuid = options.new_uuid();
      if (!uuid.ok()) return uuid.status();
      w->Key("suggestions");
      w->BeginArray();
      w->BeginObject();
      w->Key("label");
      w->String(absl::StrCat("Move the session to ", earliest,
                             " (earliest allowed)"));
      w->Key("uuid");
      w->String(*uuid);
      w->Key("isRecommended");
      w->Bool(true);
      w->Key("actions");
      w->Raw(std::move(actions).Text());
      w->EndObject();
      w->EndArray();
      w->Key("selectionBehavior");
      w->String("at-most-one");
    }
  }

  if (severity == needlecheck::v1::SEVERITY_CRITICAL) {
    bool any = false;
    for (const std::string& text : alert.override_reasons()) {
      if (text.empty()) continue;
      if (!any) {
        w->Key("overrideReasons");
        w->BeginArray();
        any = true;
      }
      w->BeginObject();
      w->Key("system");
      w->String(kOverrideReasonSystem);
      w->Key("code");
      w->String(Slug(text));
      w->Key("display");
      w->String(text);
      w->EndObject();
    }
    if (any) w->EndArray();
  }
  w->EndObject();
  return absl::OkStatus();
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
  adapters::JsonWriter w;
  w.BeginObject();
  w.Key("cards");
  w.BeginArray();
  for (const Alert& alert : response.alerts()) {
    absl::Status written = WriteCard(alert, response, options, &w);
    if (!written.ok()) return written;
  }
  w.EndArray();
  w.EndObject();
  return std::move(w).Text();
}

}  // namespace needlecheck::cds_hooks
