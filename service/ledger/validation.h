// Checks of ledger requests, shared by the ledger (which enforces them) and
// the server (which turns them into a google.rpc.BadRequest naming each
// field).
//
// Contract
// - Validate*() return every problem found, in field order, each with the
//   request's field name ("outcome_timestamp") and a description that never
//   quotes the value (values may be patient-related). Empty: valid.
// - InvalidArgumentFromErrors(): INVALID_ARGUMENT "summary: field: problem;
//   ..." for a non-empty list.
// - Pure functions; thread-safe; no clock.
#ifndef SERVICE_LEDGER_VALIDATION_H_
#define SERVICE_LEDGER_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "needlecheck/v1/ledger.pb.h"

namespace needlecheck::ledger {

struct FieldError {
  std::string field;
  std::string description;
};

// Limits on what a feedback request may carry.
inline constexpr size_t kMaxIdLength = 128;            // alert_id, service_id
inline constexpr size_t kMaxReasonFieldLength = 1024;  // system/code/display
inline constexpr size_t kMaxCommentLength = 64 * 1024;
inline constexpr int kMaxSuggestionIds = 100;
// Limits on a stats request.
inline constexpr int kDefaultTopReasons = 5;
inline constexpr int kMaxTopReasons = 50;
inline constexpr int kMaxRuleIds = 200;

std::vector<FieldError> ValidateFeedbackRequest(
    const needlecheck::v1::RecordFeedbackRequest& request);

std::vector<FieldError> ValidateStatsRequest(
    const needlecheck::v1::GetAlertStatsRequest& request);

absl::Status InvalidArgumentFromErrors(absl::string_view summary,
                                       const std::vector<FieldError>& errors);

// An RFC 3339 date-time ("2026-11-23T10:00:00Z", "...T11:00:00.5+01:00"):
// date, 'T', time with seconds, optional fraction, and "Z" or an offset.
absl::StatusOr<absl::Time> ParseRfc3339(absl::string_view text);

// True for a real calendar day written "YYYY-MM-DD".
bool IsIsoDay(absl::string_view text);

// The UTC day of `t`, "YYYY-MM-DD".
std::string UtcDay(absl::Time t);

}  // namespace needlecheck::ledger

#endif  // SERVICE_LEDGER_VALIDATION_H_
