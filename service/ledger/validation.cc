#include "service/ledger/validation.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/calendar/day.h"

namespace needlecheck::ledger {
namespace {

using ::needlecheck::v1::FeedbackOutcome;
using ::needlecheck::v1::GetAlertStatsRequest;
using ::needlecheck::v1::RecordFeedbackRequest;

void CheckLength(absl::string_view field, absl::string_view value, size_t max,
                 std::vector<FieldError>* errors) {
  if (value.size() > max) {
    errors->push_back(
        {std::string(field), absl::StrCat("longer than ", max, " bytes")});
  }
}

}  // namespace

absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text) {
  // Shape first: YYYY-MM-DDTHH:MM:SS, so that absl's lenient parts (leading
  // spaces, any number of year digits) cannot let odd input through.
  auto digits = [&](size_t from, size_t n) {
    if (text.size() < from + n) return false;
    for (size_t i = from; i < from + n; ++i) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(text[i]))) {
        return false;
      }
    }
    return true;
  };
  const bool shape = text.size() >= 20 && digits(0, 4) && text[4] == '-' &&
                     digits(5, 2) && text[7] == '-' && digits(8, 2) &&
                     (text[10] == 'T' || text[10] == 't') && digits(11, 2) &&
                     text[13] == ':' && digits(14, 2) && text[16] == ':' &&
                     digits(17, 2);
  // The offset: "Z", or "+hh:mm" / "-hh:mm" (absl also takes "+hhmm").
  const size_t n = text.size();
  const bool offset =
      shape &&
      (text[n - 1] == 'Z' || text[n - 1] == 'z' ||
       ((text[n - 6] == '+' || text[n - 6] == '-') && text[n - 3] == ':'));
  absl::Time t;
  std::string error;
  if (!shape || !offset ||
      !absl::ParseTime(absl::RFC3339_full, text, &t, &error)) {
    return absl::InvalidArgumentError(
        "not an RFC 3339 date-time (expected e.g. 2026-01-31T09:30:00Z or "
        "2026-01-31T10:30:00+01:00)");
  }
  return t;
}

bool IsIsoDay(absl::string_view text) { return IsCivilDayText(text); }

std::string UtcDay(absl::Time t) { return FormatDay(UtcDayOf(t)); }

std::vector<FieldError> ValidateFeedbackRequest(
    const RecordFeedbackRequest& request) {
  std::vector<FieldError> errors;
  if (request.alert_id().empty()) {
    errors.push_back({"alert_id", "required: the alert's id (Alert.alert_id)"});
  }
  CheckLength("alert_id", request.alert_id(), kMaxIdLength, &errors);
  if (request.outcome() == needlecheck::v1::FEEDBACK_OUTCOME_UNSPECIFIED) {
    errors.push_back({"outcome", "required: ACCEPTED or OVERRIDDEN"});
  } else if (!needlecheck::v1::FeedbackOutcome_IsValid(request.outcome())) {
    errors.push_back(
        {"outcome", absl::StrCat("unknown value ", request.outcome(),
                                 " (expected ACCEPTED or OVERRIDDEN)")});
  }
  if (request.outcome_timestamp().empty()) {
    errors.push_back(
        {"outcome_timestamp", "required: when the clinician acted, RFC 3339"});
  } else if (!ParseRfc3339(request.outcome_timestamp()).ok()) {
    errors.push_back({"outcome_timestamp",
                      "not an RFC 3339 date-time (e.g. 2026-01-31T09:30:00Z)"});
  }
  CheckLength("override_reason.system", request.override_reason().system(),
              kMaxReasonFieldLength, &errors);
  CheckLength("override_reason.code", request.override_reason().code(),
              kMaxReasonFieldLength, &errors);
  CheckLength("override_reason.display", request.override_reason().display(),
              kMaxReasonFieldLength, &errors);
  CheckLength("user_comment", request.user_comment(), kMaxCommentLength,
              &errors);
  if (request.accepted_suggestion_ids_size() > kMaxSuggestionIds) {
    errors.push_back({"accepted_suggestion_ids",
                      absl::StrCat("more than ", kMaxSuggestionIds, " ids")});
  }
  for (int i = 0; i < request.accepted_suggestion_ids_size(); ++i) {
    CheckLength(absl::StrCat("accepted_suggestion_ids[", i, "]"),
                request.accepted_suggestion_ids(i), kMaxIdLength, &errors);
  }
  CheckLength("service_id", request.service_id(), kMaxIdLength, &errors);
  return errors;
}

std::vector<FieldError> ValidateStatsRequest(
    const GetAlertStatsRequest& request) {
  std::vector<FieldError> errors;
  const bool from_ok =
      request.from_date().empty() || IsIsoDay(request.from_date());
  const bool to_ok = request.to_date().empty() || IsIsoDay(request.to_date());
  if (!from_ok) {
    errors.push_back({"from_date", "not a calendar day YYYY-MM-DD"});
  }
  if (!to_ok) errors.push_back({"to_date", "not a calendar day YYYY-MM-DD"});
  if (from_ok && to_ok && !request.from_date().empty() &&
      !request.to_date().empty() && request.from_date() > request.to_date()) {
    errors.push_back({"to_date", "before from_date"});
  }
  if (request.rule_ids_size() > kMaxRuleIds) {
    errors.push_back(
        {"rule_ids", absl::StrCat("more than ", kMaxRuleIds, " rule ids")});
  }
  for (int i = 0; i < request.rule_ids_size(); ++i) {
    if (request.rule_ids(i).empty()) {
      errors.push_back({absl::StrCat("rule_ids[", i, "]"), "empty"});
    }
    CheckLength(absl::StrCat("rule_ids[", i, "]"), request.rule_ids(i),
                kMaxIdLength, &errors);
  }
  if (request.top_reasons() < 0 || request.top_reasons() > kMaxTopReasons) {
    errors.push_back(
        {"top_reasons", absl::StrCat("must be 0 (default ", kDefaultTopReasons,
                                     ") to ", kMaxTopReasons)});
  }
  return errors;
}

absl::Status InvalidArgumentFromErrors(absl::string_view summary,
                                       const std::vector<FieldError>& errors) {
  return absl::InvalidArgumentError(absl::StrCat(
      summary, ": ",
      absl::StrJoin(errors, "; ", [](std::string* out, const FieldError& e) {
        absl::StrAppend(out, e.field, ": ", e.description);
      })));
}

}  // namespace needlecheck::ledger
